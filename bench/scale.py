"""Scale benchmark: many organizations and people on one database, and one organization at design size.

    DATABASE_URL=postgres://.../sm_scale_bench .venv/bin/python bench/scale.py --orgs 1000 --people 1000000

Builds (once, then reuses) a catalog of `--orgs` filler organizations, each a real schema with every tenant
table, index and migration record, made with bulk SQL (the DDL of one schema replayed per organization,
10 per transaction), `--people` people with one membership each, and one organization "scale" at design
size (500 spaces, 200,000 reservations, 1,000 members; `seed_demo`). Then it measures, in this process
through Django's test client (so "server time": no network, no HTTP server), each figure of issue 17's
table: login, token refresh, sign-up, the platform admin's organization list, `list_organizations`, a no-op
`migrate_schemas`, one full reminder/expiry tick, sweep fairness, the reservation lists (first and a deep
page), the pages at design size, and pruning of the public tables.

Each figure is the median of `--repeat` runs, as wall ms and CPU ms of this process (the database's own
CPU is not in it), and as a ratio to a yardstick measured in the same run: GET /health through the same
client. The machine is shared and noisy: compare ratios between runs, not raw milliseconds. It asserts
nothing; it measures. Results also go to bench/results/scale-<orgs>.json.

1,000 organizations build in a few minutes (CI); 10,000 by hand (--orgs 10000 --people 10000000
--build-processes 2, on both cores: 17 minutes here, 20 GB).
The database named by DATABASE_URL is created when missing and must not be one you care about.
"""

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DESIGN_SLUG = "scale"
FILLER_PREFIX = "filler-"
PASSWORD = "scale-bench-password-42"  # noqa: S105 - benchmark data


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spacemanager.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DEMO_OWNER_PASSWORD", PASSWORD)
    # The benchmark measures the endpoints, not their rate limits.
    for scope in ("LOGIN", "LOGIN_ACCOUNT", "REFRESH", "REGISTER"):
        os.environ.setdefault(f"THROTTLE_RATE_{scope}", "1000000/minute")
    _ensure_database(os.environ.get("DATABASE_URL", ""))
    import django

    django.setup()


def _ensure_database(url: str) -> None:
    if not url:
        return
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


# Building the catalog.


def migrate_public() -> None:
    from django.core.management import call_command

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)


def tenant_ddl() -> str:
    """The SQL that creates one tenant schema's tables (unqualified names: run it with the search path set)."""
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    from tenants.schema import _all_migration_keys, _tenant_run_sql, tenant_models

    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        for model in tenant_models():
            editor.create_model(model)
        editor.create_model(MigrationRecorder.Migration)
    rows = ", ".join(f"('{app}', '{name}', now())" for app, name in _all_migration_keys())
    record = f"INSERT INTO django_migrations (app, name, applied) VALUES {rows}"  # noqa: S608 - the project's names
    # The tenant migrations' RunSQL (triggers, rows they write), as tenants.schema replays it for sign-up.
    return ";\n".join([*editor.collected_sql, *_tenant_run_sql(), record])


def build_fillers(count: int, *, batch: int = 10, processes: int = 1) -> float:
    """Filler organizations filler-0 ... filler-(count-1): rows, domains and schemas. Returns seconds taken.

    A transaction holds a lock on every relation it creates until it commits: a schema is 134 of them
    (tables, indexes, sequences), and the server's whole lock table is max_locks_per_transaction (64) x
    max_connections (100) = 6,400 entries, shared with every other session. 50 schemas at a time (6,700)
    ran out of shared memory; 10 hold 1,340 (per process: `processes` x `batch` x 134 must stay well under it).

    The DDL replay is PostgreSQL's CPU, one backend per process: `processes` 2 builds on two cores at once
    (the missing organizations dealt out in turn, each process on its own connection).

    Each batch gets a new connection: a backend keeps the catalog entries of every relation it has created
    (docs/operations.md, Memory per backend), and one that created them all slowed down as it grew (200
    schemas took 16 s at the start, 59 s past 800 on one connection, 20-25 s up to 2,000 with a fresh one).
    """
    from django.db import connection

    from tenants.models import Organization

    started = time.perf_counter()
    existing = set(Organization.objects.filter(slug__startswith=FILLER_PREFIX).values_list("slug", flat=True))
    missing = [f"{FILLER_PREFIX}{index}" for index in range(count) if f"{FILLER_PREFIX}{index}" not in existing]
    if not missing:
        return 0.0
    if processes <= 1:
        _build_filler_slugs(missing, batch=batch)
        return time.perf_counter() - started
    import multiprocessing

    connection.close()  # each child opens its own; a forked socket must not be shared
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.starmap(_build_filler_slugs, [(missing[offset::processes], batch) for offset in range(processes)])
    return time.perf_counter() - started


