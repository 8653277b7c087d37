"""URLs of an organization's site (<slug>.BASE_DOMAIN): its pages, its API and its admin (superusers)."""

from django.urls import include, path

from spacemanager.admin import organization_admin_site
from spacemanager.api_urls import docs_patterns, tenant_api_patterns
from spaces.media_views import media_file
from tenants.page_urls import organization_patterns as organization_page_patterns

urlpatterns = [
    path("api/v1/", include(tenant_api_patterns)),
    *docs_patterns,
    path("", include("accounts.page_urls")),
    path("schedule/", include("spaces.schedule_urls")),
    path("spaces/", include("spaces.page_urls")),
    path("reservations/", include("reservations.page_urls")),
    path("equipment/", include("equipment.page_urls")),
    path("", include(organization_page_patterns)),
    path("reports/", include("reports.page_urls")),
    path("", include("integrations.page_urls")),
    path("", include("billing.page_urls")),
    path("analytics/", include("reports.analytics_urls")),
    path("admin/", organization_admin_site.urls),
    path("media/<path:name>", media_file, name="media"),
]

handler400 = "spacemanager.responses.handler400"
handler403 = "spacemanager.responses.handler403"
handler404 = "spacemanager.responses.handler404"
handler500 = "spacemanager.responses.handler500"
