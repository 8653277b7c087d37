"""Reads of spaces: lists with filters, the free-space search and a space's availability."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.paginator import Page, Paginator
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange as Range
from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from psycopg.types.numeric import Int8

from accounts.models import Membership, User
from reservations.models import BlockedRange, Reservation, ShiftedByMinutes, TsTzRange
from spacemanager import rawsql
from spacemanager.errors import DomainError, NotFound, ValidationFailed
from spaces.filters import SpaceFilter
from spaces.hours import MIDNIGHT, WeeklyInterval, local_pieces, open_intervals, subtract, uncovered_pieces
from spaces.models import Closure, OpeningHours, Space, SpacePhoto

MAX_WINDOW = timedelta(days=31)
# Windows are refused this far from today: local-time arithmetic near year 1 or 9999 would overflow.
MAX_YEARS = 10
# What managers see of who booked: a User with these fields loaded (the others deferred), in model order.
_BOOKER_FIELDS = ["id", "email", "full_name"]
_BOOKER_COLUMNS = ["user__email", "user__full_name"]
# The schedule's read (many spaces, one query): the bookings' own times, as the grid shows them, and their
# frozen buffers. It matches on the exclusion constraint's blocked range (BlockedRange, repeated here
# expression for expression so its GiST index answers), so a booking whose cleanup reaches into the day counts.
_BLOCKED_RANGE_SQL = (
    "TSTZRANGE("
    "timezone('UTC', timezone('UTC', r.\"starts_at\") - make_interval(mins => r.\"buffer_before_minutes\")), "
    "timezone('UTC', timezone('UTC', r.\"ends_at\") + make_interval(mins => r.\"buffer_after_minutes\")), '[)')"
)
_BUSY_TEMPLATE = (
    'SELECT {space}r."id", r."starts_at", r."ends_at", r."status", r."user_id", r."title", '
    'r."buffer_before_minutes", r."buffer_after_minutes"{booker} '
    'FROM "reservations_reservation" r{join} '
    "WHERE r.\"space_id\" {match} AND r.\"status\" IN ('pending', 'confirmed') "
    "AND {blocked} && TSTZRANGE(%s, %s, '[)') "
    'ORDER BY r."starts_at", r."id"'
)
_MANAGERS = {"booker": ', u."email", u."full_name"', "join": ' INNER JOIN "accounts_user" u ON u."id" = r."user_id"'}
_MEMBERS = {"booker": "", "join": ""}
# The schedule: the bookings of a page of spaces in one query, each row led by its space.
_SPACES = {"space": 'r."space_id", ', "match": "= ANY(%s)", "blocked": _BLOCKED_RANGE_SQL}
_SPACES_BUSY_FOR_MANAGERS_SQL = _BUSY_TEMPLATE.format(**_MANAGERS, **_SPACES)
_SPACES_BUSY_SQL = _BUSY_TEMPLATE.format(**_MEMBERS, **_SPACES)


def space_list(*, filters: Mapping[str, Any] | None = None, photos: bool = False) -> QuerySet[Space]:
    """Spaces with their opening hours (one extra query for any number of spaces), filtered like the API;
    with `photos`, their photos in order too (one more query; availability answers leave it out).

    Without an `is_active` filter only active spaces are listed.
    """
    queryset = Space.objects.prefetch_related(
        Prefetch("opening_hours", queryset=OpeningHours.objects.order_by("weekday", "opens_at"))
    )
    if photos:
        queryset = queryset.select_related("site").prefetch_related(
            Prefetch("photos", queryset=SpacePhoto.objects.order_by("position", "id"))
        )
    if filters is None:
        return queryset
    filterset = SpaceFilter(data=filters, queryset=queryset)
    if not filterset.is_valid():
        field, messages = next(iter(filterset.errors.items()))
        raise ValidationFailed(" ".join(messages), field=field)
    return filterset.qs


def space_get(*, space_id: int, photos: bool = False) -> Space:
    try:
        return space_list(photos=photos).get(pk=space_id)
    except Space.DoesNotExist:
        raise NotFound("No such space here.") from None


def space_get_with_hours(*, space_id: int) -> Space:
    """`space_get(space_id=…)` in one fixed statement: the space and its opening hours (prefetched, in the
    same order), for the one-space availability read, where the ORM's two queries cost more CPU to build
    than to run."""
    with connection.cursor() as cursor:
        cursor.execute(_space_with_hours_sql(), [space_id])
        rows = cursor.fetchall()
    if not rows:
        raise NotFound("No such space here.")
    split = rawsql.width(Space)
    space = rawsql.build(Space, rows[0][:split])
    hours = [rawsql.build(OpeningHours, row[split:]) for row in rows if row[split] is not None]
    for row in hours:
        row.space = space  # what the prefetch sets on each row
    prefetched = space.opening_hours.all()
    prefetched._result_cache, prefetched._prefetch_done = hours, True
    space._prefetched_objects_cache = {"opening_hours": prefetched}
    return space


@cache
def _space_with_hours_sql() -> str:
    return (
        f"SELECT {rawsql.columns(Space, 's')}, {rawsql.columns(OpeningHours, 'h')} "  # noqa: S608 - model names
        f'FROM "{Space._meta.db_table}" s LEFT JOIN "{OpeningHours._meta.db_table}" h ON h."space_id" = s."id" '
        'WHERE s."id" = %s ORDER BY h."weekday", h."opens_at"'
    )


def _check_window(starts_at: datetime, ends_at: datetime, *, end_field: str) -> None:
    this_year = timezone.now().year
    for instant in (starts_at, ends_at):
        if abs(instant.year - this_year) > MAX_YEARS:
            raise ValidationFailed(
                f"Choose dates within {MAX_YEARS} years of today.", field=end_field, code="out_of_range"
            )
    if ends_at <= starts_at:
        raise ValidationFailed("The end must be after the start.", field=end_field)
    if ends_at - starts_at > MAX_WINDOW:
        raise ValidationFailed("Ask for at most 31 days at a time.", field=end_field, code="window_too_long")


def _closure_applies_to(space_id) -> Q:
    """A closure of every space (none chosen), or one that names `space_id` (a value or an OuterRef)."""
    chosen = Closure.spaces.through.objects.filter(closure_id=OuterRef("pk"))
    return ~Exists(chosen) | Exists(chosen.filter(space_id=space_id))


def closure_list_overlapping(
    *, starts_at: datetime, ends_at: datetime, space_id: int | None = None
) -> QuerySet[Closure]:
    """Closures overlapping [starts_at, ends_at), soonest first; with `space_id`, only those that apply to it."""
    queryset = Closure.objects.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
    if space_id is not None:
        queryset = queryset.filter(_closure_applies_to(space_id))
    return queryset.order_by("starts_at", "id")


def closure_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[Closure]:
    """Every closure with its spaces (one extra query), soonest first; `ends_after` keeps those not over yet."""
    queryset = Closure.objects.prefetch_related(Prefetch("spaces", queryset=Space.objects.only("id", "name")))
    if filters and filters.get("ends_after") is not None:
        queryset = queryset.filter(ends_at__gt=filters["ends_after"])
    return queryset.order_by("starts_at", "id")


def closure_get(*, closure_id: int) -> Closure:
    closure = closure_list().filter(pk=closure_id).first()
    if closure is None:
        raise NotFound("No such closure here.")
    return closure


def closure_affected_reservations(*, closure: Closure, now: datetime) -> QuerySet[Reservation]:
    """The pending or confirmed reservations inside the closure that have not ended, soonest first."""
    queryset = (
        Reservation.objects.active()
        .select_related("space", "user")
        .filter(starts_at__lt=closure.ends_at, ends_at__gt=max(closure.starts_at, now))
    )
    space_ids = [space.pk for space in closure.spaces.all()]
    if space_ids:
        queryset = queryset.filter(space_id__in=space_ids)
    return queryset.order_by("starts_at", "id")


def space_list_choices() -> QuerySet[Space]:
    """Every space, archived ones included, by name, without opening hours: what a space filter offers (the
    all-reservations page lists each of 500 spaces; their 2,000 opening-hours rows were read for nothing)."""
    return Space.objects.only("id", "name", "kind", "capacity", "is_active")


def space_list_available(
    *,
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo,
    queryset: QuerySet[Space] | None = None,
    attendees: int = 1,
    now: datetime | None = None,
) -> QuerySet[Space]:
    """Active spaces a booking of [starts_at, ends_at) for `attendees` people would be accepted in: open the
    whole time, not closed, no active reservation's blocked slot (buffers included) meeting the interval
    widened by the space's own buffers, and the space's own rules (durations, advance window, capacity)
    passed, checked by the booking's own `check_space_rules`, so a space offered here is one "Book" accepts.

    Two SQL queries whatever the number of spaces: the interval is cut into local-day pieces in Python (the
    organization's timezone, DST included), and each piece must fall inside one opening-hours row; then the
    candidates are read once and the space rules run on each in Python.
    """
    from reservations.services import check_space_rules  # the rules' one home; it imports this module

    now = now or timezone.now()
    candidates = _space_list_open_and_free(starts_at=starts_at, ends_at=ends_at, tz=tz, queryset=queryset)
    accepted = []
    for space in (
        candidates.prefetch_related(None)
        .select_related(None)
        .only("pk", "name", "is_active", "capacity", "min_duration_minutes", "max_duration_minutes", "max_days_ahead")
    ):
        try:
            check_space_rules(space=space, starts_at=starts_at, ends_at=ends_at, attendees=attendees, now=now)
        except DomainError:
            continue
        accepted.append(space.pk)
    return candidates.filter(pk__in=accepted)


def _space_list_open_and_free(
    *, starts_at: datetime, ends_at: datetime, tz: ZoneInfo, queryset: QuerySet[Space] | None
) -> QuerySet[Space]:
    """The part of `space_list_available` SQL answers: open, not closed, not booked."""
    _check_window(starts_at, ends_at, end_field="available_to")
    if queryset is None:
        queryset = space_list()
    # Each space widens the interval by its own buffers, so the range is built in SQL from the outer row.
    wanted = TsTzRange(
        ShiftedByMinutes(Value(starts_at, output_field=DateTimeField()), OuterRef("buffer_before_minutes")),
        ShiftedByMinutes(Value(ends_at, output_field=DateTimeField()), OuterRef("buffer_after_minutes"), later=True),
    )
    busy = (
        Reservation.objects.active()
        .alias(blocked=BlockedRange())
        .filter(space_id=OuterRef("pk"), blocked__overlap=wanted)
    )
    closed = Closure.objects.filter(starts_at__lt=ends_at, ends_at__gt=starts_at).filter(
        _closure_applies_to(OuterRef(OuterRef("pk")))
    )
    hours = OpeningHours.objects.filter(space_id=OuterRef("pk"))
    covered = Q()
    for piece in local_pieces(starts_at, ends_at, tz):
        row = hours.filter(weekday=piece.weekday, opens_at__lte=piece.starts_time)
        closes = Q(closes_at=MIDNIGHT)
        if piece.ends_time is not None:
            closes |= Q(closes_at__gte=piece.ends_time)
        covered &= Exists(row.filter(closes))
    return (
        queryset.filter(is_active=True).filter(~Exists(busy)).filter(~Exists(closed)).filter(~Exists(hours) | covered)
    )


@dataclass(frozen=True)
class BusyInterval:
    starts_at: datetime
    ends_at: datetime
    status: str
    mine: bool
    reservation_id: int | None = None  # only to whom may see it: its booker and managers
    title: str | None = None
    user: User | None = None  # only for managers


def _busy_interval(row: Sequence[Any], viewer: Membership) -> BusyInterval:
    """One row of `_BUSY_TEMPLATE`'s reads (its buffers left out) as the viewer may see it."""
    reservation_id, busy_from, busy_to, status, user_id, title, _before, _after, *booker = row
    mine = user_id == viewer.user_id
    visible = mine or viewer.is_manager
    return BusyInterval(
        starts_at=busy_from,
        ends_at=busy_to,
        status=status,
        mine=mine,
        reservation_id=reservation_id if visible else None,
        title=title if visible else None,
        user=User.from_db(DEFAULT_DB_ALIAS, _BOOKER_FIELDS, [user_id, *booker]) if booker else None,
    )


@dataclass(frozen=True)
class ClosedInterval:
    starts_at: datetime
    ends_at: datetime
    reason: str


@dataclass(frozen=True)
class Availability:
    space: Space
    starts_at: datetime
    ends_at: datetime
    timezone: str
    busy: list[BusyInterval]
    free: list[tuple[datetime, datetime]]
    closures: list[ClosedInterval] = field(default_factory=list)


_SPACE_SENTINEL = -7  # stands for the space in the compiled statement below
_BUSY_COLUMNS = [
    "id",
    "starts_at",
    "ends_at",
    "status",
    "user_id",
    "title",
    "buffer_before_minutes",
    "buffer_after_minutes",
]


@cache
def _space_busy_sql(*, for_managers: bool) -> tuple[str, tuple]:
    """The busy read of one space's availability, compiled once per process rather than per request.

    The ORM writes it, so its blocked range is the exclusion constraint's expression word for word
    (BlockedRange: the buffers frozen on each booking) and the constraint's GiST index answers it; each request
    only binds the window and the space. Plain rows rather than model instances: a busy week has dozens.
    Returns the SQL and its parameters, the window a None and the space _SPACE_SENTINEL.
    """
    window = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC))
    queryset = (
        Reservation.objects.active()
        .alias(blocked=BlockedRange())
        .filter(space_id=_SPACE_SENTINEL, blocked__overlap=window)
        .order_by("starts_at")
        .values_list(*_BUSY_COLUMNS, *(_BOOKER_COLUMNS if for_managers else []))
    )
    sql, params = queryset.query.sql_with_params()
    # The active statuses written into the statement: with them as parameters, PostgreSQL's plan for every
    # execution (its generic plan) read all the space's bookings through another index, so it planned the
    # statement again on every request (0.1-0.2 ms of its CPU); with them in it, the one plan is this one.
    sql, params = rawsql.with_literals(sql, params, lambda param: isinstance(param, str))
    params = tuple(None if isinstance(param, Range) else param for param in params)
    if len(params) != 2 or params.count(None) != 1 or params.count(_SPACE_SENTINEL) != 1:
        raise RuntimeError(f"Unexpected parameters in the availability read: {params!r}")
    return sql, params


