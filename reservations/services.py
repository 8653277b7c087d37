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
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Membership, User
from reservations import notifications
from reservations.models import NO_OVERLAP_CONSTRAINT, Reservation
from reservations.selectors import reservation_overlapping
from spacemanager import rawsql
from spacemanager.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from spacemanager.mail import send_once
from spaces.availability_cache import availability_versions_bump
from spaces.hours import WeeklyInterval, describe_day, isoformat_local, local_pieces, uncovered_pieces
from spaces.models import Space
from tenants.idempotency import OnceKey, keys_done
from tenants.outbox import outbox_write

logger = logging.getLogger(__name__)
Event = Literal["created", "confirmed", "changed", "cancelled", "expired"]
EXCLUSION_VIOLATION = "23P01"
_INSTANT = timedelta(microseconds=1)
CHANGEABLE_FIELDS = ("space_id", "starts_at", "ends_at", "title", "notes", "attendees")


class ReservationConflict(Conflict):
    """The slot is taken: `extra["conflicts"]` lists the clashing intervals in the organization's time."""

    code = "reservation_conflict"


def _after_commit(reservation: Reservation, event: Event) -> None:
    """Tell the booker, by email from a worker once the change has committed (never inside the request).

    The notice is written to the outbox in the change's own transaction (tenants/outbox.py): it exists if
    and only if the change commits, and the request never talks to the broker. The task carries the
    reservation's `sequence`: the email of each version is sent once, and one whose reservation has changed
    again before it ran gives way to the newer one's.
    """
    from reservations import tasks  # tasks call the services below

    outbox_write(tasks.reservation_notice_send, reservation.pk, event, reservation.sequence)
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


def _check_rules(
    *, space: Space, starts_at: datetime, ends_at: datetime, attendees: int, tz: ZoneInfo, now: datetime
) -> None:
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
    with connection.cursor() as cursor:  # fixed SQL: the ORM's compiler cost more than the query
        cursor.execute(
            "SELECT weekday, opens_at, closes_at FROM spaces_openinghours WHERE space_id = %s"
            " ORDER BY weekday, opens_at",
            [space.pk],
        )
        rows = [WeeklyInterval(weekday, opens_at, closes_at) for weekday, opens_at, closes_at in cursor.fetchall()]
    outside = uncovered_pieces(rows, local_pieces(starts_at, ends_at, tz))
    if outside:
        raise ValidationFailed(
            f"Outside the opening hours of {space.name} ({describe_day(rows, outside[0].weekday)}, {tz.key} time).",
            field="ends_at"
            if not uncovered_pieces(rows, local_pieces(starts_at, starts_at + _INSTANT, tz))
            else "starts_at",
            code="closed",
        )


def _minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def _price(space: Space, starts_at: datetime, ends_at: datetime) -> Decimal | None:
    """Rate x real elapsed time (a night across a clock change is billed for the hours it really lasts)."""
    if space.hourly_rate is None:
        return None
    hours = Decimal((ends_at - starts_at).total_seconds()) / Decimal(3600)
    return (space.hourly_rate * hours).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _conflict(
    *, space_id: int, starts_at: datetime, ends_at: datetime, exclude_id: int | None, tz: ZoneInfo
) -> ReservationConflict:
    clashes = list(
        reservation_overlapping(
            space_id=space_id, starts_at=starts_at, ends_at=ends_at, exclude_id=exclude_id
        ).values_list("starts_at", "ends_at")
    )
    intervals = [
        {"starts_at": isoformat_local(start, tz), "ends_at": isoformat_local(end, tz)} for start, end in clashes
    ]
    detail = "This space is already booked at that time"
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
    space (`_space_for_booking`), so a racing writer of the same space has committed or rolled back by now."""
    try:
        with transaction.atomic():
            reservation.save()
    except IntegrityError as exc:
        if not _is_overlap_violation(exc):
            raise
        raise _conflict(
            space_id=reservation.space_id,
            starts_at=reservation.starts_at,
            ends_at=reservation.ends_at,
            exclude_id=exclude_id,
            tz=tz,
        ) from exc


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
    starts_at: datetime,
    ends_at: datetime,
    title: str = "",
    notes: str = "",
    attendees: int = 1,
    user_id: int | None = None,
) -> Reservation:
    """Book a space for the actor, or (owners and admins) for the member `user_id`: confirmed at once, or
    pending when the space requires approval. The booker is that member (their emails, their reservations);
    `created_by` records the actor when they book for someone else."""
    tz = _timezone(actor)
    booker = _booker_for(actor, user_id)
    space = _space_for_booking(space_id)
    _check_rules(space=space, starts_at=starts_at, ends_at=ends_at, attendees=attendees, tz=tz, now=timezone.now())
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
        price=_price(space, starts_at, ends_at),
    )
    reservation.full_clean(exclude=["space", "user", "created_by"], validate_constraints=False)
    _save_or_conflict(reservation, tz=tz, exclude_id=None)
    _after_commit(reservation, "created")
    return reservation


def _require_access(actor: Membership, reservation: Reservation) -> None:
    if not (actor.is_manager or reservation.user_id == actor.user_id):
        raise NotFound("No such reservation here.")


def _locked(reservation: Reservation) -> Reservation:
    return Reservation.objects.select_for_update(of=("self",)).select_related("space").get(pk=reservation.pk)


@transaction.atomic
def reservation_update(*, actor: Membership, reservation: Reservation, **changes) -> Reservation:
    """Change a pending or confirmed reservation; the result must pass every rule a new booking passes.

    Moving a reservation (times or space) on a space that requires approval makes it pending again, unless an
    owner or admin moves it. A move re-prices it at the space's current rate; other edits keep the price.
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
        )
    space = spaces[new_space_id]
    moved = any(
        key in changes and changes[key] != getattr(reservation, key) for key in ("space_id", "starts_at", "ends_at")
    )
    for key, value in changes.items():
        setattr(reservation, key, value.strip() if key == "title" else value)
    reservation.space = space
    _check_rules(
        space=space,
        starts_at=reservation.starts_at,
        ends_at=reservation.ends_at,
        attendees=reservation.attendees,
        tz=tz,
        now=timezone.now(),
    )
    if moved:
        reservation.price = _price(space, reservation.starts_at, reservation.ends_at)
        reservation.reminder_sent_at = None  # a reminder is for the time it named
        if space.requires_approval and not actor.is_manager:
            reservation.status = Reservation.Status.PENDING
    reservation.sequence += 1
    reservation.full_clean(exclude=["space", "user"], validate_constraints=False)
    _save_or_conflict(reservation, tz=tz, exclude_id=reservation.pk)
    availability_versions_bump(space_id for space_id in spaces if space_id != new_space_id)  # moved away
    _after_commit(reservation, "changed")
    return reservation


