"""Billing in the organization admin: settings saved through billing.services, invoices read-only with actions."""

from datetime import date

import pytest
from django.db import connection

from accounts.models import Membership, User
from billing import services
from billing.models import BillingSettings, Invoice
from billing.tests.factories import AFTER_MARCH, booking
from spacemanager.testing import logged_in_client

pytestmark = pytest.mark.django_db

SETTINGS = "/admin/billing/billingsettings/"
INVOICES = "/admin/billing/invoice/"


def operator_client(client, org, role):
    """A platform superuser with `role` in alpha, logged in to alpha's admin."""
    user = User.objects.create_superuser(email=f"root-{role}@platform.test", password="root-password-42")
    Membership.objects.create(user=user, organization=org.organization, role=role)
    return logged_in_client(client, host=org.host, user=user)


def settings_form(**overrides) -> dict:
    data = {
        "legal_name": "Alpha Coworking SARL",
        "address": "1 rue de la Paix\nParis",
        "tax_id": "FR123",
        "tax_rate": "20.00",
        "tax_label": "VAT",
        "invoice_prefix": "AC-",
        "payment_terms_days": "30",
    }
    return data | overrides


@pytest.fixture
def draft(org, after_march):
    connection.set_tenant(org.organization)
    booking(org.member, day=3, price="40.00")
    invoice = services.invoices_generate(month=date(2025, 3, 1), now=AFTER_MARCH).created[0]
    connection.set_schema_to_public()
    return invoice


def test_the_settings_page_is_the_organizations_one_row_saved_through_the_service(client, org):
    admin_client = operator_client(client, org, Membership.Role.ADMIN)

    page = admin_client.get(SETTINGS)
    assert page.status_code == 302 and page["Location"] == f"{SETTINGS}1/change/"
    response = admin_client.post(f"{SETTINGS}1/change/", settings_form())

    assert response.status_code == 302
    connection.set_tenant(org.organization)
    saved = BillingSettings.objects.get()
    assert (saved.legal_name, saved.invoice_prefix, saved.payment_terms_days) == ("Alpha Coworking SARL", "AC-", 30)
    assert str(saved.tax_rate) == "20.00"


def test_a_bad_setting_is_a_form_error_and_nothing_is_saved(client, org):
    admin_client = operator_client(client, org, Membership.Role.ADMIN)
    admin_client.get(SETTINGS)

    response = admin_client.post(f"{SETTINGS}1/change/", settings_form(invoice_prefix="INV #", legal_name="X"))

    assert response.status_code == 200
    assert "Use letters, digits and - _ / . only." in response.content.decode()
    connection.set_tenant(org.organization)
    assert BillingSettings.objects.get().legal_name == ""


def test_invoices_are_read_only_and_issued_or_paid_by_actions(client, org, draft):
    admin_client = operator_client(client, org, Membership.Role.OWNER)

    page = admin_client.get(f"{INVOICES}{draft.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # nothing to save: the services own every field
    assert admin_client.post(f"{INVOICES}{draft.pk}/change/", {"buyer_name": "Someone else"}).status_code == 403

    admin_client.post(INVOICES, {"action": "issue", "_selected_action": [draft.pk]})
    connection.set_tenant(org.organization)
    issued = Invoice.objects.get(pk=draft.pk)
    assert issued.status == Invoice.Status.ISSUED and issued.number == "INV-000001"
    connection.set_schema_to_public()

    response = admin_client.post(INVOICES, {"action": "issue", "_selected_action": [draft.pk]}, follow=True)
    assert "only a draft can be issued" in response.content.decode()  # the service's refusal, as a message
    admin_client.post(INVOICES, {"action": "mark_paid", "_selected_action": [draft.pk]})
    connection.set_tenant(org.organization)
    paid = Invoice.objects.get(pk=draft.pk)
    assert paid.status == Invoice.Status.PAID and paid.paid_via == "manual"


def test_a_member_without_a_managers_role_cannot_issue(client, org, draft):
    member_client = operator_client(client, org, Membership.Role.MEMBER)

    response = member_client.post(INVOICES, {"action": "issue", "_selected_action": [draft.pk]})

    assert response.status_code in {302, 403}
    connection.set_tenant(org.organization)
    assert Invoice.objects.get(pk=draft.pk).status == Invoice.Status.DRAFT


def test_voiding_asks_for_the_reason_first_then_voids_through_the_service(client, org, draft):
    admin_client = operator_client(client, org, Membership.Role.OWNER)

    page = admin_client.post(INVOICES, {"action": "void", "_selected_action": [draft.pk]})
    assert page.status_code == 200
    assert 'name="reason"' in page.content.decode() and draft.buyer_email in page.content.decode()
    connection.set_tenant(org.organization)
    assert Invoice.objects.get(pk=draft.pk).status == Invoice.Status.DRAFT  # nothing yet
    connection.set_schema_to_public()

    done = admin_client.post(
        INVOICES,
        {"action": "void", "_selected_action": [draft.pk], "confirm": "yes", "reason": "Booked by mistake"},
        follow=True,
    )
    assert "1 invoice(s) voided." in done.content.decode()
    connection.set_tenant(org.organization)
    voided = Invoice.objects.get(pk=draft.pk)
    assert (voided.status, voided.void_reason) == (Invoice.Status.VOID, "Booked by mistake")
    connection.set_schema_to_public()

    again = admin_client.post(
        INVOICES, {"action": "void", "_selected_action": [draft.pk], "confirm": "yes", "reason": ""}, follow=True
    )
    assert "is void already" in again.content.decode()  # the service's refusal, as a message


def test_a_reason_too_long_is_a_form_error_on_the_confirmation_page(client, org, draft):
    admin_client = operator_client(client, org, Membership.Role.OWNER)

    page = admin_client.post(
        INVOICES, {"action": "void", "_selected_action": [draft.pk], "confirm": "yes", "reason": "x" * 301}
    )

    assert page.status_code == 200
    assert "Ensure this value has at most 300 characters" in page.content.decode()
    connection.set_tenant(org.organization)
    assert Invoice.objects.get(pk=draft.pk).status == Invoice.Status.DRAFT


def test_a_member_without_a_managers_role_cannot_void(client, org, draft):
    member_client = operator_client(client, org, Membership.Role.MEMBER)

    member_client.post(INVOICES, {"action": "void", "_selected_action": [draft.pk], "confirm": "yes", "reason": ""})

    connection.set_tenant(org.organization)
    assert Invoice.objects.get(pk=draft.pk).status == Invoice.Status.DRAFT
