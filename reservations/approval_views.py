"""Declining a request from the page an approver's email links to. Thin: the rule is
reservations.services.reservation_decline."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.access import manager_required, request_membership
from reservations import services
from reservations.models import Reservation
from reservations.selectors import reservation_get
from spacemanager.errors import DomainError, NotFound
from spacemanager.web import form_add_error
from spaces.localtime import in_organization_time


class DeclineForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=services.DECLINE_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The person who asked reads it in their email.",
    )


@require_http_methods(["GET", "POST"])
@manager_required
@in_organization_time
def reservation_decline(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        reservation = reservation_get(actor=request_membership(request), reservation_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if reservation.status != Reservation.Status.PENDING:
        messages.info(request, f"This reservation is {reservation.get_status_display().lower()}; nothing to decline.")
        return redirect("reservations:detail", pk=reservation.pk)
    form = DeclineForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            services.reservation_decline(
                actor=request_membership(request), reservation=reservation, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            form_add_error(form, exc)
        else:
            messages.success(request, f"Declined the request for {reservation.space.name}; the booker is told.")
            return redirect("reservations:all")
    status = 400 if form.is_bound else 200
    return render(
        request, "reservations/reservation_decline.html", {"reservation": reservation, "form": form}, status=status
    )
