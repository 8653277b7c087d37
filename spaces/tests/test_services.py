from datetime import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from spacemanager.errors import PermissionDenied, ValidationFailed
from spaces.hours import WeeklyInterval
from spaces.models import OpeningHours, Space
from spaces.services import opening_hours_set, space_archive, space_create, space_update
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(in_tenant):
    return in_tenant.membership(in_tenant.owner)


def hours(space: Space) -> list[tuple[int, str, str]]:
    return [(row.weekday, f"{row.opens_at:%H:%M}", f"{row.closes_at:%H:%M}") for row in space.opening_hours.all()]


def test_a_manager_creates_a_space_with_defaults_and_normalized_amenities(manager):
    space = space_create(actor=manager, name=" Blue room ", capacity=6, amenities=["Projector", "video ", "projector"])

    assert space.name == "Blue room"
    assert space.amenities == ["projector", "video"]
    assert (space.min_duration_minutes, space.max_duration_minutes, space.max_days_ahead) == (15, 720, 365)
    assert space.requires_approval is False
    assert space.opening_hours.count() == 0


def test_members_cannot_manage_spaces(in_tenant):
    member = in_tenant.membership(in_tenant.member)
    with pytest.raises(PermissionDenied):
        space_create(actor=member, name="Mine")
    with pytest.raises(PermissionDenied):
        space_archive(actor=member, space=SpaceFactory())


def test_amenities_must_be_short_tags(manager):
    with pytest.raises(ValidationError) as caught:
        space_create(actor=manager, name="Room", amenities=["a projector!"])
    assert "amenities" in caught.value.message_dict


def test_the_maximum_duration_cannot_be_below_the_minimum(manager):
    with pytest.raises(ValidationFailed) as caught:
        space_create(actor=manager, name="Room", min_duration_minutes=60, max_duration_minutes=30)
    assert caught.value.field == "max_duration_minutes"


def test_update_changes_only_the_given_fields(manager):
    space = SpaceFactory(capacity=4, hourly_rate=Decimal("12.00"))
    space_update(actor=manager, space=space, data={"capacity": 12})
    space.refresh_from_db()
    assert (space.capacity, space.hourly_rate) == (12, Decimal("12.00"))


def test_opening_hours_are_replaced_at_once_and_touching_intervals_merge(manager):
    space = SpaceFactory()
    opening_hours_set(actor=manager, space=space, intervals=[WeeklyInterval(6, time(10), time(12))])

    opening_hours_set(
        actor=manager,
        space=space,
        intervals=[
            WeeklyInterval(0, time(13), time(18)),
            WeeklyInterval(0, time(8), time(13)),
            WeeklyInterval(4, time(20), time(0)),
        ],
    )

    assert hours(space) == [(0, "08:00", "18:00"), (4, "20:00", "00:00")]


@pytest.mark.parametrize(
    "intervals",
    [
        [WeeklyInterval(0, time(8), time(12)), WeeklyInterval(0, time(11), time(14))],
        [WeeklyInterval(0, time(18), time(8))],
        [WeeklyInterval(7, time(8), time(9))],
    ],
)
def test_invalid_opening_hours_leave_the_old_ones_in_place(manager, intervals):
    space = SpaceFactory()
    OpeningHours.objects.create(space=space, weekday=2, opens_at=time(9), closes_at=time(17))
    with pytest.raises(ValidationFailed) as caught:
        opening_hours_set(actor=manager, space=space, intervals=intervals)
    assert caught.value.field == "opening_hours"
    assert hours(space) == [(2, "09:00", "17:00")]


def test_archiving_twice_is_harmless(manager):
    space = SpaceFactory()
    space_archive(actor=manager, space=space)
    result = space_archive(actor=manager, space=space)
    space.refresh_from_db()
    assert space.is_active is False
    assert result.cancelled_reservations == 0


def test_setting_is_active_false_archives_like_delete(manager):
    space = SpaceFactory()
    space_update(actor=manager, space=space, data={"is_active": False, "name": "Old room"})
    space.refresh_from_db()
    assert (space.is_active, space.name) == (False, "Old room")
