"""SpaceManager's load benchmark: Django (granian) and the FastAPI + asyncpg baseline, side by side, in one run.

    .venv/bin/python bench/run.py [--duration 20] [--rounds 3] [--connections 16] [--skip-seed]
        [--workers 2] [--fastapi-workers 2] [--server granian|gunicorn]

It seeds (once) an organization "bench" with 500 spaces and 200,000 reservations (`seed_demo`), serves the
project as deployed (spacemanager.serve: granian, or gunicorn's gthread with the same processes and threads to
compare) and the baseline with
uvicorn, each with its best process count on two cores (same database), drives booking (POST
/api/v1/reservations) and availability (GET /api/v1/spaces/{id}/availability) with wrk, and prints
requests/s, p50/p95/p99 latency and CPU milliseconds per request, for each server's process tree and for its
PostgreSQL backends (told apart by `application_name`), plus sign-up time (POST /api/v1/auth/register).
Before measuring it checks that both servers answer the same availability bodies for an owner and a member,
and booking bodies with the same fields. Each endpoint runs `--rounds` times per server, the servers
alternating, and the medians are printed: the machine is shared, and alternating spreads a neighbour's load
over both; CPU per request is the figure that holds on a shared machine, requests/s the one that does not.
Bookings made during a run are deleted after it, so every run meets the same data. Results also go to
bench/results/.

Needs `wrk` (Debian package; `make bench` installs it) and bench/requirements.txt. It is a benchmark, not a
test: it asserts nothing, it measures.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SLUG = "bench"
SPACES = 500
RESERVATIONS = 200_000


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spacemanager.settings")
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, host: str, timeout: float = 120) -> None:  # a loaded machine starts slowly
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/health", headers={"Host": host})
            with urllib.request.urlopen(request, timeout=1):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int, host: str):
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        wait_until_up(port, host)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def post_json(port: int, host: str, path: str, payload: dict, token: str = "") -> tuple[int, dict, float]:
    headers = {"Host": host, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(payload).encode(), headers=headers, method="POST"
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            body, status = json.loads(response.read()), response.status
    except urllib.error.HTTPError as error:
        body, status = json.loads(error.read() or b"{}"), error.code
    return status, body, time.perf_counter() - started


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; fields from the 3rd (state) on


def tree_cpu_seconds(root: int) -> float:
    """CPU (user + system) of a process and its descendants, including children already reaped (cutime)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        fields = _stat_fields(pid)
        if fields is not None:
            total += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
        todo.extend(children.get(pid, []))
    return total / CLOCK_TICKS


