import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, User
from spacemanager.errors import NotFound
from tenants import selectors
from tenants.models import Organization
from tenants.selectors import (
    TenantTableCounts,
    organization_get_by_slug,
    organization_list,
    organization_list_active,
    organization_overview_list,
    organizations_with_counts,
    tenant_table_counts,
)


def make_schema_with_spaces(schema: str, spaces: int) -> None:
    quoted = '"' + schema.replace('"', '""') + '"'
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quoted}")
        cursor.execute(f"CREATE TABLE {quoted}.spaces_space (id integer)")
        cursor.execute(f"INSERT INTO {quoted}.spaces_space SELECT generate_series(1, %s)", [spaces])


@pytest.mark.django_db
def test_overview_lists_organizations_with_counts_and_skips_the_public_site(org, other_org):
    Membership.objects.create(
        user=User.objects.create_user(email="extra@beta.test"), organization=other_org.organization
    )

    rows = {row.organization.slug: row for row in organization_overview_list()}

    assert set(rows) == {"alpha", "beta"}
    assert rows["alpha"].members == 3
    assert rows["beta"].members == 4
    # The test organizations have no spaces or reservations (whether or not those tables exist yet).
    assert (rows["alpha"].spaces, rows["alpha"].reservations) == (0, 0)
    assert rows["alpha"].organization.primary_domain == "alpha.localhost"


@pytest.mark.django_db
def test_overview_costs_the_same_number_of_queries_for_more_organizations(org, other_org):
    with CaptureQueriesContext(connection) as two:
        organization_overview_list()
    # Rows without a schema (auto_create_schema is off): they must count zero, not break the query.
    Organization.objects.create(name="Gamma", slug="gamma", schema_name="org_gamma")
    Organization.objects.create(name="Delta", slug="delta", schema_name="org_delta")

    with CaptureQueriesContext(connection) as four:
        rows = organization_overview_list()

    assert len(rows) == 4
    selects = [[q for q in run.captured_queries if q["sql"].startswith("SELECT")] for run in (two, four)]
    # organizations, members, which tables exist, the counts (one statement per 50 schemas)
    assert len(selects[0]) == len(selects[1]) == 4
    assert {(row.spaces, row.reservations) for row in rows if row.organization.slug in {"gamma", "delta"}} == {(0, 0)}


@pytest.mark.django_db
def test_table_counts_count_rows_where_the_table_exists_and_zero_elsewhere():
    make_schema_with_spaces("org_counted", spaces=3)
    make_schema_with_spaces('org_odd"name', spaces=2)  # quoting: a double quote cannot break out

    counts = tenant_table_counts(schema_names=["org_counted", 'org_odd"name', "org_missing"])

    assert counts == {
        "org_counted": TenantTableCounts(spaces=3, reservations=0),
        'org_odd"name': TenantTableCounts(spaces=2, reservations=0),
        "org_missing": TenantTableCounts(spaces=0, reservations=0),
    }


@pytest.mark.django_db
def test_table_counts_use_two_queries_at_most_however_many_schemas():
    for index in range(3):
        make_schema_with_spaces(f"org_many_{index}", spaces=index)

    with CaptureQueriesContext(connection) as queries:
        counts = tenant_table_counts(schema_names=[f"org_many_{index}" for index in range(3)])

    assert [counts[f"org_many_{index}"].spaces for index in range(3)] == [0, 1, 2]
    statements = [q["sql"] for q in queries if "search_path" not in q["sql"] and "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 2


@pytest.mark.django_db
def test_table_counts_of_nothing_query_nothing():
    with CaptureQueriesContext(connection) as queries:
        assert tenant_table_counts(schema_names=[]) == {}
    assert len(queries) == 0


@pytest.mark.django_db
def test_organizations_with_counts_sets_members_and_table_counts(org, other_org):
    rows = {row.slug: row for row in organizations_with_counts(organization_list())}

    assert rows["alpha"].member_count == 3
    assert rows["alpha"].table_counts == TenantTableCounts(spaces=0, reservations=0)


@pytest.mark.django_db
def test_organization_list_never_joins_memberships(org):
    # The join would follow the queryset into the admin's filters, date hierarchy and COUNTs.
    assert "accounts_membership" not in str(organization_list().query)


@pytest.mark.django_db
def test_table_counts_go_in_batches_so_one_statement_never_locks_every_schema(monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_BATCH_SCHEMAS", 2)
    for index in range(5):
        make_schema_with_spaces(f"org_batch_{index}", spaces=index)

    with CaptureQueriesContext(connection) as queries:
        counts = selectors.tenant_table_counts(schema_names=[f"org_batch_{index}" for index in range(5)])

    assert [counts[f"org_batch_{index}"].spaces for index in range(5)] == [0, 1, 2, 3, 4]
    unions = [q["sql"] for q in queries if "count(*)" in q["sql"]]
    assert len(unions) == 3
    assert max(sql.count("UNION ALL") for sql in unions) == 1


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
