"""A booking valid when made stays editable after its space's rules change, for edits that don't touch the
broken rule; a move is checked against every rule."""

from datetime import UTC, datetime, time, timedelta

import pytest

from reservations.services import reservation_create, reservation_update
from spacemanager.errors import ValidationFailed
from spaces.hours import WeeklyInterval
from spaces.services import closure_create, opening_hours_set, space_update
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)  # a week after BOOKING_NOW


@pytest.fixture
def member(in_tenant, booking_now):
    return in_tenant.membership(in_tenant.member)


@pytest.fixture
def manager(in_tenant, booking_now):
    return in_tenant.membership(in_tenant.admin)


def booked(member, **space_fields):
    space = SpaceFactory(**space_fields)
    reservation = reservation_create(
        actor=member, space_id=space.pk, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1), attendees=6
    )
    return space, reservation


def test_after_the_hours_change_a_booking_outside_them_can_still_be_renamed_but_not_moved(member, manager):
    space, reservation = booked(member)
    opening_hours_set(actor=manager, space=space, intervals=[WeeklyInterval(0, time(13), time(18))])

    renamed = reservation_update(actor=member, reservation=reservation, title="Kick-off", notes="Bring slides")

    assert (renamed.title, renamed.notes) == ("Kick-off", "Bring slides")
    with pytest.raises(ValidationFailed) as caught:
        reservation_update(actor=member, reservation=renamed, ends_at=MONDAY_9 + timedelta(minutes=90))
    assert caught.value.code == "closed"


def test_after_the_capacity_drops_the_title_can_change_but_not_more_attendees(member, manager):
    space, reservation = booked(member, capacity=8)
    space_update(actor=manager, space=space, data={"capacity": 4})

    assert reservation_update(actor=member, reservation=reservation, title="Smaller").title == "Smaller"
    with pytest.raises(ValidationFailed) as caught:
        reservation_update(actor=member, reservation=reservation, attendees=7)
    assert caught.value.code == "over_capacity"
    assert reservation_update(actor=member, reservation=reservation, attendees=4).attendees == 4


def test_a_booking_made_before_a_closure_can_still_be_renamed(member, manager):
    space, reservation = booked(member)
    closure_create(
        actor=manager, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(days=1), reason="Leak", space_ids=[space.pk]
    )

    assert reservation_update(actor=member, reservation=reservation, title="Still on").title == "Still on"
