"""End-to-end: the production Content-Security-Policy leaves htmx, Bootstrap and every form working, with no
violation reported by the browser."""

import re
from datetime import timedelta

import pytest

from spacemanager.tests.e2e.test_booking_flows import DASH, OWNER_PASSWORD, next_monday

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect

# Runs before any page script and outside the page's policy: records what the browser refuses.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
    const where = `${event.sourceFile}:${event.lineNumber}`;
    window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${where}`);
});
"""


@pytest.fixture
def production_policy(settings):
    """The header production sends (settings.CONTENT_SECURITY_POLICY when ENVIRONMENT=production)."""
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": settings.CONTENT_SECURITY_POLICY_DIRECTIVES}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = None


def test_pages_work_under_the_production_policy_without_a_violation(page, site, production_policy):
    violations: list[str] = []
    console_errors: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))

    def collect() -> None:
        violations.extend(page.evaluate("window.__cspViolations || []"))

    response = page.goto(f"{site.public}/signup/")
    assert "script-src 'self'" in response.headers["content-security-policy"]

    # htmx's inline check of the address, then a form whose answer redirects to another origin.
    page.get_by_label("Web address").fill("alpha")
    page.get_by_label("Web address").press("Tab")
    expect(page.locator("#id_organization_slug_error")).to_contain_text("This address is already taken")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(OWNER_PASSWORD)
    page.get_by_label("Organization name").fill("Acme Coworking")
    page.get_by_label("Web address").fill("e2e-csp")
    collect()
    page.get_by_role("button", name="Create organization").click()
    acme = site.organization("e2e-csp")
    page.wait_for_url(f"{acme}/")
    collect()

    # Bootstrap's dropdown (the user menu) opens.
    page.get_by_role("button", name="Ada Lovelace").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.keyboard.press("Escape")

    page.goto(f"{acme}/spaces/new/")
    page.get_by_label("Name").fill("Green room")
    page.get_by_label("Capacity").fill("6")
    page.get_by_role("button", name="Create space").click()
    expect(page.get_by_role("status")).to_contain_text("Green room was created")
    collect()

    # The calendar, drawn by classes, and htmx's week switch.
    page.get_by_role("link", name="Next week").click()
    expect(page).to_have_url(re.compile(r"/spaces/\d+/\?week=\d{4}-\d{2}-\d{2}$"))
    slot = page.locator(".free-slot").first
    expect(slot).to_be_visible()
    assert slot.bounding_box()["height"] > 10  # positioned and sized by calendar.css, not inline styles
    monday = next_monday()
    tuesday = monday + timedelta(days=1)
    page.get_by_role("link", name=f"Book {tuesday:%A} {tuesday.day} {tuesday:%B}, 10:00{DASH}11:00").click()
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Booked Green room")
    collect()

    assert violations == []
    assert [error for error in console_errors if "Content Security Policy" in error] == []


@pytest.mark.parametrize(("path", "rendered"), [("/api/docs/", ".swagger-ui .info"), ("/api/redoc/", ".api-info")])
def test_the_api_docs_render_under_the_production_policy(page, site, production_policy, path, rendered):
    page.add_init_script(RECORD_VIOLATIONS)
    # The docs' own Google fonts are not ours to serve; everything else must load.
    page.route(re.compile(r"https://fonts\.(googleapis|gstatic)\.com/.*"), lambda route: route.abort())

    page.goto(f"{site.organization('alpha')}{path}")

    expect(page.locator(rendered).first).to_be_visible(timeout=30_000)
    assert page.evaluate("window.__cspViolations") == []


def test_the_platform_admin_works_under_the_production_policy(page, site, org, production_policy, platform_superuser):
    page.add_init_script(RECORD_VIOLATIONS)
    violations: list[str] = []

    page.goto(f"{site.public}/admin/login/")
    page.get_by_label("Email").fill("root@platform.test")
    page.get_by_label("Password").fill("root-password-42")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site.public}/admin/")
    violations += page.evaluate("window.__cspViolations")
    for path in ("/admin/tenants/organization/", f"/admin/tenants/organization/{org.organization.pk}/change/"):
        response = page.goto(f"{site.public}{path}")
        assert response.status == 200
        expect(page.locator("#content")).to_be_visible()
        violations += page.evaluate("window.__cspViolations")

    assert violations == []
