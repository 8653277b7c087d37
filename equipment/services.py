"""Equipment writes: managing items, and taking them along with a booking (called from reservations.services,
inside the booking's transaction, after the space is locked).

No item is ever over-allocated, even under racing requests: a booking that takes items locks their rows
(FOR NO KEY UPDATE, in id order, so two bookings never wait on each other in a cycle) before it counts what
overlapping active reservations hold. A racing booking of the same item waits for the lock, then counts the
winner's committed allocation. Locks are always taken after the space's (`_space_for_booking`), and changing
an item's quantity takes only the item's row, so no order of operations deadlocks.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from equipment.models import Allocation, Item
from equipment.selectors import item_free, item_uses, peak_use
from reservations.pricing import EquipmentChoice, Price
from spacemanager.errors import Conflict, PermissionDenied, ValidationFailed
from spaces.hours import isoformat_local
from spaces.models import Location

ITEM_FIELDS = ("name", "description", "quantity", "price_per_booking", "price_per_hour", "location_id")
MAX_ITEMS_PER_BOOKING = 50


class EquipmentUnavailable(Conflict):
    """Not enough of an item is free in the interval: `extra` names the item, what was asked and what is free."""

    code = "equipment_unavailable"


class EquipmentInUse(Conflict):
    code = "equipment_in_use"


@dataclass(frozen=True)
class EquipmentRequest:
    """What a booking asks for: `quantity` of the item `item_id`."""

    item_id: int
    quantity: int


def _require_manager(actor: Membership) -> None:
    if not actor.is_manager:
        raise PermissionDenied("Only owners and admins manage equipment.")


def _save(item: Item) -> Item:
    if item.price_per_booking is not None and item.price_per_hour is not None:
        raise ValidationFailed(
            "Give a price per booking or a price per hour, not both.", field="price_per_hour", code="two_prices"
        )
    try:
        item.full_clean(exclude=["location"])
    except DjangoValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        code = "name_taken" if field == "name" and "already exists" in messages[0] else "invalid"
        message = "An item with this name exists already." if code == "name_taken" else messages[0]
        raise ValidationFailed(message, field=field, code=code) from error
    item.save()
    return item


def _location(location_id: int | None) -> Location | None:
    if location_id is None:
        return None
    location = Location.objects.filter(pk=location_id).first()
    if location is None:
        raise ValidationFailed("No such location here.", field="location", code="unknown_location")
    return location


@transaction.atomic
def item_create(*, actor: Membership, name: str, quantity: int = 1, **fields: Any) -> Item:
    """A new item (owners and admins)."""
    _require_manager(actor)
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise ValidationFailed(f"These fields cannot be set: {', '.join(sorted(unknown))}.")
    location = _location(fields.pop("location_id", None))
    return _save(Item(name=name.strip(), quantity=quantity, location=location, **fields))


@transaction.atomic
def item_update(*, actor: Membership, item: Item, **changes: Any) -> Item:
    """Change an item (owners and admins). Its quantity cannot drop below what upcoming bookings hold at once
    (409 `equipment_in_use`); bookings keep their frozen prices."""
    _require_manager(actor)
    unknown = set(changes) - set(ITEM_FIELDS)
    if unknown:
        raise ValidationFailed(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    item = Item.objects.select_for_update(no_key=True).get(pk=item.pk)  # bookings of it wait, then see the change
    if "location_id" in changes:
        item.location = _location(changes.pop("location_id"))
    for key, value in changes.items():
        setattr(item, key, value.strip() if key == "name" else value)
    if "quantity" in changes:
        held = _held_upcoming(item)
        if item.quantity < held:
            raise EquipmentInUse(
                f"Upcoming bookings hold up to {held} of {item.name} at once; cancel some before lowering its "
                f"quantity below {held}.",
                extra={"item": item.pk, "held": held},
            )
    return _save(item)


@transaction.atomic
def item_archive(*, actor: Membership, item: Item) -> Item:
    """Delete an item from the catalogue (owners and admins): refused while upcoming bookings hold it (409
    `equipment_in_use`); past bookings keep it in their price lines."""
    _require_manager(actor)
    item = Item.objects.select_for_update(no_key=True).get(pk=item.pk)
    held = _held_upcoming(item)
    if held:
        raise EquipmentInUse(
            f"Upcoming bookings hold {item.name}; cancel them or take it off them first.",
            extra={"item": item.pk, "held": held},
        )
    item.is_active = False
    item.save(update_fields=["is_active", "updated_at"])
    return item


def _held_upcoming(item: Item) -> int:
    now = timezone.now()
    far = datetime.max.replace(tzinfo=now.tzinfo)
    uses = item_uses(item_ids=[item.pk], starts_at=now, ends_at=far)[item.pk]
    return peak_use(uses, starts_at=now, ends_at=far)


def equipment_lock(requests: Sequence[EquipmentRequest]) -> list[EquipmentChoice]:
    """Check the requests' shape and lock the items asked for, in id order, until commit."""
    if len(requests) > MAX_ITEMS_PER_BOOKING:
        raise ValidationFailed(f"Ask for at most {MAX_ITEMS_PER_BOOKING} items.", field="equipment")
    ids = [request.item_id for request in requests]
    if len(set(ids)) != len(ids):
        raise ValidationFailed(
            "Name each item once, with the quantity you need.", field="equipment", code="duplicate_item"
        )
    for request in requests:
        if request.quantity < 1:
            raise ValidationFailed("Ask for at least one of each item.", field="equipment", code="min_value")
    if not requests:
        return []
    items = {
        item.pk: item
        for item in Item.objects.select_for_update(no_key=True).filter(pk__in=ids, is_active=True).order_by("pk")
    }
    missing = sorted(set(ids) - set(items))
    if missing:
        raise ValidationFailed(
            f"No such equipment here: {', '.join(map(str, missing))}.",
            field="equipment",
            code="unknown_item",
            extra={"items": missing},
        )
    return [EquipmentChoice(item=items[request.item_id], quantity=request.quantity) for request in requests]


