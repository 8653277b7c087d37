"""The API's URL lists, one per host kind; the OpenAPI schema documents both together."""

import functools
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, reverse
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from spacemanager.strict import strict_views

public_api_patterns = [
    path("", include("tenants.urls")),
]

tenant_api_patterns = [
    path("", include("accounts.urls")),
    path("", include("spaces.urls")),
    path("", include("reservations.urls")),
    path("", include("equipment.urls")),
    path("", include("reports.urls")),
    path("", include("integrations.urls")),
    path("", include("billing.urls")),
    path("", include("tenants.organization_urls")),
]

# Every API view refuses what its operation does not document (spacemanager/strict.py), new ones included.
strict_views(public_api_patterns)
strict_views(tenant_api_patterns)


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


REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
# The one address the ReDoc bundle fetches by itself: its footer's logo. Without it the image is not shown
# (its error handler hides it) and nothing is requested.
REDOC_OUTSIDE_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@functools.cache
def _redoc_bundle_without_outside_logo() -> bytes:
    return Path(finders.find(REDOC_BUNDLE)).read_bytes().replace(REDOC_OUTSIDE_LOGO, b"")


def redoc_bundle(request: HttpRequest) -> HttpResponse:
    """The sidecar's ReDoc build, less the logo it would fetch from its makers' CDN."""
    return HttpResponse(
        _redoc_bundle_without_outside_logo(),
        content_type="application/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


class RedocView(SameOriginDocsMixin, SpectacularRedocView):
    template_name = "api/redoc.html"

    @staticmethod
    def _redoc_standalone() -> str:
        return reverse("redoc-bundle")


docs_patterns = [
    path("api/schema/", FullSchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    path("api/redoc/redoc.standalone.js", redoc_bundle, name="redoc-bundle"),
]
