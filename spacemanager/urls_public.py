"""URLs of the public site (BASE_DOMAIN): landing, sign-up, registration API, platform admin."""

from django.contrib import admin
from django.urls import include, path

from spacemanager.api_urls import docs_patterns, public_api_patterns
from tenants.page_urls import public_patterns as public_page_patterns

urlpatterns = [
    path("api/v1/", include(public_api_patterns)),
    *docs_patterns,
    path("admin/", admin.site.urls),
    path("", include(public_page_patterns)),
]

handler400 = "spacemanager.responses.handler400"
handler403 = "spacemanager.responses.handler403"
handler404 = "spacemanager.responses.handler404"
handler500 = "spacemanager.responses.handler500"
