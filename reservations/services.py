"""The booking rules, in one place: creating, changing, cancelling and confirming reservations, the sweeps'
transitions (expiring, completing) and the emails they trigger (sent by workers, reservations.tasks).

Python checks come first and give a person a message about the field to correct. PostgreSQL has the last
word on overlaps (the exclusion constraint `reservations_no_overlap`): when two requests race for one slot,
the loser's insert fails with sqlstate 23P01 and is answered with the same 409 as the friendly check.

Writers of a space's slots take the space row FOR NO KEY UPDATE first (`_space_for_booking`), so they take
turns per space. Without that, PostgreSQL's exclusion check deadlocks racing inserts: each inserts its index
entry, then finds the other's uncommitted row and waits for that transaction to end (seen in the server log
as two INSERTs each waiting "for ShareLock on transaction" of the other, "while checking exclusion
constraint"). Taking turns, the loser meets the winner's committed row and fails at once with the 409.
"""

import logging
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import Membership, User
from equipment.services import (
    EquipmentRequest,
    EquipmentUnavailable,
    equipment_allocations_write,
    equipment_check_free,
    equipment_lock,
)
from reservations import notifications
from reservations.models import NO_OVERLAP_CONSTRAINT, Reservation, Series, ShiftedByMinutes, WaitlistEntry
from reservations.pricing import EquipmentChoice, Price, booking_price
from reservations.recurrence import recurrence_expand, recurrence_normalize
from reservations.selectors import reservation_overlapping
from spacemanager import rawsql
from spacemanager.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from spacemanager.mail import send_once
from spaces.availability_cache import availability_versions_bump
from spaces.hours import WEEKDAY_NAMES, WeeklyInterval, describe_day, isoformat_local, local_pieces, uncovered_pieces
from spaces.localtime import day_window, wall_to_instant
from spaces.models import OpeningHours, Space
from spaces.selectors import closure_list_overlapping
from tenants.idempotency import OnceKey, keys_done
from tenants.outbox import outbox_write
from tenants.selectors import organization_current

logger = logging.getLogger(__name__)
Event = Literal["created", "confirmed", "changed", "cancelled", "expired", "declined", "no_show"]
EXCLUSION_VIOLATION = "23P01"
_INSTANT = timedelta(microseconds=1)
DECLINE_REASON_MAX_LENGTH = 1000
CHANGEABLE_FIELDS = ("space_id", "starts_at", "ends_at", "title", "notes", "attendees", "equipment")


class ReservationConflict(Conflict):
    """The slot is taken: `extra["conflicts"]` lists the clashing intervals in the organization's time."""

    code = "reservation_conflict"


def _after_commit(reservation: Reservation, event: Event, *, webhooks_subscribed: bool | None = None) -> None:
    """Tell the booker, by email from a worker once the change has committed (never inside the request).

    The notice is written to the outbox in the change's own transaction (tenants/outbox.py): it exists if
    and only if the change commits, and the request never talks to the broker. The task carries the
    reservation's `sequence`: the email of each version is sent once, and one whose reservation has changed
    again before it ran gives way to the newer one's. `webhooks_subscribed`: whether any endpoint wants the
    event, when the change has read it already (a new booking does, with its rules).
    """
    from integrations.events import reservation_changed
    from reservations import tasks  # tasks call the services below

    reservation_changed(reservation, event, subscribed=webhooks_subscribed)  # webhooks: recorded now, sent after commit
    outbox_write(tasks.reservation_notice_send, reservation.pk, event, reservation.sequence)
    if reservation.status == Reservation.Status.PENDING:  # a new or changed request: tell its approvers
        outbox_write(tasks.approval_request_send, reservation.pk, reservation.sequence)
    # Last write of the transaction (see spaces.availability_cache for why last): cached answers expire.
    availability_versions_bump([reservation.space_id])


def _timezone(actor: Membership) -> ZoneInfo:
    return ZoneInfo(actor.organization.timezone)


def _space_for_booking(space_id: int | None) -> Space:
    """The space, locked until commit: writers of one space's slots take turns (see the module's docstring for
    the deadlock this prevents), and archiving or editing the space waits for them, so no booking slips into
    a space being archived. FOR NO KEY UPDATE still lets other spaces' inserts check their foreign key."""
    with connection.cursor() as cursor:
        cursor.execute(_space_for_booking_sql(), [space_id])
        row = cursor.fetchone()
    space = None if row is None else rawsql.build(Space, row)
    if space is None:
        raise ValidationFailed("No such space here.", field="space", code="unknown_space")
    return space


@cache
def _space_for_booking_sql() -> str:
    return f'SELECT {rawsql.columns(Space, "s")} FROM "{Space._meta.db_table}" s WHERE s."id" = %s FOR NO KEY UPDATE'  # noqa: S608


def booking_window(*, space: Space, now: datetime) -> tuple[datetime, datetime]:
    """When a booking of `space` may start: not in the past, at most `max_days_ahead` days ahead. The rules
    below and the calendar's offered slots both read it."""
    return now, now + timedelta(days=space.max_days_ahead)


def check_space_rules(*, space: Space, starts_at: datetime, ends_at: datetime, attendees: int, now: datetime) -> None:
    """The rules of `_check_rules` that read only the space's own settings (no query): archived, the interval's
    shape, the durations, the advance window, the attendees. The free-space search runs this very check on
    its candidates (spaces.selectors.space_list_available), so it offers only what booking accepts."""
    if not space.is_active:
        raise ValidationFailed("This space is archived and can no longer be booked.", field="space", code="inactive")
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if timezone.is_naive(value):
            raise ValidationFailed("Give the time with its UTC offset, e.g. +01:00 or Z.", field=field, code="naive")
    if ends_at <= starts_at:
        raise ValidationFailed("The end must be after the start.", field="ends_at", code="ends_before_start")
    earliest, latest = booking_window(space=space, now=now)
    if starts_at < earliest:
        raise ValidationFailed("This start time is in the past.", field="starts_at", code="in_the_past")
    duration = ends_at - starts_at
    if duration < timedelta(minutes=space.min_duration_minutes):
        raise ValidationFailed(
            f"{space.name} is booked for at least {_minutes(space.min_duration_minutes)}.",
            field="ends_at",
            code="too_short",
        )
    if duration > timedelta(minutes=space.max_duration_minutes):
        raise ValidationFailed(
            f"{space.name} is booked for at most {_minutes(space.max_duration_minutes)}.",
            field="ends_at",
            code="too_long",
        )
    if starts_at > latest:
        raise ValidationFailed(
            f"{space.name} can be booked at most {space.max_days_ahead} days ahead.",
            field="starts_at",
            code="too_far_ahead",
        )
    if attendees < 1:
        raise ValidationFailed("At least one person attends.", field="attendees", code="min_value")
    if attendees > space.capacity:
        raise ValidationFailed(
            f"{space.name} holds at most {space.capacity} people.", field="attendees", code="over_capacity"
        )


def _check_rules(
    *,
    space: Space,
    starts_at: datetime,
    ends_at: datetime,
    attendees: int,
    tz: ZoneInfo,
    now: datetime,
    lock_member: int | None = None,
) -> bool:
    """Every rule but the limits. `lock_member`: take that member's lock (`_lock_member_bookings`) in the same
    round trip as the reads, for the limits checked next. Answers whether any webhook endpoint wants
    `reservation.created`, read in that round trip too, so that a new booking needs no read of its own."""
    check_space_rules(space=space, starts_at=starts_at, ends_at=ends_at, attendees=attendees, now=now)
    rows, closure, created_webhooks_subscribed = _hours_and_first_closure(
        space_id=space.pk, starts_at=starts_at, ends_at=ends_at, lock_member=lock_member
    )
    outside = uncovered_pieces(rows, _pieces_in_opening_hours(space, starts_at, ends_at, tz))
    if outside:
        raise ValidationFailed(
            f"Outside the opening hours of {space.name} ({describe_day(rows, outside[0].weekday)}, {tz.key} time).",
            field="ends_at"
            if not uncovered_pieces(rows, local_pieces(starts_at, starts_at + _INSTANT, tz))
            else "starts_at",
            code="closed",
        )
    _check_closures(space=space, closure=closure, tz=tz)
    return created_webhooks_subscribed


def _opening_hours(space_id: int) -> list[WeeklyInterval]:
    with connection.cursor() as cursor:  # fixed SQL: the ORM's compiler cost more than the query
        cursor.execute(
            "SELECT weekday, opens_at, closes_at FROM spaces_openinghours WHERE space_id = %s"
            " ORDER BY weekday, opens_at",
            [space_id],
        )
        return [WeeklyInterval(weekday, opens_at, closes_at) for weekday, opens_at, closes_at in cursor.fetchall()]


@dataclass(frozen=True)
class _Closure:
    pk: int
    starts_at: datetime
    ends_at: datetime
    reason: str


_SPACE_SENTINEL = -7  # stand for the space and the interval in the statement compiled below
_WINDOW_SENTINELS = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC))
_MEMBER_SENTINEL = object()  # stands for the member's lock key


