"""Report pages for owners and admins: the list, one month's figures with simple charts, its CSV, a button to
(re)generate a month, and the analytics dashboard for any period with its bookings export. Thin: the figures
come from the stored report or from reports.analytics, the rules from reports.services; this module only
scales numbers into bar lengths."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.access import manager_required
from reports.analytics import (
    AnalyticsFilters,
    analytics_bookings_csv,
    analytics_bookings_xlsx,
    analytics_data,
    analytics_export_filename,
    analytics_filter_choices,
    analytics_filters_parse,
    organization_today,
)
from reports.forms import ReportGenerateForm
from reports.selectors import monthly_report_list, monthly_report_summary_list
from reports.services import monthly_report_generate, previous_month
from reports.templatetags.report_format import hour, percent
from spacemanager.errors import DomainError, ValidationFailed
from spacemanager.money import money_format

PAGE_SIZE = 12  # a year of reports per page
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
            Bar(space["name"], money_format(space["revenue"], currency), length)
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


@dataclass(frozen=True)
class HeatCell:
    hour: int
    value: str  # booked hours and occupancy, as a person reads them
    opacity: float  # 0-1, relative to the busiest cell


def analytics_charts(data: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's figures as bars (the report pages' charts) and a weekday x hour grid."""
    currency = data["currency"]
    over_time = data["over_time"]
    lead_time = data["lead_time"]
    statuses = data["statuses"]
    top_spaces = data["top_spaces"]
    top_bookers = data["top_bookers"]
    busiest = max((cell["booked_hours"] for cell in data["heatmap"]), default=0)
    heatmap = []
    for day in range(7):
        cells = data["heatmap"][day * 24 : (day + 1) * 24]
        heatmap.append(
            {
                "weekday": cells[0]["weekday"],
                "cells": [
                    HeatCell(
                        cell["hour"],
                        f"{cell['booked_hours']} h ({percent(cell['occupancy'])})",
                        round(cell["booked_hours"] / busiest, 3) if busiest else 0.0,
                    )
                    for cell in cells
                ],
            }
        )
    return {
        **report_charts(
            {
                "currency": currency,
                "spaces": [{**space, "utilisation": space["utilization"]} for space in data["spaces"]],
                "weekdays": [],
                "hours": [],
            }
        ),
        "bookings": [
            Bar(row["period"], str(row["bookings"]), length)
            for row, length in zip(over_time, scaled([row["bookings"] for row in over_time]), strict=True)
        ],
        "revenue_over_time": [
            Bar(row["period"], money_format(row["revenue"], currency), length)
            for row, length in zip(
                over_time, scaled([float(Decimal(row["revenue"])) for row in over_time]), strict=True
            )
        ],
        "statuses": [
            Bar(row["status"], str(row["reservations"]), length)
            for row, length in zip(statuses, scaled([row["reservations"] for row in statuses]), strict=True)
        ],
        "lead_time": [
            Bar(row["band"], str(row["bookings"]), length)
            for row, length in zip(lead_time, scaled([row["bookings"] for row in lead_time]), strict=True)
        ],
        "top_spaces": [
            Bar(row["name"], f"{row['booked_hours']} h", length)
            for row, length in zip(top_spaces, scaled([row["booked_hours"] for row in top_spaces]), strict=True)
        ],
        "top_bookers": [
            Bar(row["full_name"] or row["email"], str(row["bookings"]), length)
            for row, length in zip(top_bookers, scaled([row["bookings"] for row in top_bookers]), strict=True)
        ],
        "heatmap": heatmap,
        "hours": [hour(value) for value in range(24)],
    }


ANALYTICS_PARAMETERS = ("bucket",)
LONG_PERIOD_DAYS = 62  # longer periods are drawn week by week unless the URL asks for days


def _analytics_filters(request: HttpRequest) -> tuple[AnalyticsFilters, str]:
    organization = request.tenant
    filters = analytics_filters_parse(
        request.GET, organization=organization, today=organization_today(organization), allowed=ANALYTICS_PARAMETERS
    )
    bucket = request.GET.get("bucket", "").strip() or ("week" if filters.days > LONG_PERIOD_DAYS else "day")
    if bucket not in ("day", "week"):
        raise ValidationFailed(f"Show the bookings by day or by week, not {bucket!r}.", field="bucket")
    return filters, bucket


@require_GET
@manager_required
def analytics_dashboard(request: HttpRequest) -> HttpResponse:
    """Every chart of the period, or the filters with the error (400) when the URL's filters are wrong."""
    context: dict[str, Any] = {"choices": analytics_filter_choices(), "params": request.GET}
    try:
        filters, bucket = _analytics_filters(request)
    except ValidationFailed as exc:
        context["error"] = {"field": exc.field, "message": exc.message}
        return render(request, "reports/analytics_dashboard.html", context, status=400)
    data = analytics_data(organization=request.tenant, filters=filters, bucket=bucket)
    query = urlencode(filters.query())
    context |= {"data": data, "charts": analytics_charts(data), "filters": filters, "bucket": bucket, "query": query}
    return render(request, "reports/analytics_dashboard.html", context)


@require_GET
@manager_required
def analytics_export(request: HttpRequest, extension: str) -> HttpResponse:
    """The period's bookings, one row each, as CSV or XLSX (the same rows: reports.analytics)."""
    try:
        filters, _bucket = _analytics_filters(request)
    except ValidationFailed as exc:
        return HttpResponse(f"{exc.field}: {exc.message}", status=400, content_type="text/plain; charset=utf-8")
    if extension == "xlsx":
        response = HttpResponse(analytics_bookings_xlsx(filters=filters), content_type=XLSX_TYPE)
    else:
        response = HttpResponse(analytics_bookings_csv(filters=filters), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{analytics_export_filename(filters, extension)}"'
    return response
