"""The organization URLconf plus stand-ins for pages other apps add later, and a page that crashes."""

from django.http import HttpResponse
from django.urls import include, path

from spacemanager.urls_tenant import urlpatterns as tenant_urlpatterns


def placeholder(request):
    return HttpResponse("placeholder")


def crash(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("spaces/", include(([path("", placeholder, name="list")], "spaces"))),
    path("reservations/", include(([path("mine/", placeholder, name="mine")], "reservations"))),
    path("crash/", crash),
    *tenant_urlpatterns,
]

handler500 = "spacemanager.responses.handler500"
