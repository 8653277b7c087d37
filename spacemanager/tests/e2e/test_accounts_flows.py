"""End-to-end: sign-up, login, permissions and members, in a real browser."""

import re

import pytest

from accounts.models import Invitation
from accounts.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect

OWNER_PASSWORD = "a long passphrase 42"


def test_sign_up_lands_logged_in_on_the_new_subdomain_and_can_log_in_again(page, site, screenshot, log_in):
    page.goto(f"{site.public}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Your spaces, booked")
    screenshot(page, "landing")

    page.get_by_role("link", name="Sign up").first.click()
    expect(page).to_have_url(f"{site.public}/signup/")

    def fill(slug: str) -> None:
        page.get_by_label("Your name").fill("Ada Lovelace")
        page.get_by_label("Email").fill("ada@example.com")
        page.get_by_label("Password").fill(OWNER_PASSWORD)
        page.get_by_label("Organization name").fill("Acme Coworking")
        page.get_by_label("Web address").fill(slug)
        page.get_by_label("Time zone").select_option("Europe/Paris")
        page.get_by_role("button", name="Create organization").click()

    # Inline check (htmx): leaving the field is enough to learn the address is taken.
    page.get_by_label("Web address").fill("alpha")
    page.get_by_label("Web address").press("Tab")
    expect(page.locator("#id_organization_slug_error")).to_contain_text("This address is already taken")
    expect(page).to_have_url(f"{site.public}/signup/")

    fill("alpha")  # submitted anyway: the server says the same, next to the field
    slug_input = page.get_by_label("Web address")
    expect(slug_input).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_organization_slug_error")).to_contain_text("This address is already taken")
    screenshot(page, "signup-error")

    fill("e2e-acme")
    acme = site.organization("e2e-acme")
    page.wait_for_url(f"{acme}/")
    expect(page.get_by_role("status")).to_contain_text("Welcome to Acme Coworking!")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    expect(page.locator(".navbar-brand")).to_contain_text("Acme Coworking")
    screenshot(page, "dashboard")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name="Show or hide the menu").click()
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bcollapse show\b"))  # opening animation done
    page.get_by_role("button", name="Manage").click()
    expect(page.get_by_role("link", name="Members", exact=True)).to_be_visible()
    screenshot(page, "dashboard-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_role("button", name="Ada Lovelace").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{acme}/login/")
    expect(page.get_by_role("status")).to_contain_text("You have been logged out.")

    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    screenshot(page, "login-error")

    log_in(page, acme, "ada@example.com", OWNER_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")


def test_login_page(page, site, screenshot):
    page.goto(f"{site.public}/find/")
    page.get_by_label("Your organization's web address").fill("alpha")
    page.get_by_role("button", name="Go to login").click()
    page.wait_for_url(f"{site.organization('alpha')}/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to Alpha")
    screenshot(page, "login")


def test_member_cannot_open_admin_pages(page, site, org, screenshot, log_in):
    alpha = site.organization("alpha")
    log_in(page, alpha, org.member.email, TEST_PASSWORD)
    expect(page.get_by_role("link", name="Members", exact=True)).to_have_count(0)

    for path in ("/members/", "/settings/"):
        response = page.goto(f"{alpha}{path}")
        assert response.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("You can't open this page")
    screenshot(page, "forbidden")


def test_admin_invites_a_member_from_the_members_page(page, site, org, screenshot, log_in):
    alpha = site.organization("alpha")
    log_in(page, alpha, org.admin.email, TEST_PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("button", name="Manage").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members", exact=True).click()
    expect(page).to_have_url(f"{alpha}/members/")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Role", exact=True).select_option("admin")
    page.get_by_role("button", name="Send invitation").click()

    expect(page.get_by_role("status")).to_contain_text(
        "An invitation to join as Admin was emailed to grace@example.com."
    )
    pending = page.get_by_role("region", name="Pending invitations")
    expect(pending).to_contain_text("grace@example.com")
    expect(pending.get_by_role("button", name="Revoke the invitation to grace@example.com")).to_be_visible()
    assert Invitation.objects.get(email="grace@example.com", organization=org.organization).role == "admin"
    screenshot(page, "members")

    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#field-email")).to_contain_text("An invitation to grace@example.com is already pending")


def test_without_javascript_a_member_can_still_log_in_navigate_and_log_out(browser, site, org):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        alpha = site.organization("alpha")
        page.goto(f"{alpha}/login/")
        page.get_by_label("Email").fill(org.admin.email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{alpha}/")

        # The collapsed phone menu and the user menu are shown open when scripts cannot run.
        page.get_by_role("link", name="Members", exact=True).click()
        page.wait_for_url(f"{alpha}/members/")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(f"{alpha}/login/")
        expect(page.get_by_role("status")).to_contain_text("You have been logged out.")
    finally:
        context.close()
