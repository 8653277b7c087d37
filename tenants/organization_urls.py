from django.urls import path

from tenants import organization_api

app_name = "organization_api"

urlpatterns = [
    path("organization", organization_api.OrganizationView.as_view(), name="organization"),
]
