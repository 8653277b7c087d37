from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reservations.models import Reservation
from reservations.services import check_space_rules
from reservations.tests.factories import ReservationFactory
from spacemanager.errors import ValidationFailed
from spaces.models import OpeningHours, Space
from spaces.selectors import (
    space_amenities,
    space_availability,
    space_list,
    space_list_available,
    space_list_managed,
)
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("booking_now")]
PARIS = ZoneInfo("Europe/Paris")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def available(starts_at, ends_at, tz=PARIS) -> set[str]:
    return set(space_list_available(starts_at=starts_at, ends_at=ends_at, tz=tz).values_list("name", flat=True))


def test_free_space_search_keeps_spaces_free_and_open_for_the_whole_interval(in_tenant):
    member = in_tenant.member
    SpaceFactory(name="Always open")
    open_every_day(SpaceFactory(name="Office hours"), time(8), time(18))
    booked = SpaceFactory(name="Booked")
    ReservationFactory(space=booked, user=member, starts_at=utc(2025, 3, 10, 9), ends_at=utc(2025, 3, 10, 10))
    freed = SpaceFactory(name="Cancelled booking")
    ReservationFactory(space=freed, user=member, starts_at=utc(2025, 3, 10, 9), status=Reservation.Status.CANCELLED)
    SpaceFactory(name="Archived", is_active=False)
    touching = SpaceFactory(name="Touching")
    ReservationFactory(space=touching, user=member, starts_at=utc(2025, 3, 10, 8), ends_at=utc(2025, 3, 10, 9))

    # Monday 10:00-11:00 in Paris.
    assert available(utc(2025, 3, 10, 9), utc(2025, 3, 10, 10)) == {
        "Always open",
        "Office hours",
        "Cancelled booking",
        "Touching",
    }
    # Monday 17:30-18:30 in Paris runs past closing time.
    assert "Office hours" not in available(utc(2025, 3, 10, 16, 30), utc(2025, 3, 10, 17, 30))


def test_free_space_search_honours_the_spring_clock_change(in_tenant):
    open_every_day(SpaceFactory(name="Office hours"), time(8), time(18))
    # Sunday 30 March: 08:00 in Paris is 06:00 UTC (it was 07:00 UTC the day before).
    assert available(utc(2025, 3, 30, 6), utc(2025, 3, 30, 7)) == {"Office hours"}
    assert available(utc(2025, 3, 29, 6), utc(2025, 3, 29, 7)) == set()


def test_free_space_search_across_midnight_needs_both_days_open(in_tenant):
    space = SpaceFactory(name="Night club")
    OpeningHours.objects.create(space=space, weekday=4, opens_at=time(20), closes_at=time(0))
    OpeningHours.objects.create(space=space, weekday=5, opens_at=time(0), closes_at=time(2))
    assert available(utc(2025, 3, 14, 21), utc(2025, 3, 15, 0, 30)) == {"Night club"}
    assert available(utc(2025, 3, 15, 21), utc(2025, 3, 16, 0, 30)) == set()


def test_free_space_search_is_two_queries_whatever_the_number_of_spaces(in_tenant):
    for count in (1, 6):
        while Space.objects.count() < count:
            open_every_day(SpaceFactory(max_duration_minutes=4 * 24 * 60), time(8), time(18))
        with CaptureQueriesContext(connection) as queries:
            # The candidates (open, not closed, not booked), then the rows themselves; the rules run in Python.
            assert len(available(utc(2025, 3, 10, 9), utc(2025, 3, 10, 10))) == count
        assert len([q for q in queries.captured_queries if not q["sql"].startswith("SET")]) == 2


def test_free_space_search_offers_only_what_the_booking_rules_accept(in_tenant):
    """Each space here is open, free and not closed at Monday 10:00-11:00, but one rule of booking refuses it."""
    SpaceFactory(name="Fits", capacity=4)
    SpaceFactory(name="Two hours at least", min_duration_minutes=120)
    SpaceFactory(name="Half an hour at most", max_duration_minutes=30)
    SpaceFactory(name="Only this week", max_days_ahead=3)
    SpaceFactory(name="Too small", capacity=2)
    monday = (utc(2025, 3, 10, 9), utc(2025, 3, 10, 10))

    assert set(
        space_list_available(starts_at=monday[0], ends_at=monday[1], tz=PARIS, attendees=3).values_list(
            "name", flat=True
        )
    ) == {"Fits"}
    for name in ("Two hours at least", "Half an hour at most", "Only this week", "Too small"):
        space = Space.objects.get(name=name)
        with pytest.raises(ValidationFailed):  # and booking refuses each one, by the very same check
            check_space_rules(space=space, starts_at=monday[0], ends_at=monday[1], attendees=3, now=timezone.now())
    # A search in the past offers nothing: a booking cannot start there.
    assert available(utc(2025, 3, 1, 9), utc(2025, 3, 1, 10)) == set()


