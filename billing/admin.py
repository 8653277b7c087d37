"""Billing in an organization's admin (`<slug>.BASE_DOMAIN/admin/`): its settings, saved through billing.services,
and its invoices, read-only (the services make them; an issued invoice never changes), issued, marked paid or voided
by actions that call the same services as the API."""

from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import Model
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from billing.forms import VoidForm
from billing.models import BillingSettings, Invoice, InvoiceLine
from billing.services import (
    SETTINGS_FIELDS,
    billing_settings_get,
    billing_settings_update,
    invoice_issue,
    invoice_mark_paid,
    invoice_void,
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
    actions = ["issue", "mark_paid", "void"]

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

    @admin.action(description="Void the selected invoices (asks for the reason first)")
    def void(self, request: HttpRequest, queryset):
        """A confirmation page with the reason, as the invoice page asks for it; the service voids each."""
        form = VoidForm(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self.run_action(
                request,
                queryset.order_by("pk"),
                lambda actor, invoice: invoice_void(invoice_id=invoice.pk, actor=actor, reason=reason),
                done="{count} invoice(s) voided. Generate their month again for corrected ones.",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Void invoices",
            "opts": self.model._meta,
            "invoices": queryset.order_by("pk"),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/billing/invoice/void_confirmation.html", context)
