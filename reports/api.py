"""Reports API (owners and admins): JSON, or CSV with `?format=csv` / `Accept: text/csv`."""

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
from reports.models import MonthlyReport
from reports.renderers import CSVRenderer
from reports.selectors import monthly_report_list
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
    columns = ["reservations", "cancellations", "expired", "booked_hours", "open_hours", "utilisation", "revenue"]
    writer.writerow(["id", "month", "generated_at", *columns])
    for report in reports:
        totals = report.data["totals"]
        writer.writerow(
            [report.pk, f"{report.month:%Y-%m}", report.generated_at.isoformat()]
            + ["" if totals[column] is None else totals[column] for column in columns]
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
