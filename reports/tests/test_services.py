from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection

from reports import tasks
from reports.models import MonthlyReport
from reports.services import monthly_report_ensure_previous_month, monthly_report_generate, monthly_report_send
from reports.tests.factories import generate
from reservations.tests.factories import ReservationFactory
from spacemanager.errors import ValidationFailed
from tenants.models import Organization

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_generating_a_month_again_replaces_its_report(paris, in_tenant):
    first = generate(date(2025, 3, 1), now=utc(2025, 4, 1))
    ReservationFactory(user=paris.member, starts_at=utc(2025, 3, 10, 9))

    second = generate(date(2025, 3, 17), now=utc(2025, 4, 2))

    assert MonthlyReport.objects.count() == 1
    assert second.pk == first.pk
    assert second.month == date(2025, 3, 1)
    assert second.generated_at == utc(2025, 4, 2)
    assert second.data["totals"]["reservations"] == 1
    assert "reservations,1\n" in second.csv


def test_a_month_that_has_not_ended_in_the_organizations_time_has_no_report(paris, in_tenant):
    # 23:30 on 31 March in Paris is 21:30 UTC: March is not over there yet.
    with pytest.raises(ValidationFailed) as refused:
        monthly_report_generate(month=date(2025, 3, 1), now=utc(2025, 3, 31, 21, 30))

    assert refused.value.field == "month"
    assert refused.value.message == "March 2025 has not ended yet in Europe/Paris."
    assert not MonthlyReport.objects.exists()


@pytest.mark.parametrize(
    ("timezone", "now", "month"),
    [
        ("Europe/Paris", utc(2025, 3, 31, 22, 30), date(2025, 3, 1)),  # 00:30 on 1 April in Paris
        ("Europe/Paris", utc(2025, 3, 31, 21, 30), date(2025, 2, 1)),  # still 31 March in Paris
        ("America/Los_Angeles", utc(2025, 4, 1, 3), date(2025, 2, 1)),  # still 31 March in Los Angeles
        ("America/Los_Angeles", utc(2025, 4, 1, 8), date(2025, 3, 1)),
    ],
)
def test_the_previous_month_is_the_last_one_over_in_the_organizations_time(org, in_tenant, timezone, now, month):
    Organization.objects.filter(pk=org.organization.pk).update(timezone=timezone)
    org.organization.refresh_from_db()

    assert monthly_report_ensure_previous_month(now=now).month == month


def test_owners_and_admins_get_the_report_with_its_csv_once(paris, in_tenant):
    report = generate(date(2025, 3, 1))

    assert monthly_report_send(report_id=report.pk) == 2
    assert monthly_report_send(report_id=report.pk) == 0

    assert sorted(message.to[0] for message in mail.outbox) == ["admin@alpha.test", "owner@alpha.test"]
    message = mail.outbox[0]
    assert message.subject == "Alpha: report for March 2025"
    assert "Reservations: 0" in message.body
    assert message.attachments[0][0] == "report-2025-03.csv"
    assert message.attachments[0][2] == "text/csv"
    assert message.attachments[0][1].startswith("report,Alpha,2025-03")


def test_the_monthly_job_makes_the_report_once_and_emails_it_once(paris, in_tenant, celery_eager):
    with time_machine.travel(utc(2025, 4, 1, 0, 20), tick=False):
        tasks.monthly_report_previous_month.delay()
    with time_machine.travel(utc(2025, 4, 1, 1, 20), tick=False):
        tasks.monthly_report_previous_month.delay()

    report = MonthlyReport.objects.get()
    assert report.month == date(2025, 3, 1)
    assert report.generated_at == utc(2025, 4, 1, 0, 20)  # the second run found it made
    assert len(mail.outbox) == 2


def test_a_report_email_for_a_report_gone_meanwhile_ends_cleanly(paris, in_tenant, celery_eager):
    report = generate(date(2025, 3, 1))
    report_id = report.pk
    report.delete()

    assert tasks.monthly_report_email.delay(report_id).result == 0
    assert mail.outbox == []


def test_the_monthly_job_for_a_deleted_organization_ends_cleanly(org, celery_eager):
    result = tasks.monthly_report_previous_month.apply(headers={"_schema_name": "org_deleted_meanwhile"})

    assert result.successful() and result.result is None
    assert mail.outbox == []


def test_the_report_of_one_organization_holds_none_of_anothers_bookings(paris, other_org, in_tenant):
    ReservationFactory(user=paris.member, starts_at=utc(2025, 3, 10, 9))
    assert generate(date(2025, 3, 1)).data["totals"]["reservations"] == 1

    connection.set_tenant(other_org.organization)
    beta = generate(date(2025, 3, 1) + timedelta(days=3))

    assert beta.data["totals"]["reservations"] == 0
    assert beta.data["organization"] == "Beta"


def test_the_report_email_links_to_the_report_on_the_configured_site(paris, in_tenant, settings):
    settings.SITE_URL = "https://localhost:8443"
    report = generate(date(2025, 3, 1))

    monthly_report_send(report_id=report.pk)

    assert f"Open the report: https://alpha.localhost:8443/reports/{report.pk}/" in mail.outbox[0].body