def _build_filler_slugs(missing: list[str], batch: int) -> None:
    from django.conf import settings
    from django.db import connection, transaction

    from tenants.models import Domain, Organization, schema_name_for_slug

    ddl = tenant_ddl()
    for start in range(0, len(missing), batch):
        slugs = missing[start : start + batch]
        with transaction.atomic():
            organizations = Organization.objects.bulk_create(
                [Organization(name=slug, slug=slug, schema_name=schema_name_for_slug(slug)) for slug in slugs]
            )
            Domain.objects.bulk_create(
                [Domain(domain=f"{o.slug}.{settings.BASE_DOMAIN}", tenant=o, is_primary=True) for o in organizations]
            )
            with connection.cursor() as cursor:
                for organization in organizations:
                    cursor.execute(
                        f'CREATE SCHEMA "{organization.schema_name}"; '
                        f'SET LOCAL search_path TO "{organization.schema_name}", public;\n{ddl}'
                    )
        if (start // batch) % 20 == 0:
            print(f"  fillers: {start + len(slugs)}/{len(missing)}", flush=True)
        connection.close()  # the docstring says why


def build_people(count: int) -> float:
    """`count` filler people, each a member of one filler organization (round robin). Returns seconds."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_user WHERE email LIKE '%@filler.test'")
        have = cursor.fetchone()[0]
        if have >= count:
            return 0.0
        cursor.execute(
            "INSERT INTO accounts_user (password, email, full_name, is_active, is_staff, is_superuser, date_joined, "
            "                           email_booking_updates, email_approval_requests) "
            "SELECT '!', 'p' || g || '@filler.test', 'Filler ' || g, true, false, false, now(), true, true "
            "FROM generate_series(%s, %s - 1) g",
            [have, count],
        )
        cursor.execute(
            "WITH orgs AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM tenants_organization "
            "              WHERE slug LIKE 'filler-%'), "
            "     total AS (SELECT count(*) AS n FROM orgs), "
            "     people AS (SELECT u.id, row_number() OVER (ORDER BY u.id) - 1 AS n FROM accounts_user u "
            "                WHERE u.email LIKE '%@filler.test' AND NOT EXISTS "
            "                (SELECT 1 FROM accounts_membership m WHERE m.user_id = u.id)) "
            "INSERT INTO accounts_membership (user_id, organization_id, role, created_at) "
            "SELECT people.id, orgs.id, 'member', now() FROM people, total, orgs "
            "WHERE orgs.n = people.n % total.n"
        )
        cursor.execute("ANALYZE accounts_user; ANALYZE accounts_membership; ANALYZE tenants_organization")
    return time.perf_counter() - started


def build_design_org(*, spaces: int, reservations: int, members: int) -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command(
        "seed_demo",
        slug=DESIGN_SLUG,
        organizations=1,
        spaces=spaces,
        reservations=reservations,
        members=members,
        timezone="UTC",
        verbosity=0,
    )
    return time.perf_counter() - started


# Measuring.


def timed(function: Callable[[], object], repeat: int, *, warm_up: bool = True) -> dict:
    """Median wall and CPU ms of `repeat` runs, after one unmeasured run (caches, connections, imports)."""
    walls, cpus = [], []
    result = function() if warm_up else None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return {"wall_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus), "last": result}


def _backend() -> tuple[int, float | None]:
    """This connection's PostgreSQL backend pid and the CPU ms it has used so far, from /proc: only when
    the server runs on this machine and its processes are readable (otherwise None)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        on_cpu_ns = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])  # the scheduler's, to the ns
    except (OSError, ValueError, IndexError):
        return pid, None
    return pid, on_cpu_ns / 1e6


