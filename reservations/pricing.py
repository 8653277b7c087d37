"""Prices: one function prices a booking, a quote and an invoice line (`booking_price`), and one reads the
frozen lines of a booking back (`reservation_price_lines`).

How a booking of a space is priced
----------------------------------
A space may have an hourly rate, a half-day rate and a day rate (any of them may be empty). The booking is cut
at the organization's local midnights into one piece per local calendar day; each piece is priced on its own
at the cheapest applicable combination of

- a **day**: the whole of that piece, however long (a day is one local calendar day of the booking);
- **half days**: each covers up to ``HALF_DAY_HOURS`` (4) hours of the piece;
- **hours**: the rest, at the hourly rate for the real elapsed time (pro rata to the second, so a night across
  a clock change is billed for the hours it really lasts).

A combination applies only when its rates are set: without an hourly rate the rest is covered by another half
day. On a tie the bigger block wins (one day rather than two half days at the same price). The space's lines
add up the pieces: "Day" x n, "Half day" x n, "Hours" x h. A space with no rate at all has no lines.

Equipment adds one line per item: price per booking x quantity, or price per hour x the booking's hours x
quantity (the line's unit price is one item for this booking). Free items have a line at 0.00.

The total is the sum of the lines, rounded half up to cents; None when nothing is priced (no space rate and
no priced item): the booking is free.

Prices are frozen on the reservation when it is booked or moved (`Reservation.price`, the space's lines in
`Reservation.space_price_lines`, each item's line on its `equipment.Allocation`): later rate changes never
touch existing bookings, and `reservation_price_lines` gives the invoice what the booker was quoted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from equipment.models import Item
    from reservations.models import Reservation
    from spaces.models import Space

HALF_DAY_HOURS = 4
CENTS = Decimal("0.01")
_SECONDS_PER_HOUR = Decimal(3600)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PriceLine:
    """One line of a price: `amount` is `quantity` x `unit_price` rounded to cents (hours are pro rata, so a
    quantity of hours is shown rounded to 2 places while the amount uses the exact time)."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    kind: str = "space"  # "space" or "equipment"
    item_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The API's and the frozen JSON's shape: decimals as strings."""
        return {
            "description": self.description,
            "kind": self.kind,
            "item": self.item_id,
            "quantity": str(self.quantity),
            "unit_price": str(self.unit_price),
            "amount": str(self.amount),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PriceLine:
        return cls(
            description=data["description"],
            quantity=Decimal(data["quantity"]),
            unit_price=Decimal(data["unit_price"]),
            amount=Decimal(data["amount"]),
            kind=data.get("kind", "space"),
            item_id=data.get("item"),
        )


@dataclass(frozen=True)
class Price:
    lines: list[PriceLine]
    total: Decimal | None

    @property
    def space_lines(self) -> list[PriceLine]:
        return [line for line in self.lines if line.kind == "space"]

    def equipment_line(self, item_id: int) -> PriceLine:
        return next(line for line in self.lines if line.kind == "equipment" and line.item_id == item_id)


@dataclass(frozen=True)
class EquipmentChoice:
    """An item and how many of it a booking takes."""

    item: Item
    quantity: int


def _day_pieces(starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> list[Decimal]:
    """The booking's real elapsed hours in each local calendar day it touches."""
    pieces = []
    cursor = starts_at
    while cursor < ends_at:
        local = cursor.astimezone(tz)
        next_midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        piece_end = min(ends_at, next_midnight)
        pieces.append(Decimal((piece_end - cursor).total_seconds()) / _SECONDS_PER_HOUR)
        cursor = piece_end
    return pieces


def _cheapest_piece(hours: Decimal, space: Space) -> tuple[int, int, Decimal] | None:
    """(days, half days, hours) pricing one day's piece at its cheapest, or None when no rate applies."""
    options: list[tuple[Decimal, int, tuple[int, int, Decimal]]] = []  # (cost, blocks rank, counts)
    if space.day_rate is not None:
        options.append((space.day_rate, 0, (1, 0, Decimal(0))))
    most_half_days = math.ceil(hours / HALF_DAY_HOURS) if space.half_day_rate is not None else 0
    for half_days in range(most_half_days + 1):
        rest = max(Decimal(0), hours - half_days * HALF_DAY_HOURS)
        if rest and space.hourly_rate is None:
            continue
        cost = half_days * (space.half_day_rate or 0) + rest * (space.hourly_rate or 0)
        options.append((Decimal(cost), 1 if rest == 0 else 2, (0, half_days, rest)))
    if not options:
        return None
    return min(options, key=lambda option: (_cents(option[0]), option[1]))[2]


