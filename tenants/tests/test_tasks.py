from datetime import timedelta

import pytest
import time_machine
from django.db import connection

from spacemanager.celery import app
from tenants.idempotency import OnceKey, claim_once, complete, request_claim
from tenants.models import IdempotencyKey, Organization
from tenants.tasks import for_each_active_organization, idempotency_keys_prune, organizations_fan_out

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
        deleted = idempotency_keys_prune()

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
        assert idempotency_keys_prune() == 1

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