@transaction.atomic
def reservation_cancel(*, actor: Membership, reservation: Reservation) -> Reservation:
    """Cancel: the row stays (status cancelled) and the slot is free again. Cancelling twice is harmless."""
    _require_access(actor, reservation)
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


@transaction.atomic
def reservations_expire_pending(*, now: datetime | None = None) -> int:
    """Pending reservations nobody approved in time become expired, freeing their slot; each booker is told.

    In time means within PENDING_EXPIRY_MINUTES of the request, and before the reservation starts (an approval
    after the start would come too late). Rows a manager is confirming right now are left for the next sweep.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.PENDING_EXPIRY_MINUTES)
    due = list(
        Reservation.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(status=Reservation.Status.PENDING)
        .filter(Q(created_at__lte=cutoff) | Q(starts_at__lte=now))
    )
    for reservation in due:
        reservation.status = Reservation.Status.EXPIRED
        reservation.sequence += 1
        reservation.updated_at = now  # bulk_update skips auto_now
    Reservation.objects.bulk_update(due, ["status", "sequence", "updated_at"])
    for reservation in sorted(due, key=lambda reservation: reservation.space_id):  # version rows in id order
        _after_commit(reservation, "expired")
    return len(due)


def reservations_complete_ended(*, now: datetime | None = None) -> int:
    """Confirmed reservations that have ended become completed (no email: nothing changed for the booker)."""
    now = now or timezone.now()
    ended = Reservation.objects.filter(status=Reservation.Status.CONFIRMED, ends_at__lte=now)
    with transaction.atomic():
        space_ids = set(ended.values_list("space_id", flat=True).distinct())
        completed = ended.update(status=Reservation.Status.COMPLETED, updated_at=now)
        availability_versions_bump(space_ids)  # past windows no longer show them busy
    return completed


# A notice is normally sent seconds after its change; one still unsent after this was never queued (Redis was
# down) or its task gave up. Older than a day, the news is stale and is left alone (logged when queuing failed).
NOTICE_CATCH_UP_AFTER = timedelta(minutes=2)
NOTICE_CATCH_UP_WITHIN = timedelta(days=1)


def reservations_notices_catch_up(*, now: datetime | None = None) -> list[int]:
    """Queue the notices of recent changes whose email was never sent; returns the reservation ids.

    Safe to repeat and to race with the original task: the notice is sent once per version (send_once).
    """
    from reservations import tasks  # tasks call the services of this module

    now = now or timezone.now()
    candidates = list(
        Reservation.objects.filter(
            updated_at__gte=now - NOTICE_CATCH_UP_WITHIN,
            updated_at__lte=now - NOTICE_CATCH_UP_AFTER,
            ends_at__gt=now,
        )
        .exclude(status=Reservation.Status.COMPLETED)
        .values_list("pk", "status", "sequence")
    )
    done = keys_done(kind=notifications.NOTICE_KIND, object_ids=[pk for pk, _, _ in candidates])
    missing = [(pk, status, sequence) for pk, status, sequence in candidates if (str(pk), str(sequence)) not in done]
    for pk, status, sequence in missing:
        event = notifications.event_for_state(status=status, sequence=sequence)
        tasks.reservation_notice_send.delay(pk, event, sequence)
    if missing:
        logger.warning("Queued %d missed notices: reservations %s.", len(missing), [pk for pk, _, _ in missing])
    return [pk for pk, _, _ in missing]
