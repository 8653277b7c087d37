"""The organization's wall clock for the booking pages: turning what people type (a date and a time in the
organization's timezone) into instants, and rendering pages in that timezone.

The arithmetic itself is spaces.hours'; this module only adds what a form needs: a wall time the clocks skip
(spring forward) is refused rather than silently moved.
"""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import wraps
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from spaces.hours import END_OF_DAY, MIDNIGHT, local_instant


def organization_tz(request: HttpRequest) -> ZoneInfo:
    return ZoneInfo(request.tenant.timezone)


def local_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(tz).date()


def since_midnight(value: time) -> timedelta:
    return timedelta(hours=value.hour, minutes=value.minute, seconds=value.second)


def wall_to_instant(day: date, wall: time | timedelta, tz: ZoneInfo) -> datetime | None:
    """The instant at which the wall clock of `day` shows `wall` (a timedelta up to 24:00 for "midnight at the
    end of the day"), or None when the clocks skip that time. A repeated time (autumn) is its first pass."""
    offset = wall if isinstance(wall, timedelta) else since_midnight(wall)
    if not timedelta(0) <= offset <= END_OF_DAY:
        return None
    instant = local_instant(day, offset, tz, entering=False)
    shown = instant.astimezone(tz).replace(tzinfo=None)
    return instant if shown == datetime.combine(day, MIDNIGHT) + offset else None


def wall_minutes(instant: datetime, day: date, tz: ZoneInfo) -> int:
    """Minutes from `day`'s midnight to the wall time `instant` shows (24 * 60 for the next midnight)."""
    shown = instant.astimezone(tz).replace(tzinfo=None)
    return round((shown - datetime.combine(day, MIDNIGHT)).total_seconds() / 60)


def day_window(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of `day` as instants (23 or 25 hours long on DST days)."""
    return (
        local_instant(day, timedelta(0), tz, entering=True),
        local_instant(day + timedelta(days=1), timedelta(0), tz, entering=True),
    )


def in_organization_time(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Render the page with datetimes in the organization's timezone (templates' `date`/`time` filters)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with timezone.override(request.tenant.timezone):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            return response

    return wrapped
