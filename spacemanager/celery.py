"""The Celery application: tenant-aware tasks, configured from Django settings (`CELERY_*`).

`tenant-schemas-celery` puts the sender's schema into every message (`_schema_name` header) and switches the
worker's connection to that schema before the task runs. Queue a task for an organization by sending it while
the connection is in that organization's schema (a request on its host, `schema_context`, or
`tenants.tasks.for_each_active_organization`). See docs/background.md.
"""

import logging
import os
from typing import Any

from celery import Task as CeleryTask
from django.conf import settings
from django.db import connection, transaction
from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp
from tenant_schemas_celery.app import get_schema_name_from_task
from tenant_schemas_celery.task import TenantTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spacemanager.settings")

logger = logging.getLogger(__name__)


class Task(TenantTask):
    """Every task of the project: runs in the schema it was sent from, and ends cleanly when that is gone.

    tenant-schemas-celery switches schema in a `task_prerun` handler; when the organization was deleted
    meanwhile, the lookup fails, Celery only logs the handler's error and the task would run in the public
    schema. An organization deactivated since the task was queued is skipped likewise.
    """

    abstract = True

    def __call__(self, *args, **kwargs):
        expected = get_schema_name_from_task(self, kwargs)
        if expected and expected != settings.PUBLIC_SCHEMA_NAME and not _organization_is_current(expected):
            logger.warning(
                "Skipping task %s[%s]: organization schema %s is gone or inactive.",
                self.name,
                self.request.id,
                expected,
            )
            return None
        return super().__call__(*args, **kwargs)


def _organization_is_current(schema_name: str) -> bool:
    if connection.schema_name != schema_name:
        return False
    # `schema_context` leaves a stand-in tenant without fields; then ask the database.
    is_active = getattr(connection.tenant, "is_active", None)
    if is_active is None:
        from tenants.models import Organization

        is_active = Organization.objects.filter(schema_name=schema_name, is_active=True).exists()
    return is_active


def enqueue_on_commit(task: CeleryTask, *args: Any, **kwargs: Any) -> None:
    """Queue `task(*args, **kwargs)` once the current transaction commits (in the current schema).

    The write that asked for it has committed by then: if Redis is down, the failure is logged with the
    task's arguments (the ids) and swallowed, never turned into an error for a request that succeeded.
    The sweeps catch up on what such an outage missed (docs/background.md).
    """

    def send() -> None:
        try:
            task.apply_async(args, kwargs)
        except Exception:
            logger.exception("Could not queue %s(args=%r, kwargs=%r): broker unavailable.", task.name, args, kwargs)

    transaction.on_commit(send)


class App(TenantAwareCeleryApp):
    task_cls = "spacemanager.celery:Task"


app = App("spacemanager")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
