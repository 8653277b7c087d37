from django.urls import path

from tenants import api

app_name = "tenants_api"

urlpatterns = [
    path("auth/register", api.RegisterView.as_view(), name="register"),
]