def test_free_space_search_refuses_windows_longer_than_31_days(in_tenant):
    with pytest.raises(ValidationFailed):
        available(utc(2025, 3, 1), utc(2025, 4, 2))


def test_list_filters_by_kind_capacity_and_every_amenity(in_tenant):
    SpaceFactory(name="Big", capacity=20, amenities=["projector", "video"])
    SpaceFactory(name="Small", capacity=2, amenities=["projector"])
    SpaceFactory(name="Desk", kind="desk", capacity=1, amenities=[])
    names = lambda **filters: list(space_list(filters=filters).values_list("name", flat=True))  # noqa: E731
    assert names(capacity_min=10) == ["Big"]
    assert names(amenity=["projector", "video"]) == ["Big"]
    assert names(kind="desk") == ["Desk"]
    assert names(search="sma") == ["Small"]


def test_availability_shows_busy_and_free_time_within_opening_hours(in_tenant):
    space = open_every_day(SpaceFactory(), time(8), time(18))
    ReservationFactory(
        space=space, user=in_tenant.admin, title="Board", starts_at=utc(2025, 3, 10, 9), ends_at=utc(2025, 3, 10, 10)
    )
    viewer = in_tenant.membership(in_tenant.member)

    result = space_availability(
        space=space, starts_at=utc(2025, 3, 9, 23), ends_at=utc(2025, 3, 10, 23), tz=PARIS, viewer=viewer
    )

    assert [(b.starts_at, b.ends_at, b.title, b.user, b.mine) for b in result.busy] == [
        (utc(2025, 3, 10, 9), utc(2025, 3, 10, 10), None, None, False)
    ]
    assert result.free == [
        (utc(2025, 3, 10, 7), utc(2025, 3, 10, 9)),
        (utc(2025, 3, 10, 10), utc(2025, 3, 10, 17)),
    ]


def test_an_archived_space_has_no_free_time(in_tenant):
    space = SpaceFactory(is_active=False)
    result = space_availability(
        space=space,
        starts_at=utc(2025, 3, 10),
        ends_at=utc(2025, 3, 10) + timedelta(days=1),
        tz=PARIS,
        viewer=in_tenant.membership(in_tenant.owner),
    )
    assert result.free == []


def test_amenities_in_use_are_those_of_active_spaces_sorted_once(in_tenant):
    SpaceFactory(amenities=["video", "projector"])
    SpaceFactory(amenities=["projector"])
    SpaceFactory(amenities=["stage"], is_active=False)
    assert space_amenities() == ["projector", "video"]


def test_managed_spaces_count_the_bookings_still_to_come_in_one_query(in_tenant):
    now = utc(2025, 3, 3, 8)
    room = SpaceFactory(name="B room")
    SpaceFactory(name="A archived", is_active=False)
    member = in_tenant.member
    ReservationFactory(space=room, user=member, starts_at=utc(2025, 3, 4, 9))
    ReservationFactory(space=room, user=member, starts_at=utc(2025, 3, 5, 9), status=Reservation.Status.PENDING)
    ReservationFactory(space=room, user=member, starts_at=utc(2025, 3, 6, 9), status=Reservation.Status.CANCELLED)
    ReservationFactory(space=room, user=member, starts_at=utc(2025, 3, 3, 7, 30))  # under way
    with CaptureQueriesContext(connection) as queries:
        spaces = [(space.name, space.upcoming_count) for space in space_list_managed(now=now)]
    assert spaces == [("B room", 2), ("A archived", 0)]  # bookable first
    assert len(queries) == 2  # spaces, opening hours


def _book_hours(rooms, user, slots) -> None:
    """An hour's booking in each room for each (start, status) of `slots`, written straight to the table."""
    Reservation.objects.bulk_create(
        Reservation(
            space=room, user=user, title="busy", status=status, starts_at=start, ends_at=start + timedelta(hours=1)
        )
        for room in rooms
        for start, status in slots
    )


