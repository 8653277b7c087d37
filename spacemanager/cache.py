"""The default cache: Django's Redis cache that fails open.

The cache holds nothing that cannot be lost: rate-limit counters and short-lived lookups. When Redis is
unreachable, reads answer like an empty cache and writes are dropped, so logging in, refreshing a token and
every page keep working (rate limits then let attempts through; bookings never depended on Redis). Each
failure is counted (`failure_count()`, a per-process metric) and logged at most once per outage window; for
`OUTAGE_SECONDS` after a failure the cache is not even tried, so a Redis that hangs costs one timeout per
window rather than one per call. /health keeps reporting the broker (the same Redis) as down.
"""

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# After a failure, skip Redis for this long: a timeout per call would stretch a login to seconds.
OUTAGE_SECONDS = 5.0
# Fail fast rather than hang a request when Redis does not answer.
SOCKET_TIMEOUT_SECONDS = 0.5

_lock = threading.Lock()
_failures = 0
_unavailable_until = 0.0


def failure_count() -> int:
    """Cache operations that failed open in this process (Redis errors, plus calls skipped during an outage)."""
    return _failures


def _failed(operation: str, error: Exception | None) -> None:
    global _failures, _unavailable_until
    with _lock:
        _failures += 1
        first_of_outage = error is not None and time.monotonic() >= _unavailable_until
        if error is not None:
            _unavailable_until = time.monotonic() + OUTAGE_SECONDS
    if first_of_outage:
        logger.warning(
            "Cache unavailable (%s: %s); failing open for %.0f s: rate limits let requests through.",
            operation,
            error,
            OUTAGE_SECONDS,
            extra={"metric": "cache.fail_open", "cache_failures": _failures},
        )


def _fail_open(default: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run the Redis operation, or answer `default(*args)` while Redis is unreachable."""

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapped(self, *args, **kwargs):
            if time.monotonic() < _unavailable_until:
                _failed(method.__name__, None)
                return default(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except (RedisError, OSError) as error:
                _failed(method.__name__, error)
                return default(*args, **kwargs)

        return wrapped

    return decorate


def _missing_key(key, *args, **kwargs):
    # What incr() does for a key that is not there: callers already handle it.
    raise ValueError(f"Key {key!r} not found (the cache is unavailable).")


class ReusedRedisCacheClient(RedisCacheClient):
    """Django's client, keeping one `redis.Redis` per connection pool instead of making one per operation.

    redis-py's constructor copies its ~170 response callbacks into a case-insensitive dict: about 1 ms of
    CPU per cache call here, 3 ms of a login's 31. A `redis.Redis` over a pool is safe to share between
    threads: each command borrows a connection from the pool, which reconnects as before.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = super().get_client(key, write=write)
        return client


class FailOpenRedisCache(RedisCache):
    def __init__(self, server, params):
        options = params.setdefault("OPTIONS", {})
        options.setdefault("socket_connect_timeout", SOCKET_TIMEOUT_SECONDS)
        options.setdefault("socket_timeout", SOCKET_TIMEOUT_SECONDS)
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient

    add = _fail_open(lambda *a, **k: False)(RedisCache.add)
    get = _fail_open(lambda key, default=None, *a, **k: default)(RedisCache.get)
    set = _fail_open(lambda *a, **k: None)(RedisCache.set)
    touch = _fail_open(lambda *a, **k: False)(RedisCache.touch)
    delete = _fail_open(lambda *a, **k: False)(RedisCache.delete)
    get_many = _fail_open(lambda *a, **k: {})(RedisCache.get_many)
    has_key = _fail_open(lambda *a, **k: False)(RedisCache.has_key)
    incr = _fail_open(_missing_key)(RedisCache.incr)
    set_many = _fail_open(lambda *a, **k: [])(RedisCache.set_many)
    delete_many = _fail_open(lambda *a, **k: None)(RedisCache.delete_many)
    clear = _fail_open(lambda *a, **k: False)(RedisCache.clear)
