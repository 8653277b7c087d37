from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from billing import services
from billing.models import Invoice, InvoiceLine
from billing.tests.factories import AFTER_MARCH, booking
from reservations.models import Reservation
from spacemanager.errors import Conflict, PermissionDenied, ValidationFailed

MARCH = date(2025, 3, 1)
Status = Reservation.Status


@pytest.fixture
def scene(in_tenant, after_march):
    return in_tenant


def test_a_month_makes_one_draft_per_booker_from_completed_and_no_show_bookings(scene):
    booking(scene.member, day=3, price="40.00")
    booking(scene.member, day=4, price="10.50", status=Status.NO_SHOW)
    booking(scene.admin, day=5, price="25.00")
    booking(scene.member, day=6, price="99.00", status=Status.CANCELLED)
    booking(scene.member, day=7, price=None)  # free: no line
    booking(scene.member, day=8, price="99.00", month=2)  # another month

    result = services.invoices_generate(month=MARCH, now=AFTER_MARCH)

    assert len(result.created) == 2
    mine = Invoice.objects.get(user_id=scene.member.pk)
    assert mine.status == Invoice.Status.DRAFT and mine.number == "" and mine.sequence_number is None
    assert mine.subtotal == Decimal("50.50") and mine.total == Decimal("50.50")
    descriptions = list(mine.lines.values_list("description", flat=True))
    assert len(descriptions) == 2 and "no-show" in descriptions[1]
    assert [line.amount for line in mine.lines.all()] == [Decimal("40.00"), Decimal("10.50")]
    assert mine.buyer_email == scene.member.email and mine.currency == "EUR"


def test_lines_are_frozen_copies_that_a_later_price_change_does_not_move(scene):
    reservation = booking(scene.member, price="40.00")
    invoice = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]
    Reservation.objects.filter(pk=reservation.pk).update(price=Decimal("1000.00"))

    line = InvoiceLine.objects.get(invoice=invoice)
    assert (line.quantity, line.unit_price, line.amount) == (Decimal("1"), Decimal("40.00"), Decimal("40.00"))


def test_tax_comes_from_the_settings_and_is_rounded_to_cents(scene):
    services.billing_settings_update(actor=scene.membership(scene.owner), tax_rate=Decimal("19.00"), tax_label="MwSt")
    booking(scene.member, price="10.05")

    invoice = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]

    assert invoice.tax_amount == Decimal("1.91") and invoice.total == Decimal("11.96")
    assert invoice.tax_label == "MwSt" and invoice.tax_rate == Decimal("19.00")


def test_generating_again_makes_no_duplicate_until_the_invoice_is_void(scene):
    booking(scene.member)
    first = services.invoices_generate(month=MARCH, now=AFTER_MARCH)
    again = services.invoices_generate(month=MARCH, now=AFTER_MARCH)

    assert again.created == [] and [i.pk for i in again.existing] == [first.created[0].pk]
    assert Invoice.objects.count() == 1

    services.invoice_void(invoice_id=first.created[0].pk, actor=None)
    redo = services.invoices_generate(month=MARCH, now=AFTER_MARCH)
    assert len(redo.created) == 1 and redo.created[0].replaces_id == first.created[0].pk


def test_a_month_that_has_not_ended_is_refused(scene):
    with pytest.raises(ValidationFailed) as error:
        services.invoices_generate(month=date(2025, 4, 1), now=AFTER_MARCH)
    assert error.value.code == "month_not_over" and error.value.field == "month"


def test_a_user_who_is_not_a_member_is_refused(scene, other_org):
    with pytest.raises(ValidationFailed) as error:
        services.invoices_generate(month=MARCH, user_id=other_org.member.pk, now=AFTER_MARCH)
    assert error.value.code == "not_a_member"


def test_generating_for_one_user_leaves_the_others_alone(scene):
    booking(scene.member, day=3)
    booking(scene.admin, day=4)

    result = services.invoices_generate(month=MARCH, user_id=scene.member.pk, now=AFTER_MARCH)

    assert [invoice.user_id for invoice in result.created] == [scene.member.pk]
    assert not Invoice.objects.filter(user_id=scene.admin.pk).exists()


