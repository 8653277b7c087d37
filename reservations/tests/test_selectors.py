"""Reads behind the booking pages: whose reservations, which ones, in what order."""

from datetime import UTC, datetime, timedelta

import pytest

from reservations.models import Reservation
from reservations.selectors import (
    reservation_count_upcoming,
    reservation_list_overlapping,
    reservation_list_past,
    reservation_list_pending,
    reservation_list_upcoming,
    reservation_search,
)
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 3, 8, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def titles(queryset) -> list[str]:
    return list(queryset.values_list("title", flat=True))


@pytest.fixture
def scene(in_tenant):
    org = in_tenant
    room, hall = SpaceFactory(name="Room"), SpaceFactory(name="Hall")
    rows = [
        (room, org.member, "running", utc(2025, 3, 3, 7, 30), "confirmed"),
        (room, org.member, "next", utc(2025, 3, 4, 9), "confirmed"),
        (hall, org.member, "pending", utc(2025, 3, 5, 9), "pending"),
        (room, org.member, "cancelled", utc(2025, 3, 6, 9), "cancelled"),
        (room, org.member, "ended", utc(2025, 2, 20, 9), "confirmed"),
        (hall, org.owner, "owner's", utc(2025, 3, 4, 12), "pending"),
    ]
    for space, user, title, starts_at, status in rows:
        ReservationFactory(space=space, user=user, title=title, starts_at=starts_at, status=status)
    return org, room, hall


def test_upcoming_are_mine_active_and_not_ended_soonest_first(scene):
    org, _, _ = scene
    assert titles(reservation_list_upcoming(actor=org.membership(org.member), now=NOW)) == [
        "running",
        "next",
        "pending",
    ]


def test_past_are_my_ended_or_no_longer_active_ones_latest_first(scene):
    org, _, _ = scene
    assert titles(reservation_list_past(actor=org.membership(org.member), now=NOW)) == ["cancelled", "ended"]


def test_overlapping_lists_everyones_active_bookings_for_managers_only(scene):
    org, _, _ = scene
    day = (utc(2025, 3, 4), utc(2025, 3, 5))
    admin, member = org.membership(org.admin), org.membership(org.member)
    assert titles(reservation_list_overlapping(actor=admin, starts_at=day[0], ends_at=day[1])) == ["next", "owner's"]
    assert titles(reservation_list_overlapping(actor=member, starts_at=day[0], ends_at=day[1])) == ["next"]


def test_pending_lists_what_waits_for_approval(scene):
    org, _, _ = scene
    assert titles(reservation_list_pending(actor=org.membership(org.admin), now=NOW)) == ["owner's", "pending"]


def test_search_filters_by_space_status_and_window(scene):
    org, _, hall = scene
    admin = org.membership(org.admin)
    assert titles(reservation_search(actor=admin, space_id=hall.pk)) == ["owner's", "pending"]
    assert titles(reservation_search(actor=admin, status=Reservation.Status.CANCELLED)) == ["cancelled"]
    window = reservation_search(actor=admin, starts_at=utc(2025, 3, 4, 9, 30), ends_at=utc(2025, 3, 5, 9, 30))
    assert titles(window) == ["next", "owner's", "pending"]


def test_upcoming_count_matches_what_archiving_cancels(scene):
    _, room, hall = scene
    assert (
        reservation_count_upcoming(space_id=room.pk, now=NOW) == 1
    )  # "running" has started; "cancelled" is not active
    assert reservation_count_upcoming(space_id=hall.pk, now=NOW) == 2


def test_todays_bookings_come_from_the_active_period_index(scene):
    """With a year of cancelled bookings around the day and real statistics, the planner reads the small
    partial index of active rows. (On a nearly empty, unanalysed table the cheapest index is a toss-up: the
    choice then depended on what earlier tests had left in the statistics.)"""
    from django.db import connection

    from spacemanager.testing import explain

    org, room, _ = scene
    Reservation.objects.bulk_create(
        Reservation(
            space=room,
            user=org.member,
            title="old",
            starts_at=utc(2024, 6, 1, 9) + timedelta(hours=6 * n),
            ends_at=utc(2024, 6, 1, 10) + timedelta(hours=6 * n),
            status=Reservation.Status.CANCELLED,
        )
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reservations_reservation")  # rolled back with the test's transaction
    queryset = reservation_list_overlapping(
        actor=org.membership(org.admin), starts_at=utc(2025, 3, 4), ends_at=utc(2025, 3, 5)
    )
    assert titles(queryset) == ["next", "owner's"]
    assert "reservations_active_starts" in explain(queryset, enable_seqscan=False)


def test_my_upcoming_reservations_come_in_order_from_my_index(scene):
    from spacemanager.testing import explain

    org, _, _ = scene
    queryset = reservation_list_upcoming(actor=org.membership(org.member), now=utc(2025, 3, 1))[:20]
    plan = explain(queryset, enable_seqscan=False, enable_bitmapscan=False, enable_sort=False)
    assert "Index Scan using reservations_user_starts" in plan and "Sort" not in plan


def test_a_search_from_a_day_includes_a_long_booking_still_running_and_reads_the_index_from_31_days_before(scene):
    from datetime import timedelta

    from spacemanager.testing import explain

    org, _, _ = scene
    ReservationFactory(
        space=SpaceFactory(name="Studio"),
        user=org.member,
        title="fortnight",
        starts_at=utc(2025, 2, 20, 9),
        ends_at=utc(2025, 3, 6, 9),
    )
    search = reservation_search(actor=org.membership(org.admin), starts_at=utc(2025, 3, 5))
    assert titles(search) == ["fortnight", "pending", "cancelled"]

    plan = explain(search[:21], enable_seqscan=False, enable_bitmapscan=False, enable_sort=False)
    assert "Index Scan using reservations_starts_id" in plan
    assert f"starts_at > '{(utc(2025, 3, 5) - timedelta(days=31)):%Y-%m-%d}" in plan
    # ends_at is the index's last column: the reservations that ended before the day are skipped inside the
    # index, not fetched row by row (57,000 rows for a page of 21 at design size).
    index_condition = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "ends_at >" in index_condition


def test_the_database_refuses_a_reservation_longer_than_31_days(scene):
    from django.db import IntegrityError, transaction

    org, room, _ = scene
    with pytest.raises(IntegrityError), transaction.atomic():
        ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 4, 1), ends_at=utc(2025, 5, 3))


def test_pending_requests_come_in_order_from_the_pending_index(scene):
    from spacemanager.testing import explain

    org, _, _ = scene
    queryset = reservation_list_pending(actor=org.membership(org.admin), now=utc(2025, 3, 1))[:10]
    plan = explain(queryset, enable_seqscan=False, enable_bitmapscan=False, enable_sort=False)
    assert "Index Scan using reservations_pending_starts" in plan and "Sort" not in plan
