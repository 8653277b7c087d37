"""Report pages for owners and admins: the list, one month's figures with simple charts, its CSV, and a
button to (re)generate a month. Thin: the figures come from the stored report (reports.selectors computed
them), the rules from reports.services; this module only scales numbers into bar lengths."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.access import manager_required
from reports.forms import ReportGenerateForm
from reports.selectors import monthly_report_list, monthly_report_summary_list
from reports.services import monthly_report_generate, previous_month
from reports.templatetags.report_format import hour, percent
from spacemanager.errors import DomainError

PAGE_SIZE = 12  # a year of reports per page


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: its label, the figure as shown, and its length in percent of the chart."""

    label: str
    value: str
    length: float


def scaled(values: list[float]) -> list[float]:
    """Lengths in percent of the largest value (all zero when every value is)."""
    largest = max(values, default=0)
    return [round(100 * value / largest, 2) if largest else 0.0 for value in values]


def report_charts(data: dict[str, Any]) -> dict[str, list[Bar]]:
    currency = data["currency"]
    spaces = data["spaces"]
    weekdays = data["weekdays"]
    hours = data["hours"]
    revenues = [float(Decimal(space["revenue"])) for space in spaces]
    return {
        # Utilisation is already a share of the month's open hours: its bar is that share, not a relative length.
        "utilisation": [
            Bar(
                space["name"],
                percent(space["utilisation"]),
                min(100.0, 100 * (space["utilisation"] or 0)),
            )
            for space in spaces
        ],
        "revenue": [
            Bar(space["name"], f"{space['revenue']} {currency}", length)
            for space, length in zip(spaces, scaled(revenues), strict=True)
        ],
        "weekdays": [
            Bar(row["weekday"], str(row["reservations"]), length)
            for row, length in zip(weekdays, scaled([row["reservations"] for row in weekdays]), strict=True)
        ],
        "hours": [
            Bar(hour(row["hour"]), str(row["reservations"]), length)
            for row, length in zip(hours, scaled([row["reservations"] for row in hours]), strict=True)
        ],
    }


def generate_form(now: datetime, timezone_name: str) -> ReportGenerateForm:
    """The form, with last month (in the organization's time zone) filled in."""
    return ReportGenerateForm(initial={"month": previous_month(now=now, timezone_name=timezone_name)})


@require_GET
@manager_required
def report_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(monthly_report_summary_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "form": generate_form(timezone.now(), request.tenant.timezone)}
    return render(request, "reports/monthlyreport_list.html", context)


@require_GET
@manager_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(monthly_report_list(), pk=pk)
    context = {"report": report, "data": report.data, "charts": report_charts(report.data)}
    return render(request, "reports/monthlyreport_detail.html", context)


@require_GET
@manager_required
def report_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored CSV, the same text the API and the monthly email hand out."""
    report = get_object_or_404(monthly_report_list().only("pk", "month", "csv"), pk=pk)
    response = HttpResponse(report.csv, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{report.csv_filename}"'
    return response


@require_POST
@manager_required
def report_generate(request: HttpRequest) -> HttpResponse:
    form = ReportGenerateForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["month"]))
        return redirect("reports:list")
    try:
        report = monthly_report_generate(month=form.cleaned_data["month"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("reports:list")
    messages.success(request, f"The report for {report.month:%B %Y} is ready.")
    return redirect("reports:detail", pk=report.pk)
