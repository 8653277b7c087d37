"""The schedule page at the design size: one organization with 500 spaces and 200,000 reservations.

    DATABASE_URL=postgres://… .venv/bin/python bench/schedule.py [--requests 30] [--spaces 500]
        [--reservations 200000]

Seeds (once) an organization "bench-schedule" with `tenants.demo.seed_organization`, then renders in this
process, through Django's test client (the whole middleware stack and the template, no network):

- the schedule for the busiest day within a week, first page (50 rows) and a later page, for an owner
  (bookers' names joined) and a member;
- the yardstick, measured in the same run: the spaces list page (24 cards), a page of the same kind.

It prints per page the median and p95 wall milliseconds, the CPU milliseconds per request of this process
(PostgreSQL's share not included), the page's size and the ratio to the yardstick (the query count is
asserted by spaces/tests/test_schedule.py). The machine is
shared and noisy: read the ratios and CPU figures, not the absolute times. A benchmark, not a test.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-schedule"


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spacemanager.settings")
    import django

    django.setup()


def measure(client, path: str, host: str, requests: int) -> dict:
    response = client.get(path, HTTP_HOST=host)
    assert response.status_code == 200, (path, response.status_code)
    walls, cpus = [], []
    for _ in range(requests):
        wall, cpu = time.perf_counter(), time.process_time()
        client.get(path, HTTP_HOST=host)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    walls.sort()
    return {
        "median_ms": 1000 * statistics.median(walls),
        "p95_ms": 1000 * walls[max(0, int(len(walls) * 0.95) - 1)],
        "cpu_ms": 1000 * statistics.median(cpus),
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--spaces", type=int, default=500)
    parser.add_argument("--reservations", type=int, default=200_000)
    options = parser.parse_args()
    setup_django()

    from datetime import timedelta

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.db.models.functions import TruncDate
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Membership
    from reservations.models import Reservation
    from tenants.demo import seed_organization
    from tenants.models import Organization
    from tenants.services import organization_register, public_tenant_ensure

    call_command("migrate_schemas", "--shared", verbosity=0)
    public_tenant_ensure()
    organization = Organization.objects.filter(slug=SLUG).first()
    if organization is None:
        organization = organization_register(
            organization_name="Bench Schedule",
            organization_slug=SLUG,
            owner_email=f"owner@{SLUG}.example.com",
            owner_password=None,
            owner_full_name="Olivia Owner",
        ).organization
    started = time.perf_counter()
    result = seed_organization(
        organization,
        spaces=options.spaces,
        reservations=options.reservations,
        members=20,
        password=settings.DEMO_OWNER_PASSWORD,
    )
    if result.created:
        took = time.perf_counter() - started
        print(f"seeded {result.spaces} spaces, {result.reservations} reservations in {took:.0f} s")

    connection.set_tenant(organization)
    now = timezone.now()
    busiest = (
        Reservation.objects.filter(starts_at__gte=now, starts_at__lt=now + timedelta(days=7))
        .annotate(day=TruncDate("starts_at"))
        .values("day")
        .annotate(count=Count("id"))
        .order_by("-count")
        .first()
    )
    day = busiest["day"] if busiest else timezone.localdate()
    connection.set_schema_to_public()
    owner = Membership.objects.filter(organization=organization, role="owner").select_related("user").first().user
    member = Membership.objects.filter(organization=organization, role="member").select_related("user").first().user
    host = organization.host

    pages = [
        ("yardstick: spaces list (member)", member, "/spaces/"),
        ("schedule page 1 (member)", member, f"/schedule/?date={day:%Y-%m-%d}"),
        ("schedule page 1 (owner)", owner, f"/schedule/?date={day:%Y-%m-%d}"),
        ("schedule page 5 (owner)", owner, f"/schedule/?date={day:%Y-%m-%d}&page=5"),
        ("schedule, desks only (member)", member, f"/schedule/?date={day:%Y-%m-%d}&kind=desk"),
    ]
    print(f"{organization.slug}: day {day}, {options.requests} requests per page, in process (no server)")
    results = {}
    for label, user, path in pages:
        client = Client()
        client.force_login(user)
        results[label] = measure(client, path, host, options.requests)
    yardstick = results[pages[0][0]]
    print(f"{'page':34} {'median ms':>10} {'p95 ms':>8} {'CPU ms':>8} {'KB':>6} {'x yardstick':>12}")
    for label, figures in results.items():
        ratio = figures["median_ms"] / yardstick["median_ms"]
        print(
            f"{label:34} {figures['median_ms']:10.1f} {figures['p95_ms']:8.1f} {figures['cpu_ms']:8.1f} "
            f"{figures['bytes'] / 1024:6.0f} {ratio:12.2f}"
        )


if __name__ == "__main__":
    main()
