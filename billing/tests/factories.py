from datetime import UTC, datetime, timedelta
from decimal import Decimal

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.models import Space
from spaces.tests.factories import SpaceFactory

# "Now" for billing tests: early on 1 April 2025 (UTC), March is over; bookings below lie in March.
AFTER_MARCH = datetime(2025, 4, 1, 6, tzinfo=UTC)


def booking(
    user,
    *,
    day: int = 10,
    price: str | None = "40.00",
    status: str = Reservation.Status.COMPLETED,
    month: int = 3,
    space: Space | None = None,
    title: str = "Team meeting",
) -> Reservation:
    """A March 2025 booking of `user`, written straight to the table (the scene, not the booking rules)."""
    starts_at = datetime(2025, month, day, 9, tzinfo=UTC)
    return ReservationFactory(
        user=user,
        space=space or SpaceFactory(name=f"Room {day}"),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        status=status,
        price=Decimal(price) if price is not None else None,
        title=title,
    )
