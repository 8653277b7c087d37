"""Writing monthly reports, and sending them to the organization's owners and admins; rebuilding the analytics
day rollups."""

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from reports.models import MonthlyReport
from reports.selectors import month_bounds, monthly_report_csv, monthly_report_data
from spacemanager.errors import ValidationFailed
from spacemanager.mail import Attachment, build_email, send_once
from tenants.idempotency import OnceKey
from tenants.selectors import organization_current

logger = logging.getLogger(__name__)
REPORT_EMAIL_KIND = "monthly_report"


@transaction.atomic
def monthly_report_generate(*, month: date, now: datetime | None = None) -> MonthlyReport:
    """Compute the month's report for the current organization, replacing any earlier one for that month.

    Only a month that has ended in the organization's time zone has a report.
    """
    now = now or timezone.now()
    organization = organization_current()
    month = month.replace(day=1)
    _, ends_at = month_bounds(month, ZoneInfo(organization.timezone))
    if ends_at > now:
        raise ValidationFailed(
            f"{month:%B %Y} has not ended yet in {organization.timezone}.", field="month", code="month_not_over"
        )
    data = monthly_report_data(organization=organization, month=month)
    # One row per month (unique constraint); update_or_create locks it, so two runs replace in turn.
    report, _ = MonthlyReport.objects.update_or_create(
        month=month, defaults={"generated_at": now, "data": data, "csv": monthly_report_csv(data)}
    )
    return report


def previous_month(*, now: datetime, timezone_name: str) -> date:
    """The first day of the month before `now`'s month, in the organization's time zone."""
    first_of_this_month = now.astimezone(ZoneInfo(timezone_name)).date().replace(day=1)
    return (first_of_this_month - timedelta(days=1)).replace(day=1)


def monthly_report_ensure_previous_month(*, now: datetime | None = None) -> MonthlyReport:
    """The report of the month that ended last in the organization's time zone, generated if missing."""
    now = now or timezone.now()
    month = previous_month(now=now, timezone_name=organization_current().timezone)
    existing = MonthlyReport.objects.filter(month=month).first()
    return existing or monthly_report_generate(month=month, now=now)


def monthly_report_send(*, report_id: int) -> int:
    """Email the report (CSV attached) to each owner and admin once; returns how many were sent now."""
    report = MonthlyReport.objects.filter(pk=report_id).first()
    if report is None:
        logger.info("Monthly report %s is gone; nothing to send.", report_id)
        return 0
    organization = organization_current()
    managers = (
        Membership.objects.filter(
            organization=organization,
            role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
            user__is_active=True,
        )
        .select_related("user")
        .order_by("user_id")
    )
    totals = report.data["totals"]
    month_name = f"{report.month:%B %Y}"
    report_url = organization.link(reverse("reports:detail", kwargs={"pk": report.pk}, urlconf=settings.ROOT_URLCONF))
    sent = 0
    for membership in managers:
        user = membership.user
        message = build_email(
            to=[user.email],
            subject=f"{organization.name}: report for {month_name}",
            template="reports/email/monthly_report",
            context={
                "organization_name": organization.name,
                "name": user.full_name,
                "month_name": month_name,
                "totals": totals,
                "currency": report.data["currency"],
                "busiest_weekday": report.data["busiest_weekday"],
                "busiest_hour": report.data["busiest_hour"],
                "report_url": report_url,
            },
            attachments=[Attachment(report.csv_filename, report.csv.encode(), "text/csv")],
        )
        key = OnceKey(REPORT_EMAIL_KIND, f"{report.month:%Y-%m}", version=f"user-{user.pk}")
        sent += send_once(message, key=key)
    return sent


@transaction.atomic
def analytics_rollups_rebuild(*, progress: Callable[[int], None] = lambda done: None) -> int:
    """Rebuild the current organization's analytics day rollups from its reservations; returns how many.

    The triggers keep the rollups current on every write (migration reports.0003); this is for repairs and for
    checking them. It empties them, then adds the reservations a month of starts at a time (calling `progress`
    with each month's count), all in one transaction that holds reservation writes (not reads) until it ends.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT reports_rollup_clear()")
        cursor.execute(
            "SELECT date_trunc('month', starts_at), COUNT(*) FROM reservations_reservation GROUP BY 1 ORDER BY 1"
        )
        months = cursor.fetchall()
        total = 0
        for since, count in months:
            until = (since + timedelta(days=32)).replace(day=1)
            cursor.execute("SELECT reports_rollup_add_starting(%s, %s)", [since, until])
            total += count
            progress(count)
    return total
