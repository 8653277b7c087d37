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

Every figure comes from a fixed number of queries whatever the period or the number of bookings (tests assert
it): spaces, opening hours, one read of the day rollups (per space, per day or week, per weekday, the top
bookers), the top bookers' names.
"""

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.contrib.postgres.aggregates import StringAgg
from django.db import connection
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Concat
from openpyxl import Workbook

from accounts.models import User
from equipment.models import Allocation
from reports.selectors import (
    HELD,
    TOP_BOOKERS,
    SpreadsheetSafeWriter,
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


SLOT_SECONDS = 900  # every zone's offset is a whole number of quarter hours

# The dashboard reads the day rollups (reports.models.SpaceDay, BookerDay), which the database keeps current on
# every reservation write (migration reports.0003), in one statement: at design size a year is 44,000 space-days
# and 2,400 booker-days instead of 200,000 reservations aggregated per row with time-zone arithmetic (README,
# "Benchmarks"). A period is whole local days, so its figures are sums of whole rollup rows: bookings, revenue,
# statuses and lead times of the reservations starting on those days; the held seconds inside them, per space,
# per booker and per local hour. Two passes over the period's space-days: per space, and per day (folded here into
# weeks and weekdays, at most 366 rows). With a location or space, the top bookers come from the reservations of those
# spaces (the booker rollup is not per space).
_STATUS_SUMS = ", ".join(f"SUM({status})" for status in Reservation.Status.values)
_LEAD_SUMS = ", ".join(f"SUM(lead_{band})" for band in range(len(LEAD_TIME_BANDS)))
_HOUR_SUMS = ", ".join(f"SUM(h{hour:02})" for hour in range(24))
_IN_PERIOD = "day >= %(first_day)s AND day <= %(last_day)s"
_TOP_BOOKERS_ORDER = f"ORDER BY 4 DESC, 5 DESC, 2 LIMIT {TOP_BOOKERS}"
ROLLUP_SQL = f"""
    SELECT 'space', space_id, NULL::date, ARRAY[SUM(confirmed + completed)], ARRAY[SUM(held_seconds)],
           SUM(held_revenue)
    FROM reports_spaceday WHERE {_IN_PERIOD} {{spaces}} GROUP BY space_id
    UNION ALL
    SELECT 'day', NULL, day, ARRAY[{_STATUS_SUMS}, {_LEAD_SUMS}], ARRAY[{_HOUR_SUMS}], SUM(held_revenue)
    FROM reports_spaceday WHERE {_IN_PERIOD} {{spaces}} GROUP BY day
    UNION ALL
    ({{bookers}})
"""  # noqa: S608 (built from constants)
_ONLY_SPACES = "AND space_id = ANY(%(spaces)s::bigint[])"
TOP_BOOKERS_SQL = f"""
    SELECT 'booker', user_id, NULL::date, ARRAY[SUM(bookings)]::bigint[], ARRAY[SUM(held_seconds)], NULL::numeric
    FROM reports_bookerday WHERE {_IN_PERIOD} GROUP BY user_id {_TOP_BOOKERS_ORDER}
"""  # noqa: S608 (built from constants)
# The same figures from the reservations of the chosen spaces: held ones overlapping the period, their seconds
# inside it, counted as bookings when they start in it.
TOP_BOOKERS_OF_SPACES_SQL = f"""
    SELECT 'booker', user_id, NULL::date, ARRAY[COUNT(*) FILTER (WHERE starts_at >= %(start)s)]::bigint[],
           ARRAY[SUM(date_part('epoch', LEAST(ends_at, %(end)s)) - date_part('epoch', GREATEST(starts_at, %(start)s)))],
           NULL::numeric
    FROM reservations_reservation
    WHERE status = ANY(%(held)s) AND starts_at < %(end)s AND ends_at > %(start)s {_ONLY_SPACES}
    GROUP BY user_id {_TOP_BOOKERS_ORDER}
