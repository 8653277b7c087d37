"""Billing in an organization's admin (`<slug>.BASE_DOMAIN/admin/`): its settings, saved through billing.services,
and its invoices, read-only (the services make them; an issued invoice never changes), issued or marked paid by
actions that call the same services as the API."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from billing.models import BillingSettings, Invoice, InvoiceLine
from billing.services import (
    SETTINGS_FIELDS,
    billing_settings_get,
    billing_settings_update,
    invoice_issue,
    invoice_mark_paid,
)
from spacemanager.admin import ServiceForm, ServiceModelAdmin, organization_admin_site


@admin.register(BillingSettings, site=organization_admin_site)
class BillingSettingsAdmin(ServiceModelAdmin):
    fields = list(SETTINGS_FIELDS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one row per organization, made when first read

    def changelist_view(self, request: HttpRequest, extra_context=None):
        settings = billing_settings_get()
        return HttpResponseRedirect(reverse("admin:billing_billingsettings_change", args=[settings.pk]))

    def save_through_service(self, request: HttpRequest, form: ServiceForm, formsets: list, change: bool) -> None:
        changes = {field: form.cleaned_data[field] for field in form.changed_data}
        if changes:
            billing_settings_update(actor=self.actor(request), **changes)


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    fields = ["position", "description", "quantity", "unit_price", "amount", "reservation"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Invoice, site=organization_admin_site)
class InvoiceAdmin(ServiceModelAdmin):
    list_display = ["__str__", "month", "buyer_email", "status", "total", "currency", "issued_at", "due_date"]
    list_filter = ["status", "month"]
    search_fields = ["number", "buyer_email", "buyer_name"]
    inlines = [InvoiceLineInline]
    actions = ["issue", "mark_paid"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by generating a month (the API, the pages, the beat job)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # every field is the services' (an issued invoice never changes); the actions act

    @admin.action(description="Issue the selected drafts (numbers them and emails each booker the PDF)")
    def issue(self, request: HttpRequest, queryset) -> None:
        self.run_action(
            request,
            queryset.order_by("pk"),
            lambda actor, invoice: invoice_issue(invoice_id=invoice.pk, actor=actor),
            done="{count} invoice(s) issued.",
        )

    @admin.action(description="Mark the selected issued invoices paid (by hand)")
    def mark_paid(self, request: HttpRequest, queryset) -> None:
        self.run_action(
            request,
            queryset.order_by("pk"),
            lambda actor, invoice: invoice_mark_paid(invoice_id=invoice.pk, actor=actor),
            done="{count} invoice(s) marked paid.",
        )
