"""Webhooks and calendar feeds: every write, in one place (API, pages, admin and tasks call these).

Webhook deliveries follow the Standard Webhooks specification (https://www.standardwebhooks.com): the body is
`{"type", "timestamp", "data"}`, signed with the endpoint's secret by the `standardwebhooks` package into the
`webhook-id`, `webhook-timestamp` and `webhook-signature` headers. A delivery is recorded inside the
transaction of the change it reports and sent by a worker after commit; a failed attempt is tried again on
the schedule below (about a day in all); when the last attempt fails and the endpoint has not succeeded since
the delivery was made, the endpoint is disabled and the organization's owners and admins are emailed.
"""

import base64
import json
import logging
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from accounts.models import Membership
from integrations import http
from integrations.events import EVENT_TYPES, TEST_EVENT
from integrations.models import CalendarFeed, WebhookDelivery, WebhookEndpoint
from spacemanager.errors import PermissionDenied, ValidationFailed
from spacemanager.mail import build_email, send_once
from spaces.models import Space
from tenants.idempotency import OnceKey

logger = logging.getLogger(__name__)

# Wait before each retry, after the attempt before it: 9 attempts over about 24 hours.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=8),
    timedelta(hours=8),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Retries this soon are queued with a countdown; later ones wait for the sweep (every REMINDER_SWEEP_SECONDS): a
# countdown longer than Redis' visibility timeout (an hour) would be delivered twice.
COUNTDOWN_LIMIT = timedelta(minutes=10)
# While an attempt runs its delivery is "due" only after this, so a sweep never sends it a second time.
ATTEMPT_LEASE = timedelta(minutes=2)
ATTEMPT_LOG_LENGTH = 20
ENDPOINT_DISABLED_KIND = "webhook_endpoint_disabled"
ENDPOINT_CHANGEABLE = ("url", "description", "events", "is_active")


def _require_manager(actor: Membership) -> None:
    if not actor.is_manager:
        raise PermissionDenied("Only owners and admins manage webhooks.")


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def webhook_url_check(url: str) -> str:
    """The URL, if a worker may call it (see integrations.http); else a field error."""
    url = url.strip()
    try:
        _, host, port = http.url_check(url)
        http.resolve(host, port)
    except http.UnsafeURL as exc:
        raise ValidationFailed(str(exc), field="url", code="unsafe_url") from exc
    return url


