"""The organization URLconf without the spaces and booking pages: navigation must not link to them."""

from spacemanager.urls_tenant import urlpatterns as tenant_urlpatterns

urlpatterns = [
    pattern for pattern in tenant_urlpatterns if getattr(pattern, "namespace", None) not in {"spaces", "reservations"}
]
