from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.api import AvailabilitySerializer
from spaces.models import OpeningHours, Space
from spaces.selectors import space_availability
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.django_db
URL = "/api/v1/spaces"

NEW_SPACE = {
    "name": "Blue room",
    "kind": "meeting_room",
    "capacity": 8,
    "location": "Building A, 2nd floor",
    "amenities": ["Projector", "whiteboard"],
    "hourly_rate": "25.00",
    "min_duration_minutes": 30,
    "requires_approval": True,
    "opening_hours": [
        {"weekday": 0, "opens_at": "08:00", "closes_at": "18:00"},
        {"weekday": 4, "opens_at": "20:00", "closes_at": "24:00"},
    ],
}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_managers_create_spaces_with_opening_hours(api_client, org, role):
    response = api_client(org, getattr(org, role)).post(URL, NEW_SPACE)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["amenities"] == ["projector", "whiteboard"]
    assert body["opening_hours"] == NEW_SPACE["opening_hours"]
    assert (body["hourly_rate"], body["currency"], body["requires_approval"]) == ("25.00", "EUR", True)
    assert (body["min_duration_minutes"], body["max_duration_minutes"], body["max_days_ahead"]) == (30, 720, 365)


def test_members_read_spaces_but_cannot_manage_them(api_client, org, in_tenant):
    space = SpaceFactory()
    client = api_client(org, org.member)
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}/{space.pk}").status_code == 200
    assert client.post(URL, NEW_SPACE).status_code == 403
    assert client.patch(f"{URL}/{space.pk}", {"capacity": 3}).status_code == 403
    assert client.delete(f"{URL}/{space.pk}").status_code == 403
    assert Space.objects.get(pk=space.pk).is_active


def test_bad_space_input_is_a_400_on_its_field(api_client, org):
    client = api_client(org, org.owner)
    assert "capacity" in client.post(URL, {**NEW_SPACE, "capacity": 0}).json()
    assert "amenities" in client.post(URL, {**NEW_SPACE, "amenities": ["a projector!"]}).json()
    overlapping = [
        {"weekday": 0, "opens_at": "08:00", "closes_at": "12:00"},
        {"weekday": 0, "opens_at": "11:00", "closes_at": "13:00"},
    ]
    assert "opening_hours" in client.post(URL, {**NEW_SPACE, "opening_hours": overlapping}).json()
    backwards = [{"weekday": 0, "opens_at": "18:00", "closes_at": "08:00"}]
    assert client.post(URL, {**NEW_SPACE, "opening_hours": backwards}).status_code == 400
    assert not Space.objects.filter(name="Blue room").exists()


def test_patch_changes_fields_and_replaces_hours_put_resets_the_rest(api_client, org, in_tenant):
    space = SpaceFactory(capacity=4, requires_approval=True)
    OpeningHours.objects.create(space=space, weekday=2, opens_at=time(9), closes_at=time(17))
    client = api_client(org, org.admin)

    patched = client.patch(f"{URL}/{space.pk}", {"capacity": 10, "opening_hours": []}).json()
    assert (patched["capacity"], patched["opening_hours"], patched["requires_approval"]) == (10, [], True)

    put = client.put(f"{URL}/{space.pk}", {"name": "Renamed", "capacity": 5})
    assert put.status_code == 200
    assert (put.json()["name"], put.json()["requires_approval"]) == ("Renamed", False)


def test_delete_archives_and_cancels_upcoming_reservations(api_client, org, in_tenant, booking_now):
    space = SpaceFactory()
    upcoming = ReservationFactory(space=space, user=org.member)
    client = api_client(org, org.owner)

    response = client.delete(f"{URL}/{space.pk}")

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert Reservation.objects.get(pk=upcoming.pk).status == "cancelled"
    assert client.delete(f"{URL}/{space.pk}").status_code == 200
    assert [s["id"] for s in client.get(URL).json()["results"]] == []
    assert [s["id"] for s in client.get(URL, {"is_active": "false"}).json()["results"]] == [space.pk]


