"""GET|PATCH /api/v1/organization: members read, owners and admins change; zones and currencies are real."""

import pytest

from tenants.models import Organization

pytestmark = pytest.mark.django_db
URL = "/api/v1/organization"


def test_members_read_the_settings(org, api_client):
    body = api_client(org, org.member).get(URL).json()
    assert (body["slug"], body["timezone"], body["currency"]) == ("alpha", "UTC", "EUR")
    assert api_client(org).get(URL).status_code == 401


def test_an_admin_changes_them_and_a_member_cannot(org, api_client):
    response = api_client(org, org.admin).patch(
        URL, {"timezone": "Europe/Lisbon", "currency": "GBP", "name": "Alpha Ltd"}
    )
    assert response.status_code == 200
    assert (response.json()["timezone"], response.json()["currency"], response.json()["name"]) == (
        "Europe/Lisbon",
        "GBP",
        "Alpha Ltd",
    )
    assert Organization.objects.get(pk=org.organization.pk).timezone == "Europe/Lisbon"
    assert api_client(org, org.member).patch(URL, {"currency": "USD"}).status_code == 403


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "localtime"),
        ("timezone", "Factory"),
        ("timezone", "Mars/Olympus"),
        ("currency", "XYZ"),
        ("currency", "eur"),
    ],
)
def test_fake_zones_and_currencies_are_refused(org, api_client, field, value):
    response = api_client(org, org.owner).patch(URL, {field: value})
    assert response.status_code == 400
    assert field in response.json()
    assert (
        getattr(Organization.objects.get(pk=org.organization.pk), field)
        == {"timezone": "UTC", "currency": "EUR"}[field]
    )


@pytest.mark.parametrize("body", [{"slug": "other"}, {"id": 9}, {"colour": "red"}])
def test_the_slug_and_unknown_fields_are_refused(org, api_client, body):
    response = api_client(org, org.owner).patch(URL, body)
    assert response.status_code == 400
    assert next(iter(body)) in response.json()


@pytest.mark.parametrize(("field", "value"), [("timezone", "localtime"), ("currency", "XYZ")])
def test_the_settings_page_refuses_them_the_same_way(org, web_client, field, value):
    data = {"name": "Alpha", "timezone": "UTC", "currency": "EUR", field: value}
    response = web_client(org, org.owner).post("/settings/", data)
    assert response.status_code == 400
    assert (
        getattr(Organization.objects.get(pk=org.organization.pk), field)
        == {"timezone": "UTC", "currency": "EUR"}[field]
    )
