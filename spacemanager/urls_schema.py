"""Not served: the union of both hosts' API routes, from which the OpenAPI schema is generated."""

from django.urls import include, path

from spacemanager.api_urls import public_api_patterns, tenant_api_patterns

urlpatterns = [
    path("api/v1/", include(public_api_patterns)),
    path("api/v1/", include(tenant_api_patterns)),
]
