import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_tenants.utils import schema_context

from reports.services import monthly_report_generate
from spacemanager.errors import DomainError, one_line
from spacemanager.money import money_format
from tenants.selectors import organization_list_active

MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")


def parse_month(value: str) -> date:
    match = MONTH_PATTERN.fullmatch(value.strip())
    try:
        if match is None:
            raise ValueError
        return date(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise CommandError(f"--month must be a month like 2025-03, not {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Build (or rebuild) the monthly report of every active organization, or of one, for a month that has "
        "ended. Running it again replaces the month's report. Sends no email (the monthly job does)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM, e.g. 2025-03 (in each organization's time).")
        parser.add_argument("--organization", metavar="SLUG", help="Only this organization (its slug).")

    def handle(self, *args, **options):
        month = parse_month(options["month"])
        if month > timezone.now().date():
            raise CommandError(f"{month:%Y-%m} has not started yet.")
        organizations = organization_list_active()
        if options["organization"]:
            organizations = organizations.filter(slug=options["organization"])
            if not organizations:
                raise CommandError(f"No active organization has the slug {options['organization']!r}.")
        failed = 0
        total = 0
        for organization in organizations:
            total += 1
            with schema_context(organization.schema_name):
                try:
                    report = monthly_report_generate(month=month)
                except DomainError as exc:
                    failed += 1
                    self.stderr.write(f"{organization.slug}: {one_line(exc)}")
                    continue
            totals = report.data["totals"]
            self.stdout.write(
                f"{organization.slug}: {month:%Y-%m} report #{report.pk}: {totals['reservations']} reservations, "
                f"{totals['booked_hours']} booked hours, "
                f"revenue {money_format(totals['revenue'], organization.currency)}."
            )
        if failed:
            raise CommandError(f"{failed} of {total} organizations have no report for {month:%Y-%m}.")
        if total == 0:
            self.stdout.write("No active organizations.")