@cache
def _hours_and_first_closure_sql(*, lock_member: bool) -> tuple[str, tuple]:
    """The rules' two reads of the locked space in one round trip: its opening hours (as `_opening_hours`; id
    orders ties, so the three arrays pair up) and the first closure that applies to it and meets the interval;
    with `lock_member`, the member's lock too (its key is the first parameter); and whether any webhook
    endpoint wants `reservation.created` (integrations' own read, in an EXISTS). The closure read is
    `closure_list_overlapping`, compiled once per process (building its two EXISTS cost more CPU than anything
    else in a booking, measured): the SQL and its parameters, with the sentinels.

    The space is locked before this statement starts, so its snapshot is no older than the reads made one by
    one after the lock were; the member's lock may then wait here, but nobody changes the space's hours or
    closures meanwhile without waiting for our lock on the space."""
    from integrations.events import reservation_event_type
    from integrations.services import subscribed_endpoints_sql

    starts_at, ends_at = _WINDOW_SENTINELS
    closures = closure_list_overlapping(starts_at=starts_at, ends_at=ends_at, space_id=_SPACE_SENTINEL)
    closure_sql, params = closures.values_list("id", "starts_at", "ends_at", "reason")[:1].query.sql_with_params()
    for sentinel in (starts_at, ends_at, _SPACE_SENTINEL):
        if sum(1 for param in params if type(param) is type(sentinel) and param == sentinel) != 1:
            raise RuntimeError(f"Unexpected parameters in the closures read: {params!r}")
    table = OpeningHours._meta.db_table
    hours = [
        f'ARRAY(SELECT h."{column}" FROM "{table}" h WHERE h."space_id" = %s'  # noqa: S608
        ' ORDER BY h."weekday", h."opens_at", h."id")'
        for column in ("weekday", "opens_at", "closes_at")
    ]
    lock = "pg_advisory_xact_lock(hashtextextended(%s, 0)), " if lock_member else ""
    webhooks = f"EXISTS({subscribed_endpoints_sql()})"
    sql = (
        f"SELECT {lock}{', '.join(hours)}, {webhooks}, c.* "  # noqa: S608
        f"FROM (SELECT 1) one LEFT JOIN LATERAL ({closure_sql}) c ON TRUE"
    )
    return sql, (
        *(_MEMBER_SENTINEL,) * lock_member,
        *(_SPACE_SENTINEL,) * len(hours),
        reservation_event_type("created"),
        *params,
    )


def _hours_and_first_closure(
    *, space_id: int, starts_at: datetime, ends_at: datetime, lock_member: int | None = None
) -> tuple[list[WeeklyInterval], _Closure | None, bool]:
    sql, params = _hours_and_first_closure_sql(lock_member=lock_member is not None)
    window = {_WINDOW_SENTINELS[0]: starts_at, _WINDOW_SENTINELS[1]: ends_at}
    bound = [
        window[param]
        if isinstance(param, datetime)
        else space_id
        if type(param) is int and param == _SPACE_SENTINEL
        else _member_lock_key(lock_member)
        if param is _MEMBER_SENTINEL
        else param
        for param in params
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, bound)
        row = cursor.fetchone()
    weekdays, opens, closes, created_webhooks_subscribed, *closure = row[1:] if lock_member is not None else row
    rows = [
        WeeklyInterval(weekday, opens_at, closes_at)
        for weekday, opens_at, closes_at in zip(weekdays, opens, closes, strict=True)
    ]
    return rows, None if closure[0] is None else _Closure(*closure), created_webhooks_subscribed


def space_allows_multi_day(space: Space) -> bool:
    """A space takes bookings over several days when its longest booking is longer than a day: the max
    duration already says how long one booking may hold it, so there is no second setting to keep in step."""
    return space.max_duration_minutes > 24 * 60


def _pieces_in_opening_hours(space: Space, starts_at: datetime, ends_at: datetime, tz: ZoneInfo):
    """The local pieces of the interval that must fall in opening hours: all of it, or for a multi-day booking
    of a space that allows them, its first and last moments (the booker keeps the space overnight, as when a
    studio or an office is rented for a week; closures still refuse it)."""
    first_day = starts_at.astimezone(tz).date()
    last_day = (ends_at - _INSTANT).astimezone(tz).date()
    if first_day == last_day or not space_allows_multi_day(space):
        return local_pieces(starts_at, ends_at, tz)
    return [*local_pieces(starts_at, starts_at + _INSTANT, tz), *local_pieces(ends_at - _INSTANT, ends_at, tz)]


def whole_day_interval(
    *, space: Space, first_day: date, last_day: date | None = None, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """What "whole day" means: from the space's first opening on `first_day` to its last closing on `last_day`
    (the same day by default), in the organization's time zone. A space without opening hours is open around
    the clock: local midnight to midnight (23 or 25 hours on the days clocks change). Several days need a
    space that allows multi-day bookings. The booking rules then check the interval as any other."""
    last_day = last_day or first_day
    if last_day < first_day:
        raise ValidationFailed(
            "The last day must be on or after the first.", field="end_date", code="ends_before_start"
        )
    if last_day != first_day and not space_allows_multi_day(space):
        raise ValidationFailed(
            f"{space.name} is booked one day at a time "
            f"(its longest booking is {_minutes(space.max_duration_minutes)}).",
            field="end_date",
            code="single_day_only",
        )
    rows = _opening_hours(space.pk)
    if not rows:
        return day_window(first_day, tz)[0], day_window(last_day, tz)[1]
    first = [row for row in rows if row.weekday == first_day.weekday()]
    last = [row for row in rows if row.weekday == last_day.weekday()]
    for day, day_rows in ((first_day, first), (last_day, last)):
        if not day_rows:
            raise ValidationFailed(
                f"{space.name} is closed on {WEEKDAY_NAMES[day.weekday()]}s ({day:%d %b %Y}).",
                field="date" if day == first_day else "end_date",
                code="closed",
            )
    starts_at = wall_to_instant(first_day, min(row.opens for row in first), tz)
    ends_at = wall_to_instant(last_day, max(row.closes for row in last), tz)
    if starts_at is None or ends_at is None:
        raise ValidationFailed(
            f"The opening time of {space.name} does not exist that day in {tz.key}: the clocks skip it.",
            field="date",
            code="no_such_time",
        )
    return starts_at, ends_at


def _check_edit_in_place(*, space: Space, attendees: int, attendees_changed: bool) -> None:
    """The rules an edit that keeps the space and times can touch. The time rules (hours, closures, window,
    durations, limits) held when it was booked and its time has not changed, so they are not asked again."""
    if not space.is_active:
        raise ValidationFailed("This space is archived and can no longer be booked.", field="space", code="inactive")
    if not attendees_changed:
        return
    if attendees < 1:
        raise ValidationFailed("At least one person attends.", field="attendees", code="min_value")
    if attendees > space.capacity:
        raise ValidationFailed(
            f"{space.name} holds at most {space.capacity} people.", field="attendees", code="over_capacity"
        )


def _check_closures(*, space: Space, closure: _Closure | None, tz: ZoneInfo) -> None:
    """Refuse a booking that meets a closure of the space (or of every space), naming its reason."""
    if closure is None:
        return
    raise ValidationFailed(
        f"{space.name} is closed from {isoformat_local(closure.starts_at, tz)} to "
        f"{isoformat_local(closure.ends_at, tz)}: {closure.reason}.",
        field="starts_at",
        code="closed",
        extra={"closure": {"id": closure.pk, "reason": closure.reason}},
    )


class QuotaExceeded(ValidationFailed):
    """A booking limit per member is reached: `extra` names the limit, what it allows and the member's use."""

    code = "quota_exceeded"


def _member_lock_key(user_id: int) -> str:
    return f"booking-limits:{connection.schema_name}:{user_id}"


def _lock_member_bookings(user_id: int) -> None:
    """Serialize one member's bookings in this organization until commit (a transaction-level advisory lock),
    so that two racing requests of one member cannot both pass a limit. Taken after the space's lock, always
    (a new booking takes it with the rules' reads: `_hours_and_first_closure`)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [_member_lock_key(user_id)])


def _member_limits(*, actor: Membership, space: Space) -> tuple[int | None, int | None] | None:
    """(most upcoming bookings, most hours a week) per member for `space`, or None: owners and admins are
    exempt, and a space and organization without limits have none."""
    if actor.is_manager:
        return None
    organization = actor.organization
    max_upcoming = space.max_upcoming_per_member or organization.default_max_upcoming_per_member
    max_hours = space.max_hours_per_week_per_member or organization.default_max_hours_per_week_per_member
    return (max_upcoming, max_hours) if max_upcoming or max_hours else None


def _member_use(
    *, user_id: int, space_id: int, now: datetime, week: tuple[datetime, datetime], exclude_id: int | None
) -> tuple[int, timedelta]:
    """The member's active bookings of the space not ended at `now`, and the time they booked starting in
    `week`, in one read: both limits at once."""
    sql = (
        'SELECT count(*) FILTER (WHERE "ends_at" > %s),'
        ' coalesce(sum("ends_at" - "starts_at") FILTER (WHERE "starts_at" >= %s AND "starts_at" < %s), interval \'0\')'
        ' FROM "reservations_reservation" WHERE "user_id" = %s AND "space_id" = %s AND "status" = ANY(%s)'
    )
    params = [now, *week, user_id, space_id, list(Reservation.ACTIVE_STATUSES)]
    if exclude_id is not None:
        sql += ' AND "id" <> %s'
        params.append(exclude_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        held, booked = cursor.fetchone()
    return held, booked


def _check_limits(
    *,
    actor: Membership,
    user_id: int,
    space: Space,
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo,
    now: datetime,
    exclude_id: int | None = None,
    locked: bool = False,
) -> None:
    """The space's booking limits per member (or the organization's defaults): bookings not ended yet, and
    booked hours in the local week (Monday to Sunday) the booking starts in. Owners and admins are exempt.
    `locked`: the member's lock is held already."""
    limits = _member_limits(actor=actor, space=space)
    if limits is None:
        return
    max_upcoming, max_hours = limits
    if not locked:
        _lock_member_bookings(user_id)
    local_day = starts_at.astimezone(tz).date()
    monday = local_day - timedelta(days=local_day.weekday())
    week_starts = datetime.combine(monday, datetime.min.time(), tzinfo=tz)
    week_ends = datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=tz)
    held, booked = _member_use(
        user_id=user_id, space_id=space.pk, now=now, week=(week_starts, week_ends), exclude_id=exclude_id
    )
    if max_upcoming and held >= max_upcoming:
        raise QuotaExceeded(
            f"You already hold {held} upcoming booking{'s' if held != 1 else ''} of {space.name}, the most "
            f"one member may hold. Cancel one or wait until one has ended.",
            extra={"limit": "max_upcoming_per_member", "allowed": max_upcoming, "used": held},
        )
    if max_hours and booked + (ends_at - starts_at) > timedelta(hours=max_hours):
        used = round(booked.total_seconds() / 3600, 2)
        raise QuotaExceeded(
            f"One member may book {space.name} for at most {max_hours} h in a week; you have {used:g} h "
            f"booked in the week of {monday:%d %b %Y}, and this booking would go over.",
            extra={"limit": "max_hours_per_week_per_member", "allowed": max_hours, "used": used},
        )


