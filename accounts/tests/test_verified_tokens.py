"""Access tokens are decoded and their signature checked once per process (accounts.authentication's memo);
every later use still checks their expiry and reads the membership, so nothing that ends a token waits."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework_simplejwt.backends import TokenBackend

from accounts import authentication
from accounts.models import User
from accounts.tokens import tokens_for_membership

pytestmark = pytest.mark.django_db
ME_URL = "/api/v1/auth/me"


@pytest.fixture(autouse=True)
def empty_memo():
    authentication.forget_verified_tokens()
    yield
    authentication.forget_verified_tokens()


@pytest.fixture
def decodes(monkeypatch):
    """How many times simplejwt decoded a token (PyJWT's parsing and the signature check)."""
    calls = []
    original = TokenBackend.decode

    def counting(self, token, verify=True):
        calls.append(token)
        return original(self, token, verify)

    monkeypatch.setattr(TokenBackend, "decode", counting)
    return calls


def bearer(client, access: str):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_a_token_is_decoded_once_and_answers_the_same_every_time(api_client, org, decodes):
    access = tokens_for_membership(org.membership(org.member))["access"]
    client = bearer(api_client(org), access)

    answers = [client.get(ME_URL) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert answers[0].json()["user"]["email"] == org.member.email
    assert len(decodes) == 1


def test_a_remembered_token_that_expires_is_refused_as_simplejwt_refuses_it(api_client, org, decodes):
    access = tokens_for_membership(org.membership(org.member))["access"]
    client = bearer(api_client(org), access)
    assert client.get(ME_URL).status_code == 200

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        expired = client.get(ME_URL)
        authentication.forget_verified_tokens()
        never_remembered = client.get(ME_URL)

    assert expired.status_code == never_remembered.status_code == 401
    assert expired.json() == never_remembered.json()
    assert expired.json()["code"] == "token_not_valid"
    assert access.encode() not in authentication._verified_payloads


def test_ending_a_persons_tokens_refuses_a_remembered_token_at_once(api_client, org):
    access = tokens_for_membership(org.membership(org.member))["access"]
    client = bearer(api_client(org), access)
    assert client.get(ME_URL).status_code == 200

    User.objects.filter(pk=org.member.pk).update(tokens_valid_after=timezone.now() + timedelta(seconds=1))

    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "token_ended"


def test_a_remembered_token_still_works_on_its_own_organization_only(api_client, org, other_org):
    access = tokens_for_membership(org.membership(org.member))["access"]
    assert bearer(api_client(org), access).get(ME_URL).status_code == 200

    response = bearer(api_client(other_org), access).get(ME_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "token_wrong_organization"


def test_a_token_with_another_signature_is_checked_afresh_and_refused(api_client, org):
    access = tokens_for_membership(org.membership(org.member))["access"]
    client = bearer(api_client(org), access)
    assert client.get(ME_URL).status_code == 200
    header, payload, signature = access.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"

    response = bearer(client, forged).get(ME_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_new_token_settings_forget_every_remembered_token(api_client, org, settings):
    # simplejwt itself reads its signing key once per process (a new key needs a restart, which empties the
    # memo too); the memo still never outlives the settings it was checked under.
    access = tokens_for_membership(org.membership(org.member))["access"]
    assert bearer(api_client(org), access).get(ME_URL).status_code == 200
    assert access.encode() in authentication._verified_payloads

    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5)}

    assert authentication._verified_payloads == {}


def test_the_memo_is_bounded_and_drops_the_oldest_token(api_client, org, monkeypatch):
    monkeypatch.setattr(authentication, "VERIFIED_TOKENS_MAX", 2)
    membership = org.membership(org.member)
    tokens = [tokens_for_membership(membership)["access"] for _ in range(3)]
    client = api_client(org)

    for access in tokens:
        assert bearer(client, access).get(ME_URL).status_code == 200

    assert list(authentication._verified_payloads) == [tokens[1].encode(), tokens[2].encode()]
