"""Pages of an organization's site: login, logout, password reset, dashboard, members. Thin: parse, call a
selector or service, render. Access rules come from accounts.access, business rules from accounts.services."""

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.generic import TemplateView

from accounts import invitations, services
from accounts.access import (
    ManagerRequiredMixin,
    MemberRequiredMixin,
    forbidden_page,
    manager_required,
    request_membership,
)
from accounts.forms import LoginForm, MemberAddForm, MemberRoleForm, OrganizationPasswordResetForm
from accounts.login_limits import LoginThrottled
from accounts.login_links import login_link_token_use
from accounts.models import Invitation, Membership
from accounts.selectors import membership_list
from spacemanager.errors import DomainError
from spacemanager.ratelimit import rate_limit_refusal, rate_limited_response
from spacemanager.web import form_add_error


class LoginPageView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Only a member is sent on; a logged-in non-member may log in as someone else here.
        if request.method == "GET" and request_membership(request) is not None:
            return redirect(self.get_success_url())
        return super().dispatch(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return super().post(request, *args, **kwargs)
        except LoginThrottled as exc:  # from the form's password check (accounts.login_limits)
            return rate_limited_response(request, exc.retry_after, what="failed logins")


class LogoutPageView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have been logged out.")
        return response


@require_GET
def welcome(request: HttpRequest, token: str) -> HttpResponse:
    """Land a new owner, logged in, on their organization right after sign-up (see accounts.login_links)."""
    user = login_link_token_use(token=token, organization=request.tenant)
    if user is None:
        messages.info(request, "This sign-in link has expired or was already used. Please log in.")
        return redirect("accounts:login")
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"Welcome to {request.tenant.name}! Your organization is ready.")
    return redirect("accounts:dashboard")


class DashboardView(MemberRequiredMixin, TemplateView):
    """The organization's home page (members). Further panels (next reservations, today's bookings, pending
    approvals) plug into the blocks of accounts/dashboard.html; add their data in get_context_data."""

    template_name = "accounts/dashboard.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        if request_membership(self.request).is_manager:
            context["member_count"] = membership_list(organization=self.request.tenant).count()
        return context


class PasswordResetPageView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    form_class = OrganizationPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "organization": self.request.tenant}

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return rate_limit_refusal(request, scope="password_reset") or super().post(request, *args, **kwargs)

    def form_valid(self, form: OrganizationPasswordResetForm) -> HttpResponse:
        # The link's scheme, host and port come from configuration, never from this request's Host header.
        self.extra_email_context = {"organization": self.request.tenant, "site_url": self.request.tenant.link("")}
        return super().form_valid(form)


class PasswordResetDonePageView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmPageView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompletePageView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


MEMBERS_PER_PAGE = 50


class MembersView(ManagerRequiredMixin, TemplateView):
    """Members list with the "add a member" form (owners and admins)."""

    template_name = "accounts/membership_list.html"

    def get_context_data(self, **kwargs) -> dict:
        return {
            **super().get_context_data(**kwargs),
            "page": Paginator(membership_list(organization=self.request.tenant), MEMBERS_PER_PAGE).get_page(
                self.request.GET.get("page")
            ),
            # Open ones, expired included: resending revives an expired invitation.
            "invitations": Invitation.objects.select_related("invited_by").filter(
                organization=self.request.tenant, accepted_at=None, revoked_at=None
            ),
            "now": timezone.now(),
            "add_form": kwargs.get("add_form") or MemberAddForm(),
            "roles": Membership.Role.choices,
        }

    def post(self, request: HttpRequest) -> HttpResponse:
        form = MemberAddForm(request.POST)
        if form.is_valid():
            try:
                issued = invitations.invitation_create(
                    actor=request_membership(request), organization=request.tenant, **form.cleaned_data
                )
            except DomainError as exc:
                form_add_error(form, exc)
            else:
                messages.success(request, _invited_message(issued.invitation))
                return redirect("accounts:members")
        return self.render_to_response(self.get_context_data(add_form=form), status=400)


def _invited_message(invitation: Invitation) -> str:
    """The same words for a new address and an existing account: nothing about the person is revealed."""
    return (
        f"An invitation to join as {invitation.get_role_display()} was emailed to {invitation.email}. "
        "They become a member when they accept it."
    )


def _member_or_404(request: HttpRequest, pk: int) -> Membership:
    return get_object_or_404(membership_list(organization=request.tenant), pk=pk)


@require_POST
@manager_required
def member_change_role(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _member_or_404(request, pk)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Choose a role for {membership.user.get_full_name()}.")
        return redirect("accounts:members")
    try:
        services.member_change_role(
            actor=request_membership(request), membership=membership, role=form.cleaned_data["role"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.get_full_name()} is now {membership.get_role_display()}.")
    return redirect("accounts:members")


@require_http_methods(["GET", "POST"])
@manager_required
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (works without JavaScript); POST removes."""
    membership = _member_or_404(request, pk)
    if request.method == "GET":
        return render(request, "accounts/membership_confirm_remove.html", {"target": membership})
    try:
        services.member_remove(actor=request_membership(request), membership=membership)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.get_full_name()} was removed from {request.tenant.name}.")
    return redirect("accounts:members")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: say what happened and what to do, in the usual layout."""
    return forbidden_page(
        request,
        "This form has expired or was sent from another site. Go back, reload the page and try again.",
    )
