"""The yardstick: a minimal FastAPI + asyncpg implementation of the two benchmarked endpoints.

DESIGN.md asks SpaceManager's booking (POST /api/v1/reservations) and availability
(GET /api/v1/spaces/{id}/availability) to serve at least as many requests per second as this stack, which the
original design used. It does the same work per request against the same database: find the organization by
host (cached, as the product does), verify the organization-bound JWT and the membership, apply the booking
rules (naive times, order, past, active space, capacity, durations, days ahead, opening hours in the
organization's time zone), insert under the same exclusion constraint and answer 409 with the clashing
intervals, or list busy and free intervals. It is not part of the product.

Run: DATABASE_URL=... SECRET_KEY=... uvicorn bench.baseline_fastapi:app --workers N
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
ACTIVE = ("pending", "confirmed")

app = FastAPI()
pool: asyncpg.Pool | None = None
tenants: dict[str, tuple[int, str, str]] = {}


def json(status: int, body: object) -> Response:
    return Response(orjson.dumps(body, default=str), status_code=status, media_type="application/json")


@app.on_event("startup")
async def startup() -> None:
    global pool
    pool = await asyncpg.create_pool(DATABASE_URL, min_size=2, max_size=8)


@app.get("/health")
async def health() -> Response:
    await pool.fetchval("SELECT 1")
    return json(200, {"status": "ok", "database": "ok"})


async def tenant_for(host: str) -> tuple[int, str, str] | None:
    hostname = host.split(":")[0]
    if hostname not in tenants:
        row = await pool.fetchrow(
            """SELECT o.id, o.schema_name, o.timezone FROM public.tenants_domain d
               JOIN public.tenants_organization o ON o.id = d.tenant_id WHERE d.domain = $1 AND o.is_active""",
            hostname,
        )
        if row is None:
            return None
        tenants[hostname] = (row["id"], row["schema_name"], row["timezone"])
    return tenants[hostname]


async def authenticate(request: Request, conn, organization_id: int) -> int | None:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        claims = jwt.decode(header[7:], SECRET_KEY, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    if claims.get("org") != organization_id or claims.get("token_type") != "access":
        return None
    member = await conn.fetchval(
        """SELECT m.user_id FROM public.accounts_membership m JOIN public.accounts_user u ON u.id = m.user_id
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


@app.post("/api/v1/reservations")
async def create_reservation(request: Request) -> Response:
    tenant = await tenant_for(request.headers.get("host", ""))
    if tenant is None:
        return json(404, {"detail": "No organization lives at this address.", "code": "not_found"})
    organization_id, schema, tz_name = tenant
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return json(400, {"detail": "JSON parse error", "code": "parse_error"})
    async with pool.acquire() as conn:
        user_id = await authenticate(request, conn, organization_id)
        if user_id is None:
            return json(401, {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"})
        starts_at, ends_at = parse_instant(payload.get("starts_at")), parse_instant(payload.get("ends_at"))
        if starts_at is None or ends_at is None:
            return json(400, {"starts_at": ["Give the time with its UTC offset."], "code": "invalid"})
        if ends_at <= starts_at:
            return json(400, {"ends_at": ["The end must be after the start."], "code": "invalid"})
        now = datetime.now(UTC)
        if starts_at < now:
            return json(400, {"starts_at": ["This start time is in the past."], "code": "invalid"})
        async with conn.transaction():
            await conn.execute(f'SET LOCAL search_path = "{schema}", public')
            space = await conn.fetchrow(
                "SELECT * FROM spaces_space WHERE id = $1 FOR SHARE", int(payload.get("space") or 0)
            )
            if space is None or not space["is_active"]:
                return json(400, {"space": ["No such space here."], "code": "invalid"})
            duration = ends_at - starts_at
            attendees = int(payload.get("attendees") or 1)
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
            if not within_opening_hours(hours, starts_at, ends_at, ZoneInfo(tz_name)):
                return json(400, {"starts_at": ["Outside opening hours."], "code": "invalid"})
            rate = space["hourly_rate"]
            price = (rate * Decimal(duration.total_seconds()) / 3600).quantize(Decimal("0.01")) if rate else None
            try:
                async with conn.transaction():
                    row = await conn.fetchrow(
                        """INSERT INTO reservations_reservation (space_id, user_id, title, notes, attendees, starts_at,
                           ends_at, status, price, sequence, created_at, updated_at)
                           VALUES ($1, $2, $3, '', $4, $5, $6, 'confirmed', $7, 0, now(), now()) RETURNING id""",
                        space["id"],
                        user_id,
                        str(payload.get("title") or ""),
                        attendees,
                        starts_at,
                        ends_at,
                        price,
                    )
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
                        "conflicts": [{"starts_at": c["starts_at"], "ends_at": c["ends_at"]} for c in clashes],
                    },
                )
    return json(
        201,
        {
            "id": row["id"],
            "space": space["id"],
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "status": "confirmed",
            "price": price,
        },
    )


