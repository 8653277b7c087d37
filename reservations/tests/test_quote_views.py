"""The booking form shows the price before booking: as the fields change (htmx), and without JavaScript on a
"Show the price" preview; it books items with the space, and a missing item is shown next to it."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from equipment.tests.factories import ItemFactory
from reservations.models import Reservation
from spaces.tests.factories import SpaceFactory

MONDAY = "2025-03-10"


def form_data(space, **extra):
    return {"space": space.pk, "date": MONDAY, "start": "09:00", "end": "17:00", "attendees": 1, **extra}


@pytest.mark.django_db
def test_the_quote_partial_prices_the_forms_booking_and_books_nothing(org, in_tenant, web_client, booking_now):
    room = SpaceFactory(hourly_rate=Decimal("25.00"), day_rate=Decimal("140.00"))
    projector = ItemFactory(name="Projector", price_per_booking=Decimal("15.00"))
    page = web_client(org, org.member).get("/reservations/quote/", form_data(room, **{f"equipment_{projector.pk}": 1}))
    assert page.status_code == 200
    html = page.content.decode()
    assert f"{room.name}: day" in html and "€140.00" in html
    assert "Total €155.00" in html
    assert not Reservation.objects.exists()


@pytest.mark.django_db
def test_the_quote_partial_says_why_the_booking_would_be_refused(org, in_tenant, web_client, booking_now):
    room = SpaceFactory(capacity=2)
    html = web_client(org, org.member).get("/reservations/quote/", form_data(room, attendees=5)).content.decode()
    assert "holds at most 2 people" in html
    assert "Total" not in html


@pytest.mark.django_db
def test_without_javascript_show_the_price_previews_it_on_the_form(org, in_tenant, web_client, booking_now):
    room = SpaceFactory(hourly_rate=Decimal("10.00"))
    page = web_client(org, org.member).post("/reservations/new/", {**form_data(room, end="11:00"), "quote": "1"})
    assert page.status_code == 200
    assert "Total €20.00" in page.content.decode()
    assert not Reservation.objects.exists()


@pytest.mark.django_db
def test_the_form_books_equipment_and_shows_a_missing_item_next_to_it(org, in_tenant, web_client, booking_now):
    monitor = ItemFactory(name="Monitor", quantity=1)
    client = web_client(org, org.member)
    booked = client.post("/reservations/new/", {**form_data(SpaceFactory()), f"equipment_{monitor.pk}": 1})
    assert booked.status_code == 302
    reservation = Reservation.objects.get()
    assert list(reservation.equipment_allocations.values_list("item_id", "quantity")) == [(monitor.pk, 1)]
    refused = web_client(org, org.admin).post(
        "/reservations/new/", {**form_data(SpaceFactory()), f"equipment_{monitor.pk}": 1}
    )
    assert refused.status_code == 400
    assert "Only 0 of Monitor are free" in refused.content.decode()
    assert Reservation.objects.count() == 1


@pytest.mark.django_db
def test_a_negative_quantity_is_a_form_error(org, in_tenant, web_client, booking_now):
    monitor = ItemFactory(name="Monitor")
    page = web_client(org, org.member).post(
        "/reservations/new/", {**form_data(SpaceFactory()), f"equipment_{monitor.pk}": -1}
    )
    assert page.status_code == 400
    assert not Reservation.objects.exists()


@pytest.mark.django_db
def test_the_booking_form_offers_the_equipment_and_the_live_price(org, in_tenant, web_client, booking_now):
    ItemFactory(name="Monitor", quantity=4)
    html = web_client(org, org.member).get("/reservations/new/").content.decode()
    assert "Monitor" in html and "4 in all, free." in html
    assert 'hx-get="/reservations/quote/"' in html
    assert 'name="quote"' in html


@pytest.mark.django_db
def test_the_detail_page_shows_the_price_in_the_organizations_format(org, in_tenant, web_client, booking_now):
    from reservations.tests.factories import ReservationFactory

    reservation = ReservationFactory(
        space=SpaceFactory(), user=org.member, starts_at=datetime(2025, 3, 10, 9, tzinfo=UTC), price=Decimal("1398.5")
    )
    html = web_client(org, org.member).get(f"/reservations/{reservation.pk}/").content.decode()
    assert "€1,398.50" in html


@pytest.mark.django_db
def test_the_detail_page_lists_the_frozen_price_lines(org, in_tenant, web_client, booking_now):
    monitor = ItemFactory(name="Monitor", quantity=1, price_per_booking=Decimal("5.00"))
    client = web_client(org, org.member)
    client.post(
        "/reservations/new/",
        {
            **form_data(SpaceFactory(name="Desk 1", hourly_rate=Decimal("10.00")), end="10:00"),
            f"equipment_{monitor.pk}": 1,
        },
    )
    html = client.get(f"/reservations/{Reservation.objects.get().pk}/").content.decode()
    assert "€15.00" in html
    assert "Desk 1: hours: €10.00" in html and "Monitor: €5.00" in html
