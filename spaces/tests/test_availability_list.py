"""GET /api/v1/availability: several spaces' availability at once, filtered like GET spaces."""

import re
from datetime import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reservations.tests.factories import ReservationFactory
from spaces.models import Closure
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


def _many_spaces(org, count: int) -> list:
    """`count` spaces with buffers of their own, each with a booking, one with a closure of its own and one
    closure of every space."""
    connection.set_tenant(org.organization)
    made = []
    for number in range(count):
        space = open_every_day(
            SpaceFactory(name=f"Room {number:02}", buffer_before_minutes=number % 3 * 10, buffer_after_minutes=15),
            time(8),
            time(18),
        )
        ReservationFactory(
            space=space,
            user=org.member if number % 2 else org.admin,
            starts_at="2025-03-10T09:00:00Z",
            ends_at="2025-03-10T10:00:00Z",
            buffer_before_minutes=space.buffer_before_minutes,
            buffer_after_minutes=space.buffer_after_minutes,
        )
        made.append(space)
    own = Closure.objects.create(starts_at="2025-03-10T11:00:00Z", ends_at="2025-03-10T11:30:00Z", reason="Paint")
    own.spaces.set([made[0]])
    Closure.objects.create(starts_at="2025-03-10T11:45:00Z", ends_at="2025-03-10T12:00:00Z", reason="Drill")
    connection.set_schema_to_public()
    return made


def _queries_of_availability(org, client) -> tuple[list[str], dict]:
    """The request's queries, without django-tenants' `SET search_path` (whether one is sent depends on what
    the connection did before, not on the request)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/availability?{WINDOW}&page_size=50")
    assert response.status_code == 200
    sql = [query["sql"] for query in queries.captured_queries if not query["sql"].startswith("SET search_path")]
    return sql, response.json()


@pytest.mark.parametrize("who", ["member", "admin"])
def test_one_space_or_twenty_cost_the_same_number_of_queries(org, api_client, booking_now, who):
    _many_spaces(org, 1)
    client = api_client(org, getattr(org, who))
    one, body = _queries_of_availability(org, client)
    assert body["count"] == 1

    _many_spaces(org, 19)
    twenty, body = _queries_of_availability(org, client)

    assert body["count"] == 20
    assert len(twenty) == len(one)
    # After the host and the membership: count, spaces, opening hours, every space's busy rows, closures.
    tables = [re.search(r'FROM "(\w+)"', query)[1] for query in twenty]
    assert tables[-5:] == [
        "spaces_space",
        "spaces_space",
        "spaces_openinghours",
        "reservations_reservation",
        "spaces_closure",
    ]


def test_each_space_s_availability_is_what_its_own_endpoint_says(org, api_client, booking_now):
    """The batched read gives each space exactly the single-space answer: its own buffers, its closures."""
    spaces = _many_spaces(org, 6)
    client = api_client(org, org.member)
    listed = {item["space"]: item for item in client.get(f"/api/v1/availability?{WINDOW}").json()["results"]}

    for space in spaces:
        own = client.get(f"/api/v1/spaces/{space.pk}/availability?{WINDOW}").json()
        assert listed[space.pk] == own
    assert [c["reason"] for c in listed[spaces[0].pk]["closures"]] == ["Paint", "Drill"]
    assert [c["reason"] for c in listed[spaces[1].pk]["closures"]] == ["Drill"]
