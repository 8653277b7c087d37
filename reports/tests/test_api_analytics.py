"""GET /api/v1/analytics: who may read it, its groupings, its 400s, and its place in the schema."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/analytics"
WEEK = {"from": "2025-03-24", "to": "2025-03-30"}


@pytest.fixture
def week(paris, in_tenant):
    with time_machine.travel("2025-02-01 12:00Z"):
        atelier = SpaceFactory(name="Atelier", location="Main building")
        SpaceFactory(name="Box", location="Annex")
    for day in (24, 25):
        ReservationFactory(
            space=atelier,
            user=paris.member,
            starts_at=datetime(2025, 3, day, 9, tzinfo=UTC),
            ends_at=datetime(2025, 3, day, 11, tzinfo=UTC),
            status=Reservation.Status.COMPLETED,
            price=Decimal("40.00"),
        )
    return atelier


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_read_the_figures_per_space(paris, api_client, week, role):
    response = api_client(paris, getattr(paris, role)).get(URL, WEEK)
    assert response.status_code == 200
    body = response.json()
    assert body["group_by"] == "space"
    assert body["timezone"] == "Europe/Paris"
    assert body["totals"]["bookings"] == 2
    assert body["totals"]["revenue"] == "80.00"
    assert [(row["name"], row["booked_hours"]) for row in body["rows"]] == [("Atelier", 4.0), ("Box", 0.0)]
    assert body["top_bookers"][0]["email"] == paris.member.email


def test_members_may_not_read_analytics(paris, api_client, week):
    response = api_client(paris, paris.member).get(URL, WEEK)
    assert response.status_code == 403


def test_analytics_need_a_login(paris, api_client, week):
    assert api_client(paris).get(URL, WEEK).status_code == 401


def test_group_by_day_and_weekday_hour(paris, api_client, week):
    client = api_client(paris, paris.owner)
    days = client.get(URL, {**WEEK, "group_by": "day"}).json()["rows"]
    assert [(row["period"], row["bookings"]) for row in days[:3]] == [
        ("2025-03-24", 1),
        ("2025-03-25", 1),
        ("2025-03-26", 0),
    ]
    cells = client.get(URL, {**WEEK, "group_by": "weekday_hour"}).json()["rows"]
    assert len(cells) == 168
    busy = [(c["weekday"], c["hour"], c["booked_hours"]) for c in cells if c["booked_hours"]]
    assert busy == [("Monday", 10, 1.0), ("Monday", 11, 1.0), ("Tuesday", 10, 1.0), ("Tuesday", 11, 1.0)]


def test_a_location_narrows_the_rows(paris, api_client, week):
    body = api_client(paris, paris.owner).get(URL, {**WEEK, "location": "Annex"}).json()
    assert [row["name"] for row in body["rows"]] == ["Box"]
    assert body["totals"]["bookings"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "24/03/2025"}, "from"),
        ({"from": "2025-03-30", "to": "2025-03-24"}, "to"),
        ({"from": "2024-01-01", "to": "2025-01-01"}, "to"),
        ({"group_by": "month"}, "group_by"),
        ({"space": "x"}, "space"),
        ({"start": "2025-03-01"}, "start"),
    ],
)
def test_bad_parameters_are_400s_that_name_them(paris, api_client, week, params, field):
    response = api_client(paris, paris.owner).get(URL, params)
    assert response.status_code == 400
    assert field in response.json()
    assert response.json()[field][0]


def test_a_year_costs_the_same_queries_as_a_week(paris, api_client, week):
    client = api_client(paris, paris.owner)
    client.get(URL, WEEK)  # warm: the login's lookups are cached per request anyway

    def count(params) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL, params).status_code == 200
        return len(captured)

    short = count(WEEK)
    for offset in range(20):
        starts_at = datetime(2025, 6, 2, 9, tzinfo=UTC) + timedelta(days=offset)
        ReservationFactory(space=week, user=paris.admin, starts_at=starts_at)
    assert count({"from": "2025-01-01", "to": "2025-12-31"}) == short


def test_the_schema_documents_the_endpoint(paris, api_client):
    schema = api_client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/analytics"]["get"]
    assert operation["summary"] == "Analytics for a period"
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "group_by", "location"}
    assert "examples" in operation["responses"]["200"]["content"]["application/json"]
