"""How long a year's analytics dashboard takes at design size (500 spaces, 200,000 reservations).

    .venv/bin/python bench/analytics.py [--size 200000] [--rounds 7] [--skip-seed]

Seeds (once) the benchmark's organization "bench" with bench/run.py's sizes through `seed_demo`, or, with a
smaller `--size N` (reservations; spaces scale with it, 400 reservations each), an organization
"bench-analytics-N" for quick runs. Then, inside its schema, it alternates `--rounds` times:

- the dashboard for the year around today (the seed spans the weeks around today), every figure of the page
  and the API, two ways: "before", aggregating the reservations themselves (reports/tests/raw_analytics.py,
  the code the day rollups replaced), and "after", `reports.analytics.analytics_data` reading the rollups;
- two yardsticks: `reports.selectors.monthly_report_data` for the current month (the existing monthly report),
  and one plain scan of the year's reservations (COUNT and SUM), the floor any figure over them pays.

For each way it prints the median and best wall-clock milliseconds, the server's CPU milliseconds (this
process's, plus its PostgreSQL backend's read from /proc, parallel workers off so that the backend does all the
work), the number of queries and the slowest of them, the ratios to the yardsticks and after / before, and
whether both ways gave the same answer. The machine is shared with other work: wall-clock figures move with
the neighbours' load, so read the CPU figures and the ratios first. A benchmark, not a test: it asserts
nothing. Target: a year's dashboard in <= 200 ms.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import RESERVATIONS, SLUG, SPACES, setup_django  # noqa: E402 (bench/run.py's seed sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=RESERVATIONS, help=f"reservations (default {RESERVATIONS})")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()
    full = args.size >= RESERVATIONS
    slug = SLUG if full else f"bench-analytics-{args.size}"
    spaces = SPACES if full else max(5, args.size // 400)

    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from reports.analytics import AnalyticsFilters, analytics_data, organization_today
    from reports.selectors import monthly_report_data
    from reports.tests.raw_analytics import raw_analytics_data
    from reservations.models import Reservation
    from tenants.models import Organization

    if not args.skip_seed:
        call_command("seed_demo", slug=slug, organizations=1, spaces=spaces, reservations=args.size, timezone="UTC")
    organization = Organization.objects.get(slug=slug)
    connection.set_tenant(organization)
    today = organization_today(organization)
    year = AnalyticsFilters(
        first_day=today - timedelta(days=182),
        last_day=today + timedelta(days=183),
        timezone=ZoneInfo(organization.timezone),
    )
    month = date(today.year, today.month, 1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reservations_reservation")
    counted = Reservation.objects.filter(starts_at__gte=year.starts_at, starts_at__lt=year.ends_at).count()

    queries: list[tuple[float, str]] = []

    def timed_query(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append(((time.perf_counter() - started) * 1000, " ".join(sql.split())[:90]))

    def scan_year() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*), SUM(price) FROM reservations_reservation WHERE starts_at >= %s AND starts_at < %s",
                [year.starts_at, year.ends_at],
            )

    with connection.cursor() as cursor:
        # One backend does all the work, so its CPU time (/proc) is PostgreSQL's whole cost.
        cursor.execute("SET max_parallel_workers_per_gather = 0")
        cursor.execute("SELECT pg_backend_pid()")
        backend = Path(f"/proc/{cursor.fetchone()[0]}/stat")

    def backend_cpu_ms() -> float:
        fields = backend.read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")  # utime + stime

    variants = {
        "before: aggregating the reservations": raw_analytics_data,
        "after: reading the day rollups": analytics_data,
    }
    figures = {name: {"wall": [], "python_cpu": [], "postgres_cpu": [], "queries": []} for name in variants}
    slowest: dict[str, list] = {}
    answers = {
        name: dashboard(organization=organization, filters=year, bucket="week") for name, dashboard in variants.items()
    }
    yardstick, scan = [], []
    for _round in range(args.rounds):
        for name, dashboard in variants.items():
            queries.clear()
            started, cpu_started, pg_started = time.perf_counter(), time.process_time(), backend_cpu_ms()
            with connection.execute_wrapper(timed_query):
                dashboard(organization=organization, filters=year, bucket="week")
            figures[name]["wall"].append((time.perf_counter() - started) * 1000)
            figures[name]["python_cpu"].append((time.process_time() - cpu_started) * 1000)
            figures[name]["postgres_cpu"].append(backend_cpu_ms() - pg_started)
            figures[name]["queries"].append(len(queries))
            slowest[name] = [[round(ms, 1), sql] for ms, sql in sorted(queries, reverse=True)[:3]]
        started = time.perf_counter()
        monthly_report_data(organization=organization, month=month)
        yardstick.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        scan_year()
        scan.append((time.perf_counter() - started) * 1000)

    def summary(name: str) -> dict:
        wall = figures[name]["wall"]
        return {
            "wall_ms": {"median": round(statistics.median(wall), 1), "best": round(min(wall), 1)},
            # server time: what the request spends in Python plus what PostgreSQL spends on its queries
            "server_cpu_ms": round(
                statistics.mean(figures[name]["python_cpu"]) + statistics.mean(figures[name]["postgres_cpu"]), 1
            ),
            "python_cpu_ms": round(statistics.mean(figures[name]["python_cpu"]), 1),
            "postgres_cpu_ms": round(statistics.mean(figures[name]["postgres_cpu"]), 1),
            "queries": max(figures[name]["queries"]),
            "ratio_to_monthly_report": round(statistics.median(wall) / statistics.median(yardstick), 2),
            "ratio_to_one_scan": round(statistics.median(wall) / statistics.median(scan), 2),
            "slowest_queries_ms": slowest[name],
        }

    before, after = variants
    result = {
        "organization": slug,
        "spaces": spaces,
        "reservations_in_year": counted,
        "rounds": args.rounds,
        before: summary(before),
        after: summary(after),
        "ratio_after_to_before": {
            "wall_median": round(
                statistics.median(figures[after]["wall"]) / statistics.median(figures[before]["wall"]), 3
            ),
            "server_cpu": round(summary(after)["server_cpu_ms"] / summary(before)["server_cpu_ms"], 3),
        },
        "answers_identical": answers[before] == answers[after],
        "yardstick_monthly_report_ms": {
            "median": round(statistics.median(yardstick), 1),
            "best": round(min(yardstick), 1),
        },
        "yardstick_one_scan_of_the_year_ms": {"median": round(statistics.median(scan), 1), "best": round(min(scan), 1)},
        "load_average": os.getloadavg()[0],
        "target_ms": 200,
        "cpus": os.cpu_count(),
        "note": "shared machine: wall-clock figures vary with the neighbours' load; CPU ms are the process's and "
        "its PostgreSQL backend's (10 ms clock ticks, averaged over the rounds)",
    }
    print(json.dumps(result, indent=2))
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"analytics-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
