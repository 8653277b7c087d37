"""Series on the pages: the booking form's "Repeat" with a preview of the dates and their clashes, and an
occurrence's page offering this one / this and the following / all for change and cancel."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection

from reservations.models import Reservation, Series
from reservations.tests.factories import ReservationFactory
from spacemanager.tests.pages import text
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
DASH = "\N{EN DASH}"


def folded(response) -> str:
    return " ".join(text(response).split())


@pytest.fixture
def space(paris, booking_now):
    connection.set_tenant(paris.organization)
    space = SpaceFactory(name="Blue room")
    ReservationFactory(space=space, user=paris.admin, starts_at=datetime(2025, 3, 19, 9, tzinfo=PARIS))
    connection.set_schema_to_public()
    return space


def form(space, **repeat):
    return {
        "space": space.pk,
        "date": "2025-03-10",
        "start": "09:00",
        "end": "09:30",
        "title": "Stand-up",
        "attendees": "3",
        "repeat": "weekly",
        "weekdays": ["MO", "WE"],
        "ends": "until",
        "until": "2025-06-30",
        **repeat,
    }


def in_schema(org, call):
    connection.set_tenant(org.organization)
    try:
        return call()
    finally:
        connection.set_schema_to_public()


def test_the_booking_form_offers_repeat(web_client, paris, space):
    page = text(web_client(paris, paris.member).get("/reservations/new/"))
    assert "Repeat" in page and "Preview the dates" in page


def test_the_preview_lists_every_date_and_its_clash_and_books_nothing(web_client, paris, space):
    response = web_client(paris, paris.member).post("/reservations/new/", {**form(space), "preview": "1"})

    assert response.status_code == 200
    page = folded(response)
    assert "33 dates (FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20250630)" in page
    assert f"Mon 10 Mar 2025, 09:00{DASH}09:30: free" in page
    assert f"Wed 19 Mar 2025, 09:00{DASH}09:30: This space is already booked at that time" in page
    assert not in_schema(paris, Series.objects.exists)


def test_booking_the_series_all_or_nothing_shows_the_clash_then_skipping_books_the_rest(
    web_client, paris, space, celery_eager, django_capture_on_commit_callbacks
):
    client = web_client(paris, paris.member)

    refused = client.post("/reservations/new/", form(space))
    with django_capture_on_commit_callbacks(execute=True):
        booked = client.post("/reservations/new/", {**form(space), "skip_conflicts": "on"}, follow=True)

    assert refused.status_code == 400
    assert "1 of 33 occurrences clash with other bookings" in folded(refused)
    assert f"Booked Blue room 32 times, from Monday 10 March, 09:00{DASH}09:30. 1 date was skipped." in folded(booked)
    assert in_schema(paris, lambda: Reservation.objects.filter(series__isnull=False).count()) == 32
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Series booked"]


def test_a_repeat_without_its_end_is_shown_on_the_form(web_client, paris, space):
    response = web_client(paris, paris.member).post("/reservations/new/", form(space, until=""))

    assert response.status_code == 400
    assert "Choose the last day" in text(response)
    assert not in_schema(paris, Series.objects.exists)


def test_an_occurrence_offers_this_following_all_and_cancelling_the_following_keeps_the_earlier(
    web_client, paris, space
):
    client = web_client(paris, paris.member)
    client.post("/reservations/new/", form(space, repeat="weekly", weekdays=["MO"], ends="count", count="4"))
    _, second, *_ = in_schema(
        paris, lambda: list(Reservation.objects.filter(series__isnull=False).order_by("starts_at"))
    )

    page = text(client.get(f"/reservations/{second.pk}/"))
    assert "this and the following" in page
    asked = client.get(f"/reservations/series/{second.series_id}/cancel/?from={second.pk}")
    assert "Cancel 3 dates" in text(asked)
    client.post(f"/reservations/series/{second.series_id}/cancel/", {"from": second.pk})

    statuses = in_schema(
        paris,
        lambda: list(
            Reservation.objects.filter(series__isnull=False).order_by("starts_at").values_list("status", flat=True)
        ),
    )
    assert statuses == ["confirmed", "cancelled", "cancelled", "cancelled"]


def test_changing_all_dates_moves_each_on_its_own_day(web_client, paris, space):
    client = web_client(paris, paris.member)
    client.post("/reservations/new/", form(space, weekdays=["MO"], ends="count", count="3"))
    series = in_schema(paris, Series.objects.get)

    response = client.post(
        f"/reservations/series/{series.pk}/edit/",
        {"start": "11:00", "end": "12:00", "title": "Later", "attendees": "2", "notes": ""},
        follow=True,
    )

    assert "Changed 3 dates of the series." in text(response)
    starts = in_schema(
        paris,
        lambda: [
            r.starts_at.astimezone(PARIS).strftime("%d %H:%M")
            for r in Reservation.objects.order_by("starts_at")
            if r.series_id
        ],
    )
    assert starts == ["10 11:00", "17 11:00", "24 11:00"]


def test_a_series_edit_that_clashes_changes_nothing_and_lists_the_date(web_client, paris, space):
    client = web_client(paris, paris.member)
    client.post("/reservations/new/", form(space, weekdays=["MO"], ends="count", count="3"))
    series = in_schema(paris, Series.objects.get)

    # Monday 17 March at 10:00 is taken by someone else.
    in_schema(
        paris,
        lambda: ReservationFactory(space=space, user=paris.admin, starts_at=datetime(2025, 3, 17, 10, tzinfo=PARIS)),
    )
    response = client.post(
        f"/reservations/series/{series.pk}/edit/",
        {"start": "10:00", "end": "10:30", "title": "", "attendees": "2", "notes": ""},
    )

    assert response.status_code == 400
    assert "Mon 17 Mar 2025, 10:00" in text(response)
    assert (
        in_schema(paris, lambda: Reservation.objects.filter(series=series).first().starts_at.astimezone(PARIS).hour)
        == 9
    )
