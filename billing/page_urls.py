from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("invoices/", views.invoice_list, name="list"),
    path("invoices/mine/", views.invoice_mine, name="mine"),
    path("invoices/generate", views.invoice_generate, name="generate"),
    path("invoices/<int:pk>/", views.invoice_detail, name="detail"),
    path("invoices/<int:pk>/invoice.pdf", views.invoice_document, {"kind": "pdf"}, name="pdf"),
    path("invoices/<int:pk>/invoice.csv", views.invoice_document, {"kind": "csv"}, name="csv"),
    path("invoices/<int:pk>/issue", views.invoice_issue, name="issue"),
    path("invoices/<int:pk>/mark-paid", views.invoice_mark_paid, name="mark_paid"),
    path("invoices/<int:pk>/void", views.invoice_void, name="void"),
    path("settings/billing/", views.billing_settings, name="settings"),
]
