"""Template helpers of the spaces pages."""

from django import template

from spacemanager.money import money_format
from spaces.calendar import summarize_hours, weekly_rows
from spaces.models import Space

register = template.Library()


@register.filter
def hours_summary(space: Space) -> str:
    """ "Mon-Fri 08:00-18:00" for a space whose opening hours were prefetched (no query)."""
    return summarize_hours(weekly_rows(space))


@register.filter
def minutes(value: int) -> str:
    """90 → "1 h 30 min"; 45 → "45 min"; 1440 → "24 h"."""
    hours, rest = divmod(int(value), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


@register.filter
def hourly_price(space: Space, currency: str) -> str:
    """ "€25.00 an hour · €80.00 a half day · €140.00 a day", or "Free" for a space without a rate."""
    rates = [
        f"{money_format(rate, currency)} {unit}"
        for rate, unit in (
            (space.hourly_rate, "an hour"),
            (space.half_day_rate, "a half day"),
            (space.day_rate, "a day"),
        )
        if rate
    ]
    return " · ".join(rates) if rates else "Free"


# The week calendar's ruler is cut in rows of this many minutes; static/css/calendar.css has a class per row.
RULER_ROW_MINUTES = 5


@register.filter
def ruler_rows(percent: float, ruler_hours: int) -> int:
    """A position on the ruler (a percentage, spaces.calendar) as whole rows: the `t-N`/`h-N` classes."""
    return round(float(percent) * ruler_hours * (60 // RULER_ROW_MINUTES) / 100)


@register.filter
def cover_photo(space: Space):
    """The cover photo from the prefetched photos (no query), or None; a photo still being processed has no URL."""
    photos = [photo for photo in space.photos.all() if photo.processed]
    return next((photo for photo in photos if photo.is_cover), photos[0] if photos else None)


@register.filter
def thumbnail_url(photo) -> str:
    """The processed photo's thumbnail (or the photo itself, were the thumbnail missing)."""
    return photo.thumbnail.url if photo.thumbnail else photo.image.url


@register.filter
def processed(photos) -> list:
    """The photos that can be shown (a large one waits for the worker to remove its metadata)."""
    return [photo for photo in photos if photo.processed]


@register.filter
def on_plan(fraction: float, size: int) -> str:
    """A place on the plan (a fraction) in the plan's pixels: SVG coordinates, no inline style (CSP)."""
    return f"{fraction * size:.1f}"


@register.filter
def spot_radius(location) -> str:
    """Spots scale with the plan, so they look alike on a small sketch and a large scan."""
    return f"{max(location.floor_plan_width or 0, location.floor_plan_height or 0) * 0.018:.1f}"


@register.filter
def label_below(fraction: float, location) -> str:
    """Where a spot's name goes: under its circle."""
    size = location.floor_plan_height or 0
    radius = max(location.floor_plan_width or 0, size) * 0.018
    return f"{fraction * size + radius * 1.3:.1f}"
