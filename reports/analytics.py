"""Reads for the analytics dashboard: a chosen period's figures, computed by PostgreSQL, and the bookings export.

The same selectors feed the dashboard page, `GET /api/v1/analytics` and the CSV/XLSX exports. A period is a
range of local days in the organization's zone, from midnight of `from` to midnight after `to`, at most
MAX_PERIOD_DAYS long; it may be narrowed to the spaces of one location or to one space.

Rules of counting (the monthly reports' rules, over any period):
- bookings, revenue, rates and lead times count the reservations that *start* in the period;
- booked hours are the hours of held reservations (confirmed or completed) inside the period, so utilization
  (booked / open hours, from spaces.hours, daylight saving included) never exceeds what the period offered;
- the heatmap spreads those booked hours over local weekday x hour cells; its occupancy is the cell's booked
  hours over the hours that cell offered (its occurrences in the period x the spaces shown);
- no-show and cancellation rates are shares of every reservation starting in the period. `no_show` counts once
  the status exists (reservations.models); until then its rate is null.

Every figure comes from a fixed number of GROUP BY queries whatever the period or the number of bookings
(tests assert it): spaces, opening hours, per space, heatmap, timeline with statuses and lead times, bookers,
their names.
"""

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, DateTimeField, Exists, F, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Greatest, Least
from openpyxl import Workbook

from accounts.models import User
from reports.selectors import (
    HELD,
    TOP_BOOKERS,
    SpreadsheetSafeWriter,
    as_hours,
    as_money,
    share,
    space_open_hours,
    spreadsheet_safe,
)
from reservations.models import Reservation
from spacemanager.errors import ValidationFailed
from spaces.hours import WEEKDAY_NAMES, local_instant
from spaces.models import Space
from tenants.models import Organization

MAX_PERIOD_DAYS = 366
TOP_SPACES = 10
NO_SHOW = "no_show"  # a status another issue adds; counted as soon as Reservation.Status has it
Bucket = Literal["day", "week"]
# Lead time (from booking to start) in these half-open bands; the last one is open-ended.
LEAD_TIME_BANDS: tuple[tuple[str, timedelta, timedelta | None], ...] = (
    ("under 1 hour", timedelta(0), timedelta(hours=1)),
    ("1 to 24 hours", timedelta(hours=1), timedelta(days=1)),
    ("1 to 7 days", timedelta(days=1), timedelta(days=7)),
    ("1 to 4 weeks", timedelta(days=7), timedelta(days=28)),
    ("over 4 weeks", timedelta(days=28), None),
)


@dataclass(frozen=True)
class AnalyticsFilters:
    """A period of local days (both ends included) and an optional location or space."""

    first_day: date
    last_day: date
    timezone: ZoneInfo
    location: str = ""
    space_id: int | None = None

    @property
    def starts_at(self) -> datetime:
        return local_instant(self.first_day, timedelta(0), self.timezone, entering=True)

    @property
    def ends_at(self) -> datetime:
        return local_instant(self.last_day + timedelta(days=1), timedelta(0), self.timezone, entering=True)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def query(self) -> dict[str, str]:
        """The filters as URL parameters (for links and the export buttons)."""
        query = {"from": self.first_day.isoformat(), "to": self.last_day.isoformat()}
        if self.location:
            query["location"] = self.location
        if self.space_id is not None:
            query["space"] = str(self.space_id)
        return query


def _day(params: Mapping[str, str], name: str, default: date) -> date:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"Enter a date like 2025-03-01, not {raw!r}.", field=name) from None