def test_list_filters(api_client, org, in_tenant):
    SpaceFactory(name="Big", capacity=20, amenities=["projector", "video"], description="Sunny")
    SpaceFactory(name="Small", capacity=2, amenities=["projector"])
    SpaceFactory(name="Desk 1", kind="desk", capacity=1, amenities=[])
    client = api_client(org, org.member)
    names = lambda query: [s["name"] for s in client.get(URL, query).json()["results"]]  # noqa: E731

    assert names({"capacity_min": 10}) == ["Big"]
    assert names({"amenity": ["projector", "video"]}) == ["Big"]
    assert names({"amenity": "projector"}) == ["Big", "Small"]
    assert names({"kind": "desk"}) == ["Desk 1"]
    assert names({"search": "sunny"}) == ["Big"]
    assert names({"ordering": "-capacity"}) == ["Big", "Small", "Desk 1"]
    assert client.get(URL, {"kind": "castle"}).status_code == 400


def test_free_space_search(api_client, paris, in_tenant, booking_now):
    open_every_day(SpaceFactory(name="Office hours"), time(8), time(18))
    booked = SpaceFactory(name="Booked")
    ReservationFactory(space=booked, user=paris.member, starts_at=utc(2025, 3, 10, 9), ends_at=utc(2025, 3, 10, 10))
    SpaceFactory(name="Always open")
    client = api_client(paris, paris.member)
    names = lambda start, end: [  # noqa: E731
        s["name"] for s in client.get(URL, {"available_from": start, "available_to": end}).json()["results"]
    ]

    assert names("2025-03-10T10:00:00+01:00", "2025-03-10T11:00:00+01:00") == ["Always open", "Office hours"]
    assert names("2025-03-10T07:00:00+01:00", "2025-03-10T08:00:00+01:00") == ["Always open", "Booked"]
    assert client.get(URL, {"available_from": "2025-03-10T10:00:00+01:00"}).status_code == 400
    too_long = client.get(URL, {"available_from": "2025-03-01T00:00:00Z", "available_to": "2025-04-10T00:00:00Z"})
    assert too_long.status_code == 400
    assert client.get(URL, {"available_from": "2025-03-10T10:00:00", "available_to": "x"}).status_code == 400


def test_the_list_runs_a_fixed_number_of_queries(api_client, org, in_tenant):
    client = api_client(org, org.member)
    open_every_day(SpaceFactory())
    with CaptureQueriesContext(connection) as one:
        assert client.get(URL).status_code == 200
    for _ in range(12):
        open_every_day(SpaceFactory())
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(URL, {"page_size": 50}).json()["results"]) == 13
    assert len(many) == len(one)


def test_availability_for_a_member_hides_who_and_why(api_client, paris, in_tenant, booking_now):
    space = open_every_day(SpaceFactory(), time(8), time(18))
    ReservationFactory(
        space=space, user=paris.admin, title="Board", starts_at=utc(2025, 3, 10, 9), ends_at=utc(2025, 3, 10, 10)
    )
    mine = ReservationFactory(
        space=space, user=paris.member, title="Mine", starts_at=utc(2025, 3, 10, 12), ends_at=utc(2025, 3, 10, 13)
    )
    query = {"start": "2025-03-10T00:00:00+01:00", "end": "2025-03-11T00:00:00+01:00"}

    body = api_client(paris, paris.member).get(f"{URL}/{space.pk}/availability", query).json()

    assert body["timezone"] == "Europe/Paris"
    assert body["busy"] == [
        {
            "starts_at": "2025-03-10T10:00:00+01:00",
            "ends_at": "2025-03-10T11:00:00+01:00",
            "status": "confirmed",
            "mine": False,
            "reservation_id": None,
            "title": None,
            "user": None,
        },
        {
            "starts_at": "2025-03-10T13:00:00+01:00",
            "ends_at": "2025-03-10T14:00:00+01:00",
            "status": "confirmed",
            "mine": True,
            "reservation_id": mine.pk,
            "title": "Mine",
            "user": None,
        },
    ]
    assert body["free"] == [
        {"starts_at": "2025-03-10T08:00:00+01:00", "ends_at": "2025-03-10T10:00:00+01:00"},
        {"starts_at": "2025-03-10T11:00:00+01:00", "ends_at": "2025-03-10T13:00:00+01:00"},
        {"starts_at": "2025-03-10T14:00:00+01:00", "ends_at": "2025-03-10T18:00:00+01:00"},
    ]

    managed = api_client(paris, paris.owner).get(f"{URL}/{space.pk}/availability", query).json()
    assert managed["busy"][0]["title"] == "Board"
    assert managed["busy"][0]["user"]["email"] == "admin@alpha.test"


