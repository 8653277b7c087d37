"""The platform's Django admin site: superusers only, on every host where it is mounted."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from spacemanager.ratelimit import rate_limit_refusal


class PlatformAdminSite(admin.AdminSite):
    site_header = "SpaceManager platform admin"
    site_title = "SpaceManager admin"
    index_title = "Organizations, people and domains"

    def has_permission(self, request: HttpRequest) -> bool:
        # Staff flags and model permissions are not enough: the admin crosses organizations.
        return request.user.is_active and request.user.is_superuser

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # Superuser passwords are the most valuable ones: the same login limit as the API and the pages.
        refusal = rate_limit_refusal(request, scope="login") if request.method == "POST" else None
        return refusal or super().login(request, extra_context)