def analytics_filters_parse(
    params: Mapping[str, str], *, organization: Organization, today: date, allowed: tuple[str, ...] = ()
) -> AnalyticsFilters:
    """The filters from URL parameters (`from`, `to`, `location`, `space`, plus the caller's `allowed` ones).

    Without `from`/`to`, the current local month. Raises ValidationFailed naming the parameter at fault: an
    unknown parameter, a date that is not one, `to` before `from`, a period over MAX_PERIOD_DAYS, a space that
    is not a number.
    """
    unknown = sorted(set(params) - {"from", "to", "location", "space", *allowed})
    if unknown:
        raise ValidationFailed(f"Unknown parameter: {', '.join(unknown)}.", field=unknown[0])
    month_start = today.replace(day=1)
    first_day = _day(params, "from", month_start)
    last_day = _day(params, "to", (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1))
    if last_day < first_day:
        raise ValidationFailed("The period ends before it starts: `to` must be on or after `from`.", field="to")
    if (last_day - first_day).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationFailed(f"Choose a period of at most {MAX_PERIOD_DAYS} days.", field="to")
    if first_day.year < 2000 or last_day.year > 9998:
        raise ValidationFailed("Choose dates between 2000 and 9998.", field="from")
    raw_space = params.get("space", "").strip()
    space_id = None
    if raw_space:
        if not raw_space.isdigit() or len(raw_space) > 18:
            raise ValidationFailed(f"A space is given by its id (a number), not {raw_space!r}.", field="space")
        space_id = int(raw_space)
    return AnalyticsFilters(
        first_day=first_day,
        last_day=last_day,
        timezone=ZoneInfo(organization.timezone),
        location=params.get("location", "").strip(),
        space_id=space_id,
    )


def _spaces(filters: AnalyticsFilters) -> QuerySet[Space]:
    spaces = Space.objects.all()
    if filters.location:
        spaces = spaces.filter(location=filters.location)
    if filters.space_id is not None:
        spaces = spaces.filter(pk=filters.space_id)
    return spaces


def _reservations(space_ids: list[int]) -> QuerySet[Reservation]:
    return Reservation.objects.filter(space_id__in=space_ids).order_by()


SLOT_SECONDS = 900  # every zone's offset is a whole number of quarter hours

# Booked time enters the heatmap as events: +1 where a held reservation starts and -1 where it ends (clipped to
# the period), summed per quarter hour of real time; the second sum is each event's signed seconds up to its
# quarter's end. A sweep over the quarters then integrates how many reservations were running (_sweep). This
# reads each reservation once and returns a row per busy quarter, rather than a row per reservation-hour.
_HELD_OVERLAPPING = """
        FROM reservations_reservation r
        WHERE r.status = ANY(%(held)s) AND r.starts_at < %(end)s AND r.ends_at > %(start)s
          AND r.space_id = ANY(%(spaces)s::bigint[])"""
HEATMAP_SQL = f"""
    SELECT slot, SUM(n)::int, SUM(n * ((slot + 1) * %(slot)s - at))
    FROM (
        SELECT date_part('epoch', GREATEST(r.starts_at, %(start)s)) AS at, COUNT(*) AS n {_HELD_OVERLAPPING}
        GROUP BY 1
        UNION ALL
        SELECT date_part('epoch', LEAST(r.ends_at, %(end)s)), -COUNT(*) {_HELD_OVERLAPPING}
        GROUP BY 1
    ) AS event
    CROSS JOIN LATERAL (SELECT FLOOR(at / %(slot)s)::bigint AS slot) AS quarter
    GROUP BY slot
"""  # noqa: S608 (constant text, no input)
# Grouping by instant first keeps the arithmetic to one row per distinct start or end (bookings share times),
# and date_part gives double precision where EXTRACT(EPOCH ...) gives numeric, several times slower.


