"""Webhooks in the organization's admin: saved through the services, the secret shown once."""

import pytest
from django.db import connection

from accounts.models import Membership, User
from integrations.models import WebhookDelivery, WebhookEndpoint
from spacemanager.testing import logged_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, org):
    user = User.objects.create_superuser(email="root@platform.test", password="root-password-42")
    Membership.objects.create(user=user, organization=org.organization, role=Membership.Role.ADMIN)
    return logged_in_client(client, host=org.host, user=user)


def test_adding_an_endpoint_shows_its_secret_once_and_the_rules_apply(org, admin_client, receiver, settings):
    response = admin_client.post(
        "/admin/integrations/webhookendpoint/add/",
        {"url": receiver.url(), "description": "Signage", "events": ["reservation.created"], "is_active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    connection.set_tenant(org.organization)
    endpoint = WebhookEndpoint.objects.get()
    connection.set_schema_to_public()
    assert endpoint.secret in response.content.decode()
    assert (
        endpoint.secret
        not in admin_client.get(f"/admin/integrations/webhookendpoint/{endpoint.pk}/change/").content.decode()
    )

    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    refused = admin_client.post(
        "/admin/integrations/webhookendpoint/add/",
        {"url": "http://10.0.0.1/x", "events": ["reservation.created"], "is_active": "on"},
    )
    assert refused.status_code == 200
    assert "private network" in refused.content.decode()


def test_the_test_event_action_queues_a_delivery(
    org, admin_client, receiver, celery_eager, django_capture_on_commit_callbacks
):
    connection.set_tenant(org.organization)
    endpoint = WebhookEndpoint.objects.create(
        url=receiver.url(), events=["space.created"], secret="whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ="
    )
    connection.set_schema_to_public()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/integrations/webhookendpoint/",
            {"action": "send_test_event", "_selected_action": [endpoint.pk]},
            follow=True,
        )
    assert "Queued 1 test event" in response.content.decode()
    assert len(receiver.wait(1)) == 1
    connection.set_tenant(org.organization)
    assert WebhookDelivery.objects.get().status == "succeeded"
