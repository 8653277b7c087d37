"""The API's URL lists, one per host kind; the OpenAPI schema documents both together."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from spacemanager.strict import strict_views

public_api_patterns = [
    path("", include("tenants.urls")),
]

tenant_api_patterns = [
    path("", include("accounts.urls")),
    path("", include("spaces.urls")),
    path("", include("reservations.urls")),
    path("", include("reports.urls")),
    path("", include("integrations.urls")),
    path("", include("tenants.organization_urls")),
]

# Every API view refuses what its operation does not document (spacemanager/strict.py), new ones included.
strict_views(public_api_patterns)
strict_views(tenant_api_patterns)


class FullSchemaView(SpectacularAPIView):
    """One schema for integrators: the public host's endpoints and every organization host's endpoints."""

    urlconf = "spacemanager.urls_schema"


docs_patterns = [
    path("api/schema/", FullSchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]