def backends_cpu_seconds(application_name: str) -> dict[int, float]:
    """CPU of each PostgreSQL backend of one server (same machine), by pid."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application_name])
        pids = [pid for (pid,) in cursor.fetchall()]
    usage = {}
    for pid in pids:
        if (fields := _stat_fields(pid)) is not None:
            usage[pid] = sum(int(value) for value in fields[11:13]) / CLOCK_TICKS
    return usage


@contextmanager
def cpu_meter(server_pid: int, application_name: str, result: dict):
    app_before, db_before = tree_cpu_seconds(server_pid), backends_cpu_seconds(application_name)
    yield
    app_after, db_after = tree_cpu_seconds(server_pid), backends_cpu_seconds(application_name)
    # A backend that started during the run counts from 0; one that ended during it is lost (rare: both
    # servers keep their connections).
    db_seconds = sum(after - db_before.get(pid, 0.0) for pid, after in db_after.items())
    requests = max(result["requests"], 1)
    result["cpu_ms_per_request"] = {
        "app": (app_after - app_before) * 1000 / requests,
        "postgres": db_seconds * 1000 / requests,
    }


def run_wrk(
    script: str,
    port: int,
    env: dict[str, str],
    *,
    duration: int,
    connections: int,
    server_pid: int | None = None,
    application_name: str = "",
) -> dict:
    if server_pid is not None:
        result: dict = {}
        with cpu_meter(server_pid, application_name, result):
            result.update(run_wrk(script, port, env, duration=duration, connections=connections, application_name=""))
        return result
    output = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "wrk" / script),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


# The tables a booking writes (the reservation, its day rollups, the space's availability version; the outbox
# row and the usage counters' change log).
BOOKING_WRITES_TENANT = (
    "reservations_reservation",
    "reports_spaceday",
    "reports_bookerday",
    "spaces_availabilityversion",
)
BOOKING_WRITES_PUBLIC = ("tenants_outboxmessage", "tenants_organizationusagechange")


def delete_bench_bookings(since: datetime) -> int:
    """Delete the bookings (and outbox rows) made since `since`, then vacuum what they left behind; returns
    how many bookings were deleted."""
    from django.db import connection

    from reservations.models import Reservation
    from tenants.models import Organization, OutboxMessage

    organization = Organization.objects.get(slug=SLUG)
    connection.set_tenant(organization)
    deleted, _ = Reservation.objects.filter(created_at__gte=since).delete()
    connection.set_schema_to_public()
    OutboxMessage.objects.filter(created_at__gte=since).delete()  # no relay runs during the benchmark
    # What autovacuum would do between runs: the booking mix leaves tens of thousands of dead rows a run in
    # the tables a booking writes, and each later run would pay for the previous runs' (both servers alike).
    # Without it (this machine's PostgreSQL has autovacuum off), four runs in a row took the booking's PostgreSQL
    # CPU per request from 3.4 to 4.9 ms here and from 2.1 to 4.4 ms in the yardstick.
    schema = organization.schema_name
    tables = [f'"{schema}"."{table}"' for table in BOOKING_WRITES_TENANT] + [
        f'"public"."{table}"' for table in BOOKING_WRITES_PUBLIC
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
    return deleted


def measure_signups(port: int, count: int) -> dict:
    from tenants.models import Organization

    timings = []
    stamp = int(time.time())
    for index in range(count):
        status, body, elapsed = post_json(
            port,
            "localhost",
            "/api/v1/auth/register",
            {
                "email": f"signup-{stamp}-{index}@bench.example.com",
                "password": "a long passphrase 42",
                "full_name": "Bench Signup",
                "organization_name": f"Signup {index}",
                "organization_slug": f"signup-{stamp}-{index}",
            },
        )
        if status != 201:
            raise RuntimeError(f"sign-up failed with {status}: {body}")
        timings.append(elapsed)
    for organization in Organization.objects.filter(slug__startswith=f"signup-{stamp}-"):
        organization.delete(force_drop=True)
    timings.sort()
    return {
        "count": count,
        "p50_ms": statistics.median(timings) * 1000,
        "p95_ms": timings[int(0.95 * (count - 1))] * 1000,
        "max_ms": timings[-1] * 1000,
    }


def with_application_name(dsn: str, name: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}application_name={name}"


def get_json(port: int, host: str, path: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Host": host, "Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def shape(value: object) -> object:
    """The fields of an answer, recursively, without the values (ids and times differ between two bookings)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__


def check_same_answers(ports: dict[str, int], host: str, tokens: dict[str, str], space_ids: list[int]) -> dict:
    """Both servers must answer alike, or the yardstick is not a yardstick: availability bodies identical for
    each role, booking bodies with the same fields and types."""
    import random

    rng = random.Random(7)
    mismatches, compared = [], 0
    for role, token in tokens.items():
        for _ in range(10):
            day = datetime.now(UTC).date() + timedelta(days=rng.randint(-120, 120))
            path = (
                f"/api/v1/spaces/{rng.choice(space_ids)}/availability"
                f"?start={day}T00:00:00%2B00:00&end={day + timedelta(days=7)}T00:00:00%2B00:00"
            )
            answers = {name: get_json(port, host, path, token) for name, port in ports.items()}
            compared += 1
            if answers["django"] != answers["fastapi"]:
                mismatches.append({"role": role, "path": path, **answers})
    shapes = {}
    for name, port in ports.items():
        for attempt in range(30):  # a free weekday hour inside every seeded opening-hours pattern
            day = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=3 + attempt)
            if day.weekday() >= 5:
                continue
            status, body, _ = post_json(
                port,
                host,
                "/api/v1/reservations",
                {"space": rng.choice(space_ids), "starts_at": day.isoformat(), "ends_at": f"{day:%Y-%m-%d}T10:00:00Z"},
                token=tokens["owner"],
            )
            if status == 201:
                break
        shapes[name] = (status, shape(body))
    return {"availability_compared": compared, "availability_mismatches": mismatches, "booking_shapes": shapes}


