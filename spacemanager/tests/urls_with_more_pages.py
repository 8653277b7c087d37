"""The organization URLconf plus a page that crashes."""

from django.urls import path

from spacemanager.urls_tenant import urlpatterns as tenant_urlpatterns


def crash(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("crash/", crash),
    *tenant_urlpatterns,
]

handler500 = "spacemanager.responses.handler500"
