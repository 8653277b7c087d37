"""Every write of billing: settings, generating invoices, issuing, marking paid, voiding. One home per rule.

Numbers: drafts have none. `invoice_issue` takes the next one from the organization's counter row, locked
FOR UPDATE in the issuing transaction, so numbers of issued invoices run 1, 2, 3 ... without gaps or
repeats whatever runs at once; a transaction that rolls back gives its number back with it. A voided
invoice keeps its number (the ledger shows it void), so voiding leaves no gap either.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Membership, User
from billing.models import SINGLETON_ID, BillingSettings, Invoice, InvoiceCounter, InvoiceLine
from reports.selectors import month_bounds
from reports.services import previous_month
from reservations.models import Reservation
from reservations.pricing import reservation_price_lines
from spacemanager.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from spacemanager.mail import format_local_interval
from tenants.outbox import outbox_write
from tenants.selectors import organization_current

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")
NUMBER_DIGITS = 6
# What a booker is billed for: bookings that took place (completed, or confirmed and over but not yet swept)
# and no-shows (the slot was held for them).
BILLABLE_STATUSES = (Reservation.Status.COMPLETED, Reservation.Status.NO_SHOW, Reservation.Status.CONFIRMED)
SETTINGS_FIELDS = ("legal_name", "address", "tax_id", "tax_rate", "tax_label", "invoice_prefix", "payment_terms_days")
Status = Invoice.Status


def _require_manager(actor: Membership | None) -> None:
    """`None` is the system (beat, commands); a person must be an owner or admin here."""
    if actor is not None and (not actor.is_manager or actor.organization_id != organization_current().pk):
        raise PermissionDenied("Only the organization's owners and admins manage invoices.")


# Settings


def billing_settings_get() -> BillingSettings:
    settings, _ = BillingSettings.objects.get_or_create(pk=SINGLETON_ID)
    return settings


@transaction.atomic
def billing_settings_update(*, actor: Membership, **changes) -> BillingSettings:
    """Change the billing settings (owners and admins). Invoices already made keep what they say."""
    _require_manager(actor)
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown setting {sorted(unknown)[0]}.", field=sorted(unknown)[0])
    settings = billing_settings_get()
    settings = BillingSettings.objects.select_for_update().get(pk=settings.pk)
    for name, value in changes.items():
        setattr(settings, name, value.strip() if isinstance(value, str) and name != "address" else value)
    try:
        settings.full_clean()
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        error = exc.error_dict[name][0]
        raise ValidationFailed(" ".join(messages), field=name, code=error.code or "invalid") from exc
    settings.save()
    return settings


# Generating


@dataclass(frozen=True)
class LineData:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    reservation_id: int | None = None


def _lines_for(reservation: Reservation) -> list[LineData]:
    """The invoice lines of one booking, at its frozen prices: the lines `reservations.pricing` froze when it
    was booked or last moved (the space's rates, then each equipment item), each prefixed with the booking it
    belongs to. Free lines are left out; a free booking gives none. Never recomputed from today's rates.
    """
    priced = [line for line in reservation_price_lines(reservation) if line.amount]
    if not priced:
        return []
    organization = organization_current()
    when = format_local_interval(reservation.starts_at, reservation.ends_at, organization.timezone)
    suffix = " (no-show)" if reservation.status == Reservation.Status.NO_SHOW else ""
    booking = f"{when}{suffix}"
    if reservation.title:
        booking = f"{booking}: {reservation.title}"
    return [
        LineData(
            f"{line.description}, {booking}"[:300],
            line.quantity,
            line.unit_price.quantize(CENT),
            line.amount.quantize(CENT),
            reservation.pk,
        )
        for line in priced
    ]


def _billable(*, month: date, now: datetime, user_id: int | None) -> list[Reservation]:
    organization = organization_current()
    starts, ends = month_bounds(month, ZoneInfo(organization.timezone))
    reservations = (
        Reservation.objects.filter(
            starts_at__gte=starts, starts_at__lt=ends, ends_at__lte=now, status__in=BILLABLE_STATUSES
        )
        .select_related("space")
        .prefetch_related("equipment_allocations")
    )
    if user_id is not None:
        reservations = reservations.filter(user_id=user_id)
    return list(reservations.order_by("user_id", "starts_at", "id"))


@dataclass
class GenerateResult:
    month: date
    created: list[Invoice] = field(default_factory=list)
    existing: list[Invoice] = field(default_factory=list)

    @property
    def invoices(self) -> list[Invoice]:
        return sorted(self.created + self.existing, key=lambda invoice: (invoice.user_id, invoice.pk))


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _snapshot(invoice: Invoice, settings: BillingSettings, booker: User | None) -> None:
    """Copy who sells, who buys and the tax onto the invoice, and total its lines (a draft's, or at issue)."""
    organization = organization_current()
    invoice.currency = organization.currency
    invoice.seller_name = settings.legal_name or organization.name
    invoice.seller_address = settings.address
    invoice.seller_tax_id = settings.tax_id
    if booker is not None:
        invoice.buyer_name = booker.full_name
        invoice.buyer_email = booker.email
    invoice.tax_label = settings.tax_label if settings.tax_rate is not None else ""
    invoice.tax_rate = settings.tax_rate
    invoice.tax_amount = _money(invoice.subtotal * settings.tax_rate / 100) if settings.tax_rate else Decimal("0.00")
    invoice.total = invoice.subtotal + invoice.tax_amount


def _member_ids(user_id: int | None) -> set[int]:
    organization = organization_current()
    members = Membership.objects.filter(organization=organization)
    if user_id is not None:
        members = members.filter(user_id=user_id)
    return set(members.values_list("user_id", flat=True))


def invoices_generate(
    *, month: date, user_id: int | None = None, actor: Membership | None = None, now: datetime | None = None
) -> GenerateResult:
    """Draft invoices for `month` (first day, organization's calendar): one per booker with billable bookings
    that month, or for `user_id` only. Idempotent: a booker who already has a live (not void) invoice for
    the month keeps it and gets no other; after a void, a new draft replaces it.

    Only an ended month is invoiced (its bookings are all known). Each booker's invoice is its own
    transaction; two runs at once meet at the unique constraint and the second keeps the first's.
    """
    _require_manager(actor)
    now = now or timezone.now()
    organization = organization_current()
    month = month.replace(day=1)
    _, ends = month_bounds(month, ZoneInfo(organization.timezone))
    if ends > now:
        raise ValidationFailed(
            f"{month:%B %Y} has not ended yet in {organization.timezone}.", field="month", code="month_not_over"
        )
    if user_id is not None and not _member_ids(user_id):
        raise ValidationFailed("This person is not a member of the organization.", field="user", code="not_a_member")
    result = GenerateResult(month=month)
    by_user: dict[int, list[Reservation]] = {}
    for reservation in _billable(month=month, now=now, user_id=user_id):
        by_user.setdefault(reservation.user_id, []).append(reservation)
    bookers = User.objects.in_bulk(list(by_user))
    settings = billing_settings_get()
    for booker_id, reservations in by_user.items():
        existing = Invoice.objects.filter(user_id=booker_id, month=month).exclude(status=Status.VOID).first()
        if existing is not None:
            result.existing.append(existing)
            continue
        lines = [line for reservation in reservations for line in _lines_for(reservation)]
        if not lines:
            continue
        try:
            with transaction.atomic():
                invoice = _draft_create(
                    month=month, booker_id=booker_id, booker=bookers.get(booker_id), lines=lines, settings=settings
                )
        except IntegrityError:
            # Another run made this booker's invoice between our look and our insert: theirs stands.
            invoice = Invoice.objects.filter(user_id=booker_id, month=month).exclude(status=Status.VOID).first()
            if invoice is None:
                raise
            result.existing.append(invoice)
        else:
            result.created.append(invoice)
    return result


def _draft_create(
    *, month: date, booker_id: int, booker: User | None, lines: list[LineData], settings: BillingSettings
) -> Invoice:
    replaces = Invoice.objects.filter(user_id=booker_id, month=month, status=Status.VOID).order_by("-id").first()
    invoice = Invoice(user_id=booker_id, month=month, status=Status.DRAFT, replaces=replaces)
    invoice.subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    _snapshot(invoice, settings, booker)
    invoice.save()
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            reservation_id=line.reservation_id,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
        )
        for position, line in enumerate(lines, start=1)
    )
    return invoice