def _minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def _price(
    space: Space, starts_at: datetime, ends_at: datetime, tz: ZoneInfo, equipment: list[EquipmentChoice]
) -> Price:
    """The booking's price lines and total (reservations.pricing: one function for bookings, quotes, invoices)."""
    return booking_price(space=space, starts_at=starts_at, ends_at=ends_at, tz=tz, equipment=equipment)


def _equipment_take(
    *,
    reservation: Reservation,
    space: Space,
    equipment: list[EquipmentChoice],
    tz: ZoneInfo,
    exclude_id: int | None,
) -> Price:
    """Check the locked items are free for the reservation's time, and freeze its price on it (the caller saves
    it, then writes the allocations with `equipment_allocations_write`)."""
    equipment_check_free(
        choices=equipment,
        starts_at=reservation.starts_at,
        ends_at=reservation.ends_at,
        tz=tz,
        exclude_reservation_id=exclude_id,
    )
    price = _price(space, reservation.starts_at, reservation.ends_at, tz, equipment)
    reservation.price = price.total
    reservation.space_price_lines = [line.as_dict() for line in price.space_lines]
    return price


def _freeze_buffers(reservation: Reservation, space: Space) -> None:
    """Copy the space's current buffers onto the reservation: they hold for it until it is moved."""
    reservation.buffer_before_minutes = space.buffer_before_minutes
    reservation.buffer_after_minutes = space.buffer_after_minutes


def _conflict(*, reservation: Reservation, exclude_id: int | None, tz: ZoneInfo) -> ReservationConflict:
    clashes = list(
        reservation_overlapping(
            space_id=reservation.space_id,
            starts_at=reservation.starts_at,
            ends_at=reservation.ends_at,
            exclude_id=exclude_id,
            buffer_before_minutes=reservation.buffer_before_minutes,
            buffer_after_minutes=reservation.buffer_after_minutes,
        ).values_list("starts_at", "ends_at")
    )
    intervals = [
        {"starts_at": isoformat_local(start, tz), "ends_at": isoformat_local(end, tz)} for start, end in clashes
    ]
    detail = "This space is already booked at that time"
    if reservation.buffer_before_minutes or reservation.buffer_after_minutes:
        detail += " (with its setup and cleanup time)"
    if intervals:
        detail += ": " + ", ".join(f"{i['starts_at']} to {i['ends_at']}" for i in intervals)
    return ReservationConflict(detail + ".", extra={"conflicts": intervals})


def _is_overlap_violation(error: IntegrityError) -> bool:
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) == EXCLUSION_VIOLATION and (
        getattr(getattr(cause, "diag", None), "constraint_name", None) in (None, NO_OVERLAP_CONSTRAINT)
    )


def _save_or_conflict(reservation: Reservation, *, tz: ZoneInfo, exclude_id: int | None) -> None:
    """Write, and answer an overlap with a 409 naming the clashes. The exclusion constraint is the overlap
    check, for sequential and racing requests alike: no separate query before the write. The caller holds the
    space (`_space_for_booking`), so a racing writer of the same space has committed or rolled back by now.

    A new booking is one INSERT … ON CONFLICT DO NOTHING: the constraint turns an overlap away without an
    error, so no savepoint is needed around it (two round trips less). Should nothing be found to clash with
    (no other constraint can turn the row away today), the write is tried again as below, which says why."""
    if reservation.pk is None:
        if rawsql.insert(reservation, on_conflict="DO NOTHING"):
            return
        conflict = _conflict(reservation=reservation, exclude_id=exclude_id, tz=tz)
        if conflict.extra["conflicts"]:
            raise conflict
    try:
        with transaction.atomic():
            reservation.save()
    except IntegrityError as exc:
        if not _is_overlap_violation(exc):
            raise
        raise _conflict(reservation=reservation, exclude_id=exclude_id, tz=tz) from exc


def _booker_for(actor: Membership, user_id: int | None) -> User:
    """The person a booking is for: the actor, or a member of the actor's organization when an owner or admin
    books on their behalf. A member naming anyone else is refused (403)."""
    if user_id is None or user_id == actor.user_id:
        return actor.user
    if not actor.is_manager:
        raise PermissionDenied("Only owners and admins can book for someone else.")
    member = (
        Membership.objects.select_related("user")
        .filter(organization_id=actor.organization_id, user_id=user_id, user__is_active=True)
        .first()
    )
    if member is None:
        raise ValidationFailed("Choose a member of this organization.", field="user", code="not_a_member")
    return member.user


@transaction.atomic
def reservation_create(
    *,
    actor: Membership,
    space_id: int,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    title: str = "",
    notes: str = "",
    attendees: int = 1,
    user_id: int | None = None,
    equipment: list[EquipmentRequest] | None = None,
    all_day: date | None = None,
    all_day_until: date | None = None,
) -> Reservation:
    """Book a space for the actor, or (owners and admins) for the member `user_id`: confirmed at once, or
    pending when the space requires approval. The booker is that member (their emails, their reservations);
    `created_by` records the actor when they book for someone else. `equipment` items come along (409
    `equipment_unavailable` when too few are free).

    `all_day` (a local date, instead of `starts_at`/`ends_at`) books that day's opening hours, up to the
    closing of `all_day_until` for a multi-day booking (`whole_day_interval`)."""
    reservation = _create(
        actor=actor,
        space_id=space_id,
        starts_at=starts_at,
        ends_at=ends_at,
        title=title,
        notes=notes,
        attendees=attendees,
        user_id=user_id,
        equipment=equipment or [],
        all_day=all_day,
        all_day_until=all_day_until,
    )
    _after_commit(reservation, "created", webhooks_subscribed=reservation.created_webhooks_subscribed)
    return reservation


def _create(
    *,
    actor: Membership,
    space_id: int,
    user_id: int | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    all_day: date | None = None,
    all_day_until: date | None = None,
    **booking,
) -> Reservation:
    tz = _timezone(actor)
    booker = _booker_for(actor, user_id)
    space = _space_for_booking(space_id)
    if all_day is not None:
        starts_at, ends_at = whole_day_interval(space=space, first_day=all_day, last_day=all_day_until, tz=tz)
    elif starts_at is None or ends_at is None:
        raise ValidationFailed(
            "Give the start and the end, or a whole day.",
            field="ends_at" if starts_at else "starts_at",
            code="required",
        )
    try:
        return _book(
            actor=actor,
            space=space,
            starts_at=starts_at,
            ends_at=ends_at,
            tz=tz,
            now=timezone.now(),
            booker=booker,
            **booking,
        )
    except ValidationFailed as error:
        if all_day is not None and error.field in ("starts_at", "ends_at"):
            error.field = "date"  # a whole day's times were not given: the day is what to correct
        raise


