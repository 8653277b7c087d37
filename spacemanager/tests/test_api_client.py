"""The OpenAPI schema is usable: a Python client generated from it (openapi-python-client) logs in,
creates a space and books it against a live server, and reads a clash as the documented 409."""

import importlib
import json
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from accounts.tests.factories import TEST_PASSWORD
from spacemanager.tests.live import live_server

pytestmark = pytest.mark.slow
PACKAGE = "spacemanager_generated_client"


def _generate_client(schema: Path, into: Path) -> None:
    config = into / "generator.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter run over the generated code
    result = subprocess.run(  # noqa: S603 - fixed interpreter and module
        [
            sys.executable, "-m", "openapi_python_client", "generate",
            "--path", str(schema), "--meta", "none", "--output-path", str(into / PACKAGE),
            "--config", str(config), "--fail-on-warning",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def generated_client(tmp_path):
    sys.path.insert(0, str(tmp_path))
    yield lambda: importlib.import_module(PACKAGE)
    sys.path.remove(str(tmp_path))
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def test_a_client_generated_from_the_schema_books_a_space(transactional_db, org, tmp_path, generated_client):
    with live_server(log=tmp_path / "server.log") as server:
        request = urllib.request.Request(f"{server.url}/api/schema/?format=json", headers={"Host": org.host})  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own loopback server
            (tmp_path / "schema.json").write_bytes(response.read())
        _generate_client(tmp_path / "schema.json", tmp_path)
        sm = generated_client()
        login = importlib.import_module(f"{PACKAGE}.api.auth.auth_login_create")
        create_space = importlib.import_module(f"{PACKAGE}.api.spaces.spaces_create")
        book = importlib.import_module(f"{PACKAGE}.api.reservations.reservations_create")
        list_reservations = importlib.import_module(f"{PACKAGE}.api.reservations.reservations_list")
        models = importlib.import_module(f"{PACKAGE}.models")

        def log_in(email: str):
            anonymous = sm.Client(base_url=server.url, headers={"Host": org.host}, raise_on_unexpected_status=True)
            session = login.sync(client=anonymous, body=models.LoginInputRequest(email=email, password=TEST_PASSWORD))
            assert isinstance(session, models.Session), session
            return sm.AuthenticatedClient(
                base_url=server.url, token=session.access, headers={"Host": org.host}, raise_on_unexpected_status=True
            )

        owner = log_in(org.owner.email)
        space = create_space.sync(client=owner, body=models.SpaceInputRequest(name="Blue room", capacity=6))
        assert isinstance(space, models.Space), space

        member = log_in(org.member.email)
        starts_at = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
        booking = models.ReservationInputRequest(
            space=space.id, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), title="Standup"
        )
        reservation = book.sync(client=member, body=booking)
        assert isinstance(reservation, models.Reservation), reservation
        assert reservation.starts_at == starts_at
        assert reservation.status == models.ReservationStatusEnum.CONFIRMED

        clash = book.sync(client=member, body=booking)
        assert isinstance(clash, models.ReservationConflict), clash
        assert clash.code == "reservation_conflict"
        assert clash.conflicts[0].starts_at == starts_at

        mine = list_reservations.sync(client=member, space=space.id)
        assert [item.id for item in mine.results] == [reservation.id]
