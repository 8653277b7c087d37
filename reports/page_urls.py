"""Report pages of an organization's site (the API lives in reports/urls.py)."""

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("generate/", views.report_generate, name="generate"),
    path("<int:pk>/", views.report_detail, name="detail"),
    path("<int:pk>/csv/", views.report_csv, name="csv"),
]
