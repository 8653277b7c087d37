"""Webhook endpoints and their deliveries, and private calendar feeds: all in the organization's schema."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from spaces.models import Space


class WebhookEndpoint(models.Model):
    """A URL of an integrator's that receives the events it subscribed to, signed with its own secret."""

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = ArrayField(models.CharField(max_length=64))
    # Needed in clear to sign every delivery (Standard Webhooks: `whsec_` + base64); shown once at creation.
    secret = models.CharField(max_length=100, editable=False)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # Users live in the public schema: no database constraint, no cascade, no reverse accessor (TENANCY.md).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["is_active"], name="webhook_endpoints_active")]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One message to one endpoint, and how its attempts went. A redelivery is a new row, same message id."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    # No index of its own: webhook_deliveries_endpoint leads with it.
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    message_id = models.CharField(max_length=64)  # the `webhook-id` header: receivers deduplicate on it
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due; while an attempt runs, a lease in the future (so no one else sends it).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # Every attempt: [{"at", "response_status", "duration_ms", "error"}], oldest first.
    attempt_log = models.JSONField(default=list)
    redelivery_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_deliveries_endpoint"),
            models.Index(fields=["next_attempt_at"], name="webhook_deliveries_due", condition=Q(status="pending")),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class CalendarFeed(models.Model):
    """A private iCalendar URL (`/feeds/<secret>.ics`) of one person: their bookings, a space, or everything."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", "My bookings"
        SPACE = "space", "A space"
        ORGANIZATION = "organization", "The whole organization"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    space = models.ForeignKey(Space, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    secret = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "space_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"], condition=Q(space__isnull=True), name="calendar_feed_one_per_kind"
            ),
            models.UniqueConstraint(
                fields=["user", "space"], condition=Q(space__isnull=False), name="calendar_feed_one_per_space"
            ),
            models.CheckConstraint(
                condition=Q(kind="space", space__isnull=False) | (~Q(kind="space") & Q(space__isnull=True)),
                name="calendar_feed_space_iff_space_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of user {self.user_id}"
