"""The dashboard's figures against numbers worked out by hand, in Europe/Paris across both clock changes of 2025
(30 March: 02:00 -> 03:00; 26 October: 03:00 -> 02:00), and the bookings export."""

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from reports.analytics import (
    AnalyticsFilters,
    analytics_bookings_csv,
    analytics_bookings_xlsx,
    analytics_data,
    analytics_filters_parse,
)
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.errors import ValidationFailed
from spaces.models import OpeningHours
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
Status = Reservation.Status
PARIS = ZoneInfo("Europe/Paris")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def booking(user, space, starts_at, hours, status=Status.COMPLETED, price=None, booked_before=timedelta(days=3)):
    reservation = ReservationFactory(
        user=user,
        space=space,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        status=status,
        price=price,
    )
    Reservation.objects.filter(pk=reservation.pk).update(created_at=starts_at - booked_before)
    return reservation


def week(first: date, **extra) -> AnalyticsFilters:
    return AnalyticsFilters(first_day=first, last_day=first + timedelta(days=6), timezone=PARIS, **extra)


@pytest.fixture
def spring(paris, in_tenant):
    """The week of Monday 24 to Sunday 30 March 2025 (167 hours: the clocks skip 02:00 on Sunday)."""
    with time_machine.travel("2025-02-01 12:00Z"):
        atelier = SpaceFactory(name="Atelier", location="Main building")
        box = SpaceFactory(name="Box", location="Annex")  # no opening hours: open around the clock
    # Atelier: Monday to Friday 09:00-17:00 -> 40 open hours this week.
    OpeningHours.objects.bulk_create(
        OpeningHours(space=atelier, weekday=day, opens_at=time(9), closes_at=time(17)) for day in range(5)
    )
    member, admin = paris.member, paris.admin
    booking(member, atelier, utc(2025, 3, 24, 9), 2, price=Decimal("40.00"))  # Mon 10:00-12:00, 3 days ahead
    booking(admin, atelier, utc(2025, 3, 26, 13), 1, Status.CONFIRMED, Decimal("20.00"), timedelta(minutes=30))
    booking(member, atelier, utc(2025, 3, 27, 9), 1, Status.CANCELLED, Decimal("20.00"), timedelta(days=2))
    # Sun 01:00 CET to 04:00 CEST: two real hours, in the local hours 01 and 03.
    booking(member, box, utc(2025, 3, 30, 0), 2, booked_before=timedelta(days=10))
    booking(member, box, utc(2025, 3, 28, 9), 1, Status.EXPIRED, booked_before=timedelta(days=40))
    booking(admin, box, utc(2025, 3, 31, 9), 1)  # the next week
    return {"atelier": atelier, "box": box}


def test_utilization_per_space_is_booked_over_open_hours_of_the_week(paris, spring):
    data = analytics_data(organization=paris.organization, filters=week(date(2025, 3, 24)))
    spaces = {row["name"]: row for row in data["spaces"]}
    assert spaces["Atelier"] | {"id": 0} == {
        "id": 0,
        "name": "Atelier",
        "location": "Main building",
        "bookings": 2,
        "booked_hours": 3.0,
        "open_hours": 40.0,
        "utilization": 0.075,
        "revenue": "60.00",
    }
    assert (spaces["Box"]["booked_hours"], spaces["Box"]["open_hours"], spaces["Box"]["utilization"]) == (
        2.0,
        167.0,
        0.012,
    )
    totals = data["totals"]
    assert totals["booked_hours"] == 5.0
    assert totals["open_hours"] == 207.0
    assert totals["utilization"] == 0.0242
    assert totals["revenue"] == "60.00"
    assert [row["name"] for row in data["top_spaces"]] == ["Atelier", "Box"]


def test_rates_count_every_reservation_starting_in_the_period(paris, spring):
    totals = analytics_data(organization=paris.organization, filters=week(date(2025, 3, 24)))["totals"]
    assert (totals["reservations"], totals["cancellations"], totals["cancellation_rate"]) == (5, 1, 0.2)
    if "no_show" in Status.values:
        assert totals["no_show_rate"] == 0.0
    else:  # the status does not exist yet: no figure rather than a misleading zero
        assert totals["no_shows"] is None
        assert totals["no_show_rate"] is None


