from django.urls import path

from reports import api

app_name = "reports_api"

urlpatterns = [
    path("analytics", api.AnalyticsView.as_view(), name="analytics"),
    path("reports", api.ReportListView.as_view(), name="list"),
    path("reports/<int:pk>", api.ReportDetailView.as_view(), name="detail"),
]
