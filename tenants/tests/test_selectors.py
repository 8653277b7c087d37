import pytest

from tenants.models import Organization
from tenants.selectors import organization_list_active

pytestmark = pytest.mark.django_db


def test_active_organizations_exclude_the_public_site(org, other_org):
    schemas = list(organization_list_active().values_list("schema_name", flat=True))

    assert schemas == ["org_alpha", "org_beta"]
    assert Organization.objects.filter(schema_name="public").exists()


def test_inactive_organizations_get_no_periodic_work(org, other_org):
    Organization.objects.filter(pk=other_org.organization.pk).update(is_active=False)

    assert list(organization_list_active()) == [org.organization]


def test_a_template_schema_is_never_an_active_organization(org, other_org, settings):
    settings.TENANT_BASE_SCHEMA = other_org.organization.schema_name

    assert list(organization_list_active()) == [org.organization]
