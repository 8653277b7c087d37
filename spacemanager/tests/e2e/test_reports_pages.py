"""End-to-end: an owner generates last month's report, reads its charts and downloads its CSV, in a real browser."""

import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Membership
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from reports.services import previous_month
from reservations.models import Reservation
from spaces.models import OpeningHours, Space
from tenants.models import Organization

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect

TIMEZONE = "Europe/Paris"
SPACES = [  # name, kind, hourly rate, how busy (share of the working hours' slots booked)
    ("Atrium", Space.Kind.EVENT_HALL, "60.00", 0.35),
    ("Board room", Space.Kind.MEETING_ROOM, "35.00", 0.7),
    ("Focus pod", Space.Kind.OFFICE, "12.00", 0.5),
    ("Podcast studio", Space.Kind.STUDIO, "45.00", 0.2),
    ("Quiet desk 4", Space.Kind.DESK, "8.00", 0.6),
]
PEOPLE = ["Grace Hopper", "Alan Turing", "Katherine Johnson", "Linus Pauling"]


def book_last_month(test_org) -> str:
    """Spaces open 08:00-18:00 on weekdays, booked in two-hour slots across last month by five people (a few
    cancelled); returns last month as YYYY-MM. Seeded, so the screenshot is the same on every run."""
    Organization.objects.filter(pk=test_org.organization.pk).update(timezone=TIMEZONE)
    people = [test_org.member, test_org.admin]
    for n, name in enumerate(PEOPLE):
        user = UserFactory(email=f"booker{n}@example.com", full_name=name)
        Membership.objects.create(user=user, organization=test_org.organization, role=Membership.Role.MEMBER)
        people.append(user)

    month = previous_month(now=timezone.now(), timezone_name=TIMEZONE)
    tz = ZoneInfo(TIMEZONE)
    chance = random.Random(42)  # noqa: S311 (a test scene, not security)
    connection.set_tenant(test_org.organization)
    reservations = []
    for name, kind, rate, busy in SPACES:
        space = Space.objects.create(name=name, kind=kind, capacity=8, hourly_rate=Decimal(rate))
        OpeningHours.objects.bulk_create(
            OpeningHours(space=space, weekday=weekday, opens_at=time(8), closes_at=time(18)) for weekday in range(5)
        )
        day = month
        while day.month == month.month:
            for start in (8, 10, 12, 14, 16):
                # Mornings and Tuesdays are busier, as in most offices.
                weight = busy * (1.3 if start < 12 else 0.8) * (1.4 if day.weekday() == 1 else 1)
                if day.weekday() < 5 and chance.random() < weight:
                    starts_at = datetime.combine(day, time(start), tz).astimezone(UTC)
                    hours = chance.choice([1, 1, 2])
                    reservations.append(
                        Reservation(
                            space=space,
                            user=chance.choice(people),
                            title="Booked",
                            starts_at=starts_at,
                            ends_at=starts_at + timedelta(hours=hours),
                            status=Reservation.Status.CANCELLED
                            if chance.random() < 0.08
                            else Reservation.Status.COMPLETED,
                            price=Decimal(rate) * hours,
                        )
                    )
            day += timedelta(days=1)
    Reservation.objects.bulk_create(reservations)
    connection.set_schema_to_public()
    return f"{month:%Y-%m}"


def test_an_owner_generates_last_months_report_and_downloads_its_csv(page, site, org, screenshot, log_in):
    month = book_last_month(org)
    month_name = datetime.strptime(month, "%Y-%m").strftime("%B %Y")  # noqa: DTZ007 (a month, no instant)
    alpha = site.organization("alpha")
    log_in(page, alpha, org.owner.email, TEST_PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("button", name="Manage").click()
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    expect(page.get_by_text("No reports yet")).to_be_visible()
    expect(page.get_by_label("Month")).to_have_value(month)  # last month, filled in
    page.get_by_role("button", name="Generate report").click()

    expect(page.get_by_role("status")).to_contain_text(f"The report for {month_name} is ready.")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Report for {month_name}")
    expect(page.get_by_role("heading", name="Utilisation per space")).to_be_visible()
    expect(page.get_by_role("table", name="Utilisation per space")).to_contain_text("Board room")
    expect(page.get_by_role("table", name="Top bookers")).to_contain_text("Grace Hopper")
    screenshot(page, "report")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == f"report-{month}.csv"
    assert download.value.path().read_text().startswith(f"report,Alpha,{month},{TIMEZONE},")

    page.get_by_role("navigation", name="Main").get_by_role("button", name="Manage").click()
    page.get_by_role("link", name="Reports", exact=True).first.click()
    expect(page.get_by_role("link", name=month_name)).to_be_visible()
    screenshot(page, "reports")
