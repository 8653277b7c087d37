"""GET /api/v1/availability: several spaces' availability at once, filtered like GET spaces."""

from datetime import time

import pytest
from django.db import connection

from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.django_db
WINDOW = "start=2025-03-10T08:00:00Z&end=2025-03-10T12:00:00Z"


@pytest.fixture
def spaces(org, booking_now):
    connection.set_tenant(org.organization)
    blue = open_every_day(SpaceFactory(name="Blue room", capacity=8), time(8), time(18))
    desk = open_every_day(SpaceFactory(name="Desk 1", capacity=1, kind="desk", amenities=[]), time(8), time(18))
    ReservationFactory(
        space=blue, user=org.admin, starts_at="2025-03-10T09:00:00Z", ends_at="2025-03-10T10:00:00Z", title="Board"
    )
    connection.set_schema_to_public()
    return blue, desk


def test_every_space_with_its_busy_and_free_times(org, api_client, spaces):
    blue, desk = spaces
    body = api_client(org, org.member).get(f"/api/v1/availability?{WINDOW}").json()
    assert body["count"] == 2
    by_space = {item["space"]: item for item in body["results"]}
    assert [(b["starts_at"], b["title"], b["user"]) for b in by_space[blue.pk]["busy"]] == [
        ("2025-03-10T09:00:00Z", None, None)
    ]
    assert by_space[blue.pk]["free"] == [
        {"starts_at": "2025-03-10T08:00:00Z", "ends_at": "2025-03-10T09:00:00Z"},
        {"starts_at": "2025-03-10T10:00:00Z", "ends_at": "2025-03-10T12:00:00Z"},
    ]
    assert by_space[desk.pk]["busy"] == []


def test_filters_like_the_space_list(org, api_client, spaces):
    blue, _ = spaces
    client = api_client(org, org.member)
    assert [i["space"] for i in client.get(f"/api/v1/availability?{WINDOW}&kind=meeting_room").json()["results"]] == [
        blue.pk
    ]
    assert [i["space"] for i in client.get(f"/api/v1/availability?{WINDOW}&amenity=projector").json()["results"]] == [
        blue.pk
    ]


@pytest.mark.parametrize(
    "query",
    [
        "start=2025-03-10T08:00:00Z",
        "start=2025-03-10T08:00:00&end=2025-03-10T12:00:00",
        "start=2025-03-10T08:00:00Z&end=2025-05-10T12:00:00Z",
        f"{WINDOW}&bogus=1",
    ],
)
def test_bad_windows_and_unknown_parameters_are_400(org, api_client, spaces, query):
    assert api_client(org, org.member).get(f"/api/v1/availability?{query}").status_code == 400
