import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from spacemanager.ratelimit import rate_limit_check, rate_limit_refusal
from spacemanager.testing import manage_py

LOGIN_URL = "/api/v1/auth/login"
REGISTER_URL = "/api/v1/auth/register"
LOGIN_LIMIT = 10  # THROTTLE_RATE_LOGIN's default, 10/minute


def api_login(client, host: str, address: str = "203.0.113.7"):
    return client.post(
        LOGIN_URL,
        {"email": "member@alpha.test", "password": "wrong password"},
        content_type="application/json",
        HTTP_HOST=host,
        REMOTE_ADDR=address,
    )


def page_post(address: str = "203.0.113.7"):
    """What a login page does with a POST: the refusal, or its own answer."""
    request = RequestFactory().post("/login/", REMOTE_ADDR=address)
    return rate_limit_refusal(request, scope="login") or HttpResponse("login form")


@pytest.mark.django_db
def test_api_login_answers_429_with_retry_after_once_the_limit_is_reached(client, org):
    statuses = [api_login(client, org.host).status_code for _ in range(LOGIN_LIMIT)]
    response = api_login(client, org.host)

    assert statuses == [401] * LOGIN_LIMIT
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["code"] == "throttled"


@pytest.mark.django_db
def test_api_login_limit_is_per_client_address(client, org):
    for _ in range(LOGIN_LIMIT + 1):
        api_login(client, org.host, address="203.0.113.7")

    assert api_login(client, org.host, address="198.51.100.2").status_code == 401


@pytest.mark.django_db
def test_api_register_is_limited_even_for_invalid_attempts(client):
    def register():
        return client.post(REGISTER_URL, {}, content_type="application/json", HTTP_HOST="localhost")

    statuses = [register().status_code for _ in range(10)]
    response = register()

    assert statuses == [400] * 10
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 60  # 10/hour


def test_page_helper_answers_429_page_with_retry_after():
    statuses = [page_post().status_code for _ in range(LOGIN_LIMIT)]
    response = page_post()

    assert statuses == [200] * LOGIN_LIMIT
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "Too many attempts" in response.content.decode()
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_pages_and_api_share_one_counter_per_scope(client, org):
    for _ in range(LOGIN_LIMIT // 2):
        api_login(client, org.host)
        page_post()

    assert page_post().status_code == 429
    assert api_login(client, org.host).status_code == 429


def test_rate_limit_check_returns_seconds_to_wait_for_other_scopes():
    request = RequestFactory().post("/accounts/password-reset", REMOTE_ADDR="192.0.2.1")

    waits = [rate_limit_check(request, scope="password_reset") for _ in range(6)]

    assert waits[:5] == [None] * 5  # 5/hour
    assert 60 < waits[5] <= 3600


@pytest.mark.django_db
def test_rates_come_from_the_environment():
    result = manage_py(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'])",
        env={"THROTTLE_RATE_LOGIN": "3/minute", "THROTTLE_RATE_REGISTER": "2/day"},
    )

    assert result.returncode == 0, result.stderr
    assert "'login': '3/minute'" in result.stdout
    assert "'register': '2/day'" in result.stdout
