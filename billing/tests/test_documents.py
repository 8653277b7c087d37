"""What the PDF is drawn from (its template, rendered as WeasyPrint gets it), the PDF itself, and the CSV."""

from datetime import date
from decimal import Decimal

from django.template.loader import render_to_string

from billing import services
from billing.documents import invoice_csv, invoice_pdf
from billing.tests.factories import AFTER_MARCH, booking
from spacemanager.money import money_format
from tenants.selectors import organization_current

MARCH = date(2025, 3, 1)


def _issued(scene):
    services.billing_settings_update(
        actor=scene.membership(scene.owner),
        legal_name="Alpha Coworking SAS",
        address="1 Main Street\nParis",
        tax_id="FR999",
        tax_rate=Decimal("20.00"),
    )
    booking(scene.member, day=3, price="1234.50", title="Board day")
    draft = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]
    return services.invoice_issue(invoice_id=draft.pk, actor=None, now=AFTER_MARCH)


def test_money_is_formatted_in_one_place_with_the_currency():
    assert money_format(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert money_format(0, "USD") == "$0.00"
    assert money_format(None, "EUR") == ""


def test_the_pdf_shows_number_seller_buyer_lines_tax_and_total(in_tenant, after_march):
    invoice = _issued(in_tenant)

    html = render_to_string(
        "billing/invoice_pdf.html",
        {"invoice": invoice, "lines": invoice.lines.all(), "organization": organization_current()},
    )
    pdf = invoice_pdf(invoice)

    for text in (
        "Invoice INV-000001",
        "Alpha Coworking SAS",
        "FR999",
        in_tenant.member.email,
        "Board day",
        "€1,234.50",
        "VAT 20%",
        "€246.90",
        "€1,481.40",
        "Due 15 April 2025",
    ):
        assert text in html, text
    assert "DRAFT" not in html
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000


def test_the_csv_has_a_row_per_line_then_subtotal_tax_and_total(in_tenant, after_march):
    invoice = _issued(in_tenant)

    rows = invoice_csv(invoice).splitlines()

    assert rows[0] == "invoice,position,description,quantity,unit_price,amount,currency"
    assert rows[1].startswith("INV-000001,1,") and rows[1].endswith(",1.00,1234.50,1234.50,EUR")
    assert rows[2:] == [
        "INV-000001,,Subtotal,,,1234.50,EUR",
        "INV-000001,,VAT 20.00%,,,246.90,EUR",
        "INV-000001,,Total,,,1481.40,EUR",
    ]
