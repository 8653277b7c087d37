"""Idempotency-Key on the API's POSTs (Stripe's semantics) and the pages' one-time form token."""

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tokens import tokens_for_membership
from spaces.models import Space
from spaces.tests.test_api import NEW_SPACE as NEW_SPACE_JSON
from spaces.tests.test_views import NEW_SPACE as NEW_SPACE_FORM
from tenants.models import IdempotencyKey

pytestmark = pytest.mark.django_db
URL = "/api/v1/spaces"


def post(client, body=NEW_SPACE_JSON, key="key-1"):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_and_creates_nothing(api_client, org, in_tenant):
    client = api_client(org, org.admin)

    first = post(client)
    second = post(client)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Space.objects.filter(name="Blue room").count() == 1


def test_the_same_key_with_another_body_is_a_422(api_client, org, in_tenant):
    client = api_client(org, org.admin)
    post(client)

    response = post(client, {**NEW_SPACE_JSON, "name": "Red room"})

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert not Space.objects.filter(name="Red room").exists()


def test_a_duplicate_while_the_first_still_runs_is_a_409(api_client, org, in_tenant):
    client = api_client(org, org.admin)
    post(client, key="running")
    # The ledger's row as the first request leaves it while it runs: claimed, not done.
    IdempotencyKey.objects.filter(kind="api_post").update(state=IdempotencyKey.State.CLAIMED, done_at=None)

    response = post(client, key="running")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert response["Retry-After"] == "1"
    assert Space.objects.filter(name="Blue room").count() == 1


def test_a_claim_whose_request_died_is_taken_over(api_client, org, in_tenant):
    client = api_client(org, org.admin)
    post(client, key="abandoned")
    Space.objects.all().delete()
    IdempotencyKey.objects.filter(kind="api_post").update(
        state=IdempotencyKey.State.CLAIMED, claimed_at=timezone.now() - timedelta(minutes=5)
    )

    response = post(client, key="abandoned")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


def test_after_24_hours_the_key_is_forgotten(api_client, org, in_tenant):
    client = api_client(org, org.admin)
    post(client, key="old")
    IdempotencyKey.objects.filter(kind="api_post").update(claimed_at=timezone.now() - timedelta(hours=25))

    assert "Idempotent-Replayed" not in post(client, key="old")
    assert Space.objects.filter(name="Blue room").count() == 2


def test_keys_belong_to_one_person_in_one_organization(api_client, org, other_org):
    assert post(api_client(org, org.admin), key="shared").status_code == 201
    assert "Idempotent-Replayed" not in post(api_client(org, org.owner), key="shared")
    assert "Idempotent-Replayed" not in post(api_client(other_org, other_org.owner), key="shared")


def test_an_error_answer_is_replayed_too_but_a_refused_login_is_not_kept(api_client, org, in_tenant):
    client = api_client(org, org.admin)
    invalid = {**NEW_SPACE_JSON, "capacity": 0}
    assert post(client, invalid, key="bad").status_code == 400
    assert post(client, invalid, key="bad")["Idempotent-Replayed"] == "true"

    anonymous = api_client(org)
    assert post(anonymous, key="no-login").status_code == 401
    assert "Idempotent-Replayed" not in post(anonymous, key="no-login")


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_a_malformed_key_is_a_400(api_client, org, key):
    response = post(api_client(org, org.admin), key=key)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"


def test_posts_without_a_key_are_not_deduplicated(api_client, org, in_tenant):
    client = api_client(org, org.admin)
    client.post(URL, NEW_SPACE_JSON, format="json")
    client.post(URL, NEW_SPACE_JSON, format="json")

    assert Space.objects.filter(name="Blue room").count() == 2


# Pages


def form_token(page: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def test_two_quick_posts_of_the_space_form_create_one_space(web_client, org, in_tenant):
    client = web_client(org, org.admin)
    token = form_token(client.get("/spaces/new/").content.decode())

    first = client.post("/spaces/new/", {**NEW_SPACE_FORM, "form_token": token})
    second = client.post("/spaces/new/", {**NEW_SPACE_FORM, "form_token": token})

    space = Space.objects.get(name="Blue room")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/spaces/{space.pk}/"


def test_a_form_sent_back_with_errors_can_be_corrected_and_sent_with_its_token(web_client, org, in_tenant):
    client = web_client(org, org.admin)
    token = form_token(client.get("/spaces/new/").content.decode())

    refused = client.post("/spaces/new/", {**NEW_SPACE_FORM, "capacity": "0", "form_token": token})
    corrected = client.post("/spaces/new/", {**NEW_SPACE_FORM, "form_token": token})

    assert refused.status_code == 400
    assert corrected.status_code == 302
    assert Space.objects.filter(name="Blue room").count() == 1


def test_a_double_submit_while_the_first_still_runs_says_so_after_a_short_wait(web_client, org, in_tenant, monkeypatch):
    from spacemanager import idempotent_requests

    monkeypatch.setattr(idempotent_requests, "FORM_WAIT_SECONDS", 0)
    client = web_client(org, org.admin)
    token = form_token(client.get("/spaces/new/").content.decode())
    client.post("/spaces/new/", {**NEW_SPACE_FORM, "form_token": token})
    IdempotencyKey.objects.filter(kind="form_post").update(state=IdempotencyKey.State.CLAIMED, done_at=None)

    response = client.post("/spaces/new/", {**NEW_SPACE_FORM, "form_token": token})

    assert response.status_code == 409
    assert "This form is already being sent" in response.content.decode()
    assert Space.objects.filter(name="Blue room").count() == 1


def test_each_rendering_of_a_form_has_its_own_token(web_client, org):
    client = web_client(org, org.admin)

    assert form_token(client.get("/spaces/new/").content.decode()) != form_token(
        client.get("/spaces/new/").content.decode()
    )


# Real races: two threads, two database connections, one key.


def _race(send) -> list:
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            answers[index] = send()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def _spaces_named(org, name: str) -> int:
    connection.set_tenant(org.organization)
    try:
        return Space.objects.filter(name=name).count()
    finally:
        connection.set_schema_to_public()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_api_posts_with_one_key_create_one_space(org):
    tokens = tokens_for_membership(org.membership(org.admin))

    def send():
        client = APIClient(HTTP_HOST=org.host, HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        return client.post(URL, NEW_SPACE_JSON, format="json", HTTP_IDEMPOTENCY_KEY="race")

    answers = _race(send)

    assert _spaces_named(org, "Blue room") == 1
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses in ([201, 201], [201, 409])
    created = [answer.json()["id"] for answer in answers if answer.status_code == 201]
    assert len(set(created)) == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_posts_of_one_space_form_create_one_space(org):
    def send():
        client = Client(HTTP_HOST=org.host)
        client.force_login(org.admin)
        return client.post("/spaces/new/", {**NEW_SPACE_FORM, "form_token": "one-rendering"})

    answers = _race(send)

    assert _spaces_named(org, "Blue room") == 1
    assert [answer.status_code for answer in answers] == [302, 302]
    assert answers[0]["Location"] == answers[1]["Location"]
