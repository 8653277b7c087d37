"""End-to-end: an owner makes last month's draft invoices, issues one, and its booker finds it with its PDF."""

import re
from datetime import datetime

import pytest
from django.core import mail

from accounts.tests.factories import TEST_PASSWORD
from spacemanager.tests.e2e.test_reports_pages import book_last_month
from tenants.outbox import outbox_relay

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect


def test_an_owner_issues_last_months_invoice_and_the_booker_downloads_it(
    browser, page, site, org, screenshot, log_in, celery_eager
):
    month = book_last_month(org)
    month_name = datetime.strptime(month, "%Y-%m").strftime("%B %Y")  # noqa: DTZ007 (a month, no instant)
    alpha = site.organization("alpha")
    log_in(page, alpha, org.owner.email, TEST_PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("button", name="Manage").click()
    page.get_by_role("link", name="Invoices", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoices")
    generate = page.get_by_role("region", name="Generate drafts")
    generate.get_by_label("Month", exact=True).fill(month)
    generate.get_by_role("button", name="Generate").click()
    # One draft per person who booked that month (the seeded scene decides how many), none invoiced before.
    expect(page.get_by_role("status")).to_contain_text(re.compile(rf"{month_name}: [1-9]\d* drafts? made, 0 already"))
    expect(page.get_by_role("table")).to_contain_text("Alpha Member")
    screenshot(page, "invoices")

    page.get_by_role("row", name="Alpha Member").get_by_role("link", name="Draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice (draft)")
    page.get_by_role("button", name="Issue and email").click()
    expect(page.get_by_role("status")).to_contain_text("Invoice INV-000001 issued")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice INV-000001")
    screenshot(page, "invoice")

    # The booker: My invoices is in their menu, and the PDF downloads.
    member = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        booker = member.new_page()
        log_in(booker, alpha, org.member.email, TEST_PASSWORD)
        booker.get_by_role("button", name="Alpha Member").click()
        booker.get_by_role("link", name="My invoices").click()
        booker.get_by_role("link", name="INV-000001").click()
        with booker.expect_download() as download:
            booker.get_by_role("link", name="PDF").click()
        assert download.value.path().read_bytes().startswith(b"%PDF")
    finally:
        member.close()
    outbox_relay()  # beat's job: the booker's email, with the PDF, leaves through the outbox
    (email,) = [message for message in mail.outbox if message.to == [org.member.email]]
    assert "INV-000001" in email.subject
    assert email.attachments[0][1].startswith(b"%PDF")
