"""The yardstick: a minimal FastAPI + asyncpg implementation of the two benchmarked endpoints.

DESIGN.md asks SpaceManager's booking (POST /api/v1/reservations) and availability
(GET /api/v1/spaces/{id}/availability) to serve at least as many requests per second as this stack, which the
original design used. It does the same work per request against the same database: find the organization by
host (cached, as the product does), verify the organization-bound JWT and the membership, apply the booking
rules (naive times, order, past, active space, capacity, durations, days ahead, opening hours in the
organization's time zone; title, notes and attendees), lock the space as the product does, insert under
the same exclusion constraint and answer 409 with the clashing intervals, writing the booking's notice to
the outbox in the same transaction, as the product does (tenants/outbox.py);
or list busy and free intervals. Both answers carry the product's fields for the viewer's role: a booking
answers with its space, booker, times, price and currency; availability names the booker, the title and the
reservation to owners and admins (one more join), as the product does. bench/run.py checks that both servers
give identical bodies before it measures. It is not part of the product.

Run: DATABASE_URL=... SECRET_KEY=... uvicorn bench.baseline_fastapi:app --workers N
(BENCH_APPLICATION_NAME names its PostgreSQL sessions, so that bench/run.py can count their CPU.)
"""

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import asyncpg
import jwt
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

DATABASE_URL = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
SECRET_KEY = os.environ["SECRET_KEY"]
APPLICATION_NAME = os.environ.get("BENCH_APPLICATION_NAME", "bench-fastapi")
ACTIVE = ("pending", "confirmed")
MANAGERS = ("owner", "admin")

app = FastAPI()
pool: asyncpg.Pool | None = None
tenants: dict[str, tuple[int, str, str, str]] = {}


def json(status: int, body: object) -> Response:
    return Response(orjson.dumps(body, default=str), status_code=status, media_type="application/json")


@app.on_event("startup")
async def startup() -> None:
    global pool
    pool = await asyncpg.create_pool(
        DATABASE_URL, min_size=2, max_size=8, server_settings={"application_name": APPLICATION_NAME}
    )


def isoformat_local(instant: datetime, tz: ZoneInfo) -> str:
    value = instant.astimezone(tz).isoformat()
    return value[:-6] + "Z" if value.endswith("+00:00") else value


NOTICE_TASK = "reservations.tasks.reservation_notice_send"


async def write_notice(conn, reservation_id: int, schema: str) -> None:
    """The product's notification write: the notice task as an outbox row, in the booking's transaction."""
    await conn.execute(
        """INSERT INTO public.tenants_outboxmessage (schema_name, task, args, created_at)
           VALUES ($1, $2, $3::jsonb, now())""",
        schema,
        NOTICE_TASK,
        orjson.dumps([reservation_id, "created", 0]).decode(),
    )


@app.get("/health")
async def health() -> Response:
    await pool.fetchval("SELECT 1")
    return json(200, {"status": "ok", "database": "ok"})


async def tenant_for(host: str) -> tuple[int, str, str, str] | None:
    hostname = host.split(":")[0]
    if hostname not in tenants:
        row = await pool.fetchrow(
            """SELECT o.id, o.schema_name, o.timezone, o.currency FROM public.tenants_domain d
               JOIN public.tenants_organization o ON o.id = d.tenant_id WHERE d.domain = $1 AND o.is_active""",
            hostname,
        )
        if row is None:
            return None
        tenants[hostname] = (row["id"], row["schema_name"], row["timezone"], row["currency"])
    return tenants[hostname]


