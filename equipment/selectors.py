"""Reads of equipment: which items there are, and how many of one are in use over an interval."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from equipment.models import Allocation, Item
from reservations.models import Reservation, TsTzRange
from spacemanager.errors import NotFound
from spaces.localtime import day_window


def item_list() -> QuerySet[Item]:
    """The items that can be booked (archived ones are kept for past bookings only)."""
    return Item.objects.filter(is_active=True).select_related("location")


def item_get(*, item_id: int) -> Item:
    item = item_list().filter(pk=item_id).first()
    if item is None:
        raise NotFound("No such equipment here.")
    return item


@dataclass(frozen=True)
class Use:
    starts_at: datetime
    ends_at: datetime
    quantity: int
    reservation_id: int


def item_uses(
    *, item_ids: list[int], starts_at: datetime, ends_at: datetime, exclude_reservation_id: int | None = None
) -> dict[int, list[Use]]:
    """Allocations of these items held by active reservations overlapping [starts_at, ends_at), per item."""
    rows = (
        Allocation.objects.alias(during=TsTzRange("reservation__starts_at", "reservation__ends_at"))
        .filter(
            item_id__in=item_ids,
            reservation__status__in=Reservation.ACTIVE_STATUSES,
            during__overlap=(starts_at, ends_at),
        )
        .values_list("item_id", "reservation__starts_at", "reservation__ends_at", "quantity", "reservation_id")
        .order_by("reservation__starts_at", "reservation_id")
    )
    if exclude_reservation_id is not None:
        rows = rows.exclude(reservation_id=exclude_reservation_id)
    uses: dict[int, list[Use]] = {item_id: [] for item_id in item_ids}
    for item_id, start, end, quantity, reservation_id in rows:
        uses[item_id].append(Use(start, end, quantity, reservation_id))
    return uses


def peak_use(uses: list[Use], *, starts_at: datetime, ends_at: datetime) -> int:
    """The most of an item held at one moment inside [starts_at, ends_at) (touching uses never add up)."""
    events: list[tuple[datetime, int]] = []
    for use in uses:
        events.append((max(use.starts_at, starts_at), use.quantity))
        events.append((min(use.ends_at, ends_at), -use.quantity))
    peak = held = 0
    for _, change in sorted(events, key=lambda event: (event[0], event[1])):  # ends before starts at one instant
        held += change
        peak = max(peak, held)
    return peak


def item_free(*, item: Item, starts_at: datetime, ends_at: datetime, exclude_reservation_id: int | None = None) -> int:
    """How many of the item are free for the whole of [starts_at, ends_at)."""
    uses = item_uses(
        item_ids=[item.pk], starts_at=starts_at, ends_at=ends_at, exclude_reservation_id=exclude_reservation_id
    )[item.pk]
    return max(0, item.quantity - peak_use(uses, starts_at=starts_at, ends_at=ends_at))


@dataclass(frozen=True)
class DayUse:
    day: date
    peak: int
    free: int
    reservations: list


def item_week_use(*, item: Item, monday: date, tz: ZoneInfo) -> list[DayUse]:
    """Each local day of the week starting `monday`: the most of the item held at once, how many stay free all
    day, and the active bookings holding it (with their space and booker), in one query each."""
    week_starts, week_ends = day_window(monday, tz)[0], day_window(monday + timedelta(days=6), tz)[1]
    uses = item_uses(item_ids=[item.pk], starts_at=week_starts, ends_at=week_ends)[item.pk]
    reservations = Reservation.objects.select_related("space", "user").in_bulk([use.reservation_id for use in uses])
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        starts_at, ends_at = day_window(day, tz)
        today = [use for use in uses if use.starts_at < ends_at and use.ends_at > starts_at]
        peak = peak_use(today, starts_at=starts_at, ends_at=ends_at)
        held = [(use, reservations[use.reservation_id]) for use in today if use.reservation_id in reservations]
        days.append(DayUse(day=day, peak=peak, free=max(0, item.quantity - peak), reservations=held))
    return days