def reservation_quote(
    *,
    actor: Membership,
    space_id: int,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    title: str = "",
    notes: str = "",
    attendees: int = 1,
    user_id: int | None = None,
    equipment: list[EquipmentRequest] | None = None,
    all_day: date | None = None,
    all_day_until: date | None = None,
) -> Price:
    """What reservation_create would charge, booking nothing: the very same path (every rule, the limits, the
    exclusion constraint, the equipment's locks and counts) runs inside a transaction that is rolled back, so a
    quote is refused for exactly the reasons a booking would be."""
    try:
        with transaction.atomic():
            reservation = _create(
                actor=actor,
                space_id=space_id,
                starts_at=starts_at,
                ends_at=ends_at,
                title=title,
                notes=notes,
                attendees=attendees,
                user_id=user_id,
                equipment=equipment or [],
                all_day=all_day,
                all_day_until=all_day_until,
            )
            raise _DryRun(reservation.quoted)
    except _DryRun as dry_run:
        return dry_run.result


def _book(
    *,
    actor: Membership,
    space: Space,
    starts_at: datetime,
    ends_at: datetime,
    title: str,
    notes: str,
    attendees: int,
    tz: ZoneInfo,
    now: datetime,
    series: Series | None = None,
    booker: User | None = None,
    equipment: list[EquipmentRequest] | None = None,
) -> Reservation:
    """Check every rule and write one booking of the (locked) space for `booker` (the actor by default), with
    its equipment; the caller tells the booker. The booker's bookings count against the limits."""
    booker = booker or actor.user
    limited = _member_limits(actor=actor, space=space) is not None
    created_webhooks_subscribed = _check_rules(
        space=space,
        starts_at=starts_at,
        ends_at=ends_at,
        attendees=attendees,
        tz=tz,
        now=now,
        lock_member=booker.pk if limited else None,
    )
    _check_limits(
        actor=actor,
        user_id=booker.pk,
        space=space,
        starts_at=starts_at,
        ends_at=ends_at,
        tz=tz,
        now=now,
        locked=limited,
    )
    choices = equipment_lock(equipment or [])  # after the space and the member's lock, always
    reservation = Reservation(
        space=space,
        user=booker,
        created_by=actor.user if booker.pk != actor.user_id else None,
        title=title.strip(),
        notes=notes,
        attendees=attendees,
        starts_at=starts_at,
        ends_at=ends_at,
        status=Reservation.Status.PENDING if space.requires_approval else Reservation.Status.CONFIRMED,
        series=series,
        series_starts_at=starts_at if series is not None else None,
    )
    price = _equipment_take(reservation=reservation, space=space, equipment=choices, tz=tz, exclude_id=None)
    _freeze_buffers(reservation, space)
    reservation.full_clean(exclude=["space", "user", "series", "created_by"], validate_constraints=False)
    _save_or_conflict(reservation, tz=tz, exclude_id=None)
    reservation.quoted = price  # what it was priced at (reservation_quote answers with it)
    reservation.created_webhooks_subscribed = created_webhooks_subscribed  # read with the rules, for _after_commit
    _allocations_set(reservation, equipment_allocations_write(reservation=reservation, choices=choices, price=price))
    return reservation


def _allocations_set(reservation: Reservation, allocations: list) -> None:
    """The reservation's allocations as just written, cached as prefetch_related would: its API representation
    (and the webhook's) reads them without a query."""
    written = reservation.equipment_allocations.all()
    written._result_cache = allocations
    written._prefetch_done = True
    reservation._prefetched_objects_cache = {
        **getattr(reservation, "_prefetched_objects_cache", {}),
        "equipment_allocations": written,
    }


def _require_access(actor: Membership, reservation: Reservation) -> None:
    if not (actor.is_manager or reservation.user_id == actor.user_id):
        raise NotFound("No such reservation here.")


def _locked(reservation: Reservation) -> Reservation:
    return Reservation.objects.select_for_update(of=("self",)).select_related("space").get(pk=reservation.pk)


