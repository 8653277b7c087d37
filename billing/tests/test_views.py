"""Invoice pages: managers list, generate and move invoices on; every member reads their own; settings page."""

from datetime import date

import pytest
from django.core import mail
from django.db import connection

from billing import services
from billing.models import BillingSettings, Invoice
from billing.tests.factories import AFTER_MARCH, booking

MARCH = date(2025, 3, 1)


@pytest.fixture
def drafts(in_tenant, after_march):
    booking(in_tenant.member, day=3, price="40.00")
    booking(in_tenant.admin, day=4, price="25.00")
    result = services.invoices_generate(month=MARCH, now=AFTER_MARCH)
    connection.set_schema_to_public()
    return {invoice.user_id: invoice for invoice in result.created}


def _invoice(org, pk: int) -> Invoice:
    connection.set_tenant(org.organization)
    try:
        return Invoice.objects.get(pk=pk)
    finally:
        connection.set_schema_to_public()


def test_managers_see_every_invoice_and_members_only_their_own(org, drafts, web_client):
    listing = web_client(org, org.admin).get("/invoices/")
    mine = web_client(org, org.member).get("/invoices/mine/")

    assert listing.status_code == 200
    assert "Member" in listing.content.decode() and "Admin" in listing.content.decode()
    assert mine.status_code == 200 and "€40.00" in mine.content.decode()
    assert "€25.00" not in mine.content.decode()
    assert web_client(org, org.member).get("/invoices/").status_code == 403
    assert web_client(org, org.member).get(f"/invoices/{drafts[org.admin.pk].pk}/").status_code == 404
    assert web_client(org).get("/invoices/mine/").status_code == 302


def test_the_navigation_links_my_invoices_for_members_and_invoices_for_managers(org, web_client):
    member_page = web_client(org, org.member).get("/invoices/mine/").content.decode()
    admin_page = web_client(org, org.admin).get("/invoices/mine/").content.decode()

    assert 'href="/invoices/mine/">My invoices' in member_page and 'href="/invoices/">Invoices' not in member_page
    assert 'href="/invoices/">Invoices' in admin_page


def test_bad_filters_are_a_400_with_the_form_error(org, drafts, web_client):
    response = web_client(org, org.admin).get("/invoices/", {"month": "2025-13", "status": "open"})

    assert response.status_code == 400
    assert "Give a month as YYYY-MM." in response.content.decode()


def test_a_manager_generates_a_month_and_bad_months_are_form_errors(org, in_tenant, after_march, web_client):
    booking(org.member, day=3)
    connection.set_schema_to_public()
    client = web_client(org, org.owner)

    made = client.post("/invoices/generate", {"month": "2025-03"}, follow=True)
    not_over = client.post("/invoices/generate", {"month": "2025-04"})
    malformed = client.post("/invoices/generate", {"month": "March"})
    member = web_client(org, org.member).post("/invoices/generate", {"month": "2025-03"})

    assert made.status_code == 200 and "March 2025: 1 draft made, 0 already invoiced." in made.content.decode()
    assert not_over.status_code == 400 and "has not ended yet" in not_over.content.decode()
    assert malformed.status_code == 400 and "Give a month as YYYY-MM." in malformed.content.decode()
    assert member.status_code == 403
    connection.set_tenant(org.organization)
    assert Invoice.objects.count() == 1


def test_issue_pay_and_void_buttons_and_a_refused_move_shows_why(
    org, drafts, web_client, celery_eager, django_capture_on_commit_callbacks
):
    client = web_client(org, org.admin)
    pk = drafts[org.member.pk].pk

    detail = client.get(f"/invoices/{pk}/").content.decode()
    assert "Issue and email" in detail
    with django_capture_on_commit_callbacks(execute=True):
        issued = client.post(f"/invoices/{pk}/issue", follow=True)
    again = client.post(f"/invoices/{pk}/issue")
    paid = client.post(f"/invoices/{pk}/mark-paid", {"reference": "Bank 7"}, follow=True)
    long_reason = client.post(f"/invoices/{pk}/void", {"reason": "x" * 301})
    void = client.post(f"/invoices/{pk}/void", {"reason": "Duplicate"}, follow=True)

    assert "Invoice INV-000001 issued" in issued.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].attachments[0][1].startswith(b"%PDF")
    assert again.status_code == 409 and "only a draft can be issued" in again.content.decode()
    assert "marked paid" in paid.content.decode() and "Bank 7" in paid.content.decode()
    assert long_reason.status_code == 400
    assert "voided" in void.content.decode()
    assert _invoice(org, pk).status == Invoice.Status.VOID
    assert web_client(org, org.member).post(f"/invoices/{pk}/void").status_code == 403


def test_the_booker_downloads_the_pdf_and_csv(org, drafts, web_client):
    client = web_client(org, org.member)
    pk = drafts[org.member.pk].pk

    pdf = client.get(f"/invoices/{pk}/invoice.pdf")
    csv = client.get(f"/invoices/{pk}/invoice.csv")

    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert csv.status_code == 200 and "40.00" in csv.content.decode()
    assert client.get(f"/invoices/{drafts[org.admin.pk].pk}/invoice.pdf").status_code == 404


def test_another_organization_cannot_open_these_invoices(org, other_org, drafts, web_client):
    client = web_client(other_org, other_org.owner)

    assert client.get(f"/invoices/{drafts[org.member.pk].pk}/").status_code == 404
    assert client.post(f"/invoices/{drafts[org.member.pk].pk}/issue").status_code == 404


def test_billing_settings_page_saves_and_shows_field_errors(org, web_client):
    client = web_client(org, org.admin)

    page = client.get("/settings/billing/")
    saved = client.post(
        "/settings/billing/",
        {
            "legal_name": "Alpha SAS",
            "address": "1 Main St",
            "tax_id": "FR1",
            "tax_rate": "20",
            "tax_label": "VAT",
            "invoice_prefix": "A-",
            "payment_terms_days": "30",
        },
    )
    bad = client.post(
        "/settings/billing/",
        {"tax_rate": "150", "tax_label": "VAT", "invoice_prefix": "A B", "payment_terms_days": "30"},
    )

    assert page.status_code == 200 and "Billing settings" in page.content.decode()
    assert saved.status_code == 302
    assert bad.status_code == 400 and "Use letters, digits" in bad.content.decode()
    assert web_client(org, org.member).get("/settings/billing/").status_code == 403
    connection.set_tenant(org.organization)
    settings = BillingSettings.objects.get()
    assert (settings.legal_name, settings.invoice_prefix, str(settings.tax_rate)) == ("Alpha SAS", "A-", "20.00")
