from django.urls import path

from billing import api

app_name = "billing_api"

urlpatterns = [
    path("billing-settings", api.BillingSettingsView.as_view(), name="settings"),
    path("invoices", api.InvoiceListView.as_view(), name="invoices"),
    path("invoices/generate", api.InvoiceGenerateView.as_view(), name="invoices-generate"),
    path("invoices/<int:pk>", api.InvoiceDetailView.as_view(), name="invoice"),
    path("invoices/<int:pk>/issue", api.InvoiceIssueView.as_view(), name="invoice-issue"),
    path("invoices/<int:pk>/mark-paid", api.InvoiceMarkPaidView.as_view(), name="invoice-mark-paid"),
    path("invoices/<int:pk>/void", api.InvoiceVoidView.as_view(), name="invoice-void"),
]