def _space_lines(space: Space, starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> list[PriceLine]:
    if space.hourly_rate is None and space.half_day_rate is None and space.day_rate is None:
        return []
    days = half_days = 0
    hours = Decimal(0)
    for piece in _day_pieces(starts_at, ends_at, tz):
        counts = _cheapest_piece(piece, space)
        if counts is None:  # unreachable: some rate is set, and a day or half days always cover a piece
            return []
        days, half_days, hours = days + counts[0], half_days + counts[1], hours + counts[2]
    lines = []
    if days:
        lines.append(PriceLine(f"{space.name}: day", Decimal(days), space.day_rate, _cents(days * space.day_rate)))
    if half_days:
        lines.append(
            PriceLine(
                f"{space.name}: half day (up to {HALF_DAY_HOURS} h)",
                Decimal(half_days),
                space.half_day_rate,
                _cents(half_days * space.half_day_rate),
            )
        )
    if hours:
        lines.append(
            PriceLine(f"{space.name}: hours", _cents(hours), space.hourly_rate, _cents(hours * space.hourly_rate))
        )
    return lines


def _equipment_line(choice: EquipmentChoice, hours: Decimal) -> PriceLine:
    item = choice.item
    if item.price_per_hour is not None:
        unit = _cents(item.price_per_hour * hours)
        description = f"{item.name} ({_cents(hours)} h at {item.price_per_hour} an hour)"
    else:
        unit = item.price_per_booking if item.price_per_booking is not None else Decimal("0.00")
        description = item.name if item.price_per_booking is not None else f"{item.name} (free)"
    return PriceLine(
        description, Decimal(choice.quantity), unit, _cents(unit * choice.quantity), kind="equipment", item_id=item.pk
    )


def booking_price(
    *,
    space: Space,
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo,
    equipment: Sequence[EquipmentChoice] = (),
) -> Price:
    """The price of booking `space` from `starts_at` to `ends_at` with `equipment`: its lines and total (see
    the module's docstring for the rules). Bookings, quotes and moves all price through here."""
    hours = Decimal((ends_at - starts_at).total_seconds()) / _SECONDS_PER_HOUR
    lines = _space_lines(space, starts_at, ends_at, tz)
    lines += [_equipment_line(choice, hours) for choice in sorted(equipment, key=lambda c: (c.item.name, c.item.pk))]
    priced = bool(lines) and (
        space.hourly_rate is not None
        or space.half_day_rate is not None
        or space.day_rate is not None
        or any(c.item.price_per_hour is not None or c.item.price_per_booking is not None for c in equipment)
    )
    return Price(lines=lines, total=_cents(sum((line.amount for line in lines), Decimal(0))) if priced else None)


def reservation_price_lines(reservation: Reservation) -> list[PriceLine]:
    """The frozen price lines of a booking, as it was priced when booked or last moved: the space's lines, then
    one per equipment item (`kind` "equipment", `item_id` set). Their amounts add up to `reservation.price`.

    Stable for invoicing: later changes of rates or items never change these lines. A booking made before
    lines were kept has one line for the space at its frozen price. A free booking has no priced lines.
    """
    lines = [PriceLine.from_dict(data) for data in reservation.space_price_lines or []]
    equipment_total = Decimal(0)
    for allocation in _allocations(reservation):
        equipment_total += allocation.amount
        lines.append(
            PriceLine(
                allocation.description,
                Decimal(allocation.quantity),
                allocation.unit_price,
                allocation.amount,
                kind="equipment",
                item_id=allocation.item_id,
            )
        )
    if not reservation.space_price_lines and reservation.price is not None:
        space_amount = reservation.price - equipment_total
        if space_amount:
            lines.insert(0, PriceLine(reservation.space.name, Decimal(1), space_amount, space_amount))
    return lines


def _allocations(reservation: Reservation) -> Iterable:
    return sorted(reservation.equipment_allocations.all(), key=lambda a: (a.description, a.pk))
