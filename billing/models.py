"""Billing: the organization's billing settings, invoices per booker and month, and their number counter.

An invoice's statuses are its accounting life only (draft, issued, paid, void); how it got paid (by hand today,
a payment provider later) is recorded beside them (`paid_via`, `payment_reference`) and never adds a status
(docs/billing.md).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from reservations.models import Reservation

SINGLETON_ID = 1


class BillingSettings(models.Model):
    """One row per organization (its schema): who issues the invoices, their tax, numbering and terms."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    legal_name = models.CharField(
        max_length=200, blank=True, help_text="The name on invoices; the organization's name when empty."
    )
    address = models.TextField(max_length=1000, blank=True, help_text="Postal address, as printed on invoices.")
    tax_id = models.CharField(max_length=50, blank=True, help_text="VAT or other tax registration number.")
    tax_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Percent added to every invoice, e.g. 20.00; empty for no tax.",
    )
    tax_label = models.CharField(max_length=30, default="VAT", help_text="The tax's name on invoices.")
    invoice_prefix = models.CharField(
        max_length=20,
        default="INV-",
        blank=True,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9/_.-]*$",
                "Use letters, digits and - _ / . only.",
                code="invalid_prefix",
            )
        ],
        help_text="Put before each invoice number, e.g. INV- gives INV-000042.",
    )
    payment_terms_days = models.PositiveSmallIntegerField(
        default=14,
        validators=[MaxValueValidator(365)],
        help_text="Days from issue to the due date (0 = due on receipt).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "billing settings"
        constraints = [models.CheckConstraint(condition=Q(id=SINGLETON_ID), name="billing_settings_singleton")]

    def __str__(self) -> str:
        return self.legal_name or "Billing settings"


class InvoiceCounter(models.Model):
    """The last invoice number issued in this organization: one row, locked FOR UPDATE by every issue, so that
    issued numbers follow each other without gaps (billing.services.invoice_issue)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=SINGLETON_ID), name="billing_counter_singleton")]

    def __str__(self) -> str:
        return f"last invoice number {self.last_number}"


class Invoice(models.Model):
    """A booker's invoice for one month of the organization's local calendar.

    Drafts have no number and may be regenerated or voided. Issuing takes the next number and freezes
    everything (a database trigger refuses any later change but the status moving on to paid or void, and
    any change to an issued invoice's lines). A correction is a void plus a new invoice (`replaces`).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    # Users live in the public schema: no database constraint, no cascade, no reverse accessor (TENANCY.md).
    # No index of its own: billing_invoice_user_month leads with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    month = models.DateField(help_text="The first day of the billed month (organization's time zone).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    sequence_number = models.PositiveIntegerField(null=True, blank=True, editable=False)
    number = models.CharField(max_length=40, blank=True, editable=False, help_text="Prefix + number, once issued.")
    # Frozen copies: what the invoice says does not move when the settings, the booker or the prices do.
    currency = models.CharField(max_length=3)
    seller_name = models.CharField(max_length=200, blank=True)
    seller_address = models.TextField(blank=True)
    seller_tax_id = models.CharField(max_length=50, blank=True)
    buyer_name = models.CharField(max_length=200, blank=True)
    buyer_email = models.EmailField(blank=True)
    tax_label = models.CharField(max_length=30, blank=True)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    issued_at = models.DateTimeField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # How it was paid: "manual" (mark-paid) today; a provider's name and its payment id later (docs/billing.md).
    paid_via = models.CharField(max_length=30, blank=True)
    payment_reference = models.CharField(max_length=200, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=300, blank=True)
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month", "-id"]
        indexes = [
            models.Index(fields=["user", "-month", "-id"], name="billing_invoice_user_month"),
            models.Index(fields=["-month", "-id"], name="billing_invoice_month"),
        ]
        constraints = [
            # Generating a month again never makes a second live invoice for a booker; a void one may be redone.
            models.UniqueConstraint(
                fields=["user", "month"], condition=~Q(status="void"), name="billing_invoice_one_live_per_month"
            ),
            models.UniqueConstraint(fields=["sequence_number"], name="billing_invoice_number_unique"),
            # Issued, paid and (once issued) void invoices carry a number; drafts never do.
            models.CheckConstraint(
                condition=Q(status="draft", sequence_number__isnull=True)
                | Q(status__in=["issued", "paid"], sequence_number__isnull=False, issued_at__isnull=False)
                | Q(status="void"),
                name="billing_invoice_number_by_status",
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="billing_invoice_month_first_day"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.month:%Y-%m} #{self.pk}"

    @property
    def is_frozen(self) -> bool:
        """Issued once (issued, paid, or void after issue): nothing on it changes any more."""
        return self.sequence_number is not None

    @property
    def filename(self) -> str:
        return f"invoice-{self.number or f'draft-{self.pk}'}"


class InvoiceLine(models.Model):
    """One billed item, copied when the invoice is made: never recomputed from the booking afterwards."""

    # No index of its own: the unique (invoice, position) leads with it.
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines", db_index=False)
    position = models.PositiveSmallIntegerField()
    reservation = models.ForeignKey(
        Reservation, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("1"))
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="billing_line_position_unique"),
        ]
        indexes = [models.Index(fields=["reservation"], name="billing_line_reservation")]

    def __str__(self) -> str:
        return self.description
