"""A space's check-in settings: in its API representation, its form and its admin, with the organization's
defaults for new spaces."""

import pytest
from django.urls import reverse

from spaces.models import Space
from spaces.tests.factories import SpaceFactory
from tenants.models import Organization

pytestmark = pytest.mark.django_db
URL = "/api/v1/spaces"


def test_a_new_space_has_no_check_in_and_a_15_minute_grace(api_client, org):
    body = api_client(org, org.owner).post(URL, {"name": "Blue room"}, format="json").json()

    assert (body["check_in_required"], body["check_in_grace_minutes"]) == (False, 15)


def test_a_new_space_takes_the_organizations_check_in_defaults(api_client, org):
    Organization.objects.filter(pk=org.organization.pk).update(
        default_check_in_required=True, default_check_in_grace_minutes=5
    )
    client = api_client(org, org.owner)

    defaulted = client.post(URL, {"name": "Desk 1"}, format="json").json()
    own = client.post(URL, {"name": "Desk 2", "check_in_required": False}, format="json").json()

    assert (defaulted["check_in_required"], defaulted["check_in_grace_minutes"]) == (True, 5)
    assert (own["check_in_required"], own["check_in_grace_minutes"]) == (False, 5)


def test_managers_change_the_check_in_settings(api_client, org, in_tenant):
    space = SpaceFactory()

    response = api_client(org, org.admin).patch(
        f"{URL}/{space.pk}", {"check_in_required": True, "check_in_grace_minutes": 30}, format="json"
    )

    assert response.status_code == 200, response.json()
    space.refresh_from_db()
    assert (space.check_in_required, space.check_in_grace_minutes) == (True, 30)


@pytest.mark.parametrize(
    "field, value", [("check_in_grace_minutes", 0), ("check_in_grace_minutes", 1441), ("check_in_required", "yes")]
)
def test_bad_check_in_settings_are_a_400_on_their_field(api_client, org, in_tenant, field, value):
    space = SpaceFactory()

    response = api_client(org, org.owner).patch(f"{URL}/{space.pk}", {field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    space.refresh_from_db()
    assert (space.check_in_required, space.check_in_grace_minutes) == (False, 15)


def test_the_space_form_offers_the_organizations_defaults_and_refuses_a_zero_grace(client, org, in_tenant):
    Organization.objects.filter(pk=org.organization.pk).update(
        default_check_in_required=True, default_check_in_grace_minutes=7
    )
    client.force_login(org.owner)
    url = reverse("spaces:create")

    page = client.get(url, HTTP_HOST=org.host).content.decode()
    refused = client.post(
        url,
        {
            "name": "Hall",
            "kind": "meeting_room",
            "capacity": "3",
            "min_duration_minutes": "15",
            "max_duration_minutes": "60",
            "max_days_ahead": "30",
            "always_open": "on",
            "check_in_required": "on",
            "check_in_grace_minutes": "0",
        },
        HTTP_HOST=org.host,
    )

    assert 'name="check_in_grace_minutes" value="7"' in page
    assert refused.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in refused.content.decode()
    assert not Space.objects.filter(name="Hall").exists()
