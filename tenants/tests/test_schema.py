import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython
from django_tenants.utils import quote_schema_name

from tenants.schema import tenant_models, tenant_schema_create


def describe_schema(schema: str) -> dict[str, list[tuple]]:
    """Everything about a schema's shape, with the schema's own name taken out so two can be compared."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity
               FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2""",
            [schema],
        )
        columns = cursor.fetchall()
        cursor.execute(
            """SELECT rel.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
               FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
               JOIN pg_namespace ns ON ns.oid = rel.relnamespace WHERE ns.nspname = %s ORDER BY 1, 2""",
            [schema],
        )
        constraints = [(t, n, k, d.replace(f"{schema}.", "")) for t, n, k, d in cursor.fetchall()]
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s ORDER BY 1, 2", [schema]
        )
        indexes = [(table, name, definition.replace(f"{schema}.", "")) for table, name, definition in cursor.fetchall()]
        cursor.execute(f"SELECT app, name FROM {quote_schema_name(schema)}.django_migrations ORDER BY 1, 2")  # noqa: S608
        migrations = cursor.fetchall()
        # Triggers and the functions they run (billing's guard of issued invoices, the analytics rollups), and rows a
        # migration wrote.
        cursor.execute(
            """SELECT rel.relname, trg.tgname, pg_get_triggerdef(trg.oid), pg_get_functiondef(trg.tgfoid)
               FROM pg_trigger trg JOIN pg_class rel ON rel.oid = trg.tgrelid
               JOIN pg_namespace ns ON ns.oid = rel.relnamespace
               WHERE ns.nspname = %s AND NOT trg.tgisinternal ORDER BY 1, 2""",
            [schema],
        )
        # Functions pinned to their schema's search path name it in quotes too (SET search_path TO 'org_x', ...).
        triggers = [
            tuple(value.replace(f"{schema}.", "").replace(f"'{schema}'", "'<schema>'") for value in row)
            for row in cursor.fetchall()
        ]
        cursor.execute(f"SELECT id, last_number FROM {quote_schema_name(schema)}.billing_invoicecounter")  # noqa: S608
        rows = cursor.fetchall()
    return {
        "columns": columns,
        "constraints": constraints,
        "indexes": indexes,
        "migrations": migrations,
        "triggers": triggers,
        "rows": rows,
    }


@pytest.mark.django_db
def test_fast_schema_is_identical_to_a_migrated_one():
    tenant_schema_create("org_fast_check")
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA org_slow_check")
    call_command("migrate_schemas", tenant=True, schema_name="org_slow_check", interactive=False, verbosity=0)
    connection.set_schema_to_public()

    fast, slow = describe_schema("org_fast_check"), describe_schema("org_slow_check")

    assert fast["migrations"] == slow["migrations"]
    assert fast["columns"] == slow["columns"]
    assert fast["constraints"] == slow["constraints"]
    assert fast["indexes"] == slow["indexes"]
    assert fast["triggers"] == slow["triggers"] and len(fast["triggers"]) >= 2
    assert fast["rows"] == slow["rows"]


@pytest.mark.django_db
def test_fast_schema_has_every_tenant_table():
    tenant_schema_create("org_tables_check")
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'org_tables_check'")
        tables = {row[0] for row in cursor.fetchall()}
    assert {model._meta.db_table for model in tenant_models()} <= tables
    assert "django_migrations" in tables


def test_tenant_migrations_have_no_code_the_fast_path_would_skip():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    tenant_labels = {name.rpartition(".")[2] for name in settings.TENANT_APPS}
    offending = [
        f"{app}.{name}: {type(operation).__name__}"
        for (app, name), migration in loader.disk_migrations.items()
        if app in tenant_labels and not getattr(migration, "only_converts_existing_rows", False)
        for operation in migration.operations
        if isinstance(operation, RunPython)
    ]
    assert not offending, (
        "tenants/schema.py builds new schemas from the models and skips data migrations (it replays RunSQL); "
        f"teach tenant_schema_create these steps too: {offending}"
    )


@pytest.mark.django_db
def test_sign_up_never_lists_the_whole_catalog():
    # Listing every table visible on the search path scans pg_class, which grows with every organization.
    from django.test.utils import CaptureQueriesContext

    from tenants.services import organization_register

    with CaptureQueriesContext(connection) as queries:
        organization_register(
            organization_name="Catalog",
            organization_slug="catalog-check",
            owner_email="owner@catalog.test",
            owner_password="a-long-enough-password-1",
        )
    statements = [query["sql"] for query in queries.captured_queries]
    assert statements, "the sign-up ran no query at all?"
    assert not [sql for sql in statements if "pg_table_is_visible" in sql or "pg_class" in sql]