def _space_busy_statement(*, for_managers: bool, space_id: int, window: tuple[datetime, datetime]) -> tuple:
    sql, params = _space_busy_sql(for_managers=for_managers)
    # The space as a bigint, its column's type: psycopg sends a small Python int as a smallint, and the
    # exclusion constraint's GiST index (btree_gist) cannot compare a bigint column with a smallint. The planner
    # then searched the index by time alone, every space's bookings in the window (12,103 entries for a week
    # near today at design size: 21 ms), and matched the space through a second index, where it now finds the
    # space's few bookings in the one index (0.7 ms).
    bound = [
        Range(*window, "[)") if param is None else Int8(space_id) if param == _SPACE_SENTINEL else param
        for param in params
    ]
    return sql, bound


_WINDOW_SENTINELS = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC))


@cache
def _space_closures_sql() -> tuple[str, tuple]:
    """closure_list_overlapping for one space, compiled once per process like the busy read (its two EXISTS
    cost 2.6 ms of CPU to build per request, measured): the SQL, and its parameters with the sentinels."""
    starts_at, ends_at = _WINDOW_SENTINELS
    queryset = closure_list_overlapping(starts_at=starts_at, ends_at=ends_at, space_id=_SPACE_SENTINEL)
    sql, params = queryset.values_list("starts_at", "ends_at", "reason").query.sql_with_params()
    for sentinel in (starts_at, ends_at, _SPACE_SENTINEL):
        if sum(1 for param in params if type(param) is type(sentinel) and param == sentinel) != 1:
            raise RuntimeError(f"Unexpected parameters in the closures read: {params!r}")
    return sql, params


