"""An invoice as a document: PDF (WeasyPrint, from templates/billing/invoice_pdf.html) and CSV.

Both are built from the invoice's frozen copy only (its lines, seller, buyer, tax), never from the bookings,
so a document made today and one made in a year are the same. PDF building takes a few hundred
milliseconds: the email's is built in a worker; the API and pages build one on request for a download.
"""

import csv
import io
from pathlib import Path

from django.template.loader import render_to_string

from billing.models import Invoice
from spacemanager.money import money_format
from tenants.selectors import organization_current

# A file, not a <style> in the template: templates hold no inline styles (the pages' CSP test reads them all).
STYLESHEET = Path(__file__).with_name("invoice_pdf.css")


def invoice_pdf(invoice: Invoice) -> bytes:
    from weasyprint import CSS, HTML  # imported here: loading Pango costs start-up time every process would pay

    html = render_to_string(
        "billing/invoice_pdf.html",
        {"invoice": invoice, "lines": invoice.lines.order_by("position"), "organization": organization_current()},
    )
    return HTML(string=html).write_pdf(stylesheets=[CSS(filename=STYLESHEET)])


def invoice_csv(invoice: Invoice) -> str:
    """One row per line, then subtotal, tax and total rows; amounts as plain decimals (no grouping)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    number = invoice.number or "draft"
    writer.writerow(["invoice", "position", "description", "quantity", "unit_price", "amount", "currency"])
    for line in invoice.lines.order_by("position"):
        writer.writerow(
            [number, line.position, line.description, line.quantity, line.unit_price, line.amount, invoice.currency]
        )
    writer.writerow([number, "", "Subtotal", "", "", invoice.subtotal, invoice.currency])
    if invoice.tax_rate is not None:
        writer.writerow(
            [number, "", f"{invoice.tax_label} {invoice.tax_rate}%", "", "", invoice.tax_amount, invoice.currency]
        )
    writer.writerow([number, "", "Total", "", "", invoice.total, invoice.currency])
    return out.getvalue()


def invoice_total_text(invoice: Invoice) -> str:
    return money_format(invoice.total, invoice.currency)
