"""End-to-end: a room's tablet display in a real browser: signing in with its display link, the room's state,
"Book now" for 30 minutes at the door, the check-in button, and the page recovering after a server restart."""

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces import displays
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect


@pytest.fixture
def fast_refresh(settings):
    settings.DISPLAY_REFRESH_SECONDS = 1


def _display_link(org, **space):
    connection.set_tenant(org.organization)
    try:
        room = SpaceFactory(name="Blue room", check_in_required=True, check_in_grace_minutes=10, **space)
        _, secret = displays.display_link_create(actor=org.membership(org.admin), space=room, name="Door")
    finally:
        connection.set_schema_to_public()
    return room, secret


def test_the_display_shows_the_room_books_30_minutes_at_the_door_and_checks_in(site, org, page, fast_refresh):
    room, secret = _display_link(org)
    base = site.organization("alpha")
    connection.set_tenant(org.organization)
    ReservationFactory(space=room, user=org.member, title="Secret plans", starts_at=timezone.now() + timedelta(hours=3))
    connection.set_schema_to_public()

    page.goto(f"{base}/spaces/display/open/{secret}/")

    assert page.url == f"{base}/spaces/{room.pk}/display/"
    expect(page.locator("#room-name")).to_have_text("Blue room")
    expect(page.locator("#display-state")).to_have_attribute("data-state", "free")
    expect(page.locator("#next-bookings")).to_contain_text("Booked")
    expect(page.locator("#next-bookings")).not_to_contain_text("Secret plans")

    page.get_by_role("button", name="30 min").click()

    expect(page.locator("#display-notice")).to_have_text("Booked for 30 minutes.")
    expect(page.locator("#display-state")).to_have_attribute("data-state", "busy")
    expect(page.locator("#current-booking")).to_contain_text("Booked")
    connection.set_tenant(org.organization)
    booking = Reservation.objects.get(title="Booked at the door")
    assert (booking.user_id, booking.ends_at - booking.starts_at) == (org.admin.pk, timedelta(minutes=30))
    connection.set_schema_to_public()

    page.get_by_role("button", name="Check in").click()

    expect(page.locator("#display-notice")).to_have_text("Checked in.")
    expect(page.get_by_text("Checked in at")).to_be_visible()
    connection.set_tenant(org.organization)
    assert Reservation.objects.get(pk=booking.pk).checked_in_at is not None
    connection.set_schema_to_public()
    # The tablet's cookie opens nothing else.
    page.goto(f"{base}/reservations/")
    assert "/login/" in page.url


def _free_port() -> int:
    for port in range(8570, 8600):  # this project's test ports
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 8570-8599")


def _server(port: int) -> subprocess.Popen:
    """The web server as its own process on the test database (a real stop and start, not a thread)."""
    database = connection.settings_dict
    socket_dir = database["OPTIONS"].get("host", "")
    if not database["HOST"] and socket_dir:  # the embedded server: its socket directory (spacemanager.embedded)
        database_url = f"postgres://{database['USER']}@/{database['NAME']}?host={socket_dir}"
    else:
        database_url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "DISPLAY_REFRESH_SECONDS": "1",
    }
    process = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=10)


def test_the_display_keeps_working_through_a_server_restart(site, org, page):
    room, secret = _display_link(org)
    port = _free_port()
    base = f"http://alpha.localhost:{port}"
    server = _server(port)
    try:
        page.goto(f"{base}/spaces/display/open/{secret}/")
        expect(page.locator("#display-state")).to_have_attribute("data-state", "free")

        _stop(server)  # the server goes away: the tablet's polls fail meanwhile
        failed = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        deadline = time.monotonic() + 10
        while len(failed) < 2 and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert len(failed) >= 2, "the tablet's polls did not fail while the server was down"

        connection.set_tenant(org.organization)
        ReservationFactory(space=room, user=org.member, starts_at=timezone.now() - timedelta(minutes=2))
        connection.set_schema_to_public()
        server = _server(port)  # back, on the same address

        expect(page.locator("#display-state")).to_have_attribute("data-state", "busy", timeout=15_000)
        expect(page.get_by_role("button", name="Check in")).to_be_visible()
    finally:
        if server.poll() is None:
            _stop(server)
