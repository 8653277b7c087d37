"""Reads of webhooks and calendar feeds."""

from django.db.models import QuerySet

from integrations.models import CalendarFeed, WebhookDelivery, WebhookEndpoint
from spacemanager.errors import NotFound


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("created_at", "id")


def webhook_endpoint_get(*, endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint here.")
    return endpoint


def webhook_delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint=endpoint).select_related("endpoint").order_by("-created_at", "-id")


def webhook_delivery_get(*, endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    delivery = webhook_delivery_list(endpoint=endpoint).filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound("No such delivery of this endpoint.")
    return delivery


def calendar_feed_by_secret(*, secret: str) -> CalendarFeed | None:
    return CalendarFeed.objects.select_related("space").filter(secret=secret).first()
