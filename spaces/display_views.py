"""Room display pages (spaces.displays): the tablet's page and its fragment, "Book now", the display's check-in,
the QR code's check-in for whoever stands at the room, and (owners and admins) making and revoking display links.

The tablet's pages read only the display cookie (path-scoped to that space's display), never a login: a display
link gives no access to anything else, and a person's login gives no access to a display's buttons."""

import segno
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import manager_required, member_required, request_membership
from spacemanager.errors import DomainError, NotFound
from spaces import displays
from spaces.localtime import in_organization_time
from spaces.models import DisplayLink
from spaces.selectors import space_get

COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie; revoking ends it sooner


def _display_path(space_id: int) -> str:
    return reverse("spaces:display", args=[space_id])


def _not_signed_in(request: HttpRequest) -> HttpResponse:
    response = render(request, "spaces/display_signed_out.html", status=403)
    response.headers["HX-Refresh"] = "true"  # a polling tablet reloads and shows this page
    add_never_cache_headers(response)
    return response


def _display_link(request: HttpRequest, pk: int) -> DisplayLink | None:
    link = displays.display_link_for_secret(request.COOKIES.get(displays.COOKIE), space_id=pk)
    if link is not None:
        displays.display_link_seen(link, now=timezone.now())
    return link


@require_GET
def display_open(request: HttpRequest, secret: str) -> HttpResponse:
    """The display link: sign this browser in as the room's display (a cookie for that display's pages only)."""
    link = displays.display_link_for_secret(secret)
    if link is None:
        return _not_signed_in(request)
    path = _display_path(link.space_id)
    response = redirect(path)
    response.set_cookie(
        displays.COOKIE,
        secret,
        max_age=COOKIE_MAX_AGE,
        path=path,
        httponly=True,
        samesite="Strict",
        secure=request.is_secure(),
    )
    add_never_cache_headers(response)
    return response


def _render_display(request: HttpRequest, link: DisplayLink, template: str, status: int = 200, **extra):
    state = displays.display_state(link=link)
    context = {"state": state, "space": state.space, "refresh_seconds": settings.DISPLAY_REFRESH_SECONDS, **extra}
    response = render(request, template, context, status=status)
    add_never_cache_headers(response)
    return response


@require_GET
@in_organization_time
def display(request: HttpRequest, pk: int) -> HttpResponse:
    """The tablet's page: it asks for its fragment again every 15 seconds (htmx), through restarts too."""
    link = _display_link(request, pk)
    if link is None:
        return _not_signed_in(request)
    return _render_display(request, link, "spaces/display.html")


@require_GET
@in_organization_time
def display_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """The part of the tablet's page that changes: state, bookings, buttons."""
    link = _display_link(request, pk)
    if link is None:
        return _not_signed_in(request)
    return _render_display(request, link, "spaces/_display_state.html")


@require_POST
@in_organization_time
def display_book(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Book now" for 15, 30 or 60 minutes (the booking service's rules apply; a refusal is shown)."""
    link = _display_link(request, pk)
    if link is None:
        return _not_signed_in(request)
    try:
        minutes = int(request.POST.get("minutes", ""))
    except ValueError:
        minutes = 0
    try:
        displays.display_book_now(link=link, minutes=minutes)
    except DomainError as exc:
        return _display_after(request, link, error=exc.message)
    return _display_after(request, link, notice=f"Booked for {minutes} minutes.")


@require_POST
@in_organization_time
def display_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """Check in the booking under way, from the tablet."""
    link = _display_link(request, pk)
    if link is None:
        return _not_signed_in(request)
    try:
        reservation_id = int(request.POST.get("reservation", ""))
    except ValueError:
        reservation_id = 0
    try:
        displays.display_check_in(link=link, reservation_id=reservation_id)
    except DomainError as exc:
        return _display_after(request, link, error=exc.message)
    return _display_after(request, link, notice="Checked in.")


def _display_after(request: HttpRequest, link: DisplayLink, *, error: str = "", notice: str = "") -> HttpResponse:
    """htmx swaps the fragment in; without JavaScript the whole page comes back (400 with the refusal)."""
    template = "spaces/_display_state.html" if request.htmx else "spaces/display.html"
    # htmx swaps 200s only: a refusal is shown in the fragment, and is still a 400 without JavaScript.
    status = 400 if error and not request.htmx else 200
    return _render_display(request, link, template, status=status, error=error, notice=notice)


def _space_or_404(pk: int):
    try:
        return space_get(space_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_http_methods(["GET", "POST"])
@member_required
@in_organization_time
def space_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """Where the room's QR code leads: a member checks in to their booking of this room that is under way."""
    space = _space_or_404(pk)
    status = 200
    if request.method == "POST":
        try:
            reservation = displays.space_check_in_mine(actor=request_membership(request), space=space)
        except DomainError as exc:
            messages.error(request, exc.message)
            status = 400
        else:
            messages.success(request, f"Checked in to {space.name}.")
            return redirect("reservations:detail", pk=reservation.pk)
    return render(request, "spaces/space_check_in.html", {"space": space}, status=status)


def check_in_qr_svg(request: HttpRequest, space_id: int) -> str:
    """The QR code (inline SVG) for the space's check-in page, for printing beside the room."""
    url = request.build_absolute_uri(reverse("spaces:check-in", args=[space_id]))
    qr = segno.make(url, error="m")
    svg = qr.svg_inline(scale=4, title=f"Check in: {url}", svgclass="check-in-qr", lineclass=None)
    return mark_safe(svg)  # noqa: S308 - segno's own markup of our URL


@require_POST
@manager_required
def display_link_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Make a display link for this space; its secret is shown on this page once."""
    space = _space_or_404(pk)
    try:
        link, secret = displays.display_link_create(
            actor=request_membership(request), space=space, name=request.POST.get("name", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("spaces:detail", pk=space.pk)
    url = request.build_absolute_uri(reverse("spaces:display-open", args=[secret]))
    response = render(request, "spaces/display_link_created.html", {"space": space, "link": link, "url": url})
    add_never_cache_headers(response)
    return response


@require_POST
@manager_required
def display_link_revoke(request: HttpRequest, pk: int, link_id: int) -> HttpResponse:
    """Revoke a display link: its tablet is signed out at its next refresh."""
    link = DisplayLink.objects.filter(pk=link_id, space_id=pk).first()
    if link is None:
        raise Http404("No such display link here.")
    displays.display_link_revoke(actor=request_membership(request), link=link)
    messages.success(request, f"Revoked the display link {link}.")
    return redirect("spaces:detail", pk=pk)
