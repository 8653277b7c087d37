"""End-to-end: the schedule grid in a real browser: drag to book, a clash in place, the keyboard, no JavaScript,
the phone's list, and the days the clocks change."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from accounts.tests.factories import TEST_PASSWORD
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect

PHONE = {"width": 390, "height": 844}
DASH = "\N{EN DASH}"


def next_monday() -> datetime:
    """Midnight (UTC, alpha's timezone) of next week's Monday: always bookable, whatever today is."""
    today = datetime.now(UTC).date()
    return datetime.combine(today + timedelta(days=7 - today.weekday()), time(0), tzinfo=UTC)


@pytest.fixture
def rooms(org):
    """Alpha's spaces with next Monday's bookings: someone else's, the member's own, a pending one."""
    monday = next_monday()
    connection.set_tenant(org.organization)
    try:
        blue = open_every_day(SpaceFactory(name="Blue room", capacity=8, location="Floor 2"))
        green = open_every_day(SpaceFactory(name="Green room", capacity=4, location="Floor 2"))
        desk = open_every_day(
            SpaceFactory(name="Focus desk", kind="desk", capacity=1, location="Floor 1", amenities=["monitor"]),
            opens_at=time(7),
            closes_at=time(20),
        )
        hall = SpaceFactory(name="Event hall", kind="event_hall", capacity=120, location="Ground floor")
        for weekday in range(5):
            hall.opening_hours.create(weekday=weekday, opens_at=time(12), closes_at=time(22))
        scene = [
            (blue, org.admin, 9, 2, "Board meeting", Reservation.Status.CONFIRMED),
            (blue, org.member, 14, 1, "My planning", Reservation.Status.CONFIRMED),
            (green, org.owner, 13, 2, "Vendor demo", Reservation.Status.PENDING),
            (desk, org.member, 8, 8, "Deep work", Reservation.Status.CONFIRMED),
            (hall, org.admin, 18, 3, "Town hall", Reservation.Status.CONFIRMED),
        ]
        for space, user, hour, hours, title, status in scene:
            starts_at = monday + timedelta(hours=hour)
            ReservationFactory(
                space=space,
                user=user,
                title=title,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=hours),
                status=status,
            )
    finally:
        connection.set_schema_to_public()
    return {"monday": monday, "blue": blue, "green": green}


def schedule_url(site, monday: datetime) -> str:
    return f"{site.organization('alpha')}/schedule/?date={monday:%Y-%m-%d}"


def cell(page, space: str, start: str):
    return page.locator(f'#schedule tr[data-space-name="{space}"] td[data-start="{start}"]')


def bookings(space_id: int) -> list[tuple[str, str, str]]:
    from tenants.models import Organization

    connection.set_tenant(Organization.objects.get(slug="alpha"))
    try:
        return [
            (f"{r.starts_at:%H:%M}", f"{r.ends_at:%H:%M}", r.title)
            for r in Reservation.objects.filter(space_id=space_id, status="confirmed").order_by("starts_at")
        ]
    finally:
        connection.set_schema_to_public()


def test_an_admin_drags_across_free_cells_and_books_without_leaving_the_page(
    page, site, org, rooms, screenshot, log_in
):
    log_in(page, site.organization("alpha"), org.admin.email, TEST_PASSWORD)
    url = schedule_url(site, rooms["monday"])
    page.goto(url)
    # Managers see who booked and why.
    expect(page.locator("#schedule")).to_contain_text("Board meeting")
    expect(page.locator("#schedule")).to_contain_text("Alpha Member")
    screenshot(page, "schedule")

    first, last = cell(page, "Green room", "09:00"), cell(page, "Green room", "10:30")
    first.hover()
    page.mouse.down()
    cell(page, "Green room", "09:30").hover()
    last.hover()
    page.mouse.up()
    form = page.locator("#schedule-book")
    expect(form).to_be_visible()
    expect(form).to_contain_text("Book Green room")
    expect(page.get_by_label("Start", exact=True)).to_have_value("09:00")
    expect(page.get_by_label("End", exact=True)).to_have_value("11:00")
    page.get_by_label("Title").fill("Sprint review")
    page.get_by_role("button", name="Book", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text(
        f"Booked Green room, {rooms['monday']:%A %d %B}, 09:00{DASH}11:00."
    )
    expect(
        page.locator('#schedule tr[data-space-name="Green room"] .cell-busy', has_text="Sprint review")
    ).to_be_visible()
    assert page.url == url  # booked in place
    assert ("09:00", "11:00", "Sprint review") in bookings(rooms["green"].pk)


def test_a_clash_is_shown_in_place(page, site, org, rooms, log_in):
    log_in(page, site.organization("alpha"), org.member.email, TEST_PASSWORD)
    page.goto(schedule_url(site, rooms["monday"]))
    # Members see that the room is booked, not by whom or for what.
    expect(page.locator("#schedule")).not_to_contain_text("Board meeting")
    expect(page.locator("#schedule")).to_contain_text("My planning")

    cell(page, "Blue room", "08:00").locator("a").click()
    expect(page.get_by_label("End", exact=True)).to_have_value("08:30")
    page.get_by_label("End", exact=True).fill("10:00")
    page.get_by_role("button", name="Book", exact=True).click()
    alert = page.locator("#schedule-book [role=alert]")
    expect(alert).to_contain_text("Blue room is already booked from 09:00 to 11:00. Choose a time around it.")
    expect(page.locator("#schedule-book")).to_be_visible()
    assert bookings(rooms["blue"].pk) == [("09:00", "11:00", "Board meeting"), ("14:00", "15:00", "My planning")]


def test_keyboard_users_book_with_tab_and_enter(page, site, org, rooms, log_in):
    log_in(page, site.organization("alpha"), org.member.email, TEST_PASSWORD)
    page.goto(schedule_url(site, rooms["monday"]))
    link = page.get_by_role("link", name=f"Book Blue room, 16:00{DASH}16:30")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Start", exact=True)).to_be_focused()
    expect(page.get_by_label("Start", exact=True)).to_have_value("16:00")
    # Time inputs take several Tabs (hours, minutes); the title is typed, Enter sends the form.
    page.get_by_label("Title").press_sequentially("Quick sync")
    page.get_by_label("Title").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Booked Blue room")
    assert ("16:00", "16:30", "Quick sync") in bookings(rooms["blue"].pk)


def test_without_javascript_a_free_cell_is_a_link_to_the_prefilled_form(browser, site, org, rooms, log_in):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        alpha = site.organization("alpha")
        page.goto(f"{alpha}/login/")
        page.get_by_label("Email").fill(org.member.email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(schedule_url(site, rooms["monday"]))
        page.get_by_role("link", name=f"Book Green room, 10:00{DASH}10:30").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Book Green room")
        expect(page.get_by_label("Date")).to_have_value(f"{rooms['monday']:%Y-%m-%d}")
        expect(page.get_by_label("Start", exact=True)).to_have_value("10:00")
        expect(page.get_by_label("End", exact=True)).to_have_value("10:30")
    finally:
        context.close()


def test_on_a_phone_each_space_lists_its_free_times_as_buttons(browser, site, org, rooms, screenshot, log_in):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        log_in(page, site.organization("alpha"), org.member.email, TEST_PASSWORD)
        page.goto(schedule_url(site, rooms["monday"]))
        expect(page.locator(".schedule-grid")).to_be_hidden()
        blue = page.locator('.schedule-list li[data-space-name="Blue room"]')
        expect(blue.get_by_role("link", name=f"Book Blue room, 08:00{DASH}08:30")).to_be_visible()
        expect(blue.get_by_role("link", name=f"Book Blue room, 09:00{DASH}09:30")).to_have_count(0)  # booked
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "schedule-phone")
        blue.get_by_role("link", name=f"Book Blue room, 12:00{DASH}12:30").tap()
        expect(page.locator("#schedule-book")).to_be_visible()
        page.get_by_role("button", name="Book", exact=True).tap()
        expect(page.get_by_role("status")).to_contain_text(
            f"Booked Blue room, {rooms['monday']:%A %d %B}, 12:00{DASH}12:30."
        )
    finally:
        context.close()


def test_the_schedule_books_under_the_production_policy_without_a_violation(page, site, org, rooms, settings, log_in):
    from spacemanager.tests.e2e.test_content_security_policy import RECORD_VIOLATIONS

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": settings.CONTENT_SECURITY_POLICY_DIRECTIVES}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = None
    page.add_init_script(RECORD_VIOLATIONS)
    log_in(page, site.organization("alpha"), org.member.email, TEST_PASSWORD)
    response = page.goto(schedule_url(site, rooms["monday"]))
    assert "script-src 'self'" in response.headers["content-security-policy"]
    cell(page, "Green room", "15:00").hover()
    page.mouse.down()
    cell(page, "Green room", "16:00").hover()
    page.mouse.up()
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Booked Green room")
    page.get_by_role("link", name="Next day").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text(f"{rooms['monday'] + timedelta(days=1):%A}")
    assert page.evaluate("window.__cspViolations || []") == []


def next_clock_change(zone: str, *, hours: int) -> date:
    """The next local day of `hours` hours in `zone` (23: clocks go forward, 25: back), from tomorrow on:
    within the next year whatever today is, so always inside the booking window set below."""
    tz = ZoneInfo(zone)
    day = datetime.now(UTC).date() + timedelta(days=1)
    for _ in range(370):
        start = datetime.combine(day, time(0), tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        if end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=hours):
            return day
        day += timedelta(days=1)
    raise AssertionError(f"{zone} has no {hours}-hour day in the coming year")


@pytest.fixture
def paris_night_room(org):
    """Alpha in Paris with a room open around the clock and bookable a year and a month ahead."""
    zone = org.organization.timezone
    connection.set_tenant(org.organization)
    try:
        org.organization.timezone = "Europe/Paris"
        org.organization.save(update_fields=["timezone"])
        room = open_every_day(SpaceFactory(name="Night room", max_days_ahead=400), opens_at=time(0), closes_at=time(0))
    finally:
        connection.set_schema_to_public()
    yield room
    org.organization.timezone = zone
    org.organization.save(update_fields=["timezone"])


def utc_bookings(space_id: int) -> list[tuple[datetime, datetime]]:
    from tenants.models import Organization

    connection.set_tenant(Organization.objects.get(slug="alpha"))
    try:
        return list(Reservation.objects.filter(space_id=space_id).values_list("starts_at", "ends_at"))
    finally:
        connection.set_schema_to_public()


def test_on_the_spring_day_the_grid_skips_the_lost_hour_and_a_drag_books_real_time(
    page, site, org, paris_night_room, log_in
):
    day = next_clock_change("Europe/Paris", hours=23)
    log_in(page, site.organization("alpha"), org.member.email, TEST_PASSWORD)
    page.goto(f"{site.organization('alpha')}/schedule/?date={day:%Y-%m-%d}")
    expect(page.locator(".schedule-grid thead th.time-head")).to_have_count(46)  # 23 hours of half hours
    expect(cell(page, "Night room", "02:00")).to_have_count(0)  # 02:00-02:59 never happens
    # The half hour before the jump ends at 03:00 on the wall clock: a drag over it and the next one is one
    # real hour, 01:30 CET to 03:30 CEST.
    cell(page, "Night room", "01:30").hover()
    page.mouse.down()
    cell(page, "Night room", "03:00").hover()
    page.mouse.up()
    expect(page.get_by_label("Start", exact=True)).to_have_value("01:30")
    expect(page.get_by_label("End", exact=True)).to_have_value("03:30")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Booked Night room, {day:%A %d %B}, 01:30{DASH}03:30.")
    utc_midnight = datetime.combine(day, time(0), tzinfo=UTC)  # 01:00 in Paris, still winter time
    assert utc_bookings(paris_night_room.pk) == [
        (utc_midnight + timedelta(minutes=30), utc_midnight + timedelta(minutes=90))
    ]


def test_on_the_autumn_day_the_repeated_hour_shows_twice_and_its_first_pass_books(
    page, site, org, paris_night_room, log_in
):
    day = next_clock_change("Europe/Paris", hours=25)
    log_in(page, site.organization("alpha"), org.member.email, TEST_PASSWORD)
    page.goto(f"{site.organization('alpha')}/schedule/?date={day:%Y-%m-%d}")
    expect(page.locator(".schedule-grid thead th.time-head")).to_have_count(50)  # 25 hours of half hours
    expect(page.locator(".schedule-grid thead .repeated")).to_have_text(["again"])
    # The booking form reads 02:00 as its first pass (CEST), so only that pass offers a link.
    link = page.get_by_role("link", name=f"Book Night room, 02:00{DASH}02:30")
    expect(link).to_have_count(1)
    link.click()
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Booked Night room, {day:%A %d %B}, 02:00{DASH}02:30.")
    utc_midnight = datetime.combine(day, time(0), tzinfo=UTC)  # 02:00 in Paris, the first pass (summer time)
    assert utc_bookings(paris_night_room.pk) == [(utc_midnight, utc_midnight + timedelta(minutes=30))]
