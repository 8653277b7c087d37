from datetime import timedelta

import pytest
import time_machine
from django.db import connection

from spacemanager.celery import app
from tenants.idempotency import OnceKey, claim_once, complete, request_claim
from tenants.models import IdempotencyKey, Organization
from tenants.tasks import for_each_active_organization, organizations_fan_out, public_tables_prune

pytestmark = pytest.mark.django_db

RUNS: list[tuple[str, str]] = []


@app.task(name="tenants.tests.record_schema")
def record_schema(label: str) -> str:
    """What a periodic job sees: the schema it runs in (and through it the organization's tables)."""
    RUNS.append((connection.schema_name, label))
    return connection.schema_name


@pytest.fixture(autouse=True)
def _clear_runs():
    RUNS.clear()


def test_fan_out_runs_the_task_once_inside_each_organization_schema(celery_eager, org, other_org):
    queued = for_each_active_organization("tenants.tests.record_schema", ["sweep"])

    assert queued == ["org_alpha", "org_beta"]
    assert RUNS == [("org_alpha", "sweep"), ("org_beta", "sweep")]
    assert connection.schema_name == "public"


def test_fan_out_skips_inactive_organizations_and_the_public_schema(celery_eager, org, other_org):
    Organization.objects.filter(pk=other_org.organization.pk).update(is_active=False)

    organizations_fan_out.delay("tenants.tests.record_schema", ["sweep"])

    assert RUNS == [("org_alpha", "sweep")]


def test_a_task_for_a_deleted_organization_ends_without_running(celery_eager, org):
    result = record_schema.apply(["late"], headers={"_schema_name": "org_deleted_meanwhile"})

    assert result.successful()
    assert result.result is None
    assert RUNS == []


def test_a_task_for_an_organization_deactivated_since_queuing_ends_without_running(celery_eager, org):
    Organization.objects.filter(pk=org.organization.pk).update(is_active=False)

    result = record_schema.apply(["late"], headers={"_schema_name": org.organization.schema_name})

    assert result.result is None
    assert RUNS == []


def test_a_task_queued_from_an_organization_runs_in_its_schema(celery_eager, org, in_tenant):
    result = record_schema.delay("booking")

    assert result.result == "org_alpha"
    assert RUNS == [("org_alpha", "booking")]


def test_prune_forgets_only_keys_older_than_the_retention(org):
    with time_machine.travel("2026-01-01 00:00Z"):
        old = OnceKey("reminder", 1, schema_name="org_alpha")
        claim_once(old)
        complete(old)
    with time_machine.travel("2026-03-15 00:00Z"):
        claim_once(OnceKey("reminder", 2, schema_name="org_alpha"))

    with time_machine.travel("2026-04-05 00:00Z"):
        deleted = public_tables_prune()["idempotency_keys"]

    assert deleted == 1
    assert list(IdempotencyKey.objects.values_list("object_id", flat=True)) == ["2"]


def test_prune_forgets_requests_answers_after_their_24_hour_window(org):
    with time_machine.travel("2026-01-01 00:00Z"):
        request_claim(OnceKey("api_post", "user:1", "k", schema_name="org_alpha"), request_hash="h", lease=timedelta(1))
    with time_machine.travel("2026-01-01 20:00Z"):
        request_claim(
            OnceKey("api_post", "user:1", "k2", schema_name="org_alpha"), request_hash="h", lease=timedelta(1)
        )

    with time_machine.travel("2026-01-02 01:00Z"):
        assert public_tables_prune()["idempotency_keys"] == 1

    assert list(IdempotencyKey.objects.values_list("version", flat=True)) == ["k2"]


def test_fan_out_messages_carry_the_organization_schema_and_the_expiry(org, other_org, monkeypatch):
    sent = []

    def capture(producer, name, message, **options):
        # tenant-schemas-celery's header goes out with the message's own headers.
        sent.append((name, options["headers"]["_schema_name"], message.headers["expires"]))

    monkeypatch.setattr(app.amqp, "send_task_message", capture)

    for_each_active_organization("tenants.tests.record_schema", ["sweep"], {"expires": 300})

    assert [(name, schema) for name, schema, _ in sent] == [
        ("tenants.tests.record_schema", "org_alpha"),
        ("tenants.tests.record_schema", "org_beta"),
    ]
    assert all(expires is not None for _, _, expires in sent)
    assert RUNS == []


