"""The API's URL lists, one per host kind; the OpenAPI schema documents both together."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

public_api_patterns = [
    path("", include("tenants.urls")),
]

tenant_api_patterns = [
    path("", include("accounts.urls")),
    path("", include("spaces.urls")),
    path("", include("reservations.urls")),
    path("", include("reports.urls")),
]


class FullSchemaView(SpectacularAPIView):
    """One schema for integrators: the public host's endpoints and every organization host's endpoints."""

    urlconf = "spacemanager.urls_schema"


# The documentation pages load nothing from outside: scripts, styles and images are our static files (the
# sidecar package's Swagger UI and ReDoc builds), fonts are the system's. The policy also stops what the
# bundles would fetch by themselves (ReDoc's footer logo from its makers' CDN). ReDoc and Swagger UI inject
# their styles and run the schema's rendering in a worker from a blob.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)


class SameOriginDocsMixin:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response


class SwaggerView(SameOriginDocsMixin, SpectacularSwaggerSplitView):
    """Swagger UI, its start-up script served as a file (SpectacularSwaggerSplitView) rather than inline."""


class RedocView(SameOriginDocsMixin, SpectacularRedocView):
    template_name = "api/redoc.html"


docs_patterns = [
    path("api/schema/", FullSchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
]
