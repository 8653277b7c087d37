"""Dashboard panels about reservations, as inclusion tags: the dashboard (accounts) stays unaware of bookings,
and each panel reads through one selector (one query, whatever the numbers)."""

from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone

from reservations.selectors import reservation_list_overlapping, reservation_list_pending, reservation_list_upcoming
from spaces.localtime import day_window, local_today

register = template.Library()

PANEL_SIZE = 5
TODAY_SIZE = 12


def _panel(context: template.Context, **values) -> dict:
    keep = ("membership", "organization", "request", "csrf_token")
    return {**{name: context.get(name) for name in keep}, **values}


@register.inclusion_tag("reservations/_panel_next.html", takes_context=True)
def next_reservations_panel(context: template.Context) -> dict:
    """The person's next reservations."""
    upcoming = reservation_list_upcoming(actor=context["membership"], now=timezone.now())
    items = list(upcoming[: PANEL_SIZE + 1])
    return _panel(context, reservations=items[:PANEL_SIZE], more=len(items) > PANEL_SIZE)


@register.inclusion_tag("reservations/_panel_today.html", takes_context=True)
def todays_bookings_panel(context: template.Context) -> dict:
    """Everyone's bookings today across spaces (owners and admins)."""
    tz = ZoneInfo(context["organization"].timezone)
    today = local_today(tz)
    starts_at, ends_at = day_window(today, tz)
    bookings = reservation_list_overlapping(actor=context["membership"], starts_at=starts_at, ends_at=ends_at)
    items = list(bookings[: TODAY_SIZE + 1])
    return _panel(context, reservations=items[:TODAY_SIZE], more=len(items) > TODAY_SIZE, today=today)


@register.inclusion_tag("reservations/_panel_pending.html", takes_context=True)
def pending_approvals_panel(context: template.Context) -> dict:
    """Reservations waiting for an owner's or admin's approval."""
    pending = reservation_list_pending(actor=context["membership"], now=timezone.now())
    items = list(pending[: PANEL_SIZE + 1])
    return _panel(context, reservations=items[:PANEL_SIZE], more=len(items) > PANEL_SIZE)
