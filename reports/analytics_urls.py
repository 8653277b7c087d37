"""The analytics pages of an organization's site, at /analytics/ (beside the monthly reports, not under them)."""

from django.urls import path, re_path

from reports import views

app_name = "analytics"

urlpatterns = [
    path("", views.analytics_dashboard, name="dashboard"),
    re_path(r"^bookings\.(?P<extension>csv|xlsx)$", views.analytics_export, name="export"),
]
