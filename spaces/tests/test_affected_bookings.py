"""Editing a space must not orphan its bookings: the admin sees the upcoming bookings the new hours or capacity
leave out and keeps them (still editable) or cancels them with a notice; pages and API."""

from datetime import UTC, datetime, time

import pytest
from django.core import mail
from django.db import connection

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.tests.pages import text
from spaces.models import OpeningHours
from spaces.tests.factories import SpaceFactory, open_every_day
from spaces.tests.test_views import NEW_SPACE

pytestmark = pytest.mark.django_db
MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)


def in_schema(org, call):
    connection.set_tenant(org.organization)
    try:
        return call()
    finally:
        connection.set_schema_to_public()


@pytest.fixture
def scene(org, booking_now):
    def build():
        space = open_every_day(SpaceFactory(name="Blue room", capacity=8), time(8), time(18))
        early = ReservationFactory(space=space, user=org.member, starts_at=MONDAY_9, attendees=2)
        crowded = ReservationFactory(
            space=space, user=org.member, starts_at=datetime(2025, 3, 11, 14, tzinfo=UTC), attendees=6
        )
        fine = ReservationFactory(space=space, user=org.member, starts_at=datetime(2025, 3, 12, 14, tzinfo=UTC))
        return space, early, crowded, fine

    return in_schema(org, build)


def edit(space, **changes):
    hours = {f"opening_hours_{day}": "12:00-18:00" for day in range(7)}
    return {**NEW_SPACE, "name": space.name, **hours, "capacity": "4", **changes}


def test_the_edit_page_lists_the_bookings_left_out_and_saves_nothing_until_the_admin_chooses(web_client, org, scene):
    space, *_ = scene
    client = web_client(org, org.admin)

    asked = client.post(f"/spaces/{space.pk}/edit/", edit(space))

    assert asked.status_code == 400
    page = " ".join(text(asked).split())
    assert "2 upcoming bookings would no longer fit" in page
    assert "Mon 10 Mar 2025, 09:00" in page and "Tue 11 Mar 2025, 14:00" in page
    assert "Wed 12 Mar" not in page
    assert in_schema(org, lambda: type(space).objects.get(pk=space.pk).capacity) == 8


def test_keeping_them_saves_the_change_and_the_bookings_stay_editable(web_client, org, scene):
    space, early, *_ = scene
    client = web_client(org, org.admin)

    saved = client.post(f"/spaces/{space.pk}/edit/", edit(space, affected_bookings="keep"))
    renamed = web_client(org, org.member).post(
        f"/reservations/{early.pk}/edit/",
        {
            "space": space.pk,
            "date": "2025-03-10",
            "start": "09:00",
            "end": "10:00",
            "title": "Renamed",
            "attendees": "2",
            "notes": "",
        },
    )

    assert saved.status_code == 302
    assert in_schema(org, lambda: OpeningHours.objects.filter(space=space, opens_at=time(12)).count()) == 7
    assert in_schema(org, lambda: Reservation.objects.get(pk=early.pk).title) == "Renamed"
    assert renamed.status_code == 302


def test_cancelling_them_tells_each_booker_why(
    web_client, org, scene, celery_eager, django_capture_on_commit_callbacks
):
    space, early, crowded, fine = scene

    with django_capture_on_commit_callbacks(execute=True):
        saved = web_client(org, org.admin).post(f"/spaces/{space.pk}/edit/", edit(space, affected_bookings="cancel"))

    assert saved.status_code == 302
    statuses = in_schema(org, lambda: {r.pk: r.status for r in Reservation.objects.all()})
    assert (statuses[early.pk], statuses[crowded.pk], statuses[fine.pk]) == ("cancelled", "cancelled", "confirmed")
    assert len(mail.outbox) == 2
    assert all("no longer allows this booking" in message.body for message in mail.outbox)


def test_the_api_lists_the_affected_bookings_and_cancels_them_when_asked(api_client, org, scene):
    space, early, crowded, fine = scene
    client = api_client(org, org.admin)

    kept = client.patch(f"/api/v1/spaces/{space.pk}", {"capacity": 4}, format="json")
    cancelled = client.patch(f"/api/v1/spaces/{space.pk}", {"capacity": 1, "cancel_affected": True}, format="json")

    assert kept.status_code == 200
    assert [(r["id"], r["status"]) for r in kept.json()["affected_reservations"]] == [(crowded.pk, "confirmed")]
    assert sorted(r["id"] for r in cancelled.json()["affected_reservations"]) == sorted([crowded.pk, early.pk])
    statuses = in_schema(org, lambda: {r.pk: r.status for r in Reservation.objects.all()})
    assert (statuses[early.pk], statuses[crowded.pk], statuses[fine.pk]) == ("cancelled", "cancelled", "confirmed")