def invoices_generate_previous_month(*, now: datetime | None = None) -> GenerateResult:
    """The beat job's body: last month's drafts, once that month is over in the organization's time zone.

    Beat runs it hourly on the 1st and 2nd (UTC); before an organization's month has ended it does nothing,
    and once the drafts exist every further run finds them and makes none.
    """
    now = now or timezone.now()
    organization = organization_current()
    month = previous_month(now=now, timezone_name=organization.timezone)
    _, ends = month_bounds(month, ZoneInfo(organization.timezone))
    if ends > now:
        return GenerateResult(month=month)
    return invoices_generate(month=month, now=now)


# Moving an invoice on


def _locked(invoice_id: int) -> Invoice:
    invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound("No such invoice.")
    return invoice


def _next_number() -> int:
    """The counter row, locked until this transaction ends: concurrent issues take numbers one after another."""
    with connection.cursor() as cursor:
        # The migration made the row; a schema restored without it gets it here, without a race.
        cursor.execute(
            "INSERT INTO billing_invoicecounter (id, last_number) VALUES (%s, 0) ON CONFLICT DO NOTHING",
            [SINGLETON_ID],
        )
    counter = InvoiceCounter.objects.select_for_update().get(pk=SINGLETON_ID)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


@transaction.atomic
def invoice_issue(*, invoice_id: int, actor: Membership | None, now: datetime | None = None) -> Invoice:
    """Give a draft its number and freeze it: seller, buyer and tax as they are now, due after the payment
    terms. The booker is emailed the PDF (through the outbox, built by a worker)."""
    from billing import tasks

    _require_manager(actor)
    now = now or timezone.now()
    invoice = _locked(invoice_id)
    if invoice.status != Status.DRAFT:
        raise Conflict(
            f"Invoice {invoice} is {invoice.get_status_display().lower()}; only a draft can be issued.",
            code="invoice_not_draft",
            extra={"status": invoice.status},
        )
    settings = billing_settings_get()
    _snapshot(invoice, settings, User.objects.filter(pk=invoice.user_id).first())
    invoice.sequence_number = _next_number()
    invoice.number = f"{settings.invoice_prefix}{invoice.sequence_number:0{NUMBER_DIGITS}d}"
    invoice.status = Status.ISSUED
    invoice.issued_at = now
    local_day = now.astimezone(ZoneInfo(organization_current().timezone)).date()
    invoice.due_date = local_day + timedelta(days=settings.payment_terms_days)
    invoice.save()
    outbox_write(tasks.invoice_issued_email, invoice.pk)
    return invoice


