import io
import threading

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django_tenants.signals import schema_migrated

from accounts.models import Membership, User
from tenants import spare_schemas
from tenants.models import Domain, Organization, OutboxMessage
from tenants.schema import tenant_models, tenant_schema_create
from tenants.selectors import organization_list_active, organization_list_sweep_order, organization_overview_list
from tenants.services import organization_register
from tenants.spare_schemas import SPARE_PREFIX, migration_state, spare_schema_names, spare_schemas_refill
from tenants.tests.test_schema import describe_schema

REFILL_TASK = "tenants.tasks.spare_schemas_refill"
STALE_SPARE = f"{SPARE_PREFIX}000000000000_0123456789ab"


@pytest.fixture
def pool(settings):
    settings.SPARE_SCHEMAS = 2
    return settings


def register(slug: str, email: str | None = None):
    return organization_register(
        organization_name=slug.capitalize(),
        organization_slug=slug,
        owner_email=email or f"owner@{slug}.example.com",
        owner_password="a long passphrase 42",
        owner_full_name="Spare Owner",
    )


def schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def schema_tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        return {name for (name,) in cursor.fetchall()}


def has_every_tenant_table(schema: str) -> bool:
    return {model._meta.db_table for model in tenant_models()} | {"django_migrations"} <= schema_tables(schema)


def refill_messages() -> int:
    return OutboxMessage.objects.filter(task=REFILL_TASK).count()


@pytest.mark.django_db
def test_the_refill_builds_the_pool_of_current_spares_and_sign_up_takes_one_without_building(pool):
    assert spare_schemas_refill().built == 2
    spares = spare_schema_names()
    assert len(spares) == 2 and all(name.startswith(f"{SPARE_PREFIX}{migration_state()}_") for name in spares)

    with CaptureQueriesContext(connection) as queries:
        registration = register("pooled")

    schema = registration.organization.schema_name
    assert has_every_tenant_table(schema)
    assert len(spare_schema_names()) == 1 and set(spare_schema_names()) < set(spares)
    statements = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in statements if sql.startswith("CREATE TABLE")]
    assert len([sql for sql in statements if sql.startswith("ALTER SCHEMA")]) == 1
    assert refill_messages() == 1  # the worker tops the pool up again
    assert registration.membership.role == Membership.Role.OWNER


@pytest.mark.django_db
def test_an_organization_from_the_pool_is_identical_in_the_catalog_to_one_built_for_it(pool):
    spare_schemas_refill(size=1)
    pooled = register("pooled").organization.schema_name
    assert spare_schema_names() == []
    tenant_schema_create("org_built_check")

    assert describe_schema(pooled) == describe_schema("org_built_check")


@pytest.mark.django_db
def test_with_an_empty_pool_sign_up_builds_the_schema(pool):
    assert spare_schema_names() == []

    with CaptureQueriesContext(connection) as queries:
        registration = register("unpooled")

    assert has_every_tenant_table(registration.organization.schema_name)
    assert [query["sql"] for query in queries.captured_queries if query["sql"].startswith("CREATE TABLE")]
    assert refill_messages() == 0


@pytest.mark.django_db
def test_with_the_pool_turned_off_sign_up_never_looks_for_a_spare(settings):
    settings.SPARE_SCHEMAS = 1
    spare_schemas_refill()
    settings.SPARE_SCHEMAS = 0

    with CaptureQueriesContext(connection) as queries:
        register("unpooled")

    assert len(spare_schema_names()) == 1
    assert not [query["sql"] for query in queries.captured_queries if "pg_namespace" in query["sql"]]
    assert spare_schemas_refill().dropped == 1
    assert spare_schema_names() == []


@pytest.mark.django_db
def test_a_spare_of_another_migration_state_is_never_taken_and_the_refill_replaces_it(pool):
    tenant_schema_create(STALE_SPARE)  # as an older release built it

    registration = register("fresh")

    assert spare_schema_names() == [STALE_SPARE]
    assert has_every_tenant_table(registration.organization.schema_name)
    refill = spare_schemas_refill()
    assert (refill.built, refill.dropped) == (2, 1)
    assert STALE_SPARE not in spare_schema_names() and not schema_exists(STALE_SPARE)


def test_the_migration_state_changes_with_the_migrations(monkeypatch):
    current = migration_state()
    keys = spare_schemas._all_migration_keys()
    monkeypatch.setattr(spare_schemas, "_all_migration_keys", lambda: (*keys, ("spaces", "9999_next_release")))
    migration_state.cache_clear()
    try:
        assert migration_state() != current
    finally:
        monkeypatch.undo()
        migration_state.cache_clear()
    assert migration_state() == current


