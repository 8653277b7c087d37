import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership
from spacemanager.errors import PermissionDenied, ValidationFailed
from tenants.models import Organization
from tenants.services import organization_update

pytestmark = pytest.mark.django_db


def test_organization_update_changes_only_the_given_fields(org):
    organization = organization_update(
        actor=org.membership(org.admin), organization=org.organization, name="  Alpha Studios ", timezone="Asia/Tokyo"
    )
    stored = Organization.objects.get(pk=org.organization.pk)
    assert (stored.name, stored.timezone, stored.currency) == ("Alpha Studios", "Asia/Tokyo", "EUR")
    assert organization.slug == "alpha"


def test_organization_update_is_for_managers_of_that_organization(org, other_org):
    with pytest.raises(PermissionDenied):
        organization_update(actor=org.membership(org.member), organization=org.organization, name="Nope")
    with pytest.raises(PermissionDenied):
        organization_update(actor=other_org.membership(other_org.owner), organization=org.organization, name="Nope")
    assert Organization.objects.get(pk=org.organization.pk).name == "Alpha"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"currency": "euro"}, "currency"),
    ],
)
def test_organization_update_refuses_bad_values_and_changes_nothing(org, changes, field):
    with pytest.raises(ValidationFailed) as caught:
        organization_update(actor=org.membership(org.owner), organization=org.organization, **changes)
    assert caught.value.field == field
    stored = Organization.objects.get(pk=org.organization.pk)
    assert (stored.name, stored.timezone, stored.currency) == ("Alpha", "UTC", "EUR")


def test_organization_update_without_changes_writes_nothing(org):
    actor = org.membership(org.owner)
    with CaptureQueriesContext(connection) as queries:
        organization_update(actor=actor, organization=org.organization)
    assert not [query for query in queries if query["sql"].startswith("UPDATE")]
    assert actor.role == Membership.Role.OWNER
