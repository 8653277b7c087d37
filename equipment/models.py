"""Equipment: items with a quantity (projectors, chairs, parking spots) that bookings take along.

An item is held by a reservation through an Allocation while the reservation is active (pending or
confirmed), for the reservation's own interval. Cancelling, declining, expiry and the no-show release change
the reservation's status, and so free its items with no write of their own.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from reservations.models import Reservation
from spaces.models import Location

MAX_QUANTITY = 100_000


class Item(models.Model):
    """Something bookable in numbers. Priced per booking or per hour (at most one), or free."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    quantity = models.PositiveIntegerField(
        default=1, validators=[MaxValueValidator(MAX_QUANTITY)], help_text="How many there are."
    )
    price_per_booking = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    price_per_hour = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    location = models.ForeignKey(Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="equipment")
    # Deleting an item archives it: past bookings keep their frozen price lines.
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_per_booking__isnull=True) | Q(price_per_hour__isnull=True),
                name="equipment_item_one_price",
            ),
            models.CheckConstraint(
                condition=(Q(price_per_booking__isnull=True) | Q(price_per_booking__gte=0))
                & (Q(price_per_hour__isnull=True) | Q(price_per_hour__gte=0)),
                name="equipment_item_price_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Allocation(models.Model):
    """`quantity` of an item held by a reservation, with its price line frozen when booked (or last moved)."""

    # No index of their own: the unique (reservation, item) and equipment_allocation_item lead with them.
    reservation = models.ForeignKey(
        Reservation, on_delete=models.CASCADE, related_name="equipment_allocations", db_index=False
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="allocations", db_index=False)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY)])
    description = models.CharField(max_length=300, help_text="The frozen price line's text.")
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, help_text="One item for this booking.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="quantity x unit_price, frozen.")

    class Meta:
        ordering = ["item__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["reservation", "item"], name="equipment_allocation_once_per_item"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="equipment_allocation_quantity_positive"),
        ]
        indexes = [models.Index(fields=["item", "reservation"], name="equipment_allocation_item")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.item_id} for reservation {self.reservation_id}"
