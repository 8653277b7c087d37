"""End-to-end: spaces, the week calendar and booking, in a real browser."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection

from accounts.tests.factories import TEST_PASSWORD
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect

OWNER_PASSWORD = "a long passphrase 42"
DASH = "\N{EN DASH}"  # the pages write time spans as typeset, with an en dash
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


def next_monday() -> datetime:
    """Midnight (UTC, alpha's timezone) of next week's Monday: always bookable, whatever today is."""
    today = datetime.now(UTC).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, time(0), tzinfo=UTC)


@pytest.fixture
def blue_room(org):
    """A room in alpha with a busy next week: the member's own booking, others' bookings, a pending one."""
    monday = next_monday()
    connection.set_tenant(org.organization)
    try:
        room = SpaceFactory(
            name="Blue room",
            capacity=8,
            location="Building A, 2nd floor",
            amenities=["projector", "whiteboard", "video"],
            description="Quiet room facing the garden.",
        )
        for weekday in range(5):
            room.opening_hours.create(weekday=weekday, opens_at=time(8), closes_at=time(18))
        room.opening_hours.create(weekday=5, opens_at=time(9), closes_at=time(13))
        bookings = [
            (org.member, 1, 10, 2, "Sprint planning", Reservation.Status.CONFIRMED),
            (org.admin, 0, 9, 1, "Interviews", Reservation.Status.CONFIRMED),
            (org.owner, 0, 14, 3, "Board meeting", Reservation.Status.CONFIRMED),
            (org.admin, 2, 13, 1, "Vendor demo", Reservation.Status.PENDING),
            (org.member, 3, 15, 1, "1:1 with Sam", Reservation.Status.CONFIRMED),
            (org.owner, 4, 8, 4, "Workshop", Reservation.Status.CONFIRMED),
        ]
        for user, day, hour, hours, title, status in bookings:
            starts_at = monday + timedelta(days=day, hours=hour)
            ReservationFactory(
                space=room,
                user=user,
                title=title,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=hours),
                status=status,
                attendees=4,
            )
        open_every_day(SpaceFactory(name="Focus desk 1", kind="desk", capacity=1, amenities=["monitor"]))
        SpaceFactory(name="Event hall", kind="event_hall", capacity=120, amenities=["stage", "sound"])
    finally:
        connection.set_schema_to_public()
    return room


def test_sign_up_create_a_space_book_it_from_the_calendar_and_cancel(page, site, screenshot, log_in):
    page.goto(f"{site.public}/signup/")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(OWNER_PASSWORD)
    page.get_by_label("Organization name").fill("Acme Coworking")
    page.get_by_label("Web address").fill("e2e-book")
    page.get_by_role("button", name="Create organization").click()
    acme = site.organization("e2e-book")
    page.wait_for_url(f"{acme}/")

    # Log in again on the subdomain, as someone coming back would.
    page.get_by_role("button", name="Ada Lovelace").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{acme}/login/")
    log_in(page, acme, "ada@example.com", OWNER_PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Spaces").click()
    expect(page.get_by_role("heading", name="No spaces yet")).to_be_visible()
    page.get_by_role("link", name="New space").first.click()
    page.get_by_label("Name").fill("Green room")
    page.get_by_label("Capacity").fill("6")
    page.get_by_label("Amenities").fill("Projector, whiteboard")
    expect(page.get_by_label("Monday")).to_have_value("08:00-18:00")
    page.get_by_label("Saturday").fill("10:00-14:00")
    page.get_by_role("button", name="Create space").click()
    expect(page.get_by_role("status")).to_contain_text("Green room was created")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Green room")

    # Next week, with htmx: only the calendar is swapped and the address follows.
    page.get_by_role("link", name="Next week").click()
    expect(page).to_have_url(re.compile(r"/spaces/\d+/\?week=\d{4}-\d{2}-\d{2}$"))
    monday = next_monday()
    tuesday = f"{monday + timedelta(days=1):%A} {(monday + timedelta(days=1)).day} {monday + timedelta(days=1):%B}"
    page.get_by_role("link", name=f"Book {tuesday}, 10:00{DASH}11:00").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Book Green room")
    expect(page.get_by_label("Date")).to_have_value(f"{monday + timedelta(days=1):%Y-%m-%d}")
    expect(page.get_by_label("Start", exact=True)).to_have_value("10:00")
    expect(page.get_by_label("End", exact=True)).to_have_value("11:00")
    page.get_by_label("Title").fill("Team planning")
    page.get_by_label("People attending").fill("4")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Booked Green room, {tuesday}, 10:00{DASH}11:00.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Team planning")
    screenshot(page, "reservation")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My reservations").click()
    row = page.locator(".booking-row", has_text="Team planning")
    expect(row).to_contain_text(f"10:00{DASH}11:00")
    expect(row).to_contain_text("Confirmed")
    row.get_by_role("link", name="Cancel Team planning").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel this reservation?")
    screenshot(page, "cancel-confirmation")
    page.get_by_role("button", name="Cancel reservation").click()
    expect(page.get_by_role("status")).to_contain_text("The slot is free again.")
    expect(page.get_by_role("heading", name="Nothing booked")).to_be_visible()
    page.get_by_role("link", name="Past and cancelled").click()
    expect(page.locator(".booking-row", has_text="Team planning")).to_contain_text("Cancelled")


def test_the_calendar_shows_hours_bookings_and_mine_and_works_on_a_phone(
    page, site, org, blue_room, screenshot, log_in
):
    alpha = site.organization("alpha")
    log_in(page, alpha, org.member.email, TEST_PASSWORD)
    page.goto(f"{alpha}/spaces/")
    expect(page.get_by_role("heading", name="Blue room")).to_be_visible()
    screenshot(page, "spaces")

    page.get_by_role("link", name="Calendar of Blue room").click()
    page.get_by_role("link", name="Next week").click()
    expect(page).to_have_url(re.compile(r"\?week="))
    grid = page.locator(".week-grid")
    mine = grid.locator(".busy-block.is-mine", has_text="Sprint planning")
    expect(mine).to_contain_text(f"10:00{DASH}12:00")
    others = grid.locator(".busy-block:not(.is-mine)")
    expect(others).to_have_count(4)
    expect(others.first).to_have_text(re.compile(r"Booked"))
    expect(grid).not_to_contain_text("Board meeting")  # others' titles stay private for members
    expect(grid.locator(".day-head").nth(6)).to_contain_text("Closed")
    screenshot(page, "space-calendar")

    page.set_viewport_size(PHONE)
    expect(grid).to_be_hidden()
    day_list = page.locator(".day-list")
    expect(day_list).to_be_visible()
    expect(day_list.locator(".agenda-busy.is-mine")).to_have_count(2)
    screenshot(page, "space-calendar-phone")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My reservations").click()
    expect(page.locator(".booking-row")).to_have_count(2)
    expect(page.locator(".booking-row").first).to_contain_text("Sprint planning")
    screenshot(page, "my-reservations")


def test_a_conflicting_booking_shows_the_clash_next_to_the_time(page, site, org, blue_room, screenshot, log_in):
    alpha = site.organization("alpha")
    log_in(page, alpha, org.member.email, TEST_PASSWORD)
    monday = next_monday()
    page.goto(f"{alpha}/reservations/new/?space={blue_room.pk}&date={monday:%Y-%m-%d}&start=09:30&end=10:30")
    page.get_by_label("Title").fill("Coffee chat")
    page.get_by_role("button", name="Book", exact=True).click()

    start = page.get_by_label("Start", exact=True)
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_start_error")).to_have_text(
        "Blue room is already booked from 09:00 to 10:00. Choose a time around it."
    )
    expect(page.get_by_label("Title")).to_have_value("Coffee chat")  # what was typed stays
    screenshot(page, "booking-form-error")
    connection.set_tenant(org.organization)
    try:
        assert not Reservation.objects.filter(title="Coffee chat").exists()
    finally:
        connection.set_schema_to_public()


def test_a_member_cannot_open_the_admin_pages_of_spaces_and_reservations(page, site, org, blue_room, log_in):
    alpha = site.organization("alpha")
    log_in(page, alpha, org.member.email, TEST_PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="All reservations")).to_have_count(0)
    for path in ("/spaces/new/", "/spaces/manage/", f"/spaces/{blue_room.pk}/edit/", "/reservations/all/"):
        response = page.goto(f"{alpha}{path}")
        assert response.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("You can't open this page")


def test_an_admin_manages_spaces_and_approves_a_pending_booking(page, site, org, blue_room, screenshot, log_in):
    alpha = site.organization("alpha")
    log_in(page, alpha, org.admin.email, TEST_PASSWORD)
    expect(page.get_by_role("heading", name="Waiting for approval")).to_be_visible()
    screenshot(page, "dashboard-admin")

    page.goto(f"{alpha}/spaces/manage/")
    row = page.locator("tr", has_text="Blue room")
    expect(row).to_contain_text(f"Mon{DASH}Fri 08:00{DASH}18:00 · Sat 09:00{DASH}13:00")
    screenshot(page, "admin-spaces")

    row.get_by_role("link", name="Edit Blue room").click()
    page.get_by_label("Tuesday").fill("08:00-12:00, 11:00-18:00")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#id_opening_hours_1_error")).to_contain_text("Tuesday: opening intervals overlap.")
    screenshot(page, "space-form-error")

    page.get_by_role("navigation", name="Main").get_by_role("button", name="Manage").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="All reservations").click()
    expect(page.locator("tbody tr")).to_have_count(6)
    screenshot(page, "all-reservations")
    page.get_by_label("Status").select_option("pending")
    page.get_by_role("button", name="Filter").click()
    pending = page.locator("tr", has_text="Vendor demo")
    pending.get_by_role("button", name=re.compile("^Approve")).click()
    expect(page.get_by_role("status")).to_contain_text("Approved Alpha Admin's booking of Blue room")
    expect(page.locator("tr", has_text="Vendor demo")).to_have_count(0)  # still filtered on pending


def test_without_javascript_weeks_switch_and_a_slot_books(browser, site, org, blue_room):
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    try:
        page = context.new_page()
        alpha = site.organization("alpha")
        page.goto(f"{alpha}/login/")
        page.get_by_label("Email").fill(org.member.email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{alpha}/")
        page.goto(f"{alpha}/spaces/{blue_room.pk}/")
        page.get_by_role("link", name="Next week").click()
        page.wait_for_url(re.compile(r"\?week="))
        page.locator(".free-slot").first.click()
        page.wait_for_url(re.compile(r"/reservations/new/\?"))
        page.get_by_role("button", name="Book", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Booked Blue room")
    finally:
        context.close()