async def authenticate(request: Request, conn, organization_id: int):
    """The member's user row and role (the product loads the membership with its user), or None."""
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        claims = jwt.decode(header[7:], SECRET_KEY, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    if claims.get("org") != organization_id or claims.get("token_type") != "access":
        return None
    member = await conn.fetchrow(
        """SELECT m.user_id, m.role, u.email, u.full_name FROM public.accounts_membership m
           JOIN public.accounts_user u ON u.id = m.user_id
           WHERE m.user_id = $1 AND m.organization_id = $2 AND u.is_active""",
        int(claims["user_id"]),
        organization_id,
    )
    return member


def parse_instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def within_opening_hours(hours, starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> bool:
    if not hours:
        return True
    cursor = starts_at
    while cursor < ends_at:
        local = cursor.astimezone(tz)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tz).astimezone(UTC)
        piece_end = min(ends_at, midnight)
        local_start = local.time()
        local_end = piece_end.astimezone(tz).time()
        day_covered = any(
            row["weekday"] == local.weekday()
            and row["opens_at"] <= local_start
            and ((row["closes_at"].hour == 0 and row["closes_at"].minute == 0) or local_end <= row["closes_at"])
            and (piece_end < midnight or (row["closes_at"].hour == 0 and row["closes_at"].minute == 0))
            for row in hours
        )
        if not day_covered:
            return False
        cursor = piece_end
    return True


def _merge_clip(intervals, lo, hi):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return [(max(start, lo), min(end, hi)) for start, end in merged if max(start, lo) < min(end, hi)]


def _attendees(value: object) -> int | None:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        return None
    return value


def _text(payload: dict, field: str, limit: int) -> str | None:
    value = payload.get(field, "")
    return value if isinstance(value, str) and len(value) <= limit else None


@app.post("/api/v1/reservations")
async def create_reservation(request: Request) -> Response:
    tenant = await tenant_for(request.headers.get("host", ""))
    if tenant is None:
        return json(404, {"detail": "No organization lives at this address.", "code": "not_found"})
    organization_id, schema, tz_name, currency = tenant
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return json(400, {"detail": "JSON parse error", "code": "parse_error"})
    if not isinstance(payload, dict):
        return json(400, {"detail": "Expected an object.", "code": "invalid"})
    tz = ZoneInfo(tz_name)
    async with pool.acquire() as conn:
        member = await authenticate(request, conn, organization_id)
        if member is None:
            return json(401, {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"})
        starts_at, ends_at = parse_instant(payload.get("starts_at")), parse_instant(payload.get("ends_at"))
        if starts_at is None or ends_at is None:
            return json(400, {"starts_at": ["Give the time with its UTC offset."], "code": "invalid"})
        title, notes = _text(payload, "title", 200), _text(payload, "notes", 5000)
        if title is None or notes is None:
            return json(400, {"title": ["At most 200 characters."], "code": "invalid"})
        attendees = _attendees(payload.get("attendees"))
        if attendees is None:
            return json(400, {"attendees": ["A whole number from 1."], "code": "invalid"})
        if ends_at <= starts_at:
            return json(400, {"ends_at": ["The end must be after the start."], "code": "invalid"})
        now = datetime.now(UTC)
        if starts_at < now:
            return json(400, {"starts_at": ["This start time is in the past."], "code": "invalid"})
        async with conn.transaction():
            await conn.execute(f'SET LOCAL search_path = "{schema}", public')
            space = await conn.fetchrow(
                "SELECT * FROM spaces_space WHERE id = $1 FOR NO KEY UPDATE", int(payload.get("space") or 0)
            )
            if space is None or not space["is_active"]:
                return json(400, {"space": ["No such space here."], "code": "invalid"})
            duration = ends_at - starts_at
            if attendees > space["capacity"]:
                return json(400, {"attendees": ["More attendees than the space holds."], "code": "invalid"})
            if not (
                timedelta(minutes=space["min_duration_minutes"])
                <= duration
                <= timedelta(minutes=space["max_duration_minutes"])
            ):
                return json(400, {"ends_at": ["Duration outside the space's limits."], "code": "invalid"})
            if starts_at > now + timedelta(days=space["max_days_ahead"]):
                return json(400, {"starts_at": ["Too far ahead."], "code": "invalid"})
            hours = await conn.fetch(
                "SELECT weekday, opens_at, closes_at FROM spaces_openinghours WHERE space_id = $1", space["id"]
            )
            if not within_opening_hours(hours, starts_at, ends_at, tz):
                return json(400, {"starts_at": ["Outside opening hours."], "code": "invalid"})
            rate = space["hourly_rate"]
            price = (rate * Decimal(duration.total_seconds()) / 3600).quantize(Decimal("0.01")) if rate else None
            status = "pending" if space["requires_approval"] else "confirmed"
            try:
                async with conn.transaction():
                    row = await conn.fetchrow(
                        """INSERT INTO reservations_reservation (space_id, user_id, title, notes, attendees, starts_at,
                           ends_at, status, price, sequence, created_at, updated_at)
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, now(), now())
                           RETURNING id, created_at, updated_at""",
                        space["id"],
                        member["user_id"],
                        title.strip(),
                        notes,
                        attendees,
                        starts_at,
                        ends_at,
                        status,
                        price,
                    )
                    await write_notice(conn, row["id"], schema)
            except asyncpg.ExclusionViolationError:
                clashes = await conn.fetch(
                    """SELECT starts_at, ends_at FROM reservations_reservation WHERE space_id = $1
                       AND status = ANY($2::text[])
                       AND tstzrange(starts_at, ends_at, '[)') && tstzrange($3, $4, '[)')""",
                    space["id"],
                    list(ACTIVE),
                    starts_at,
                    ends_at,
                )
                return json(
                    409,
                    {
                        "detail": "This space is already booked at that time.",
                        "code": "reservation_conflict",
                        "conflicts": [
                            {
                                "starts_at": isoformat_local(c["starts_at"], tz),
                                "ends_at": isoformat_local(c["ends_at"], tz),
                            }
                            for c in clashes
                        ],
                    },
                )
    return json(
        201,
        {
            "id": row["id"],
            "space": {"id": space["id"], "name": space["name"]},
            "user": {"id": member["user_id"], "email": member["email"], "full_name": member["full_name"]},
            "created_by": None,
            "title": title.strip(),
            "notes": notes,
            "attendees": attendees,
            "starts_at": isoformat_local(starts_at, tz),
            "ends_at": isoformat_local(ends_at, tz),
            "status": status,
            "price": None if price is None else str(price),
            "currency": currency,
            "created_at": isoformat_local(row["created_at"], tz),
            "updated_at": isoformat_local(row["updated_at"], tz),
            "cancelled_at": None,
            "decline_reason": "",
            "series": None,
            "checked_in_at": None,
            "equipment": [],  # the product answers the items booked with it: none here
        },
    )


@app.get("/api/v1/spaces/{space_id}/availability")
async def availability(space_id: int, request: Request, start: str = "", end: str = "") -> Response:
    tenant = await tenant_for(request.headers.get("host", ""))
    if tenant is None:
        return json(404, {"detail": "No organization lives at this address.", "code": "not_found"})
    organization_id, schema, tz_name, _currency = tenant
    window_start, window_end = parse_instant(start), parse_instant(end)
    if window_start is None or window_end is None or window_end <= window_start:
        return json(400, {"start": ["Give start and end with their UTC offsets."], "code": "invalid"})
    if window_end - window_start > timedelta(days=31):
        return json(400, {"end": ["At most 31 days."], "code": "invalid"})
    tz = ZoneInfo(tz_name)
    async with pool.acquire() as conn:
        member = await authenticate(request, conn, organization_id)
        if member is None:
            return json(401, {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"})
        manager = member["role"] in MANAGERS
        async with conn.transaction():
            await conn.execute(f'SET LOCAL search_path = "{schema}", public')
            space = await conn.fetchrow("SELECT id, is_active FROM spaces_space WHERE id = $1", space_id)
            if space is None:
                return json(404, {"detail": "Not found.", "code": "not_found"})
            hours = await conn.fetch(
                """SELECT weekday, opens_at, closes_at FROM spaces_openinghours WHERE space_id = $1
                   ORDER BY weekday, opens_at""",
                space_id,
            )
            if manager:
                busy = await conn.fetch(
                    """SELECT r.id, r.starts_at, r.ends_at, r.status, r.user_id, r.title, u.email, u.full_name
                       FROM reservations_reservation r JOIN public.accounts_user u ON u.id = r.user_id
                       WHERE r.space_id = $1 AND r.status = ANY($2::text[])
                       AND tstzrange(r.starts_at, r.ends_at, '[)') && tstzrange($3, $4, '[)')
                       ORDER BY r.starts_at, r.id""",
                    space_id,
                    list(ACTIVE),
                    window_start,
                    window_end,
                )
            else:
                busy = await conn.fetch(
                    """SELECT id, starts_at, ends_at, status, user_id, title FROM reservations_reservation
                       WHERE space_id = $1 AND status = ANY($2::text[])
                       AND tstzrange(starts_at, ends_at, '[)') && tstzrange($3, $4, '[)')
                       ORDER BY starts_at, id""",
                    space_id,
                    list(ACTIVE),
                    window_start,
                    window_end,
                )
            # Closures of every space (none chosen) or of this one, meeting the window: the product reads
            # them, answers them and keeps them out of the free time.
            closures = await conn.fetch(
                """SELECT c.starts_at, c.ends_at, c.reason FROM spaces_closure c
                   WHERE c.starts_at < $3 AND c.ends_at > $2
                   AND (NOT EXISTS (SELECT 1 FROM spaces_closure_spaces s WHERE s.closure_id = c.id)
                        OR EXISTS (SELECT 1 FROM spaces_closure_spaces s WHERE s.closure_id = c.id AND s.space_id = $1))
                   ORDER BY c.starts_at, c.id""",
                space_id,
                window_start,
                window_end,
            )
    if not hours:
        open_intervals = [(window_start, window_end)]
    else:
        opened = []
        day = window_start.astimezone(tz).date() - timedelta(days=1)
        while datetime.combine(day, datetime.min.time(), tz) < window_end:
            for row in hours:
                if row["weekday"] == day.weekday():
                    closes_day = day + timedelta(days=1) if row["closes_at"].hour == 0 else day
                    opened.append(
                        (datetime.combine(day, row["opens_at"], tz), datetime.combine(closes_day, row["closes_at"], tz))
                    )
            day += timedelta(days=1)
        open_intervals = _merge_clip(opened, window_start, window_end)
    free = []
    if space["is_active"]:
        for lo, hi in open_intervals:
            cursor = lo
            blocked = sorted([(r["starts_at"], r["ends_at"]) for r in busy] + [(c[0], c[1]) for c in closures])
            for blocked_from, blocked_to in blocked:
                if blocked_to <= cursor or blocked_from >= hi:
                    continue
                if blocked_from > cursor:
                    free.append((cursor, blocked_from))
                cursor = max(cursor, blocked_to)
            if cursor < hi:
                free.append((cursor, hi))
    user_id = member["user_id"]
    return json(
        200,
        {
            "space": space_id,
            "start": isoformat_local(window_start, tz),
            "end": isoformat_local(window_end, tz),
            "timezone": tz_name,
            "busy": [
                {
                    "starts_at": isoformat_local(r["starts_at"], tz),
                    "ends_at": isoformat_local(r["ends_at"], tz),
                    "status": r["status"],
                    "mine": r["user_id"] == user_id,
                    "reservation_id": r["id"] if manager or r["user_id"] == user_id else None,
                    "title": r["title"] if manager or r["user_id"] == user_id else None,
                    "user": {"id": r["user_id"], "full_name": r["full_name"], "email": r["email"]} if manager else None,
                }
                for r in busy
            ],
            "free": [{"starts_at": isoformat_local(a, tz), "ends_at": isoformat_local(b, tz)} for a, b in free],
            "closures": [
                {
                    "starts_at": isoformat_local(c["starts_at"], tz),
                    "ends_at": isoformat_local(c["ends_at"], tz),
                    "reason": c["reason"],
                }
                for c in closures
            ],
        },
    )
