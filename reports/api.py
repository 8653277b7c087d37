"""Reports API (owners and admins): monthly reports as JSON, or CSV with `?format=csv` / `Accept: text/csv`;
analytics for any period as JSON."""

import csv
import io

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts.permissions import IsOrganizationManager
from reports.analytics import MAX_PERIOD_DAYS, analytics_data, analytics_filters_parse, organization_today
from reports.models import MonthlyReport
from reports.renderers import CSVRenderer
from reports.selectors import REPORT_FIGURES, monthly_report_list
from spacemanager.errors import NotFound, ValidationFailed
from spacemanager.openapi import ERROR_RESPONSES


class ReportTotalsSerializer(serializers.Serializer):
    reservations = serializers.IntegerField(help_text="Confirmed or completed, starting in the month.")
    cancellations = serializers.IntegerField(help_text="Cancelled, starting in the month.")
    expired = serializers.IntegerField(help_text="Requests nobody approved in time.")
    booked_hours = serializers.FloatField(help_text="Hours of held reservations inside the month.")
    open_hours = serializers.FloatField(help_text="Hours the spaces were open (24 h a day without opening hours).")
    utilisation = serializers.FloatField(allow_null=True, help_text="booked_hours / open_hours, from 0 to 1.")
    revenue = serializers.CharField(help_text="Decimal, in the organization's currency.")
    no_shows = serializers.IntegerField(
        allow_null=True,
        help_text="Not checked in by the end of the grace, starting in the month (null in reports "
        "built before no-shows were counted).",
    )
    no_show_rate = serializers.FloatField(
        allow_null=True, help_text="no_shows / every reservation starting in the month, from 0 to 1."
    )


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$", "example": "2026-11"})
class MonthField(serializers.DateField):
    """A month as `YYYY-MM` (the first day of the month in the database)."""

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m", **kwargs)


class ReportSummarySerializer(serializers.ModelSerializer):
    month = MonthField(help_text="YYYY-MM: the organization's local month.")
    totals = ReportTotalsSerializer(source="data.totals")

    class Meta:
        model = MonthlyReport
        fields = ["id", "month", "generated_at", "totals"]


class ReportSerializer(ReportSummarySerializer):
    data = serializers.JSONField(
        help_text="Everything: period, totals, per space (booked and open hours, utilisation, revenue), "
        "reservations per weekday and per local start hour, busiest weekday and hour, top bookers."
    )

    class Meta(ReportSummarySerializer.Meta):
        fields = [*ReportSummarySerializer.Meta.fields, "data"]


# DRF picks the renderer from this query parameter (REST_FRAMEWORK["URL_FORMAT_OVERRIDE"], "format").
FORMAT_PARAMETER = OpenApiParameter(
    api_settings.URL_FORMAT_OVERRIDE,
    str,
    enum=["json", "csv"],
    description="`csv` answers text/csv (as does `Accept: text/csv`).",
)
CSV_RESPONSE = OpenApiResponse(response=OpenApiTypes.STR, description="The same as CSV.")


def json_errors(*statuses: int) -> dict:
    """Errors are JSON even when CSV was asked for (see `finalize_response`)."""
    return {(status, "application/json"): response for status, response in ERROR_RESPONSES.for_codes(*statuses).items()}


class ReportAPIView(GenericAPIView):
    permission_classes = [IsOrganizationManager]
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, CSVRenderer]
    filter_backends = []

    def initial(self, request, *args, **kwargs):
        # DRF reads an empty `?format=` as no format at all; the schema offers json or csv.
        if request.query_params.get(api_settings.URL_FORMAT_OVERRIDE) == "":
            raise ValidationFailed(
                "Give json or csv, or leave the parameter out.", field=api_settings.URL_FORMAT_OVERRIDE
            )
        super().initial(request, *args, **kwargs)

    def wants_csv(self) -> bool:
        return isinstance(self.request.accepted_renderer, CSVRenderer)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Only text the view wrote as CSV goes out as CSV. Errors ({"detail": ..., "code": ...}) and OPTIONS'
        # metadata have no CSV shape, so they stay JSON whatever was asked for.
        not_csv_text = getattr(response, "exception", False) or not isinstance(getattr(response, "data", None), str)
        if not_csv_text and isinstance(getattr(response, "accepted_renderer", None), CSVRenderer):
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response


