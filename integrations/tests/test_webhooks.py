"""Webhooks end to end against a real loopback receiver: events, signatures, retries, disabling, SSRF."""

import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from integrations import services
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.tests.receiver import start_receiver, stop_receiver
from reservations.services import reservation_cancel, reservation_create
from spacemanager.errors import PermissionDenied, ValidationFailed
from spaces.services import space_archive, space_create
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(org, in_tenant, celery_eager):
    return org.membership(org.owner)


@pytest.fixture
def member(org, in_tenant):
    return org.membership(org.member)


@pytest.fixture
def space(in_tenant):
    return SpaceFactory(name="Blue room")


def endpoint_for(owner, receiver, events=("reservation.created", "reservation.cancelled")) -> WebhookEndpoint:
    return services.webhook_endpoint_create(actor=owner, url=receiver.url(), events=events)


def book(member, space, hours_ahead=2):
    starts_at = (timezone.now() + timedelta(hours=hours_ahead)).replace(microsecond=0)
    return reservation_create(
        actor=member, space_id=space.pk, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1)
    )


def verified(endpoint: WebhookEndpoint, request) -> dict:
    return Webhook(endpoint.secret).verify(request.body, request.headers)


def test_a_booking_is_delivered_signed_with_the_apis_representation(
    owner, member, space, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(owner, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        reservation = book(member, space)

    [request] = receiver.wait(1)
    body = verified(endpoint, request)
    assert body["type"] == "reservation.created"
    assert body["data"]["id"] == reservation.pk
    assert body["data"]["space"] == {"id": space.pk, "name": "Blue room"}
    assert body["data"]["user"]["email"] == "member@alpha.test"
    assert body["data"]["status"] == "confirmed"
    assert body["data"]["currency"] == "EUR"
    assert request.headers["webhook-id"].startswith("msg_")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 1, 204)
    assert delivery.duration_ms is not None
    endpoint.refresh_from_db()
    assert endpoint.last_success_at is not None


def test_a_signature_made_with_another_secret_does_not_verify(
    owner, member, space, receiver, django_capture_on_commit_callbacks
):
    endpoint_for(owner, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        book(member, space)
    [request] = receiver.wait(1)
    with pytest.raises(WebhookVerificationError):
        Webhook(services._new_secret()).verify(request.body, request.headers)


def test_only_subscribed_events_are_sent_and_a_cancellation_follows(
    owner, member, space, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(owner, receiver, events=["reservation.cancelled"])
    with django_capture_on_commit_callbacks(execute=True):
        reservation = book(member, space)
    assert not WebhookDelivery.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(actor=member, reservation=reservation)
    [request] = receiver.wait(1)
    body = verified(endpoint, request)
    assert (body["type"], body["data"]["status"]) == ("reservation.cancelled", "cancelled")


def test_a_booking_reads_its_subscribers_with_its_rules_and_records_nothing_for_an_inactive_endpoint(
    owner, member, space, receiver, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    endpoint = endpoint_for(owner, receiver)
    endpoint.is_active = False
    endpoint.save(update_fields=["is_active"])
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        book(member, space)
    assert not WebhookDelivery.objects.exists()
    reads = [query["sql"] for query in queries.captured_queries if "integrations_webhookendpoint" in query["sql"]]
    assert len(reads) == 1 and "spaces_openinghours" in reads[0]  # no read of its own after the insert

    endpoint.is_active = True
    endpoint.save(update_fields=["is_active"])
    with django_capture_on_commit_callbacks(execute=True):
        reservation = book(member, space, hours_ahead=4)
    [request] = receiver.wait(1)
    assert verified(endpoint, request)["data"]["id"] == reservation.pk


def test_space_events_carry_the_space_as_the_api_shows_it(owner, receiver, django_capture_on_commit_callbacks):
    endpoint = endpoint_for(owner, receiver, events=["space.created", "space.archived"])
    with django_capture_on_commit_callbacks(execute=True):
        space = space_create(actor=owner, name="Studio", capacity=4)
    with django_capture_on_commit_callbacks(execute=True):
        space_archive(actor=owner, space=space)
    requests = receiver.wait(2)
    bodies = [verified(endpoint, request) for request in requests]
    assert [(b["type"], b["data"]["name"], b["data"]["is_active"]) for b in bodies] == [
        ("space.created", "Studio", True),
        ("space.archived", "Studio", False),
    ]


def test_a_member_joining_is_an_event(org, owner, receiver, django_capture_on_commit_callbacks):
    from accounts.invitations import invitation_accept, invitation_create

    endpoint = endpoint_for(owner, receiver, events=["member.joined"])
    issued = invitation_create(actor=owner, organization=org.organization, email="new@alpha.test", role="member")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_accept(
            token=issued.token, organization=org.organization, full_name="New Person", password="a long passphrase 42"
        )
    [request] = receiver.wait(1)
    body = verified(endpoint, request)
    assert (body["type"], body["data"]["email"], body["data"]["role"]) == ("member.joined", "new@alpha.test", "member")


def test_a_refused_booking_sends_nothing(owner, member, space, receiver, django_capture_on_commit_callbacks):
    endpoint_for(owner, receiver)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationFailed):
        reservation_create(
            actor=member, space_id=space.pk, starts_at=timezone.now() - timedelta(hours=1), ends_at=timezone.now()
        )
    assert not WebhookDelivery.objects.exists()
    assert receiver.received == []


def test_nothing_is_sent_inside_the_transaction(owner, member, space, receiver, django_capture_on_commit_callbacks):
    endpoint_for(owner, receiver)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        book(member, space)
    assert WebhookDelivery.objects.get().status == "pending"
    assert receiver.received == []
    assert callbacks  # the delivery is queued only once the booking has committed


def test_a_receiver_that_is_down_gets_the_delivery_later(owner, member, space, django_capture_on_commit_callbacks):
    down = start_receiver()
    port, url = down.port, down.url()
    stop_receiver(down)  # nothing listens on the port now
    endpoint = services.webhook_endpoint_create(actor=owner, url=url, events=["reservation.created"])
    with django_capture_on_commit_callbacks(execute=True):
        book(member, space)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, None)
    assert "Could not deliver" in delivery.error
    assert delivery.next_attempt_at - delivery.last_attempt_at == timedelta(seconds=30)
    assert services.webhook_deliveries_queue_due() == 0  # not due yet

    back = start_receiver(port)
    try:
        with time_machine.travel(timezone.now() + timedelta(seconds=31)):
            assert services.webhook_deliveries_queue_due() == 1
        [request] = back.wait(1)
    finally:
        stop_receiver(back)
    assert verified(endpoint, request)["type"] == "reservation.created"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert [a["response_status"] for a in delivery.attempt_log] == [None, 204]


def test_an_endpoint_failing_for_a_day_is_disabled_and_its_managers_emailed(
    owner, member, space, receiver, django_capture_on_commit_callbacks
):
    receiver.status = 500
    endpoint = endpoint_for(owner, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        book(member, space, hours_ahead=48)
    delivery = WebhookDelivery.objects.get()
    started = timezone.now()
    with time_machine.travel(started, tick=False) as clock:
        for _ in range(services.MAX_ATTEMPTS - 1):
            delivery.refresh_from_db()
            clock.move_to(delivery.next_attempt_at)
            with django_capture_on_commit_callbacks(execute=True):
                services.webhook_delivery_attempt(delivery_id=delivery.pk)
        elapsed = timezone.now() - started
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 9, 500)
    assert timedelta(hours=20) < elapsed < timedelta(hours=30)
    assert len(receiver.received) == 9
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "failed for about a day" in endpoint.disabled_reason
    warnings = [m for m in mail.outbox if "webhook endpoint disabled" in m.subject]
    assert sorted(m.to[0] for m in warnings) == ["admin@alpha.test", "owner@alpha.test"]
    assert endpoint.url in warnings[0].body

    # Disabled: new events are not recorded for it; switching it on again forgets the reason.
    with django_capture_on_commit_callbacks(execute=True):
        book(member, space, hours_ahead=72)
    assert WebhookDelivery.objects.count() == 1
    services.webhook_endpoint_update(actor=owner, endpoint=endpoint, is_active=True)
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (True, "")


def test_a_redirect_is_not_followed(owner, member, space, receiver, django_capture_on_commit_callbacks):
    receiver.status, receiver.location = 302, "http://169.254.169.254/latest/meta-data/"
    endpoint = endpoint_for(owner, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        book(member, space)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.response_status) == ("pending", 302)
    assert "Redirects are not followed" in delivery.error
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8140/hooks",
        "http://localhost/hooks",
        "http://[::1]/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://0.0.0.0/hooks",
    ],
)
def test_private_addresses_are_refused_in_production(owner, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(ValidationFailed) as refused:
        services.webhook_endpoint_create(actor=owner, url=url, events=["reservation.created"])
    assert refused.value.field == "url"
    assert "private network" in refused.value.message
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("https://user:pw@example.com/x", "no user name"),
        ("http:///nohost", "no host"),
        ("http://no-such-host.invalid/x", "could not be resolved"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(owner, url, message):
    with pytest.raises(ValidationFailed) as refused:
        services.webhook_endpoint_create(actor=owner, url=url, events=["reservation.created"])
    assert message in refused.value.message


def test_a_url_that_turned_private_is_not_called_at_delivery(
    owner, member, space, receiver, settings, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(owner, receiver)  # registered while private addresses were allowed
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    with django_capture_on_commit_callbacks(execute=True):
        book(member, space)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert "private network" in delivery.error
    assert receiver.received == []


def test_members_cannot_manage_webhooks(member, receiver):
    with pytest.raises(PermissionDenied):
        services.webhook_endpoint_create(actor=member, url=receiver.url(), events=["reservation.created"])


def test_unknown_events_are_refused(owner, receiver):
    with pytest.raises(ValidationFailed) as refused:
        services.webhook_endpoint_create(actor=owner, url=receiver.url(), events=["reservation.exploded"])
    assert "reservation.exploded" in refused.value.message


def test_redeliver_sends_the_same_message_again(owner, member, space, receiver, django_capture_on_commit_callbacks):
    endpoint = endpoint_for(owner, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        book(member, space)
    first = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        again = services.webhook_redeliver(actor=owner, delivery=first)
    requests = receiver.wait(2)
    assert requests[0].body == requests[1].body
    assert requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"] == first.message_id
    again.refresh_from_db()
    assert (again.status, again.redelivery_of_id) == ("succeeded", first.pk)
    assert verified(endpoint, requests[1])["type"] == "reservation.created"


def test_a_test_event_reaches_even_a_disabled_endpoint(owner, receiver, django_capture_on_commit_callbacks):
    endpoint = endpoint_for(owner, receiver)
    services.webhook_endpoint_update(actor=owner, endpoint=endpoint, is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_test_send(actor=owner, endpoint=endpoint)
    [request] = receiver.wait(1)
    assert json.loads(request.body)["type"] == "webhook.test"
    assert verified(endpoint, request)["data"]["endpoint"] == endpoint.pk


def test_running_an_attempt_twice_sends_once(owner, member, space, receiver, django_capture_on_commit_callbacks):
    endpoint_for(owner, receiver)
    with django_capture_on_commit_callbacks(execute=False):
        book(member, space)
    delivery = WebhookDelivery.objects.get()
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"
    assert services.webhook_delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.wait(1)) == 1


def test_another_organizations_endpoint_hears_nothing(
    org, other_org, owner, member, space, receiver, django_capture_on_commit_callbacks
):
    from django.db import connection

    connection.set_tenant(other_org.organization)
    services.webhook_endpoint_create(
        actor=other_org.membership(other_org.owner), url=receiver.url(), events=["reservation.created"]
    )
    connection.set_tenant(org.organization)
    with django_capture_on_commit_callbacks(execute=True):
        book(member, space)
    assert receiver.received == []


@pytest.mark.slow
def test_a_real_worker_delivers_a_booking_within_seconds(org, api_client, receiver, live_worker):
    """The booking through the API, a worker on the real Redis broker, the signed POST at the receiver."""
    from django.db import connection

    connection.set_tenant(org.organization)
    space = SpaceFactory(name="Blue room")
    endpoint = endpoint_for(org.membership(org.owner), receiver, events=["reservation.created"])
    connection.set_schema_to_public()
    starts_at = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    response = api_client(org, org.member).post(
        "/api/v1/reservations",
        {
            "space": space.pk,
            "starts_at": starts_at.isoformat(),
            "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
        },
    )
    assert response.status_code == 201, response.json()
    [request] = receiver.wait(1, seconds=30)
    body = verified(endpoint, request)
    assert (body["type"], body["data"]["id"]) == ("reservation.created", response.json()["id"])


def test_the_disabled_warning_is_sent_once_and_not_for_an_endpoint_switched_on_again(owner, receiver):
    endpoint = endpoint_for(owner, receiver)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    assert services.webhook_endpoint_disabled_notify(endpoint_id=endpoint.pk, version="v1") == 2
    assert services.webhook_endpoint_disabled_notify(endpoint_id=endpoint.pk, version="v1") == 0
    services.webhook_endpoint_update(actor=owner, endpoint=endpoint, is_active=True)
    assert services.webhook_endpoint_disabled_notify(endpoint_id=endpoint.pk, version="v2") == 0
    assert len(mail.outbox) == 2


@pytest.mark.slow
def test_a_real_worker_retries_a_failed_delivery_by_itself(org, receiver, live_worker, monkeypatch):
    """The receiver fails once; the worker's retry (queued with a countdown) gets through."""
    from django.db import connection

    monkeypatch.setattr(services, "RETRY_DELAYS", (timedelta(seconds=1),) * len(services.RETRY_DELAYS))
    receiver.status = 503
    connection.set_tenant(org.organization)
    owner = org.membership(org.owner)
    endpoint = endpoint_for(owner, receiver)
    services.webhook_test_send(actor=owner, endpoint=endpoint)  # committed: transactional test, real worker
    receiver.wait(1, seconds=30)
    receiver.status = 204
    requests = receiver.wait(2, seconds=30)
    assert len(requests) == 2
    assert requests[0].body == requests[1].body
    deadline = time.monotonic() + 10  # the worker records the answer just after the receiver got it
    while WebhookDelivery.objects.get(endpoint=endpoint).status == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, [a["response_status"] for a in delivery.attempt_log]) == (
        "succeeded",
        2,
        [503, 204],
    )
    connection.set_schema_to_public()


def test_a_no_show_release_is_delivered_as_reservation_no_show(
    owner, member, receiver, django_capture_on_commit_callbacks
):
    from reservations.models import Reservation
    from reservations.services import reservations_release_no_shows
    from reservations.tests.factories import ReservationFactory

    space = SpaceFactory(name="Desk 4", check_in_required=True, check_in_grace_minutes=5)
    endpoint = endpoint_for(owner, receiver, events=["reservation.no_show"])
    starts_at = (timezone.now() - timedelta(minutes=30)).replace(microsecond=0)
    reservation = ReservationFactory(space=space, user=member.user, starts_at=starts_at)

    with django_capture_on_commit_callbacks(execute=True):
        assert reservations_release_no_shows() == [reservation.pk]

    [request] = receiver.wait(1)
    body = verified(endpoint, request)
    assert (body["type"], body["data"]["id"], body["data"]["status"]) == (
        "reservation.no_show",
        reservation.pk,
        Reservation.Status.NO_SHOW,
    )
    assert body["data"]["checked_in_at"] is None