def test_the_availability_read_is_compiled_once_and_answered_by_the_no_overlap_index(in_tenant):
    # Fixed SQL written by the ORM once per process: its blocked range is the exclusion constraint's expression
    # (buffers included), so the constraint's GiST index answers it, and no request compiles it again.
    from django.db import transaction

    from reservations.models import NO_OVERLAP_CONSTRAINT
    from spaces.selectors import _space_busy_sql, _space_busy_statement

    space = open_every_day(SpaceFactory(buffer_before_minutes=15), time(8), time(18))
    ReservationFactory(space=space, user=in_tenant.admin, starts_at=utc(2025, 3, 10, 9), ends_at=utc(2025, 3, 10, 10))
    viewer = in_tenant.membership(in_tenant.owner)
    window = {"starts_at": utc(2025, 3, 10, 0), "ends_at": utc(2025, 3, 11, 0), "tz": PARIS, "viewer": viewer}
    space_availability(space=space, **window)
    compiled = _space_busy_sql.cache_info().currsize

    space_availability(space=space, **window)
    assert _space_busy_sql.cache_info().currsize == compiled

    sql, params = _space_busy_statement(
        for_managers=True, space_id=space.pk, window=(utc(2025, 3, 10, 0), utc(2025, 3, 11, 0))
    )
    # A busy day in 200 other rooms, and real statistics: an index on start times alone (the active rows')
    # then reads 2,000 bookings where the constraint's index reads one. On a nearly empty, unanalysed table
    # the cheapest index was a toss-up that depended on what earlier tests had left in the statistics.
    others = Space.objects.bulk_create(Space(name=f"Room {n}", capacity=4) for n in range(200))
    _book_hours(
        others, in_tenant.member, [(utc(2025, 3, 10, 8 + hour), Reservation.Status.CONFIRMED) for hour in range(10)]
    )
    with transaction.atomic(), connection.cursor() as cursor:  # the test's transaction undoes the DROP
        cursor.execute("ANALYZE reservations_reservation")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("DROP INDEX reservations_space_starts")  # tiny tables: the planner would take it instead
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"Index Scan using {NO_OVERLAP_CONSTRAINT}" in plan


def test_the_availability_read_is_planned_once_for_all_its_executions(in_tenant):
    """With the active statuses in the statement rather than parameters, PostgreSQL's generic plan for the
    prepared busy read is as good as one made per execution, so it stops planning it after five: planning it
    on every request had cost 0.1-0.2 ms of PostgreSQL's CPU per cold answer at design size."""
    space = open_every_day(SpaceFactory(), time(8), time(18))
    others = Space.objects.bulk_create(Space(name=f"Room {n}", capacity=4) for n in range(50))
    statuses = [Reservation.Status.CANCELLED, *[Reservation.Status.CONFIRMED] * 3]
    _book_hours(
        [space, *others],
        in_tenant.member,
        [(utc(2025, 3, 1, 9) + timedelta(days=day), statuses[day % 4]) for day in range(60)],
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reservations_reservation")
    viewer = in_tenant.membership(in_tenant.member)
    for day in range(12):
        starts_at = utc(2025, 3, 1) + timedelta(days=day)
        space_availability(
            space=space, starts_at=starts_at, ends_at=starts_at + timedelta(days=7), tz=PARIS, viewer=viewer
        )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s AND statement LIKE %s",
            ['%FROM "reservations_reservation"%', "%TSTZRANGE%"],
        )
        [(generic, custom)] = cursor.fetchall()
    assert custom <= 5
    assert generic >= 6


def test_the_closures_read_is_compiled_once_and_binds_the_space_and_the_window(in_tenant):
    from spaces.models import Closure
    from spaces.selectors import _space_closures, _space_closures_sql, closure_list_overlapping

    space, other = SpaceFactory(), SpaceFactory()
    everywhere = Closure.objects.create(starts_at=utc(2025, 3, 10), ends_at=utc(2025, 3, 11), reason="Holiday")
    elsewhere = Closure.objects.create(starts_at=utc(2025, 3, 10), ends_at=utc(2025, 3, 12), reason="Paint")
    elsewhere.spaces.set([other])
    Closure.objects.create(starts_at=utc(2025, 4, 1), ends_at=utc(2025, 4, 2), reason="Later")
    window = {"starts_at": utc(2025, 3, 9), "ends_at": utc(2025, 3, 13)}

    for chosen in (space, other):
        expected = list(
            closure_list_overlapping(space_id=chosen.pk, **window).values_list("starts_at", "ends_at", "reason")
        )
        assert _space_closures(space_id=chosen.pk, **window) == expected
    assert [reason for _start, _end, reason in _space_closures(space_id=other.pk, **window)] == ["Holiday", "Paint"]
    assert _space_closures(space_id=space.pk, **window)[0][2] == everywhere.reason
    assert _space_closures_sql.cache_info().currsize == 1