def django_command(server: str, port: int, workers: int) -> tuple[list[str], dict[str, str]]:
    """The command and environment that serve the project: as deployed (spacemanager.serve, granian), or
    gunicorn as it was deployed until December 2026 (gthread, the same processes x 4 threads)."""
    if server == "granian":
        environment = {"PORT": str(port), "GRANIAN_HOST": "127.0.0.1", "WEB_CONCURRENCY": str(workers)}
        return [sys.executable, "-m", "spacemanager.serve"], environment
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "spacemanager.wsgi",
        "--worker-class=gthread",
        f"--workers={workers}",
        "--threads=4",
        "--keep-alive=5",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
    ]
    return command, {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="Django's processes (its best on 2 cores)")
    parser.add_argument("--fastapi-workers", type=int, default=2, help="uvicorn's processes (its best on 2 cores)")
    parser.add_argument(
        "--server",
        choices=("granian", "gunicorn"),
        default="granian",
        help="Django's server: granian as deployed (spacemanager.serve), or gunicorn (gthread) to compare",
    )
    parser.add_argument("--port", type=int, default=0, help="first of two ports on 127.0.0.1 (default: any free)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="runs per endpoint and server, alternating servers; medians are reported (the machine is shared)",
    )
    parser.add_argument("--signups", type=int, default=20)
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument(
        "--endpoints",
        default="availability,availability_warm,booking",
        help="comma-separated: availability (random keys: a cold cache), availability_warm (keys that repeat)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk (or `make bench`)")
    scripts = {"availability": "availability.lua", "availability_warm": "availability_warm.lua", "booking": "book.lua"}
    endpoints = [name for name in scripts if name in args.endpoints.split(",")]

    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    from accounts.models import Membership
    from accounts.tokens import tokens_for_membership
    from spaces.models import Space
    from tenants.models import Organization

    if not args.skip_seed:
        call_command("seed_demo", slug=SLUG, organizations=1, spaces=SPACES, reservations=RESERVATIONS, timezone="UTC")
    organization = Organization.objects.get(slug=SLUG)
    from django.db import connection

    connection.set_tenant(organization)
    space_ids = list(Space.objects.filter(is_active=True).exclude(name="Race room").values_list("id", flat=True))
    connection.set_schema_to_public()
    member = Membership.objects.select_related("user").filter(organization=organization, role="member").first()

    database_url = settings.DATABASES["default"]
    dsn = os.environ.get("DATABASE_URL") or (
        f"postgresql://{database_url['USER']}@/{database_url['NAME']}?host={database_url['HOST']}"
    )
    names = {"django": "bench-django", "fastapi": "bench-fastapi"}
    env = {
        **os.environ,
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        # The benchmark measures how fast sign-up is, not its rate limit (10/hour by default).
        "THROTTLE_RATE_REGISTER": "100000/hour",
        "BENCH_WRK_DIR": str(BENCH / "wrk"),
        "BENCH_HOST": organization.host,
        "BENCH_SPACE_MIN": str(min(space_ids)),
        "BENCH_SPACE_MAX": str(max(space_ids)),
    }
    django_env = {**env, "DATABASE_URL": with_application_name(dsn, names["django"])}
    baseline_env = {**env, "DATABASE_URL": dsn, "BENCH_APPLICATION_NAME": names["fastapi"]}
    django_port, baseline_port = (args.port, args.port + 1) if args.port else (free_port(), free_port())
    baseline_cmd = [
        str(ROOT / ".venv/bin/uvicorn"),
        "bench.baseline_fastapi:app",
        f"--workers={args.fastapi_workers}",
        "--host=127.0.0.1",
        f"--port={baseline_port}",
        "--log-level=warning",
        "--no-access-log",
    ]
    results: dict = {
        "when": datetime.now(UTC).isoformat(),
        "machine": {"cores": os.cpu_count(), "shared": "yes: other work ran on the machine during the run"},
        "settings": vars(args),
        "data": {"spaces": len(space_ids), "reservations_seeded": RESERVATIONS},
    }
    django_cmd, django_server_env = django_command(args.server, django_port, args.workers)
    with (
        serving(django_cmd, {**django_env, **django_server_env}, django_port, "localhost") as dj,
        serving(baseline_cmd, baseline_env, baseline_port, organization.host) as fa,
    ):
        status, body, _ = post_json(
            django_port,
            organization.host,
            "/api/v1/auth/login",
            {"email": f"owner@{SLUG}.example.com", "password": settings.DEMO_OWNER_PASSWORD},
        )
        if status != 200:
            raise RuntimeError(f"login failed ({status}): {body}")
        env["BENCH_TOKEN"] = body["access"]
        tokens = {"owner": body["access"], "member": tokens_for_membership(member)["access"]}
        ports = {"django": django_port, "fastapi": baseline_port}
        started = datetime.now(UTC)
        results["same_answers"] = check_same_answers(ports, organization.host, tokens, space_ids)
        delete_bench_bookings(started)
        if args.signups:
            results["signup"] = measure_signups(django_port, args.signups)

        servers = [("django", django_port, dj.pid), ("fastapi", baseline_port, fa.pid)]
        for _name, port, _pid in servers:
            for endpoint in endpoints:
                started = datetime.now(UTC)
                warm_up = 8 if endpoint == "availability_warm" else 2  # fills the repeated keys' cache entries
                run_wrk(scripts[endpoint], port, env, duration=warm_up, connections=args.connections)
                delete_bench_bookings(started)
        # Servers alternate run by run, so a neighbour's burst on this shared machine hits both alike.
        for round_ in range(args.rounds):
            for endpoint in endpoints:
                for name, port, pid in servers if round_ % 2 == 0 else servers[::-1]:
                    started = datetime.now(UTC)
                    runs = results.setdefault(endpoint, {}).setdefault(name, {"runs": []})["runs"]
                    runs.append(
                        run_wrk(
                            scripts[endpoint],
                            port,
                            env,
                            duration=args.duration,
                            connections=args.connections,
                            server_pid=pid,
                            application_name=names[name],
                        )
                    )
                    delete_bench_bookings(started)
    for endpoint in endpoints:
        for name in ("django", "fastapi"):
            summary = results[endpoint][name]
            summary["rps"] = statistics.median(run["rps"] for run in summary["runs"])
            summary["latency_us"] = {
                key: statistics.median(run["latency_us"][key] for run in summary["runs"])
                for key in ("p50", "p95", "p99")
            }
            summary["cpu_ms_per_request"] = {
                key: statistics.median(run["cpu_ms_per_request"][key] for run in summary["runs"])
                for key in ("app", "postgres")
            }
            summary["statuses"] = {}
            for run in summary["runs"]:
                for code, count in run["statuses"].items():
                    summary["statuses"][code] = summary["statuses"].get(code, 0) + count

    same = results["same_answers"]
    print(
        f"\nSpaceManager benchmark ({args.server}, {args.workers} processes) against FastAPI + asyncpg (uvicorn, "
        f"{args.fastapi_workers} processes): {len(space_ids)} spaces, {RESERVATIONS:,} reservations, "
        f"{args.connections} connections, {args.rounds} x {args.duration}s per endpoint and server (medians). "
        "Shared machine: req/s move with the neighbours; CPU ms per request holds better.\n"
    )
    print(
        f"same answers: availability {same['availability_compared'] - len(same['availability_mismatches'])}"
        f"/{same['availability_compared']} identical (owner and member); booking fields identical: "
        f"{same['booking_shapes']['django'] == same['booking_shapes']['fastapi']}\n"
    )
    header = f"{'endpoint':<18}{'server':<10}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
    print(f"{header}{'app CPU ms':>12}{'PG CPU ms':>11}{'total':>8}  statuses")
    for endpoint in endpoints:
        totals = {}
        for name in ("django", "fastapi"):
            r = results[endpoint][name]
            lat, cpu = r["latency_us"], r["cpu_ms_per_request"]
            totals[name] = cpu["app"] + cpu["postgres"]
            print(
                f"{endpoint:<18}{name:<10}{r['rps']:>8.0f}{lat['p50'] / 1000:>8.1f}{lat['p95'] / 1000:>8.1f}"
                f"{lat['p99'] / 1000:>8.1f}{cpu['app']:>12.2f}{cpu['postgres']:>11.2f}{totals[name]:>8.2f}"
                f"  {r['statuses']}"
            )
        rps_ratio = results[endpoint]["django"]["rps"] / results[endpoint]["fastapi"]["rps"]
        cpu_ratio = totals["fastapi"] / totals["django"]
        results[endpoint]["ratio"] = {"rps": rps_ratio, "cpu": cpu_ratio}
        print(
            f"{'':<18}{'ratio':<10}{rps_ratio:>8.2f}{'':>36}{cpu_ratio:>8.2f}  (req/s: django ÷ fastapi; CPU: inverse)"
        )
    if "signup" in results:
        signup = results["signup"]
        print(
            f"\nsign-up (POST /api/v1/auth/register, {signup['count']} in a row): "
            f"p50 {signup['p50_ms']:.0f} ms, p95 {signup['p95_ms']:.0f} ms, max {signup['max_ms']:.0f} ms"
        )
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nfull results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