@transaction.atomic
def invoice_mark_paid(
    *,
    invoice_id: int,
    actor: Membership | None,
    paid_via: str = "manual",
    reference: str = "",
    now: datetime | None = None,
) -> Invoice:
    """Record that an issued invoice was paid: by hand (an owner or admin), or later by a payment provider's
    webhook (`actor=None`, `paid_via="stripe"`, its payment id as `reference`). Paying twice is a 409."""
    _require_manager(actor)
    invoice = _locked(invoice_id)
    if invoice.status != Status.ISSUED:
        raise Conflict(
            f"Invoice {invoice} is {invoice.get_status_display().lower()}; only an issued invoice can be paid.",
            code="invoice_not_issued",
            extra={"status": invoice.status},
        )
    invoice.status = Status.PAID
    invoice.paid_at = now or timezone.now()
    invoice.paid_via = paid_via
    invoice.payment_reference = reference.strip()
    invoice.save(update_fields=["status", "paid_at", "paid_via", "payment_reference", "updated_at"])
    return invoice


@transaction.atomic
def invoice_void(
    *, invoice_id: int, actor: Membership | None, reason: str = "", now: datetime | None = None
) -> Invoice:
    """Cancel an invoice: a draft nobody should receive, or an issued (or paid) one being corrected. It keeps
    its number; generating the month again makes the corrected invoice, which names this one (`replaces`)."""
    _require_manager(actor)
    invoice = _locked(invoice_id)
    if invoice.status == Status.VOID:
        raise Conflict(f"Invoice {invoice} is void already.", code="invoice_already_void")
    invoice.status = Status.VOID
    invoice.voided_at = now or timezone.now()
    invoice.void_reason = reason.strip()
    invoice.save(update_fields=["status", "voided_at", "void_reason", "updated_at"])
    return invoice
