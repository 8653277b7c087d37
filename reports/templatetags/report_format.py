"""How the report pages show a report's figures."""

from django import template

register = template.Library()
DASH = "\N{EN DASH}"  # "no figure", as opposed to a zero


@register.filter
def percent(ratio: float | None) -> str:
    """A share from 0 to 1 as a percentage with one decimal ("12.5%"), or a dash when there was nothing to share."""
    return DASH if ratio is None else f"{ratio:.1%}"


@register.filter
def hour(value: int | None) -> str:
    """An hour of the day as a clock time ("09:00"), or a dash."""
    return DASH if value is None else f"{value:02d}:00"
