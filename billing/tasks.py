"""Billing's background work: last month's drafts (beat, spacemanager/beat.py) and the issued invoice's email."""

import logging

from django.conf import settings
from django.urls import reverse

from billing import services
from billing.documents import invoice_pdf, invoice_total_text
from billing.models import Invoice
from spacemanager.celery import app
from spacemanager.mail import Attachment, EmailTask, build_email, send_once
from tenants.idempotency import OnceKey
from tenants.selectors import organization_current

logger = logging.getLogger(__name__)
INVOICE_EMAIL_KIND = "invoice_issued"


@app.task(name="billing.tasks.invoices_generate_previous_month")
def invoices_generate_previous_month() -> int:
    """Drafts for last month's bookers, once the month is over here; returns how many were made now."""
    return len(services.invoices_generate_previous_month().created)


@app.task(base=EmailTask, bind=True, name="billing.tasks.invoice_issued_email")
def invoice_issued_email(self, invoice_id: int) -> bool:
    """Email the booker their issued invoice with its PDF, once (send_once), however often this runs."""
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None or not invoice.is_frozen or not invoice.buyer_email:
        logger.info("Invoice %s is gone, not issued or has no address; nothing to send.", invoice_id)
        return False
    organization = organization_current()
    url = organization.link(reverse("billing:detail", kwargs={"pk": invoice.pk}, urlconf=settings.ROOT_URLCONF))
    message = build_email(
        to=[invoice.buyer_email],
        subject=f"{organization.name}: invoice {invoice.number}",
        template="billing/email/invoice_issued",
        context={
            "organization_name": organization.name,
            "name": invoice.buyer_name,
            "invoice": invoice,
            "month_name": f"{invoice.month:%B %Y}",
            "total": invoice_total_text(invoice),
            "invoice_url": url,
        },
        attachments=[Attachment(f"{invoice.filename}.pdf", invoice_pdf(invoice), "application/pdf")],
    )
    return send_once(message, key=OnceKey(INVOICE_EMAIL_KIND, invoice.pk, version=invoice.number))
