"""The beat job on the 1st, and the issued invoice's email with its PDF (eagerly, and through a real worker)."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core import mail
from django.db import connection

from billing import services
from billing.models import Invoice
from billing.tasks import invoice_issued_email
from billing.tests.factories import AFTER_MARCH, booking
from reservations.models import Reservation
from reservations.tests.test_worker import wait_for_mail
from spacemanager.beat import beat_schedule
from tenants.models import Organization
from tenants.tasks import organizations_fan_out, outbox_relay

MARCH = date(2025, 3, 1)
JOB = "billing.tasks.invoices_generate_previous_month"


def test_beat_runs_the_invoice_job_for_every_organization_hourly_on_the_first_two_days():
    entry = beat_schedule()["monthly-invoices"]

    assert entry["task"] == "tenants.tasks.organizations_fan_out" and entry["args"][0] == JOB
    assert entry["schedule"].day_of_month == {1, 2} and entry["schedule"].minute == {25}


def test_on_the_first_each_booker_with_completed_bookings_last_month_gets_one_draft(org, other_org, celery_eager):
    connection.set_tenant(org.organization)
    booking(org.member, day=3, price="40.00")
    booking(org.member, day=20, price="10.00", status=Reservation.Status.NO_SHOW)
    booking(org.admin, day=5, price="25.00")
    booking(org.owner, day=6, price="30.00", status=Reservation.Status.CANCELLED)
    connection.set_tenant(other_org.organization)
    booking(other_org.member, day=7, price="15.00")
    connection.set_schema_to_public()

    with time_machine.travel(datetime(2025, 4, 1, 0, 25, tzinfo=UTC), tick=False):
        organizations_fan_out(JOB)
        organizations_fan_out(JOB)  # the next hour's run: nothing new

    connection.set_tenant(org.organization)
    alpha = {invoice.user_id: invoice for invoice in Invoice.objects.all()}
    assert set(alpha) == {org.member.pk, org.admin.pk}
    assert all(invoice.status == "draft" and invoice.month == MARCH for invoice in alpha.values())
    assert alpha[org.member.pk].total == 50 and alpha[org.member.pk].lines.count() == 2
    connection.set_tenant(other_org.organization)
    assert list(Invoice.objects.values_list("user_id", "total")) == [(other_org.member.pk, 15)]


def test_an_organization_west_of_utc_is_invoiced_once_its_own_month_is_over(org, celery_eager):
    Organization.objects.filter(pk=org.organization.pk).update(timezone="America/New_York")
    connection.set_tenant(Organization.objects.get(pk=org.organization.pk))
    booking(org.member, day=31, price="40.00")  # 31 March 09:00 UTC
    connection.set_schema_to_public()

    with time_machine.travel(datetime(2025, 4, 1, 0, 25, tzinfo=UTC), tick=False):  # 20:25 on 31 March there
        organizations_fan_out(JOB)
    connection.set_tenant(org.organization)
    assert not Invoice.objects.exists()
    connection.set_schema_to_public()

    with time_machine.travel(datetime(2025, 4, 1, 4, 25, tzinfo=UTC), tick=False):
        organizations_fan_out(JOB)
    connection.set_tenant(org.organization)
    assert Invoice.objects.get().month == MARCH


def test_issuing_emails_the_booker_the_pdf_once(
    in_tenant, after_march, celery_eager, django_capture_on_commit_callbacks
):
    booking(in_tenant.member, price="40.00")
    draft = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]

    with django_capture_on_commit_callbacks(execute=True):
        invoice = services.invoice_issue(invoice_id=draft.pk, actor=in_tenant.membership(in_tenant.admin))
    connection.set_tenant(in_tenant.organization)
    invoice_issued_email.delay(invoice.pk)  # a duplicate run (relay retried): nothing more is sent

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [in_tenant.member.email]
    assert message.subject == "Alpha: invoice INV-000001"
    assert "€40.00" in message.body and "/invoices/" in message.body
    (filename, content, mimetype) = message.attachments[0]
    assert filename == "invoice-INV-000001.pdf" and mimetype == "application/pdf"
    assert content.startswith(b"%PDF")


def test_a_draft_or_a_missing_invoice_sends_nothing(in_tenant, after_march, celery_eager):
    booking(in_tenant.member)
    draft = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]

    assert invoice_issued_email.delay(draft.pk).get() is False
    assert invoice_issued_email.delay(999999).get() is False
    assert mail.outbox == []


@pytest.mark.slow
def test_a_real_worker_emails_the_pdf_of_an_invoice_issued_through_the_api(org, api_client, live_worker):
    connection.set_tenant(org.organization)
    booking(org.member, price="40.00")
    draft = services.invoices_generate(month=MARCH, now=AFTER_MARCH).created[0]
    connection.set_schema_to_public()

    response = api_client(org, org.owner).post(f"/api/v1/invoices/{draft.pk}/issue")
    assert response.status_code == 200, response.json()
    outbox_relay.delay()  # beat's job, every OUTBOX_RELAY_SECONDS
    wait_for_mail(1)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [org.member.email]
    assert mail.outbox[0].attachments[0][1].startswith(b"%PDF")
