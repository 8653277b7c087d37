"""Whole-day and multi-day bookings: `whole_day_interval` says what "whole day" means (the space's opening
hours that day, in the organization's time zone); the API (`all_day` + `date`) and the booking form use it."""

from datetime import UTC, datetime, time

import pytest
from django.utils import timezone

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.tests.pages import field_error, text
from spaces.models import Closure, OpeningHours
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.django_db
URL = "/api/v1/reservations"
DAY = 24 * 60


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def desk(in_tenant, booking_now, paris):
    """A desk open 08:00-18:00 every day (Paris time) except Sunday."""
    desk = SpaceFactory(name="Desk 4", kind="desk", capacity=1)
    open_every_day(desk, time(8), time(18))
    OpeningHours.objects.filter(space=desk, weekday=6).delete()
    return desk


def test_all_day_books_the_opening_hours_of_that_day_in_the_organizations_time(api_client, org, desk):
    response = api_client(org, org.member).post(URL, {"space": desk.pk, "all_day": True, "date": "2025-03-04"})

    assert response.status_code == 201, response.json()
    assert (response.json()["starts_at"], response.json()["ends_at"]) == (
        "2025-03-04T08:00:00+01:00",
        "2025-03-04T18:00:00+01:00",
    )


def test_a_whole_day_follows_the_clock_change(api_client, org, desk):
    response = api_client(org, org.member).post(URL, {"space": desk.pk, "all_day": True, "date": "2025-03-31"})
    assert response.status_code == 201, response.json()
    assert response.json()["starts_at"] == "2025-03-31T08:00:00+02:00"  # summer time from 30 March


def test_a_space_without_opening_hours_is_booked_midnight_to_midnight(api_client, org, in_tenant, booking_now, paris):
    hall = SpaceFactory(name="Hall", max_duration_minutes=DAY)
    response = api_client(org, org.member).post(URL, {"space": hall.pk, "all_day": True, "date": "2025-03-30"})
    assert response.status_code == 201, response.json()
    reservation = Reservation.objects.get()
    assert reservation.ends_at - reservation.starts_at == timezone.timedelta(hours=23)  # the spring-forward day


def test_a_closed_day_is_a_400_on_the_date_and_books_nothing(api_client, org, desk):
    response = api_client(org, org.member).post(URL, {"space": desk.pk, "all_day": True, "date": "2025-03-09"})
    assert response.status_code == 400
    assert response.json()["code"] == "closed"
    assert "Sunday" in response.json()["date"][0]
    assert not Reservation.objects.exists()


def test_a_closure_that_day_is_a_400_on_the_date(api_client, org, desk):
    closure = Closure.objects.create(starts_at=utc(2025, 3, 5, 12), ends_at=utc(2025, 3, 5, 13), reason="Fire drill")
    closure.spaces.add(desk)
    response = api_client(org, org.member).post(URL, {"space": desk.pk, "all_day": True, "date": "2025-03-05"})
    assert response.status_code == 400
    assert "Fire drill" in response.json()["date"][0]
    assert not Reservation.objects.exists()


def test_a_taken_day_is_a_409(api_client, org, desk):
    ReservationFactory(space=desk, user=org.admin, starts_at=utc(2025, 3, 4, 10), ends_at=utc(2025, 3, 4, 11))
    response = api_client(org, org.member).post(URL, {"space": desk.pk, "all_day": True, "date": "2025-03-04"})
    assert response.status_code == 409
    assert response.json()["code"] == "reservation_conflict"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"all_day": True, "date": "2025-03-04", "starts_at": "2025-03-04T09:00:00Z"}, {"starts_at"}),
        (
            {
                "all_day": True,
                "date": "2025-03-04",
                "starts_at": "2025-03-04T09:00:00Z",
                "ends_at": "2025-03-04T10:00Z",
            },
            {"starts_at", "ends_at"},
        ),
        ({"all_day": True}, {"date"}),
        ({"date": "2025-03-04"}, {"date"}),
        ({"all_day": False, "date": "2025-03-04"}, {"date"}),
        (
            {"starts_at": "2025-03-04T09:00:00Z", "ends_at": "2025-03-04T10:00:00Z", "end_date": "2025-03-05"},
            {"end_date"},
        ),
        ({"starts_at": "2025-03-04T09:00:00Z"}, {"ends_at"}),
        ({"all_day": "yes", "date": "2025-03-04"}, {"all_day"}),
        ({"all_day": True, "date": "4 March"}, {"date"}),
    ],
)
def test_mixing_or_halving_the_two_forms_is_a_400_naming_the_fields(api_client, org, desk, body, fields):
    response = api_client(org, org.member).post(URL, {"space": desk.pk, **body})
    assert response.status_code == 400
    assert fields <= set(response.json()), response.json()
    assert not Reservation.objects.exists()


