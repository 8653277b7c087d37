"""Racing bookings of the last items, each thread on its own database connection through the real API: the
items are never over-allocated, and the losers get 409 equipment_unavailable."""

import threading
from datetime import UTC, datetime, timedelta

from django.db import connection, connections
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.tokens import tokens_for_membership
from equipment.models import Allocation
from equipment.tests.factories import ItemFactory
from reservations.models import Reservation
from reservations.tests.test_database import racing_organization  # noqa: F401 (a fixture)
from spaces.tests.factories import SpaceFactory

RACERS = 6


def test_racing_bookings_of_different_spaces_never_over_allocate_an_item(racing_organization, django_db_blocker):  # noqa: F811
    organization = racing_organization.organization
    with django_db_blocker.unblock():
        connection.set_tenant(organization)
        spaces = [SpaceFactory() for _ in range(RACERS)]  # one space each: only the item can refuse
        monitors = ItemFactory(name="Monitor", quantity=2)
        connection.set_schema_to_public()
        membership = Membership.objects.select_related("user", "organization").get(pk=racing_organization.membership.pk)
        token = tokens_for_membership(membership)["access"]
        starts_at = (datetime.now(tz=UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        barrier = threading.Barrier(RACERS)
        answers: list[tuple[int, dict]] = []

        def race(index: int) -> None:
            try:
                client = APIClient()
                client.defaults["HTTP_HOST"] = organization.host
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
                # Overlapping, not equal, intervals: every pair meets.
                start = starts_at + timedelta(minutes=5 * index)
                body = {
                    "space": spaces[index].pk,
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=1)).isoformat(),
                    "equipment": [{"item": monitors.pk, "quantity": 1}],
                }
                barrier.wait(timeout=30)
                response = client.post("/api/v1/reservations", body, format="json")
                answers.append((response.status_code, response.json()))
            finally:
                connections.close_all()

        try:
            threads = [threading.Thread(target=race, args=(index,)) for index in range(RACERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)

            assert sorted(status for status, _ in answers) == [201, 201] + [409] * (RACERS - 2)
            refusals = [body for status, body in answers if status == 409]
            assert {body["code"] for body in refusals} == {"equipment_unavailable"}
            assert all(body["item"]["id"] == monitors.pk and body["available"] == 0 for body in refusals)
            connection.set_tenant(organization)
            assert Allocation.objects.filter(item=monitors, reservation__status="confirmed").count() == 2
            assert Reservation.objects.count() == 2
        finally:
            connection.set_schema_to_public()
