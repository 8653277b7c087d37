"""The Celery wiring: configuration, queuing after commit, and a real worker on the real Redis broker."""

import logging
import time

import pytest
from django.core import mail
from django.db import connection, transaction
from django_tenants.utils import schema_context
from kombu.exceptions import OperationalError

from spacemanager.celery import app, enqueue_on_commit
from spacemanager.mail import build_email, send_once
from tenants.idempotency import OnceKey
from tenants.models import IdempotencyKey, Organization
from tenants.tasks import organizations_fan_out

QUEUED: list[tuple[str, int]] = []


@app.task(name="spacemanager.tests.remember")
def remember(object_id: int) -> None:
    QUEUED.append((connection.schema_name, object_id))


@app.task(name="spacemanager.tests.probe")
def probe(label: str) -> None:
    """Writes into the organization's own table and emails once: the effects a real job has."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO celery_probe (label) VALUES (%s)", [label])
    message = build_email(
        to=["owner@example.test"],
        subject=f"Probe {label} for {connection.tenant.name}",
        template="email/notice",
        context={"heading": label, "lines": []},
    )
    send_once(message, key=OnceKey("probe", 1, version=label))


@pytest.fixture(autouse=True)
def _clear_queued():
    QUEUED.clear()


def test_a_worker_that_dies_mid_task_leaves_the_message_to_be_delivered_again():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_always_eager is False
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit


@pytest.mark.django_db(transaction=True)
def test_a_task_is_queued_only_once_the_transaction_commits(celery_eager, org):
    connection.set_tenant(org.organization)
    with transaction.atomic():
        enqueue_on_commit(remember, 42)
        assert QUEUED == []

    assert QUEUED == [("org_alpha", 42)]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_queued_when_the_transaction_rolls_back(celery_eager, org):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(remember, 42)
        raise RuntimeError("the booking failed")

    assert QUEUED == []


@pytest.mark.django_db
def test_redis_down_at_commit_keeps_the_write_and_logs_the_ids(
    org, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(remember, "apply_async", broker_down)
    with caplog.at_level(logging.ERROR, logger="spacemanager.celery"), django_capture_on_commit_callbacks(execute=True):
        Organization.objects.filter(pk=org.organization.pk).update(name="Alpha Renamed")
        enqueue_on_commit(remember, 42)

    assert Organization.objects.get(pk=org.organization.pk).name == "Alpha Renamed"
    assert "Could not queue spacemanager.tests.remember(args=(42,)" in caplog.text


@pytest.fixture
def probe_tables(transactional_db, org, other_org):
    schemas = [org.organization.schema_name, other_org.organization.schema_name]
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(f'CREATE TABLE "{schema}".celery_probe (label text NOT NULL)')
    yield schemas
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(f'DROP TABLE IF EXISTS "{schema}".celery_probe')


def _probe_rows(schemas: list[str]) -> dict[str, list[str]]:
    rows = {}
    for schema in schemas:
        with schema_context(schema), connection.cursor() as cursor:
            cursor.execute("SELECT label FROM celery_probe")
            rows[schema] = [label for (label,) in cursor.fetchall()]
    return rows


@pytest.mark.slow
def test_a_real_worker_runs_a_periodic_job_once_inside_each_organization(probe_tables, live_worker):
    organizations_fan_out.delay("spacemanager.tests.probe", ["nightly"])

    deadline = time.monotonic() + 30
    while len(mail.outbox) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)

    assert _probe_rows(probe_tables) == {"org_alpha": ["nightly"], "org_beta": ["nightly"]}
    assert sorted(message.subject for message in mail.outbox) == [
        "Probe nightly for Alpha",
        "Probe nightly for Beta",
    ]
    assert set(IdempotencyKey.objects.values_list("schema_name", "state")) == {
        ("org_alpha", "done"),
        ("org_beta", "done"),
    }
