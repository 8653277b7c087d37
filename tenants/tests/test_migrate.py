import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.signals import schema_migrated

from tenants import migrate
from tenants.models import Organization
from tenants.schema import tenant_schema_create

LATEST_RESERVATIONS = max(name for app, name in migrate.tenant_migration_keys() if app == "reservations")
# The release before the list indexes (reservations.0003_list_indexes) and everything merged after it.
PREVIOUS_RESERVATIONS = "0002_reminders_and_notice_sequence"

# Django's introspection.table_names(): every table visible on the search path, i.e. a scan of pg_class.
CATALOG_LISTING = "WHERE c.relkind IN ('f', 'm', 'p', 'r', 'v')"


@pytest.fixture
def migrated_schemas():
    """The schemas migrate_schemas actually ran Django's migrate in."""
    seen: list[str] = []

    def record(sender, schema_name, **kwargs):
        seen.append(schema_name)

    schema_migrated.connect(record, weak=False)
    yield seen
    schema_migrated.disconnect(record)


def migrate_all() -> str:
    out = io.StringIO()
    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=1, stdout=out)
    connection.set_schema_to_public()
    return out.getvalue()


def index_exists(schema: str, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = %s", [schema, name])
        return cursor.fetchone() is not None


@pytest.mark.django_db
def test_a_migrate_with_nothing_to_do_touches_no_organization_schema(org, other_org, migrated_schemas, capsys):
    migrate_all()

    assert migrated_schemas == []
    assert "nothing to do" in capsys.readouterr().out


@pytest.mark.django_db
def test_an_organization_made_by_an_older_release_gets_the_new_migrations_at_the_next_migrate(
    org, other_org, migrated_schemas, capsys
):
    # During a rolling deploy an old process creates an organization after the new release migrated: its
    # schema has the tables and the migration records of the old release.
    Organization.objects.create(name="Late", slug="late", schema_name="org_late")
    tenant_schema_create("org_late")
    call_command(
        "migrate_schemas",
        schema_name="org_late",
        app_label="reservations",
        migration_name=PREVIOUS_RESERVATIONS,
        interactive=False,
        verbosity=0,
    )
    connection.set_schema_to_public()
    assert not index_exists("org_late", "reservations_starts_id")
    assert migrate.schemas_behind(["org_alpha", "org_late", "org_beta"]) == ["org_late"]
    migrated_schemas.clear()

    migrate_all()

    assert migrated_schemas == ["org_late"]
    assert "1 of 3 organization schemas miss tenant migrations" in capsys.readouterr().out
    assert index_exists("org_late", "reservations_starts_id")
    assert migrate.schemas_behind(["org_alpha", "org_late", "org_beta"]) == []


@pytest.mark.django_db
def test_a_schema_without_a_migrations_table_or_without_a_schema_counts_as_behind():
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA org_bare")

    assert migrate.schemas_behind(["org_bare", "org_nowhere"]) == ["org_bare", "org_nowhere"]


@pytest.mark.django_db
def test_the_check_costs_one_query_per_batch_of_schemas_whatever_the_migrations(monkeypatch, org, other_org):
    monkeypatch.setattr(migrate, "CHECK_BATCH_SCHEMAS", 1)
    for slug in ("gamma", "delta", "epsilon"):
        tenant_schema_create(f"org_{slug}")

    schemas = ["org_alpha", "org_beta", "org_gamma", "org_delta", "org_epsilon"]
    with CaptureQueriesContext(connection) as queries:
        assert migrate.schemas_behind(schemas) == []
    # one catalog lookup, then one per batch (here one schema per batch); none lists the catalog
    statements = [q["sql"] for q in queries if not q["sql"].startswith("SET search_path")]
    assert len(statements) == 1 + len(schemas)
    assert not [q["sql"] for q in queries if CATALOG_LISTING in q["sql"]]


@pytest.mark.django_db
def test_migrating_a_schema_never_lists_the_whole_catalog(org):
    with CaptureQueriesContext(connection) as queries:
        call_command(
            "migrate_schemas",
            schema_name="org_alpha",
            app_label="reservations",
            migration_name=PREVIOUS_RESERVATIONS,
            interactive=False,
            verbosity=0,
        )
        call_command("migrate_schemas", schema_name="org_alpha", interactive=False, verbosity=0)
    connection.set_schema_to_public()

    assert index_exists("org_alpha", "reservations_starts_id")
    assert not [q["sql"] for q in queries if CATALOG_LISTING in q["sql"]]
