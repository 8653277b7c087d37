"""Tasks and helpers that concern every organization: the periodic fan-out, and public housekeeping."""

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django_tenants.utils import schema_context

from spacemanager.celery import app
from tenants.idempotency import idempotency_keys_prune as idempotency_keys_prune_service
from tenants.outbox import outbox_relay as outbox_relay_service
from tenants.selectors import organization_list_active

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


@app.task(name="tenants.tasks.idempotency_keys_prune")
def idempotency_keys_prune() -> int:
    return idempotency_keys_prune_service(older_than=IDEMPOTENCY_KEY_RETENTION)
