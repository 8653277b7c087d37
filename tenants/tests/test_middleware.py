"""The per-process cache of which organization a host serves (tenants.middleware)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants import middleware
from tenants.middleware import forget_organization_hosts, organization_for_host
from tenants.models import Domain, Organization
from tenants.services import organization_deactivate, organization_update


@pytest.fixture
def host_cache(settings, monkeypatch):
    """The cache switched on (pytest runs without it) on a clock the test moves by hand."""
    settings.TENANT_CACHE_SECONDS = 5
    clock = {"now": 1000.0}
    monkeypatch.setattr(middleware, "_clock", lambda: clock["now"])
    forget_organization_hosts()
    yield clock
    forget_organization_hosts()


def domain_lookups(queries) -> int:
    return sum("tenants_domain" in query["sql"] for query in queries)


@pytest.mark.django_db
def test_a_known_host_is_looked_up_once_then_served_from_memory(api_client, org, host_cache):
    client = api_client(org, org.member)
    with CaptureQueriesContext(connection) as first:
        assert client.get("/api/v1/auth/me").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert client.get("/api/v1/auth/me").status_code == 200

    assert domain_lookups(first.captured_queries) == 1
    assert domain_lookups(second.captured_queries) == 0


@pytest.mark.django_db
def test_deactivating_an_organization_closes_its_host_at_once(api_client, org, host_cache):
    client = api_client(org, org.member)
    assert client.get("/api/v1/auth/me").status_code == 200

    organization_deactivate(organization=Organization.objects.get(pk=org.organization.pk))

    assert client.get("/api/v1/auth/me").status_code == 404


@pytest.mark.django_db
def test_a_change_made_elsewhere_is_seen_once_the_entry_expires(api_client, org, host_cache):
    client = api_client(org, org.member)
    assert client.get("/api/v1/auth/me").status_code == 200
    # Another process deactivates it: no signal reaches this one.
    Organization.objects.filter(pk=org.organization.pk).update(is_active=False)

    host_cache["now"] += 4
    assert client.get("/api/v1/auth/me").status_code == 200
    host_cache["now"] += 2
    assert client.get("/api/v1/auth/me").status_code == 404


@pytest.mark.django_db
def test_settings_changes_are_served_at_once(org, host_cache):
    organization_for_host(org.host)
    actor = org.membership(org.owner)

    organization_update(actor=actor, organization=actor.organization, timezone="Asia/Tokyo")

    assert organization_for_host(org.host).timezone == "Asia/Tokyo"


@pytest.mark.django_db
def test_each_request_gets_its_own_copy(org, host_cache):
    first = organization_for_host(org.host)
    first.timezone = "not a zone"  # e.g. a settings form that failed validation halfway

    assert organization_for_host(org.host).timezone == org.organization.timezone


@pytest.mark.django_db
def test_unknown_and_inactive_hosts_are_refused(org, host_cache):
    with pytest.raises(Domain.DoesNotExist):
        organization_for_host("nobody.localhost")
    Organization.objects.filter(pk=org.organization.pk).update(is_active=False)
    with pytest.raises(Domain.DoesNotExist):
        organization_for_host(org.host)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "variant", ["ALPHA.LOCALHOST", "Alpha.Localhost.", "alpha.localhost.:8000", "www.alpha.localhost"]
)
def test_hosts_are_normalised_before_routing(api_client, org, variant):
    client = api_client(org, org.member)
    client.defaults["HTTP_HOST"] = variant

    response = client.get("/api/v1/auth/me")

    assert response.status_code == 200
    assert response.json()["organization"]["slug"] == "alpha"