def _space_closures(*, space_id: int, starts_at: datetime, ends_at: datetime) -> list[tuple]:
    """(starts_at, ends_at, reason) of the closures that apply to the space and meet the window, soonest first."""
    sql, params = _space_closures_sql()
    values = {_WINDOW_SENTINELS[0]: starts_at, _WINDOW_SENTINELS[1]: ends_at}
    bound = [
        values[param]
        if isinstance(param, datetime)
        else space_id
        if type(param) is int and param == _SPACE_SENTINEL
        else param
        for param in params
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, bound)
        return cursor.fetchall()


def space_availability(
    *, space: Space, starts_at: datetime, ends_at: datetime, tz: ZoneInfo, viewer: Membership
) -> Availability:
    """Busy intervals (active reservations) and free intervals within opening hours, for a window ≤ 31 days.

    Free means a booking may start and end there: the buffers of the reservations around it and the space's
    own buffers for the new booking stay clear. Members see when others are busy, never who or why. An
    archived space has no free time.
    """
    [availability] = spaces_availability(spaces=[space], starts_at=starts_at, ends_at=ends_at, tz=tz, viewer=viewer)
    return availability


def spaces_availability(
    *, spaces: Sequence[Space], starts_at: datetime, ends_at: datetime, tz: ZoneInfo, viewer: Membership
) -> list[Availability]:
    """`space_availability` of each space, in order, in a fixed number of queries whatever their number: one
    for the busy rows of every space (the exclusion constraint's BlockedRange, as a booking checks it), one
    for the closures, and the opening hours (none when prefetched, as `space_list` does)."""
    _check_window(starts_at, ends_at, end_field="end")
    spaces = list(spaces)
    if not spaces:
        return []
    prefetch_related_objects(spaces, "opening_hours")
    if len(spaces) == 1:
        # The hot path (one space's calendar, polled by clients): the same two reads, compiled once per process.
        [space] = spaces
        before = timedelta(minutes=space.buffer_before_minutes)
        after = timedelta(minutes=space.buffer_after_minutes)
        with connection.cursor() as cursor:
            cursor.execute(
                *_space_busy_statement(
                    for_managers=viewer.is_manager, space_id=space.pk, window=(starts_at - before, ends_at + after)
                )
            )
            rows = cursor.fetchall()
        closures = [
            ClosedInterval(starts_at=closed_from, ends_at=closed_until, reason=reason)
            for closed_from, closed_until, reason in _space_closures(
                space_id=space.pk, starts_at=starts_at, ends_at=ends_at
            )
        ]
        return [
            _availability(
                space=space, rows=rows, closures=closures, starts_at=starts_at, ends_at=ends_at, tz=tz, viewer=viewer
            )
        ]
    columns = ["space_id", *_BUSY_COLUMNS, *(_BOOKER_COLUMNS if viewer.is_manager else [])]
    # The widest buffers of these spaces: a row only its narrower space's buffers would not reach is skipped
    # below like any other row whose blocked time lies outside the window.
    before = timedelta(minutes=max(space.buffer_before_minutes for space in spaces))
    after = timedelta(minutes=max(space.buffer_after_minutes for space in spaces))
    rows = (
        Reservation.objects.active()
        .alias(blocked=BlockedRange())
        .filter(space_id__in=[space.pk for space in spaces], blocked__overlap=(starts_at - before, ends_at + after))
        .order_by("starts_at", "id")
        .values_list(*columns)
    )
    rows_of: dict[int, list] = {space.pk: [] for space in spaces}
    for space_id, *row in rows:
        rows_of[space_id].append(row)
    closures = list(
        closure_list_overlapping(starts_at=starts_at, ends_at=ends_at)
        .annotate(space_ids=ArrayAgg("spaces__id", filter=Q(spaces__isnull=False), default=Value([])))
        .values_list("starts_at", "ends_at", "reason", "space_ids")
    )
    return [
        _availability(
            space=space,
            rows=rows_of[space.pk],
            closures=[
                ClosedInterval(starts_at=closed_from, ends_at=closed_until, reason=reason)
                for closed_from, closed_until, reason, space_ids in closures
                if not space_ids or space.pk in space_ids
            ],
            starts_at=starts_at,
            ends_at=ends_at,
            tz=tz,
            viewer=viewer,
        )
        for space in spaces
    ]


