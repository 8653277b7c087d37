"""The person's own pages: profile and notifications, password, "My organizations" (switching without logging
in again), and "find my organization" by email on the public site. Thin: rules live in accounts.profile."""

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import profile
from accounts.access import MemberRequiredMixin, member_required
from accounts.forms import FindByEmailForm, ProfileForm
from accounts.login_links import login_link_token_create, login_link_token_use
from accounts.sso import SESSION_KEY as SSO_SESSION_KEY
from spacemanager.errors import DomainError
from spacemanager.ratelimit import rate_limit_refusal
from spacemanager.web import form_add_error
from tenants.selectors import organization_url_for_request

TENANT_URLCONF = "spacemanager.urls_tenant"
SSO_STAYS = (
    "You signed in with single sign-on, which opens this organization only. "
    "To open another one, log in on its own site."
)
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _profile_page(request: HttpRequest, form: ProfileForm, *, status: int = 200) -> HttpResponse:
    memberships = [
        (membership, membership.organization_id == request.tenant.pk)
        for membership in profile.memberships_of(user=request.user)
    ]
    via_sso = bool(request.session.get(SSO_SESSION_KEY))
    if via_sso:  # a session opened by an organization's identity provider shows only that organization
        memberships = [(membership, here) for membership, here in memberships if here]
    context = {"form": form, "memberships": memberships, "via_sso": via_sso, "sso_stays": SSO_STAYS}
    return render(request, "accounts/profile.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_required
def profile_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _profile_page(request, ProfileForm.for_user(request.user))
    form = ProfileForm.for_user(request.user, data=request.POST)
    if form.is_valid():
        try:
            profile.profile_update(user=request.user, **form.cleaned_data)
        except DomainError as exc:
            form_add_error(form, exc)
        else:
            messages.success(request, "Your profile was saved.")
            return redirect("accounts:profile")
    return _profile_page(request, form, status=400)


class PasswordChangePageView(MemberRequiredMixin, auth_views.PasswordChangeView):
    """Django's password change (old password, new one twice, the validators); the session stays logged in."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password was changed.")
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


@require_POST
@member_required
def organization_switch(request: HttpRequest, membership_id: int) -> HttpResponse:
    """Go to another of the person's organizations, logged in there too (sessions are per host): a one-time
    link (accounts.login_links) carries them across."""
    if request.session.get(SSO_SESSION_KEY):
        messages.error(request, SSO_STAYS)
        return redirect("accounts:profile")
    target = get_object_or_404(profile.memberships_of(user=request.user), pk=membership_id)
    token = login_link_token_create(membership=target)
    arrive = reverse("accounts:arrive", urlconf=TENANT_URLCONF, kwargs={"token": token})
    return redirect(organization_url_for_request(target.organization, request).rstrip("/") + arrive)


@require_GET
def organization_arrive(request: HttpRequest, token: str) -> HttpResponse:
    user = login_link_token_use(token=token, organization=request.tenant)
    if user is None:
        messages.info(request, "This link has expired or was already used. Please log in.")
        return redirect("accounts:login")
    if request.user.is_authenticated and request.user.pk != user.pk:
        raise Http404("This link is for another account.")
    auth_login(request, user, backend=MODEL_BACKEND)
    messages.success(request, f"You are now in {request.tenant.name}.")
    return redirect("accounts:dashboard")


FIND_SENT = (
    "If this address belongs to any organization, we have emailed it their addresses. "
    "Nothing arrived? Check the spelling, or ask a colleague for your organization's address."
)


@require_POST
def find_by_email(request: HttpRequest) -> HttpResponse:
    """Public site. The same answer whether or not the email is known; counted per client address."""
    from tenants.forms import FindOrganizationForm
    from tenants.views import address_suffix

    form = FindByEmailForm(request.POST)
    if not form.is_valid():
        context = {"form": FindOrganizationForm(), "email_form": form, "address_suffix": address_suffix(request)}
        return render(request, "tenants/find_organization.html", context, status=400)
    refusal = rate_limit_refusal(request, scope="find_organization")
    if refusal is not None:
        return refusal
    profile.find_organizations_request(email=form.cleaned_data["email"])
    messages.info(request, FIND_SENT)
    return redirect("site:find")
