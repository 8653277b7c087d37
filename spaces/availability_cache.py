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

The space itself (its buffers, active state and opening hours, which the answer is computed from) is kept in
each process under the same version (`availability_space`): a space's other weeks, and its other viewers,
then cost the busy and closures reads alone. The same argument keeps it fresh.

Lock order: the bump locks the space's version row (an upsert). It comes last in each transaction, in
space-id order, so whoever holds a version row waits for nothing but its commit: no deadlock with bookings.
"""

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)
CACHE_SECONDS = 600
# Spaces kept per process by availability_space: a few KB each (the row and its opening hours).
SPACES_KEPT = 2048
_Loaded = TypeVar("_Loaded")
_spaces: OrderedDict[tuple[int, int], tuple[int, float, object]] = OrderedDict()
_spaces_lock = threading.Lock()


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
    parts = (
        connection.tenant.pk,
        connection.schema_name,
        space_id,
        starts_at.isoformat(),
        ends_at.isoformat(),
        user_id,
        role,
        version,
    )
    # The organization's id as well as its schema: an organization deleted and signed up again under the same
    # address gets the old schema name, space ids and versions, never the old id. "v3" since the id joined
    # ("v2": answers stored as rendered JSON, so a dict stored under an older prefix is never read as one).
    return "availability:v3:" + ":".join(str(part) for part in parts)


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


def availability_space(*, space_id: int, version: int, load: Callable[[], _Loaded]) -> _Loaded:
    """The space as `load` reads it, kept in this process under the space's availability `version` (read
    before, as for answers): loaded again once the version moves, after CACHE_SECONDS like a stored answer (a
    change made outside the services, by hand in SQL, shows as late as a cached answer does), and when pushed
    out by SPACES_KEPT others. Keyed by the organization's id, never reused, not its schema name, which a new
    organization may take over. Only what the version covers may be read from it: its buffers, active state
    and opening hours. What `load` raises (a 404) is not kept."""
    key = (connection.tenant.pk, space_id)
    now = time.monotonic()
    with _spaces_lock:
        kept = _spaces.get(key)
        if kept is not None and kept[0] == version and now - kept[1] < CACHE_SECONDS:
            _spaces.move_to_end(key)
            return kept[2]
    space = load()
    with _spaces_lock:
        _spaces[key] = (version, now, space)
        _spaces.move_to_end(key)
        while len(_spaces) > SPACES_KEPT:
            _spaces.popitem(last=False)
    return space


def availability_spaces_forget() -> None:
    """Empty this process's kept spaces (tests that change a space behind the services' back)."""
    with _spaces_lock:
        _spaces.clear()
