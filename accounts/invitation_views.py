"""Pages of invitations: accepting one from the emailed link, and resending or revoking one from Members.

Thin: the rules live in accounts.invitations. Every way an invitation cannot be used (unknown link,
accepted, revoked, expired, wrong account) gets its own clear page and changes nothing.
"""

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import invitations
from accounts.access import manager_required, request_membership
from accounts.forms import InvitationNewAccountForm, InvitationSignInForm
from accounts.login_limits import LoginThrottled, login_authenticate
from accounts.models import Invitation
from spacemanager.errors import DomainError, PermissionDenied, ValidationFailed
from spacemanager.ratelimit import rate_limited_response
from spacemanager.web import form_add_error

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

PROBLEM_TITLES = {
    "invitation_invalid": "This invitation link does not work",
    "invitation_accepted": "This invitation was already accepted",
    "invitation_revoked": "This invitation was withdrawn",
    "invitation_expired": "This invitation has expired",
    "invitation_wrong_account": "This invitation is for someone else",
    "already_member": "You are already a member",
}


def _problem(request: HttpRequest, error: DomainError) -> HttpResponse:
    context = {"title": PROBLEM_TITLES.get(error.code, "This invitation cannot be used"), "error": error}
    return render(request, "accounts/invitation_problem.html", context, status=error.http_status)


def _joined(request: HttpRequest, membership) -> HttpResponse:
    messages.success(request, f"Welcome to {request.tenant.name}! You joined as {membership.get_role_display()}.")
    return redirect("accounts:dashboard")


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link. Signed in as the invited account: one button. Otherwise the invited address's
    password (it has an account) or a new name and password (it has none)."""
    try:
        invitation = invitations.invitation_get_by_token(token=token, organization=request.tenant)
        invitations.invitation_check_usable(invitation)
    except DomainError as exc:
        return _problem(request, exc)
    user = request.user if request.user.is_authenticated else None
    if user is not None and user.email.lower() != invitation.email.lower():
        return _problem(
            request,
            PermissionDenied(
                f"This invitation is for {invitation.email}, and you are signed in as {user.email}. "
                "Log out, then open the link again.",
                code="invitation_wrong_account",
            ),
        )
    has_account = user is not None or invitations.invitation_account_exists(invitation)
    form_class = InvitationSignInForm if user is None and has_account else InvitationNewAccountForm
    form = None if user is not None else form_class(request.POST if request.method == "POST" else None)
    context = {"invitation": invitation, "form": form, "has_account": has_account, "signed_in": user is not None}
    if request.method == "GET":
        return render(request, "accounts/invitation_accept.html", context)

    if form is not None and not form.is_valid():
        return render(request, "accounts/invitation_accept.html", context, status=400)
    try:
        if user is not None:
            membership = invitations.invitation_accept(token=token, organization=request.tenant, user=user)
        elif has_account:
            try:  # the same failure counting as every login (accounts.login_limits)
                user = login_authenticate(
                    request, email=invitation.email, password=form.cleaned_data["password"], accept=lambda u: u
                )
            except LoginThrottled as exc:
                return rate_limited_response(request, exc.retry_after, what="failed logins")
            if user is None:
                raise ValidationFailed("Wrong password for this account.", field="password")
            membership = invitations.invitation_accept(token=token, organization=request.tenant, user=user)
        else:
            membership = invitations.invitation_accept(token=token, organization=request.tenant, **form.cleaned_data)
            user = membership.user
    except DomainError as exc:
        if exc.field and form is not None and exc.field in form.fields:
            form_add_error(form, exc)
            return render(request, "accounts/invitation_accept.html", context, status=400)
        return _problem(request, exc)
    if not request.user.is_authenticated:
        auth_login(request, user, backend=MODEL_BACKEND)
    return _joined(request, membership)


def _invitation_or_404(request: HttpRequest, pk: int) -> Invitation:
    return get_object_or_404(Invitation.objects.filter(organization=request.tenant), pk=pk)


@require_POST
@manager_required
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _invitation_or_404(request, pk)
    try:
        invitations.invitation_resend(actor=request_membership(request), invitation=invitation)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"A new invitation link was emailed to {invitation.email}.")
    return redirect("accounts:members")


@require_POST
@manager_required
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _invitation_or_404(request, pk)
    try:
        invitations.invitation_revoke(actor=request_membership(request), invitation=invitation)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The invitation to {invitation.email} was withdrawn; its link no longer works.")
    return redirect("accounts:members")
