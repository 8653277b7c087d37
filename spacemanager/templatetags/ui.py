"""Template helpers shared by every page (registered as the `ui` library in settings.TEMPLATES)."""

import secrets

from django import forms, template
from django.forms import BoundField
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from spacemanager.money import money_format

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    """`{{ reservation.price|money:organization.currency }}` → "€1,398.50" (spacemanager.money)."""
    return money_format(amount, currency)


@register.simple_tag
def optional_url(name: str, *args, **kwargs) -> str:
    """The URL for `name`, or "" when the current URLconf has no such page.

    Navigation uses it for pages that another app provides (e.g. `spaces:list`), so a link appears exactly
    when its page exists, and for links shared by the public and organization sites.
    """
    try:
        return reverse(name, args=args, kwargs=kwargs)
    except NoReverseMatch:
        return ""


@register.simple_tag(takes_context=True)
def aria_current(context: template.Context, url: str, *, exact: bool = False) -> SafeString:
    """`aria-current="page"` for the navigation link of the page being shown (screen readers announce it)."""
    request = context.get("request")
    if request is None or not url:
        return mark_safe("")
    here = request.path
    matches = here == url if exact or url == "/" else here.startswith(url)
    return mark_safe('aria-current="page"' if matches else "")  # noqa: S308 (constant markup)


@register.simple_tag
def widget(field: BoundField) -> SafeString:
    """Render a form field's input with Bootstrap's classes; Django adds `aria-invalid` and `aria-describedby`
    (pointing at `<id>_helptext` and `<id>_error`, which templates/_field.html renders)."""
    kind = field.field.widget
    if isinstance(kind, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(kind, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    if field.errors:
        css += " is-invalid"
    existing = kind.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{existing} {css}".strip()})


@register.simple_tag
def form_token() -> SafeString:
    """A one-time token per rendering of a form: sent twice, done once (spacemanager.idempotent_requests)."""
    return format_html('<input type="hidden" name="form_token" value="{}">', secrets.token_urlsafe(24))
