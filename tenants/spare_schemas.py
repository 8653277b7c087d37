"""Spare organization schemas, built ahead of time so that sign-up renames one instead of building it.

Building a schema (tenants.schema) is about a hundred DDL statements: 0.4-0.6 s of PostgreSQL's time on a
loaded machine, most of sign-up's 0.3 s budget. A spare is a schema built exactly that way, ahead of time,
and owned by no organization. Sign-up takes one with `ALTER SCHEMA ... RENAME` inside its own transaction:
if anything later fails, the rename rolls back with the organization and the spare is back in the pool.
With no usable spare, sign-up builds the schema as before.

- **Invisible.** A spare has no row in tenants_organization, and every listing, fan-out, sweep, count and
  `migrate_schemas` reads organizations from that table, never from the catalog.
- **Current.** A spare's name carries a fingerprint of the migration state it was built at (every migration
  recorded, and the tenant apps' RunSQL): `spare_<state>_<random>`. A process takes only spares of its own
  state, so one built before a migration changed is never handed out; the refill drops it and builds a
  current one. A release's old processes keep taking spares of their own state during a rolling deploy; the
  organizations they make are then behind, and the next `migrate_schemas` finds and migrates them.
- **Taken once.** Taking a spare holds a transaction-level advisory lock on its name until the sign-up
  commits or rolls back; a concurrent sign-up skips a locked spare (`pg_try_advisory_xact_lock`) and takes
  the next one, and the refill never drops one that is locked.
- **Refilled** by `spare_schemas_refill`: after every sign-up that took one (through the outbox), every
  SPARE_SCHEMAS_REFILL_SECONDS (beat) and at the end of every full `migrate_schemas`. SPARE_SCHEMAS (how
  many to keep) 0 turns the pool off: sign-up then always builds, and the next refill drops the spares.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import ProgrammingError, connection, transaction
from psycopg import errors, sql

from tenants.schema import _all_migration_keys, _tenant_run_sql, tenant_schema_create

logger = logging.getLogger(__name__)

SPARE_PREFIX = "spare_"
# The first key of our two-key advisory locks (the booking rules' one-key locks live in another key space):
# the second is hashtext(schema name) for a spare, 0 for "a refill is running".
_LOCK_CLASS = 0x5350  # "SP"
_REFILL_KEY = 0

_TAKE = (
    # MATERIALIZED: otherwise PostgreSQL folds the list into the outer query and tries the lock on every spare
    # as it scans the catalog, taking all of them; here it tries them in order and stops at the first it gets.
    "WITH spare AS MATERIALIZED (SELECT nspname FROM pg_catalog.pg_namespace WHERE starts_with(nspname::text, %s) "
    "ORDER BY nspname) SELECT nspname FROM spare WHERE pg_try_advisory_xact_lock(%s, hashtext(nspname)) LIMIT 1"
)


@cache
def migration_state() -> str:
    """A fingerprint of what a schema built by this process holds: every migration it records, and the SQL
    replayed on top of the models' tables. 12 hex digits keep spare names well within PostgreSQL's 63."""
    digest = hashlib.sha256()
    for app, name in _all_migration_keys():
        digest.update(f"{app}.{name}\n".encode())
    for statement in _tenant_run_sql():
        digest.update(statement.encode())
    return digest.hexdigest()[:12]


def _current_prefix() -> str:
    return f"{SPARE_PREFIX}{migration_state()}_"


def spare_schema_names() -> list[str]:
    """Every spare, of any migration state, by name."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_catalog.pg_namespace WHERE starts_with(nspname::text, %s) ORDER BY 1",
            [SPARE_PREFIX],
        )
        return [name for (name,) in cursor.fetchall()]