@app.task(name="tenants.tests.record_sweep")
def record_sweep() -> None:
    RUNS.append((connection.schema_name, "sweep"))


@app.task(name="tenants.tests.failing_sweep")
def failing_sweep() -> None:
    if connection.schema_name == "org_alpha":
        raise RuntimeError("alpha's sweep broke")
    RUNS.append((connection.schema_name, "after failure"))


def test_a_sweep_batch_runs_each_job_inside_each_organization_on_one_connection(org, other_org):
    from tenants.tasks import sweep_batch

    backend = connection.cursor().connection.info.backend_pid
    result = sweep_batch.run(["tenants.tests.record_sweep"], ["org_alpha", "org_beta"])

    assert RUNS == [("org_alpha", "sweep"), ("org_beta", "sweep")]
    assert result == {"swept": 2, "failed": 0, "skipped": 0}
    assert connection.schema_name == "public"
    assert connection.cursor().connection.info.backend_pid == backend
    assert Organization.objects.filter(schema_name__in=["org_alpha", "org_beta"], swept_at__isnull=False).count() == 2


def test_a_sweep_batch_skips_deactivated_organizations_and_survives_one_that_fails(org, other_org):
    from tenants.tasks import sweep_batch

    Organization.objects.filter(pk=other_org.organization.pk).update(is_active=False)
    assert sweep_batch.run(["tenants.tests.failing_sweep"], ["org_alpha", "org_beta"]) == {
        "swept": 0,
        "failed": 1,
        "skipped": 1,
    }
    Organization.objects.filter(pk=other_org.organization.pk).update(is_active=True)
    assert sweep_batch.run(["tenants.tests.failing_sweep"], ["org_alpha", "org_beta"])["swept"] == 1
    assert RUNS == [("org_beta", "after failure")]


def test_organizations_a_tick_did_not_reach_come_first_at_the_next(org, other_org, monkeypatch):
    from tenants import tasks
    from tenants.selectors import organization_list_sweep_order

    for slug in ("gamma", "delta"):
        Organization.objects.create(name=slug.title(), slug=slug, schema_name=f"org_{slug}")
    sent = []
    monkeypatch.setattr(tasks, "SWEEP_BATCH_ORGANIZATIONS", 2)
    monkeypatch.setattr(
        tasks.sweep_batch, "apply_async", lambda args, **options: sent.append((args[1], options["queue"]))
    )

    assert tasks.sweeps_fan_out.run(["tenants.tests.record_sweep"], 300) == 2
    assert sent == [(["org_alpha", "org_beta"], "sweeps"), (["org_delta", "org_gamma"], "sweeps")]
    # The tick only got through its first batch (the second expired in the queue).
    tasks.sweep_batch.run(["tenants.tests.record_sweep"], ["org_alpha", "org_beta"])

    assert organization_list_sweep_order()[:2] == ["org_delta", "org_gamma"]
    tasks.sweep_batch.run(["tenants.tests.record_sweep"], ["org_delta", "org_gamma"])
    assert organization_list_sweep_order()[:2] == ["org_alpha", "org_beta"]


def test_sweeps_have_their_own_queue_and_emails_stay_on_the_default_one():
    router = app.amqp.router
    assert router.route({}, "tenants.tasks.sweep_batch")["queue"].name == "sweeps"
    assert router.route({}, "tenants.tasks.sweeps_fan_out")["queue"].name == "sweeps"
    assert router.route({}, "reservations.tasks.reservation_reminder_send")["queue"].name == "celery"
    assert router.route({}, "reservations.tasks.reservation_notice_send")["queue"].name == "celery"
    # A worker started without -Q consumes both.
    assert {"celery", "sweeps"} <= set(app.amqp.queues)


def test_a_sweep_batch_of_the_no_show_tick_leaves_swept_at_to_the_full_sweep(org, other_org):
    from tenants.tasks import sweep_batch

    result = sweep_batch.run(["tenants.tests.record_sweep"], ["org_alpha", "org_beta"], record=False)

    assert result == {"swept": 2, "failed": 0, "skipped": 0}
    assert RUNS == [("org_alpha", "sweep"), ("org_beta", "sweep")]
    assert not Organization.objects.filter(schema_name__in=["org_alpha", "org_beta"], swept_at__isnull=False).exists()
