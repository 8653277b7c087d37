import pytest
import redis
from django.db import OperationalError


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["localhost", "alpha.localhost", "nobody.localhost"])
def test_health_answers_ok_on_every_host(client, org, host):
    response = client.get("/health", HTTP_HOST=host)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_health_names_the_database_when_it_is_down(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("spacemanager.health.connection.cursor", broken_cursor)
    response = client.get("/health", HTTP_HOST="localhost")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable", "broker": "ok"}


@pytest.mark.django_db
def test_health_names_the_broker_when_redis_is_down(client, monkeypatch):
    def refused(self, *args, **kwargs):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(redis.Redis, "ping", refused)
    response = client.get("/health", HTTP_HOST="localhost")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "unavailable"}


@pytest.mark.django_db
def test_health_gives_up_quickly_on_an_unreachable_broker(client, settings):
    # Nothing listens on port 1: the probe must report, not hang.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/health", HTTP_HOST="localhost")
    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"