"""  # noqa: S608 (built from constants)


def _cell_hours(filters: AnalyticsFilters) -> dict[tuple[int, int], float]:
    """How many hours each local (ISO weekday, hour) cell lasted in the period, daylight saving included.

    A day whose clock runs 24 plain hours gives each of its cells one hour; on a day the offset changes, its
    quarter hours of real time are put into the local hour they show, so on the autumn change the repeated hour
    lasts two hours and on the spring change the skipped one none (as the rollups count booked time).
    """
    quarters = [0] * 168  # per cell, (ISO weekday - 1) * 24 + hour
    tz = filters.timezone
    day_start = filters.starts_at
    for offset in range(filters.days):
        day = filters.first_day + timedelta(days=offset)
        day_end = local_instant(day + timedelta(days=1), timedelta(0), tz, entering=True)
        first = int(day_start.timestamp()) // SLOT_SECONDS
        last = -(-int(day_end.timestamp()) // SLOT_SECONDS)
        if day_end - day_start == timedelta(days=1) and (
            day_start.astimezone(tz).utcoffset() == day_end.astimezone(tz).utcoffset()
        ):
            base = day.weekday() * 24
            for hour in range(24):
                quarters[base + hour] += 4
            day_start = day_end
            continue
        for slot in range(first, last):
            seconds = slot * SLOT_SECONDS
            local = seconds + int(datetime.fromtimestamp(seconds, tz).utcoffset().total_seconds())
            quarters[(local // 86400 + 3) % 7 * 24 + local % 86400 // 3600] += 1  # 1970-01-01: a Thursday
        day_start = day_end
    return {(cell // 24 + 1, cell % 24): count * SLOT_SECONDS / 3600 for cell, count in enumerate(quarters) if count}


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
    params = {
        "first_day": filters.first_day,
        "last_day": filters.last_day,
        "start": start,
        "end": end,
        "held": list(HELD),
        "spaces": space_ids,
    }
    narrowed = bool(filters.location) or filters.space_id is not None
    only = _ONLY_SPACES if narrowed else ""
    bookers_sql = TOP_BOOKERS_OF_SPACES_SQL if narrowed else TOP_BOOKERS_SQL
    with connection.cursor() as cursor:
        cursor.execute(ROLLUP_SQL.format(spaces=only, bookers=bookers_sql), params)
        rollup = cursor.fetchall()

    per_space: dict[int, tuple[int, float, Decimal]] = {}
    timeline: dict[date, list] = {}
    statuses: dict[str, int] = {}
    lead_bands = [0] * len(LEAD_TIME_BANDS)
    heat: dict[tuple[int, int], float] = {}
    bookers: list[tuple[int, tuple[int, float]]] = []
    status_names = Reservation.Status.values

    def empty_bucket() -> list:
        return [0, Decimal(0), 0]

    for kind, key, day, counts, seconds, revenue in rollup:
        if kind == "space":
            per_space[key] = (counts[0], seconds[0], revenue)
        elif kind == "day":
            for status, count in zip(status_names, counts, strict=False):
                statuses[status] = statuses.get(status, 0) + count
            for band, count in enumerate(counts[len(status_names) :]):
                lead_bands[band] += count
            by_status = dict(zip(status_names, counts, strict=False))
            figures = timeline.setdefault(
                day - timedelta(days=day.weekday()) if bucket == "week" else day, empty_bucket()
            )
            figures[0] += sum(by_status[status] for status in HELD)
            figures[1] += revenue
            figures[2] += by_status[Reservation.Status.CANCELLED]
            weekday = day.isoweekday()
            for hour, booked in enumerate(seconds):
                if booked:
                    heat[(weekday, hour)] = heat.get((weekday, hour), 0.0) + booked
        else:
            bookers.append((key, (counts[0], seconds[0])))
    space_rows = []
    for space in spaces:
        bookings, seconds, revenue = per_space.get(space["pk"], (0, 0.0, Decimal(0)))
        booked = round(seconds / 3600, 2)
        space_rows.append(
            {
                "id": space["pk"],
                "name": space["name"],
                "location": space["location"],
                "bookings": bookings,
                "booked_hours": booked,
                "open_hours": open_hours[space["pk"]],
                "utilization": share(booked, open_hours[space["pk"]]),
                "revenue": as_money(revenue),
            }
        )
    lasted = _cell_hours(filters)

    heatmap = [
        {
            "weekday": WEEKDAY_NAMES[weekday - 1],
            "hour": hour,
            "booked_hours": round(heat.get((weekday, hour), 0.0) / 3600, 2),
            "occupancy": share(heat.get((weekday, hour), 0.0) / 3600, lasted.get((weekday, hour), 0.0) * len(spaces)),
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

    people = {
        user["pk"]: user
        for user in User.objects.filter(pk__in=[user_id for user_id, _figures in bookers]).values(
            "pk", "email", "full_name"
        )
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
                "user_id": user_id,
                "email": people.get(user_id, {}).get("email", ""),
                "full_name": people.get(user_id, {}).get("full_name", ""),
                "bookings": bookings,
                "booked_hours": round(seconds / 3600, 2),
            }
            for user_id, (bookings, seconds) in bookers
        ],
    }


EXPORT_COLUMNS = (
    *("id", "space", "location", "booker_email", "booker_name", "starts_at", "ends_at", "status", "price"),
    "equipment",
)


def _equipment_booked() -> Subquery:
    """A reservation's equipment as one cell, "2 x Monitor; 1 x Projector" by item name: one aggregate per row
    over the allocations' (reservation, item) unique index, so the export stays one streamed query."""
    line = Concat(Cast("quantity", CharField()), Value(" x "), "item__name")
    return Subquery(
        Allocation.objects.filter(reservation=OuterRef("pk"))
        .values("reservation")
        .annotate(lines=StringAgg(line, delimiter="; ", order_by="item__name"))
        .values("lines")
    )


def analytics_booking_rows(*, filters: AnalyticsFilters) -> Iterator[list[Any]]:
    """One row per reservation starting in the period (any status), oldest first, times in the organization's
    zone as ISO 8601 with their offset, and the equipment booked with it. Streams from the database in chunks:
    a year can be large."""
    tz = filters.timezone
    rows = (
        Reservation.objects.filter(
            space__in=_spaces(filters), starts_at__gte=filters.starts_at, starts_at__lt=filters.ends_at
        )
        .annotate(equipment=_equipment_booked())
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
            "equipment",
        )
    )
    for pk, space, location, email, name, starts_at, ends_at, status, price, equipment in rows.iterator(
        chunk_size=2000
    ):
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
            equipment or "",
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
