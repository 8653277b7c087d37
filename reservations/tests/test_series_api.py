"""The series API: booking in one step, the failure answers, `series` on reservations and `?series=`, and
cancelling or changing the following occurrences."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from reservations.models import Reservation, Series
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
BODY = {
    "starts_at": "2025-03-10T09:00:00+01:00",
    "ends_at": "2025-03-10T09:30:00+01:00",
    "recurrence": "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20250630",
    "title": "Stand-up",
}


@pytest.fixture
def space(paris, in_tenant, booking_now):
    space = SpaceFactory(name="Blue room")
    connection.set_schema_to_public()
    return space


def in_schema(org, call):
    connection.set_tenant(org.organization)
    try:
        return call()
    finally:
        connection.set_schema_to_public()


def test_a_member_books_every_monday_and_wednesday_until_june_in_one_request(paris, space, api_client):
    client = api_client(paris, paris.member)

    response = client.post("/api/v1/series", {**BODY, "space": space.pk}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["recurrence"] == "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20250630"
    assert len(body["occurrences"]) == 33 and body["skipped"] == []
    assert body["occurrences"][0]["starts_at"] == "2025-03-10T09:00:00+01:00"
    assert body["occurrences"][-1]["starts_at"] == "2025-06-30T09:00:00+02:00"
    assert {o["series"] for o in body["occurrences"]} == {body["id"]}
    listed = client.get(f"/api/v1/reservations?series={body['id']}&page_size=100").json()
    assert len(listed["results"]) == 33 and listed["next"] is None
    assert client.get(f"/api/v1/series/{body['id']}").json()["id"] == body["id"]
    assert [s["id"] for s in client.get("/api/v1/series").json()["results"]] == [body["id"]]


def test_a_clash_is_a_409_listing_each_occurrence_and_skip_conflicts_books_the_rest(paris, space, api_client):
    in_schema(
        paris,
        lambda: ReservationFactory(space=space, user=paris.admin, starts_at=datetime(2025, 3, 12, 9, tzinfo=PARIS)),
    )
    client = api_client(paris, paris.member)

    refused = client.post("/api/v1/series", {**BODY, "space": space.pk}, format="json")
    skipping = client.post("/api/v1/series", {**BODY, "space": space.pk, "skip_conflicts": True}, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "reservation_conflict"
    assert [o["starts_at"] for o in refused.json()["occurrences"]] == ["2025-03-12T09:00:00+01:00"]
    assert skipping.status_code == 201
    assert len(skipping.json()["occurrences"]) == 32
    assert [(s["starts_at"], s["code"]) for s in skipping.json()["skipped"]] == [
        ("2025-03-12T09:00:00+01:00", "reservation_conflict")
    ]
    assert in_schema(paris, Series.objects.count) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recurrence": "FREQ=WEEKLY"}, "recurrence"),
        ({"recurrence": "FREQ=HOURLY;COUNT=3"}, "recurrence"),
        ({"starts_at": "2025-03-10T09:00:00"}, "starts_at"),
        ({"ends_at": "2025-03-10T08:00:00+01:00"}, "ends_at"),
        ({"colour": "red"}, "colour"),
        ({"space": 987654}, "space"),
    ],
)
def test_bad_series_requests_are_400s_naming_the_field_and_book_nothing(paris, space, api_client, change, field):
    response = api_client(paris, paris.member).post(
        "/api/v1/series", {**BODY, "space": space.pk, **change}, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    assert not in_schema(paris, Series.objects.exists)
    assert not in_schema(paris, Reservation.objects.exists)


def test_delete_from_an_occurrence_cancels_it_and_the_following_ones(paris, space, api_client):
    client = api_client(paris, paris.member)
    series = client.post(
        "/api/v1/series", {**BODY, "space": space.pk, "recurrence": "FREQ=WEEKLY;COUNT=4"}, format="json"
    ).json()
    one = series["occurrences"][0]["id"]

    assert client.delete(f"/api/v1/reservations/{one}").json()["status"] == "cancelled"
    response = client.delete(f"/api/v1/series/{series['id']}?from=2025-03-24T09:00:00%2B01:00")
    unknown = client.delete(f"/api/v1/series/{series['id']}?from=2025-03-25T09:00:00%2B01:00")

    assert response.status_code == 200
    assert [o["status"] for o in response.json()["occurrences"]] == ["cancelled", "confirmed", "cancelled", "cancelled"]
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_occurrence"
    assert client.delete(f"/api/v1/series/{series['id']}?to=x").status_code == 400


def test_patch_moves_all_upcoming_occurrences_by_the_same_local_shift(paris, space, api_client):
    client = api_client(paris, paris.member)
    series = client.post(
        "/api/v1/series", {**BODY, "space": space.pk, "recurrence": "FREQ=WEEKLY;COUNT=4"}, format="json"
    ).json()

    response = client.patch(
        f"/api/v1/series/{series['id']}",
        {"starts_at": "2025-03-10T10:00:00+01:00", "ends_at": "2025-03-10T11:00:00+01:00", "title": "Sync"},
        format="json",
    )

    assert response.status_code == 200
    assert [(o["starts_at"], o["ends_at"]) for o in response.json()["occurrences"]] == [
        ("2025-03-10T10:00:00+01:00", "2025-03-10T11:00:00+01:00"),
        ("2025-03-17T10:00:00+01:00", "2025-03-17T11:00:00+01:00"),
        ("2025-03-24T10:00:00+01:00", "2025-03-24T11:00:00+01:00"),
        ("2025-03-31T10:00:00+02:00", "2025-03-31T11:00:00+02:00"),
    ]
    assert response.json()["title"] == "Sync"


def test_another_members_series_is_404_and_other_organizations_never_see_it(paris, other_org, space, api_client):
    series = (
        api_client(paris, paris.member)
        .post("/api/v1/series", {**BODY, "space": space.pk, "recurrence": "FREQ=WEEKLY;COUNT=2"}, format="json")
        .json()
    )

    assert api_client(paris, paris.owner).get(f"/api/v1/series/{series['id']}").status_code == 200  # a manager
    assert api_client(other_org, other_org.admin).get(f"/api/v1/series/{series['id']}").status_code == 404
    assert api_client(other_org, other_org.admin).get("/api/v1/series").json()["count"] == 0


def test_a_member_never_sees_or_cancels_another_members_series(paris, space, api_client):
    from accounts.models import Membership, User
    from accounts.tests.factories import TEST_PASSWORD

    series = (
        api_client(paris, paris.member)
        .post("/api/v1/series", {**BODY, "space": space.pk, "recurrence": "FREQ=WEEKLY;COUNT=2"}, format="json")
        .json()
    )
    other = User.objects.create_user(email="other@alpha.test", password=TEST_PASSWORD, full_name="Other")
    Membership.objects.create(user=other, organization=paris.organization, role=Membership.Role.MEMBER)
    client = api_client(paris, other)

    assert client.get(f"/api/v1/series/{series['id']}").status_code == 404
    assert client.delete(f"/api/v1/series/{series['id']}").status_code == 404
    assert client.get("/api/v1/series").json()["count"] == 0
    statuses = in_schema(
        paris, lambda: set(Reservation.objects.filter(series_id=series["id"]).values_list("status", flat=True))
    )
    assert statuses == {"confirmed"}


def test_the_series_list_runs_a_fixed_number_of_queries(paris, space, api_client):
    from django.test.utils import CaptureQueriesContext

    client = api_client(paris, paris.member)

    def book(day: int) -> None:
        start = f"2025-03-{day:02d}T09:00:00+01:00"
        client.post(
            "/api/v1/series",
            {
                **BODY,
                "space": space.pk,
                "starts_at": start,
                "ends_at": start.replace("09:00", "09:30"),
                "recurrence": "FREQ=DAILY;COUNT=2",
            },
            format="json",
        )

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/series").status_code == 200
        return len(queries)

    book(10)
    one = count()
    book(12)
    book(14)
    assert count() == one
