from datetime import UTC, date, datetime

from reports.models import MonthlyReport
from reports.services import monthly_report_generate


def generate(month: date, now: datetime | None = None) -> MonthlyReport:
    """A report made by the service, as the monthly job would (call inside the organization's schema)."""
    return monthly_report_generate(month=month, now=now or datetime(2025, 6, 1, tzinfo=UTC))
