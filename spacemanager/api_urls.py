"""The API's URL lists, one per host kind; the OpenAPI schema documents both together."""

from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

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


# The docs pages' bundles set inline styles; ReDoc runs a worker from a blob:, loads Google's fonts and shows
# its vendor's logo. Scripts stay our own files (Swagger UI's start-up script is served from a URL, not inline).
docs_csp = csp_update(
    {
        "style-src": ["'unsafe-inline'", "https://fonts.googleapis.com"],
        "font-src": ["https://fonts.gstatic.com"],
        "img-src": ["https://cdn.redoc.ly"],
        "worker-src": ["'self'", "blob:"],
    }
)

docs_patterns = [
    path("api/schema/", FullSchemaView.as_view(), name="schema"),
    path("api/docs/", docs_csp(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="swagger-ui"),
    path("api/redoc/", docs_csp(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
]
