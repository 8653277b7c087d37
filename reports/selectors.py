"""Reads for the monthly reports: the month's figures, computed by PostgreSQL, and their CSV form.

A month is the organization's local month: from midnight on the 1st to midnight on the 1st of the next
month in its time zone (so March in Paris lasts 743 hours and October 745). Rules of counting:

- reservations, cancellations, expired requests, no-shows and revenue count by the month the reservation
  *starts* in; "reservations" are the ones that held their slot (confirmed or completed);
- the no-show rate is no-shows over every reservation starting in the month, as on the analytics dashboard;
- booked hours are the hours of held reservations that fall inside the month (a night across the 1st counts
  in both months), so utilisation (booked hours / open hours) never exceeds what the month offered;
- open hours come from the space's opening hours (spaces.hours, daylight saving included); a space without
  opening hours is open around the clock. Spaces archived before the month ends count only when they had
  bookings; spaces created after it do not count.
- busiest weekdays and hours count held reservations by their local start.
"""

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, DateTimeField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, Greatest, Least

from accounts.models import User
from reports.models import MonthlyReport
from reservations.models import Reservation
from spaces.hours import WEEKDAY_NAMES, WeeklyInterval, local_instant, open_intervals
from spaces.models import OpeningHours, Space
from tenants.models import Organization

HELD = (Reservation.Status.CONFIRMED, Reservation.Status.COMPLETED)
TOP_BOOKERS = 10
# The figures of a report's totals and of each space's row, in the CSV columns' order.
REPORT_FIGURES = (
    "reservations",
    "cancellations",
    "expired",
    "booked_hours",
    "open_hours",
    "utilisation",
    "revenue",
    "no_shows",
    "no_show_rate",
)


def month_bounds(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants (UTC) at which the local month starts and ends."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return (
        local_instant(first, timedelta(0), tz, entering=True),
        local_instant(following, timedelta(0), tz, entering=True),
    )


def as_hours(value: timedelta | None) -> float:
    return round((value or timedelta(0)).total_seconds() / 3600, 2)


def share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def as_money(value: Decimal | None) -> str:
    return str((value or Decimal(0)).quantize(Decimal("0.01")))


def space_open_hours(space_ids: list[int], start: datetime, end: datetime, tz: ZoneInfo) -> dict[int, float]:
    rows: dict[int, list[WeeklyInterval]] = defaultdict(list)
    # One array parameter: the ORM's IN (...) resolves and binds each of 500 ids on its own (a third of the
    # analytics dashboard's Python time at design size).
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT space_id, weekday, opens_at, closes_at FROM {OpeningHours._meta.db_table} "  # noqa: S608
            "WHERE space_id = ANY(%s::bigint[])",
            [list(space_ids)],
        )
        for space_id, weekday, opens_at, closes_at in cursor.fetchall():
            rows[space_id].append(WeeklyInterval(weekday, opens_at, closes_at))
    # Spaces mostly share a handful of timetables: compute each one once.
    by_timetable: dict[tuple[WeeklyInterval, ...], float] = {}
    result = {}
    for space_id in space_ids:
        timetable = tuple(sorted(rows.get(space_id, []), key=lambda r: (r.weekday, r.opens)))
        if timetable not in by_timetable:
            intervals = open_intervals(list(timetable), start, end, tz)
            by_timetable[timetable] = as_hours(sum((e - s for s, e in intervals), timedelta(0)))
        result[space_id] = by_timetable[timetable]
    return result


