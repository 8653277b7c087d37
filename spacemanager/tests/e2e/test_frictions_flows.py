"""End-to-end: the small things a new user trips over — sign-up on a phone, the way out of a vanished
organization, the favicon, and the week calendar's date picker, 24-hour times and long booking titles."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection

from accounts.tests.factories import TEST_PASSWORD
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory
from tenants.models import Organization

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect

PHONE = {"width": 390, "height": 844}
LONG_TITLE = "Quarterly budget review with the finance team and the auditors"


def next_monday() -> datetime:
    today = datetime.now(UTC).date()
    return datetime.combine(today + timedelta(days=7 - today.weekday()), time(0), tzinfo=UTC)


@pytest.fixture
def green_room(org):
    """A room in alpha, open 08:00-18:00 on weekdays, with the member's 30-minute booking next Monday at 10:00."""
    connection.set_tenant(org.organization)
    try:
        room = SpaceFactory(name="Green room", capacity=6)
        for weekday in range(5):
            room.opening_hours.create(weekday=weekday, opens_at=time(8), closes_at=time(18))
        starts_at = next_monday() + timedelta(hours=10)
        ReservationFactory(
            space=room,
            user=org.member,
            title=LONG_TITLE,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=30),
            status=Reservation.Status.CONFIRMED,
        )
    finally:
        connection.set_schema_to_public()
    return room


def test_sign_up_on_a_phone_fits_suggests_the_address_presets_the_zone_and_shows_every_error(
    browser, site, org, screenshot
):
    context = browser.new_context(viewport=PHONE, timezone_id="Europe/Paris", locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{site.public}/signup/")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")  # the browser's, not UTC

        name, slug = page.get_by_label("Organization name"), page.get_by_label("Web address")
        name.press_sequentially("Café Zürich & Co")
        expect(slug).to_have_value("cafe-zurich-co")
        name.fill("Alpha")
        expect(slug).to_have_value("alpha")

        page.get_by_label("Web address").fill("my-own-address")
        page.get_by_label("Organization name").press_sequentially(" Studios")
        expect(page.get_by_label("Web address")).to_have_value("my-own-address")  # typed by the person: kept

        page.get_by_label("Email").fill(org.owner.email)
        page.get_by_label("Password").fill("password123")
        page.get_by_label("Web address").fill("alpha")
        page.get_by_role("button", name="Create organization").click()
        for field, message in [
            ("full_name", "This field is required."),
            ("email", "An account with this email already exists"),
            ("password", "This password is too common."),
            ("organization_slug", "This address is already taken"),
        ]:
            expect(page.locator(f"#id_{field}_error")).to_contain_text(message)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "signup-phone")
        assert not Organization.objects.filter(name="Alpha Studios").exists()
    finally:
        context.close()


def test_a_slow_inline_check_never_puts_back_the_checked_address_or_moves_the_caret(page, site, org):
    held = []  # the inline checks' requests, answered when the test says so (a slow server)

    def hold_inline_checks(route):
        if route.request.method == "POST" and route.request.headers.get("hx-request"):
            held.append(route)
        else:
            route.continue_()

    page.goto(f"{site.public}/signup/")
    page.route("**/signup/", hold_inline_checks)
    slug = page.get_by_label("Web address")
    slug.fill("alpha")
    with page.expect_request(lambda request: request.headers.get("hx-request")):
        slug.press("Tab")  # leaving the field starts the check of "alpha" (taken)
    for _ in range(100):  # the route handler runs as Playwright dispatches events
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    slug.focus()
    slug.fill("my-own-address")  # typed again while the check is out
    with page.expect_response(lambda response: response.request.headers.get("hx-request")):
        held.pop().continue_()
    expect(slug).to_have_value("my-own-address")
    expect(page.locator("#id_organization_slug_error")).to_have_count(0)  # the stale verdict is dropped
    assert page.evaluate("document.activeElement.id") == "id_organization_slug"
    slug.press("End")
    slug.press_sequentially("-2")
    expect(slug).to_have_value("my-own-address-2")

    page.unroute("**/signup/")
    with page.expect_response(lambda response: response.request.headers.get("hx-request")):
        slug.press("Tab")  # a free address: no error
    expect(page.locator("#id_organization_slug_error")).to_have_count(0)
    slug.fill("alpha")
    slug.press("Tab")  # a verdict for the value still in the field is shown, on the same input element
    expect(page.locator("#id_organization_slug_error")).to_contain_text("This address is already taken")
    expect(slug).to_have_attribute("aria-invalid", "true")
    expect(slug).to_have_value("alpha")