def test_availability_across_the_spring_change(api_client, paris, in_tenant):
    space = open_every_day(SpaceFactory(), time(8), time(18))
    query = {"start": "2025-03-29T00:00:00+01:00", "end": "2025-03-31T00:00:00+02:00"}
    body = api_client(paris, paris.member).get(f"{URL}/{space.pk}/availability", query).json()
    assert body["free"] == [
        {"starts_at": "2025-03-29T08:00:00+01:00", "ends_at": "2025-03-29T18:00:00+01:00"},
        {"starts_at": "2025-03-30T08:00:00+02:00", "ends_at": "2025-03-30T18:00:00+02:00"},
    ]


def test_availability_refuses_bad_windows(api_client, org, in_tenant):
    space = SpaceFactory()
    client = api_client(org, org.member)
    availability = f"{URL}/{space.pk}/availability"
    assert client.get(availability, {"start": "2025-03-01T00:00:00Z", "end": "2025-04-02T00:00:00Z"}).status_code == 400
    assert client.get(availability, {"start": "2025-03-02T00:00:00Z", "end": "2025-03-01T00:00:00Z"}).status_code == 400
    naive = client.get(availability, {"start": "2025-03-01T00:00:00", "end": "2025-03-02T00:00:00Z"})
    assert naive.status_code == 400
    assert "offset" in naive.json()["start"][0]
    assert client.get(availability).status_code == 400
    assert (
        client.get(
            f"{URL}/999999/availability", {"start": "2025-03-01T00:00:00Z", "end": "2025-03-02T00:00:00Z"}
        ).status_code
        == 404
    )


def test_an_unencoded_plus_in_the_query_string_still_means_an_offset(api_client, org, in_tenant):
    space = SpaceFactory()
    response = api_client(org, org.member).get(
        f"{URL}/{space.pk}/availability?start=2025-03-01T00:00:00+01:00&end=2025-03-02T00:00:00+01:00"
    )
    assert response.status_code == 200
    assert response.json()["free"] == [{"starts_at": "2025-02-28T23:00:00Z", "ends_at": "2025-03-01T23:00:00Z"}]


def test_another_organizations_spaces_are_invisible(api_client, org, other_org, in_tenant):
    space = SpaceFactory()
    beta = api_client(other_org, other_org.owner)
    assert beta.get(f"{URL}/{space.pk}").status_code == 404
    assert beta.get(URL).json()["count"] == 0
    assert beta.delete(f"{URL}/{space.pk}").status_code == 404
    connection.set_tenant(org.organization)
    assert Space.objects.get(pk=space.pk).is_active


def test_the_schema_documents_every_endpoint_with_the_409_body(api_client, org):
    schema = api_client().get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in (
        "/api/v1/spaces",
        "/api/v1/spaces/{id}",
        "/api/v1/spaces/{id}/availability",
        "/api/v1/reservations",
        "/api/v1/reservations/{id}",
        "/api/v1/reservations/{id}/confirm",
    ):
        assert path in paths
    conflict = paths["/api/v1/reservations"]["post"]["responses"]["409"]["content"]["application/json"]
    assert conflict["examples"]["ReservationConflict"]["value"]["code"] == "reservation_conflict"


def test_availability_renders_exactly_the_declared_fields(paris, in_tenant):
    """The serializer writes its output by hand for speed: it must match DRF's rendering of its own fields."""
    space = open_every_day(SpaceFactory(), time(8), time(18))
    ReservationFactory(space=space, user=paris.admin, starts_at=utc(2025, 3, 10, 9), ends_at=utc(2025, 3, 10, 10))
    ReservationFactory(space=space, user=paris.member, starts_at=utc(2025, 3, 10, 12, 30, 0, 5))
    for viewer in (paris.owner, paris.member):
        availability = space_availability(
            space=space,
            starts_at=utc(2025, 3, 9, 23),
            ends_at=utc(2025, 3, 11, 23),
            tz=ZoneInfo("Europe/Paris"),
            viewer=paris.membership(viewer),
        )
        serializer = AvailabilitySerializer(availability)
        with timezone.override("Europe/Paris"):
            generic = serializers.Serializer.to_representation(serializer, availability)
            assert serializer.data == generic
        assert len(serializer.data["busy"]) == 2


