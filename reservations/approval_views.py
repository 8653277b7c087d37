"""Declining a request from the page an approver's email links to. Thin: the rule is
reservations.services.reservation_decline."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.access import manager_required, request_membership
from reservations import approvals, services
from reservations.models import Reservation
from reservations.selectors import reservation_get
from spacemanager.errors import DomainError, NotFound
from spacemanager.web import form_add_error
from spaces.localtime import in_organization_time
from spaces.models import Space


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


class ApproversForm(forms.Form):
    user_ids = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        label="Approvers",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text="They are emailed about this space's requests and decide on them. "
        "Choose nobody to ask every owner and admin.",
    )

    def __init__(self, *args, candidates, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user_ids"].choices = [
            (user.pk, f"{user.full_name} ({user.email})" if user.full_name else user.email) for user in candidates
        ]


@require_http_methods(["GET", "POST"])
@manager_required
def space_approvers(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose who approves a space's requests, over `space_approvers_set` (the API's PUT does the same)."""
    space = Space.objects.filter(pk=pk).first()
    if space is None:
        raise Http404("No such space here.")
    candidates = approvals.approver_candidates(organization=request.tenant)
    if request.method == "GET":
        form = ApproversForm(initial={"user_ids": approvals.space_approver_ids(space=space)}, candidates=candidates)
        return render(request, "reservations/space_approvers.html", {"form": form, "space": space})
    form = ApproversForm(request.POST, candidates=candidates)
    if form.is_valid():
        try:
            chosen = approvals.space_approvers_set(
                actor=request_membership(request), space=space, user_ids=form.cleaned_data["user_ids"]
            )
        except DomainError as exc:
            form_add_error(form, exc)
        else:
            who = f"{len(chosen)} approver{'s' if len(chosen) != 1 else ''}" if chosen else "every owner and admin"
            messages.success(request, f"Requests for {space.name} now go to {who}.")
            return redirect("spaces:detail", pk=space.pk)
    return render(request, "reservations/space_approvers.html", {"form": form, "space": space}, status=400)