def test_sign_up_without_javascript_takes_the_address_from_the_name(browser, site):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{site.public}/signup/")
        expect(page.get_by_label("Time zone")).to_have_value("UTC")
        page.get_by_label("Your name").fill("Grace Hopper")
        page.get_by_label("Email").fill("grace@example.com")
        page.get_by_label("Password").fill("a long passphrase 42")
        page.get_by_label("Organization name").fill("Hopper Labs")
        page.get_by_role("button", name="Create organization").click()
        page.wait_for_url(f"{site.organization('hopper-labs')}/")
        assert Organization.objects.get(slug="hopper-labs").timezone == "UTC"
    finally:
        context.close()


def test_a_deactivated_organization_points_to_the_public_site_and_every_host_has_a_favicon(page, site, other_org):
    beta = site.organization("beta")
    for host in (site.public, beta):
        icon = page.goto(f"{host}/favicon.ico")  # the browser resolves *.localhost; Playwright's fetch does not
        assert icon.status == 200
        assert icon.headers["content-type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
        assert icon.body()[:4] == b"\x00\x00\x01\x00"

    Organization.objects.filter(pk=other_org.organization.pk).update(is_active=False)
    page.goto(f"{beta}/spaces/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    page.get_by_role("link", name="Go to SpaceManager's home page").click()
    page.wait_for_url(f"{site.public}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Your spaces, booked")


def test_the_week_calendar_jumps_to_a_chosen_week_with_and_without_javascript(browser, site, org, green_room, log_in):
    alpha = site.organization("alpha")
    target = (next_monday() + timedelta(days=23)).date()  # a Wednesday four weeks on
    monday = target - timedelta(days=target.weekday())
    for javascript in (True, False):
        context = browser.new_context(java_script_enabled=javascript)
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            log_in(page, alpha, org.member.email, TEST_PASSWORD)
            page.goto(f"{alpha}/spaces/{green_room.pk}/")
            page.get_by_label("Go to the week of").fill(target.isoformat())
            page.get_by_role("button", name="Go", exact=True).click()
            expect(page).to_have_url(re.compile(rf"\?week={target.isoformat()}$"))
            expect(page.get_by_label("Go to the week of")).to_have_value(monday.isoformat())
            expect(page.locator("#calendar-title")).to_contain_text(str(monday.day))
        finally:
            context.close()


def test_times_are_typed_and_shown_in_24_hours_in_an_american_browser(
    browser, site, org, green_room, log_in, screenshot
):
    alpha = site.organization("alpha")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:
        log_in(page, alpha, org.member.email, TEST_PASSWORD)
        day = next_monday() + timedelta(days=1)
        page.goto(f"{alpha}/reservations/new/?space={green_room.pk}&date={day:%Y-%m-%d}&start=14:00&end=15:30")
        start, end = page.get_by_label("Start", exact=True), page.get_by_label("End", exact=True)
        # Chromium draws type="time" as "02:00 PM" in en-US whatever the page's lang: these are text inputs.
        assert start.get_attribute("type") == "text"
        expect(start).to_have_value("14:00")
        expect(end).to_have_value("15:30")
        assert "PM" not in start.evaluate("e => e.value + e.placeholder")
        end.fill("16:15")
        page.get_by_label("Title").fill("Afternoon review")
        page.get_by_role("button", name="Book", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Booked")
        expect(page.locator("main")).to_contain_text("14:00")
        expect(page.locator("main")).to_contain_text("16:15")
        expect(page.locator("main")).not_to_contain_text("PM")
    finally:
        context.close()


def test_a_short_booking_clips_its_title_with_an_ellipsis_and_shows_it_whole_on_focus(
    page, site, org, green_room, log_in, screenshot
):
    alpha = site.organization("alpha")
    log_in(page, alpha, org.member.email, TEST_PASSWORD)
    page.goto(f"{alpha}/spaces/{green_room.pk}/?week={next_monday():%Y-%m-%d}")
    block = page.locator(".week-grid .busy-block", has_text="Quarterly budget")
    expect(block).to_have_attribute("title", re.compile(re.escape(LONG_TITLE)))
    title = block.locator(".block-title")
    assert title.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
    assert title.evaluate("e => e.scrollWidth > e.clientWidth")  # clipped while it does not fit

    block.focus()
    assert title.evaluate("e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight + 1")
    body_box, block_box = block.locator(".block-body").bounding_box(), block.bounding_box()
    assert body_box["height"] >= block_box["height"]  # whole text, on top of the slot below
    screenshot(page, "space-calendar-long-title", full_page=False)
    page.mouse.move(0, 0)
    block.hover()
    assert title.evaluate("e => e.scrollWidth <= e.clientWidth")
