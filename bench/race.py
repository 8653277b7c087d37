"""Racing bookings: 12-15 clients book the same slot at the same instant, round after round, and the 5xx are counted.

    .venv/bin/python bench/race.py [--requests 1000] [--port 8150] [--skip-seed]

Serves the project as deployed (spacemanager.serve: granian) on 127.0.0.1, reuses the benchmark's
organization (bench/run.py's seed, `seed_demo`), and keeps a space of its own ("Race room", always open) so
that every round meets an empty slot. Each round picks a fresh hour; 12 to 15 threads, each a different member
with their own keep-alive connection, wait at a barrier and POST /api/v1/reservations for that hour at once
(30, 45 or 60 minutes from its start, so that every pair overlaps). Exactly one may win (201); the others must
get 409. It prints the statuses, the count of 5xx and of rounds with more than one winner (a double booking),
and exits 1 if either is not 0. The bookings it made are deleted afterwards.

A benchmark, not a test: the suite has the functional race tests. Bounded: it stops after --requests.
"""

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import RESERVATIONS, SLUG, SPACES, serving, setup_django

RACE_SPACE = "Race room"


def prepare(*, skip_seed: bool) -> tuple[object, object, list[str]]:
    """The organization, its race space (emptied of future bookings) and one access token per member."""
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Membership
    from accounts.tokens import tokens_for_membership
    from reservations.models import Reservation
    from spaces.models import Space
    from tenants.models import Organization

    if not skip_seed:
        call_command("seed_demo", slug=SLUG, organizations=1, spaces=SPACES, reservations=RESERVATIONS, timezone="UTC")
    organization = Organization.objects.get(slug=SLUG)
    connection.set_tenant(organization)
    space, _ = Space.objects.get_or_create(
        name=RACE_SPACE,
        defaults={"capacity": 50, "min_duration_minutes": 15, "max_duration_minutes": 240, "max_days_ahead": 3650},
    )
    Reservation.objects.filter(space=space).delete()
    connection.set_schema_to_public()
    memberships = Membership.objects.filter(organization=organization, user__is_active=True).select_related("user")
    tokens = [tokens_for_membership(membership)["access"] for membership in memberships]
    return organization, space, tokens


class Client:
    """One racer: a member's token and a keep-alive connection to the server."""

    def __init__(self, port: int, host: str, token: str) -> None:
        self.port, self.headers = port, {"Host": host, "Authorization": f"Bearer {token}"}
        self.headers["Content-Type"] = "application/json"
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def book(self, body: bytes) -> int:
        for attempt in range(2):
            try:
                self.connection.request("POST", "/api/v1/reservations", body=body, headers=self.headers)
                response = self.connection.getresponse()
                response.read()
                return response.status
            except (http.client.HTTPException, OSError):
                # A worker recycled (max_requests) closes its keep-alive connections: reconnect once.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    return 0
        return 0


def race(clients: list[Client], *, space_id: int, starts_at: datetime, rng: random.Random) -> list[int]:
    """One round: every client books the hour from `starts_at` at once; their statuses."""
    barrier = threading.Barrier(len(clients))
    statuses = [0] * len(clients)
    bodies = [
        json.dumps(
            {
                "space": space_id,
                "starts_at": starts_at.isoformat(),
                "ends_at": (starts_at + timedelta(minutes=rng.choice((30, 45, 60)))).isoformat(),
                "title": "Race",
            }
        ).encode()
        for _ in clients
    ]

    def run(index: int) -> None:
        barrier.wait()
        statuses[index] = clients[index].book(bodies[index])

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="racing requests in all (the issue asks 10,000)")
    parser.add_argument("--port", type=int, default=8150, help="the web server's port on 127.0.0.1")
    parser.add_argument("--seed", type=int, default=9, help="random seed: the racers per round and durations")
    parser.add_argument("--skip-seed", action="store_true", help="the benchmark's organization exists already")
    args = parser.parse_args()

    setup_django()
    from django.conf import settings
    from django.db import connection

    from reservations.models import Reservation

    organization, space, tokens = prepare(skip_seed=args.skip_seed)
    if len(tokens) < 15:
        sys.exit(f"the organization has {len(tokens)} members; 15 are needed")
    env = {
        **os.environ,
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": os.environ.get("DATABASE_URL", settings.DATABASE_URL),
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "false",
        "LOG_LEVEL": "ERROR",  # not a line per 409
    }
    env |= {"PORT": str(args.port), "GRANIAN_HOST": "127.0.0.1"}
    command = [sys.executable, "-m", "spacemanager.serve"]  # as deployed
    rng = random.Random(args.seed)
    first_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    statuses: Counter[int] = Counter()
    double_bookings = rounds = 0
    started = time.monotonic()
    try:
        with serving(command, env, args.port, "localhost"):
            clients = [Client(args.port, organization.host, token) for token in tokens[:15]]
            while sum(statuses.values()) < args.requests:
                racers = rng.sample(clients, rng.randint(12, 15))
                answers = race(racers, space_id=space.pk, starts_at=first_hour + timedelta(hours=rounds), rng=rng)
                statuses.update(answers)
                double_bookings += answers.count(201) > 1
                rounds += 1
    finally:
        connection.set_tenant(organization)
        Reservation.objects.filter(space=space).delete()
        connection.set_schema_to_public()
    elapsed = time.monotonic() - started
    server_errors = sum(count for status, count in statuses.items() if status >= 500 or status == 0)
    total = sum(statuses.values())
    print(
        f"{total} racing requests in {rounds} rounds of 12-15 clients, {elapsed:.0f} s: "
        f"statuses {dict(sorted(statuses.items()))} (0 = no answer)"
    )
    print(f"5xx: {server_errors} over {total} requests; rounds with more than one winner: {double_bookings}")
    sys.exit(1 if server_errors or double_bookings else 0)


if __name__ == "__main__":
    main()
