"""Webhooks API: wiring, permissions, isolation and status codes (the rules are tested in test_webhooks)."""

import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook

from integrations.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_api(org, api_client, celery_eager):
    return api_client(org, org.owner)


def register(client, receiver, events=("reservation.created",)):
    response = client.post("/api/v1/webhooks", {"url": receiver.url(), "events": list(events)})
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_secret_is_shown_once_at_creation(owner_api, receiver):
    created = register(owner_api, receiver)
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["reservation.created"]
    assert created["is_active"] is True

    shown = owner_api.get(f"/api/v1/webhooks/{created['id']}").json()
    assert "secret" not in shown
    listed = owner_api.get("/api/v1/webhooks").json()
    assert [e["id"] for e in listed["results"]] == [created["id"]]
    assert "secret" not in listed["results"][0]


def test_members_get_403_and_anonymous_401(org, api_client, receiver):
    assert api_client(org, org.member).get("/api/v1/webhooks").status_code == 403
    assert (
        api_client(org, org.member).post("/api/v1/webhooks", {"url": receiver.url(), "events": []}).status_code == 403
    )
    assert api_client(org).get("/api/v1/webhooks").status_code == 401


def test_another_organizations_endpoint_is_404(org, other_org, owner_api, api_client, receiver):
    created = register(api_client(other_org, other_org.owner), receiver)
    assert owner_api.get(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert owner_api.delete(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert owner_api.get("/api/v1/webhooks").json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1:8140/x", "events": ["reservation.exploded"]}, "events"),
        ({"url": "http://127.0.0.1:8140/x", "events": []}, "events"),
        ({"url": "gopher://example.com", "events": ["reservation.created"]}, "url"),
        ({"events": ["reservation.created"]}, "url"),
    ],
)
def test_bad_registrations_are_400_naming_the_field(owner_api, body, field):
    response = owner_api.post("/api/v1/webhooks", body)
    assert response.status_code == 400
    assert field in response.json()
    connection.set_schema("org_alpha")
    assert not WebhookEndpoint.objects.exists()


def test_private_urls_are_refused_when_the_setting_is_off(owner_api, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = owner_api.post(
        "/api/v1/webhooks", {"url": "http://169.254.169.254/latest/meta-data/", "events": ["space.created"]}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unsafe_url"
    assert "private network" in response.json()["url"][0]


def test_patch_and_delete(owner_api, receiver):
    created = register(owner_api, receiver)
    response = owner_api.patch(
        f"/api/v1/webhooks/{created['id']}", {"events": ["space.created", "space.updated"], "is_active": False}
    )
    assert response.status_code == 200
    assert (response.json()["events"], response.json()["is_active"]) == (["space.created", "space.updated"], False)
    assert owner_api.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert owner_api.get(f"/api/v1/webhooks/{created['id']}").status_code == 404


def test_test_event_deliveries_log_and_redeliver(org, owner_api, receiver, django_capture_on_commit_callbacks):
    created = register(owner_api, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post(f"/api/v1/webhooks/{created['id']}/test")
    assert response.status_code == 202
    assert (response.json()["event_type"], response.json()["status"]) == ("webhook.test", "pending")
    [request] = receiver.wait(1)
    assert Webhook(created["secret"]).verify(request.body, request.headers)["type"] == "webhook.test"

    log = owner_api.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()
    [delivery] = log["results"]
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == ("succeeded", 1, 204)
    assert delivery["duration_ms"] is not None
    assert delivery["attempt_log"][0]["response_status"] == 204

    with django_capture_on_commit_callbacks(execute=True):
        again = owner_api.post(f"/api/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202
    assert again.json()["redelivery_of"] == delivery["id"]
    assert again.json()["message_id"] == delivery["message_id"]
    receiver.wait(2)
    assert len(receiver.received) == 2
    assert owner_api.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()["count"] == 2


def test_redelivering_another_endpoints_delivery_is_404(owner_api, receiver, django_capture_on_commit_callbacks):
    first, second = register(owner_api, receiver), register(owner_api, receiver)
    with django_capture_on_commit_callbacks(execute=True):
        owner_api.post(f"/api/v1/webhooks/{first['id']}/test")
    connection.set_schema("org_alpha")
    delivery = WebhookDelivery.objects.get()
    connection.set_schema_to_public()
    response = owner_api.post(f"/api/v1/webhooks/{second['id']}/deliveries/{delivery.pk}/redeliver")
    assert response.status_code == 404


def test_a_booking_through_the_api_is_delivered(
    org, owner_api, api_client, receiver, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from spaces.tests.factories import SpaceFactory

    created = register(owner_api, receiver)
    connection.set_tenant(org.organization)
    space = SpaceFactory(name="Blue room")
    connection.set_schema_to_public()
    starts_at = (timezone.now() + timedelta(hours=3)).replace(microsecond=0)
    with django_capture_on_commit_callbacks(execute=True):
        booked = api_client(org, org.member).post(
            "/api/v1/reservations",
            {
                "space": space.pk,
                "starts_at": starts_at.isoformat(),
                "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
            },
        )
    assert booked.status_code == 201
    [request] = receiver.wait(1)
    body = Webhook(created["secret"]).verify(request.body, request.headers)
    assert body["data"] == booked.json()  # the same representation the API gave
