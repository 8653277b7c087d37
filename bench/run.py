"""SpaceManager's load benchmark: Django (gunicorn) and the FastAPI + asyncpg baseline, side by side, in one run.

    .venv/bin/python bench/run.py [--duration 20] [--connections 16] [--workers 4] [--skip-seed]

It seeds (once) an organization "bench" with 500 spaces and 200,000 reservations (`seed_demo`), serves the
project with gunicorn and the baseline with uvicorn (same number of worker processes, same database), drives
booking (POST /api/v1/reservations) and availability (GET /api/v1/spaces/{id}/availability) with wrk, and
prints requests/s and p50/p95/p99 latency for both, plus sign-up time (POST /api/v1/auth/register). Bookings
made during a run are deleted after it, so every run meets the same data. Results also go to bench/results/.

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
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SLUG = "bench"
SPACES = 500
RESERVATIONS = 200_000
PASSWORD = "bench-password-123"  # noqa: S105 - a local benchmark account


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spacemanager.settings")
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, host: str, timeout: float = 30) -> None:
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


def post_json(port: int, host: str, path: str, payload: dict) -> tuple[int, dict, float]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(payload).encode(),
        headers={"Host": host, "Content-Type": "application/json"},
        method="POST",
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            body, status = json.loads(response.read()), response.status
    except urllib.error.HTTPError as error:
        body, status = json.loads(error.read() or b"{}"), error.code
    return status, body, time.perf_counter() - started


def run_wrk(script: str, port: int, env: dict[str, str], *, duration: int, connections: int) -> dict:
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


def delete_bench_bookings(since: datetime) -> int:
    from django.db import connection

    from reservations.models import Reservation
    from tenants.models import Organization

    connection.set_tenant(Organization.objects.get(slug=SLUG))
    deleted, _ = Reservation.objects.filter(created_at__gte=since).delete()
    connection.set_schema_to_public()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="processes for gunicorn and for uvicorn")
    parser.add_argument("--signups", type=int, default=20)
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk (or `make bench`)")

    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    from spaces.models import Space
    from tenants.models import Organization

    if not args.skip_seed:
        call_command("seed_demo", slug=SLUG, organizations=1, spaces=SPACES, reservations=RESERVATIONS)
    organization = Organization.objects.get(slug=SLUG)
    from django.db import connection

    connection.set_tenant(organization)
    space_ids = list(Space.objects.filter(is_active=True).values_list("id", flat=True))
    connection.set_schema_to_public()

    database_url = settings.DATABASES["default"]
    dsn = os.environ.get("DATABASE_URL") or (
        f"postgresql://{database_url['USER']}@/{database_url['NAME']}?host={database_url['HOST']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "BENCH_WRK_DIR": str(BENCH / "wrk"),
        "BENCH_HOST": organization.host,
        "BENCH_SPACE_MIN": str(min(space_ids)),
        "BENCH_SPACE_MAX": str(max(space_ids)),
    }
    django_port, baseline_port = free_port(), free_port()
    django_cmd = [
        str(ROOT / ".venv/bin/gunicorn"),
        "spacemanager.wsgi",
        f"--workers={args.workers}",
        f"--bind=127.0.0.1:{django_port}",
        "--log-level=warning",
    ]
    baseline_cmd = [
        str(ROOT / ".venv/bin/uvicorn"),
        "bench.baseline_fastapi:app",
        f"--workers={args.workers}",
        f"--port={baseline_port}",
        "--log-level=warning",
        "--no-access-log",
    ]
    results: dict = {
        "when": datetime.now(UTC).isoformat(),
        "machine": {"cores": os.cpu_count()},
        "settings": vars(args),
        "data": {"spaces": len(space_ids), "reservations_seeded": RESERVATIONS},
    }
    with serving(django_cmd, env, django_port, "localhost"):
        status, body, _ = post_json(
            django_port,
            organization.host,
            "/api/v1/auth/login",
            {"email": f"owner@{SLUG}.example.com", "password": PASSWORD},
        )
        if status != 200:
            raise RuntimeError(f"login failed ({status}): {body}")
        env["BENCH_TOKEN"] = body["access"]
        results["signup"] = measure_signups(django_port, args.signups)

    for name, command, port in (("django", django_cmd, django_port), ("fastapi", baseline_cmd, baseline_port)):
        with serving(command, env, port, "localhost" if name == "django" else organization.host):
            for endpoint, script in (("availability", "availability.lua"), ("booking", "book.lua")):
                started = datetime.now(UTC)
                run_wrk(script, port, env, duration=2, connections=args.connections)  # warm-up
                results.setdefault(endpoint, {})[name] = run_wrk(
                    script, port, env, duration=args.duration, connections=args.connections
                )
                delete_bench_bookings(started)

    print(
        f"\nSpaceManager benchmark — {len(space_ids)} spaces, {RESERVATIONS:,} reservations, "
        f"{args.workers} workers each, {args.connections} connections, {args.duration}s per run\n"
    )
    print(f"{'endpoint':<14}{'server':<10}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}  statuses")
    for endpoint in ("availability", "booking"):
        for name in ("django", "fastapi"):
            r = results[endpoint][name]
            lat = r["latency_us"]
            print(
                f"{endpoint:<14}{name:<10}{r['rps']:>10.0f}{lat['p50'] / 1000:>10.1f}{lat['p95'] / 1000:>10.1f}"
                f"{lat['p99'] / 1000:>10.1f}  {r['statuses']}"
            )
        ratio = results[endpoint]["django"]["rps"] / results[endpoint]["fastapi"]["rps"]
        print(f"{'':<14}{'ratio':<10}{ratio:>10.2f}  (django ÷ fastapi)")
    signup = results["signup"]
    print(
        f"\nsign-up (POST /api/v1/auth/register, {signup['count']} in a row): "
        f"p50 {signup['p50_ms']:.0f} ms, p95 {signup['p95_ms']:.0f} ms, max {signup['max_ms']:.0f} ms"
    )
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\nfull results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
