"""The analytics page and its exports: who may open them, every chart with its table, filters in the URL."""

import csv
import html
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
PAGE = "/analytics/"
MARCH = {"from": "2025-03-01", "to": "2025-03-31"}


@pytest.fixture
def march(paris, in_tenant):
    with time_machine.travel("2025-02-01 12:00Z"):
        atrium = SpaceFactory(name="Atrium", location="Main building")
        SpaceFactory(name="Loft", location="Annex")
    ReservationFactory(
        space=atrium,
        user=paris.member,
        starts_at=datetime(2025, 3, 10, 9, tzinfo=UTC),
        ends_at=datetime(2025, 3, 10, 11, tzinfo=UTC),
        status=Reservation.Status.COMPLETED,
        price=Decimal("40.00"),
    )
    ReservationFactory(
        space=atrium,
        user=paris.admin,
        starts_at=datetime(2025, 3, 12, 9, tzinfo=UTC),
        status=Reservation.Status.CANCELLED,
    )
    return atrium


def text(response) -> str:
    return html.unescape(response.content.decode())


def urls() -> list[str]:
    return [PAGE, "/analytics/bookings.csv", "/analytics/bookings.xlsx"]


def test_members_get_the_friendly_403_and_visitors_the_login(web_client, paris, march):
    for url in urls():
        assert web_client(paris).get(url).status_code == 302
        response = web_client(paris, paris.member).get(url)
        assert response.status_code == 403
        assert "Only the organization's owners and admins can open this page." in text(response)


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_the_page_shows_every_chart_with_a_table_beside_it(web_client, paris, march, role):
    response = web_client(paris, getattr(paris, role)).get(PAGE, MARCH)
    assert response.status_code == 200
    page = text(response)
    for title in (
        "Occupancy by weekday and hour",
        "Utilization per space",
        "Top spaces",
        "Bookings over time",
        "Revenue over time",
        "Cancellations and no-shows",
        "Booking lead time",
        "Top bookers",
    ):
        assert f"<caption>{title}</caption>" in page, title
    assert page.count("<table>") == 8
    assert "50.0%" in page  # cancellation rate: one of two
    assert "40.00" in page
    # The heatmap table: Monday 10:00 Paris is booked 1 h of the 10 it offered (5 Mondays x 2 spaces).
    assert "1.0 h (10.0%)" in page
    assert "bookings.xlsx?from=2025-03-01&amp;to=2025-03-31" in response.content.decode()


def test_location_and_space_filters_come_from_the_url(web_client, paris, march):
    client = web_client(paris, paris.owner)
    page = text(client.get(PAGE, {**MARCH, "location": "Annex"}))
    assert "Loft" in page
    assert '<th scope="row">Atrium</th>' not in page
    page = text(client.get(PAGE, {**MARCH, "space": str(march.pk)}))
    assert '<th scope="row">Atrium</th>' in page
    assert '<th scope="row">Loft</th>' not in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2025-03-31", "to": "2025-03-01"}, "The period ends before it starts"),
        ({"from": "2024-01-01", "to": "2025-06-01"}, "at most 366 days"),
        ({"from": "yesterday"}, "Enter a date like 2025-03-01"),
        ({"bucket": "hour"}, "by day or by week"),
    ],
)
def test_bad_filters_show_the_error_on_the_form_with_a_400(web_client, paris, march, params, message):
    response = web_client(paris, paris.owner).get(PAGE, params)
    assert response.status_code == 400
    assert message in text(response)
    assert web_client(paris, paris.owner).get("/analytics/bookings.csv", params).status_code == 400


def test_the_csv_export_lists_each_booking_in_local_time(web_client, paris, march):
    response = web_client(paris, paris.owner).get("/analytics/bookings.csv", MARCH)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="bookings-2025-03-01-2025-03-31.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [row[1:] for row in rows[1:]] == [
        [
            "Atrium",
            "Main building",
            paris.member.email,
            paris.member.full_name,
            "2025-03-10T10:00:00+01:00",
            "2025-03-10T12:00:00+01:00",
            "completed",
            "40.00",
            "",
        ],
        [
            "Atrium",
            "Main building",
            paris.admin.email,
            paris.admin.full_name,
            "2025-03-12T10:00:00+01:00",
            "2025-03-12T11:00:00+01:00",
            "cancelled",
            "",
            "",
        ],
    ]


def test_the_xlsx_export_opens_in_a_spreadsheet_program(web_client, paris, march):
    response = web_client(paris, paris.owner).get("/analytics/bookings.xlsx", MARCH)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("id", "space")
    assert rows[1][1:3] == ("Atrium", "Main building")
    assert rows[1][5] == "2025-03-10T10:00:00+01:00"
    assert rows[1][8] == 40
    assert len(rows) == 3


def test_another_extension_is_not_an_export(web_client, paris, march):
    assert web_client(paris, paris.owner).get("/analytics/bookings.pdf").status_code == 404