def equipment_check_free(
    *,
    choices: Sequence[EquipmentChoice],
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo,
    exclude_reservation_id: int | None = None,
) -> None:
    """Refuse (409 `equipment_unavailable`) when any locked item has fewer free than asked in the interval."""
    for choice in choices:
        free = item_free(
            item=choice.item, starts_at=starts_at, ends_at=ends_at, exclude_reservation_id=exclude_reservation_id
        )
        if choice.quantity > free:
            item = choice.item
            raise EquipmentUnavailable(
                f"Only {free} of {item.name} {'is' if free == 1 else 'are'} free from "
                f"{isoformat_local(starts_at, tz)} to {isoformat_local(ends_at, tz)}; you asked for {choice.quantity}.",
                extra={
                    "item": {"id": item.pk, "name": item.name},
                    "requested": choice.quantity,
                    "available": free,
                    "starts_at": isoformat_local(starts_at, tz),
                    "ends_at": isoformat_local(ends_at, tz),
                },
            )


def equipment_allocations_write(
    *, reservation, choices: Sequence[EquipmentChoice], price: Price, replace: bool = False
) -> list[Allocation]:
    """Write the reservation's allocations (`replace`: instead of its current ones), each with its frozen line."""
    if replace:
        Allocation.objects.filter(reservation=reservation).delete()
    allocations = []
    for choice in choices:
        line = price.equipment_line(choice.item.pk)
        allocations.append(
            Allocation(
                reservation=reservation,
                item=choice.item,
                quantity=choice.quantity,
                description=line.description[:300],
                unit_price=line.unit_price,
                amount=line.amount,
            )
        )
    Allocation.objects.bulk_create(allocations)
    return allocations
