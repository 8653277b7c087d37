"""Creating an organization's schema quickly.

django-tenants creates a tenant schema by replaying every migration of every app inside it (shared apps'
operations are skipped by the router but still loaded, rendered and recorded). That costs ~0.2 s before the
tenant apps have a single migration of their own, and grows with each one; sign-up has a 0.3 s budget
(DESIGN.md). A brand-new schema has no data to migrate, so we create the tenant apps' tables straight from
the current models (the state the migrations end in) and record every migration as applied, exactly as
`migrate_schemas` would have left it.

Database code that models cannot state (billing's triggers that keep issued invoices unchanged) comes from
the tenant migrations' RunSQL operations, replayed here in migration order on the finished tables: such SQL
must therefore hold on the final tables too (CREATE OR REPLACE, ON CONFLICT DO NOTHING).

Two tests keep this honest (tenants/tests/test_schema.py): the schema built here is identical, table by
table, column by column, constraint by constraint, index by index and trigger by trigger, to one built by
`migrate_schemas`; and tenant apps' migrations contain no RunPython, whose effects this path would skip. A
tenant migration that needs one must also teach `tenant_schema_create` the same step, unless it only converts
rows that exist (a brand-new schema has none) and says so with `only_converts_existing_rows = True`.
"""

from functools import cache

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Model
from django_tenants.utils import quote_schema_name


def tenant_models() -> list[type[Model]]:
    labels = [apps.get_app_config(name.rpartition(".")[2]).label for name in settings.TENANT_APPS]
    return [
        model
        for label in labels
        for model in apps.get_app_config(label).get_models()
        if model._meta.managed and not model._meta.proxy and not model._meta.swapped
    ]


@cache
def _tenant_run_sql() -> tuple[str, ...]:
    """The forward SQL of the tenant apps' RunSQL operations, in the order `migrate` would run them."""
    from django.db.migrations.operations import RunSQL

    loader = MigrationLoader(None, ignore_no_migrations=True)
    labels = {apps.get_app_config(name.rpartition(".")[2]).label for name in settings.TENANT_APPS}
    plan: dict[tuple[str, str], None] = {}  # ordered, without repeats
    for leaf in sorted(loader.graph.leaf_nodes()):
        plan.update(dict.fromkeys(loader.graph.forwards_plan(leaf)))
    statements: list[str] = []
    for app, name in plan:
        if app not in labels:
            continue
        for operation in loader.graph.nodes[(app, name)].operations:
            if isinstance(operation, RunSQL) and operation.sql != RunSQL.noop:
                sql = operation.sql
                statements.extend([sql] if isinstance(sql, str) else list(sql))
    return tuple(statements)


@cache
def _all_migration_keys() -> tuple[tuple[str, str], ...]:
    # The graph doesn't change while the process runs; loading it is most of the cost of a migrate.
    return tuple(sorted(MigrationLoader(None, ignore_no_migrations=True).graph.nodes))


def tenant_schema_create(schema_name: str) -> None:
    """Create `schema_name` with every tenant table, marked as fully migrated. Call inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quote_schema_name(schema_name)}")
    # Tables go into the new schema; public stays on the path for btree_gist's operator classes.
    connection.set_schema(schema_name, include_public=True)
    try:
        recorder = MigrationRecorder(connection)
        with connection.schema_editor(atomic=False) as editor:
            for model in tenant_models():
                editor.create_model(model)
            # Not recorder.ensure_schema(): it asks whether the table exists by listing every table visible
            # on the search path, a scan of the whole catalog (0.3 s at 10,000 schemas). A new schema has none.
            editor.create_model(recorder.Migration)
            for sql in _tenant_run_sql():
                editor.execute(sql, params=None)
        recorder.migration_qs.bulk_create(
            [recorder.Migration(app=app, name=name) for app, name in _all_migration_keys()]
        )
    finally:
        connection.set_schema_to_public()
