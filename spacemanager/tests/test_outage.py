"""PostgreSQL unreachable -> 503 with Retry-After (API JSON and a page), then back to normal once it returns;
an organization deleted under a running request -> 404.

The outage is real for the application: a web server in a subprocess reaches the test database only through a
loopback TCP relay that this test owns. Stopping the relay closes every open connection and refuses new ones,
exactly what psycopg sees when PostgreSQL stops; the shared server on 5432 is never touched.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import suppress
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.test import Client

from accounts.tests.factories import TEST_PASSWORD
from accounts.tokens import tokens_for_membership
from conftest import _provision_test_organization
from spacemanager.responses import database_unreachable
from spacemanager.testing import subprocess_database_url
from tenants.services import organization_register

RELAY_PORT = 8111
WEB_PORT = 8112


class Relay:
    """Forwards 127.0.0.1:RELAY_PORT to the real PostgreSQL; `stop()` is the outage, `start()` the restart."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", RELAY_PORT))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self.lock:
            if self.listener is not None:
                with suppress(OSError):
                    self.listener.shutdown(socket.SHUT_RDWR)
                self.listener.close()
                self.listener = None
            for sock in self.sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            server = socket.create_connection(self.upstream, timeout=5)
            server.settimeout(None)
            with self.lock:
                self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def relayed_database_url() -> str:
    url = urlsplit(subprocess_database_url())
    return url._replace(netloc=f"{url.username or 'postgres'}@127.0.0.1:{RELAY_PORT}").geturl()


def fetch(path: str, host: str, accept: str = "application/json") -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(f"http://127.0.0.1:{WEB_PORT}{path}", headers={"Host": host, "Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback test server
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def wait_until_serving(process: subprocess.Popen) -> None:
    for _ in range(300):  # at most 30 s
        if process.poll() is not None:
            raise AssertionError(f"the web server exited: {process.stdout.read()}")
        with suppress(OSError), socket.create_connection(("127.0.0.1", WEB_PORT), timeout=0.1):
            return
        time.sleep(0.1)
    raise AssertionError("the web server did not start within 30 s")


@pytest.fixture
def relay():
    db = connection.settings_dict
    if (db.get("HOST") or "").startswith("/") or not db.get("HOST"):
        pytest.skip("The outage test relays TCP; this database is reached through a Unix socket.")
    relay = Relay((db["HOST"], int(db.get("PORT") or 5432)))
    relay.start()
    yield relay
    relay.stop()


@pytest.fixture
def web_server(relay, transactional_db):
    """`manage.py runserver` on WEB_PORT whose only way to the database is the relay."""
    organization = _provision_test_organization("alpha")  # committed: the server must see it
    environment = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DEBUG": "false",
        "DATABASE_URL": relayed_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CONN_MAX_AGE": "60",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    process = subprocess.Popen(  # noqa: S603 - fixed interpreter and script
        [sys.executable, "manage.py", "runserver", "--noreload", "--nothreading", f"127.0.0.1:{WEB_PORT}"],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_serving(process)
        yield organization
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_a_database_outage_answers_503_with_retry_after_and_recovery_follows(relay, web_server):
    host = web_server.host
    assert fetch("/api/v1/auth/me", host)[0] == 401
    assert fetch("/login/", host, accept="text/html")[0] == 200

    relay.stop()
    api_status, api_headers, api_body = fetch("/api/v1/auth/me", host)
    page_status, page_headers, page_body = fetch("/login/", host, accept="text/html")
    relay.start()
    recovered = [fetch("/api/v1/auth/me", host)[0], fetch("/login/", host, accept="text/html")[0]]

    assert api_status == 503
    assert api_headers["Retry-After"] == "5"
    assert json.loads(api_body) == {
        "detail": "The service is briefly unavailable. Please try again in a few seconds.",
        "code": "service_unavailable",
    }
    assert page_status == 503
    assert page_headers["Retry-After"] == "5"
    assert "Briefly unavailable" in page_body
    assert recovered == [401, 200]


@pytest.mark.slow
def test_a_request_caught_by_its_organizations_deletion_is_a_404(transactional_db):
    _provision_test_organization("alpha")  # the public site's rows, after an earlier flush
    registration = organization_register(
        organization_name="Gamma",
        organization_slug="gamma",
        owner_email="owner@gamma.test",
        owner_password=TEST_PASSWORD,
    )
    access = tokens_for_membership(registration.membership)["access"]
    # The schema is gone while the request's routing and token check still find the organization: what a
    # request sees when the deletion commits between its membership lookup and its first tenant query.
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{registration.organization.schema_name}" CASCADE')
    client = Client(HTTP_HOST=registration.organization.host, HTTP_AUTHORIZATION=f"Bearer {access}")
    client.raise_request_exception = False

    response = client.get("/api/v1/spaces")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def _wrapped(error: Exception) -> OperationalError:
    wrapped = OperationalError(str(error))
    wrapped.__cause__ = error
    return wrapped


@pytest.mark.parametrize(
    ("error", "unreachable"),
    [
        (_wrapped(psycopg.OperationalError("connection refused")), True),
        (_wrapped(psycopg.errors.AdminShutdown("terminating connection")), True),
        (_wrapped(psycopg.errors.DeadlockDetected("deadlock detected")), False),
        (_wrapped(psycopg.errors.QueryCanceled("statement timeout")), False),
        (InterfaceError("connection already closed"), True),
        (RuntimeError("boom"), False),
    ],
)
def test_only_a_database_that_cannot_be_reached_counts_as_an_outage(error, unreachable):
    assert database_unreachable(error) is unreachable