@transaction.atomic
def reservation_update(*, actor: Membership, reservation: Reservation, **changes) -> Reservation:
    """Change a pending or confirmed reservation. A move (times or space) must pass every rule a new booking
    passes; other edits (title, notes, attendees) are checked only against the rules they touch, so a booking
    that was valid when made stays editable after the space's hours, closures or limits have changed.

    Moving a reservation on a space that requires approval makes it pending again, unless an owner or admin
    moves it. A move re-prices it at the space's current rate and buffers; other edits keep both.
    """
    unknown = set(changes) - set(CHANGEABLE_FIELDS)
    if unknown:
        raise ValidationFailed(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    _require_access(actor, reservation)
    tz = _timezone(actor)
    new_space_id = changes.get("space_id", reservation.space_id)
    # Lock order matches booking and archiving (spaces, then the reservation), so they never deadlock.
    spaces = {space_id: _space_for_booking(space_id) for space_id in sorted({reservation.space_id, new_space_id})}
    reservation = _locked(reservation)
    if not reservation.is_active:
        raise Conflict(
            f"This reservation is {reservation.status}; only pending or confirmed ones can be changed.",
            code="reservation_not_active",
            # The same shape as a clash (409 with `conflicts`), so a client reads one shape from a change.
            extra={"conflicts": []},
        )
    before = Reservation(
        space_id=reservation.space_id,
        starts_at=reservation.starts_at,
        ends_at=reservation.ends_at,
        buffer_before_minutes=reservation.buffer_before_minutes,
        buffer_after_minutes=reservation.buffer_after_minutes,
    )
    reservation = _change(actor=actor, reservation=reservation, space=spaces[new_space_id], changes=changes, tz=tz)
    availability_versions_bump(space_id for space_id in spaces if space_id != new_space_id)  # moved away
    _after_commit(reservation, "changed")
    # Time it no longer holds (moved away, or shortened) goes to the waitlist; a slot it still holds is taken.
    _waitlist_fill(space=spaces[before.space_id], freed=[before], now=timezone.now())
    return reservation


def _change(*, actor: Membership, reservation: Reservation, space: Space, changes: dict, tz: ZoneInfo) -> Reservation:
    """Apply `changes` to the locked, active reservation (moving it to the locked `space`), check the rules they
    touch and write it; the caller tells the booker."""
    equipment = changes.pop("equipment", None)
    moved = any(
        key in changes and changes[key] != getattr(reservation, key) for key in ("space_id", "starts_at", "ends_at")
    )
    for key, value in changes.items():
        setattr(reservation, key, value.strip() if key == "title" else value)
    reservation.space = space
    now = timezone.now()
    if moved:
        _check_rules(
            space=space,
            starts_at=reservation.starts_at,
            ends_at=reservation.ends_at,
            attendees=reservation.attendees,
            tz=tz,
            now=now,
        )
        _check_limits(
            actor=actor,
            user_id=reservation.user_id,
            space=space,
            starts_at=reservation.starts_at,
            ends_at=reservation.ends_at,
            tz=tz,
            now=now,
            exclude_id=reservation.pk,
        )
    else:
        _check_edit_in_place(space=space, attendees=reservation.attendees, attendees_changed="attendees" in changes)
    choices = price = None
    if moved or equipment is not None:  # its items are checked again for the new time, and it is re-priced
        if equipment is None:
            equipment = [EquipmentRequest(a.item_id, a.quantity) for a in reservation.equipment_allocations.all()]
        choices = equipment_lock(equipment)
        price = _equipment_take(
            reservation=reservation, space=space, equipment=choices, tz=tz, exclude_id=reservation.pk
        )
    if moved:
        reservation.reminder_sent_at = None  # a reminder is for the time it named
        _freeze_buffers(reservation, space)
        if space.requires_approval and not actor.is_manager:
            reservation.status = Reservation.Status.PENDING
    reservation.sequence += 1
    reservation.full_clean(exclude=["space", "user", "series"], validate_constraints=False)
    _save_or_conflict(reservation, tz=tz, exclude_id=reservation.pk)
    if choices is not None:
        allocations = equipment_allocations_write(reservation=reservation, choices=choices, price=price, replace=True)
        _allocations_set(reservation, allocations)
    return reservation


@transaction.atomic
def reservation_cancel(*, actor: Membership, reservation: Reservation) -> Reservation:
    """Cancel: the row stays (status cancelled) and the slot is free again. Cancelling twice is harmless."""
    _require_access(actor, reservation)
    # The space first, as booking does: the freed slot is offered to the waitlist in this transaction.
    space = _space_for_booking(reservation.space_id)
    reservation = _locked(reservation)
    if reservation.status == Reservation.Status.CANCELLED:
        return reservation
    if not reservation.is_active:
        raise Conflict(
            f"This reservation is {reservation.status} and can no longer be cancelled.", code="reservation_not_active"
        )
    reservation.status = Reservation.Status.CANCELLED
    reservation.cancelled_at = timezone.now()
    reservation.sequence += 1
    reservation.save(update_fields=["status", "cancelled_at", "sequence", "updated_at"])
    _after_commit(reservation, "cancelled")
    _waitlist_fill(space=space, freed=[reservation], now=reservation.cancelled_at)
    return reservation


@transaction.atomic
def reservation_confirm(*, actor: Membership, reservation: Reservation) -> Reservation:
    """Approve a pending reservation (owners and admins). Confirming a confirmed one changes nothing."""
    if not actor.is_manager:
        raise PermissionDenied("Only owners and admins confirm reservations.")
    # The space first, as booking does: confirming writes the row again, and its exclusion check would
    # otherwise wait on a racing booking's row while that booking waits on this one.
    _space_for_booking(reservation.space_id)
    reservation = _locked(reservation)
    if reservation.status == Reservation.Status.CONFIRMED:
        return reservation
    if reservation.status != Reservation.Status.PENDING:
        raise Conflict(
            f"This reservation is {reservation.status}; only pending ones can be confirmed.",
            code="reservation_not_pending",
        )
    reservation.status = Reservation.Status.CONFIRMED
    reservation.sequence += 1
    reservation.save(update_fields=["status", "sequence", "updated_at"])
    _after_commit(reservation, "confirmed")
    return reservation


@transaction.atomic
def reservation_decline(*, actor: Membership, reservation: Reservation, reason: str = "") -> Reservation:
    """Refuse a pending request (owners and admins), freeing its slot; the booker is told why. Declining a
    declined one changes nothing."""
    if not actor.is_manager:
        raise PermissionDenied("Only owners and admins decline reservations.")
    reason = reason.strip()
    if len(reason) > DECLINE_REASON_MAX_LENGTH:
        raise ValidationFailed(f"Keep the reason under {DECLINE_REASON_MAX_LENGTH} characters.", field="reason")
    space = _space_for_booking(reservation.space_id)  # as in reservation_cancel
    reservation = _locked(reservation)
    if reservation.status == Reservation.Status.DECLINED:
        return reservation
    if reservation.status != Reservation.Status.PENDING:
        raise Conflict(
            f"This reservation is {reservation.status}; only pending ones can be declined.",
            code="reservation_not_pending",
        )
    reservation.status = Reservation.Status.DECLINED
    reservation.decline_reason = reason
    reservation.sequence += 1
    reservation.save(update_fields=["status", "decline_reason", "sequence", "updated_at"])
    _after_commit(reservation, "declined")
    _waitlist_fill(space=space, freed=[reservation], now=timezone.now())
    return reservation


@transaction.atomic
def reservations_cancel_with_notice(*, reservation_ids: list[int], reason: str) -> list[Reservation]:
    """The organization cancels these reservations (a closure, a changed space); each booker is told why.

    Those no longer pending or confirmed are left as they are. Returns the ones cancelled now.
    """
    now = timezone.now()
    due = list(
        Reservation.objects.active()
        .select_for_update(of=("self",))
        .select_related("space")
        .filter(pk__in=reservation_ids)
        .order_by("pk")
    )
    for reservation in due:
        reservation.status = Reservation.Status.CANCELLED
        reservation.cancelled_at = now
        reservation.cancel_reason = reason[:300]
        reservation.sequence += 1
        reservation.updated_at = now  # bulk_update skips auto_now
    Reservation.objects.bulk_update(due, ["status", "cancelled_at", "cancel_reason", "sequence", "updated_at"])
    for reservation in due:
        _after_commit(reservation, "cancelled")
    _waitlist_offer(freed=due, now=now)
    return due


@transaction.atomic
def reservations_cancel_upcoming(*, space: Space) -> int:
    """Cancel the space's active reservations that have not started yet (used when a space is archived)."""
    now = timezone.now()
    upcoming = list(
        Reservation.objects.active()
        .select_for_update(of=("self",))
        .select_related("space")
        .filter(space=space, starts_at__gt=now)
    )
    for reservation in upcoming:
        reservation.status = Reservation.Status.CANCELLED
        reservation.cancelled_at = now
        reservation.sequence += 1
        reservation.updated_at = now  # bulk_update skips auto_now
    Reservation.objects.bulk_update(upcoming, ["status", "cancelled_at", "sequence", "updated_at"])
    for reservation in sorted(upcoming, key=lambda reservation: reservation.space_id):
        _after_commit(reservation, "cancelled")
    _waitlist_offer(freed=upcoming, now=now)  # an archived space: its waiting entries expire
    return len(upcoming)


def _booker(reservation: Reservation) -> User | None:
    """The booker, if they can still be emailed (users are deactivated, never deleted)."""
    return User.objects.filter(pk=reservation.user_id, is_active=True).first()


def reservation_notify(*, reservation_id: int, event: Event, sequence: int) -> bool:
    """Email the booker about one version of the reservation, once; True when sent now.

    A notice whose reservation changed again before it ran is dropped: the newer version's notice says it all.
    Nothing happens for a reservation or booker that is gone.
    """
    reservation = Reservation.objects.select_related("space").filter(pk=reservation_id).first()
    if reservation is None:
        logger.info("Reservation %s is gone; no %s notice.", reservation_id, event)
        return False
    if reservation.sequence != sequence:
        logger.info("Reservation %s changed since; notice %s/%s superseded.", reservation_id, event, sequence)
        return False
    booker = _booker(reservation)
    if booker is None:
        logger.info("The booker of reservation %s cannot be emailed; no %s notice.", reservation_id, event)
        return False
    if not booker.email_booking_updates:  # their choice, on their profile page
        return False
    message = notifications.notice_message(reservation=reservation, event=event, booker=booker)
    return send_once(message, key=OnceKey(notifications.NOTICE_KIND, reservation.pk, version=str(sequence)))


def reservation_remind(*, reservation_id: int, now: datetime | None = None) -> bool:
    """Email the booker of a confirmed reservation that starts soon, once per start time; True when sent now.

    Marks the reservation reminded even when another run sent it, so the sweep stops offering it.
    """
    now = now or timezone.now()
    reservation = Reservation.objects.select_related("space").filter(pk=reservation_id).first()
    if (
        reservation is None
        or reservation.status != Reservation.Status.CONFIRMED
        or reservation.reminder_sent_at is not None
        or reservation.starts_at <= now
    ):
        return False
    booker = _booker(reservation)
    sent = False
    if booker is not None:
        message = notifications.reminder_message(reservation=reservation, booker=booker, now=now)
        key = OnceKey(notifications.REMINDER_KIND, reservation.pk, version=reservation.starts_at.isoformat())
        sent = send_once(message, key=key)
    # Only if it still starts then: a reservation moved meanwhile gets a reminder for its new time.
    Reservation.objects.filter(pk=reservation.pk, starts_at=reservation.starts_at, reminder_sent_at=None).update(
        reminder_sent_at=now
    )
    return sent


def reservations_pending_overdue(*, now: datetime) -> QuerySet[Reservation]:
    """Pending reservations nobody approved in time (PENDING_EXPIRY_MINUTES after the request, or the start)."""
    cutoff = now - timedelta(minutes=settings.PENDING_EXPIRY_MINUTES)
    return Reservation.objects.filter(status=Reservation.Status.PENDING).filter(
        Q(created_at__lte=cutoff) | Q(starts_at__lte=now)
    )


@transaction.atomic
def reservations_expire_pending(*, now: datetime | None = None) -> int:
    """Pending reservations nobody approved in time become expired, freeing their slot; each booker is told.

    In time means within PENDING_EXPIRY_MINUTES of the request, and before the reservation starts (an approval
    after the start would come too late). Rows a manager is confirming right now are left for the next sweep.
    """
    now = now or timezone.now()
    pending = reservations_pending_overdue(now=now)
    spaces = _spaces_lock_skipping(pending.values_list("space_id", flat=True))
    due = list(
        pending.select_for_update(of=("self",), skip_locked=True).filter(space_id__in=list(spaces)).order_by("pk")
    )
    for reservation in due:
        reservation.status = Reservation.Status.EXPIRED
        reservation.sequence += 1
        reservation.updated_at = now  # bulk_update skips auto_now
    Reservation.objects.bulk_update(due, ["status", "sequence", "updated_at"])
    for reservation in sorted(due, key=lambda reservation: reservation.space_id):  # version rows in id order
        _after_commit(reservation, "expired")
    _waitlist_fill_each(spaces=spaces, freed=due, now=now)
    return len(due)


# Check-in opens this long before the start (the grace, per space, says how long after the start it stays open).
CHECK_IN_OPENS_BEFORE = timedelta(minutes=15)


def check_in_window(reservation: Reservation) -> tuple[datetime, datetime]:
    """When the booker may check in: from 15 minutes before the start to the end of the space's grace (or the
    end of the booking, if that comes first). At the window's end a booking nobody checked in is released."""
    grace_ends = reservation.starts_at + timedelta(minutes=reservation.space.check_in_grace_minutes)
    return reservation.starts_at - CHECK_IN_OPENS_BEFORE, min(grace_ends, reservation.ends_at)


def reservation_check_in_refusal(
    *, reservation: Reservation, now: datetime | None = None, tz: ZoneInfo | None = None
) -> DomainError | None:
    """Why `reservation` cannot be checked in to now, or None when it can (or already was: that is harmless).
    The rule of `reservation_check_in`, also read by pages that say beforehand what its button would answer."""
    now = now or timezone.now()
    space = reservation.space
    if not space.check_in_required:
        return ValidationFailed(f"{space.name} does not require check-in.", code="check_in_not_required")
    if reservation.checked_in_at is not None:
        return None
    opens, closes = check_in_window(reservation)
    tz = tz or ZoneInfo(organization_current().timezone)
    if reservation.status == Reservation.Status.NO_SHOW or (
        reservation.status == Reservation.Status.CONFIRMED and not opens <= now < closes
    ):
        return ValidationFailed(
            f"Check-in for this booking is open from {isoformat_local(opens, tz)} to {isoformat_local(closes, tz)}.",
            code="check_in_closed",
            extra={"opens_at": isoformat_local(opens, tz), "closes_at": isoformat_local(closes, tz)},
        )
    if reservation.status != Reservation.Status.CONFIRMED:
        return Conflict(
            f"This reservation is {reservation.status}; only confirmed ones can be checked in to.",
            code="reservation_not_active",
        )
    return None


@transaction.atomic
def reservation_check_in(*, actor: Membership, reservation: Reservation, now: datetime | None = None) -> Reservation:
    """Check in to a confirmed booking of a space that requires it (the booker, or an owner/admin), inside its
    window (`check_in_window`). Checking in twice is harmless; it keeps the first time."""
    _require_access(actor, reservation)
    now = now or timezone.now()
    # The space first, as every writer of its bookings does; then the row, which the no-show sweep also locks:
    # whichever commits first wins, and the other sees its outcome.
    space = _space_for_booking(reservation.space_id)
    reservation = _locked(reservation)
    reservation.space = space
    refusal = reservation_check_in_refusal(reservation=reservation, now=now, tz=_timezone(actor))
    if refusal is not None:
        raise refusal
    if reservation.checked_in_at is not None:
        return reservation
    reservation.checked_in_at = now
    reservation.save(update_fields=["checked_in_at", "updated_at"])
    return reservation


def reservations_no_show_due(*, now: datetime) -> QuerySet[Reservation]:
    """Confirmed bookings of check-in spaces that nobody checked in by the end of their window."""
    grace_ends = ShiftedByMinutes("starts_at", "space__check_in_grace_minutes", later=True)
    return (
        Reservation.objects.alias(grace_ends=grace_ends)
        .filter(
            status=Reservation.Status.CONFIRMED,
            checked_in_at__isnull=True,
            space__check_in_required=True,
            starts_at__lte=now,
        )
        .filter(Q(grace_ends__lte=now) | Q(ends_at__lte=now))
    )


@transaction.atomic
def reservations_release_no_shows(*, now: datetime | None = None) -> list[int]:
    """Confirmed bookings of check-in spaces that nobody checked in by the end of their window become no_show:
    the rest of their time is free for others (the exclusion constraint holds only pending and confirmed rows)
    and each booker gets one email. Returns the ids released now.

    The spaces are locked first, as every writer of their slots does (the freed time is offered to the
    waitlist in this transaction). Spaces and rows another transaction holds (a check-in, a booking, another
    sweep) are skipped (SKIP LOCKED) and left for the next run: a racing check-in either commits first, and
    then the row no longer matches, or waits and then finds the row released. Two overlapping sweeps never take
    the same row, and a released row no longer matches: each booking is released once.
    """
    now = now or timezone.now()
    unchecked = reservations_no_show_due(now=now)
    spaces = _spaces_lock_skipping(unchecked.values_list("space_id", flat=True))
    due = list(
        unchecked.select_for_update(of=("self",), skip_locked=True)
        .select_related("space")
        .filter(space_id__in=list(spaces))
        .order_by("pk")
    )
    for reservation in due:
        reservation.status = Reservation.Status.NO_SHOW
        reservation.sequence += 1
        reservation.updated_at = now  # bulk_update skips auto_now
    Reservation.objects.bulk_update(due, ["status", "sequence", "updated_at"])
    for reservation in sorted(due, key=lambda reservation: reservation.space_id):
        _after_commit(reservation, "no_show")
    _waitlist_fill_each(spaces=spaces, freed=due, now=now)
    return [reservation.pk for reservation in due]


def reservations_ended_to_complete(*, now: datetime) -> QuerySet[Reservation]:
    """Confirmed reservations that have ended, but for those of check-in spaces nobody checked in (the no-show
    release's: a no-show is not completed)."""
    return Reservation.objects.filter(status=Reservation.Status.CONFIRMED, ends_at__lte=now).exclude(
        space__check_in_required=True, checked_in_at__isnull=True
    )


def reservations_complete_ended(*, now: datetime | None = None) -> int:
    """Confirmed reservations that have ended become completed (no email: nothing changed for the booker)."""
    now = now or timezone.now()
    ended = reservations_ended_to_complete(now=now)
    with transaction.atomic():
        space_ids = set(ended.values_list("space_id", flat=True).distinct())
        completed = ended.update(status=Reservation.Status.COMPLETED, updated_at=now)
        availability_versions_bump(space_ids)  # past windows no longer show them busy
    return completed


# A notice is normally sent seconds after its change; one still unsent after this was never queued (Redis was
# down) or its task gave up. Older than a day, the news is stale and is left alone (logged when queuing failed).
NOTICE_CATCH_UP_AFTER = timedelta(minutes=2)
NOTICE_CATCH_UP_WITHIN = timedelta(days=1)


def reservations_notice_candidates(*, now: datetime) -> QuerySet[Reservation]:
    """Reservations changed between a day and two minutes ago that still matter to their booker: those whose
    notice may never have been sent (the catch-up checks the ledger for each)."""
    return (
        Reservation.objects.filter(
            updated_at__gte=now - NOTICE_CATCH_UP_WITHIN,
            updated_at__lte=now - NOTICE_CATCH_UP_AFTER,
            ends_at__gt=now,
        )
        .exclude(status=Reservation.Status.COMPLETED)
        # Occurrences last written by their series: the series' own email told the booker.
        .exclude(series__isnull=False, updated_at__lte=F("series__updated_at"))
    )


def reservations_notices_catch_up(*, now: datetime | None = None) -> list[int]:
    """Queue the notices of recent changes whose email was never sent; returns the reservation ids.

    Safe to repeat and to race with the original task: the notice is sent once per version (send_once).
    """
    from reservations import tasks  # tasks call the services of this module

    now = now or timezone.now()
    candidates = list(reservations_notice_candidates(now=now).values_list("pk", "status", "sequence"))
    done = keys_done(kind=notifications.NOTICE_KIND, object_ids=[pk for pk, _, _ in candidates])
    missing = [(pk, status, sequence) for pk, status, sequence in candidates if (str(pk), str(sequence)) not in done]
    for pk, status, sequence in missing:
        event = notifications.event_for_state(status=status, sequence=sequence)
        tasks.reservation_notice_send.delay(pk, event, sequence)
    if missing:
        logger.warning("Queued %d missed notices: reservations %s.", len(missing), [pk for pk, _, _ in missing])
    return [pk for pk, _, _ in missing]


# Recurring series: every occurrence is an ordinary reservation booked through `_book`, so each passes every
# rule and the exclusion constraint; the series itself gets one email (one VEVENT with RRULE and EXDATE).

SERIES_CHANGEABLE_FIELDS = ("title", "notes", "attendees", "starts_at", "ends_at")


@dataclass(frozen=True)
class SkippedOccurrence:
    starts_at: datetime
    ends_at: datetime
    code: str
    detail: str
    conflicts: list[dict] = dataclass_field(default_factory=list)


@dataclass(frozen=True)
class SeriesResult:
    series: Series
    occurrences: list[Reservation]
    skipped: list[SkippedOccurrence]


def _after_commit_series(series: Series, event: Event) -> None:
    from reservations import tasks  # tasks call the services of this module

    outbox_write(tasks.series_notice_send, series.pk, event, series.sequence)
    # Last write of the transaction, as in _after_commit: cached availability answers of the space expire.
    availability_versions_bump([series.space_id])


def _refusal(failures: list[SkippedOccurrence], *, total: int, tz: ZoneInfo) -> DomainError:
    """One answer naming every failing occurrence: 409 when they all clash with other bookings, else 400."""
    occurrences = [
        {
            "starts_at": isoformat_local(failure.starts_at, tz),
            "ends_at": isoformat_local(failure.ends_at, tz),
            "code": failure.code,
            "detail": failure.detail,
        }
        for failure in failures
    ]
    if all(failure.code == ReservationConflict.code for failure in failures):
        clashes = [clash for failure in failures for clash in failure.conflicts]
        return ReservationConflict(
            f"{len(failures)} of {total} occurrences clash with other bookings, so nothing was booked or changed. "
            "Choose other times, or skip the clashing dates.",
            extra={"conflicts": clashes, "occurrences": occurrences},
        )
    return ValidationFailed(
        f"{len(failures)} of {total} occurrences cannot be booked, so nothing was booked or changed: "
        f"{failures[0].detail}",
        code="occurrences_refused",
        extra={"occurrences": occurrences},
    )


def _skipped(starts_at: datetime, ends_at: datetime, error: DomainError) -> SkippedOccurrence:
    return SkippedOccurrence(
        starts_at=starts_at,
        ends_at=ends_at,
        code=error.code,
        detail=error.message,
        conflicts=list(error.extra.get("conflicts", [])),
    )


def _check_series_times(starts_at: datetime, ends_at: datetime) -> None:
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if timezone.is_naive(value):
            raise ValidationFailed("Give the time with its UTC offset, e.g. +01:00 or Z.", field=name, code="naive")
    if ends_at <= starts_at:
        raise ValidationFailed("The end must be after the start.", field="ends_at", code="ends_before_start")


@transaction.atomic
def series_create(
    *,
    actor: Membership,
    space_id: int,
    starts_at: datetime,
    ends_at: datetime,
    recurrence: str,
    title: str = "",
    notes: str = "",
    attendees: int = 1,
    skip_conflicts: bool = False,
    equipment: list[EquipmentRequest] | None = None,
) -> SeriesResult:
    """Book every occurrence of `recurrence` (RFC 5545 RRULE, in the organization's time zone) from the first
    start, each as an ordinary reservation. All or nothing: if any occurrence breaks a rule or clashes, nothing
    is booked and the refusal lists each failing one; with `skip_conflicts` the others are booked and the
    failing ones come back as `skipped`. The booker gets one email for the whole series."""
    result, total = _series_book(
        actor=actor,
        space_id=space_id,
        starts_at=starts_at,
        ends_at=ends_at,
        recurrence=recurrence,
        title=title,
        notes=notes,
        attendees=attendees,
        equipment=equipment or [],
    )
    if (result.skipped and not skip_conflicts) or not result.occurrences:
        raise _refusal(result.skipped, total=total, tz=_timezone(actor))
    # After the occurrences: their notice is the series' one (reservations_notices_catch_up reads this).
    Series.objects.filter(pk=result.series.pk).update(updated_at=timezone.now())
    _after_commit_series(result.series, "created")
    return result


class _DryRun(Exception):
    def __init__(self, result) -> None:
        super().__init__("dry run")
        self.result = result


def series_preview(
    *,
    actor: Membership,
    space_id: int,
    starts_at: datetime,
    ends_at: datetime,
    recurrence: str,
    attendees: int = 1,
    equipment: list[EquipmentRequest] | None = None,
) -> SeriesResult:
    """What series_create would book, without booking: every occurrence goes through the very same rules and
    the exclusion constraint inside a transaction that is then rolled back. `occurrences` are the dates that
    can be booked now (unsaved), `skipped` the others with their reason."""
    try:
        with transaction.atomic():
            result, _ = _series_book(
                actor=actor,
                space_id=space_id,
                starts_at=starts_at,
                ends_at=ends_at,
                recurrence=recurrence,
                title="",
                notes="",
                attendees=attendees,
                equipment=equipment or [],
            )
            raise _DryRun(result)
    except _DryRun as dry_run:
        return dry_run.result


def _series_book(
    *,
    actor: Membership,
    space_id: int,
    starts_at: datetime,
    ends_at: datetime,
    recurrence: str,
    title: str,
    notes: str,
    attendees: int,
    equipment: list[EquipmentRequest],
) -> tuple[SeriesResult, int]:
    """Write the series and each occurrence that passes every rule; the others come back as skipped."""
    _check_series_times(starts_at, ends_at)
    tz = _timezone(actor)
    space = _space_for_booking(space_id)
    rule = recurrence_normalize(recurrence)
    occurrences = recurrence_expand(rule=rule, starts_at=starts_at, ends_at=ends_at, tz=tz)
    series = Series(
        space=space,
        user=actor.user,
        recurrence=rule,
        starts_at=occurrences[0].starts_at,
        ends_at=occurrences[0].ends_at,
        timezone=tz.key,
        title=title.strip(),
    )
    series.full_clean(exclude=["space", "user"])
    series.save()
    now = timezone.now()
    booked: list[Reservation] = []
    skipped: list[SkippedOccurrence] = []
    for occurrence in occurrences:
        if occurrence.problem:
            skipped.append(
                SkippedOccurrence(occurrence.starts_at, occurrence.ends_at, "no_such_time", occurrence.problem)
            )
            continue
        try:
            with transaction.atomic():  # a refused occurrence leaves nothing behind
                booked.append(
                    _book(
                        actor=actor,
                        space=space,
                        starts_at=occurrence.starts_at,
                        ends_at=occurrence.ends_at,
                        title=title,
                        notes=notes,
                        attendees=attendees,
                        tz=tz,
                        now=now,
                        series=series,
                        equipment=equipment,
                    )
                )
        except (ValidationFailed, ReservationConflict, EquipmentUnavailable) as error:
            skipped.append(_skipped(occurrence.starts_at, occurrence.ends_at, error))
    return SeriesResult(series=series, occurrences=booked, skipped=skipped), len(occurrences)


def _require_series_access(actor: Membership, series: Series) -> None:
    if not (actor.is_manager or series.user_id == actor.user_id):
        raise NotFound("No such series here.")


def _upcoming_occurrences(series: Series, *, from_starts_at: datetime | None, now: datetime):
    """The series' pending or confirmed occurrences not started yet, from the one the rule put at
    `from_starts_at` on (that one must exist), locked, in the rule's order."""
    if (
        from_starts_at is not None
        and not Reservation.objects.filter(series=series, series_starts_at=from_starts_at).exists()
    ):
        raise ValidationFailed(
            "No occurrence of this series starts then; give the start of one of its occurrences.",
            field="from",
            code="unknown_occurrence",
        )
    upcoming = (
        Reservation.objects.active()
        .select_for_update(of=("self",))
        .select_related("space")
        .filter(series=series, starts_at__gt=now)
        .order_by("series_starts_at", "pk")
    )
    if from_starts_at is not None:
        upcoming = upcoming.filter(series_starts_at__gte=from_starts_at)
    return list(upcoming)


def _series_changed(series: Series, *, now: datetime, event: Event) -> Series:
    Series.objects.filter(pk=series.pk).update(sequence=F("sequence") + 1, updated_at=now)
    series.refresh_from_db()
    _after_commit_series(series, event)
    return series


@transaction.atomic
def series_cancel(*, actor: Membership, series: Series, from_starts_at: datetime | None = None) -> list[Reservation]:
    """Cancel the series' occurrences that have not started: all of them, or the one the rule put at
    `from_starts_at` and those after it. One email for the series; returns the occurrences cancelled now."""
    _require_series_access(actor, series)
    now = timezone.now()
    # The spaces first, as booking does: the freed slots are offered to the waitlist in this transaction.
    space_ids = set(
        Reservation.objects.active().filter(series=series, starts_at__gt=now).values_list("space_id", flat=True)
    )
    spaces = {space_id: _space_for_booking(space_id) for space_id in sorted(space_ids)}
    series = Series.objects.select_for_update().get(pk=series.pk)
    cancelled = _upcoming_occurrences(series, from_starts_at=from_starts_at, now=now)
    for reservation in cancelled:
        reservation.status = Reservation.Status.CANCELLED
        reservation.cancelled_at = now
        reservation.sequence += 1
        reservation.updated_at = now  # bulk_update skips auto_now
    Reservation.objects.bulk_update(cancelled, ["status", "cancelled_at", "sequence", "updated_at"])
    if cancelled:
        remaining = Reservation.objects.active().filter(series=series, ends_at__gt=now).exists()
        _series_changed(series, now=now, event="changed" if remaining else "cancelled")
        _waitlist_fill_each(spaces=spaces, freed=cancelled, now=now)
    return cancelled


@transaction.atomic
def series_update(
    *, actor: Membership, series: Series, from_starts_at: datetime | None = None, **changes
) -> list[Reservation]:
    """Change the occurrences not started yet (all, or from `from_starts_at` on): title, notes, attendees, and
    new `starts_at`/`ends_at` for the first of them, the others moved by the same wall-clock shift. Each moved
    occurrence is checked against every rule; all or nothing. One email for the series."""
    unknown = set(changes) - set(SERIES_CHANGEABLE_FIELDS)
    if unknown:
        raise ValidationFailed(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    _require_series_access(actor, series)
    tz = _timezone(actor)
    now = timezone.now()
    # Lock order as in booking: the spaces (an occurrence may have been moved to another one), then the rows.
    space_ids = set(
        Reservation.objects.active().filter(series=series, starts_at__gt=now).values_list("space_id", flat=True)
    )
    spaces = {space_id: _space_for_booking(space_id) for space_id in sorted(space_ids | {series.space_id})}
    series = Series.objects.select_for_update().get(pk=series.pk)
    targets = _upcoming_occurrences(series, from_starts_at=from_starts_at, now=now)
    if not targets:
        raise Conflict("No occurrence of this series is left to change.", code="reservation_not_active")
    anchor = targets[0]
    new_start, new_end = changes.pop("starts_at", None), changes.pop("ends_at", None)
    shift = wall_length = None
    if new_start is not None or new_end is not None:
        new_start, new_end = new_start or anchor.starts_at, new_end or anchor.ends_at
        _check_series_times(new_start, new_end)
        shift = _wall(new_start, tz) - _wall(anchor.starts_at, tz)
        wall_length = _wall(new_end, tz) - _wall(new_start, tz)
        if shift > timedelta(0):
            targets.reverse()  # later ones move first, so none moves into a neighbour still in place
    failures: list[SkippedOccurrence] = []
    for reservation in targets:
        occurrence_changes = dict(changes)
        if shift is not None:
            wall_start = _wall(reservation.starts_at, tz) + shift
            starts_at = wall_to_instant(wall_start.date(), wall_start - wall_start.replace(hour=0, minute=0), tz)
            wall_end = wall_start + wall_length
            ends_at = wall_to_instant(wall_end.date(), wall_end - wall_end.replace(hour=0, minute=0), tz)
            if starts_at is None or ends_at is None:
                failures.append(
                    SkippedOccurrence(
                        wall_start.replace(tzinfo=tz),
                        wall_end.replace(tzinfo=tz),
                        "no_such_time",
                        f"{wall_start:%Y-%m-%d %H:%M} does not exist in {tz.key}: the clocks skip it.",
                    )
                )
                continue
            occurrence_changes.update(starts_at=starts_at, ends_at=ends_at)
        try:
            with transaction.atomic():
                space = spaces.get(reservation.space_id) or _space_for_booking(reservation.space_id)
                _change(actor=actor, reservation=reservation, space=space, changes=occurrence_changes, tz=tz)
        except (ValidationFailed, ReservationConflict, EquipmentUnavailable) as error:
            failures.append(
                _skipped(
                    occurrence_changes.get("starts_at", reservation.starts_at),
                    occurrence_changes.get("ends_at", reservation.ends_at),
                    error,
                )
            )
    if failures:
        raise _refusal(sorted(failures, key=lambda f: f.starts_at), total=len(targets), tz=tz)
    Reservation.objects.filter(pk__in=[r.pk for r in targets]).update(updated_at=now)
    if "title" in changes and from_starts_at is None:
        Series.objects.filter(pk=series.pk).update(title=changes["title"].strip())
    _series_changed(series, now=now, event="changed")
    return sorted(targets, key=lambda r: r.starts_at)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def series_notify(*, series_id: int, event: Event, sequence: int) -> bool:
    """Email the booker about one version of the series, once; True when sent now."""
    series = Series.objects.select_related("space").filter(pk=series_id).first()
    if series is None or series.sequence != sequence:
        logger.info("Series %s is gone or changed since; notice %s/%s dropped.", series_id, event, sequence)
        return False
    booker = User.objects.filter(pk=series.user_id, is_active=True).first()
    if booker is None:
        return False
    message = notifications.series_message(series=series, event=event, booker=booker)
    return send_once(message, key=OnceKey(notifications.SERIES_NOTICE_KIND, series.pk, version=str(sequence)))


# The waitlist: a member waits for a taken slot; when a slot frees, in the same transaction, the earliest entry
# whose whole interval is now free and which passes every booking rule becomes a reservation of its member.


class SlotFree(ValidationFailed):
    code = "slot_free"


class AlreadyWaiting(Conflict):
    code = "already_waiting"


def _spaces_lock_skipping(space_ids) -> dict[int, Space]:
    """Lock these spaces as `_space_for_booking` does, in id order, skipping those another transaction holds (a
    sweep leaves them to its next run rather than wait behind a booking)."""
    ids = sorted(set(space_ids))
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {rawsql.columns(Space, "s")} FROM "{Space._meta.db_table}" s WHERE s."id" = ANY(%s)'  # noqa: S608
            ' ORDER BY s."id" FOR NO KEY UPDATE SKIP LOCKED',
            [ids],
        )
        rows = cursor.fetchall()
    spaces = [rawsql.build(Space, row) for row in rows]
    return {space.pk: space for space in spaces}


def _spaces_lock(space_ids) -> dict[int, Space]:
    """Lock these spaces as `_space_for_booking` does, in id order (waiting for bookings in flight)."""
    spaces = Space.objects.select_for_update(no_key=True).filter(pk__in=set(space_ids)).order_by("pk")
    return {space.pk: space for space in spaces}


def _waitlist_offer(*, freed: list[Reservation], now: datetime) -> None:
    """The organization freed these reservations' time (a closure, a changed or archived space): offer it to the
    waitlist like any other freed slot. The callers already hold these spaces (spaces.services locks them, in id
    order, before cancelling), so locking them again here waits for nothing and keeps the order."""
    if freed:
        _waitlist_fill_each(spaces=_spaces_lock(r.space_id for r in freed), freed=freed, now=now)


def _waitlist_fill_each(*, spaces: dict[int, Space], freed: list[Reservation], now: datetime) -> None:
    for space_id, space in spaces.items():
        _waitlist_fill(space=space, freed=[r for r in freed if r.space_id == space_id], now=now)


def _waitlist_fill(*, space: Space, freed: list[Reservation], now: datetime) -> list[WaitlistEntry]:
    """Offer the freed time of `space` (locked by the caller) to its waitlist, earliest entry first: each entry
    meeting a freed interval is booked through `_book` (every rule, the member's limits, the exclusion
    constraint) in a savepoint; one that fails keeps waiting. Returns the entries booked now."""
    if not freed:
        return []
    meets_freed = Q()
    for reservation in freed:
        meets_freed |= Q(starts_at__lt=reservation.blocked_until, ends_at__gt=reservation.blocked_from)
    waiting = list(
        WaitlistEntry.objects.select_for_update()
        .filter(meets_freed, space_id=space.pk, status=WaitlistEntry.Status.WAITING, starts_at__gt=now)
        .order_by("created_at", "pk")
    )
    if not waiting:
        return []
    if not space.is_active:  # archived: nothing can be booked there any more
        WaitlistEntry.objects.filter(pk__in=[entry.pk for entry in waiting]).update(
            status=WaitlistEntry.Status.EXPIRED, updated_at=now
        )
        return []
    organization = organization_current()
    tz = ZoneInfo(organization.timezone)
    members = {
        membership.user_id: membership
        for membership in Membership.objects.select_related("user", "organization").filter(
            organization=organization, user_id__in={entry.user_id for entry in waiting}, user__is_active=True
        )
    }
    booked = []
    for entry in waiting:
        member = members.get(entry.user_id)
        if member is None:  # left the organization: nobody to book for
            entry.status = WaitlistEntry.Status.EXPIRED
            entry.save(update_fields=["status", "updated_at"])
            continue
        try:
            with transaction.atomic():
                reservation = _book(
                    actor=member,
                    space=space,
                    starts_at=entry.starts_at,
                    ends_at=entry.ends_at,
                    title=entry.title,
                    notes="",
                    attendees=entry.attendees,
                    tz=tz,
                    now=now,
                )
        except (ValidationFailed, ReservationConflict):
            continue  # still taken (in part) or against a rule now: it keeps waiting
        entry.status = WaitlistEntry.Status.BOOKED
        entry.reservation = reservation
        entry.save(update_fields=["status", "reservation", "updated_at"])
        _after_commit(reservation, "created")  # the member's booking email
        booked.append(entry)
    return booked


@transaction.atomic
def waitlist_join(
    *,
    actor: Membership,
    space_id: int,
    starts_at: datetime,
    ends_at: datetime,
    attendees: int = 1,
    title: str = "",
) -> WaitlistEntry:
    """Wait for a taken slot. The slot must pass the booking rules (hours, closures, durations, window); a free
    slot is refused (400 `slot_free`: book it instead); waiting twice for one slot is 409 `already_waiting`."""
    tz = _timezone(actor)
    # Locked as a booking would: a slot freed while joining is either seen free here or offered to this entry.
    space = _space_for_booking(space_id)
    now = timezone.now()
    _check_rules(space=space, starts_at=starts_at, ends_at=ends_at, attendees=attendees, tz=tz, now=now)
    taken = reservation_overlapping(
        space_id=space.pk,
        starts_at=starts_at,
        ends_at=ends_at,
        buffer_before_minutes=space.buffer_before_minutes,
        buffer_after_minutes=space.buffer_after_minutes,
    ).exists()
    if not taken:
        raise SlotFree(f"{space.name} is free then: book it instead.", field="starts_at")
    entry = WaitlistEntry(
        space=space, user=actor.user, starts_at=starts_at, ends_at=ends_at, attendees=attendees, title=title.strip()
    )
    entry.full_clean(exclude=["space", "user"], validate_constraints=False)
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError as exc:
        raise AlreadyWaiting("You are already waiting for this slot.") from exc
    return entry


@transaction.atomic
def waitlist_leave(*, actor: Membership, entry: WaitlistEntry) -> WaitlistEntry:
    """Stop waiting (the member, or an owner/admin). Leaving twice, or after the entry was booked or expired,
    changes nothing."""
    if not (actor.is_manager or entry.user_id == actor.user_id):
        raise NotFound("No such waitlist entry here.")
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status == WaitlistEntry.Status.WAITING:
        entry.status = WaitlistEntry.Status.WITHDRAWN
        entry.save(update_fields=["status", "updated_at"])
    return entry


def waitlist_entries_started(*, now: datetime) -> QuerySet[WaitlistEntry]:
    """Entries still waiting for a slot whose start has passed."""
    return WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING, starts_at__lte=now)


def waitlist_expire_started(*, now: datetime | None = None) -> int:
    """Entries whose start has passed expire (the sweep)."""
    now = now or timezone.now()
    return waitlist_entries_started(now=now).update(status=WaitlistEntry.Status.EXPIRED, updated_at=now)
