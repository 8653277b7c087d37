import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.tests.factories import TEST_PASSWORD
from spacemanager.ratelimit import login_rate_limit_check, rate_limit_check, rate_limit_refusal
from spacemanager.testing import manage_py

LOGIN_URL = "/api/v1/auth/login"
REFRESH_URL = "/api/v1/auth/refresh"
REGISTER_URL = "/api/v1/auth/register"
LOGIN_LIMIT = 10  # THROTTLE_RATE_LOGIN's default, 10/minute
ACCOUNT_LIMIT = 20  # THROTTLE_RATE_LOGIN_ACCOUNT's default, 20/hour
REFRESH_LIMIT = 60  # THROTTLE_RATE_REFRESH's default, 60/minute


def api_login(client, host: str, address: str = "203.0.113.7", email: str = "member@alpha.test"):
    return client.post(
        LOGIN_URL,
        {"email": email, "password": "wrong password"},
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


def spread_addresses(count: int) -> list[str]:
    """One address per attempt: below every per-address limit."""
    return [f"198.51.100.{index + 1}" for index in range(count)]


@pytest.mark.django_db
def test_api_login_is_also_limited_per_account_whatever_the_address(client, org):
    # Spelled differently each time: the counter is keyed on the email as the login matches it.
    spellings = ["member@alpha.test", " Member@Alpha.TEST ", "MEMBER@alpha.test"]
    statuses = [
        api_login(client, org.host, address=address, email=spellings[index % 3]).status_code
        for index, address in enumerate(spread_addresses(ACCOUNT_LIMIT))
    ]
    response = api_login(client, org.host, address="192.0.2.200")

    assert statuses == [401] * ACCOUNT_LIMIT
    assert response.status_code == 429
    assert 60 < int(response["Retry-After"]) <= 3600  # 20/hour
    assert response.json()["code"] == "throttled"
    # Another account from a fresh address is not held back by this one's counter.
    assert api_login(client, org.host, address="192.0.2.201", email="owner@alpha.test").status_code == 401


@pytest.mark.django_db
def test_a_correct_password_does_not_get_past_the_account_limit(client, org):
    for address in spread_addresses(ACCOUNT_LIMIT):
        api_login(client, org.host, address=address)

    response = client.post(
        LOGIN_URL,
        {"email": "member@alpha.test", "password": TEST_PASSWORD},
        content_type="application/json",
        HTTP_HOST=org.host,
        REMOTE_ADDR="192.0.2.202",
    )

    assert response.status_code == 429


@pytest.mark.django_db
def test_api_refresh_answers_429_with_retry_after_once_the_limit_is_reached(client, org):
    def refresh():
        return client.post(REFRESH_URL, {"refresh": "not-a-token"}, content_type="application/json", HTTP_HOST=org.host)

    statuses = {refresh().status_code for _ in range(REFRESH_LIMIT)}
    response = refresh()

    assert statuses == {401}
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60


def test_page_login_check_counts_per_address_and_per_account():
    def attempt(address: str, email: str = "someone@example.com") -> int | None:
        return login_rate_limit_check(RequestFactory().post("/accounts/login", REMOTE_ADDR=address), email=email)

    waits = [attempt(address) for address in spread_addresses(ACCOUNT_LIMIT)]

    assert waits == [None] * ACCOUNT_LIMIT
    assert attempt("192.0.2.9", email=" SOMEONE@example.com") > 60
    assert attempt("192.0.2.9", email="other@example.com") is None


@pytest.mark.django_db
def test_admin_login_is_limited_per_account(client):
    for address in spread_addresses(ACCOUNT_LIMIT):
        client.post(
            "/admin/login/",
            {"username": "root@platform.test", "password": "x"},
            HTTP_HOST="localhost",
            REMOTE_ADDR=address,
        )

    response = client.post(
        "/admin/login/",
        {"username": "ROOT@platform.test", "password": "x"},
        HTTP_HOST="localhost",
        REMOTE_ADDR="192.0.2.3",
    )

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 60


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
        env={
            "THROTTLE_RATE_LOGIN": "3/minute",
            "THROTTLE_RATE_REGISTER": "2/day",
            "THROTTLE_RATE_LOGIN_ACCOUNT": "5/hour",
            "THROTTLE_RATE_REFRESH": "100/minute",
        },
    )

    assert result.returncode == 0, result.stderr
    assert "'login': '3/minute'" in result.stdout
    assert "'register': '2/day'" in result.stdout
    assert "'login_account': '5/hour'" in result.stdout
    assert "'refresh': '100/minute'" in result.stdout


@pytest.mark.django_db
def test_a_forged_x_forwarded_for_does_not_escape_the_login_limit(client, org):
    statuses = [
        client.post(
            LOGIN_URL,
            {"email": f"nobody{attempt}@example.com", "password": "wrong"},
            content_type="application/json",
            HTTP_HOST=org.host,
            REMOTE_ADDR="203.0.113.50",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        ).status_code
        for attempt in range(LOGIN_LIMIT + 1)
    ]
    assert statuses[-1] == 429


@pytest.mark.django_db
def test_failed_logins_on_another_organizations_host_do_not_lock_the_account_out_here(client, org, other_org):
    for attempt in range(ACCOUNT_LIMIT):
        api_login(client, other_org.host, address=f"198.51.100.{attempt}", email=org.owner.email)

    response = client.post(
        LOGIN_URL,
        {"email": org.owner.email, "password": TEST_PASSWORD},
        content_type="application/json",
        HTTP_HOST=org.host,
        REMOTE_ADDR="192.0.2.77",
    )
    assert response.status_code == 200
