"""Check-in and the release of no-shows: the window, who may check in, the sweep, its email and webhook, the API
and the reservation page."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from reservations import tasks
from reservations.models import Reservation
from reservations.services import (
    reservation_check_in,
    reservation_create,
    reservations_complete_ended,
    reservations_release_no_shows,
)
from reservations.tests.factories import ReservationFactory
from spacemanager.beat import SWEEP_JOBS
from spacemanager.errors import Conflict, NotFound, ValidationFailed
from spaces.tests.factories import SpaceFactory
from tenants.outbox import outbox_relay

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)  # 10:00 in Paris
MINUTE = timedelta(minutes=1)


@pytest.fixture
def member(paris, in_tenant, booking_now, celery_eager):
    return paris.membership(paris.member)


@pytest.fixture
def manager(paris, in_tenant):
    return paris.membership(paris.admin)


@pytest.fixture
def space(in_tenant):
    return SpaceFactory(name="Blue room", check_in_required=True, check_in_grace_minutes=10)


def booked(member, space, starts_at=MONDAY_9, hours=1, **extra) -> Reservation:
    return ReservationFactory(
        user=member.user, space=space, starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), **extra
    )


def check_in_at(moment, actor, reservation) -> Reservation:
    with time_machine.travel(moment, tick=False):
        return reservation_check_in(actor=actor, reservation=reservation)


def release_at(moment, django_capture_on_commit_callbacks) -> list[int]:
    """The sweep at `moment`, then what the workers do after its commit (emails from the outbox)."""
    with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
        released = tasks.reservations_release_no_shows.delay().result
    outbox_relay()
    return released


# The window and who may check in


@pytest.mark.parametrize("moment", [MONDAY_9 - 15 * MINUTE, MONDAY_9, MONDAY_9 + 10 * MINUTE - MINUTE])
def test_the_booker_checks_in_from_15_minutes_before_the_start_to_the_end_of_the_grace(member, space, moment):
    reservation = check_in_at(moment, member, booked(member, space))

    assert reservation.checked_in_at == moment
    reservation.refresh_from_db()
    assert reservation.checked_in_at == moment


@pytest.mark.parametrize("moment", [MONDAY_9 - 16 * MINUTE, MONDAY_9 + 10 * MINUTE, MONDAY_9 + timedelta(hours=2)])
def test_checking_in_outside_the_window_is_refused_with_the_window(member, space, moment):
    reservation = booked(member, space)

    with pytest.raises(ValidationFailed) as refused:
        check_in_at(moment, member, reservation)

    assert refused.value.code == "check_in_closed"
    assert refused.value.extra == {"opens_at": "2025-03-10T09:45:00+01:00", "closes_at": "2025-03-10T10:10:00+01:00"}
    reservation.refresh_from_db()
    assert reservation.checked_in_at is None


def test_the_window_closes_at_the_end_of_a_booking_shorter_than_the_grace(member, in_tenant):
    space = SpaceFactory(check_in_required=True, check_in_grace_minutes=60)
    reservation = booked(member, space, hours=0.5)

    with pytest.raises(ValidationFailed, match="to 2025-03-10T10:30:00"):
        check_in_at(MONDAY_9 + 30 * MINUTE, member, reservation)


def test_a_space_without_check_in_refuses_it(member, in_tenant):
    reservation = booked(member, SpaceFactory(name="Hall"))

    with pytest.raises(ValidationFailed) as refused:
        check_in_at(MONDAY_9, member, reservation)

    assert refused.value.code == "check_in_not_required"
    assert "Hall does not require check-in" in refused.value.message


def test_checking_in_twice_is_harmless_and_keeps_the_first_time(member, space):
    reservation = booked(member, space)
    check_in_at(MONDAY_9, member, reservation)

    again = check_in_at(MONDAY_9 + 5 * MINUTE, member, reservation)

    assert again.checked_in_at == MONDAY_9


def test_another_member_cannot_check_in_but_an_admin_can(member, manager, space, paris):
    reservation = booked(member, space)
    other = paris.membership(paris.owner)
    other_booking = booked(other, space, starts_at=MONDAY_9 + timedelta(hours=2))

    with pytest.raises(NotFound):
        check_in_at(MONDAY_9 + timedelta(hours=2), member, other_booking)
    assert check_in_at(MONDAY_9, manager, reservation).checked_in_at == MONDAY_9


def test_a_pending_request_cannot_be_checked_in_to(member, space):
    reservation = booked(member, space, status=Reservation.Status.PENDING)

    with pytest.raises(Conflict) as refused:
        check_in_at(MONDAY_9, member, reservation)

    assert refused.value.code == "reservation_not_active"


def test_a_released_booking_cannot_be_checked_in_to_any_more(member, space):
    reservation = booked(member, space, status=Reservation.Status.NO_SHOW)

    with pytest.raises(ValidationFailed) as refused:
        check_in_at(MONDAY_9 + 5 * MINUTE, member, reservation)

    assert refused.value.code == "check_in_closed"


# Releasing no-shows


def test_a_booking_nobody_checked_in_is_released_its_slot_freed_and_its_booker_told_once(
    member, space, django_capture_on_commit_callbacks
):
    reservation = booked(member, space)

    assert release_at(MONDAY_9 + 10 * MINUTE - MINUTE, django_capture_on_commit_callbacks) == 0
    assert release_at(MONDAY_9 + 10 * MINUTE, django_capture_on_commit_callbacks) == 1
    assert release_at(MONDAY_9 + 11 * MINUTE, django_capture_on_commit_callbacks) == 0

    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.NO_SHOW
    [email] = mail.outbox
    assert email.subject.startswith("Booking released: Blue room")
    assert "Nobody checked in" in email.body
    # The rest of its time is free for someone else.
    with time_machine.travel(MONDAY_9 + 12 * MINUTE, tick=False):
        other = reservation_create(
            actor=member, space_id=space.pk, starts_at=MONDAY_9 + 15 * MINUTE, ends_at=MONDAY_9 + timedelta(hours=1)
        )
    assert other.status == Reservation.Status.CONFIRMED


def test_a_checked_in_booking_is_never_released_and_completes(member, space, django_capture_on_commit_callbacks):
    reservation = booked(member, space)
    check_in_at(MONDAY_9 + MINUTE, member, reservation)

    assert release_at(MONDAY_9 + timedelta(hours=2), django_capture_on_commit_callbacks) == 0
    assert reservations_complete_ended(now=MONDAY_9 + timedelta(hours=2)) == 1

    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.COMPLETED
    assert mail.outbox == []


def test_bookings_of_spaces_without_check_in_are_never_released(member, in_tenant, django_capture_on_commit_callbacks):
    reservation = booked(member, SpaceFactory())

    assert release_at(MONDAY_9 + timedelta(hours=2), django_capture_on_commit_callbacks) == 0
    reservations_complete_ended(now=MONDAY_9 + timedelta(hours=2))

    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.COMPLETED


def test_completing_ended_bookings_leaves_the_no_shows_to_the_release(member, space):
    reservation = booked(member, space)

    assert reservations_complete_ended(now=MONDAY_9 + timedelta(hours=2)) == 0
    assert reservations_release_no_shows(now=MONDAY_9 + timedelta(hours=2)) == [reservation.pk]


def test_pending_and_cancelled_bookings_are_not_released(member, space, django_capture_on_commit_callbacks):
    booked(member, space, status=Reservation.Status.PENDING)
    booked(member, space, starts_at=MONDAY_9 + timedelta(hours=1), status=Reservation.Status.CANCELLED)

    assert release_at(MONDAY_9 + timedelta(hours=3), django_capture_on_commit_callbacks) == 0


def test_the_release_runs_in_every_sweep_before_bookings_are_completed():
    assert "reservations.tasks.reservations_release_no_shows" in SWEEP_JOBS
    assert SWEEP_JOBS.index("reservations.tasks.reservations_release_no_shows") < SWEEP_JOBS.index(
        "reservations.tasks.reservations_complete_ended"
    )


# The API and the page


def test_the_api_checks_in_and_answers_with_checked_in_at(member, space, paris, api_client):
    reservation = booked(member, space)
    with time_machine.travel(MONDAY_9 + 2 * MINUTE, tick=False):
        client = api_client(paris, paris.member)  # a token issued now, not a week ago
        response = client.post(f"/api/v1/reservations/{reservation.pk}/check-in")
        again = client.post(f"/api/v1/reservations/{reservation.pk}/check-in")

    assert response.status_code == 200, response.json()
    assert response.json()["checked_in_at"] == "2025-03-10T10:02:00+01:00"
    assert again.status_code == 200
    assert again.json()["checked_in_at"] == "2025-03-10T10:02:00+01:00"


def test_the_api_refuses_outside_the_window_and_without_check_in(member, space, paris, api_client):
    early = booked(member, space)
    unchecked = booked(member, SpaceFactory(), starts_at=MONDAY_9 + timedelta(hours=2))
    with time_machine.travel(MONDAY_9 - timedelta(hours=1), tick=False):
        closed = api_client(paris, paris.member).post(f"/api/v1/reservations/{early.pk}/check-in")
    with time_machine.travel(MONDAY_9 + timedelta(hours=2), tick=False):
        not_required = api_client(paris, paris.member).post(f"/api/v1/reservations/{unchecked.pk}/check-in")

    assert (closed.status_code, closed.json()["code"]) == (400, "check_in_closed")
    assert (not_required.status_code, not_required.json()["code"]) == (400, "check_in_not_required")


def test_the_api_hides_other_members_bookings_and_needs_a_login(member, space, paris, api_client):
    theirs = booked(paris.membership(paris.owner), space)

    with time_machine.travel(MONDAY_9, tick=False):
        hidden = api_client(paris, paris.member).post(f"/api/v1/reservations/{theirs.pk}/check-in")
        anonymous = api_client(paris).post(f"/api/v1/reservations/{theirs.pk}/check-in")

    assert hidden.status_code == 404
    assert anonymous.status_code == 401
    theirs.refresh_from_db()
    assert theirs.checked_in_at is None


def test_the_reservation_page_offers_check_in_inside_the_window_only(member, space, paris, client):
    reservation = booked(member, space)
    client.force_login(paris.member)
    url = reverse("reservations:detail", kwargs={"pk": reservation.pk})

    with time_machine.travel(MONDAY_9 - timedelta(hours=1), tick=False):
        before = client.get(url, HTTP_HOST=paris.host)
    with time_machine.travel(MONDAY_9 + MINUTE, tick=False):
        inside = client.get(url, HTTP_HOST=paris.host)
        posted = client.post(
            reverse("reservations:check-in", kwargs={"pk": reservation.pk}), HTTP_HOST=paris.host, follow=True
        )

    assert "Check in</button>" not in before.content.decode()
    assert "From 09:45 to 10:10" in before.content.decode()
    assert "Check in</button>" in inside.content.decode()
    page = posted.content.decode()
    assert "Checked in to Blue room" in page
    assert "Check in</button>" not in page
    reservation.refresh_from_db()
    assert reservation.checked_in_at == MONDAY_9 + MINUTE


def test_checking_in_on_the_page_outside_the_window_says_when_it_opens(member, space, paris, client):
    reservation = booked(member, space)
    client.force_login(paris.member)

    with time_machine.travel(MONDAY_9 - timedelta(hours=1), tick=False):
        response = client.post(
            reverse("reservations:check-in", kwargs={"pk": reservation.pk}), HTTP_HOST=paris.host, follow=True
        )

    assert "Check-in for this booking is open from 2025-03-10T09:45:00+01:00" in response.content.decode()
    reservation.refresh_from_db()
    assert reservation.checked_in_at is None