@app.get("/api/v1/spaces/{space_id}/availability")
async def availability(space_id: int, request: Request, start: str = "", end: str = "") -> Response:
    tenant = await tenant_for(request.headers.get("host", ""))
    if tenant is None:
        return json(404, {"detail": "No organization lives at this address.", "code": "not_found"})
    organization_id, schema, tz_name = tenant
    window_start, window_end = parse_instant(start), parse_instant(end)
    if window_start is None or window_end is None or window_end <= window_start:
        return json(400, {"start": ["Give start and end with their UTC offsets."], "code": "invalid"})
    if window_end - window_start > timedelta(days=31):
        return json(400, {"end": ["At most 31 days."], "code": "invalid"})
    tz = ZoneInfo(tz_name)
    async with pool.acquire() as conn:
        user_id = await authenticate(request, conn, organization_id)
        if user_id is None:
            return json(401, {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"})
        async with conn.transaction():
            await conn.execute(f'SET LOCAL search_path = "{schema}", public')
            space = await conn.fetchrow("SELECT id FROM spaces_space WHERE id = $1", space_id)
            if space is None:
                return json(404, {"detail": "Not found.", "code": "not_found"})
            hours = await conn.fetch(
                """SELECT weekday, opens_at, closes_at FROM spaces_openinghours WHERE space_id = $1
                   ORDER BY weekday, opens_at""",
                space_id,
            )
            busy = await conn.fetch(
                """SELECT starts_at, ends_at, user_id FROM reservations_reservation WHERE space_id = $1
                   AND status = ANY($2::text[]) AND tstzrange(starts_at, ends_at, '[)') && tstzrange($3, $4, '[)')
                   ORDER BY starts_at""",
                space_id,
                list(ACTIVE),
                window_start,
                window_end,
            )
    open_intervals = []
    if not hours:
        open_intervals = [(window_start, window_end)]
    else:
        day = window_start.astimezone(tz).date()
        while datetime.combine(day, datetime.min.time(), tz) < window_end:
            for row in hours:
                if row["weekday"] == day.weekday():
                    opens = datetime.combine(day, row["opens_at"], tz)
                    closes_day = day + timedelta(days=1) if row["closes_at"].hour == 0 else day
                    closes = datetime.combine(closes_day, row["closes_at"], tz)
                    lo, hi = max(opens, window_start), min(closes, window_end)
                    if lo < hi:
                        open_intervals.append((lo, hi))
            day += timedelta(days=1)
    free = []
    for lo, hi in open_intervals:
        cursor = lo
        for reservation in busy:
            if reservation["ends_at"] <= cursor or reservation["starts_at"] >= hi:
                continue
            if reservation["starts_at"] > cursor:
                free.append((cursor, reservation["starts_at"]))
            cursor = max(cursor, reservation["ends_at"])
        if cursor < hi:
            free.append((cursor, hi))
    return json(
        200,
        {
            "space": space_id,
            "timezone": tz_name,
            "busy": [
                {
                    "starts_at": r["starts_at"].astimezone(tz).isoformat(),
                    "ends_at": r["ends_at"].astimezone(tz).isoformat(),
                    "mine": r["user_id"] == user_id,
                }
                for r in busy
            ],
            "free": [
                {"starts_at": a.astimezone(tz).isoformat(), "ends_at": b.astimezone(tz).isoformat()} for a, b in free
            ],
        },
    )
