"""Equipment API: members read, owners and admins manage; every 4xx; tenant isolation; bookings with items and
their 409; quotes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from equipment.models import Item
from equipment.tests.factories import ItemFactory
from reservations.models import Reservation
from spaces.models import Location
from spaces.tests.factories import SpaceFactory

MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)
PROJECTOR = {"name": "Projector", "quantity": 2, "price_per_booking": "15.00"}


def booking(space, item=None, quantity=1, hours=1, start=MONDAY_9):
    body = {
        "space": space.pk,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=hours)).isoformat(),
    }
    if item is not None:
        body["equipment"] = [{"item": item.pk, "quantity": quantity}]
    return body


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), [("owner", 201), ("admin", 201), ("member", 403)])
def test_owners_and_admins_add_equipment_and_members_cannot(org, in_tenant, api_client, role, status):
    location = Location.objects.create(name="Floor 2")
    response = api_client(org, getattr(org, role)).post(
        "/api/v1/equipment", {**PROJECTOR, "location": location.pk}, format="json"
    )
    assert response.status_code == status
    if status == 201:
        body = response.json()
        assert (body["name"], body["quantity"], body["price_per_booking"], body["location"]) == (
            "Projector",
            2,
            "15.00",
            location.pk,
        )
        assert body["currency"] == org.organization.currency
    else:
        assert not Item.objects.exists()


@pytest.mark.django_db
def test_members_read_the_catalogue_and_an_item(org, in_tenant, api_client):
    item = ItemFactory(name="Monitor", quantity=5)
    client = api_client(org, org.member)
    listed = client.get("/api/v1/equipment")
    assert listed.status_code == 200
    assert [row["name"] for row in listed.json()["results"]] == ["Monitor"]
    assert client.get(f"/api/v1/equipment/{item.pk}").json()["quantity"] == 5
    assert client.patch(f"/api/v1/equipment/{item.pk}", {"quantity": 9}, format="json").status_code == 403
    assert client.delete(f"/api/v1/equipment/{item.pk}").status_code == 403
    assert api_client(org).get("/api/v1/equipment").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({**PROJECTOR, "price_per_hour": "2.00"}, "price_per_hour", "two_prices"),
        ({**PROJECTOR, "quantity": -1}, "quantity", None),
        ({**PROJECTOR, "price_per_booking": "-1"}, "price_per_booking", None),
        ({**PROJECTOR, "location": 999_999}, "location", "unknown_location"),
        ({"quantity": 2}, "name", None),
        ({**PROJECTOR, "colour": "red"}, None, None),
    ],
)
def test_bad_equipment_input_is_a_400_naming_the_field(org, in_tenant, api_client, body, field, code):
    response = api_client(org, org.admin).post("/api/v1/equipment", body, format="json")
    assert response.status_code == 400
    payload = response.json()
    if field:
        assert field in payload
    else:
        assert "colour" in str(payload)
    if code:
        assert payload["code"] == code
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_a_second_item_of_the_same_name_is_refused(org, in_tenant, api_client):
    ItemFactory(name="Projector")
    response = api_client(org, org.admin).post("/api/v1/equipment", PROJECTOR, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "name_taken")


@pytest.mark.django_db
def test_an_admin_changes_and_deletes_an_item_and_it_leaves_the_catalogue(org, in_tenant, api_client):
    item = ItemFactory(name="Monitor")
    client = api_client(org, org.admin)
    changed = client.patch(f"/api/v1/equipment/{item.pk}", {"quantity": 7, "price_per_hour": "3.50"}, format="json")
    assert (changed.status_code, changed.json()["quantity"], changed.json()["price_per_hour"]) == (200, 7, "3.50")
    assert client.delete(f"/api/v1/equipment/{item.pk}").status_code == 204
    assert client.get(f"/api/v1/equipment/{item.pk}").status_code == 404
    assert client.get("/api/v1/equipment").json()["results"] == []
    assert Item.objects.filter(pk=item.pk, is_active=False).exists()  # kept for past bookings' lines


@pytest.mark.django_db
def test_lowering_or_deleting_an_item_upcoming_bookings_hold_is_a_409(org, in_tenant, api_client, booking_now):
    item = ItemFactory(name="Monitor", quantity=2)
    api_client(org, org.member).post("/api/v1/reservations", booking(SpaceFactory(), item, 2), format="json")
    client = api_client(org, org.admin)
    lowered = client.patch(f"/api/v1/equipment/{item.pk}", {"quantity": 1}, format="json")
    assert (lowered.status_code, lowered.json()["code"], lowered.json()["held"]) == (409, "equipment_in_use", 2)
    deleted = client.delete(f"/api/v1/equipment/{item.pk}")
    assert (deleted.status_code, deleted.json()["code"]) == (409, "equipment_in_use")


@pytest.mark.django_db
def test_another_organizations_equipment_is_not_found(org, other_org, api_client):
    connection.set_tenant(other_org.organization)
    theirs = ItemFactory(name="Their projector")
    connection.set_schema_to_public()
    client = api_client(org, org.owner)
    assert client.get(f"/api/v1/equipment/{theirs.pk}").status_code == 404
    assert client.get("/api/v1/equipment").json()["results"] == []
    # Alpha's token on Beta's host is refused.
    alpha_token = client._credentials["HTTP_AUTHORIZATION"]
    foreign = api_client(other_org)
    foreign.credentials(HTTP_AUTHORIZATION=alpha_token)
    assert foreign.get(f"/api/v1/equipment/{theirs.pk}").status_code == 401


@pytest.mark.django_db
def test_availability_tells_how_many_are_free_and_when_they_are_used(org, in_tenant, api_client, booking_now):
    item = ItemFactory(name="Monitor", quantity=3)
    api_client(org, org.admin).post("/api/v1/reservations", booking(SpaceFactory(), item, 2), format="json")
    client = api_client(org, org.member)
    url = f"/api/v1/equipment/{item.pk}/availability"
    start, end = MONDAY_9.isoformat(), (MONDAY_9 + timedelta(hours=4)).isoformat()
    body = client.get(url, {"start": start, "end": end}).json()
    assert (body["quantity"], body["available"]) == (3, 1)
    assert [use["quantity"] for use in body["uses"]] == [2]
    assert "user" not in body["uses"][0]
    later = client.get(url, {"start": end, "end": (MONDAY_9 + timedelta(hours=5)).isoformat()}).json()
    assert later["available"] == 3
    assert client.get(url, {"start": end, "end": start}).status_code == 400
    assert client.get(url, {"start": "soon", "end": end}).status_code == 400
    assert client.get(url, {"start": start}).status_code == 400
    assert client.get("/api/v1/equipment/999999/availability", {"start": start, "end": end}).status_code == 404


@pytest.mark.django_db
def test_a_booking_with_items_shows_them_and_the_last_monitor_goes_to_one(org, in_tenant, api_client, booking_now):
    monitor = ItemFactory(name="Monitor", quantity=1, price_per_booking=Decimal("5.00"))
    desk = SpaceFactory(hourly_rate=Decimal("10.00"))
    first = api_client(org, org.member).post("/api/v1/reservations", booking(desk, monitor), format="json")
    assert first.status_code == 201
    assert first.json()["equipment"] == [{"item": monitor.pk, "name": "Monitor", "quantity": 1, "amount": "5.00"}]
    assert first.json()["price"] == "15.00"
    second = api_client(org, org.admin).post(
        "/api/v1/reservations", booking(SpaceFactory(), monitor, start=MONDAY_9 + timedelta(minutes=30)), format="json"
    )
    assert second.status_code == 409
    assert second.json() == {
        "detail": "Only 0 of Monitor are free from 2025-03-10T09:30:00Z to 2025-03-10T10:30:00Z; you asked for 1.",
        "code": "equipment_unavailable",
        "item": {"id": monitor.pk, "name": "Monitor"},
        "requested": 1,
        "available": 0,
        "starts_at": "2025-03-10T09:30:00Z",
        "ends_at": "2025-03-10T10:30:00Z",
    }
    listed = api_client(org, org.member).get("/api/v1/reservations").json()["results"]
    assert listed[0]["equipment"][0]["item"] == monitor.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    "equipment",
    [
        [{"item": 999_999, "quantity": 1}],
        [{"item": "one", "quantity": 1}],
        [{"item": 1, "quantity": 0}],
        [{"quantity": 1}],
        "projector",
        [{"item": 1, "quantity": 1, "colour": "red"}],
    ],
)
def test_a_bad_equipment_list_on_a_booking_is_a_400(org, in_tenant, api_client, booking_now, equipment):
    ItemFactory(pk=1)
    body = {**booking(SpaceFactory()), "equipment": equipment}
    response = api_client(org, org.member).post("/api/v1/reservations", body, format="json")
    assert response.status_code == 400
    assert "equipment" in str(response.json())
    assert not Reservation.objects.exists()


@pytest.mark.django_db
def test_changing_a_bookings_items_through_the_api(org, in_tenant, api_client, booking_now):
    monitor = ItemFactory(name="Monitor", quantity=2)
    client = api_client(org, org.member)
    created = client.post("/api/v1/reservations", booking(SpaceFactory()), format="json").json()
    changed = client.patch(
        f"/api/v1/reservations/{created['id']}", {"equipment": [{"item": monitor.pk, "quantity": 2}]}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["equipment"][0]["quantity"] == 2


@pytest.mark.django_db
def test_a_quote_prices_the_booking_line_by_line_and_books_nothing(org, in_tenant, api_client, booking_now):
    room = SpaceFactory(name="Blue room", hourly_rate=Decimal("25.00"), day_rate=Decimal("140.00"))
    projector = ItemFactory(name="Projector", quantity=1, price_per_booking=Decimal("15.00"))
    response = api_client(org, org.member).post("/api/v1/quotes", booking(room, projector, hours=8), format="json")
    assert response.status_code == 200
    assert response.json() == {
        "price": "155.00",
        "currency": org.organization.currency,
        "lines": [
            {
                "description": "Blue room: day",
                "kind": "space",
                "item": None,
                "quantity": "1",
                "unit_price": "140.00",
                "amount": "140.00",
            },
            {
                "description": "Projector",
                "kind": "equipment",
                "item": projector.pk,
                "quantity": "1",
                "unit_price": "15.00",
                "amount": "15.00",
            },
        ],
    }
    assert not Reservation.objects.exists()


@pytest.mark.django_db
def test_a_quote_is_refused_for_the_reasons_a_booking_would_be(org, in_tenant, api_client, booking_now):
    room = SpaceFactory(capacity=2)
    projector = ItemFactory(quantity=1)
    client = api_client(org, org.member)
    client.post("/api/v1/reservations", booking(room, projector), format="json")
    taken = client.post("/api/v1/quotes", booking(room), format="json")
    assert (taken.status_code, taken.json()["code"]) == (409, "reservation_conflict")
    no_projector = client.post("/api/v1/quotes", booking(SpaceFactory(), projector), format="json")
    assert (no_projector.status_code, no_projector.json()["code"]) == (409, "equipment_unavailable")
    crowded = client.post("/api/v1/quotes", {**booking(SpaceFactory(capacity=2)), "attendees": 5}, format="json")
    assert (crowded.status_code, crowded.json()["code"]) == (400, "over_capacity")
    assert client.post("/api/v1/quotes", {"space": room.pk}, format="json").status_code == 400
    assert api_client(org).post("/api/v1/quotes", booking(room), format="json").status_code == 401
    assert Reservation.objects.count() == 1


@pytest.mark.django_db
def test_a_patch_with_an_equipment_choice_missing_its_quantity_is_a_400_naming_it(org, in_tenant, api_client):
    from reservations.tests.factories import ReservationFactory

    reservation = ReservationFactory(space=SpaceFactory(), user=org.owner)
    response = api_client(org, org.owner).patch(
        f"/api/v1/reservations/{reservation.pk}", {"equipment": [{"item": ItemFactory().pk}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["equipment"] == {"0": {"quantity": ["This field is required."]}}
