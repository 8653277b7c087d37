"""End-to-end: an owner reads last month's analytics, every chart with its table, and downloads the XLSX."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from accounts.tests.factories import TEST_PASSWORD
from spacemanager.tests.e2e.test_reports_pages import book_last_month

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect


def test_an_owner_reads_a_months_analytics_and_downloads_the_bookings(page, site, org, screenshot, log_in):
    month = book_last_month(org)
    first = date.fromisoformat(f"{month}-01")
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    alpha = site.organization("alpha")
    log_in(page, alpha, org.owner.email, TEST_PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("button", name="Manage").click()
    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytics")
    page.get_by_label("From", exact=True).fill(first.isoformat())
    page.get_by_label("To", exact=True).fill(last.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{alpha}/analytics/?from={first}&to={last}&location=&space=&bucket=day")
    for title in ("Occupancy by weekday and hour", "Utilization per space", "Bookings over time", "Top bookers"):
        expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.get_by_role("table", name="Utilization per space")).to_contain_text("Board room")
    expect(page.get_by_role("table", name="Top bookers")).to_contain_text("Grace Hopper")
    screenshot(page, "analytics")

    with page.expect_download() as download:
        page.get_by_role("link", name="Bookings as XLSX").click()
    assert download.value.suggested_filename == f"bookings-{first}-{last}.xlsx"
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("id", "space", "location")
    assert len(rows) > 20