def _availability(
    *,
    space: Space,
    rows: list,
    closures: list[ClosedInterval],
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo,
    viewer: Membership,
) -> Availability:
    before = timedelta(minutes=space.buffer_before_minutes)
    after = timedelta(minutes=space.buffer_after_minutes)
    busy = []
    # A new booking [s, e) clashes with a blocked slot [b0, b1) when s - before < b1 and e + after > b0.
    kept_clear = []
    for reservation_id, busy_from, busy_to, status, user_id, title, held_before, held_after, *booker in rows:
        blocked_from = busy_from - timedelta(minutes=held_before)
        blocked_to = busy_to + timedelta(minutes=held_after)
        if blocked_to <= starts_at - before or blocked_from >= ends_at + after:
            continue  # fetched for a space with wider buffers; nothing of it reaches this space's window
        kept_clear.append((blocked_from - after, blocked_to + before))
        if busy_to <= starts_at or busy_from >= ends_at:
            continue  # only its buffers reach into the window
        mine = user_id == viewer.user_id
        visible = mine or viewer.is_manager
        busy.append(
            BusyInterval(
                starts_at=busy_from,
                ends_at=busy_to,
                status=status,
                mine=mine,
                reservation_id=reservation_id if visible else None,
                title=title if visible else None,
                user=User.from_db(DEFAULT_DB_ALIAS, _BOOKER_FIELDS, [user_id, *booker]) if booker else None,
            )
        )
    kept_clear += [(closure.starts_at, closure.ends_at) for closure in closures]
    hours = [WeeklyInterval(row.weekday, row.opens_at, row.closes_at) for row in space.opening_hours.all()]
    free = subtract(open_intervals(hours, starts_at, ends_at, tz), kept_clear) if space.is_active else []
    return Availability(
        space=space,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=tz.key,
        busy=busy,
        free=free,
        closures=closures,
    )


