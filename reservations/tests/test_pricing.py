"""Pricing: the cheapest mix of a space's hourly, half-day and day rates per local day, plus equipment; frozen on
the booking and read back by reservation_price_lines."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from equipment.models import Item
from equipment.services import EquipmentRequest
from reservations.pricing import EquipmentChoice, booking_price, reservation_price_lines
from reservations.services import reservation_create, reservation_update
from spaces.tests.factories import SpaceFactory

UTC_TZ = ZoneInfo("UTC")
MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)


def space(hourly=None, half_day=None, day=None):
    return SimpleNamespace(
        name="Blue room",
        hourly_rate=None if hourly is None else Decimal(hourly),
        half_day_rate=None if half_day is None else Decimal(half_day),
        day_rate=None if day is None else Decimal(day),
    )


def price(rates, hours, *, starts_at=MONDAY_9, tz=UTC_TZ, equipment=()):
    return booking_price(
        space=rates, starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), tz=tz, equipment=equipment
    )


def test_only_an_hourly_rate_prices_the_real_elapsed_time_pro_rata():
    quote = price(space(hourly="25.00"), 1.5)
    assert quote.total == Decimal("37.50")
    assert [(line.description, line.quantity, line.unit_price) for line in quote.lines] == [
        ("Blue room: hours", Decimal("1.50"), Decimal("25.00"))
    ]


def test_a_space_without_rates_is_free_and_has_no_lines():
    quote = price(space(), 3)
    assert quote.total is None
    assert quote.lines == []


@pytest.mark.parametrize(
    ("hours", "total", "descriptions"),
    [
        (2, "50.00", ["Blue room: hours"]),  # 2 h at 25 beats a half day at 80
        (3.5, "80.00", ["Blue room: half day (up to 4 h)"]),  # 87.50 by the hour
        (5, "105.00", ["Blue room: half day (up to 4 h)", "Blue room: hours"]),  # half day + 1 h
        (7, "140.00", ["Blue room: day"]),  # 80 + 75 = 155, two half days 160: the day
        (8, "140.00", ["Blue room: day"]),
    ],
)
def test_each_day_is_priced_at_the_cheapest_mix(hours, total, descriptions):
    quote = price(space(hourly="25.00", half_day="80.00", day="140.00"), hours)
    assert quote.total == Decimal(total)
    assert [line.description for line in quote.lines] == descriptions


def test_without_an_hourly_rate_the_rest_takes_another_half_day():
    quote = price(space(half_day="80.00"), 5)
    assert quote.total == Decimal("160.00")
    assert quote.lines[0].quantity == 2


def test_on_a_tie_the_bigger_block_wins():
    quote = price(space(half_day="70.00", day="140.00"), 8)
    assert [line.description for line in quote.lines] == ["Blue room: day"]


def test_a_booking_over_two_local_days_is_priced_per_day():
    # 09:00 Monday to 02:00 Tuesday: Monday's 15 h is a day, Tuesday's 2 h are hours.
    quote = price(space(hourly="25.00", half_day="80.00", day="140.00"), 17)
    assert [(line.description, line.quantity) for line in quote.lines] == [
        ("Blue room: day", Decimal(1)),
        ("Blue room: hours", Decimal("2.00")),
    ]
    assert quote.total == Decimal("190.00")


def test_days_are_the_organizations_local_days():
    # 22:00-02:00 UTC is one local day in New York (17:00-21:00) but two in UTC.
    evening = datetime(2025, 3, 10, 22, tzinfo=UTC)
    rates = space(half_day="80.00", day="100.00")
    assert price(rates, 4, starts_at=evening, tz=ZoneInfo("America/New_York")).total == Decimal("80.00")
    assert price(rates, 4, starts_at=evening, tz=UTC_TZ).total == Decimal("160.00")


def test_equipment_adds_a_line_per_item_per_booking_or_per_hour():
    projector = Item(pk=1, name="Projector", price_per_booking=Decimal("15.00"))
    chairs = Item(pk=2, name="Chairs", price_per_hour=Decimal("1.50"))
    cable = Item(pk=3, name="Cable")
    quote = price(
        space(hourly="25.00"),
        2,
        equipment=[EquipmentChoice(projector, 1), EquipmentChoice(chairs, 10), EquipmentChoice(cable, 2)],
    )
    amounts = {line.description: (line.quantity, line.unit_price, line.amount) for line in quote.lines}
    assert amounts["Projector"] == (1, Decimal("15.00"), Decimal("15.00"))
    assert amounts["Chairs (2.00 h at 1.50 an hour)"] == (10, Decimal("3.00"), Decimal("30.00"))
    assert amounts["Cable (free)"] == (2, Decimal("0.00"), Decimal("0.00"))
    assert quote.total == Decimal("95.00")


def test_a_free_space_with_a_priced_item_costs_the_item():
    projector = Item(pk=1, name="Projector", price_per_booking=Decimal("15.00"))
    assert price(space(), 2, equipment=[EquipmentChoice(projector, 2)]).total == Decimal("30.00")


@pytest.mark.django_db
def test_the_booking_freezes_its_lines_and_they_add_up_to_its_price(in_tenant, booking_now):
    actor = in_tenant.membership(in_tenant.member)
    room = SpaceFactory(hourly_rate=Decimal("25.00"), half_day_rate=Decimal("80.00"), day_rate=Decimal("140.00"))
    projector = Item.objects.create(name="Projector", quantity=2, price_per_booking=Decimal("15.00"))
    reservation = reservation_create(
        actor=actor,
        space_id=room.pk,
        starts_at=MONDAY_9,
        ends_at=MONDAY_9 + timedelta(hours=5),
        equipment=[EquipmentRequest(projector.pk, 1)],
    )
    assert reservation.price == Decimal("120.00")  # half day 80 + 1 h 25 + projector 15

    room.hourly_rate, room.half_day_rate = Decimal("99.00"), Decimal("99.00")  # later rate changes
    room.save()
    projector.price_per_booking = Decimal("50.00")
    projector.save()
    reservation.refresh_from_db()
    lines = reservation_price_lines(reservation)
    assert [(line.kind, line.description, line.amount) for line in lines] == [
        ("space", f"{room.name}: half day (up to 4 h)", Decimal("80.00")),
        ("space", f"{room.name}: hours", Decimal("25.00")),
        ("equipment", "Projector", Decimal("15.00")),
    ]
    assert sum(line.amount for line in lines) == reservation.price


@pytest.mark.django_db
def test_moving_a_booking_reprices_it_at_the_current_rates(in_tenant, booking_now):
    actor = in_tenant.membership(in_tenant.member)
    room = SpaceFactory(hourly_rate=Decimal("25.00"))
    reservation = reservation_create(
        actor=actor, space_id=room.pk, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1)
    )
    room.day_rate = Decimal("30.00")
    room.save()
    reservation_update(actor=actor, reservation=reservation, ends_at=MONDAY_9 + timedelta(hours=3))
    reservation.refresh_from_db()
    assert reservation.price == Decimal("30.00")
    assert [line.description for line in reservation_price_lines(reservation)] == [f"{room.name}: day"]


@pytest.mark.django_db
def test_a_booking_priced_before_lines_were_kept_reads_as_one_line(in_tenant, booking_now):
    actor = in_tenant.membership(in_tenant.member)
    room = SpaceFactory(hourly_rate=Decimal("25.00"))
    reservation = reservation_create(
        actor=actor, space_id=room.pk, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=2)
    )
    type(reservation).objects.filter(pk=reservation.pk).update(space_price_lines=None)
    reservation.refresh_from_db()
    lines = reservation_price_lines(reservation)
    assert [(line.description, line.amount) for line in lines] == [(room.name, Decimal("50.00"))]


@pytest.mark.django_db
def test_an_admin_sets_the_block_rates_through_the_api_and_a_negative_one_is_refused(org, in_tenant, api_client):
    client = api_client(org, org.admin)
    created = client.post(
        "/api/v1/spaces",
        {"name": "Loft", "capacity": 4, "hourly_rate": "25.00", "half_day_rate": "80.00", "day_rate": "140.00"},
        format="json",
    )
    assert created.status_code == 201
    assert (created.json()["half_day_rate"], created.json()["day_rate"]) == ("80.00", "140.00")
    refused = client.patch(f"/api/v1/spaces/{created.json()['id']}", {"day_rate": "-1"}, format="json")
    assert refused.status_code == 400 and "day_rate" in refused.json()


@pytest.mark.django_db
def test_the_space_form_saves_the_block_rates(org, in_tenant, web_client):
    from spaces.models import Space
    from spaces.tests.test_views import NEW_SPACE

    response = web_client(org, org.admin).post(
        "/spaces/new/", {**NEW_SPACE, "name": "Loft", "half_day_rate": "80.00", "day_rate": "140.00"}
    )
    assert response.status_code == 302
    loft = Space.objects.get(name="Loft")
    assert (loft.half_day_rate, loft.day_rate) == (Decimal("80.00"), Decimal("140.00"))
