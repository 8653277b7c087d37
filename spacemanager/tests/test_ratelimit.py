import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from spacemanager.ratelimit import rate_limit_check, rate_limit_refusal
from spacemanager.testing import manage_py

REFRESH_URL = "/api/v1/auth/refresh"
REGISTER_URL = "/api/v1/auth/register"
REGISTER_LIMIT = 10  # THROTTLE_RATE_REGISTER's default, 10/hour
REFRESH_LIMIT = 60  # THROTTLE_RATE_REFRESH's default, 60/minute


def page_post(address: str = "203.0.113.7"):
    """What the sign-up page does with a POST: the refusal, or its own answer."""
    request = RequestFactory().post("/signup/", REMOTE_ADDR=address)
    return rate_limit_refusal(request, scope="register") or HttpResponse("sign-up form")


@pytest.mark.django_db
def test_api_refresh_answers_429_with_retry_after_once_the_limit_is_reached(client, org):
    def refresh():
        return client.post(REFRESH_URL, {"refresh": "not-a-token"}, content_type="application/json", HTTP_HOST=org.host)

    statuses = {refresh().status_code for _ in range(REFRESH_LIMIT)}
    response = refresh()

    assert statuses == {401}
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60


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
    statuses = [page_post().status_code for _ in range(REGISTER_LIMIT)]
    response = page_post()

    assert statuses == [200] * REGISTER_LIMIT
    assert response.status_code == 429
    assert 60 < int(response["Retry-After"]) <= 3600
    assert "Too many attempts" in response.content.decode()
    assert response["Content-Type"].startswith("text/html")


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
        env={
            "THROTTLE_RATE_LOGIN": "3/minute",
            "THROTTLE_RATE_REGISTER": "2/day",
            "THROTTLE_RATE_LOGIN_ACCOUNT_ADDRESS": "3/30m",
            "THROTTLE_RATE_REFRESH": "100/minute",
        },
    )

    assert result.returncode == 0, result.stderr
    assert "'login': '3/minute'" in result.stdout
    assert "'register': '2/day'" in result.stdout
    assert "'login_account_address': '3/30m'" in result.stdout
    assert "'refresh': '100/minute'" in result.stdout
