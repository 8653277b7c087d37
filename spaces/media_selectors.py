"""Reads for photos, locations and floor plans, and the plan's free/busy spots for an interval."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet

from spacemanager.errors import NotFound
from spaces.models import Location, Space, SpacePhoto
from spaces.selectors import space_list_available


def photo_list(*, space: Space) -> QuerySet[SpacePhoto]:
    return SpacePhoto.objects.filter(space=space).order_by("position", "id")


def location_list() -> QuerySet[Location]:
    """Locations with their active spaces (one extra query for any number of locations)."""
    return Location.objects.prefetch_related(
        Prefetch("spaces", queryset=Space.objects.filter(is_active=True).order_by("name", "id"))
    )


def location_get(*, location_id: int) -> Location:
    location = location_list().filter(pk=location_id).first()
    if location is None:
        raise NotFound("No such location here.")
    return location


@dataclass(frozen=True)
class Spot:
    space: Space
    x: float
    y: float
    free: bool


def location_spots(*, location: Location, starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> list[Spot]:
    """The spaces placed on the location's plan, each free or not for the whole interval: free means what the
    free-space search means (open, not closed, no booking in the way: `space_list_available`)."""
    placed = [space for space in location.spaces.all() if space.plan_x is not None]
    free = set(
        space_list_available(
            starts_at=starts_at,
            ends_at=ends_at,
            tz=tz,
            queryset=Space.objects.filter(pk__in=[space.pk for space in placed], is_active=True),
        ).values_list("pk", flat=True)
    )
    return [Spot(space=space, x=space.plan_x, y=space.plan_y, free=space.pk in free) for space in placed]
