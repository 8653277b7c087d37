"""Reads of billing, each scoped to who asks: a booker sees their own invoices, owners and admins all."""

from datetime import date

from django.db.models import Prefetch, QuerySet

from accounts.models import Membership
from billing.models import Invoice, InvoiceLine
from spacemanager.errors import NotFound


def invoice_list(
    *, viewer: Membership, status: str | None = None, month: date | None = None, user_id: int | None = None
) -> QuerySet[Invoice]:
    """Newest month first. Members get their own only, whatever `user_id` says."""
    invoices = Invoice.objects.all()
    if not viewer.is_manager:
        invoices = invoices.filter(user_id=viewer.user_id)
    elif user_id is not None:
        invoices = invoices.filter(user_id=user_id)
    if status:
        invoices = invoices.filter(status=status)
    if month:
        invoices = invoices.filter(month=month.replace(day=1))
    return invoices.order_by("-month", "-id")


def invoice_get(*, viewer: Membership, invoice_id: int) -> Invoice:
    """One invoice with its lines; someone else's is "not found" to a member (it reveals nothing)."""
    invoice = (
        invoice_list(viewer=viewer)
        .prefetch_related(Prefetch("lines", queryset=InvoiceLine.objects.order_by("position")))
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise NotFound("No such invoice.")
    return invoice
