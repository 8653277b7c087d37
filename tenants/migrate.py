"""`migrate_schemas` that costs little when there is little to do (settings.GET_EXECUTOR_FUNCTION).

django-tenants runs Django's whole `migrate` in every schema, one after the other. Each run asks several
times whether the schema has a `django_migrations` table by listing every table visible on the search path
(`introspection.table_names()`), and that listing scans the whole catalog, which grows with every schema:
at 1,000 organizations a migrate with nothing to do took 7 minutes, at 10,000 about 4 hours (quadratic).

Two changes make it linear:

- Before migrating, one query per 100 schemas reads each schema's `django_migrations` and keeps only the
  schemas that miss one of the tenant apps' migrations. Nothing else is migrated: a deploy that changes no
  tenant migration touches no tenant schema. A schema created by an older release during a rolling deploy
  (tenants/schema.py records the migrations that release knew) misses the new ones, so it is found and
  migrated at the next `migrate_schemas`.
- While migrating, "does this schema have django_migrations?" is one indexed catalog lookup.

Anything unusual (`--fake`, `--plan`, `--check`, `--prune`, an app label or migration name) goes through
django-tenants unchanged, every schema included.
"""

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django_tenants.migration_executors import get_executor as django_tenants_executor
from django_tenants.migration_executors.base import MigrationExecutor
from psycopg import sql

# Schemas checked per statement: each one locks a schema's django_migrations and its index until it ends,
# in the server's shared lock table (see tenants.services.RECOUNT_BATCH_SCHEMAS).
CHECK_BATCH_SCHEMAS = 100

# Options under which the command must see every schema as django-tenants would.
_EXACT_OPTIONS = ("fake", "fake_initial", "plan", "check_unapplied", "prune", "app_label", "migration_name")


@cache
def tenant_migration_keys() -> frozenset[tuple[str, str]]:
    """Every migration of the tenant apps, as (app, name): what an up-to-date schema has recorded."""
    tenant_labels = {name.rpartition(".")[2] for name in settings.TENANT_APPS}
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return frozenset(key for key in graph.nodes if key[0] in tenant_labels)


def schemas_behind(schema_names: Iterable[str], *, using: str = "default") -> list[str]:
    """The schemas (in the given order) missing a tenant migration, or without a migrations table at all.

    One catalog query, then one query per 100 schemas however many migrations there are.
    """
    schema_names = list(schema_names)
    if not schema_names:
        return []
    expected = tenant_migration_keys()
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s) AND c.relname = 'django_migrations' AND c.relkind IN ('r', 'p')",
            [schema_names],
        )
        with_table = sorted(row[0] for row in cursor.fetchall())
        up_to_date: set[str] = set()
        for start in range(0, len(with_table), CHECK_BATCH_SCHEMAS):
            batch = with_table[start : start + CHECK_BATCH_SCHEMAS]
            cursor.execute(
                _applied_count_query(batch),
                [[f"{app}.{name}" for app, name in sorted(expected)]],
            )
            up_to_date.update(schema for schema, applied in cursor.fetchall() if applied == len(expected))
    return [schema for schema in schema_names if schema not in up_to_date]


def _applied_count_query(schema_names: Sequence[str]) -> sql.Composed:
    per_schema = sql.SQL(" UNION ALL ").join(
        sql.SQL(
            "SELECT {schema}, count(DISTINCT (m.app, m.name)) FROM {table} m "
            "WHERE m.app || '.' || m.name IN (SELECT key FROM expected)"
        ).format(schema=sql.Literal(schema), table=sql.Identifier(schema, "django_migrations"))
        for schema in schema_names
    )
    return sql.SQL("WITH expected(key) AS (SELECT unnest(%s::text[])) ") + per_schema


def _has_table_in_own_schema(recorder: MigrationRecorder) -> bool:
    """MigrationRecorder.has_table answered from the catalog's indexes, for the connection's own schema."""
    if recorder._has_table:
        return True
    with recorder.connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p'))",
            [recorder.connection.schema_name, recorder.Migration._meta.db_table],
        )
        recorder._has_table = cursor.fetchone()[0]
    return recorder._has_table


@contextmanager
def _cheap_has_table():
    original = MigrationRecorder.has_table
    MigrationRecorder.has_table = _has_table_in_own_schema
    try:
        yield
    finally:
        MigrationRecorder.has_table = original


class SkipUpToDateSchemas(MigrationExecutor):
    """Mixed into django-tenants' executor of the chosen codename (standard, multiprocessing, ...)."""

    def _may_skip(self) -> bool:
        return not any(self.options.get(option) for option in _EXACT_OPTIONS)

    def run_migrations(self, tenants: Iterable[str] | None = None) -> None:
        tenants = list(tenants or [])
        every_organization = (
            self._may_skip() and not self.options.get("schema_name") and self.PUBLIC_SCHEMA_NAME not in tenants
        )
        if self._may_skip():
            organizations = [schema for schema in tenants if schema != self.PUBLIC_SCHEMA_NAME]
            if organizations:
                behind = set(schemas_behind(organizations, using=self.options.get("database") or "default"))
                self._report(len(behind), len(organizations))
                tenants = [schema for schema in tenants if schema == self.PUBLIC_SCHEMA_NAME or schema in behind]
        if tenants:
            with _cheap_has_table():
                super().run_migrations(tenants=tenants)
        if every_organization:
            self._refill_spare_schemas()

    def _refill_spare_schemas(self) -> None:
        """Spares are no organization's, so the pass above never migrates them: the refill drops those of an
        older migration state and builds current ones (tenants/spare_schemas.py)."""
        from tenants.spare_schemas import spare_schemas_refill

        refill = spare_schemas_refill()
        if int(self.options.get("verbosity", 1)) >= 1 and (refill.built or refill.dropped):
            import sys

            sys.stdout.write(f"Spare schemas for sign-up: built {refill.built}, dropped {refill.dropped}.\n")

    def _report(self, behind: int, total: int) -> None:
        if int(self.options.get("verbosity", 1)) < 1:
            return
        import sys

        if behind:
            sys.stdout.write(f"{behind} of {total} organization schemas miss tenant migrations; migrating those.\n")
        else:
            sys.stdout.write(f"All {total} organization schemas have every tenant migration; nothing to do.\n")


def get_executor(codename: str | None = None) -> type[Any]:
    base = django_tenants_executor(codename)
    return type(f"UpToDateSkipping{base.__name__}", (SkipUpToDateSchemas, base), {})
