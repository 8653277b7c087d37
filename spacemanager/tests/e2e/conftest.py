"""Browser fixtures for end-to-end tests: Playwright driving Debian's Chromium against pytest-django's live server.

`playwright install` cannot download browsers here, so the tests launch the system Chromium
(`/usr/bin/chromium`, or $CHROMIUM_PATH) and skip with a clear message where none is installed.
Chromium resolves `*.localhost` to loopback by itself, so organization hosts work without a DNS setup.

Every e2e test runs with transactional database semantics (the live server is another thread): the public
tables are flushed after it, and organizations created during the test are dropped, schema and all.
"""

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 860}


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"End-to-end tests need Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).")
    sync_api = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.")
    # Playwright's sync API keeps an asyncio loop in this thread; the test's own ORM calls are still synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Site:
    """Addresses on the live server: the public site and any organization's site."""

    port: int

    @property
    def public(self) -> str:
        return f"http://{settings.BASE_DOMAIN}:{self.port}"

    def organization(self, slug: str) -> str:
        return f"http://{slug}.{settings.BASE_DOMAIN}:{self.port}"


@pytest.fixture
def site(live_server, org, other_org) -> Iterator[Site]:
    """The live server with the public site and organizations alpha and beta in place; organizations the
    test creates (e.g. by signing up) are dropped afterwards, schema included."""
    from tenants.models import Organization
    from tenants.services import public_tenant_ensure

    public_tenant_ensure()
    existing = set(Organization.objects.values_list("pk", flat=True))
    yield Site(port=live_server.thread.port)
    for organization in Organization.objects.exclude(pk__in=existing):
        organization.delete(force_drop=True)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def screenshots_dir() -> Path | None:
    """Where screenshots go: docs/screenshots with SCREENSHOTS=1, another directory with SCREENSHOTS=<path>,
    nowhere otherwise (the flows still run; the committed pictures do not change on every test run)."""
    setting = os.environ.get("SCREENSHOTS", "")
    if setting in ("", "0"):
        return None
    return SCREENSHOTS if setting == "1" else Path(setting)


@pytest.fixture
def screenshot() -> Callable[..., Path | None]:
    """`screenshot(page, "name")` saves <screenshots_dir()>/name.png (the whole page) for README and review."""

    def take(page, name: str, *, full_page: bool = True) -> Path | None:
        directory = screenshots_dir()
        if directory is None:
            return None
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.png"
        page.mouse.move(0, 0)  # no button caught hovered
        page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    return take


@pytest.fixture
def log_in() -> Callable[..., None]:
    """`log_in(page, site_url, email, password)`: log in through the login form and wait for the dashboard."""

    def submit(page, site_url: str, email: str, password: str) -> None:
        page.goto(f"{site_url}/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{site_url}/")

    return submit