def space_amenities() -> list[str]:
    """The amenities of the active spaces, sorted: the choices of the spaces page's amenity filter."""
    tags = (
        Space.objects.filter(is_active=True)
        .annotate(tag=Func(F("amenities"), function="UNNEST", output_field=CharField()))
        .values_list("tag", flat=True)
        .distinct()
        .order_by("tag")
    )
    return list(tags)


def space_list_managed(*, now: datetime) -> QuerySet[Space]:
    """Every space, archived ones included, with its opening hours and the number of reservations still to
    come (pending or confirmed, not started yet): the owners' and admins' spaces page, in a fixed number of
    queries."""
    # A count per listed space from the index on (space, starts_at), not a join of every reservation ever
    # made grouped afterwards (200,000 rows at design size, on every page view).
    upcoming = (
        Reservation.objects.active()
        .filter(space_id=OuterRef("pk"), starts_at__gt=now)
        .order_by()
        .values("space_id")
        .annotate(count=Count("*"))
        .values("count")
    )
    return space_list().annotate(upcoming_count=Coalesce(Subquery(upcoming), 0)).order_by("-is_active", "name", "id")


def space_counts() -> dict[str, int]:
    """How many spaces are bookable and how many archived, in one query."""
    return Space.objects.aggregate(
        active=Count("pk", filter=Q(is_active=True)), archived=Count("pk", filter=Q(is_active=False))
    )


