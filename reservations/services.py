"""The booking rules, in one place: creating, changing, cancelling and confirming reservations, the sweeps'
transitions (expiring, completing) and the emails they trigger (sent by workers, reservations.tasks).

Python checks come first and give a person a message about the field to correct. PostgreSQL has the last
word on overlaps (the exclusion constraint `reservations_no_overlap`): when two requests race for one slot,
the loser's insert fails with sqlstate 23P01 and is answered with the same 409 as the friendly check.
"""

import logging
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Membership, User
from reservations import notifications
from reservations.models import NO_OVERLAP_CONSTRAINT, Reservation
from reservations.selectors import reservation_overlapping
from spacemanager.celery import enqueue_on_commit
from spacemanager.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from spacemanager.mail import send_once
from spaces.hours import WeeklyInterval, describe_day, isoformat_local, local_pieces, uncovered_pieces
from spaces.models import OpeningHours, Space
from tenants.idempotency import OnceKey, keys_done

logger = logging.getLogger(__name__)
Event = Literal["created", "confirmed", "changed", "cancelled", "expired"]
EXCLUSION_VIOLATION = "23P01"
DEADLOCK_DETECTED = "40P01"
SAVE_ATTEMPTS = 3
_INSTANT = timedelta(microseconds=1)
CHANGEABLE_FIELDS = ("space_id", "starts_at", "ends_at", "title", "notes", "attendees")


class ReservationConflict(Conflict):
    """The slot is taken: `extra["conflicts"]` lists the clashing intervals in the organization's time."""

    code = "reservation_conflict"


def _after_commit(reservation: Reservation, event: Event) -> None:
    """Tell the booker, by email from a worker once the change has committed (never inside the request).

    The task carries the reservation's `sequence`: the email of each version is sent once, and one whose
    reservation has changed again before it ran gives way to the newer one's.
    """
    from reservations import tasks  # tasks call the services below

    enqueue_on_commit(tasks.reservation_notice_send, reservation.pk, event, reservation.sequence)


def _timezone(actor: Membership) -> ZoneInfo:
    return ZoneInfo(actor.organization.timezone)


def _space_for_booking(space_id: int | None) -> Space:
    """The space, held FOR SHARE until commit: bookings run side by side, while archiving or editing the
    space (FOR NO KEY UPDATE) waits for them, so no booking slips into a space being archived."""
    space = next(iter(Space.objects.raw("SELECT * FROM spaces_space WHERE id = %s FOR SHARE", [space_id])), None)
    if space is None:
        raise ValidationFailed("No such space here.", field="space", code="unknown_space")
    return space


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
    rows = [
        WeeklyInterval(weekday, opens_at, closes_at)
        for weekday, opens_at, closes_at in OpeningHours.objects.filter(space=space)
        .order_by("weekday", "opens_at")  # the default ordering starts with the space's name: a join
        .values_list("weekday", "opens_at", "closes_at")
    ]
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


def _is_deadlock(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == DEADLOCK_DETECTED


def _save_or_conflict(reservation: Reservation, *, tz: ZoneInfo, exclude_id: int | None) -> None:
    """Write, and answer an overlap with a 409 naming the clashes. The exclusion constraint is the overlap
    check, for sequential and racing requests alike: no separate query before the write."""
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                reservation.save()
            return
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
        except OperationalError as exc:
            # Two requests writing clashing rows at the same instant each wait for the other's row and
            # PostgreSQL aborts one of them (measured: ~2% of the losers of an 8-way race). Writing again waits
            # for the survivor instead, and then meets its row: the usual 409.
            if not _is_deadlock(exc) or attempt == SAVE_ATTEMPTS:
                raise


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
) -> Reservation:
    """Book a space for the actor: confirmed at once, or pending when the space requires approval."""
    tz = _timezone(actor)
    space = _space_for_booking(space_id)
    _check_rules(space=space, starts_at=starts_at, ends_at=ends_at, attendees=attendees, tz=tz, now=timezone.now())
    reservation = Reservation(
        space=space,
        user=actor.user,
        title=title.strip(),
        notes=notes,
        attendees=attendees,
        starts_at=starts_at,
        ends_at=ends_at,
        status=Reservation.Status.PENDING if space.requires_approval else Reservation.Status.CONFIRMED,
        price=_price(space, starts_at, ends_at),
    )
    reservation.full_clean(exclude=["space", "user"], validate_constraints=False)
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
            # The same shape as a clash (409 with `conflicts`), so a client reads one shape from a change.
            extra={"conflicts": []},
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
    for reservation in upcoming:
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
    for reservation in due:
        _after_commit(reservation, "expired")
    return len(due)


def reservations_complete_ended(*, now: datetime | None = None) -> int:
    """Confirmed reservations that have ended become completed (no email: nothing changed for the booker)."""
    now = now or timezone.now()
    return Reservation.objects.filter(status=Reservation.Status.CONFIRMED, ends_at__lte=now).update(
        status=Reservation.Status.COMPLETED, updated_at=now
    )


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
