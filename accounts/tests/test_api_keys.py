"""API keys: made by owners and admins, shown once, stored as a hash, limited by scopes, dead when they should be."""

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import api_keys
from accounts.models import ApiKey, Membership
from accounts.services import user_deactivate
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
BOOKING = {"starts_at": "2025-03-10T09:00:00Z", "ends_at": "2025-03-10T10:00:00Z"}


def text(response) -> str:
    return html.unescape(response.content.decode())


def make_key(test_org, user=None, scopes=("read",), **extra) -> api_keys.IssuedKey:
    return api_keys.api_key_create(
        actor=test_org.membership(user or test_org.admin),
        organization=test_org.organization,
        name="Integration",
        scopes=list(scopes),
        **extra,
    )


def key_client(test_org, key: str) -> APIClient:
    client = APIClient(HTTP_HOST=test_org.host)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def space(in_tenant, booking_now):
    space = SpaceFactory(name="Blue room", capacity=6)
    connection.set_schema_to_public()
    return space


# Creating and listing


def test_an_admin_creates_a_key_and_sees_it_once(org, api_client):
    client = api_client(org, org.admin)
    response = client.post("/api/v1/api-keys", {"name": "Wall display", "scopes": ["read"]}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["key"].startswith("sm_") and len(body["key"]) > 40
    assert body["id"] and body["scopes"] == ["read"] and body["status"] == "active"
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.key_hash == api_keys.key_hash(body["key"]) and body["key"] not in stored.key_hash
    listed = client.get("/api/v1/api-keys").json()["results"]
    assert [item["prefix"] for item in listed] == [body["key"][:10]]
    assert body["key"] not in client.get("/api/v1/api-keys").content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "scopes": ["write"]}, "scopes"),
        ({"name": "X", "scopes": ["admin"]}, "scopes"),
        ({"name": "X", "scopes": []}, "scopes"),
        ({"name": "   ", "scopes": ["read"]}, "name"),
        ({"name": "X", "scopes": ["read"], "expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "X", "scopes": ["read"], "expires_at": "soon"}, "expires_at"),
        ({"scopes": ["read"]}, "name"),
    ],
)
def test_bad_key_requests_are_field_errors_and_create_nothing(org, api_client, body, field):
    response = api_client(org, org.admin).post("/api/v1/api-keys", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not ApiKey.objects.exists()


def test_members_cannot_create_or_list_keys(org, api_client):
    client = api_client(org, org.member)
    assert client.get("/api/v1/api-keys").status_code == 403
    assert client.post("/api/v1/api-keys", {"name": "X", "scopes": ["read"]}, format="json").status_code == 403
    assert not ApiKey.objects.exists()


def test_a_key_cannot_manage_keys(org):
    issued = make_key(org, scopes=("read", "write"))
    client = key_client(org, issued.key)
    assert client.get("/api/v1/api-keys").status_code == 403
    assert client.post("/api/v1/api-keys", {"name": "X", "scopes": ["read"]}, format="json").status_code == 403
    assert ApiKey.objects.count() == 1


def test_another_organizations_keys_are_invisible(org, other_org, api_client):
    theirs = make_key(other_org)
    client = api_client(org, org.owner)
    assert client.get("/api/v1/api-keys").json()["results"] == []
    assert client.delete(f"/api/v1/api-keys/{theirs.api_key.pk}").status_code == 404
    assert ApiKey.objects.get().revoked_at is None


# Using a key


def test_a_read_only_key_lists_reservations_and_is_refused_a_booking_with_403(org, space):
    issued = make_key(org)
    client = key_client(org, issued.key)
    assert client.get("/api/v1/reservations").status_code == 200
    response = client.post("/api/v1/reservations", {"space": space.pk, **BOOKING}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "api_key_read_only"
    for method in (client.put, client.patch, client.delete):
        assert method(f"/api/v1/spaces/{space.pk}", {}, format="json").status_code == 403


def test_a_write_key_books_as_its_creator(org, space):
    issued = make_key(org, scopes=("read", "write"))
    response = key_client(org, issued.key).post("/api/v1/reservations", {"space": space.pk, **BOOKING}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["user"]["email"] == "admin@alpha.test"


def test_a_key_acts_with_its_creators_current_role(org, api_client):
    issued = make_key(org, org.admin)
    client = key_client(org, issued.key)
    assert client.get("/api/v1/members").status_code == 200
    Membership.objects.filter(user=org.admin, organization=org.organization).update(role="member")
    assert client.get("/api/v1/members").status_code == 403


def test_a_key_works_only_on_its_organizations_host(org, other_org):
    issued = make_key(org)
    response = key_client(other_org, issued.key).get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_invalid"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("death", ["revoked", "expired", "creator_left", "creator_deactivated", "unknown"])
def test_dead_keys_get_401(org, death, api_client):
    issued = make_key(org)
    key = issued.key
    if death == "revoked":
        assert api_client(org, org.owner).delete(f"/api/v1/api-keys/{issued.api_key.pk}").status_code == 204
    elif death == "expired":
        ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif death == "creator_left":
        Membership.objects.filter(user=org.admin, organization=org.organization).delete()
    elif death == "creator_deactivated":
        user_deactivate(user=org.admin)
    else:
        key = "sm_" + "x" * 43
    response = key_client(org, key).get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_invalid"


def test_a_key_with_a_future_expiry_works_until_then(org):
    issued = make_key(org, expires_at=timezone.now() + timedelta(days=1))
    assert key_client(org, issued.key).get("/api/v1/auth/me").json()["user"]["email"] == "admin@alpha.test"


def test_last_use_is_recorded_at_most_once_a_minute(org):
    issued = make_key(org)
    client = key_client(org, issued.key)
    client.get("/api/v1/auth/me")
    first = ApiKey.objects.get().last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/auth/me")
    assert not any(query["sql"].startswith("UPDATE") for query in queries)
    assert ApiKey.objects.get().last_used_at == first
    ApiKey.objects.update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/auth/me")
    assert ApiKey.objects.get().last_used_at > first


def test_jwt_tokens_still_work_beside_keys(org, api_client):
    assert api_client(org, org.member).get("/api/v1/auth/me").status_code == 200


# The Settings page


def test_page_creates_a_key_and_shows_it_once(org, web_client):
    client = web_client(org, org.admin)
    response = client.post("/settings/api-keys/", {"name": "Wall display", "access": "read"})
    assert response.status_code == 201
    key = re.search(r'id="new-key">(sm_[^<]+)<', response.content.decode())[1]
    assert ApiKey.objects.get().key_hash == api_keys.key_hash(key)
    listing = text(client.get("/settings/api-keys/"))
    assert "Wall display" in listing and key[:10] in listing and key not in listing
    assert key_client(org, key).get("/api/v1/reservations").status_code == 200


def test_page_a_key_with_an_expiry_day(org, web_client):
    client = web_client(org, org.admin)
    day = (timezone.now() + timedelta(days=3)).date()
    assert (
        client.post("/settings/api-keys/", {"name": "Trial", "access": "write", "expires_on": day}).status_code == 201
    )
    api_key = ApiKey.objects.get()
    assert api_key.scopes == ["read", "write"] and api_key.expires_at.date() >= day


def test_page_bad_input_shows_errors_and_creates_nothing(org, web_client):
    client = web_client(org, org.admin)
    response = client.post("/settings/api-keys/", {"name": "", "access": "root", "expires_on": "2000-01-01"})
    assert response.status_code == 400
    page = text(response)
    assert "This field is required." in page and "Select a valid choice." in page
    past = client.post("/settings/api-keys/", {"name": "Old", "access": "read", "expires_on": "2000-01-01"})
    assert past.status_code == 400 and "The expiry must be in the future." in text(past)
    assert not ApiKey.objects.exists()


def test_page_revokes_a_key(org, web_client):
    issued = make_key(org)
    response = web_client(org, org.owner).post(f"/settings/api-keys/{issued.api_key.pk}/revoke/", follow=True)
    assert "was revoked" in text(response)
    assert key_client(org, issued.key).get("/api/v1/auth/me").status_code == 401


def test_page_is_for_owners_and_admins_of_this_organization(org, other_org, web_client):
    theirs = make_key(other_org)
    assert web_client(org, org.member).get("/settings/api-keys/").status_code == 403
    assert web_client(org, org.member).post("/settings/api-keys/", {"name": "X", "access": "read"}).status_code == 403
    assert web_client(org, org.owner).post(f"/settings/api-keys/{theirs.api_key.pk}/revoke/").status_code == 404
    assert web_client(org).get("/settings/api-keys/").status_code == 302
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None
