"""End-to-end: an admin places a desk on a floor plan by clicking it; a member books it from the plan."""

import io
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from PIL import Image, ImageDraw

from accounts.tests.factories import TEST_PASSWORD
from reservations.models import Reservation
from spacemanager.settings import LOCAL_MEDIA_STORAGE
from spaces.media_services import location_floor_plan_set
from spaces.models import Location, Space
from spaces.tests.factories import SpaceFactory, open_every_day
from spaces.tests.images import add_photo, upload

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect


@pytest.fixture
def floor(org, settings, tmp_path):
    """Alpha's second floor with a plan (800 x 400), and a desk with a photo not yet placed on it."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**LOCAL_MEDIA_STORAGE, "OPTIONS": {"location": tmp_path / "media"}},
    }
    connection.set_tenant(org.organization)
    try:
        location = Location.objects.create(name="Second floor")
        location_floor_plan_set(
            actor=org.membership(org.admin),
            location=location,
            upload=upload("plan.png", plan_png()),
        )
        desk = open_every_day(SpaceFactory(name="Desk 7", kind=Space.Kind.DESK), time(7), time(20))
        add_photo(org, desk)
    finally:
        connection.set_schema_to_public()
    return {"location": location, "desk": desk}


def plan_png() -> bytes:
    """A floor plan to look at: outer walls, a corridor and rooms."""
    image = Image.new("RGB", (800, 400), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 790, 390), outline="#444", width=6)
    draw.line((10, 250, 790, 250), fill="#444", width=4)
    for x in (260, 520):
        draw.line((x, 250, x, 390), fill="#444", width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def next_monday() -> datetime:
    today = datetime.now(UTC).date()
    return datetime.combine(today + timedelta(days=7 - today.weekday()), time(0), tzinfo=UTC)


def test_an_admin_places_a_desk_by_clicking_and_a_member_books_it_from_the_plan(
    browser, page, site, org, floor, log_in, screenshot
):
    location, desk = floor["location"], floor["desk"]
    alpha = site.organization("alpha")
    log_in(page, alpha, org.admin.email, TEST_PASSWORD)
    page.goto(f"{alpha}/spaces/locations/{location.pk}/")
    page.get_by_label("Space", exact=True).select_option(label="Desk 7")
    plan = page.locator("svg.floor-plan")
    box = plan.bounding_box()
    plan.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.5})

    expect(page.get_by_role("status")).to_contain_text("Placed Desk 7 on Second floor.")
    connection.set_tenant(org.organization)
    desk.refresh_from_db()
    connection.set_schema_to_public()
    assert desk.site_id == location.pk
    assert abs(desk.plan_x - 0.25) < 0.01 and abs(desk.plan_y - 0.5) < 0.01

    member = browser.new_context(viewport={"width": 1280, "height": 860})
    member_page = member.new_page()
    try:
        log_in(member_page, alpha, org.member.email, TEST_PASSWORD)
        monday = next_monday()
        member_page.goto(f"{alpha}/spaces/locations/{location.pk}/?date={monday:%Y-%m-%d}&start=10:00&end=12:00")
        spot = member_page.locator(f'a.plan-spot-free[data-space="{desk.pk}"]')
        expect(spot).to_be_visible()
        screenshot(member_page, "floor-plan")
        spot.click()

        expect(member_page.get_by_role("status")).to_contain_text("Booked Desk 7")
        connection.set_tenant(org.organization)
        reservation = Reservation.objects.get(space=desk)
        connection.set_schema_to_public()
        assert reservation.user_id == org.member.pk
        assert reservation.starts_at == monday + timedelta(hours=10)
        assert reservation.ends_at == monday + timedelta(hours=12)

        member_page.goto(f"{alpha}/spaces/locations/{location.pk}/?date={monday:%Y-%m-%d}&start=11:00&end=12:00")
        expect(member_page.locator(f'g.plan-spot-busy[data-space="{desk.pk}"]')).to_be_attached()
        expect(member_page.locator(f'a.plan-spot-free[data-space="{desk.pk}"]')).to_have_count(0)
    finally:
        member.close()
