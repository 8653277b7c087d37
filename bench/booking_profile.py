"""One booking request end to end, in process: CPU per request, round trips, and where the CPU goes.

    .venv/bin/python bench/booking_profile.py [--requests 300] [--role owner|member] [--profile 25]

Calls the WSGI application as the web server does (the bench organization's Host header, a bearer token), booking
random free slots as bench/wrk/book.lua does, on the organization `bench/run.py` seeds (run that once first).
Prints the statuses, the SQL statements of one request, CPU ms per request (this process, and its PostgreSQL
backend when it runs on this machine) and, with `--profile N`, cProfile's top functions over N requests.
Bookings it made are deleted afterwards. A benchmark, not a test: it asserts nothing.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def backend_cpu_seconds(pid: int) -> float:
    """User and system CPU of a PostgreSQL backend on this machine (/proc)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--role", choices=("owner", "member"), default="owner")
    parser.add_argument("--profile", type=int, default=0, help="cProfile this many requests and print the top")
    parser.add_argument("--idempotency-key", action="store_true", help="send a fresh Idempotency-Key each time")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spacemanager.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DEBUG", "false")  # as served: no SQL kept per query
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Membership
    from accounts.tokens import tokens_for_membership
    from reservations.models import Reservation
    from spacemanager.wsgi import application
    from spaces.models import Space
    from tenants.models import Organization, OutboxMessage

    organization = Organization.objects.get(slug="bench")
    connection.set_tenant(organization)
    space_ids = list(Space.objects.filter(is_active=True).exclude(name="Race room").values_list("id", flat=True))
    connection.set_schema_to_public()
    membership = Membership.objects.select_related("user").filter(organization=organization, role=args.role).first()
    token = tokens_for_membership(membership)["access"]
    rng = random.Random(11)
    started_at = datetime.now(UTC)

    def body() -> bytes:
        day = datetime.now(UTC).date() + timedelta(days=rng.randint(1, 300))
        while day.weekday() >= 5:
            day += timedelta(days=1)
        starts = datetime(day.year, day.month, day.day, rng.randint(8, 18), rng.choice((0, 30)), tzinfo=UTC)
        ends = starts + timedelta(minutes=rng.choice((30, 60)))
        payload = {
            "space": rng.choice(space_ids),
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
            "title": "Bench",
            "attendees": 1,
        }
        return json.dumps(payload).encode()

    def book() -> tuple[int, bytes]:
        data = body()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/reservations",
            "QUERY_STRING": "",
            "SERVER_NAME": organization.host,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": organization.host,
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)),
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(data),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        if args.idempotency_key:
            environ["HTTP_IDEMPOTENCY_KEY"] = f"bench-{time.time_ns()}-{rng.random()}"
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer["status"] = int(status.split()[0])

        content = b"".join(application(environ, start_response))
        return answer["status"], content

    try:
        for _ in range(20):  # warm up: imports, compiled SQL, prepared statements, connection
            book()
        with CaptureQueriesContext(connection) as queries:
            status, _content = book()
        print(f"one request: {status}, {len(queries)} statements")
        for query in queries.captured_queries:
            print("  ", query["sql"][:160])
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (backend,) = cursor.fetchone()
        postgres_before = backend_cpu_seconds(backend)
        statuses: dict[int, int] = {}
        cpu, wall = [], []
        for _ in range(args.requests):
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            status, _content = book()
            cpu.append(time.process_time() - cpu_start)
            wall.append(time.perf_counter() - wall_start)
            statuses[status] = statuses.get(status, 0) + 1
        postgres_ms = (backend_cpu_seconds(backend) - postgres_before) * 1000 / args.requests
        print(
            f"{args.requests} requests ({args.role}): statuses {statuses}; CPU ms per request: mean "
            f"{statistics.mean(cpu) * 1000:.2f}, median {statistics.median(cpu) * 1000:.2f}, PostgreSQL's backend "
            f"{postgres_ms:.2f}; wall median {statistics.median(wall) * 1000:.2f} ms"
        )
        # PostgreSQL plans a prepared statement once (a generic plan) when that plan looks as cheap as one made
        # for each execution's values; a statement planned on every execution pays its planning every time.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT generic_plans, custom_plans, statement FROM pg_prepared_statements "
                "WHERE custom_plans > generic_plans ORDER BY custom_plans DESC"
            )
            for generic, custom, statement in cursor.fetchall():
                print(f"planned on every execution ({custom} custom, {generic} generic): {statement[:150]}")
        if args.profile:
            profiler = cProfile.Profile(time.process_time)  # CPU, not the waits for PostgreSQL
            profiler.enable()
            for _ in range(args.profile):
                book()
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
            stats.print_stats(70)
            stats.sort_stats("tottime").print_stats(40)
            print(out.getvalue())
    finally:
        connection.set_tenant(organization)
        deleted, _ = Reservation.objects.filter(created_at__gte=started_at).delete()
        connection.set_schema_to_public()
        OutboxMessage.objects.filter(created_at__gte=started_at).delete()
        print(f"deleted {deleted} rows made by this run")


if __name__ == "__main__":
    main()
