"""Races between identical requests, each thread on its own database connection (as the web server's threads are).

They run with transactional_db (no test transaction to roll back): the racing threads must see committed rows.
"""

import threading
from collections.abc import Callable

import pytest
from django.db import connections
from rest_framework.test import APIClient

from accounts.models import Invitation, Membership
from accounts.tokens import tokens_for_membership

RACERS = 8


def race(call: Callable[[APIClient], int], *, host: str) -> list[int]:
    """Run `call` in RACERS threads released at the same moment; their HTTP statuses, sorted."""
    barrier = threading.Barrier(RACERS)
    statuses: list[int] = []

    def racer() -> None:
        try:
            client = APIClient()
            client.defaults["HTTP_HOST"] = host
            barrier.wait(timeout=30)
            statuses.append(call(client))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(statuses)


@pytest.mark.django_db(transaction=True)
def test_racing_refreshes_of_one_token_give_exactly_one_new_pair(org):
    membership = org.membership(org.member)
    refresh = tokens_for_membership(membership)["refresh"]
    issued: list[str] = []

    def refresh_once(client: APIClient) -> int:
        response = client.post("/api/v1/auth/refresh", {"refresh": refresh}, format="json")
        if response.status_code == 200:
            issued.append(response.json()["refresh"])
        return response.status_code

    statuses = race(refresh_once, host=membership.organization.host)

    assert statuses == [200] + [401] * (RACERS - 1)
    # The one new refresh token works; the old one is spent for good.
    client = APIClient(HTTP_HOST=membership.organization.host)
    assert client.post("/api/v1/auth/refresh", {"refresh": issued[0]}, format="json").status_code == 200
    assert client.post("/api/v1/auth/refresh", {"refresh": refresh}, format="json").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_identical_member_adds_at_once_give_one_invitation_and_conflicts(org):
    owner = org.membership(org.owner)
    access = tokens_for_membership(owner)["access"]
    email = "racing-newcomer@alpha.test"

    def add(client: APIClient) -> int:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        return client.post("/api/v1/members", {"email": email, "role": "member"}, format="json").status_code

    statuses = race(add, host=owner.organization.host)

    assert statuses == [201] + [409] * (RACERS - 1)
    # Adding is inviting (accounts.invitations): one open invitation, no membership until it is accepted.
    assert Invitation.objects.filter(email=email, organization=owner.organization).count() == 1
    assert not Membership.objects.filter(user__email=email, organization=owner.organization).exists()
