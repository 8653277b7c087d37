"""Webhooks in an organization's admin (`<slug>.BASE_DOMAIN/admin/`), through integrations.services."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations import services
from integrations.events import EVENT_TYPES
from integrations.models import WebhookDelivery, WebhookEndpoint
from spacemanager.admin import ServiceForm, ServiceModelAdmin, adopt, organization_admin_site

FORM_FIELDS = ["url", "description", "events", "is_active"]


class WebhookEndpointForm(ServiceForm):
    url = forms.CharField(max_length=2000, help_text="http:// or https://; checked before it is saved.")
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENT_TYPES], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = FORM_FIELDS


@admin.register(WebhookEndpoint, site=organization_admin_site)
class WebhookEndpointAdmin(ServiceModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "description", "is_active", "last_success_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    fields = [*FORM_FIELDS, "disabled_reason", "last_success_at", "created_at"]
    readonly_fields = ["disabled_reason", "last_success_at", "created_at"]
    actions = ["send_test_event"]

    def save_through_service(self, request: HttpRequest, form: ServiceForm, formsets: list, change: bool) -> None:
        actor = self.actor(request)
        data = form.cleaned_data
        if not change:
            endpoint = services.webhook_endpoint_create(
                actor=actor, url=data["url"], events=data["events"], description=data["description"]
            )
            adopt(form.instance, endpoint)
            self.message_user(
                request,
                f"The endpoint's signing secret, shown only now: {endpoint.secret}",
                messages.WARNING,
            )
            return
        changes = {field: data[field] for field in form.changed_data if field in FORM_FIELDS}
        if changes:
            adopt(form.instance, services.webhook_endpoint_update(actor=actor, endpoint=form.instance, **changes))

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        self.run_action(
            request,
            queryset,
            lambda actor, endpoint: services.webhook_test_send(actor=actor, endpoint=endpoint),
            done="Queued {count} test event(s); see the deliveries.",
        )


@admin.register(WebhookDelivery, site=organization_admin_site)
class WebhookDeliveryAdmin(ServiceModelAdmin):
    list_display = ["created_at", "endpoint", "event_type", "status", "attempts", "response_status", "duration_ms"]
    list_filter = ["status", "event_type", "endpoint"]
    list_select_related = ["endpoint"]
    search_fields = ["message_id"]
    actions = ["redeliver"]
    readonly_fields = [
        "endpoint",
        "message_id",
        "event_type",
        "status",
        "attempts",
        "response_status",
        "duration_ms",
        "error",
        "last_attempt_at",
        "next_attempt_at",
        "attempt_log",
        "redelivery_of",
        "payload",
        "created_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # deliveries come from events, tests and redeliveries

    def save_through_service(self, request: HttpRequest, form: ServiceForm, formsets: list, change: bool) -> None:
        """Nothing to save: every field is read-only."""

    @admin.action(description="Redeliver selected messages", permissions=["change"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        self.run_action(
            request,
            queryset.select_related("endpoint"),
            lambda actor, delivery: services.webhook_redeliver(actor=actor, delivery=delivery),
            done="Queued {count} redelivery(ies).",
        )