@extend_schema(tags=["reports"])
class ReportListView(ReportAPIView):
    """Monthly reports, newest first (owners and admins)."""

    serializer_class = ReportSummarySerializer

    def get_queryset(self):
        return monthly_report_list()

    @extend_schema(
        parameters=[FORMAT_PARAMETER],
        responses={
            (200, "application/json"): ReportSummarySerializer(many=True),
            (200, "text/csv"): CSV_RESPONSE,
            **json_errors(401, 403),
        },
    )
    def get(self, request):
        """List monthly reports.

        One report per ended month, newest first, with its totals (owners and admins). JSON, or CSV with
        `format=csv` or `Accept: text/csv`.
        """
        page = self.paginate_queryset(self.get_queryset())
        if self.wants_csv():
            return Response(_summary_csv(page), headers={"Content-Disposition": 'attachment; filename="reports.csv"'})
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def _summary_csv(reports: list[MonthlyReport]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = REPORT_FIGURES
    writer.writerow(["id", "month", "generated_at", *columns])
    for report in reports:
        totals = report.data["totals"]
        writer.writerow(
            [report.pk, f"{report.month:%Y-%m}", report.generated_at.isoformat()]
            + ["" if totals.get(column) is None else totals[column] for column in columns]
        )
    return out.getvalue()


@extend_schema(tags=["reports"])
class ReportDetailView(ReportAPIView):
    """One monthly report with every figure (owners and admins)."""

    serializer_class = ReportSerializer

    def get_object(self) -> MonthlyReport:
        report = monthly_report_list().filter(pk=self.kwargs["pk"]).first()
        if report is None:
            raise NotFound("No such report here.")
        return report

    @extend_schema(
        parameters=[FORMAT_PARAMETER],
        responses={
            (200, "application/json"): ReportSerializer,
            (200, "text/csv"): CSV_RESPONSE,
            **json_errors(401, 403, 404),
        },
        examples=[
            OpenApiExample(
                "CSV",
                value="report,Alpha,2025-03,Europe/Paris,EUR\n\nmetric,value\nreservations,42\n...",
                response_only=True,
                media_type="text/csv",
            )
        ],
    )
    def get(self, request, pk: int):
        """Get a monthly report.

        Every figure of one month: totals, per space, per weekday and hour, top bookers (owners and admins).
        JSON, or CSV with `format=csv` or `Accept: text/csv`.
        """
        report = self.get_object()
        if self.wants_csv():
            disposition = f'attachment; filename="{report.csv_filename}"'
            return Response(report.csv, headers={"Content-Disposition": disposition})
        return Response(self.get_serializer(report).data)


GROUP_BY = {"space": "spaces", "day": "over_time", "weekday_hour": "heatmap"}


class AnalyticsTotalsSerializer(serializers.Serializer):
    bookings = serializers.IntegerField(help_text="Confirmed or completed, starting in the period.")
    booked_hours = serializers.FloatField(help_text="Hours of held reservations inside the period.")
    open_hours = serializers.FloatField(help_text="Hours the spaces were open (24 h a day without opening hours).")
    utilization = serializers.FloatField(allow_null=True, help_text="booked_hours / open_hours, from 0 to 1.")
    revenue = serializers.CharField(help_text="Decimal, in the organization's currency.")
    reservations = serializers.IntegerField(help_text="Every reservation starting in the period, any status.")
    cancellations = serializers.IntegerField()
    no_shows = serializers.IntegerField(allow_null=True, help_text="Null while bookings have no no-show status.")
    cancellation_rate = serializers.FloatField(allow_null=True, help_text="cancellations / reservations.")
    no_show_rate = serializers.FloatField(allow_null=True, help_text="no_shows / reservations.")


class AnalyticsSerializer(serializers.Serializer):
    timezone = serializers.CharField(help_text="The organization's zone: days and hours are local to it.")
    currency = serializers.CharField()
    period = serializers.JSONField(help_text="from, to (local days, both included), starts_at, ends_at, location.")
    totals = AnalyticsTotalsSerializer()
    lead_time = serializers.JSONField(help_text="Reservations per band of time between booking and start.")
    top_spaces = serializers.JSONField(help_text="The ten spaces with the most booked hours.")
    top_bookers = serializers.JSONField(help_text="The ten people with the most bookings.")
    group_by = serializers.ChoiceField(choices=list(GROUP_BY))
    rows = serializers.JSONField(
        help_text="`space`: per space (bookings, booked and open hours, utilization, revenue); `day`: per local "
        "day (bookings, revenue, cancellations); `weekday_hour`: 168 cells (booked hours and occupancy)."
    )


@extend_schema(tags=["reports"])
class AnalyticsView(GenericAPIView):
    permission_classes = [IsOrganizationManager]
    serializer_class = AnalyticsSerializer
    filter_backends = []
    pagination_class = None

    @extend_schema(
        summary="Analytics for a period",
        description="Utilization, occupancy, bookings and revenue, cancellation and no-show rates, lead times and "
        "the top spaces and bookers for a period of local days (at most "
        f"{MAX_PERIOD_DAYS}; without `from`/`to`, the current month), optionally for one location's spaces. "
        "`group_by` picks the rows. Owners and admins only. An unknown parameter, a bad date, `to` before `from` "
        "or a longer period is a 400 naming the parameter.",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First local day (YYYY-MM-DD)."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last local day, included."),
            OpenApiParameter("group_by", str, enum=list(GROUP_BY), description="The rows (default `space`)."),
            OpenApiParameter("location", str, description="Only the spaces with this location."),
            OpenApiParameter("space", int, description="Only this space."),
        ],
        responses={200: AnalyticsSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403)},
        examples=[
            OpenApiExample(
                "A week, per space",
                value={
                    "timezone": "Europe/Paris",
                    "currency": "EUR",
                    "period": {"from": "2025-03-24", "to": "2025-03-30", "location": ""},
                    "totals": {
                        "bookings": 3,
                        "booked_hours": 5.0,
                        "open_hours": 207.0,
                        "utilization": 0.0242,
                        "revenue": "60.00",
                        "reservations": 5,
                        "cancellations": 1,
                        "no_shows": None,
                        "cancellation_rate": 0.2,
                        "no_show_rate": None,
                    },
                    "lead_time": [{"band": "under 1 hour", "bookings": 1}],
                    "top_spaces": [],
                    "top_bookers": [],
                    "group_by": "space",
                    "rows": [
                        {
                            "id": 1,
                            "name": "Atelier",
                            "location": "Main building",
                            "bookings": 2,
                            "booked_hours": 3.0,
                            "open_hours": 40.0,
                            "utilization": 0.075,
                            "revenue": "60.00",
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        organization = request.tenant
        params = {name: request.query_params.get(name, "") for name in request.query_params}
        filters = analytics_filters_parse(
            params,
            organization=organization,
            today=organization_today(organization),
            allowed=("group_by", api_settings.URL_FORMAT_OVERRIDE),
        )
        group_by = params.get("group_by") or "space"
        if group_by not in GROUP_BY:
            raise ValidationFailed(f"Group by one of {', '.join(GROUP_BY)}, not {group_by!r}.", field="group_by")
        data = analytics_data(organization=organization, filters=filters)
        rows = data[GROUP_BY[group_by]]
        payload = {key: data[key] for key in ("timezone", "currency", "period", "totals", "lead_time")}
        payload |= {"top_spaces": data["top_spaces"], "top_bookers": data["top_bookers"]}
        return Response(self.get_serializer({**payload, "group_by": group_by, "rows": rows}).data)
