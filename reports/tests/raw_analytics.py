"""The dashboard's figures computed from scratch from the reservations: the aggregation the day rollups replaced
(reports.analytics before them), kept as the reference the rollup path must equal (test_rollups.py) and as the
"before" of bench/analytics.py."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q

from accounts.models import User
from reports.analytics import (
    LEAD_TIME_BANDS,
    NO_SHOW,
    TOP_SPACES,
    AnalyticsFilters,
    Bucket,
    _buckets,
    _spaces,
)
from reports.selectors import HELD, TOP_BOOKERS, as_money, share, space_open_hours
from reservations.models import Reservation
from spaces.hours import WEEKDAY_NAMES
from tenants.models import Organization

SLOT_SECONDS = 900  # every zone's offset is a whole number of quarter hours

# The whole dashboard reads the period's reservations in two passes, each a single hash aggregation whose groups
# are far fewer than the rows (at design size, 200,000 reservations make 11,000 and 23,000 groups); the second
# folds its groups further in the same statement. The four passes this replaced, each with per-row time-zone or
# interval arithmetic, cost PostgreSQL 1.7x the CPU (bench/analytics.py; README, "Benchmarks"). Both read the
# reservations *overlapping* the period: those starting in it are a subset, and every space with one is among
# the dashboard's spaces, so without a location or space filter the list of spaces is not tested on every row.
#
# 1. Held (confirmed, completed) reservations per space and booker: bookings and revenue of those starting in
#    the period, and the booked seconds inside it (utilization, top spaces, top bookers).
PER_SPACE_AND_BOOKER_SQL = """
    SELECT r.space_id, r.user_id,
           COUNT(*) FILTER (WHERE r.starts_at >= %(start)s),
           SUM(date_part('epoch', LEAST(r.ends_at, %(end)s)) - date_part('epoch', GREATEST(r.starts_at, %(start)s))),
           SUM(r.price) FILTER (WHERE r.starts_at >= %(start)s)
    FROM reservations_reservation r
    WHERE r.status = ANY(%(held)s) AND r.starts_at < %(end)s AND r.ends_at > %(start)s {spaces}
    GROUP BY 1, 2
"""
# 2. Every reservation grouped by its shape (start, end, status, lead-time band): bookings share times, so this is
#    a row per distinct shape. From those few rows, in the same statement: the heatmap's events (held ones, +1
#    at their clipped start and -1 at their clipped end, summed per quarter hour of real time with each event's
#    signed seconds up to its quarter's end, integrated by _sweep) and, for those starting in the period, the
#    timeline per local day or week, status and band (statuses and lead times too). The band is the index of the
#    reservation's LEAD_TIME_BANDS band, -1 when it was booked after it started (width_bucket finds it in one
#    pass over the bands' lower bounds); date_part gives double precision where EXTRACT(EPOCH ...) gives numeric.
_BAND_BOUNDS = ",".join(str(int(low.total_seconds())) for _label, low, _high in LEAD_TIME_BANDS)
BY_SHAPE_SQL = f"""
    WITH shape AS MATERIALIZED (
        SELECT r.starts_at, r.ends_at, r.status,
               width_bucket(date_part('epoch', r.starts_at - r.created_at), ARRAY[{_BAND_BOUNDS}]::float8[]) - 1
                   AS band,
               COUNT(*) AS n, SUM(r.price) AS revenue
        FROM reservations_reservation r
        WHERE r.starts_at < %(end)s AND r.ends_at > %(start)s {{spaces}}
        GROUP BY 1, 2, 3, 4
    )
    SELECT slot, NULL::date, NULL, NULL::int, SUM(n)::int, SUM(n * ((slot + 1) * %(slot)s - at)), NULL::numeric
    FROM (
        SELECT date_part('epoch', GREATEST(starts_at, %(start)s)) AS at, n FROM shape WHERE status = ANY(%(held)s)
        UNION ALL
        SELECT date_part('epoch', LEAST(ends_at, %(end)s)), -n FROM shape WHERE status = ANY(%(held)s)
    ) AS event
    CROSS JOIN LATERAL (SELECT FLOOR(at / %(slot)s)::bigint AS slot) AS quarter
    GROUP BY slot
    UNION ALL
    SELECT NULL, (date_trunc(%(bucket)s, starts_at, %(tz)s) AT TIME ZONE %(tz)s)::date, status, band, SUM(n)::int,
           NULL, COALESCE(SUM(revenue), 0)
    FROM shape
    WHERE starts_at >= %(start)s
    GROUP BY 2, 3, 4
