"""The transactional outbox: tasks asked for by a change are written in the change's own transaction, and a
periodic relay queues them on the broker.

Why: a request that queued its email on Redis paid for the broker (a fifth of a booking's CPU, measured)
and, with Redis down, lost the email until the catch-up sweep found it. Now the booking writes one row in
its transaction; a rolled-back booking leaves none; and a message waits in PostgreSQL, whatever the broker
does, until the relay has queued it. The relay may queue a message twice (it crashed after queuing, before
its commit): the tasks it queues are the ones that were already safe to run twice (emails go out once per
version through `spacemanager.mail.send_once`).
"""

import json
import logging

from celery import Task
from django.db import connection, transaction
from django_tenants.utils import schema_context
from kombu.exceptions import OperationalError

from spacemanager.celery import app

logger = logging.getLogger(__name__)
RELAY_BATCH = 500
_INSERT = (
    'INSERT INTO "public"."tenants_outboxmessage" ("schema_name", "task", "args", "created_at") '
    "VALUES (%s, %s, %s::jsonb, now())"
)


def outbox_write(task: Task, *args) -> None:
    """Ask for `task(*args)` in the current schema, as part of the current transaction (one INSERT)."""
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, [connection.schema_name, task.name, json.dumps(args)])


def outbox_relay(*, limit: int = RELAY_BATCH) -> int:
    """Queue the oldest waiting messages, each in its schema, and delete them; returns how many.

    Rows are taken FOR UPDATE SKIP LOCKED, so two relays never queue the same rows. With the broker down,
    nothing is deleted and the next run tries again.
    """
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    'SELECT "id", "schema_name", "task", "args" FROM "public"."tenants_outboxmessage" '
                    'ORDER BY "id" LIMIT %s FOR UPDATE SKIP LOCKED',
                    [limit],
                )
                rows = cursor.fetchall()
            for _id, schema_name, task_name, args in rows:
                with schema_context(schema_name):
                    app.tasks[task_name].apply_async(json.loads(args) if isinstance(args, str) else args)
            if rows:
                with connection.cursor() as cursor:
                    cursor.execute(
                        'DELETE FROM "public"."tenants_outboxmessage" WHERE "id" = ANY(%s)', [[row[0] for row in rows]]
                    )
    except OperationalError:  # what Celery raises when the broker cannot be reached
        logger.exception("Could not relay the outbox (broker unavailable?); the messages wait for the next run.")
        return 0
    return len(rows)