def with_server_cpu(function: Callable[[], object], repeat: int) -> dict:
    """`timed`, plus the median CPU ms of the PostgreSQL backend serving this process (`pg_cpu_ms`), read
    outside the timed part; a run whose connection changed (reconnected) is left out of it."""
    function()
    walls, cpus, server = [], [], []
    for _ in range(repeat):
        pid, before = _backend()
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        pid_after, after = _backend()
        if before is not None and after is not None and pid == pid_after:
            server.append(after - before)
    result = {"wall_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus)}
    if server:
        result["pg_cpu_ms"] = statistics.median(server)
    return result


def count_queries(function: Callable[[], object]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        function()
    return len([q for q in queries.captured_queries if not q["sql"].startswith("SET search_path")])


def measure(args) -> dict:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Membership, User
    from tenants.models import Organization

    design = Organization.objects.get(slug=DESIGN_SLUG)
    host = design.host
    owner = Membership.objects.select_related("user").filter(organization=design, role="owner").first().user
    results: dict = {}

    def check(response, *statuses):
        if response.status_code not in statuses or statuses == ():
            raise RuntimeError(f"{response.request['PATH_INFO']}: {response.status_code} {response.content[:300]!r}")
        return response

    public = Client(HTTP_HOST=settings.BASE_DOMAIN)
    api = Client(HTTP_HOST=host)
    results["yardstick GET /health"] = timed(lambda: check(api.get("/health"), 200), args.repeat * 4)
    if args.organization_lists_only:
        measure_organization_lists(results, args)
        return results

    login = lambda: check(  # noqa: E731
        api.post(
            "/api/v1/auth/login",
            {"email": owner.email.upper(), "password": PASSWORD},
            content_type="application/json",
        ),
        200,
    )
    results["API login"] = with_server_cpu(login, args.repeat)
    results["API login"]["queries"] = count_queries(login)
    refresh = {"token": login().json()["refresh"]}

    def refresh_once():
        body = check(
            api.post("/api/v1/auth/refresh", {"refresh": refresh["token"]}, content_type="application/json"), 200
        ).json()
        refresh["token"] = body["refresh"]

    results["token refresh"] = with_server_cpu(refresh_once, args.repeat)
    results["token refresh"]["queries"] = count_queries(refresh_once)

    stamp = int(time.time())
    counter = iter(range(1000))

    def signup():
        index = next(counter)
        return check(
            public.post(
                "/api/v1/auth/register",
                {
                    "email": f"signup-{stamp}-{index}@bench.example.com",
                    "password": "a long passphrase 42",
                    "full_name": "Bench Signup",
                    "organization_name": f"Signup {index}",
                    "organization_slug": f"signup-{stamp}-{index}",
                },
                content_type="application/json",
            ),
            201,
        )

    # Sign-up renames a spare schema built ahead of time (tenants/spare_schemas.py); a worker refills the
    # pool. Measured both ways: with spares ready (the pool holds one per run here), and with none.
    from tenants.spare_schemas import spare_schemas_refill

    refill_started = time.perf_counter(), time.process_time()
    refill = spare_schemas_refill(size=args.repeat + 2)
    results["spare schema refill (worker), per schema built"] = {
        "wall_ms": (time.perf_counter() - refill_started[0]) * 1000 / max(refill.built, 1),
        "cpu_ms": (time.process_time() - refill_started[1]) * 1000 / max(refill.built, 1),
    }
    results["sign-up (a spare from the pool)"] = with_server_cpu(signup, args.repeat)
    results["sign-up (a spare from the pool)"]["queries"] = count_queries(signup)
    spare_schemas_refill(size=0)
    results["sign-up, pool empty (schema built)"] = with_server_cpu(signup, args.repeat)
    results["sign-up, pool empty (schema built)"]["queries"] = count_queries(signup)
    for organization in Organization.objects.filter(slug__startswith=f"signup-{stamp}-"):
        organization.delete(force_drop=True)
    User.objects.filter(email__startswith=f"signup-{stamp}-").update(is_active=False)
    spare_schemas_refill()  # the steady state: a full pool (a no-op migrate_schemas then builds none)

    measure_organization_lists(results, args)

    def migrate_noop():
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)
        connection.set_schema_to_public()

    results["migrate_schemas (tenants) with nothing to do"] = timed(migrate_noop, 1, warm_up=False)

    # The yardstick for it: django-tenants' own executor (Django's migrate in every schema), timed on a
    # sample of schemas; its whole run is that times the number of organizations.
    from django_tenants.migration_executors import get_executor as stock_executor

    sample = list(
        Organization.objects.filter(slug__startswith=FILLER_PREFIX).values_list("schema_name", flat=True)[:10]
    )
    options = {"verbosity": 0, "interactive": False, "database": "default", "skip_checks": True}
    options.update(force_color=False, no_color=False)
    options.update(dict.fromkeys(["fake", "fake_initial", "plan", "check_unapplied", "prune", "run_syncdb"], False))
    options.update(app_label=None, migration_name=None)

    def stock_sample():
        stock_executor("standard")([], options).run_migrations(tenants=list(sample))
        connection.set_schema_to_public()

    stock = timed(stock_sample, 1, warm_up=False)
    organizations = Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).count()
    results["stock django-tenants migrate_schemas, per schema (10 sampled)"] = {
        "wall_ms": stock["wall_ms"] / len(sample),
        "cpu_ms": stock["cpu_ms"] / len(sample),
    }
    results["stock django-tenants migrate_schemas, all schemas (extrapolated)"] = {
        "wall_ms": stock["wall_ms"] / len(sample) * organizations,
        "cpu_ms": stock["cpu_ms"] / len(sample) * organizations,
    }

    # One full reminder/expiry tick: every batch the fan-out would queue, run here on one connection, as a
    # worker of the sweeps queue would.
    from spacemanager.beat import SWEEP_JOBS
    from tenants import tasks
    from tenants.selectors import organization_list_sweep_order

    def tick():
        schemas = organization_list_sweep_order()
        size = tasks.SWEEP_BATCH_ORGANIZATIONS
        for start in range(0, len(schemas), size):
            tasks.sweep_batch.run(list(SWEEP_JOBS), schemas[start : start + size])
        return len(schemas)

    # The first tick after seeding also catches up on the seeded bookings' notices (one email task each);
    # the second is the steady state every REMINDER_SWEEP_SECONDS.
    results["reminder/expiry tick, first (catch-up)"] = timed(tick, 1, warm_up=False)
    results["reminder/expiry tick, steady"] = timed(tick, 1, warm_up=False)

    # Fairness: ticks that get through only half their batches (the rest expire); count organizations
    # skipped at two ticks in a row.
    def starved_ticks(ticks: int = 4) -> int:
        skipped_before: set[str] = set()
        twice = 0
        for _ in range(ticks):
            schemas = organization_list_sweep_order()
            size = tasks.SWEEP_BATCH_ORGANIZATIONS
            batches = [schemas[i : i + size] for i in range(0, len(schemas), size)]
            done = batches[: (len(batches) + 1) // 2]
            for batch in done:
                Organization.objects.filter(schema_name__in=batch).update(swept_at=timezone.now())
            skipped = {s for batch in batches[len(done) :] for s in batch}
            twice += len(skipped & skipped_before)
            skipped_before = skipped
        return twice

    results["sweep starvation: organizations skipped twice in a row (4 half ticks)"] = {"count": starved_ticks()}

    owner_api = Client(HTTP_HOST=host)
    token = login().json()["access"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    first_page = lambda: check(owner_api.get("/api/v1/reservations?scope=all", **headers), 200)  # noqa: E731
    results["GET /api/v1/reservations?scope=all page 1"] = timed(first_page, args.repeat)
    results["GET /api/v1/reservations?scope=all page 1"]["queries"] = count_queries(first_page)
    url = "/api/v1/reservations?scope=all"
    for _ in range(args.deep_pages):
        url = check(owner_api.get(url, **headers), 200).json()["next"]
        url = url[url.index("/api/") :]
    deep = lambda: check(owner_api.get(url, **headers), 200)  # noqa: E731
    results[f"GET /api/v1/reservations?scope=all page {args.deep_pages + 1}"] = timed(deep, args.repeat)
    results[f"GET /api/v1/reservations?scope=all page {args.deep_pages + 1}"]["queries"] = count_queries(deep)
    last = lambda: check(  # noqa: E731
        owner_api.get("/api/v1/reservations?scope=all&ordering=-starts_at", **headers), 200
    )
    results["GET /api/v1/reservations?scope=all last page (reverse order)"] = timed(last, args.repeat)

    pages = Client(HTTP_HOST=host)
    pages.force_login(owner)
    for name, path in [
        ("page: all reservations", "/reservations/all/"),
        ("page: all reservations, from 9 years ago", f"/reservations/all/?date_from={timezone.now().year - 9}-01-01"),
        ("page: manage spaces", "/spaces/manage/"),
        ("page: members", "/members/"),
        ("page: dashboard", "/"),
    ]:
        fetch = lambda path=path: check(pages.get(path), 200)  # noqa: E731
        fetch()
        results[name] = timed(fetch, args.repeat)
        results[name]["queries"] = count_queries(fetch)
        results[name]["kB"] = round(len(fetch().content) / 1024)

    results["public tables prune (hourly job)"] = measure_prune(args.prune_rows)
    return results


def measure_organization_lists(results: dict, args) -> None:
    """`list_organizations` (exact and estimated) and the platform admin's organization list."""
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User

    def check(response, *statuses):
        if response.status_code not in statuses:
            raise RuntimeError(f"{response.request['PATH_INFO']}: {response.status_code} {response.content[:300]!r}")
        return response

    def list_organizations():
        out = io.StringIO()
        call_command("list_organizations", stdout=out)
        return out.getvalue().count("\n")

    results["list_organizations"] = timed(list_organizations, max(1, args.repeat // 2), warm_up=False)
    results["list_organizations"]["queries"] = count_queries(list_organizations)

    def list_estimated():
        out = io.StringIO()
        call_command("list_organizations", "--estimate", stdout=out)

    results["list_organizations --estimate"] = timed(list_estimated, args.repeat)
    results["list_organizations --estimate"]["queries"] = count_queries(list_estimated)

    superuser, _ = User.objects.get_or_create(
        email="root@scale.test", defaults={"is_staff": True, "is_superuser": True}
    )
    admin = Client(HTTP_HOST=settings.BASE_DOMAIN)
    admin.force_login(superuser)
    admin_list = lambda: check(admin.get("/admin/tenants/organization/"), 200)  # noqa: E731
    admin_list()
    results["platform admin organization list"] = timed(admin_list, args.repeat)
    results["platform admin organization list"]["queries"] = count_queries(admin_list)
    admin_filtered = lambda: check(admin.get("/admin/tenants/organization/?is_active__exact=1&q=filler-1"), 200)  # noqa: E731
    results["platform admin list, filtered + searched"] = timed(admin_filtered, args.repeat)
    results["platform admin list, filtered + searched"]["queries"] = count_queries(admin_filtered)


def measure_prune(rows: int) -> dict:
    from django.db import connection

    from tenants.tasks import public_tables_prune

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_session (session_key, session_data, expire_date) "
            "SELECT md5('bench' || g || clock_timestamp()), 'x', now() - interval '1 day' "
            "FROM generate_series(1, %s) g",
            [rows],
        )
        cursor.execute(
            "INSERT INTO token_blacklist_outstandingtoken (jti, token, created_at, expires_at) "
            "SELECT md5('jti' || g || clock_timestamp()), 't', now() - interval '8 days', now() - interval '1 day' "
            "FROM generate_series(1, %s) g",
            [rows],
        )
    result = timed(lambda: public_tables_prune.run(), 1, warm_up=False)
    result["deleted"] = result.pop("last")
    return result


def print_table(results: dict, *, orgs: int, people: int, reservations: int) -> None:
    yardstick = results["yardstick GET /health"]["wall_ms"]
    print(f"\n{orgs} organizations, {people} filler people, design org with {reservations} reservations")
    print(f"yardstick GET /health: {yardstick:.2f} ms wall (ratios below are against it)\n")
    print(f"{'what':58} {'wall ms':>10} {'cpu ms':>9} {'x yard':>9} {'queries':>8}  (PostgreSQL CPU ms)")
    for name, value in results.items():
        if "wall_ms" not in value:
            print(f"{name:58} {json.dumps(value)}")
            continue
        extra = f"{value.get('queries', ''):>8}"
        if "kB" in value:
            extra += f"  {value['kB']} kB"
        if "pg_cpu_ms" in value:
            extra += f"  ({value['pg_cpu_ms']:.1f})"
        print(
            f"{name:58} {value['wall_ms']:>10.1f} {value['cpu_ms']:>9.1f} {value['wall_ms'] / yardstick:>9.0f} {extra}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orgs", type=int, default=1000, help="filler organizations (default 1,000)")
    parser.add_argument("--people", type=int, default=100_000, help="filler people, one membership each")
    parser.add_argument("--spaces", type=int, default=500, help="spaces of the design-size organization")
    parser.add_argument("--reservations", type=int, default=200_000, help="its reservations")
    parser.add_argument("--members", type=int, default=1000, help="its members")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; medians are reported")
    parser.add_argument("--deep-pages", type=int, default=100, help="pages followed before the deep page")
    parser.add_argument("--prune-rows", type=int, default=20_000, help="expired sessions and tokens to prune")
    parser.add_argument(
        "--schemas-per-transaction",
        type=int,
        default=10,  # build_fillers says why: 50 ran out of the default server's lock table
        help="filler schemas created per transaction (each holds its tables' locks until commit: lower it when "
        "the server's shared lock table is busy and the build fails with 'out of shared memory')",
    )
    parser.add_argument(
        "--build-processes",
        type=int,
        default=1,
        help="processes building filler schemas side by side (2 on two cores roughly halves a 10,000 build)",
    )
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument(
        "--organization-lists-only",
        action="store_true",
        help="measure only the yardstick, list_organizations and the platform admin's organization list",
    )
    args = parser.parse_args()

    setup_django()
    built = {}
    migrate_public()
    built["fillers_s"] = build_fillers(args.orgs, batch=args.schemas_per_transaction, processes=args.build_processes)
    built["people_s"] = build_people(args.people)
    built["design_org_s"] = build_design_org(spaces=args.spaces, reservations=args.reservations, members=args.members)
    print(f"catalog ready: {json.dumps({k: round(v, 1) for k, v in built.items()})}", flush=True)
    if args.build_only:
        return
    results = measure(args)
    for value in results.values():
        value.pop("last", None)
    print_table(results, orgs=args.orgs, people=args.people, reservations=args.reservations)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    name = f"scale-{args.orgs}-organization-lists" if args.organization_lists_only else f"scale-{args.orgs}"
    (out / f"{name}.json").write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(),
                "args": vars(args),
                "build_seconds": built,
                "results": results,
                "cores": os.cpu_count(),
            },
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
