"""End-to-end: a receptionist (an admin) books a desk for a whole day on behalf of a member, who finds it."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection

from accounts.tests.factories import TEST_PASSWORD
from reservations.models import Reservation
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect


def next_tuesday() -> datetime:
    today = datetime.now(UTC).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday + timedelta(days=1), time(0), tzinfo=UTC)


@pytest.fixture
def desk(org):
    connection.set_tenant(org.organization)
    try:
        return open_every_day(SpaceFactory(name="Hot desk 7", kind="desk", capacity=1), time(8), time(18))
    finally:
        connection.set_schema_to_public()


def test_a_receptionist_books_a_whole_day_for_a_member_who_finds_it_in_my_reservations(
    page, site, org, desk, log_in, browser
):
    alpha = site.organization("alpha")
    day = next_tuesday().date()
    log_in(page, alpha, org.admin.email, TEST_PASSWORD)
    page.goto(f"{alpha}/reservations/new/?space={desk.pk}")

    # The type-ahead narrows the "Book for" list; the plain list underneath is what the form sends.
    page.get_by_label("Search members").fill("alpha mem")
    expect(page.get_by_label("Book for")).to_have_value(str(org.member.pk))
    page.get_by_label("Date", exact=True).fill(day.isoformat())
    page.get_by_label("Whole day").check()
    page.locator("form.card button[type=submit]:not([name])").click()

    expect(page.get_by_text("Booked Hot desk 7")).to_be_visible()
    expect(page.locator("#booked-by")).to_contain_text(f"{org.admin.full_name} for {org.member.full_name}")

    connection.set_tenant(org.organization)
    try:
        reservation = Reservation.objects.get()
        assert (reservation.user_id, reservation.created_by_id) == (org.member.pk, org.admin.pk)
        assert (reservation.starts_at, reservation.ends_at) == (
            datetime.combine(day, time(8), tzinfo=UTC),
            datetime.combine(day, time(18), tzinfo=UTC),
        )
    finally:
        connection.set_schema_to_public()

    member_context = browser.new_context(viewport={"width": 1280, "height": 860})
    member_page = member_context.new_page()
    try:
        log_in(member_page, alpha, org.member.email, TEST_PASSWORD)
        member_page.goto(f"{alpha}/reservations/")
        expect(member_page.get_by_role("link", name="Hot desk 7", exact=True)).to_be_visible()
        expect(member_page.locator("main")).to_contain_text("08:00")
    finally:
        member_context.close()
