"""The API keeps the promises of its OpenAPI schema, checked by schemathesis against a live server.

`make fuzz` runs this (it is left out of `make test`): every operation of the served schema is called with
generated valid and invalid input, as an owner of a seeded organization on its own host, and each answer
must be a documented status with the documented shape: no 5xx, no schema violation. The seed makes the
run repeatable; the example budget keeps it to a few minutes on two cores.
"""

import json
import os
import subprocess
import sys
import urllib.request
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tokens import tokens_for_membership
from billing.services import invoices_generate
from reports.services import monthly_report_generate
from reservations.tests.factories import ReservationFactory
from spacemanager.tests.live import live_server
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.fuzz

SEED = int(os.environ.get("FUZZ_SEED", "20261202"))
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "20"))


def _seed(org) -> None:
    """Something behind every path parameter: spaces, reservations, a report, an invoice, the seeded members."""
    connection.set_tenant(org.organization)
    try:
        always_open = SpaceFactory(name="Open room", capacity=8)
        open_every_day(SpaceFactory(name="Day room", capacity=4))
        soon = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        ReservationFactory(space=always_open, user=org.owner, starts_at=soon, ends_at=soon + timedelta(hours=1))
        ReservationFactory(space=always_open, user=org.member, starts_at=soon + timedelta(hours=2))
        last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
        monthly_report_generate(month=date(last_month.year, last_month.month, 1))
        billed = datetime.combine(last_month + timedelta(days=2), time(9), tzinfo=UTC)
        ReservationFactory(
            space=always_open,
            user=org.member,
            starts_at=billed,
            ends_at=billed + timedelta(hours=1),
            status="completed",
            price=Decimal("25.00"),
        )
        invoices_generate(month=last_month)
    finally:
        connection.set_schema_to_public()


def _fetch_schema(url: str, host: str, path: Path) -> Path:
    request = urllib.request.Request(f"{url}/api/schema/?format=json", headers={"Host": host})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own loopback server
        path.write_bytes(response.read())
    json.loads(path.read_text())
    return path


CONFIG = Path(__file__).with_name("schemathesis.toml")
PUBLIC_HOST = "localhost"
REGISTER = "/api/v1/auth/register"


def _schemathesis(
    schema: Path,
    url: str,
    *,
    headers: dict[str, str],
    only: str | None,
    skip: str | None,
    max_examples: int,
    report: Path,
) -> tuple[int, str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        str(schema),
        "--url",
        url,
        "--seed",
        str(SEED),
        "--max-examples",
        str(max_examples),
        "--generation-database",
        "none",
        # One worker: the run stays the same from one seed to the next.
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--no-color",
        "--suppress-health-check",
        "too_slow",
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    if only:
        command += ["--include-path", only]
    if skip:
        command += ["--exclude-path", skip]
    result = subprocess.run(  # noqa: S603 - fixed interpreter and module
        command, capture_output=True, text=True, timeout=600, check=False
    )
    output = result.stdout + result.stderr
    report.write_text(output)
    return result.returncode, output


def test_schemathesis_finds_no_server_error_and_no_schema_violation(transactional_db, org, tmp_path):
    _seed(org)
    access = tokens_for_membership(org.membership(org.owner))["access"]
    # A large header buffer: a long generated query string reaches the application (the limit is the web
    # server's, or a proxy's in production, and answers outside the API).
    with live_server(log=tmp_path / "server.log", extra_environment={"GRANIAN_HTTP1_BUFFER_SIZE": "4194304"}) as server:
        schema = _fetch_schema(server.url, org.host, tmp_path / "schema.json")
        # Everything an organization's host serves, as its owner ...
        status, output = _schemathesis(
            schema,
            server.url,
            headers={"Host": org.host, "Authorization": f"Bearer {access}"},
            only=None,
            skip=REGISTER,
            max_examples=MAX_EXAMPLES,
            report=tmp_path / "organization.txt",
        )
        assert status == 0, f"{output[-20000:]}\n--- server log ---\n{server.log_tail()}"
        # ... and registration, which only the public host serves (each success creates an organization).
        status, output = _schemathesis(
            schema,
            server.url,
            headers={"Host": PUBLIC_HOST},
            only=REGISTER,
            skip=None,
            max_examples=10,
            report=tmp_path / "public.txt",
        )
        assert status == 0, f"{output[-20000:]}\n--- server log ---\n{server.log_tail()}"
