"""End-to-end: the booking form shows the price as the times change (htmx, our own static files under the
Content-Security-Policy), and books the space with a monitor."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from accounts.tests.factories import TEST_PASSWORD
from equipment.tests.factories import ItemFactory
from reservations.models import Reservation
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect


def test_the_price_follows_the_times_and_the_booking_takes_a_monitor(page, site, org, log_in, screenshot):
    connection.set_tenant(org.organization)
    try:
        desk = open_every_day(
            SpaceFactory(
                name="Focus desk", kind="desk", capacity=1, hourly_rate=Decimal("10.00"), day_rate=Decimal("45.00")
            ),
            opens_at=time(8),
            closes_at=time(18),
        )
        monitor = ItemFactory(name="Monitor", quantity=1, price_per_booking=Decimal("5.00"))
    finally:
        connection.set_schema_to_public()
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    alpha = site.organization("alpha")
    log_in(page, alpha, org.member.email, TEST_PASSWORD)
    page.goto(f"{alpha}/reservations/new/?space={desk.pk}&date={tomorrow:%Y-%m-%d}&start=09:00&end=11:00")
    quote = page.locator("#quote")
    expect(quote).to_contain_text("Total €20.00")
    page.locator("#id_end").fill("17:00")
    page.locator("#id_end").dispatch_event("change")
    expect(quote).to_contain_text("Focus desk: day")
    expect(quote).to_contain_text("Total €45.00")
    page.locator(f"#id_equipment_{monitor.pk}").fill("1")
    page.locator(f"#id_equipment_{monitor.pk}").dispatch_event("change")
    expect(quote).to_contain_text("Total €50.00")
    screenshot(page, "booking-form-quote")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_text("Booked Focus desk")).to_be_visible()
    connection.set_tenant(org.organization)
    try:
        reservation = Reservation.objects.get(space=desk)
        assert reservation.price == Decimal("50.00")
        assert list(reservation.equipment_allocations.values_list("item_id", "quantity")) == [(monitor.pk, 1)]
    finally:
        connection.set_schema_to_public()
