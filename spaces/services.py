"""Writes that concern spaces: creating, changing and archiving them, their weekly opening hours, and closures."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from integrations.events import space_changed
from reservations.models import Reservation
from reservations.services import reservations_cancel_upcoming, reservations_cancel_with_notice
from spacemanager.errors import PermissionDenied, ValidationFailed
from spaces.availability_cache import availability_versions_bump
from spaces.hours import MIDNIGHT, WEEKDAY_NAMES, WeeklyInterval
from spaces.models import Closure, OpeningHours, Space
from spaces.selectors import closure_affected_reservations, space_reservations_breaking_rules

# Fields a manager may set through space_create/space_update (opening hours have their own service).
SPACE_FIELDS = (
    "name",
    "description",
    "kind",
    "capacity",
    "location",
    "amenities",
    "hourly_rate",
    "half_day_rate",
    "day_rate",
    "is_active",
    "min_duration_minutes",
    "max_duration_minutes",
    "max_days_ahead",
    "requires_approval",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "max_upcoming_per_member",
    "max_hours_per_week_per_member",
    "check_in_required",
    "check_in_grace_minutes",
)


@dataclass(frozen=True)
class ArchiveResult:
    space: Space
    cancelled_reservations: int


def _require_manager(actor: Membership) -> None:
    if not actor.is_manager:
        raise PermissionDenied("Only owners and admins manage spaces.")


def _normalize_amenities(amenities: Iterable[str]) -> list[str]:
    """Tags are compared as lowercase words: "Projector " and "projector" are one amenity."""
    return sorted({tag.strip().lower() for tag in amenities if tag and tag.strip()})


def _save(space: Space) -> Space:
    space.amenities = _normalize_amenities(space.amenities)
    if (space.max_duration_minutes or 0) < (space.min_duration_minutes or 0):
        raise ValidationFailed(
            "The maximum duration cannot be shorter than the minimum duration.", field="max_duration_minutes"
        )
    space.full_clean()
    space.save()
    return space


@transaction.atomic
def space_create(
    *,
    actor: Membership,
    name: str,
    capacity: int = 1,
    kind: str = Space.Kind.MEETING_ROOM,
    description: str = "",
    location: str = "",
    amenities: Iterable[str] = (),
    hourly_rate: Decimal | None = None,
    half_day_rate: Decimal | None = None,
    day_rate: Decimal | None = None,
    min_duration_minutes: int = 15,
    max_duration_minutes: int = 12 * 60,
    max_days_ahead: int = 365,
    requires_approval: bool = False,
    buffer_before_minutes: int = 0,
    buffer_after_minutes: int = 0,
    max_upcoming_per_member: int | None = None,
    max_hours_per_week_per_member: int | None = None,
    check_in_required: bool | None = None,
    check_in_grace_minutes: int | None = None,
    is_active: bool = True,
    opening_hours: Iterable[WeeklyInterval] | None = None,
) -> Space:
    """A new space; without opening hours it is bookable at any time. Check-in settings not given are the
    organization's defaults for new spaces."""
    _require_manager(actor)
    organization = actor.organization
    if check_in_required is None:
        check_in_required = organization.default_check_in_required
    if check_in_grace_minutes is None:
        check_in_grace_minutes = organization.default_check_in_grace_minutes
    space = _save(
        Space(
            name=name.strip(),
            capacity=capacity,
            kind=kind,
            description=description,
            location=location.strip(),
            amenities=list(amenities),
            hourly_rate=hourly_rate,
            half_day_rate=half_day_rate,
            day_rate=day_rate,
            min_duration_minutes=min_duration_minutes,
            max_duration_minutes=max_duration_minutes,
            max_days_ahead=max_days_ahead,
            requires_approval=requires_approval,
            buffer_before_minutes=buffer_before_minutes,
            buffer_after_minutes=buffer_after_minutes,
            max_upcoming_per_member=max_upcoming_per_member,
            max_hours_per_week_per_member=max_hours_per_week_per_member,
            check_in_required=check_in_required,
            check_in_grace_minutes=check_in_grace_minutes,
            is_active=is_active,
        )
    )
    if opening_hours is not None:
        opening_hours_set(actor=actor, space=space, intervals=opening_hours)
    space_changed(space, "created")  # webhooks
    return space


