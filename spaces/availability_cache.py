"""Availability answered from a versioned cache, with an ETag.

Every write that changes what a space's availability shows (its reservations, opening hours, active state)
bumps the space's version in its own transaction, as its last write (`availability_versions_bump`). An
answer reads the version first, then looks up the rendered answer for (space, window, viewer, version), or
computes and stores it. Why it is never stale after a commit: a reader that starts after a write committed
reads the new version, and an entry stored under a version was computed from data read after that version
(at least as new). The ETag names the same key, so a client that has the current answer gets a 304 for one
indexed read.

The key names the viewer (their `mine` flags, and what their role may see). A booker's name or email changed
since shows in managers' cached answers until the space next changes or CACHE_SECONDS pass. Other writes
that change availability (closures, buffers) must call `availability_versions_bump` too.

Lock order: the bump locks the space's version row (an upsert). It comes last in each transaction, in
space-id order, so whoever holds a version row waits for nothing but its commit: no deadlock with bookings.
"""

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime

from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)
CACHE_SECONDS = 600


def availability_versions_bump(space_ids: Iterable[int]) -> None:
    ids = sorted(set(space_ids))
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO "spaces_availabilityversion" ("space_id", "version") SELECT unnest(%s::bigint[]), 1 '
            'ON CONFLICT ("space_id") DO UPDATE SET "version" = "spaces_availabilityversion"."version" + 1',
            [ids],
        )


def availability_version(*, space_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute('SELECT "version" FROM "spaces_availabilityversion" WHERE "space_id" = %s', [space_id])
        row = cursor.fetchone()
    return 0 if row is None else row[0]


def availability_key(
    *, space_id: int, starts_at: datetime, ends_at: datetime, user_id: int, role: str, version: int
) -> str:
    parts = (connection.schema_name, space_id, starts_at.isoformat(), ends_at.isoformat(), user_id, role, version)
    # "v2": answers are stored as rendered JSON; a dict stored under the old prefix is never read as one.
    return "availability:v2:" + ":".join(str(part) for part in parts)


def availability_etag(key: str) -> str:
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def availability_cached(key: str) -> bytes | None:
    """The stored answer as rendered JSON, or None; a cache that fails is logged and skipped (the answer is
    computed). Stored rendered: a hit is sent as it is, with no unpickling and no JSON encoding."""
    try:
        return cache.get(key)
    except Exception:
        logger.warning("Availability cache unavailable; answering without it.", exc_info=True)
        return None


def availability_store(key: str, answer: bytes) -> None:
    try:
        cache.set(key, answer, CACHE_SECONDS)
    except Exception:
        logger.warning("Availability cache unavailable; answer not stored.", exc_info=True)