def _events_check(events: Iterable[str]) -> list[str]:
    events = sorted(set(events))
    if not events:
        raise ValidationFailed("Choose at least one event.", field="events", code="required")
    unknown = [event for event in events if event not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed(
            f"Unknown events: {', '.join(unknown)}. Choose from: {', '.join(EVENT_TYPES)}.",
            field="events",
            code="unknown_event",
        )
    return events


@transaction.atomic
def webhook_endpoint_create(
    *, actor: Membership, url: str, events: Iterable[str], description: str = ""
) -> WebhookEndpoint:
    """Register an endpoint; its `secret` is on the returned object (show it once: it is never shown again)."""
    _require_manager(actor)
    endpoint = WebhookEndpoint(
        url=webhook_url_check(url),
        events=_events_check(events),
        description=description.strip(),
        secret=_new_secret(),
        created_by_id=actor.user_id,
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_update(*, actor: Membership, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Change the URL, events, description, or switch it on and off (switching on forgets why it was off)."""
    _require_manager(actor)
    unknown = set(changes) - set(ENDPOINT_CHANGEABLE)
    if unknown:
        raise ValidationFailed(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if "url" in changes:
        endpoint.url = webhook_url_check(changes["url"])
    if "events" in changes:
        endpoint.events = _events_check(changes["events"])
    if "description" in changes:
        endpoint.description = changes["description"].strip()
    if "is_active" in changes:
        if changes["is_active"] and not endpoint.is_active:
            endpoint.disabled_reason = ""
        endpoint.is_active = changes["is_active"]
    endpoint.full_clean()
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, actor: Membership, endpoint: WebhookEndpoint) -> None:
    """Forget the endpoint and its delivery log; deliveries still queued find nothing and stop."""
    _require_manager(actor)
    endpoint.delete()


def _body(event_type: str, data: dict) -> dict:
    return {"type": event_type, "timestamp": timezone.now().astimezone(UTC).isoformat(), "data": data}


def _queue_after_commit(delivery_ids: list[int], *, countdown: float | None = None) -> None:
    """Queue the deliveries' next attempt once the change commits, in this organization's schema.

    If Redis is down the rows stay pending and the sweep sends them (webhook_deliveries_queue_due).
    """
    from integrations import tasks

    schema_name = connection.schema_name

    def send() -> None:
        for delivery_id in delivery_ids:
            try:
                tasks.webhook_delivery_attempt.apply_async(
                    (delivery_id,), headers={"_schema_name": schema_name}, countdown=countdown
                )
            except Exception:
                logger.exception("Could not queue webhook delivery %s: broker unavailable.", delivery_id)
                return

    transaction.on_commit(send)


def _deliveries_create(
    endpoints: Iterable[WebhookEndpoint], *, event_type: str, payload: dict, message_id: str | None = None
) -> list[WebhookDelivery]:
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint=endpoint,
            message_id=message_id or f"msg_{secrets.token_urlsafe(18)}",
            event_type=event_type,
            payload=payload,
            next_attempt_at=now,
        )
        for endpoint in endpoints
    )
    _queue_after_commit([delivery.pk for delivery in deliveries])
    return deliveries


def event_publish(
    event_type: str, data: Callable[[], dict], *, subscribed: bool | None = None
) -> list[WebhookDelivery]:
    """Record `event_type` for every active endpoint subscribed to it; `data()` is built only if one is.

    Call inside the transaction of the change, in the organization's schema. `subscribed=False`: the change
    has asked already, in its transaction (`subscribed_endpoints_sql` in one of its own statements), and
    nobody was: nothing to read.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown webhook event {event_type!r}; add it to integrations.events.EVENT_TYPES.")
    if subscribed is False:
        return []
    with connection.cursor() as cursor:
        cursor.execute(subscribed_endpoints_sql(), [event_type])
        endpoint_ids = [endpoint_id for (endpoint_id,) in cursor.fetchall()]
    if not endpoint_ids:
        return []
    endpoints = [WebhookEndpoint.from_db(DEFAULT_DB_ALIAS, ["id"], [endpoint_id]) for endpoint_id in endpoint_ids]
    return _deliveries_create(endpoints, event_type=event_type, payload=_body(event_type, data()))


@cache
def subscribed_endpoints_sql() -> str:
    """The active endpoints subscribed to an event, in their order, compiled once per process: every booking
    asks, and building the query cost more than running it (measured). One parameter: the event type."""
    queryset = WebhookEndpoint.objects.filter(is_active=True, events__contains=[_EVENT_SENTINEL]).values_list("pk")
    sql, params = queryset.query.sql_with_params()
    if list(params) != [_EVENT_SENTINEL]:
        raise RuntimeError(f"Unexpected parameters in the subscribed endpoints read: {params!r}")
    return sql


_EVENT_SENTINEL = "event.sentinel"


@transaction.atomic
def webhook_test_send(*, actor: Membership, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.test` message to the endpoint (even a disabled one: that is how one checks a fix)."""
    _require_manager(actor)
    data = {"message": "A test event from SpaceManager.", "endpoint": endpoint.pk}
    [delivery] = _deliveries_create([endpoint], event_type=TEST_EVENT, payload=_body(TEST_EVENT, data))
    return delivery


@transaction.atomic
def webhook_redeliver(*, actor: Membership, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's message again, as a new delivery with the same body and `webhook-id`."""
    _require_manager(actor)
    [again] = _deliveries_create(
        [delivery.endpoint], event_type=delivery.event_type, payload=delivery.payload, message_id=delivery.message_id
    )
    again.redelivery_of = delivery
    again.save(update_fields=["redelivery_of"])
    return again


def signed_headers(*, secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for `body`, signed with the `standardwebhooks` package."""
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=message_id, timestamp=at.astimezone(UTC), data=body),
    }


def _claim(delivery_id: int, now: datetime) -> bool:
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=now + ATTEMPT_LEASE)
    )


def webhook_delivery_attempt(*, delivery_id: int) -> str | None:
    """Make the delivery's next attempt if it is due; returns its status afterwards (None: not due or gone).

    Safe to run twice at once: the first run claims the delivery and the second finds it not due.
    """
    now = timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active and delivery.event_type != TEST_EVENT:
        _finish(delivery, now=now, result=None, error="The endpoint is disabled.")
        return delivery.status
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    headers = signed_headers(secret=endpoint.secret, message_id=delivery.message_id, body=body, at=now)
    result = http.post(endpoint.url, body=body.encode(), headers=headers, timeout=settings.WEBHOOKS_TIMEOUT_SECONDS)
    _finish(delivery, now=now, result=result)
    return delivery.status


@transaction.atomic
def _finish(delivery: WebhookDelivery, *, now: datetime, result: http.PostResult | None, error: str = "") -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_status = result.status if result else None
    delivery.duration_ms = result.duration_ms if result else None
    delivery.error = (result.error if result else error)[:500]
    delivery.attempt_log = [
        *delivery.attempt_log,
        {
            "at": now.isoformat(),
            "response_status": delivery.response_status,
            "duration_ms": delivery.duration_ms,
            "error": delivery.error,
        },
    ][-ATTEMPT_LOG_LENGTH:]
    endpoint = delivery.endpoint
    if result is not None and result.ok:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.next_attempt_at = None
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_success_at=now)
    elif result is None or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delay = RETRY_DELAYS[delivery.attempts - 1]
        delivery.next_attempt_at = now + delay
        if delay <= COUNTDOWN_LIMIT:
            _queue_after_commit([delivery.pk], countdown=delay.total_seconds())
    delivery.save()
    gave_up = result is not None and delivery.status == WebhookDelivery.Status.FAILED
    if gave_up and delivery.event_type != TEST_EVENT:
        _disable_if_failing(endpoint, since=delivery.created_at)


def _disable_if_failing(endpoint: WebhookEndpoint, *, since: datetime) -> None:
    """A delivery tried for a day without a success of the endpoint since then: stop, and tell its owners."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if not endpoint.is_active or (endpoint.last_success_at and endpoint.last_success_at >= since):
        return
    endpoint.is_active = False
    endpoint.disabled_reason = f"Every delivery since {since:%Y-%m-%d %H:%M} UTC failed for about a day."
    endpoint.save(update_fields=["is_active", "disabled_reason", "updated_at"])
    from integrations import tasks

    version = endpoint.updated_at.isoformat()
    schema_name = connection.schema_name
    transaction.on_commit(
        lambda: tasks.webhook_endpoint_disabled_notify.apply_async(
            (endpoint.pk, version), headers={"_schema_name": schema_name}
        )
    )


def webhook_endpoint_disabled_notify(*, endpoint_id: int, version: str) -> int:
    """Email the organization's owners and admins that the endpoint was disabled, once each; returns how many
    were sent now. Nothing for an endpoint deleted or switched on again meanwhile."""
    from tenants.selectors import organization_current

    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=False).first()
    if endpoint is None:
        return 0
    organization = organization_current()
    managers = (
        Membership.objects.filter(
            organization=organization, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN], user__is_active=True
        )
        .select_related("user")
        .order_by("user_id")
    )
    sent = 0
    for membership in managers:
        message = build_email(
            to=[membership.user.email],
            subject=f"{organization.name}: webhook endpoint disabled",
            template="email/notice",
            context={
                "heading": "A webhook endpoint was disabled",
                "lines": [
                    f"Deliveries to {endpoint.url} have failed for about a day, so SpaceManager stopped sending to it.",
                    "Fix the receiver, send a test event, then switch the endpoint on again in Settings → Webhooks.",
                ],
                "action_url": organization.link(
                    reverse("integrations:webhook", kwargs={"pk": endpoint.pk}, urlconf=settings.ROOT_URLCONF)
                ),
                "action_label": "Open the endpoint",
            },
        )
        key = OnceKey(ENDPOINT_DISABLED_KIND, endpoint.pk, version=f"{version}-{membership.user_id}")
        sent += send_once(message, key=key)
    return sent


def webhook_deliveries_due(*, now: datetime) -> QuerySet[WebhookDelivery]:
    """Deliveries whose next attempt is due: retries, and first attempts Redis missed."""
    return WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)


def webhook_deliveries_queue_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue the deliveries whose next attempt is due (retries, and first attempts Redis missed)."""
    from integrations import tasks

    now = now or timezone.now()
    due = list(webhook_deliveries_due(now=now).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    for delivery_id in due:
        tasks.webhook_delivery_attempt.delay(delivery_id)
    return len(due)


# Calendar feeds


def _feed_secret() -> str:
    return secrets.token_urlsafe(24)


def calendar_feeds_ensure(*, actor: Membership, spaces: Iterable[Space] = ()) -> list[CalendarFeed]:
    """The actor's feeds, made on first use: their bookings, the organization's (owners and admins), one per
    space they asked for (`spaces` adds some). Safe to race: the unique constraints keep one of each."""
    wanted = [(CalendarFeed.Kind.PERSONAL, None)]
    if actor.is_manager:
        wanted.append((CalendarFeed.Kind.ORGANIZATION, None))
    wanted += [(CalendarFeed.Kind.SPACE, space.pk) for space in spaces]
    mine = CalendarFeed.objects.filter(user_id=actor.user_id).select_related("space")
    existing = {(feed.kind, feed.space_id) for feed in mine}
    missing = [key for key in wanted if key not in existing]
    if missing:
        CalendarFeed.objects.bulk_create(
            [
                CalendarFeed(user_id=actor.user_id, kind=kind, space_id=space_id, secret=_feed_secret())
                for kind, space_id in missing
            ],
            ignore_conflicts=True,
        )
    order = {CalendarFeed.Kind.PERSONAL: 0, CalendarFeed.Kind.ORGANIZATION: 1, CalendarFeed.Kind.SPACE: 2}
    feeds = [
        feed
        for feed in mine.all()
        if feed.kind != CalendarFeed.Kind.ORGANIZATION or actor.is_manager  # a demoted admin's stays dark
    ]
    return sorted(feeds, key=lambda feed: (order[feed.kind], feed.space.name if feed.space else "", feed.pk))


@transaction.atomic
def calendar_feeds_regenerate(*, actor: Membership) -> int:
    """New secrets for all of the actor's feeds: every old URL stops answering at once."""
    feeds = list(CalendarFeed.objects.select_for_update().filter(user_id=actor.user_id))
    for feed in feeds:
        feed.secret = _feed_secret()
    CalendarFeed.objects.bulk_update(feeds, ["secret"])
    return len(feeds)
