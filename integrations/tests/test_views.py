"""Webhooks pages under Settings: owners and admins only, the secret shown once, CSRF on every form."""

import pytest
from django.db import connection

from integrations.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def endpoints(org) -> list[WebhookEndpoint]:
    connection.set_tenant(org.organization)
    try:
        return list(WebhookEndpoint.objects.all())
    finally:
        connection.set_schema_to_public()


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(org, web_client, receiver):
    client = web_client(org, org.admin)
    response = client.post(
        "/settings/webhooks/", {"url": receiver.url(), "events": ["reservation.created", "space.created"]}
    )
    assert response.status_code == 201
    [endpoint] = endpoints(org)
    assert endpoint.secret in response.content.decode()
    assert endpoint.events == ["reservation.created", "space.created"]
    listing = client.get("/settings/webhooks/").content.decode()
    assert receiver.url() in listing and endpoint.secret not in listing
    assert endpoint.secret not in client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()


def test_a_bad_url_is_a_form_error(org, web_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = web_client(org, org.owner).post(
        "/settings/webhooks/", {"url": "http://192.168.1.1/hook", "events": ["space.created"]}
    )
    assert response.status_code == 400
    assert "private network" in response.content.decode()
    assert endpoints(org) == []


def test_members_get_403_and_other_organizations_endpoints_404(org, other_org, web_client, receiver):
    assert web_client(org, org.member).get("/settings/webhooks/").status_code == 403
    connection.set_tenant(other_org.organization)
    theirs = WebhookEndpoint.objects.create(url=receiver.url(), events=["space.created"], secret="whsec_eA==")
    connection.set_schema_to_public()
    assert web_client(org, org.owner).get(f"/settings/webhooks/{theirs.pk}/").status_code == 404


def test_forms_need_csrf(org, web_client, receiver):
    client = web_client(org, org.owner, enforce_csrf_checks=True)
    response = client.post("/settings/webhooks/", {"url": receiver.url(), "events": ["space.created"]})
    assert response.status_code == 403
    assert endpoints(org) == []


def test_test_event_log_redeliver_edit_and_delete(
    org, web_client, receiver, celery_eager, django_capture_on_commit_callbacks
):
    client = web_client(org, org.owner)
    client.post("/settings/webhooks/", {"url": receiver.url(), "events": ["space.created"]})
    [endpoint] = endpoints(org)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/settings/webhooks/{endpoint.pk}/test").status_code == 302
    receiver.wait(1)
    page = client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert "webhook.test" in page and "Succeeded" in page and "204" in page

    connection.set_tenant(org.organization)
    delivery = WebhookDelivery.objects.get()
    connection.set_schema_to_public()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/settings/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver")
    assert len(receiver.wait(2)) == 2

    saved = client.post(
        f"/settings/webhooks/{endpoint.pk}/",
        {"url": receiver.url("/other"), "events": ["space.updated"], "description": "x"},
    )
    assert saved.status_code == 302
    [endpoint] = endpoints(org)
    assert (endpoint.url, endpoint.events, endpoint.is_active) == (receiver.url("/other"), ["space.updated"], False)

    assert client.post(f"/settings/webhooks/{endpoint.pk}/delete").status_code == 302
    assert endpoints(org) == []