def test_members_cannot_generate_issue_pay_or_void(scene):
    booking(scene.member)
    invoice = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]
    member = scene.membership(scene.member)
    for call in (
        lambda: services.invoices_generate(month=MARCH, actor=member, now=AFTER_MARCH),
        lambda: services.invoice_issue(invoice_id=invoice.pk, actor=member),
        lambda: services.invoice_mark_paid(invoice_id=invoice.pk, actor=member),
        lambda: services.invoice_void(invoice_id=invoice.pk, actor=member),
        lambda: services.billing_settings_update(actor=member, legal_name="Mine"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT


def test_issuing_numbers_invoices_in_order_with_the_prefix_and_freezes_the_settings(scene):
    services.billing_settings_update(
        actor=scene.membership(scene.owner),
        legal_name="Alpha Coworking SARL",
        address="1 rue de la Paix\n75002 Paris",
        tax_id="FR123",
        invoice_prefix="A-2025-",
        payment_terms_days=30,
    )
    booking(scene.member, day=3)
    booking(scene.admin, day=4)
    first, second = services.invoices_generate(month=MARCH, now=AFTER_MARCH).invoices
    owner = scene.membership(scene.owner)

    issued = [services.invoice_issue(invoice_id=i.pk, actor=owner, now=AFTER_MARCH) for i in (second, first)]

    assert [i.number for i in issued] == ["A-2025-000001", "A-2025-000002"]
    assert issued[0].seller_name == "Alpha Coworking SARL" and issued[0].seller_tax_id == "FR123"
    assert issued[0].due_date == date(2025, 5, 1)
    services.billing_settings_update(actor=owner, legal_name="Renamed", invoice_prefix="B-")
    issued[0].refresh_from_db()
    assert issued[0].seller_name == "Alpha Coworking SARL" and issued[0].number == "A-2025-000001"


def test_wrong_transitions_are_conflicts_with_clear_codes(scene):
    booking(scene.member)
    invoice = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]
    owner = scene.membership(scene.owner)

    with pytest.raises(Conflict) as error:
        services.invoice_mark_paid(invoice_id=invoice.pk, actor=owner)
    assert error.value.code == "invoice_not_issued"
    services.invoice_issue(invoice_id=invoice.pk, actor=owner)
    with pytest.raises(Conflict) as error:
        services.invoice_issue(invoice_id=invoice.pk, actor=owner)
    assert error.value.code == "invoice_not_draft"
    paid = services.invoice_mark_paid(invoice_id=invoice.pk, actor=owner, reference="TRX-1")
    assert paid.status == "paid" and paid.paid_via == "manual" and paid.payment_reference == "TRX-1"
    with pytest.raises(Conflict):
        services.invoice_mark_paid(invoice_id=invoice.pk, actor=owner)
    void = services.invoice_void(invoice_id=invoice.pk, actor=owner, reason="Wrong rate")
    assert void.status == "void" and void.number == "INV-000001"
    with pytest.raises(Conflict) as error:
        services.invoice_void(invoice_id=invoice.pk, actor=owner)
    assert error.value.code == "invoice_already_void"


def test_the_database_refuses_any_change_to_an_issued_invoice_or_its_lines(scene):
    booking(scene.member)
    invoice = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]
    services.invoice_issue(invoice_id=invoice.pk, actor=None)
    line = invoice.lines.get()

    attempts = [
        lambda: Invoice.objects.filter(pk=invoice.pk).update(total=Decimal("1.00")),
        lambda: Invoice.objects.filter(pk=invoice.pk).update(number="INV-999"),
        lambda: Invoice.objects.filter(pk=invoice.pk).update(status="draft"),
        lambda: Invoice.objects.filter(pk=invoice.pk).delete(),
        lambda: InvoiceLine.objects.filter(pk=line.pk).update(amount=Decimal("0.01")),
        lambda: InvoiceLine.objects.filter(pk=line.pk).delete(),
        lambda: InvoiceLine.objects.create(
            invoice=invoice, position=2, description="Extra", unit_price=Decimal(1), amount=Decimal(1)
        ),
    ]
    for attempt in attempts:
        with pytest.raises(IntegrityError), transaction.atomic():
            attempt()
    invoice.refresh_from_db()
    assert invoice.total == Decimal("40.00") and invoice.lines.count() == 1 and invoice.status == "issued"


def test_the_database_still_lets_a_draft_change_and_be_deleted(scene):
    booking(scene.member)
    invoice = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]

    InvoiceLine.objects.filter(invoice=invoice).update(description="Edited")
    invoice.delete()

    assert not Invoice.objects.exists()


def test_billing_settings_refuse_bad_values_with_the_field_named(scene):
    owner = scene.membership(scene.owner)
    for changes, field in (
        ({"tax_rate": Decimal("120")}, "tax_rate"),
        ({"tax_rate": Decimal("-1")}, "tax_rate"),
        ({"invoice_prefix": "INV 2025"}, "invoice_prefix"),
        ({"payment_terms_days": 400}, "payment_terms_days"),
    ):
        with pytest.raises(ValidationFailed) as error:
            services.billing_settings_update(actor=owner, **changes)
        assert error.value.field == field
    settings = services.billing_settings_get()
    assert settings.tax_rate is None and settings.invoice_prefix == "INV-" and settings.payment_terms_days == 14


def test_each_organization_numbers_its_own_invoices(scene, other_org):
    booking(scene.member)
    alpha = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]
    services.invoice_issue(invoice_id=alpha.pk, actor=None)

    connection.set_tenant(other_org.organization)
    booking(other_org.member)
    beta = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]
    services.invoice_issue(invoice_id=beta.pk, actor=None)
    beta.refresh_from_db()

    assert beta.number == "INV-000001"
    assert list(Invoice.objects.values_list("user_id", flat=True)) == [other_org.member.pk]


def test_a_booking_with_equipment_bills_the_lines_pricing_froze_for_it(scene):
    from equipment.models import Allocation, Item

    reservation = booking(scene.member, price="70.00", title="Board day")
    Reservation.objects.filter(pk=reservation.pk).update(
        space_price_lines=[
            {"description": "Room 10: half day (up to 4 h)", "quantity": "1", "unit_price": "60.00", "amount": "60.00"}
        ]
    )
    monitor = Item.objects.create(name="Monitor", quantity=4, price_per_booking=Decimal("5.00"))
    Allocation.objects.create(
        reservation=reservation,
        item=monitor,
        quantity=2,
        description="Monitor",
        unit_price=Decimal("5.00"),
        amount=Decimal("10.00"),
    )
    Item.objects.filter(pk=monitor.pk).update(price_per_booking=Decimal("50.00"))  # later price changes don't count

    invoice = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]

    lines = list(invoice.lines.order_by("id").values_list("description", "quantity", "unit_price", "amount"))
    assert [line[1:] for line in lines] == [
        (Decimal("1"), Decimal("60.00"), Decimal("60.00")),
        (Decimal("2"), Decimal("5.00"), Decimal("10.00")),
    ]
    assert lines[0][0].startswith("Room 10: half day") and lines[0][0].endswith(": Board day")
    assert lines[1][0].startswith("Monitor, ")
    assert invoice.subtotal == Decimal("70.00")