@transaction.atomic
def space_update(
    *,
    actor: Membership,
    space: Space,
    data: dict[str, Any],
    opening_hours: Iterable[WeeklyInterval] | None = None,
    cancel_affected: bool = False,
) -> Space:
    """Change the given fields (and replace the opening hours when given). Setting is_active to false archives.

    New rules apply to new bookings and changes; existing reservations keep their times and frozen price.
    Those the new capacity or hours no longer allow (space_update_affected lists them beforehand) are kept and
    stay editable, or with `cancel_affected` cancelled, each booker told why.
    """
    _require_manager(actor)
    unknown = set(data) - set(SPACE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.")
    # Waits for bookings in flight on this space, which hold it locked too (reservations.services).
    space = Space.objects.select_for_update(no_key=True).get(pk=space.pk)
    if data.get("is_active") is False and space.is_active:
        data = {key: value for key, value in data.items() if key != "is_active"}
        _apply(space, data)
        space_archive(actor=actor, space=space)
    else:
        _apply(space, data)
    if opening_hours is not None:
        opening_hours_set(actor=actor, space=space, intervals=opening_hours)
    availability_versions_bump([space.pk])
    space.refresh_from_db()
    if cancel_affected:
        affected = space_reservations_breaking_rules(
            space=space, tz=ZoneInfo(actor.organization.timezone), now=timezone.now()
        )
        reservations_cancel_with_notice(
            reservation_ids=[reservation.pk for reservation in affected],
            reason=f"{space.name} changed (its opening hours or capacity) and no longer allows this booking.",
        )
    space_changed(space, "updated")  # webhooks
    return space


class _DryRun(Exception):
    def __init__(self, affected: list[Reservation]) -> None:
        super().__init__("dry run")
        self.affected = affected


def space_update_affected(
    *, actor: Membership, space: Space, data: dict[str, Any], opening_hours: Iterable[WeeklyInterval] | None = None
) -> list[Reservation]:
    """The upcoming bookings a space_update with these values would leave outside the space's hours or over
    its capacity, without changing anything (the update runs in a transaction that is rolled back)."""
    try:
        with transaction.atomic():
            changed = space_update(actor=actor, space=space, data=data, opening_hours=opening_hours)
            raise _DryRun(
                space_reservations_breaking_rules(
                    space=changed, tz=ZoneInfo(actor.organization.timezone), now=timezone.now()
                )
            )
    except _DryRun as dry_run:
        return dry_run.affected


def _apply(space: Space, data: dict[str, Any]) -> None:
    for field, value in data.items():
        setattr(space, field, value.strip() if field in {"name", "location"} and isinstance(value, str) else value)
    _save(space)


@transaction.atomic
def space_archive(*, actor: Membership, space: Space) -> ArchiveResult:
    """Archive a space: nobody can book it any more, its history stays.

    Its reservations that have not started yet are cancelled (their slots would otherwise promise a space that
    is gone); reservations already under way are kept. Archiving twice is harmless.
    """
    _require_manager(actor)
    space = Space.objects.select_for_update(no_key=True).get(pk=space.pk)
    if space.is_active:
        space.is_active = False
        space.save(update_fields=["is_active", "updated_at"])
        space_changed(space, "archived")  # webhooks
    cancelled = reservations_cancel_upcoming(space=space)
    availability_versions_bump([space.pk])  # no free time any more
    return ArchiveResult(space=space, cancelled_reservations=cancelled)


def _validated_intervals(intervals: Iterable[WeeklyInterval]) -> list[WeeklyInterval]:
    """Check the intervals and merge touching ones (08:00-12:00 + 12:00-18:00 is 08:00-18:00)."""
    by_day: dict[int, list[WeeklyInterval]] = {}
    for interval in intervals:
        if not 0 <= interval.weekday <= 6:
            raise ValidationFailed("Weekdays go from 0 (Monday) to 6 (Sunday).", field="opening_hours")
        if interval.closes_at != MIDNIGHT and interval.closes_at <= interval.opens_at:
            raise ValidationFailed(
                f"{WEEKDAY_NAMES[interval.weekday]}: closing time must be after opening time "
                "(use 00:00 or 24:00 for midnight; split a night across two days).",
                field="opening_hours",
            )
        by_day.setdefault(interval.weekday, []).append(interval)
    merged: list[WeeklyInterval] = []
    for weekday, day in sorted(by_day.items()):
        day.sort(key=lambda interval: interval.opens)
        current = day[0]
        for interval in day[1:]:
            if interval.opens < current.closes:
                raise ValidationFailed(
                    f"{WEEKDAY_NAMES[weekday]}: opening intervals overlap.", field="opening_hours", code="overlap"
                )
            if interval.opens == current.closes:
                current = WeeklyInterval(weekday, current.opens_at, interval.closes_at)
            else:
                merged.append(current)
                current = interval
        merged.append(current)
    return merged


@transaction.atomic
def opening_hours_set(*, actor: Membership, space: Space, intervals: Iterable[WeeklyInterval]) -> list[OpeningHours]:
    """Replace the space's weekly hours, all at once. An empty list means bookable at any time.

    Existing reservations are kept even if they now fall outside the hours.
    """
    _require_manager(actor)
    rows = _validated_intervals(intervals)
    list(Space.objects.select_for_update(no_key=True).filter(pk=space.pk).values_list("pk", flat=True))
    OpeningHours.objects.filter(space=space).delete()
    created = OpeningHours.objects.bulk_create(
        OpeningHours(space=space, weekday=row.weekday, opens_at=row.opens_at, closes_at=row.closes_at) for row in rows
    )
    availability_versions_bump([space.pk])
    return created


CLOSURE_FIELDS = ("starts_at", "ends_at", "reason", "space_ids")


@dataclass(frozen=True)
class ClosureResult:
    closure: Closure
    affected: list[Reservation]  # the bookings inside it still pending or confirmed
    cancelled: list[Reservation]  # the ones cancelled now, each booker told the reason


def _lock_spaces(space_ids: list[int]) -> list[Space]:
    """Hold the closed spaces (all of them when none is named) FOR NO KEY UPDATE, in id order as bookings do:
    bookings in flight finish first and are listed as affected; later ones wait, then meet the closure."""
    spaces = Space.objects.select_for_update(no_key=True).order_by("pk")
    if space_ids:
        spaces = spaces.filter(pk__in=space_ids)
    locked = list(spaces)
    missing = set(space_ids) - {space.pk for space in locked}
    if missing:
        raise ValidationFailed(
            f"No such space here: {', '.join(str(pk) for pk in sorted(missing))}.", field="spaces", code="unknown_space"
        )
    return locked


def _validated_closure(*, starts_at: datetime, ends_at: datetime, reason: str) -> str:
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if timezone.is_naive(value):
            raise ValidationFailed("Give the time with its UTC offset, e.g. +01:00 or Z.", field=field, code="naive")
    if ends_at <= starts_at:
        raise ValidationFailed("The end must be after the start.", field="ends_at", code="ends_before_start")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Say why it is closed: bookers are told.", field="reason", code="required")
    return reason


def _closure_result(closure: Closure, *, cancel_affected: bool) -> ClosureResult:
    affected = list(closure_affected_reservations(closure=closure, now=timezone.now()))
    cancelled: list[Reservation] = []
    if cancel_affected and affected:
        cancelled = reservations_cancel_with_notice(
            reservation_ids=[reservation.pk for reservation in affected], reason=closure.reason
        )
        affected = list(closure_affected_reservations(closure=closure, now=timezone.now()))
    return ClosureResult(closure=closure, affected=affected, cancelled=cancelled)


@transaction.atomic
def closure_create(
    *,
    actor: Membership,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    space_ids: Iterable[int] = (),
    cancel_affected: bool = False,
) -> ClosureResult:
    """Close the chosen spaces (every space when none is chosen) for a period: new bookings there are refused.

    Bookings already inside it are listed; with `cancel_affected` they are cancelled and each booker is told
    the reason.
    """
    _require_manager(actor)
    reason = _validated_closure(starts_at=starts_at, ends_at=ends_at, reason=reason)
    space_ids = sorted(set(space_ids))
    spaces = _lock_spaces(space_ids)
    closure = Closure(starts_at=starts_at, ends_at=ends_at, reason=reason, created_by_id=actor.user_id)
    closure.full_clean(exclude=["created_by"])
    closure.save()
    if space_ids:
        closure.spaces.set(spaces)
    result = _closure_result(closure, cancel_affected=cancel_affected)
    availability_versions_bump(space.pk for space in spaces)  # last write: cached answers expire
    return result


@transaction.atomic
def closure_update(
    *, actor: Membership, closure: Closure, data: dict[str, Any], cancel_affected: bool = False
) -> ClosureResult:
    """Change a closure's period, reason or spaces (`space_ids`; empty means every space), as closure_create."""
    _require_manager(actor)
    unknown = set(data) - set(CLOSURE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}.")
    closure = Closure.objects.select_for_update().get(pk=closure.pk)
    current_ids = sorted(closure.spaces.values_list("pk", flat=True))
    space_ids = sorted(set(data.get("space_ids", current_ids)))
    starts_at = data.get("starts_at", closure.starts_at)
    ends_at = data.get("ends_at", closure.ends_at)
    reason = _validated_closure(starts_at=starts_at, ends_at=ends_at, reason=data.get("reason", closure.reason))
    spaces = _lock_spaces(space_ids)
    closure.starts_at, closure.ends_at, closure.reason = starts_at, ends_at, reason
    closure.full_clean(exclude=["created_by"])
    closure.save()
    closure.spaces.set(spaces if space_ids else [])
    result = _closure_result(closure, cancel_affected=cancel_affected)
    before = current_ids or Space.objects.values_list("pk", flat=True)
    availability_versions_bump({*before, *(space.pk for space in spaces)})  # last write: cached answers expire
    return result


@transaction.atomic
def closure_delete(*, actor: Membership, closure: Closure) -> None:
    """Reopen: the period can be booked again (reservations cancelled for it stay cancelled)."""
    _require_manager(actor)
    space_ids = list(closure.spaces.values_list("pk", flat=True)) or list(Space.objects.values_list("pk", flat=True))
    Closure.objects.filter(pk=closure.pk).delete()
    availability_versions_bump(space_ids)  # cached answers expire
