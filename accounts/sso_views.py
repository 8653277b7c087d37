"""Single sign-on pages: start and finish the sign-in, and Settings → Single sign-on for owners. Thin: the
rules live in accounts.sso."""

from django import forms
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import sso
from accounts.access import forbidden_page, manager_required, request_membership
from accounts.models import Membership, SsoProvider
from spacemanager.errors import DomainError
from spacemanager.web import form_add_error
from tenants.selectors import organization_url_for_request

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _provider_or_404(request: HttpRequest, pk: int) -> SsoProvider:
    return get_object_or_404(sso.sso_providers_for_login(organization=request.tenant), pk=pk)


PENDING_KEY = "sso_pending_provider_id"  # which provider the flow in progress belongs to


def callback_url(request: HttpRequest) -> str:
    """The organization's one redirect URI, which owners register at each provider (the settings page shows it)."""
    return organization_url_for_request(request.tenant, request).rstrip("/") + reverse("accounts:sso_callback")


NO_FLOW = sso.SsoFailed(
    "No sign-in was started from this browser, or it was already finished. Start again from the login page.",
    code="sso_state_mismatch",
)


def _problem(request: HttpRequest, provider: SsoProvider, error: DomainError) -> HttpResponse:
    context = {"provider": provider, "error": error}
    return render(request, "accounts/sso_problem.html", context, status=error.http_status)


@require_GET
def sso_start(request: HttpRequest, pk: int) -> HttpResponse:
    provider = _provider_or_404(request, pk)
    try:
        response = sso.sso_authorize_redirect(provider=provider, request=request, redirect_uri=callback_url(request))
    except DomainError as exc:
        return _problem(request, provider, exc)
    request.session[PENDING_KEY] = provider.pk
    return response


@require_GET
def sso_callback(request: HttpRequest) -> HttpResponse:
    pending = request.session.pop(PENDING_KEY, None)
    provider = sso.sso_providers_for_login(organization=request.tenant).filter(pk=pending).first()
    if provider is None:
        return render(request, "accounts/sso_problem.html", {"error": NO_FLOW}, status=400)
    try:
        identity = sso.sso_identity_from_callback(provider=provider, request=request)
        membership = sso.sso_sign_in(provider=provider, identity=identity)
    except DomainError as exc:
        return _problem(request, provider, exc)
    auth_login(request, membership.user, backend=MODEL_BACKEND)
    request.session[sso.SESSION_KEY] = provider.pk  # this session stays in this organization
    messages.success(request, f"Signed in to {request.tenant.name} with {provider.name}.")
    return redirect("accounts:dashboard")


class ProviderForm(forms.Form):
    name = forms.CharField(max_length=60, help_text="The login page shows “Sign in with <name>”.")
    issuer = forms.URLField(
        max_length=300, assume_scheme="https", label="Issuer URL", help_text="e.g. https://accounts.google.com"
    )
    client_id = forms.CharField(max_length=255, label="Client ID")
    client_secret = forms.CharField(
        max_length=500, label="Client secret", widget=forms.PasswordInput(render_value=False)
    )
    allowed_domains = forms.CharField(
        max_length=2000,
        label="Allowed email domains",
        help_text="Comma-separated, e.g. example.com, example.org. Anyone else is refused.",
    )
    role = forms.ChoiceField(
        choices=[(value, label) for value, label in Membership.Role.choices if value in sso.ROLES_BY_SSO],
        label="Role of people who join this way",
    )

    def service_arguments(self) -> dict:
        values = dict(self.cleaned_data)
        values["allowed_domains"] = [part for part in values["allowed_domains"].split(",") if part.strip()]
        return values


class PolicyForm(forms.Form):
    sso_required = forms.BooleanField(required=False, label="Require single sign-on for everyone except owners")


def _owners_only(request: HttpRequest) -> HttpResponse | None:
    if not request_membership(request).is_owner:
        return forbidden_page(request, "Only the organization's owners configure single sign-on.")
    return None


def _settings_page(request, *, provider_form=None, policy_form=None, status=200) -> HttpResponse:
    providers = SsoProvider.objects.filter(organization=request.tenant)
    policy_form = policy_form or PolicyForm(initial={"sso_required": sso.sso_required(organization=request.tenant)})
    context = {
        "providers": providers,
        "redirect_uri": callback_url(request),
        "provider_form": provider_form or ProviderForm(),
        "policy_form": policy_form,
    }
    return render(request, "accounts/sso_settings.html", context, status=status)


@require_http_methods(["GET", "POST"])
@manager_required
def sso_settings(request: HttpRequest) -> HttpResponse:
    refusal = _owners_only(request)
    if refusal is not None:
        return refusal
    if request.method == "GET":
        return _settings_page(request)
    actor = request_membership(request)
    if "sso_required_form" in request.POST:
        policy_form = PolicyForm(request.POST)
        if policy_form.is_valid():
            try:
                sso.sso_policy_set(actor=actor, organization=request.tenant, **policy_form.cleaned_data)
            except DomainError as exc:
                form_add_error(policy_form, exc)
            else:
                messages.success(request, "Single sign-on policy saved.")
                return redirect("accounts:sso_settings")
        return _settings_page(request, policy_form=policy_form, status=400)
    form = ProviderForm(request.POST)
    if form.is_valid():
        try:
            provider = sso.sso_provider_create(actor=actor, organization=request.tenant, **form.service_arguments())
        except DomainError as exc:
            form_add_error(form, exc)
        else:
            messages.success(request, f"{provider.name} added. Register {callback_url(request)} as its redirect URI.")
            return redirect("accounts:sso_settings")
    return _settings_page(request, provider_form=form, status=400)


@require_POST
@manager_required
def sso_provider_delete(request: HttpRequest, pk: int) -> HttpResponse:
    refusal = _owners_only(request)
    if refusal is not None:
        return refusal
    provider = get_object_or_404(SsoProvider.objects.filter(organization=request.tenant), pk=pk)
    sso.sso_provider_delete(actor=request_membership(request), provider=provider)
    messages.success(request, f"{provider.name} was removed from the login page.")
    return redirect("accounts:sso_settings")