def test_several_days_need_a_space_whose_longest_booking_is_over_a_day(api_client, org, desk):
    body = {"space": desk.pk, "all_day": True, "date": "2025-03-04", "end_date": "2025-03-06"}
    refused = api_client(org, org.member).post(URL, body)
    assert refused.status_code == 400
    assert refused.json()["code"] == "single_day_only"
    assert "end_date" in refused.json()

    desk.max_duration_minutes = 5 * DAY
    desk.save()
    booked = api_client(org, org.member).post(URL, body)
    assert booked.status_code == 201, booked.json()
    # From opening on the first day to closing on the last; the nights between are the booker's.
    assert (booked.json()["starts_at"], booked.json()["ends_at"]) == (
        "2025-03-04T08:00:00+01:00",
        "2025-03-06T18:00:00+01:00",
    )


def test_a_multi_day_booking_still_meets_closures_and_its_ends_must_be_open(api_client, org, desk):
    desk.max_duration_minutes = 7 * DAY
    desk.save()
    over_sunday = {"space": desk.pk, "all_day": True, "date": "2025-03-08", "end_date": "2025-03-09"}
    assert api_client(org, org.member).post(URL, over_sunday).json()["end_date"]  # closed on Sundays
    backwards = {"space": desk.pk, "all_day": True, "date": "2025-03-06", "end_date": "2025-03-05"}
    assert api_client(org, org.member).post(URL, backwards).status_code == 400
    closure = Closure.objects.create(starts_at=utc(2025, 3, 5, 1), ends_at=utc(2025, 3, 5, 2), reason="Cleaning")
    closure.spaces.add(desk)
    night = {"space": desk.pk, "all_day": True, "date": "2025-03-04", "end_date": "2025-03-06"}
    response = api_client(org, org.member).post(URL, night)
    assert response.status_code == 400
    assert "Cleaning" in response.json()["date"][0]
    assert not Reservation.objects.exists()


def booking_form(desk, **changes) -> dict:
    return {
        "space": desk.pk,
        "date": "2025-03-04",
        "start": "",
        "end": "",
        "attendees": "1",
        "all_day": "on",
        **changes,
    }


def test_the_form_books_a_whole_day_for_a_member_on_their_behalf(web_client, org, desk):
    page = text(web_client(org, org.admin).get("/reservations/new/"))
    assert 'name="all_day"' in page and 'name="user"' in page

    response = web_client(org, org.admin).post("/reservations/new/", booking_form(desk, user=org.member.pk))

    assert response.status_code == 302
    reservation = Reservation.objects.get()
    assert (reservation.user_id, reservation.created_by_id) == (org.member.pk, org.admin.pk)
    assert reservation.starts_at == utc(2025, 3, 4, 7)
    assert reservation.ends_at == utc(2025, 3, 4, 17)
    mine = text(web_client(org, org.member).get("/reservations/"))
    assert "Desk 4" in mine


def test_the_form_shows_a_closed_day_on_the_date_field(web_client, org, desk):
    response = web_client(org, org.member).post("/reservations/new/", booking_form(desk, date="2025-03-09"))
    assert response.status_code == 400
    assert "closed on Sundays" in field_error(response, "date")
    assert not Reservation.objects.exists()


def test_the_form_books_several_days_with_times_where_the_space_allows_them(web_client, org, desk):
    desk.max_duration_minutes = 5 * DAY
    desk.save()
    form = booking_form(desk, all_day="", start="09:00", end="12:00", end_date="2025-03-05")
    response = web_client(org, org.member).post("/reservations/new/", form)
    assert response.status_code == 302
    reservation = Reservation.objects.get()
    assert (reservation.starts_at, reservation.ends_at) == (utc(2025, 3, 4, 8), utc(2025, 3, 5, 11))


def test_the_form_refuses_a_last_day_before_the_first_and_times_missing(web_client, org, desk):
    backwards = web_client(org, org.member).post("/reservations/new/", booking_form(desk, end_date="2025-03-03"))
    assert "on or after the first" in field_error(backwards, "end_date")
    no_times = web_client(org, org.member).post("/reservations/new/", booking_form(desk, all_day=""))
    assert no_times.status_code == 400
    assert "Whole day" in field_error(no_times, "start")
    single_day = web_client(org, org.member).post("/reservations/new/", booking_form(desk, end_date="2025-03-05"))
    assert "one day at a time" in field_error(single_day, "end_date")
    assert not Reservation.objects.exists()


def test_whole_day_does_not_repeat(web_client, org, desk):
    response = web_client(org, org.member).post(
        "/reservations/new/", booking_form(desk, repeat="daily", ends="count", count="3")
    )
    assert response.status_code == 400
    assert "repeating booking" in field_error(response, "all_day")
    assert not Reservation.objects.exists()
