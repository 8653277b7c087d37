"""Settings → API keys: list, create (the key is shown once, in the answer to the form), revoke. Thin."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts import api_keys
from accounts.access import manager_required, request_membership
from accounts.forms import ApiKeyCreateForm
from accounts.models import ApiKey
from spacemanager.errors import DomainError
from spacemanager.web import form_add_error


def _end_of_day(day, timezone_name: str) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(timezone_name))


def _page(request: HttpRequest, form: ApiKeyCreateForm, *, new_key: str = "", status: int = 200) -> HttpResponse:
    keys = ApiKey.objects.select_related("created_by").filter(organization=request.tenant)
    context = {"form": form, "keys": keys, "new_key": new_key, "now": timezone.now()}
    return render(request, "accounts/apikey_list.html", context, status=status)


@require_http_methods(["GET", "POST"])
@manager_required
def api_key_list(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, ApiKeyCreateForm())
    form = ApiKeyCreateForm(request.POST)
    if form.is_valid():
        expires_on = form.cleaned_data["expires_on"]
        try:
            issued = api_keys.api_key_create(
                actor=request_membership(request),
                organization=request.tenant,
                name=form.cleaned_data["name"],
                scopes=form.scopes(),
                expires_at=_end_of_day(expires_on, request.tenant.timezone) if expires_on else None,
            )
        except DomainError as exc:
            form_add_error(form, exc, field_map={"expires_at": "expires_on"})
        else:
            # Rendered, not redirected: the key must not travel through the session or a message.
            return _page(request, ApiKeyCreateForm(), new_key=issued.key, status=201)
    return _page(request, form, status=400)


@require_POST
@manager_required
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey.objects.filter(organization=request.tenant), pk=pk)
    try:
        api_keys.api_key_revoke(actor=request_membership(request), api_key=api_key)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The key “{api_key.name}” was revoked; it no longer works.")
    return redirect("accounts:api_keys")