"""  # noqa: S608 (built from constants)
_ONLY_SPACES = "AND r.space_id = ANY(%(spaces)s::bigint[])"


def _sweep(
    filters: AnalyticsFilters, events: dict[int, tuple[int, float]]
) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], float]]:
    """Booked hours per local (ISO weekday, hour), and how many hours each such cell lasted in the period.

    `events` maps a quarter hour of real time (epoch seconds // SLOT_SECONDS) to (how many reservations start
    minus end in it, their signed seconds up to its end). Walks the period's quarter hours in real time,
    integrating how many reservations were running, and puts each quarter into the local hour it shows, so a day
    of 23 or 25 hours is counted as it happened: on the autumn change the repeated hour gets two hours' worth.
    """
    booked = [0.0] * 168  # per cell, (ISO weekday - 1) * 24 + hour: lists, as this loop runs per quarter hour
    quarters = [0] * 168
    first = int(filters.starts_at.timestamp()) // SLOT_SECONDS
    last = -(-int(filters.ends_at.timestamp()) // SLOT_SECONDS)
    running = 0
    offset = 0
    tz = filters.timezone
    for slot in range(first, last):
        seconds = slot * SLOT_SECONDS
        if slot == first or seconds % 3600 == 0:  # zones change offset on whole UTC hours
            offset = int(datetime.fromtimestamp(seconds, tz).utcoffset().total_seconds())
        local = seconds + offset
        cell = (local // 86400 + 3) % 7 * 24 + local % 86400 // 3600  # 1970-01-01 was a Thursday (ISO day 4)
        quarters[cell] += 1
        event = events.get(slot)
        if event is not None:
            booked[cell] += (running * SLOT_SECONDS + event[1]) / 3600
            running += event[0]
        elif running:
            booked[cell] += running * SLOT_SECONDS / 3600
    cells = [(cell // 24 + 1, cell % 24) for cell in range(168)]
    lasted = {cells[cell]: count * SLOT_SECONDS / 3600 for cell, count in enumerate(quarters) if count}
    return {cells[cell]: hours for cell, hours in enumerate(booked) if hours}, lasted


def raw_analytics_data(
    *, organization: Organization, filters: AnalyticsFilters, bucket: Bucket = "day"
) -> dict[str, Any]:
    """The dashboard's figures aggregated from the reservations themselves, as before the rollups."""
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
        "tz": organization.timezone,
        "start": start,
        "end": end,
        "held": list(HELD),
        "spaces": space_ids,
        "bucket": bucket,
        "slot": SLOT_SECONDS,
    }
    only = _ONLY_SPACES if filters.location or filters.space_id is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(PER_SPACE_AND_BOOKER_SQL.format(spaces=only), params)
        per_space_and_booker = cursor.fetchall()
        cursor.execute(BY_SHAPE_SQL.format(spaces=only), params)
        by_shape = cursor.fetchall()

    per_space: dict[int, list] = {}
    per_booker: dict[int, list] = {}
    for space_id, user_id, bookings, seconds, revenue in per_space_and_booker:
        figures = per_space.setdefault(space_id, [0, 0.0, Decimal(0)])
        figures[0] += bookings
        figures[1] += seconds
        figures[2] += revenue or 0
        figures = per_booker.setdefault(user_id, [0, 0.0])
        figures[0] += bookings
        figures[1] += seconds
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

    events: dict[int, tuple[int, float]] = {}
    timeline: dict[date, list] = {}
    statuses: dict[str, int] = {}
    lead_bands = [0] * len(LEAD_TIME_BANDS)
    for slot, day, status, band, count, inside, revenue in by_shape:
        if slot is not None:
            events[slot] = (count, inside)
            continue
        statuses[status] = statuses.get(status, 0) + count
        if band >= 0:
            lead_bands[band] += count
        figures = timeline.setdefault(day, [0, Decimal(0), 0])
        if status in HELD:
            figures[0] += count
            figures[1] += revenue
        elif status == Reservation.Status.CANCELLED:
            figures[2] += count
    heat, lasted = _sweep(filters, events)

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

    bookers = sorted(per_booker.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))[:TOP_BOOKERS]
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