def space_reservations_breaking_rules(*, space: Space, tz: ZoneInfo, now: datetime) -> list[Reservation]:
    """The space's pending or confirmed reservations not ended yet that its current capacity or opening hours
    no longer allow (made before a change of the space), soonest first."""
    rows = [
        WeeklyInterval(weekday, opens_at, closes_at)
        for weekday, opens_at, closes_at in OpeningHours.objects.filter(space=space)
        .order_by("weekday", "opens_at")
        .values_list("weekday", "opens_at", "closes_at")
    ]
    upcoming = (
        Reservation.objects.active()
        .select_related("space", "user")
        .filter(space_id=space.pk, ends_at__gt=now)
        .order_by("starts_at", "id")
    )
    return [
        reservation
        for reservation in upcoming
        if reservation.attendees > space.capacity
        or uncovered_pieces(rows, local_pieces(reservation.starts_at, reservation.ends_at, tz))
    ]


@dataclass(frozen=True)
class ScheduleDay:
    """The schedule's rows for one local day: a page of spaces (opening hours prefetched) and, per space, its
    active reservations overlapping the day, as `space_availability` shows them to the viewer."""

    page: Page
    starts_at: datetime
    ends_at: datetime
    busy: dict[int, list[BusyInterval]]
    # Per space, the closures meeting the day (`closure_list_overlapping`, as the availability reads them).
    closures: dict[int, list[ClosedInterval]] = field(default_factory=dict)
    # Per space, where no new booking may start or end because of the bookings around it and their buffers
    # (each one's frozen buffers, widened by the space's own for the new booking), as `space_availability`
    # keeps its free time clear.
    kept_clear: dict[int, list[tuple[datetime, datetime]]] = field(default_factory=dict)