def test_heatmap_spreads_booked_hours_over_local_hours_across_the_spring_change(paris, spring):
    data = analytics_data(organization=paris.organization, filters=week(date(2025, 3, 24)))
    cells = {(cell["weekday"], cell["hour"]): cell for cell in data["heatmap"]}
    assert len(cells) == 7 * 24
    booked = {key: cell["booked_hours"] for key, cell in cells.items() if cell["booked_hours"]}
    assert booked == {
        ("Monday", 10): 1.0,
        ("Monday", 11): 1.0,
        ("Wednesday", 14): 1.0,
        ("Sunday", 1): 1.0,
        ("Sunday", 3): 1.0,
    }
    # Monday 10:00 happened once, for two spaces: one hour booked of two offered.
    assert cells[("Monday", 10)]["occupancy"] == 0.5
    # Sunday 02:00 never happened this week: nothing to occupy.
    assert cells[("Sunday", 2)]["occupancy"] is None


def test_heatmap_counts_the_repeated_autumn_hour_twice(paris, in_tenant):
    with time_machine.travel("2025-09-01 12:00Z"):
        hall = SpaceFactory(name="Hall")
    # Sun 26 Oct 02:00 CEST to 03:00 CET: the wall clock shows 02:xx for two real hours, then 03:xx for one.
    booking(paris.member, hall, utc(2025, 10, 26, 0), 3)
    data = analytics_data(organization=paris.organization, filters=week(date(2025, 10, 20)))
    cells = {(cell["weekday"], cell["hour"]): cell for cell in data["heatmap"]}
    assert cells[("Sunday", 2)]["booked_hours"] == 2.0
    assert cells[("Sunday", 2)]["occupancy"] == 1.0  # 2 of the 2 hours 02:00 lasted this week
    assert cells[("Sunday", 3)]["booked_hours"] == 1.0
    assert data["spaces"][0]["open_hours"] == 169.0


def test_bookings_and_revenue_over_time_by_day_and_by_week(paris, spring):
    by_day = analytics_data(organization=paris.organization, filters=week(date(2025, 3, 24)))["over_time"]
    assert [row["period"] for row in by_day] == [f"2025-03-{day}" for day in range(24, 31)]
    assert {row["period"]: (row["bookings"], row["revenue"], row["cancellations"]) for row in by_day} == {
        "2025-03-24": (1, "40.00", 0),
        "2025-03-25": (0, "0.00", 0),
        "2025-03-26": (1, "20.00", 0),
        "2025-03-27": (0, "0.00", 1),
        "2025-03-28": (0, "0.00", 0),
        "2025-03-29": (0, "0.00", 0),
        "2025-03-30": (1, "0.00", 0),
    }
    by_week = analytics_data(organization=paris.organization, filters=week(date(2025, 3, 24)), bucket="week")
    assert by_week["over_time"] == [{"period": "2025-03-24", "bookings": 3, "revenue": "60.00", "cancellations": 1}]


def test_lead_time_distribution_and_top_bookers(paris, spring):
    data = analytics_data(organization=paris.organization, filters=week(date(2025, 3, 24)))
    assert [(row["band"], row["bookings"]) for row in data["lead_time"]] == [
        ("under 1 hour", 1),
        ("1 to 24 hours", 0),
        ("1 to 7 days", 2),
        ("1 to 4 weeks", 1),
        ("over 4 weeks", 1),
    ]
    assert [(b["email"], b["bookings"], b["booked_hours"]) for b in data["top_bookers"]] == [
        (paris.member.email, 2, 4.0),
        (paris.admin.email, 1, 1.0),
    ]


