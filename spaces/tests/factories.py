from datetime import time

import factory

from spaces.models import OpeningHours, Space


class SpaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Space

    name = factory.Sequence(lambda n: f"Room {n}")
    kind = Space.Kind.MEETING_ROOM
    capacity = 8
    location = "Building A"
    amenities = factory.LazyFunction(lambda: ["projector"])


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    space = factory.SubFactory(SpaceFactory)
    weekday = 0
    opens_at = time(8)
    closes_at = time(18)


def open_every_day(space: Space, opens_at: time = time(8), closes_at: time = time(18)) -> Space:
    OpeningHours.objects.bulk_create(
        OpeningHours(space=space, weekday=weekday, opens_at=opens_at, closes_at=closes_at) for weekday in range(7)
    )
    return space
