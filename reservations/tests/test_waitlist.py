"""The waitlist: joining a taken slot, listing, leaving, and a freed slot going to the earliest waiting member
(cancel, decline, expiry, no-show release), through the API and the services."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from reservations.models import Reservation, WaitlistEntry
from reservations.services import (
    reservation_cancel,
    reservation_create,
    reservation_decline,
    reservation_update,
    reservations_expire_pending,
    reservations_release_no_shows,
    series_cancel,
    series_create,
    waitlist_expire_started,
    waitlist_join,
)
from reservations.tests.factories import ReservationFactory
from spacemanager.errors import ValidationFailed
from spaces.tests.factories import SpaceFactory
from tenants.outbox import outbox_relay

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)  # 10:00 in Paris
HOUR = timedelta(hours=1)
URL = "/api/v1/waitlist"


@pytest.fixture
def member(paris, in_tenant, booking_now, celery_eager):
    return paris.membership(paris.member)


@pytest.fixture
def owner(paris, in_tenant):
    return paris.membership(paris.owner)


@pytest.fixture
def admin(paris, in_tenant):
    return paris.membership(paris.admin)


@pytest.fixture
def space(in_tenant):
    return SpaceFactory(name="Blue room")


def slot(starts_at=MONDAY_9, hours=1) -> dict:
    return {"starts_at": starts_at, "ends_at": starts_at + timedelta(hours=hours)}


def book(actor, space, starts_at=MONDAY_9, hours=1) -> Reservation:
    return reservation_create(actor=actor, space_id=space.pk, **slot(starts_at, hours))


def api_body(space, starts_at=MONDAY_9, hours=1, **extra) -> dict:
    return {
        "space": space.pk,
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=hours)).isoformat(),
        **extra,
    }


def relayed(run, action, *args, **kwargs):
    with run(execute=True):
        result = action(*args, **kwargs)
    outbox_relay()
    return result


# Joining, listing, leaving (API)


def test_a_member_waits_for_a_taken_slot(member, owner, space, paris, api_client):
    book(owner, space)

    response = api_client(paris, paris.member).post(URL, api_body(space, title="Planning"), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["space"], body["title"]) == (
        "waiting",
        {"id": space.pk, "name": "Blue room"},
        "Planning",
    )
    assert body["starts_at"] == "2025-03-10T10:00:00+01:00"
    assert body["reservation"] is None


def test_waiting_for_a_free_slot_is_refused_with_slot_free(member, space, paris, api_client):
    response = api_client(paris, paris.member).post(URL, api_body(space), format="json")

    assert (response.status_code, response.json()["code"]) == (400, "slot_free")
    assert not WaitlistEntry.objects.exists()


def test_a_slot_touching_a_booking_is_free(member, owner, space, paris, api_client):
    book(owner, space)

    response = api_client(paris, paris.member).post(URL, api_body(space, starts_at=MONDAY_9 + HOUR), format="json")

    assert response.json()["code"] == "slot_free"


@pytest.mark.parametrize(
    "changes, field, code",
    [
        (
            {"starts_at": "2025-03-01T10:00:00+01:00", "ends_at": "2025-03-01T11:00:00+01:00"},
            "starts_at",
            "in_the_past",
        ),
        ({"ends_at": "2025-03-10T09:00:00+01:00"}, "ends_at", "ends_before_start"),
        ({"starts_at": "2025-03-10T10:00:00"}, "starts_at", None),
        ({"attendees": 0}, "attendees", None),
        ({"space": 999_999}, "space", "unknown_space"),
    ],
)
def test_a_bad_waitlist_request_is_a_400_on_its_field(member, owner, space, paris, api_client, changes, field, code):
    book(owner, space)

    response = api_client(paris, paris.member).post(URL, {**api_body(space), **changes}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    if code is not None:
        assert response.json()["code"] == code
    assert not WaitlistEntry.objects.exists()


def test_waiting_twice_for_one_slot_is_a_409(member, owner, space, paris, api_client):
    book(owner, space)
    client = api_client(paris, paris.member)
    client.post(URL, api_body(space), format="json")

    again = client.post(URL, api_body(space), format="json")

    assert (again.status_code, again.json()["code"]) == (409, "already_waiting")
    assert WaitlistEntry.objects.count() == 1


def test_members_list_their_entries_and_managers_everyones(member, owner, admin, space, paris, api_client):
    book(owner, space)
    mine = waitlist_join(actor=member, space_id=space.pk, **slot())
    theirs = waitlist_join(actor=admin, space_id=space.pk, **slot())

    as_member = api_client(paris, paris.member).get(URL).json()["results"]
    as_owner = api_client(paris, paris.owner).get(URL).json()["results"]

    assert [entry["id"] for entry in as_member] == [mine.pk]
    assert [entry["id"] for entry in as_owner] == [mine.pk, theirs.pk]
    assert api_client(paris).get(URL).status_code == 401


def test_leaving_the_waitlist_withdraws_the_entry_and_twice_is_harmless(member, owner, space, paris, api_client):
    book(owner, space)
    entry = waitlist_join(actor=member, space_id=space.pk, **slot())
    client = api_client(paris, paris.member)

    first = client.delete(f"{URL}/{entry.pk}")
    second = client.delete(f"{URL}/{entry.pk}")

    assert (first.status_code, first.json()["status"]) == (200, "withdrawn")
    assert (second.status_code, second.json()["status"]) == (200, "withdrawn")


def test_a_member_cannot_see_or_remove_someone_elses_entry(member, owner, admin, space, paris, api_client):
    book(owner, space)
    theirs = waitlist_join(actor=admin, space_id=space.pk, **slot())

    response = api_client(paris, paris.member).delete(f"{URL}/{theirs.pk}")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == WaitlistEntry.Status.WAITING


# A freed slot goes to the earliest waiting member


def test_a_cancellation_books_the_earliest_waiting_member_who_is_emailed(
    member, owner, admin, space, django_capture_on_commit_callbacks
):
    taken = book(owner, space)
    first = waitlist_join(actor=member, space_id=space.pk, title="Planning", **slot())
    second = waitlist_join(actor=admin, space_id=space.pk, **slot())
    mail.outbox.clear()

    relayed(django_capture_on_commit_callbacks, reservation_cancel, actor=owner, reservation=taken)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == WaitlistEntry.Status.BOOKED
    assert second.status == WaitlistEntry.Status.WAITING
    booking = first.reservation
    assert (booking.user_id, booking.status, booking.title) == (member.user_id, "confirmed", "Planning")
    assert (booking.starts_at, booking.ends_at) == (MONDAY_9, MONDAY_9 + HOUR)
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert subjects["member@alpha.test"].startswith("Booking confirmed: Blue room")


def test_an_entry_whose_interval_is_still_partly_taken_keeps_waiting_and_a_later_one_gets_the_slot(
    member, owner, admin, space, django_capture_on_commit_callbacks
):
    taken = book(owner, space)
    book(owner, space, starts_at=MONDAY_9 + HOUR)
    longer = waitlist_join(actor=member, space_id=space.pk, **slot(hours=2))
    exact = waitlist_join(actor=admin, space_id=space.pk, **slot())

    relayed(django_capture_on_commit_callbacks, reservation_cancel, actor=owner, reservation=taken)

    longer.refresh_from_db()
    exact.refresh_from_db()
    assert longer.status == WaitlistEntry.Status.WAITING
    assert exact.status == WaitlistEntry.Status.BOOKED


def test_an_entry_that_breaks_a_booking_rule_now_is_passed_over(member, owner, admin, space, paris):
    taken = book(owner, space)
    book(member, space, starts_at=MONDAY_9 + 3 * HOUR)  # the member's one allowed upcoming booking
    passed_over = waitlist_join(actor=member, space_id=space.pk, **slot())
    next_in_line = waitlist_join(actor=admin, space_id=space.pk, **slot())
    space.max_upcoming_per_member = 1
    space.save()

    reservation_cancel(actor=owner, reservation=taken)

    passed_over.refresh_from_db()
    next_in_line.refresh_from_db()
    assert passed_over.status == WaitlistEntry.Status.WAITING
    assert next_in_line.status == WaitlistEntry.Status.BOOKED


def test_a_declined_request_frees_its_slot_for_the_waitlist(member, owner, admin, in_tenant):
    hall = SpaceFactory(requires_approval=True)
    request = book(owner, hall)
    entry = waitlist_join(actor=member, space_id=hall.pk, **slot())

    reservation_decline(actor=admin, reservation=request)

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.BOOKED
    assert entry.reservation.status == Reservation.Status.PENDING  # the hall still needs approval


def test_an_expired_request_frees_its_slot_for_the_waitlist(member, owner, in_tenant):
    hall = SpaceFactory(requires_approval=True)
    request = ReservationFactory(space=hall, user=owner.user, status=Reservation.Status.PENDING, **slot())
    entry = waitlist_join(actor=member, space_id=hall.pk, **slot())

    with time_machine.travel(datetime(2025, 3, 5, tzinfo=UTC), tick=False):  # two days later, unapproved
        assert reservations_expire_pending() == 1

    request.refresh_from_db()
    entry.refresh_from_db()
    assert request.status == Reservation.Status.EXPIRED
    assert entry.status == WaitlistEntry.Status.BOOKED


def test_a_no_show_release_gives_the_rest_of_the_time_to_the_waitlist(member, owner, in_tenant):
    desk = SpaceFactory(check_in_required=True, check_in_grace_minutes=10)
    ReservationFactory(space=desk, user=owner.user, **slot(hours=3))
    later = MONDAY_9 + HOUR
    entry = waitlist_join(actor=member, space_id=desk.pk, **slot(later))

    with time_machine.travel(MONDAY_9 + timedelta(minutes=10), tick=False):
        assert len(reservations_release_no_shows()) == 1

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.BOOKED
    assert entry.reservation.starts_at == later


def test_a_booking_moved_away_frees_its_old_slot_for_the_waitlist(member, owner, space):
    taken = book(owner, space)
    entry = waitlist_join(actor=member, space_id=space.pk, **slot())

    reservation_update(actor=owner, reservation=taken, **slot(MONDAY_9 + 2 * HOUR))

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.BOOKED
    assert entry.reservation.starts_at == MONDAY_9


def test_a_booking_changed_in_place_keeps_its_slot_from_the_waitlist(member, owner, space):
    taken = book(owner, space)
    entry = waitlist_join(actor=member, space_id=space.pk, **slot())

    reservation_update(actor=owner, reservation=taken, title="Renamed")

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING


def test_cancelling_a_series_offers_its_occurrences_to_the_waitlist(member, owner, space):
    series = series_create(actor=owner, space_id=space.pk, recurrence="FREQ=DAILY;COUNT=3", **slot()).series
    entry = waitlist_join(actor=member, space_id=space.pk, **slot(MONDAY_9 + timedelta(days=1)))

    series_cancel(actor=owner, series=series)

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.BOOKED
    assert entry.reservation.starts_at == MONDAY_9 + timedelta(days=1)


def test_entries_whose_start_has_passed_expire_and_are_never_booked(member, owner, space):
    taken = book(owner, space)
    entry = waitlist_join(actor=member, space_id=space.pk, **slot())

    assert waitlist_expire_started(now=MONDAY_9 - timedelta(minutes=1)) == 0
    assert waitlist_expire_started(now=MONDAY_9) == 1
    with time_machine.travel(MONDAY_9 - timedelta(minutes=30), tick=False):
        reservation_cancel(actor=owner, reservation=taken)

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.EXPIRED
    assert entry.reservation is None


def test_joining_checks_the_booking_rules_first(member, owner, in_tenant):
    short_only = SpaceFactory(max_duration_minutes=30)
    with pytest.raises(ValidationFailed) as refused:
        waitlist_join(actor=member, space_id=short_only.pk, **slot())

    assert refused.value.code == "too_long"


# The organization frees the time: a closure, a changed space, an archived space (one path: _waitlist_offer)


def test_bookings_cancelled_for_a_closure_free_their_time_outside_it_for_the_waitlist(member, owner, admin, space):
    from spaces.services import closure_create

    taken = book(owner, space, hours=2)
    inside = waitlist_join(actor=member, space_id=space.pk, **slot())
    after = waitlist_join(actor=admin, space_id=space.pk, **slot(MONDAY_9 + HOUR))

    result = closure_create(
        actor=owner,
        starts_at=MONDAY_9,
        ends_at=MONDAY_9 + HOUR,
        reason="Painting",
        space_ids=[space.pk],
        cancel_affected=True,
    )

    assert [r.pk for r in result.cancelled] == [taken.pk]
    inside.refresh_from_db()
    after.refresh_from_db()
    assert inside.status == WaitlistEntry.Status.WAITING  # closed then: against a rule, it keeps waiting
    assert after.status == WaitlistEntry.Status.BOOKED
    assert after.reservation.starts_at == MONDAY_9 + HOUR


def test_shrinking_opening_hours_cancels_what_they_leave_out_and_offers_the_rest_to_the_waitlist(member, owner, space):
    from datetime import time

    from spaces.hours import WeeklyInterval
    from spaces.services import space_update

    taken = book(owner, space)  # 10:00-11:00 in Paris
    entry = waitlist_join(actor=member, space_id=space.pk, **slot(hours=0.5))  # 10:00-10:30

    space_update(
        actor=owner,
        space=space,
        data={},
        opening_hours=[WeeklyInterval(0, time(8), time(10, 30))],
        cancel_affected=True,
    )

    taken.refresh_from_db()
    entry.refresh_from_db()
    assert taken.status == Reservation.Status.CANCELLED
    assert entry.status == WaitlistEntry.Status.BOOKED
    assert entry.reservation.ends_at == MONDAY_9 + timedelta(minutes=30)


def test_archiving_a_space_cancels_its_bookings_and_its_waiting_entries_expire(member, owner, space):
    from spaces.services import space_archive

    taken = book(owner, space)
    entry = waitlist_join(actor=member, space_id=space.pk, **slot())

    assert space_archive(actor=owner, space=space).cancelled_reservations == 1

    taken.refresh_from_db()
    entry.refresh_from_db()
    assert taken.status == Reservation.Status.CANCELLED
    assert entry.status == WaitlistEntry.Status.EXPIRED
    assert entry.reservation is None
    assert not Reservation.objects.filter(space=space, status__in=["confirmed", "pending"]).exists()