def test_a_location_or_a_space_narrows_every_figure(paris, spring):
    annex = analytics_data(organization=paris.organization, filters=week(date(2025, 3, 24), location="Annex"))
    assert [row["name"] for row in annex["spaces"]] == ["Box"]
    assert annex["totals"]["reservations"] == 2
    assert annex["totals"]["revenue"] == "0.00"
    one = analytics_data(
        organization=paris.organization, filters=week(date(2025, 3, 24), space_id=spring["atelier"].pk)
    )
    assert [row["name"] for row in one["spaces"]] == ["Atelier"]
    assert [(b["email"], b["bookings"]) for b in one["top_bookers"]] == [
        (paris.member.email, 1),
        (paris.admin.email, 1),
    ]


def test_a_fixed_number_of_queries_whatever_the_period_and_the_bookings(paris, spring):
    def queries(filters: AnalyticsFilters) -> int:
        with CaptureQueriesContext(connection) as captured:
            analytics_data(organization=paris.organization, filters=filters)
        return len(captured)

    short = queries(week(date(2025, 3, 24)))
    for day in range(1, 28):
        booking(paris.owner, spring["box"], utc(2025, 5, day, 9), 1, price=Decimal("5.00"))
    year = queries(AnalyticsFilters(first_day=date(2025, 1, 1), last_day=date(2025, 12, 31), timezone=PARIS))
    assert short == year <= 7


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2025-13-01"}, "from"),
        ({"from": "2025-03-10", "to": "2025-03-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),
        ({"space": "atelier"}, "space"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_filters_are_refused_naming_the_parameter(paris, params, field):
    with pytest.raises(ValidationFailed) as refused:
        analytics_filters_parse(params, organization=paris.organization, today=date(2025, 3, 15))
    assert refused.value.field == field


def test_without_dates_the_period_is_the_current_local_month(paris):
    filters = analytics_filters_parse({}, organization=paris.organization, today=date(2025, 2, 15))
    assert (filters.first_day, filters.last_day) == (date(2025, 2, 1), date(2025, 2, 28))
    assert filters.starts_at == utc(2025, 1, 31, 23)
    year = analytics_filters_parse(
        {"from": "2024-01-01", "to": "2024-12-31"}, organization=paris.organization, today=date(2025, 2, 15)
    )
    assert year.days == 366


def test_exports_have_one_row_per_booking_with_local_times_and_defused_formulas(paris, spring):
    from equipment.models import Allocation
    from equipment.tests.factories import ItemFactory

    paris.member.full_name = '=HYPERLINK("http://evil")'
    paris.member.save(update_fields=["full_name"])
    first_booking = Reservation.objects.order_by("starts_at").first()
    for name, quantity in (("Projector", 1), ("Monitor", 2)):  # listed by name, whatever the booking order
        Allocation.objects.create(
            reservation=first_booking,
            item=ItemFactory(name=name, quantity=3),
            quantity=quantity,
            description=name,
            unit_price=Decimal("5.00"),
            amount=Decimal("5.00") * quantity,
        )
    filters = week(date(2025, 3, 24))
    rows = list(csv.reader(io.StringIO(analytics_bookings_csv(filters=filters))))
    assert rows[0] == [
        "id",
        "space",
        "location",
        "booker_email",
        "booker_name",
        "starts_at",
        "ends_at",
        "status",
        "price",
        "equipment",
    ]
    assert len(rows) == 6  # five reservations start in the week, of any status
    first = rows[1]
    assert first[1:] == [
        "Atelier",
        "Main building",
        paris.member.email,
        '\'=HYPERLINK("http://evil")',
        "2025-03-24T10:00:00+01:00",
        "2025-03-24T12:00:00+01:00",
        "completed",
        "40.00",
        "2 x Monitor; 1 x Projector",
    ]
    assert [row[9] for row in rows[2:]] == ["", "", "", ""]  # nothing booked with the others
    assert rows[-1][5:7] == ["2025-03-30T01:00:00+01:00", "2025-03-30T04:00:00+02:00"]

    sheet = load_workbook(io.BytesIO(analytics_bookings_xlsx(filters=filters))).active
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == rows[0]
    assert len(cells) == 6
    assert cells[1][4] == '\'=HYPERLINK("http://evil")'
    assert cells[1][8] == 40  # a number a spreadsheet can sum
    assert cells[1][9] == "2 x Monitor; 1 x Projector"
    assert cells[-1][5] == "2025-03-30T01:00:00+01:00"