def _sweep(
    filters: AnalyticsFilters, events: dict[int, tuple[int, float]]
) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], float]]:
    """Booked hours per local (ISO weekday, hour), and how many hours each such cell lasted in the period.

    Walks the period's quarter hours in real time and puts each into the local hour it shows, so a day of 23 or
    25 hours is counted as it happened: on the autumn change the repeated hour gets two hours' worth.
    """
    booked: dict[tuple[int, int], float] = {}
    lasted: dict[tuple[int, int], float] = {}
    first = int(filters.starts_at.timestamp()) // SLOT_SECONDS
    last = -(-int(filters.ends_at.timestamp()) // SLOT_SECONDS)
    running = 0
    offset = 0
    for slot in range(first, last):
        seconds = slot * SLOT_SECONDS
        if slot == first or seconds % 3600 == 0:  # zones change offset on whole UTC hours
            offset = int(datetime.fromtimestamp(seconds, UTC).astimezone(filters.timezone).utcoffset().total_seconds())
        local = seconds + offset
        cell = ((local // 86400 + 3) % 7 + 1, local % 86400 // 3600)  # 1970-01-01 was a Thursday (ISO day 4)
        lasted[cell] = lasted.get(cell, 0.0) + SLOT_SECONDS / 3600
        change, inside = events.get(slot, (0, 0.0))
        if running or change or inside:
            booked[cell] = booked.get(cell, 0.0) + (running * SLOT_SECONDS + inside) / 3600
        running += change
    return booked, lasted


def _lead_band_sql() -> str:
    """The index of a reservation's LEAD_TIME_BANDS band in SQL, -1 when it was booked after it started
    (width_bucket finds it in one comparison pass over the bands' lower bounds)."""
    bounds = ",".join(str(int(low.total_seconds())) for _label, low, _high in LEAD_TIME_BANDS)
    return f"width_bucket(date_part('epoch', r.starts_at - r.created_at), ARRAY[{bounds}]::float8[]) - 1"


# Bookings, revenue, statuses and lead times of the reservations starting in the period, per local day or week,
# status and lead-time band: one read of those rows for three charts.
TIMELINE_SQL = f"""
    SELECT (date_trunc(%(bucket)s, starts_at, %(tz)s) AT TIME ZONE %(tz)s)::date, status, band,
           SUM(n)::int, COALESCE(SUM(revenue), 0)
    FROM (
        SELECT r.starts_at, r.status, {_lead_band_sql()} AS band, COUNT(*) AS n, SUM(r.price) AS revenue
        FROM reservations_reservation r
        WHERE r.starts_at >= %(start)s AND r.starts_at < %(end)s AND r.space_id = ANY(%(spaces)s::bigint[])
        GROUP BY 1, 2, 3
    ) AS per_start
    GROUP BY 1, 2, 3
"""  # noqa: S608 (built from constants)
# Time-zone arithmetic once per distinct start time rather than once per reservation.


def _buckets(filters: AnalyticsFilters, bucket: Bucket) -> Iterator[date]:
    day = filters.first_day
    if bucket == "week":
        day -= timedelta(days=day.weekday())
    step = timedelta(days=7 if bucket == "week" else 1)
    while day <= filters.last_day:
        yield day
        day += step


def analytics_data(*, organization: Organization, filters: AnalyticsFilters, bucket: Bucket = "day") -> dict[str, Any]:
    """Every figure of the dashboard as JSON-ready data, in a fixed number of queries."""
    tz = filters.timezone
    start, end = filters.starts_at, filters.ends_at
    starts_in = Q(starts_at__gte=start, starts_at__lt=end)
    held = Q(status__in=HELD)

    # Spaces open in the period, plus archived ones that still had bookings in it.
    booked_in_period = Reservation.objects.filter(space=OuterRef("pk"), starts_at__lt=end, ends_at__gt=start)
    spaces = list(
        _spaces(filters)
        .filter(Q(is_active=True, created_at__lt=end) | Exists(booked_in_period))
        .order_by("name", "pk")
        .values("pk", "name", "location")
    )
    space_ids = [space["pk"] for space in spaces]
    open_hours = space_open_hours(space_ids, start, end, tz)
    reservations = _reservations(space_ids)
    overlapping = reservations.filter(starts_at__lt=end, ends_at__gt=start)
    inside = Least(F("ends_at"), Value(end, output_field=DateTimeField())) - Greatest(
        F("starts_at"), Value(start, output_field=DateTimeField())
    )

    per_space = {
        row["space_id"]: row
        for row in overlapping.values("space_id").annotate(
            bookings=Count("pk", filter=starts_in & held),
            booked=Sum(inside, filter=held),
            revenue=Sum("price", filter=starts_in & held),
        )
    }
    space_rows = []
    for space in spaces:
        row = per_space.get(space["pk"], {})
        booked = as_hours(row.get("booked"))
        space_rows.append(
            {
                "id": space["pk"],
                "name": space["name"],
                "location": space["location"],
                "bookings": row.get("bookings", 0),
                "booked_hours": booked,
                "open_hours": open_hours[space["pk"]],
                "utilization": share(booked, open_hours[space["pk"]]),
                "revenue": as_money(row.get("revenue")),
            }
        )

    params = {
        "tz": organization.timezone,
        "start": start,
        "end": end,
        "held": list(HELD),
        "spaces": space_ids,
        "bucket": bucket,
        "cancelled": Reservation.Status.CANCELLED.value,
        "slot": SLOT_SECONDS,
    }
    with connection.cursor() as cursor:
        cursor.execute(HEATMAP_SQL, params)
        heat, lasted = _sweep(filters, {slot: (change, inside) for slot, change, inside in cursor.fetchall()})
        cursor.execute(TIMELINE_SQL, params)
        by_start = cursor.fetchall()
    timeline: dict[date, list] = {}
    statuses: dict[str, int] = {}
    lead_bands = [0] * len(LEAD_TIME_BANDS)
    for day, status, band, count, revenue in by_start:
        statuses[status] = statuses.get(status, 0) + count
        if band >= 0:
            lead_bands[band] += count
        figures = timeline.setdefault(day, [0, Decimal(0), 0])
        if status in HELD:
            figures[0] += count
            figures[1] += revenue
        elif status == Reservation.Status.CANCELLED:
            figures[2] += count

    heatmap = [
        {
            "weekday": WEEKDAY_NAMES[weekday - 1],
            "hour": hour,
            "booked_hours": round(heat.get((weekday, hour), 0.0), 2),
            "occupancy": share(heat.get((weekday, hour), 0.0), lasted.get((weekday, hour), 0.0) * len(spaces)),
        }
        for weekday in range(1, 8)
        for hour in range(24)
    ]
    nothing = (0, Decimal(0), 0)
    over_time = [
        {
            "period": day.isoformat(),
            "bookings": timeline.get(day, nothing)[0],
            "revenue": as_money(timeline.get(day, nothing)[1]),
            "cancellations": timeline.get(day, nothing)[2],
        }
        for day in _buckets(filters, bucket)
    ]

    total = sum(statuses.values())
    lead_time = [
        {"band": label, "bookings": lead_bands[index]} for index, (label, _low, _high) in enumerate(LEAD_TIME_BANDS)
    ]
    no_show_known = NO_SHOW in Reservation.Status.values

    bookers = list(
        overlapping.filter(held)
        .values("user_id")
        .annotate(bookings=Count("pk", filter=starts_in), booked=Sum(inside))
        .order_by("-bookings", "-booked", "user_id")[:TOP_BOOKERS]
    )
    people = {
        user["pk"]: user
        for user in User.objects.filter(pk__in=[b["user_id"] for b in bookers]).values("pk", "email", "full_name")
    }

    booked_total = round(sum((row["booked_hours"] for row in space_rows), 0.0), 2)
    open_total = round(sum((row["open_hours"] for row in space_rows), 0.0), 2)
    return {
        "organization": organization.name,
        "timezone": organization.timezone,
        "currency": organization.currency,
        "period": {
            "from": filters.first_day.isoformat(),
            "to": filters.last_day.isoformat(),
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
            "location": filters.location,
            "space": filters.space_id,
            "bucket": bucket,
        },
        "totals": {
            "bookings": sum(row["bookings"] for row in space_rows),
            "booked_hours": booked_total,
            "open_hours": open_total,
            "utilization": share(booked_total, open_total),
            "revenue": as_money(sum((Decimal(row["revenue"]) for row in space_rows), Decimal(0))),
            "reservations": total,
            "cancellations": statuses.get(Reservation.Status.CANCELLED, 0),
            "no_shows": statuses.get(NO_SHOW, 0) if no_show_known else None,
            "cancellation_rate": share(statuses.get(Reservation.Status.CANCELLED, 0), total),
            "no_show_rate": share(statuses.get(NO_SHOW, 0), total) if no_show_known else None,
        },
        "statuses": [
            {"status": status, "reservations": statuses.get(status, 0)} for status in Reservation.Status.values
        ],
        "spaces": space_rows,
        "heatmap": heatmap,
        "over_time": over_time,
        "lead_time": lead_time,
        "top_spaces": sorted(space_rows, key=lambda row: (-row["booked_hours"], -row["bookings"], row["name"]))[
            :TOP_SPACES
        ],
        "top_bookers": [
            {
                "user_id": booker["user_id"],
                "email": people.get(booker["user_id"], {}).get("email", ""),
                "full_name": people.get(booker["user_id"], {}).get("full_name", ""),
                "bookings": booker["bookings"],
                "booked_hours": as_hours(booker["booked"]),
            }
            for booker in bookers
        ],
    }


EXPORT_COLUMNS = ("id", "space", "location", "booker_email", "booker_name", "starts_at", "ends_at", "status", "price")


def analytics_booking_rows(*, filters: AnalyticsFilters) -> Iterator[list[Any]]:
    """One row per reservation starting in the period (any status), oldest first, times in the organization's
    zone as ISO 8601 with their offset. Streams from the database in chunks: a year can be large."""
    tz = filters.timezone
    rows = (
        Reservation.objects.filter(
            space__in=_spaces(filters), starts_at__gte=filters.starts_at, starts_at__lt=filters.ends_at
        )
        .order_by("starts_at", "pk")
        .values_list(
            "pk",
            "space__name",
            "space__location",
            "user__email",
            "user__full_name",
            "starts_at",
            "ends_at",
            "status",
            "price",
        )
    )
    for pk, space, location, email, name, starts_at, ends_at, status, price in rows.iterator(chunk_size=2000):
        yield [
            pk,
            space,
            location,
            email or "",
            name or "",
            starts_at.astimezone(tz).isoformat(),
            ends_at.astimezone(tz).isoformat(),
            status,
            "" if price is None else str(price),
        ]


def analytics_export_filename(filters: AnalyticsFilters, extension: str) -> str:
    return f"bookings-{filters.first_day.isoformat()}-{filters.last_day.isoformat()}.{extension}"


def organization_today(organization: Organization, now: datetime | None = None) -> date:
    """Today in the organization's zone (the default period is its current month)."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(organization.timezone)).date()


def analytics_bookings_csv(*, filters: AnalyticsFilters) -> str:
    out = io.StringIO()
    writer = SpreadsheetSafeWriter(out)
    writer.writerow(list(EXPORT_COLUMNS))
    writer.writerows(analytics_booking_rows(filters=filters))
    return out.getvalue()


def analytics_bookings_xlsx(*, filters: AnalyticsFilters) -> bytes:
    """The same rows as an Excel workbook (openpyxl's write-only mode keeps memory flat), every text cell
    defused like the CSV's; prices are numbers so that a spreadsheet can sum them."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Bookings")
    sheet.append(list(EXPORT_COLUMNS))
    price_column = EXPORT_COLUMNS.index("price")
    for row in analytics_booking_rows(filters=filters):
        row[price_column] = Decimal(row[price_column]) if row[price_column] else None
        sheet.append([spreadsheet_safe(cell) for cell in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def analytics_filter_choices() -> dict[str, list]:
    """What the dashboard's filters offer: the locations spaces name, and the spaces (two queries)."""
    locations = list(
        Space.objects.exclude(location="").order_by("location").values_list("location", flat=True).distinct()
    )
    spaces = list(Space.objects.order_by("name", "pk").values_list("pk", "name"))
    return {"locations": locations, "spaces": spaces}
