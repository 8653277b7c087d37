"""Closures in the organization's admin go through spaces.services: the rules and the cancel-with-notice."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from accounts.models import Membership
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.testing import logged_in_client
from spaces.models import Closure
from spaces.tests.factories import SpaceFactory
from spaces.tests.test_admin import superuser

pytestmark = pytest.mark.django_db
ADD = "/admin/spaces/closure/add/"


@pytest.fixture
def admin_client(client, org):
    user = superuser()
    Membership.objects.create(user=user, organization=org.organization, role=Membership.Role.ADMIN)
    return logged_in_client(client, host=org.host, user=user)


def in_schema(org, call):
    connection.set_tenant(org.organization)
    try:
        return call()
    finally:
        connection.set_schema_to_public()


def form(**overrides) -> dict:
    return {
        "reason": "Public holiday",
        "starts_at_0": "2030-05-01",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2030-05-02",
        "ends_at_1": "00:00:00",
        **overrides,
    }


def test_an_admin_declares_a_closure_and_cancels_the_bookings_inside(admin_client, org):
    booked = in_schema(
        org,
        lambda: ReservationFactory(
            space=SpaceFactory(), user=org.member, starts_at=datetime(2030, 5, 1, 9, tzinfo=UTC)
        ),
    )

    response = admin_client.post(ADD, form(cancel_affected="on"), follow=True)

    assert response.status_code == 200
    assert "1 booking(s) inside it were cancelled" in response.content.decode()
    closure = in_schema(org, Closure.objects.get)
    assert closure.reason == "Public holiday"
    assert in_schema(org, lambda: Reservation.objects.get(pk=booked.pk).cancel_reason) == "Public holiday"


def test_the_admin_shows_the_services_refusal_and_saves_nothing(admin_client, org):
    response = admin_client.post(ADD, form(ends_at_0="2030-04-30"))

    assert response.status_code == 200
    assert "The end must be after the start." in response.content.decode()
    assert not in_schema(org, Closure.objects.exists)
