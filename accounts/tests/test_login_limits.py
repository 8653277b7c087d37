"""Login limits (accounts/login_limits.py): failures are counted, successes never are; per account and address
tightly, per address, and per account with exponential backoff that spares the person's own address."""

import pytest
import time_machine

from accounts.login_limits import parse_rate
from accounts.models import Membership, User
from accounts.tests.factories import TEST_PASSWORD

LOGIN_URL = "/api/v1/auth/login"
PAIR_LIMIT = 5  # THROTTLE_RATE_LOGIN_ACCOUNT_ADDRESS's default, 5/15m
ADDRESS_LIMIT = 10  # THROTTLE_RATE_LOGIN's default, 10/minute
BACKOFF_AFTER = 10  # LOGIN_BACKOFF_AFTER_FAILURES's default
HOME = "192.0.2.10"
OFFICE = "203.0.113.7"


def api_login(client, host: str, *, address: str, email: str = "member@alpha.test", password: str = "wrong"):  # noqa: S107
    return client.post(
        LOGIN_URL,
        {"email": email, "password": password},
        content_type="application/json",
        HTTP_HOST=host,
        REMOTE_ADDR=address,
    )


def page_login(client, host: str, *, address: str, email: str = "member@alpha.test", password: str = "wrong"):  # noqa: S107
    return client.post("/login/", {"email": email, "password": password}, HTTP_HOST=host, REMOTE_ADDR=address)


def spread(count: int, prefix: str = "198.51.100") -> list[str]:
    """One address per attempt: below every per-address limit."""
    return [f"{prefix}.{index + 1}" for index in range(count)]


def test_rates_accept_drf_and_multiple_unit_formats():
    assert parse_rate("10/minute") == (10, 60)
    assert parse_rate("5/15m") == (5, 900)
    assert parse_rate("20/hour") == (20, 3600)
    with pytest.raises(ValueError, match="Not a rate"):
        parse_rate("often")


@pytest.mark.django_db
def test_eleven_colleagues_logging_in_from_one_office_address_are_never_throttled(client, org):
    colleagues = []
    for index in range(11):
        user = User.objects.create_user(email=f"colleague{index}@alpha.test", password=TEST_PASSWORD)
        Membership.objects.create(user=user, organization=org.organization)
        colleagues.append(user.email)

    statuses = [
        api_login(client, org.host, address=OFFICE, email=email, password=TEST_PASSWORD).status_code
        for email in colleagues
    ]

    assert statuses == [200] * 11


@pytest.mark.django_db
def test_successful_logins_are_not_counted_however_many(client, org):
    statuses = {
        api_login(client, org.host, address=OFFICE, password=TEST_PASSWORD).status_code
        for _ in range(ADDRESS_LIMIT * 2)
    }
    assert statuses == {200}


@pytest.mark.django_db
def test_failures_for_one_account_at_one_address_are_limited_tightly(client, org):
    statuses = [api_login(client, org.host, address=OFFICE).status_code for _ in range(PAIR_LIMIT)]
    refused = api_login(client, org.host, address=OFFICE, password=TEST_PASSWORD)

    assert statuses == [401] * PAIR_LIMIT
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 15 * 60
    assert refused.json()["code"] == "throttled"
    assert refused.json()["detail"].startswith("Too many failed logins. Please try again in ")
    # The same person from another address, and another person from this one, are not held back.
    assert api_login(client, org.host, address=HOME, password=TEST_PASSWORD).status_code == 200
    assert api_login(client, org.host, address=OFFICE, email=org.admin.email, password=TEST_PASSWORD).status_code == 200


@pytest.mark.django_db
def test_failures_from_one_address_across_accounts_are_limited(client, org):
    statuses = [
        api_login(client, org.host, address=OFFICE, email=f"nobody{index}@example.com").status_code
        for index in range(ADDRESS_LIMIT)
    ]
    refused = api_login(client, org.host, address=OFFICE, email="someone-else@example.com")

    assert statuses == [401] * ADDRESS_LIMIT
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60


@pytest.mark.django_db
def test_a_forged_x_forwarded_for_does_not_escape_the_address_limit(client, org):
    statuses = [
        client.post(
            LOGIN_URL,
            {"email": f"nobody{attempt}@example.com", "password": "wrong"},
            content_type="application/json",
            HTTP_HOST=org.host,
            REMOTE_ADDR="203.0.113.50",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        ).status_code
        for attempt in range(ADDRESS_LIMIT + 1)
    ]
    assert statuses[-1] == 429