@pytest.mark.parametrize("reservations", [0, 12])
def test_availability_runs_a_fixed_number_of_queries(api_client, org, in_tenant, reservations):
    space = open_every_day(SpaceFactory(), time(8), time(18))
    for hour in range(reservations):
        ReservationFactory(space=space, user=org.admin, starts_at=utc(2025, 3, 10, 6 + hour, 0))
    client = api_client(org, org.owner)
    query = {"start": "2025-03-10T00:00:00Z", "end": "2025-03-17T00:00:00Z"}

    with CaptureQueriesContext(connection) as queries:
        body = client.get(f"{URL}/{space.pk}/availability", query).json()

    assert len(body["busy"]) == reservations
    # Routing (SET public, domain; cached in production), SET tenant, membership, the space's availability
    # version, the space with its opening hours (one statement), reservations with their bookers, closures:
    # whatever the number of reservations.
    assert len(queries) == 8
    assert sum('"spaces_openinghours"' in query["sql"] for query in queries.captured_queries) == 1

    with CaptureQueriesContext(connection) as again:
        assert client.get(f"{URL}/{space.pk}/availability", query).json() == body
    # From the cache: routing, membership and the version only.
    assert len([q for q in again.captured_queries if not q["sql"].startswith("SET")]) == 3
    assert "spaces_availabilityversion" in again.captured_queries[-1]["sql"]


def test_availability_carries_an_etag_and_answers_304_until_a_booking_changes_it(
    api_client, org, in_tenant, booking_now
):
    space = open_every_day(SpaceFactory(), time(8), time(18))
    owner, member = api_client(org, org.owner), api_client(org, org.member)
    path = f"{URL}/{space.pk}/availability?start=2025-03-10T00:00:00Z&end=2025-03-11T00:00:00Z"

    first = owner.get(path)
    etag = first["ETag"]
    assert first.status_code == 200 and etag
    not_modified = owner.get(path, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified["ETag"] == etag
    assert member.get(path, HTTP_IF_NONE_MATCH=etag).status_code == 200  # another viewer, another answer

    booked = member.post(
        "/api/v1/reservations",
        {"space": space.pk, "starts_at": "2025-03-10T09:00:00Z", "ends_at": "2025-03-10T10:00:00Z"},
        format="json",
    )
    assert booked.status_code == 201
    changed = owner.get(path, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert [busy["reservation_id"] for busy in changed.json()["busy"]] == [booked.json()["id"]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "available_from=9999-12-31T00:00:00Z&available_to=9999-12-31T23:00:00Z",
        "available_from=0001-01-01T00:00:00%2B05:00&available_to=0001-01-01T10:00:00%2B05:00",
    ],
)
def test_free_space_search_far_from_today_is_a_400_not_a_500(api_client, org, query):
    response = api_client(org, org.member).get(f"/api/v1/spaces?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "out_of_range"


@pytest.mark.django_db
def test_availability_far_from_today_is_a_400_not_a_500(api_client, org, in_tenant):
    from spaces.models import OpeningHours, Space

    space = Space.objects.create(name="Edge", capacity=2)
    OpeningHours.objects.create(space=space, weekday=0, opens_at="08:00", closes_at="18:00")
    response = api_client(org, org.member).get(
        f"/api/v1/spaces/{space.pk}/availability?start=9999-12-30T00:00:00Z&end=9999-12-31T00:00:00Z"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "out_of_range"


@pytest.mark.django_db
def test_a_patch_with_an_opening_hours_row_missing_its_weekday_is_a_400_naming_it(org, in_tenant, api_client):
    space = SpaceFactory()
    response = api_client(org, org.owner).patch(
        f"/api/v1/spaces/{space.pk}", {"opening_hours": [{"opens_at": "09:00", "closes_at": "18:00"}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["opening_hours"] == {"0": {"weekday": ["This field is required."]}}
