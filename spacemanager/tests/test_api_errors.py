"""The API's answers have the shapes its schema documents (spacemanager.openapi): found by schemathesis,
kept here as plain regression tests so that `make test` catches them without a fuzz run."""

from datetime import UTC, date, datetime, timedelta

import pytest

from reports.tests.factories import generate
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db


def test_an_unknown_member_is_a_404_with_a_code_that_names_no_model(org, api_client):
    response = api_client(org, org.owner).get("/api/v1/members/987654")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_page_past_the_last_is_a_404_with_a_code(org, api_client):
    response = api_client(org, org.owner).get("/api/v1/members?page=99")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("size", ["0", "101"])
def test_a_page_size_outside_1_to_100_is_refused(org, api_client, size):
    response = api_client(org, org.owner).get(f"/api/v1/members?page_size={size}")

    assert response.status_code == 400
    assert response.json() == {"page_size": ["Give a whole number from 1 to 100."], "code": "invalid"}


@pytest.mark.parametrize("size", ["many", ""])
def test_a_page_size_that_is_not_a_number_is_refused(org, api_client, size):
    response = api_client(org, org.owner).get(f"/api/v1/members?page_size={size}")

    assert response.status_code == 400
    assert response.json() == {"page_size": ["Must be a whole number."], "code": "invalid_type"}


def test_a_reports_month_is_a_year_month_string(paris, api_client, in_tenant):
    ReservationFactory(user=paris.member)
    generate(date(2025, 3, 1))

    body = api_client(paris, paris.owner).get("/api/v1/reports").json()

    assert body["results"][0]["month"] == "2025-03"


def test_options_on_a_report_asked_as_csv_answers_json(paris, api_client, in_tenant):
    report = generate(date(2025, 3, 1))

    response = api_client(paris, paris.owner).options(f"/api/v1/reports/{report.pk}?format=csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


def test_an_empty_format_is_refused(paris, api_client):
    response = api_client(paris, paris.owner).get("/api/v1/reports?format=")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_changing_a_cancelled_reservation_is_a_409_with_conflicts(paris, api_client, in_tenant):
    reservation = ReservationFactory(user=paris.member, status=Reservation.Status.CANCELLED)

    response = api_client(paris, paris.member).patch(f"/api/v1/reservations/{reservation.pk}", {"title": "x"})

    assert response.status_code == 409
    assert response.json()["code"] == "reservation_not_active"
    assert response.json()["conflicts"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("scope=everyone", "scope"),
        ("to=", "to"),
        ("space=1.5", "space"),
        ("from=2027-01-01T00:00:00%2B20:00", "from"),
    ],
)
def test_bad_reservation_filters_are_refused_with_the_parameter_named(paris, api_client, query, field):
    response = api_client(paris, paris.member).get(f"/api/v1/reservations?{query}")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("query", "field"), [("is_active=maybe", "is_active"), ("capacity_min=0.5", "capacity_min"), ("kind=", "kind")]
)
def test_bad_space_filters_are_refused_with_the_parameter_named(paris, api_client, query, field):
    response = api_client(paris, paris.member).get(f"/api/v1/spaces?{query}")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("field", "value"),
    [("requires_approval", 0), ("is_active", "yes"), ("hourly_rate", 25), ("location", 0), ("amenities", [0])],
)
def test_a_space_field_of_the_wrong_json_type_is_refused(paris, api_client, field, value):
    response = api_client(paris, paris.owner).post("/api/v1/spaces", {"name": "Blue room", field: value})

    assert response.status_code == 400
    # The field, or the item inside it (`amenities[0]`), named as the strict check names nested input.
    assert any(name.split("[")[0] == field for name in response.json())


def test_a_booking_with_an_offset_postgresql_cannot_store_is_refused(paris, api_client, in_tenant, booking_now):
    space = SpaceFactory()
    start = datetime(2025, 3, 10, 9, tzinfo=UTC) + timedelta(days=1)

    response = api_client(paris, paris.member).post(
        "/api/v1/reservations",
        {"space": space.pk, "starts_at": start.strftime("%Y-%m-%dT%H:%M:%S+16:00"), "ends_at": "2025-03-12T10:00:00Z"},
    )

    assert response.status_code == 400
    assert "15:59" in response.json()["starts_at"][0]


def test_patching_a_member_without_fields_changes_nothing(org, api_client):
    member = org.membership(org.member)

    response = api_client(org, org.owner).patch(f"/api/v1/members/{member.pk}", {})

    assert response.status_code == 200
    assert response.json()["role"] == "member"


def test_a_body_that_is_not_json_is_a_415_with_a_code(org, api_client):
    response = api_client(org, org.owner).post("/api/v1/spaces", "name=Blue", content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