def _repoint_pinned_search_paths(cursor, *, old: str, new: str) -> None:
    """Functions created with `SET search_path FROM CURRENT` (the analytics rollups') keep the schema's name
    in their settings; a renamed schema would leave them pointing at the spare's old name."""
    cursor.execute(
        "SELECT p.oid::regprocedure::text, cfg FROM pg_proc p CROSS JOIN LATERAL unnest(p.proconfig) cfg "
        "WHERE p.pronamespace = %s::regnamespace AND cfg LIKE 'search_path=%%'",
        [new],
    )
    for signature, setting in cursor.fetchall():
        value = setting.split("=", 1)[1].replace(old, new)
        statement = sql.SQL("ALTER FUNCTION {} SET search_path = {}").format(sql.SQL(signature), sql.SQL(value))
        cursor.execute(statement.as_string(connection.connection))


def spare_schema_take(*, schema_name: str) -> bool:
    """Rename a spare of this process's migration state to `schema_name`; False when none is free.

    Call inside the transaction that creates the organization: the rename commits or rolls back with it, and
    the spare stays locked until then. Two queries when a spare is free, one when none is.
    """
    if settings.SPARE_SCHEMAS <= 0:
        return False
    with connection.cursor() as cursor:
        for _attempt in range(3):
            spare = _spare_lock(cursor)
            if spare is None:
                return False
            rename = sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(spare), sql.Identifier(schema_name))
            try:
                # A savepoint: between our look at the catalog and our lock, a concurrent sign-up may have
                # committed its rename of the same spare. Then it is gone, and we try the next.
                with transaction.atomic():
                    cursor.execute(rename.as_string(connection.connection))
                    _repoint_pinned_search_paths(cursor, old=spare, new=schema_name)
            except ProgrammingError as exc:
                if not isinstance(exc.__cause__, errors.InvalidSchemaName):
                    raise
                continue
            return True
    return False


def _spare_lock(cursor) -> str | None:
    """The first current spare no other transaction holds, now locked by ours; None when there is none."""
    cursor.execute(_TAKE, [_current_prefix(), _LOCK_CLASS])
    row = cursor.fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class SpareRefill:
    built: int = 0
    dropped: int = 0
    skipped: bool = False  # another refill was running


def spare_schemas_refill(*, size: int | None = None) -> SpareRefill:
    """Drop spares of another migration state (and any beyond `size`), then build current ones up to `size`
    (default SPARE_SCHEMAS). One refill runs at a time; a second one returns at once with `skipped`.

    Each schema is built or dropped in its own transaction: a build holds a lock on each of its hundred-odd
    objects until it commits, in a lock table the whole server shares.
    """
    size = settings.SPARE_SCHEMAS if size is None else size
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_CLASS, _REFILL_KEY])
        if not cursor.fetchone()[0]:
            return SpareRefill(skipped=True)
    try:
        prefix = _current_prefix()
        spares = spare_schema_names()
        current = [name for name in spares if name.startswith(prefix)]
        unwanted = [name for name in spares if not name.startswith(prefix)] + current[max(size, 0) :]
        dropped = sum(_drop_unless_taken(name) for name in unwanted)
        built = 0
        for _ in range(max(size, 0) - len(current)):
            with transaction.atomic():
                tenant_schema_create(f"{prefix}{secrets.token_hex(6)}")
            built += 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_CLASS, _REFILL_KEY])
    if built or dropped:
        logger.info("Spare schemas: built %d, dropped %d.", built, dropped)
    return SpareRefill(built=built, dropped=dropped)


def _drop_unless_taken(name: str) -> bool:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_CLASS, name])
        if not cursor.fetchone()[0]:
            return False  # a sign-up is taking it right now
        cursor.execute("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", [name])
        if cursor.fetchone() is None:
            return False  # taken (renamed) since we listed it
        cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)).as_string(connection.connection))
    return True


def spare_schemas_refill_soon() -> None:
    """Ask a worker for a refill once the current transaction commits (through the outbox: no broker in the
    request, and nothing asked if the sign-up rolls back)."""
    from tenants.outbox import outbox_write
    from tenants.tasks import spare_schemas_refill

    outbox_write(spare_schemas_refill)
