from datetime import UTC, datetime, timedelta

import factory

from reservations.models import Reservation
from spaces.tests.factories import SpaceFactory


class ReservationFactory(factory.django.DjangoModelFactory):
    """Written straight to the table: for setting the scene, not for testing the rules."""

    class Meta:
        model = Reservation

    space = factory.SubFactory(SpaceFactory)
    title = "Team meeting"
    starts_at = factory.LazyFunction(lambda: datetime(2025, 3, 10, 9, tzinfo=UTC))
    ends_at = factory.LazyAttribute(lambda r: r.starts_at + timedelta(hours=1))
    status = Reservation.Status.CONFIRMED