@pytest.mark.django_db
def test_failures_spread_over_addresses_meet_an_exponential_backoff(client, org):
    with time_machine.travel("2030-01-07 09:00:00+00:00", tick=False) as clock:
        # Spelled differently each time: the counter is keyed on the email as the login matches it.
        spellings = ["member@alpha.test", " Member@Alpha.TEST ", "MEMBER@alpha.test"]
        for index, address in enumerate(spread(BACKOFF_AFTER)):
            assert api_login(client, org.host, address=address, email=spellings[index % 3]).status_code == 401

        waits = []
        for address in spread(4, prefix="198.51.101"):
            refused = api_login(client, org.host, address=address)
            assert refused.status_code == 429
            waits.append(int(refused["Retry-After"]))
            clock.shift(waits[-1])
            assert api_login(client, org.host, address=address).status_code == 401  # one more failure

        # A correct password from a new address waits too: the limit would be pointless otherwise.
        assert api_login(client, org.host, address="192.0.2.99", password=TEST_PASSWORD).status_code == 429

    assert waits == [1, 2, 4, 8]


@pytest.mark.django_db
def test_a_strangers_failures_do_not_lock_the_person_out_at_their_own_address(client, org):
    assert api_login(client, org.host, address=HOME, password=TEST_PASSWORD).status_code == 200  # last week

    for address in spread(30):
        api_login(client, org.host, address=address)

    assert api_login(client, org.host, address="192.0.2.99", password=TEST_PASSWORD).status_code == 429
    assert api_login(client, org.host, address=HOME, password=TEST_PASSWORD).status_code == 200


@pytest.mark.django_db
def test_failed_logins_on_another_organizations_host_do_not_lock_the_account_out_here(client, org, other_org):
    for address in spread(30):
        api_login(client, other_org.host, address=address, email=org.owner.email)

    response = api_login(client, org.host, address="192.0.2.77", email=org.owner.email, password=TEST_PASSWORD)
    assert response.status_code == 200


@pytest.mark.django_db
def test_the_login_page_counts_failures_with_the_api_and_answers_a_429_page(client, org):
    for _ in range(PAIR_LIMIT - 2):
        api_login(client, org.host, address=OFFICE)
    pages = [page_login(client, org.host, address=OFFICE).status_code for _ in range(2)]

    refused = page_login(client, org.host, address=OFFICE, password=TEST_PASSWORD)

    assert pages == [200, 200]  # the form again, with its error
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many failed logins" in refused.content.decode()
    assert refused["Content-Type"].startswith("text/html")
    assert api_login(client, org.host, address=OFFICE, password=TEST_PASSWORD).status_code == 429


@pytest.mark.django_db
def test_a_successful_page_login_is_not_counted(client, org):
    for _ in range(ADDRESS_LIMIT + 1):
        response = page_login(client, org.host, address=OFFICE, password=TEST_PASSWORD)
        assert response.status_code == 302
        client.logout()


@pytest.mark.django_db
def test_a_success_resets_the_account_and_address_counter(client, org):
    failures = [api_login(client, org.host, address=OFFICE).status_code for _ in range(PAIR_LIMIT - 1)]
    assert api_login(client, org.host, address=OFFICE, password=TEST_PASSWORD).status_code == 200

    again = [api_login(client, org.host, address=OFFICE).status_code for _ in range(PAIR_LIMIT - 1)]

    assert failures == again == [401] * (PAIR_LIMIT - 1)
    assert api_login(client, org.host, address=OFFICE, password=TEST_PASSWORD).status_code == 200


@pytest.mark.django_db
def test_a_success_with_no_failures_before_it_deletes_nothing(client, org, monkeypatch):
    from django.core.cache import cache

    deleted: list[str] = []
    real_delete = cache.delete
    monkeypatch.setattr(cache, "delete", lambda key, *args, **kwargs: deleted.append(key) or real_delete(key))

    assert api_login(client, org.host, address=OFFICE, password=TEST_PASSWORD).status_code == 200
    assert deleted == []
    assert api_login(client, org.host, address=OFFICE).status_code == 401
    assert api_login(client, org.host, address=OFFICE, password=TEST_PASSWORD).status_code == 200
    assert len(deleted) == 1  # the counter the failure started
