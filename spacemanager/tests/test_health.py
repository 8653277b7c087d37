import pytest
from django.db import OperationalError


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["localhost", "alpha.localhost", "nobody.localhost"])
def test_health_answers_ok_on_every_host(client, org, host):
    response = client.get("/health", HTTP_HOST=host)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_health_names_the_database_when_it_is_down(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("spacemanager.health.connection.cursor", broken_cursor)
    response = client.get("/health", HTTP_HOST="localhost")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}
