"""The page behind the reminder email's check-in link. No login: the signed link is the permission, for that
one reservation inside its window. GET shows the booking and one button; the POST checks in, so that mail
scanners and link previews, which fetch links, never check anyone in."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.selectors import membership_get
from reservations import services
from reservations.check_in_links import CheckInLinkExpired, CheckInLinkInvalid, check_in_token_read
from reservations.models import Reservation
from reservations.views import _when
from spacemanager.errors import DomainError
from spaces.localtime import in_organization_time

TEMPLATE = "reservations/check_in_link.html"


def _problem(request: HttpRequest, *, title: str, message: str, status: int, reservation=None) -> HttpResponse:
    context = {"title": title, "message": message, "reservation": reservation}
    return render(request, TEMPLATE, context, status=status)


def _invalid(request: HttpRequest) -> HttpResponse:
    return _problem(
        request,
        title="This check-in link is not valid",
        message="It may have been cut short or changed. Use the link in your reminder email, or check in from the "
        "booking's page after logging in.",
        status=400,
    )


def _closed(request: HttpRequest, reservation: Reservation | None) -> HttpResponse:
    return _problem(
        request,
        title="The check-in window is closed",
        message="Check-in is open from 15 minutes before the start until the end of the space's grace period.",
        status=410,
        reservation=reservation,
    )


def _refused(request: HttpRequest, reservation: Reservation, error: DomainError) -> HttpResponse:
    if error.code == "check_in_closed":
        return _problem(
            request, title="The check-in window is closed", message=error.message, status=410, reservation=reservation
        )
    return _problem(
        request,
        title="This booking cannot be checked in to",
        message=error.message,
        status=error.http_status,
        reservation=reservation,
    )


@require_http_methods(["GET", "POST"])
@in_organization_time
def reservation_check_in_link(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    expired = False
    try:
        check_in_token_read(token=token, reservation_id=pk, organization=request.tenant)
    except CheckInLinkInvalid:
        return _invalid(request)
    except CheckInLinkExpired:
        expired = True
    reservation = Reservation.objects.select_related("space").filter(pk=pk).first()
    if reservation is None:
        return _invalid(request)
    if expired:
        return _closed(request, reservation)
    booker = User.objects.filter(pk=reservation.user_id).first()
    actor = membership_get(user=booker, organization=request.tenant) if booker else None
    if actor is None:
        return _problem(
            request,
            title="This link no longer works",
            message="The person who booked is no longer a member of this organization.",
            status=403,
            reservation=reservation,
        )
    if request.method == "GET":
        # Say now what the button would answer (the service decides again on the POST).
        refusal = services.reservation_check_in_refusal(reservation=reservation)
        if refusal is not None:
            return _refused(request, reservation, refusal)
        context = {"title": f"Check in to {reservation.space.name}", "reservation": reservation}
        return render(request, TEMPLATE, {**context, "when": _when(reservation), "can_check_in": True})
    try:
        reservation = services.reservation_check_in(actor=actor, reservation=reservation)
    except DomainError as exc:
        return _refused(request, reservation, exc)
    messages.success(request, f"Checked in to {reservation.space.name}, {_when(reservation)}.")
    return redirect(request.path)