@pytest.mark.django_db
def test_a_failure_after_taking_a_spare_leaves_no_organization_and_the_spare_back_in_the_pool(pool, monkeypatch):
    spare_schemas_refill(size=1)
    (spare,) = spare_schema_names()
    real_create = Membership.objects.create

    def create(**kwargs):
        if kwargs.get("role") == Membership.Role.OWNER:
            raise RuntimeError("membership table on fire")
        return real_create(**kwargs)

    monkeypatch.setattr(Membership.objects, "create", create)

    with pytest.raises(RuntimeError):
        register("doomed", "doomed@example.com")

    assert not Organization.objects.filter(slug="doomed").exists()
    assert not Domain.objects.filter(domain="doomed.localhost").exists()
    assert not User.objects.filter(email="doomed@example.com").exists()
    assert not schema_exists("org_doomed")
    assert spare_schema_names() == [spare]
    assert has_every_tenant_table(spare)
    assert refill_messages() == 0
    monkeypatch.undo()
    assert has_every_tenant_table(register("undoomed").organization.schema_name)
    assert spare_schema_names() == []


@pytest.mark.django_db
def test_a_spare_renamed_by_another_sign_up_between_look_and_lock_is_passed_over(pool, monkeypatch):
    # The race: our statement saw the spare, the other sign-up committed its rename, then our lock succeeded.
    spare_schemas_refill(size=1)
    (spare,) = spare_schema_names()
    real_lock = spare_schemas._spare_lock
    answers = iter([f"{SPARE_PREFIX}{migration_state()}_gone00000000"])
    monkeypatch.setattr(spare_schemas, "_spare_lock", lambda cursor: next(answers, None) or real_lock(cursor))

    registration = register("second-look")

    assert spare_schema_names() == []
    assert not schema_exists(spare)
    assert has_every_tenant_table(registration.organization.schema_name)
    assert refill_messages() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("spares", [1, 2])
def test_two_concurrent_sign_ups_never_take_the_same_spare(org, pool, spares):
    spare_schemas_refill(size=spares)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt(slug: str) -> None:
        barrier.wait()
        try:
            register(slug)
            outcomes.append("created")
        except Exception as exc:  # the test reports whatever went wrong
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(slug,)) for slug in ("racer-one", "racer-two")]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert outcomes == ["created", "created"]
        # Both spares taken, one each; with one spare, the other sign-up built its schema.
        assert spare_schema_names() == []
        for slug in ("racer-one", "racer-two"):
            assert has_every_tenant_table(Organization.objects.get(slug=slug).schema_name)
    finally:
        for organization in Organization.objects.filter(slug__startswith="racer-"):
            organization.delete(force_drop=True)
        spare_schemas_refill(size=0)


@pytest.mark.django_db
def test_the_refill_never_drops_a_spare_a_sign_up_is_taking(pool):
    tenant_schema_create(STALE_SPARE)
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        # What spare_schema_take holds until the sign-up's transaction ends.
        other.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [spare_schemas._LOCK_CLASS, STALE_SPARE])
        refill = spare_schemas_refill()

    assert refill.dropped == 0 and STALE_SPARE in spare_schema_names()


@pytest.mark.django_db
def test_a_refill_while_another_runs_does_nothing(pool):
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        lock = [spare_schemas._LOCK_CLASS, spare_schemas._REFILL_KEY]
        other.execute("SELECT pg_advisory_lock(%s, %s)", lock)
        refill = spare_schemas_refill()
        other.execute("SELECT pg_advisory_unlock(%s, %s)", lock)

    assert refill.skipped and spare_schema_names() == []
    assert spare_schemas_refill().built == 2


@pytest.mark.django_db
def test_spares_are_in_no_listing_sweep_count_or_migrate(org, other_org, pool, capsys):
    spare_schemas_refill()
    seen: list[str] = []

    def record(sender, schema_name, **kwargs):
        seen.append(schema_name)

    schema_migrated.connect(record, weak=False)
    try:
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=1)
    finally:
        schema_migrated.disconnect(record)
        connection.set_schema_to_public()
    listing = io.StringIO()
    call_command("list_organizations", stdout=listing)

    names = {*organization_list_active().values_list("schema_name", flat=True), *organization_list_sweep_order()}
    names |= {row.organization.schema_name for row in organization_overview_list()}
    assert names == {"org_alpha", "org_beta"}
    assert seen == []
    assert "All 2 organization schemas have every tenant migration" in capsys.readouterr().out
    assert SPARE_PREFIX not in listing.getvalue()
    assert len(spare_schema_names()) == 2


@pytest.mark.django_db
def test_a_full_migrate_schemas_replaces_stale_spares_and_fills_the_pool(org, other_org, pool, capsys):
    tenant_schema_create(STALE_SPARE)

    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=1)
    connection.set_schema_to_public()

    assert "Spare schemas for sign-up: built 2, dropped 1." in capsys.readouterr().out
    spares = spare_schema_names()
    assert len(spares) == 2 and STALE_SPARE not in spares


@pytest.mark.django_db
def test_the_refill_task_reports_what_it_did(pool, celery_eager):
    from tenants.tasks import spare_schemas_refill as task

    assert task.delay().get() == {"built": 2, "dropped": 0, "skipped": False}
