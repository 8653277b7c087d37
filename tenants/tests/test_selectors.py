import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, User
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.errors import NotFound
from tenants.models import Organization
from tenants.selectors import (
    organization_get_by_slug,
    organization_list,
    organization_list_active,
    organization_overview_list,
    organization_usage_counts,
)


@pytest.mark.django_db
def test_overview_lists_organizations_with_counts_and_skips_the_public_site(org, other_org):
    Membership.objects.create(
        user=User.objects.create_user(email="extra@beta.test"), organization=other_org.organization
    )

    rows = {row.organization.slug: row for row in organization_overview_list()}

    assert set(rows) == {"alpha", "beta"}
    assert rows["alpha"].members == 3
    assert rows["beta"].members == 4  # this transaction's own membership, not committed yet
    assert (rows["alpha"].spaces, rows["alpha"].reservations) == (0, 0)
    assert rows["alpha"].organization.schema_name == "org_alpha"


@pytest.mark.django_db
def test_overview_counts_spaces_and_reservations_written_in_the_schema(org, other_org, in_tenant):
    ReservationFactory.create_batch(3, user=org.member)  # a space each
    Reservation.objects.filter(pk=Reservation.objects.order_by("pk").first().pk).delete()
    connection.set_schema_to_public()

    rows = {row.organization.slug: row for row in organization_overview_list()}

    assert (rows["alpha"].spaces, rows["alpha"].reservations) == (3, 2)
    assert (rows["beta"].spaces, rows["beta"].reservations) == (0, 0)


@pytest.mark.django_db
def test_overview_is_one_query_however_many_organizations(org, other_org):
    with CaptureQueriesContext(connection) as two:
        organization_overview_list()
    # Rows without a schema or a counter row (auto_create_schema is off): they count zero.
    Organization.objects.create(name="Gamma", slug="gamma", schema_name="org_gamma")
    Organization.objects.create(name="Delta", slug="delta", schema_name="org_delta")

    with CaptureQueriesContext(connection) as four:
        rows = organization_overview_list()

    assert len(rows) == 4
    assert len(two) == len(four) == 1
    new = [(row.members, row.spaces, row.reservations) for row in rows if row.organization.slug in {"gamma", "delta"}]
    assert new == [(0, 0, 0), (0, 0, 0)]


@pytest.mark.django_db
def test_usage_counts_of_a_page_of_organizations_in_one_query(org, other_org, django_assert_num_queries):
    with django_assert_num_queries(1):
        counts = organization_usage_counts(organization_ids=[org.organization.pk, other_org.organization.pk])

    assert counts[org.organization.pk].members == 3
    assert (counts[org.organization.pk].spaces, counts[org.organization.pk].reservations) == (0, 0)


@pytest.mark.django_db
def test_usage_counts_of_nothing_query_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert organization_usage_counts(organization_ids=[]) == {}


@pytest.mark.django_db
def test_organization_list_never_joins_memberships_or_counters(org):
    # A join would follow the queryset into the admin's filters, date hierarchy and COUNTs.
    sql = str(organization_list().query)
    assert "accounts_membership" not in sql
    assert "tenants_organizationusage" not in sql


@pytest.mark.django_db
def test_get_by_slug_finds_organizations_but_never_the_public_site(org):
    assert organization_get_by_slug(slug="alpha") == org.organization
    with pytest.raises(NotFound, match="“public”"):
        organization_get_by_slug(slug="public")
    with pytest.raises(NotFound):
        organization_get_by_slug(slug="nobody")


@pytest.mark.django_db
def test_active_organizations_exclude_the_public_site(org, other_org):
    schemas = list(organization_list_active().values_list("schema_name", flat=True))

    assert schemas == ["org_alpha", "org_beta"]
    assert Organization.objects.filter(schema_name="public").exists()


@pytest.mark.django_db
def test_inactive_organizations_get_no_periodic_work(org, other_org):
    Organization.objects.filter(pk=other_org.organization.pk).update(is_active=False)

    assert list(organization_list_active()) == [org.organization]


@pytest.mark.django_db
def test_a_template_schema_is_never_an_active_organization(org, other_org, settings):
    settings.TENANT_BASE_SCHEMA = other_org.organization.schema_name

    assert list(organization_list_active()) == [org.organization]
