"""Tasks and helpers that concern every organization: the periodic fan-out, and public housekeeping."""

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from spacemanager import housekeeping
from spacemanager.celery import app
from tenants.idempotency import idempotency_keys_prune as idempotency_keys_prune_service
from tenants.models import Organization
from tenants.outbox import outbox_relay as outbox_relay_service
from tenants.selectors import organization_list_active, organization_list_sweep_order
from tenants.spare_schemas import spare_schemas_refill as spare_schemas_refill_service
from tenants.sweeps import sweep_probe_build

logger = logging.getLogger(__name__)

# Far beyond the longest retry chain (about an hour) and Redis' redelivery of an unacknowledged message.
IDEMPOTENCY_KEY_RETENTION = timedelta(days=90)


def for_each_active_organization(
    task_name: str, args: Sequence[Any] = (), options: dict[str, Any] | None = None
) -> list[str]:
    """Queue `task_name(*args)` once per active organization, each inside its schema; returns the schemas.

    The schema travels in the message header (tenant-schemas-celery reads the connection's schema when
    sending), so the task itself takes no organization argument.
    """
    signature = app.signature(task_name, args=tuple(args), options=options or {})
    schemas = list(organization_list_active().values_list("schema_name", flat=True))
    for schema_name in schemas:
        with schema_context(schema_name):
            signature.apply_async()
    return schemas


@app.task(name="tenants.tasks.organizations_fan_out")
def organizations_fan_out(task_name: str, args: list[Any] | None = None, options: dict[str, Any] | None = None) -> int:
    """Beat's entry point for periodic work per organization (`spacemanager.beat.every_organization`)."""
    schemas = for_each_active_organization(task_name, args or (), options)
    logger.info("Queued %s for %d organizations.", task_name, len(schemas))
    return len(schemas)


@app.task(name="tenants.tasks.outbox_relay")
def outbox_relay() -> int:
    """Periodic (every OUTBOX_RELAY_SECONDS): queue the tasks that committed changes wrote to the outbox."""
    return outbox_relay_service()


# Sweeps: the reminder and expiry ticks of every organization, on their own queue.

SWEEP_QUEUE = "sweeps"
# Organizations per sweep task: one connection and one task message for the lot, instead of a task, a
# schema lookup and (Celery closing connections around each task) a new connection per organization.
SWEEP_BATCH_ORGANIZATIONS = 50


@app.task(name="tenants.tasks.sweeps_fan_out")
def sweeps_fan_out(jobs: list[str], expires: float | None = None, record: bool = True) -> int:
    """Beat's entry point for the sweeps: queue `jobs` for every active organization, 50 per task.

    Organizations go longest-waiting first (`swept_at`, never swept first): a batch that expired unrun
    (the queue was behind) leaves its organizations at the head of the next tick, so none is skipped twice
    in a row unless a whole tick processes less than half of the batches. Returns the number of batches.
    `record=False` (the faster no-show tick) leaves `swept_at` to the full sweep, whose order it is.
    """
    schemas = organization_list_sweep_order()
    batches = [schemas[i : i + SWEEP_BATCH_ORGANIZATIONS] for i in range(0, len(schemas), SWEEP_BATCH_ORGANIZATIONS)]
    options = {"expires": expires} if expires else {}
    for batch in batches:
        sweep_batch.apply_async(args=(jobs, batch), kwargs={"record": record}, queue=SWEEP_QUEUE, **options)
    logger.info("Queued %s for %d organizations in %d batches.", jobs, len(schemas), len(batches))
    return len(batches)


@app.task(name="tenants.tasks.sweep_batch")
def sweep_batch(jobs: list[str], schema_names: list[str], record: bool = True) -> dict[str, int]:
    """Run each job (a per-organization task's body) inside each organization's schema, on one connection.

    First one statement per organization asks which jobs have anything due there (tenants.sweeps); only
    those run. An organization deactivated or deleted since queuing is skipped. A job that fails is logged
    and the others go on; that organization keeps its old `swept_at` and comes first next time.
    """
    app.loader.import_default_modules()  # the tasks' modules, also outside a worker (the benchmark)
    bodies = [(job, app.tasks[job].run) for job in jobs]
    probe = sweep_probe_build(jobs, now=timezone.now())
    done, failed = [], 0
    organizations = organization_list_active().filter(schema_name__in=schema_names)
    try:
        for organization in organizations:
            connection.set_tenant(organization)
            try:
                due = probe.jobs_due()
            except Exception:
                failed += 1
                logger.exception("Sweep probe failed for %s.", organization.schema_name)
                continue
            ok = True
            for job, body in bodies:
                if job not in due:
                    continue
                try:
                    body()
                except Exception:
                    ok = False
                    logger.exception("Sweep %s failed for %s.", job, organization.schema_name)
            if ok:
                done.append(organization.pk)
            else:
                failed += 1
    finally:
        connection.set_schema_to_public()
    if record:
        Organization.objects.filter(pk__in=done).update(swept_at=timezone.now())
    # A PostgreSQL backend keeps the catalog of every schema it touched (about 138 KB each): close this
    # connection, which has just touched a whole batch, rather than let a worker process reuse it for
    # thousands of schemas (docs/operations.md, Capacity). Never inside a transaction (a caller's, a test's).
    if not connection.in_atomic_block:
        connection.close()
    return {"swept": len(done), "failed": failed, "skipped": len(schema_names) - len(done) - failed}


@app.task(name="tenants.tasks.spare_schemas_refill")
def spare_schemas_refill() -> dict[str, int | bool]:
    """Keep SPARE_SCHEMAS spare schemas of the current migration state ready for sign-up (beat, and each
    sign-up that took one)."""
    return asdict(spare_schemas_refill_service())


# Public tables that only grow, pruned in batches: a short statement and transaction each, so neither the
# table nor replication ever waits on one huge DELETE.

PRUNE_BATCH_ROWS = 5_000


@app.task(name="tenants.tasks.public_tables_prune")
def public_tables_prune() -> dict[str, int]:
    return {
        "sessions": housekeeping.sessions_prune(batch_size=PRUNE_BATCH_ROWS),
        "tokens": housekeeping.tokens_prune(batch_size=PRUNE_BATCH_ROWS),
        "idempotency_keys": idempotency_keys_prune_service(
            older_than=IDEMPOTENCY_KEY_RETENTION, batch_size=PRUNE_BATCH_ROWS
        ),
    }