def monthly_report_data(*, organization: Organization, month: date) -> dict[str, Any]:
    """The month's figures as JSON-ready data, in a fixed number of queries whatever the number of bookings."""
    tz = ZoneInfo(organization.timezone)
    start, end = month_bounds(month, tz)
    starts_in_month = Q(starts_at__gte=start, starts_at__lt=end)
    held = Q(status__in=HELD)
    overlapping = Reservation.objects.filter(starts_at__lt=end, ends_at__gt=start).order_by()
    # The part of each reservation inside the month.
    inside = Least(F("ends_at"), Value(end, output_field=DateTimeField())) - Greatest(
        F("starts_at"), Value(start, output_field=DateTimeField())
    )

    per_space = {
        row["space_id"]: row
        for row in overlapping.values("space_id").annotate(
            reservations=Count("pk", filter=starts_in_month & held),
            cancellations=Count("pk", filter=starts_in_month & Q(status=Reservation.Status.CANCELLED)),
            expired=Count("pk", filter=starts_in_month & Q(status=Reservation.Status.EXPIRED)),
            no_shows=Count("pk", filter=starts_in_month & Q(status=Reservation.Status.NO_SHOW)),
            starting=Count("pk", filter=starts_in_month),
            booked=Sum(inside, filter=held),
            revenue=Sum("price", filter=starts_in_month & held),
        )
    }
    spaces = list(
        Space.objects.filter(Q(pk__in=per_space) | Q(is_active=True, created_at__lt=end))
        .order_by("name", "pk")
        .values("pk", "name")
    )
    open_hours = space_open_hours([space["pk"] for space in spaces], start, end, tz)

    space_rows = []
    for space in spaces:
        row = per_space.get(space["pk"], {})
        booked = as_hours(row.get("booked"))
        space_rows.append(
            {
                "id": space["pk"],
                "name": space["name"],
                "reservations": row.get("reservations", 0),
                "cancellations": row.get("cancellations", 0),
                "expired": row.get("expired", 0),
                "booked_hours": booked,
                "open_hours": open_hours[space["pk"]],
                "utilisation": share(booked, open_hours[space["pk"]]),
                "revenue": as_money(row.get("revenue")),
                "no_shows": row.get("no_shows", 0),
                "no_show_rate": share(row.get("no_shows", 0), row.get("starting", 0)),
            }
        )

    by_slot = (
        Reservation.objects.filter(starts_in_month & held)
        .annotate(weekday=ExtractIsoWeekDay("starts_at", tzinfo=tz), hour=ExtractHour("starts_at", tzinfo=tz))
        .values("weekday", "hour")
        .annotate(count=Count("pk"))
        .order_by()
    )
    weekdays, hours = [0] * 7, [0] * 24
    for slot in by_slot:
        weekdays[slot["weekday"] - 1] += slot["count"]
        hours[slot["hour"]] += slot["count"]

    bookers = list(
        overlapping.filter(held)
        .values("user_id")
        .annotate(reservations=Count("pk", filter=starts_in_month), booked=Sum(inside))
        .order_by("-reservations", "-booked", "user_id")[:TOP_BOOKERS]
    )
    people = {
        user["pk"]: user
        for user in User.objects.filter(pk__in=[b["user_id"] for b in bookers]).values("pk", "email", "full_name")
    }

    booked_total = round(sum((row["booked_hours"] for row in space_rows), 0.0), 2)
    open_total = round(sum((row["open_hours"] for row in space_rows), 0.0), 2)
    no_shows = sum(row["no_shows"] for row in space_rows)
    starting = sum(row.get("starting", 0) for row in per_space.values())
    return {
        "month": f"{month:%Y-%m}",
        "organization": organization.name,
        "timezone": organization.timezone,
        "currency": organization.currency,
        "period": {"starts_at": start.isoformat(), "ends_at": end.isoformat()},
        "totals": {
            "reservations": sum(row["reservations"] for row in space_rows),
            "cancellations": sum(row["cancellations"] for row in space_rows),
            "expired": sum(row["expired"] for row in space_rows),
            "booked_hours": booked_total,
            "open_hours": open_total,
            "utilisation": share(booked_total, open_total),
            "revenue": as_money(sum((Decimal(row["revenue"]) for row in space_rows), Decimal(0))),
            "no_shows": no_shows,
            "no_show_rate": share(no_shows, starting),
        },
        "spaces": space_rows,
        "weekdays": [{"weekday": name, "reservations": weekdays[i]} for i, name in enumerate(WEEKDAY_NAMES)],
        "hours": [{"hour": hour, "reservations": count} for hour, count in enumerate(hours)],
        "busiest_weekday": WEEKDAY_NAMES[weekdays.index(max(weekdays))] if any(weekdays) else None,
        "busiest_hour": hours.index(max(hours)) if any(hours) else None,
        "top_bookers": [
            {
                "user_id": booker["user_id"],
                "email": people.get(booker["user_id"], {}).get("email", ""),
                "full_name": people.get(booker["user_id"], {}).get("full_name", ""),
                "reservations": booker["reservations"],
                "booked_hours": as_hours(booker["booked"]),
            }
            for booker in bookers
        ],
    }


def _csv_ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (a member named "=HYPERLINK(…)"), defused with a quote;
    every export (CSV, XLSX) passes its cells through here."""
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


class SpreadsheetSafeWriter:
    """csv.writer whose text cells go through `spreadsheet_safe`."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow([spreadsheet_safe(cell) for cell in row])

    def writerows(self, rows: Iterable[list[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def monthly_report_csv(data: dict[str, Any]) -> str:
    """The report as CSV: a summary, then one table per section, separated by blank lines."""
    out = io.StringIO()
    writer = SpreadsheetSafeWriter(out)
    totals = data["totals"]
    writer.writerow(["report", data["organization"], data["month"], data["timezone"], data["currency"]])
    writer.writerow([])
    writer.writerow(["metric", "value"])
    for key in ("reservations", "cancellations", "expired", "booked_hours", "open_hours"):
        writer.writerow([key, totals[key]])
    writer.writerow(["utilisation", _csv_ratio(totals["utilisation"])])
    writer.writerow(["revenue", totals["revenue"]])
    if "no_shows" in totals:  # reports built before no-shows were counted lack them
        writer.writerow(["no_shows", totals["no_shows"]])
        writer.writerow(["no_show_rate", _csv_ratio(totals["no_show_rate"])])
    writer.writerow([])
    writer.writerow(["space_id", "space", *REPORT_FIGURES])
    for row in data["spaces"]:
        writer.writerow(
            [
                row["id"],
                row["name"],
                row["reservations"],
                row["cancellations"],
                row["expired"],
                row["booked_hours"],
                row["open_hours"],
                _csv_ratio(row["utilisation"]),
                row["revenue"],
                row.get("no_shows", ""),
                _csv_ratio(row.get("no_show_rate")),
            ]
        )
    writer.writerow([])
    writer.writerow(["weekday", "reservations"])
    writer.writerows([row["weekday"], row["reservations"]] for row in data["weekdays"])
    writer.writerow([])
    writer.writerow(["hour", "reservations"])
    writer.writerows([f"{row['hour']:02d}:00", row["reservations"]] for row in data["hours"])
    writer.writerow([])
    writer.writerow(["booker_email", "booker_name", "reservations", "booked_hours"])
    writer.writerows(
        [row["email"], row["full_name"], row["reservations"], row["booked_hours"]] for row in data["top_bookers"]
    )
    return out.getvalue()


def monthly_report_list() -> QuerySet[MonthlyReport]:
    return MonthlyReport.objects.order_by("-month")


def monthly_report_summary_list() -> QuerySet[MonthlyReport]:
    """Reports newest first with only their `totals` (from the JSON), not every figure nor the CSV: for lists."""
    return monthly_report_list().only("pk", "month", "generated_at").annotate(totals=F("data__totals"))