def space_locations() -> list[str]:
    """The distinct locations of the active spaces, sorted: the choices of the schedule's location filter."""
    return list(
        Space.objects.filter(is_active=True)
        .exclude(location="")
        .values_list("location", flat=True)
        .distinct()
        .order_by("location")
    )


def schedule_day(
    *,
    starts_at: datetime,
    ends_at: datetime,
    viewer: Membership,
    filters: Mapping[str, Any],
    location: str = "",
    page_number: int | str | None = 1,
    per_page: int = 50,
) -> ScheduleDay:
    """A page of active spaces, filtered like the spaces list (and by exact location), with their bookings
    in [starts_at, ends_at) and the closures meeting it: six queries whatever the number of spaces (count,
    spaces, opening hours, photos, one for the bookings of the whole page, with the exclusion constraint's range
    expression as in `space_availability`, and one for the closures, `closure_list_overlapping`)."""
    _check_window(starts_at, ends_at, end_field="date")
    spaces = space_list(filters=filters, photos=True)
    if location:
        spaces = spaces.filter(location=location)
    page = Paginator(spaces, per_page).get_page(page_number)
    spaces_of = {space.pk: space for space in page.object_list}
    space_ids = list(spaces_of)
    busy: dict[int, list[BusyInterval]] = {space_id: [] for space_id in space_ids}
    kept_clear: dict[int, list[tuple[datetime, datetime]]] = {space_id: [] for space_id in space_ids}
    if space_ids:
        # A new booking [s, e) of a space clashes with a blocked slot [b0, b1) when s - before < b1 and
        # e + after > b0: read what the widest buffers of the page's spaces can reach.
        widest_before = timedelta(minutes=max(space.buffer_before_minutes for space in spaces_of.values()))
        widest_after = timedelta(minutes=max(space.buffer_after_minutes for space in spaces_of.values()))
        sql = _SPACES_BUSY_FOR_MANAGERS_SQL if viewer.is_manager else _SPACES_BUSY_SQL
        with connection.cursor() as cursor:
            cursor.execute(sql, [space_ids, starts_at - widest_before, ends_at + widest_after])
            rows = cursor.fetchall()
        for space_id, *row in rows:
            space = spaces_of[space_id]
            busy_from, busy_to, held_before, held_after = row[1], row[2], row[6], row[7]
            kept_clear[space_id].append(
                (
                    busy_from - timedelta(minutes=held_before + space.buffer_after_minutes),
                    busy_to + timedelta(minutes=held_after + space.buffer_before_minutes),
                )
            )
            if busy_from < ends_at and starts_at < busy_to:
                busy[space_id].append(_busy_interval(row, viewer))
    closures: dict[int, list[ClosedInterval]] = {space_id: [] for space_id in space_ids}
    if space_ids:
        # One row per (closure, space it names); a closure of every space names none (NULL).
        rows = closure_list_overlapping(starts_at=starts_at, ends_at=ends_at).values_list(
            "spaces", "starts_at", "ends_at", "reason"
        )
        for space_id, closed_from, closed_until, reason in rows:
            closed = ClosedInterval(starts_at=closed_from, ends_at=closed_until, reason=reason)
            for target in space_ids if space_id is None else [space_id] if space_id in closures else []:
                closures[target].append(closed)
    return ScheduleDay(
        page=page, starts_at=starts_at, ends_at=ends_at, busy=busy, closures=closures, kept_clear=kept_clear
    )
