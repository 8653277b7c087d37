"""Pages about organizations: the public site (landing, sign-up, find my organization) and an organization's
settings page. Thin: parse, call a selector or service, render."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.access import manager_required, request_membership
from accounts.login_links import login_link_token_create
from spacemanager.errors import DomainError
from spacemanager.ratelimit import rate_limit_refusal
from spacemanager.web import form_add_error
from tenants import services
from tenants.forms import FindOrganizationForm, OrganizationSettingsForm, SignupForm, enable_inline_validation
from tenants.selectors import organization_url_for_request

TENANT_URLCONF = "spacemanager.urls_tenant"


def address_suffix(request: HttpRequest) -> str:
    """What follows the slug in an organization's address, as people will type it (with the port locally)."""
    host = request.get_host()
    port = host.rpartition(":")[2] if ":" in host else ""
    return f".{settings.BASE_DOMAIN}" + (f":{port}" if port and port not in {"80", "443"} else "")


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/landing.html", {"address_suffix": address_suffix(request)})


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an organization and its owner, then send the owner, logged in, to the new organization's site."""
    url = reverse("site:signup")
    if request.method == "GET":
        form = enable_inline_validation(SignupForm(), url)
        # A fresh form: signup.js sets the browser's time zone; UTC stays without JavaScript.
        form.fields["timezone"].widget.attrs["data-preset-from-browser"] = ""
        return render(request, "tenants/signup.html", {"form": form, "address_suffix": address_suffix(request)})
    form = enable_inline_validation(SignupForm(request.POST), url)
    if request.htmx and request.htmx.trigger_name in SignupForm.INLINE_FIELDS:
        return signup_field(request, form, request.htmx.trigger_name)
    refusal = rate_limit_refusal(request, scope="register")
    if refusal is not None:
        return refusal
    if form.is_valid():
        values = form.cleaned_data
        try:
            registration = services.organization_register(
                organization_name=values["organization_name"],
                organization_slug=values["organization_slug"],
                owner_email=values["email"],
                owner_password=values["password"],
                owner_full_name=values["full_name"],
                timezone=values["timezone"],
            )
        except (DomainError, ValidationError) as exc:
            form_add_error(form, exc, field_map=SignupForm.SERVICE_FIELD_MAP)
        else:
            token = login_link_token_create(membership=registration.membership)
            welcome = reverse("accounts:welcome", urlconf=TENANT_URLCONF, kwargs={"token": token})
            site = organization_url_for_request(registration.organization, request)
            return redirect(site.rstrip("/") + welcome)
    context = {"form": form, "address_suffix": address_suffix(request)}
    return render(request, "tenants/signup.html", context, status=400)


def signup_field(request: HttpRequest, form: SignupForm, name: str) -> HttpResponse:
    """Inline validation: one field of the sign-up form with its errors, nothing created."""
    form.is_valid()
    suffix = address_suffix(request) if name == "organization_slug" else ""
    return render(request, "_field.html", {"field": form[name], "suffix": suffix})


@require_http_methods(["GET", "POST"])
def find_organization(request: HttpRequest) -> HttpResponse:
    """Type your organization's address, land on its login page."""
    form = FindOrganizationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        site = organization_url_for_request(form.organization, request)
        return redirect(site.rstrip("/") + reverse("accounts:login", urlconf=TENANT_URLCONF))
    context = {"form": form, "address_suffix": address_suffix(request)}
    return render(request, "tenants/find_organization.html", context, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
@manager_required
def organization_settings(request: HttpRequest) -> HttpResponse:
    organization = request.tenant
    if request.method == "GET":
        form = OrganizationSettingsForm.for_organization(organization)
        return render(request, "tenants/organization_settings.html", {"form": form})
    form = OrganizationSettingsForm.for_organization(organization, data=request.POST)
    if form.is_valid():
        try:
            actor = request_membership(request)
            services.organization_update(actor=actor, organization=organization, **form.settings_values)
            services.organization_booking_limits_set(actor=actor, organization=organization, **form.limit_values)
            services.organization_check_in_defaults_set(actor=actor, organization=organization, **form.check_in_values)
        except DomainError as exc:
            form_add_error(form, exc)
        else:
            messages.success(request, "Settings saved.")
            return redirect("organization:settings")
    return render(request, "tenants/organization_settings.html", {"form": form}, status=400)
