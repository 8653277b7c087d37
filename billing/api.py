"""Billing API: settings (owners and admins) and invoices. Thin: parse, call a selector or service, render."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts.access import request_membership
from accounts.permissions import IsOrganizationManager
from billing import selectors, services
from billing.documents import invoice_csv, invoice_pdf
from billing.models import BillingSettings, Invoice, InvoiceLine
from reports.api import MonthField, json_errors
from reports.renderers import CSVRenderer
from spacemanager.errors import ValidationFailed
from spacemanager.openapi import ERROR_RESPONSES, error_response


class PDFRenderer(BaseRenderer):
    """`?format=pdf` or `Accept: application/pdf`: the view hands over the PDF's bytes."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return data


@extend_schema_field({"type": "string", "maxLength": 20})
class PrefixField(serializers.CharField):
    """One plain string schema, so that the strict API holds the body to its type: with a pattern (or a regex
    validator) and blank allowed, drf-spectacular writes a `oneOf` that the strict type check cannot read."""


class BillingSettingsSerializer(serializers.ModelSerializer):
    invoice_prefix = PrefixField(
        max_length=20,
        allow_blank=True,
        required=False,
        help_text="Put before each invoice number (letters, digits and - _ / . only), e.g. INV- gives INV-000042.",
    )  # its characters are checked by the model's validator, in billing.services (full_clean)

    class Meta:
        model = BillingSettings
        fields = [
            "legal_name",
            "address",
            "tax_id",
            "tax_rate",
            "tax_label",
            "invoice_prefix",
            "payment_terms_days",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]
        extra_kwargs = {name: {"required": False} for name in fields}


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ["position", "description", "quantity", "unit_price", "amount", "reservation"]
        read_only_fields = fields


class InvoiceSummarySerializer(serializers.ModelSerializer):
    month = MonthField(help_text="YYYY-MM: the organization's local month billed.")
    number = serializers.CharField(read_only=True, help_text="Prefix and number; empty while a draft.")

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "user",
            "buyer_name",
            "buyer_email",
            "month",
            "currency",
            "subtotal",
            "tax_amount",
            "total",
            "issued_at",
            "due_date",
            "paid_at",
            "voided_at",
        ]
        read_only_fields = fields


class InvoiceSerializer(InvoiceSummarySerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta(InvoiceSummarySerializer.Meta):
        fields = [
            *InvoiceSummarySerializer.Meta.fields,
            "seller_name",
            "seller_address",
            "seller_tax_id",
            "tax_label",
            "tax_rate",
            "paid_via",
            "payment_reference",
            "void_reason",
            "replaces",
            "created_at",
            "lines",
        ]
        read_only_fields = fields


class GenerateInputSerializer(serializers.Serializer):
    month = MonthField(input_formats=["%Y-%m"], help_text="YYYY-MM: an ended month of the organization's calendar.")
    user = serializers.IntegerField(required=False, min_value=1, help_text="Only this member's invoice.")

    def validate_month(self, value):
        if value.year < FIRST_YEAR:
            raise serializers.ValidationError(f"Give a month from {FIRST_YEAR} on.")
        return value


class GenerateResultSerializer(serializers.Serializer):
    month = MonthField()
    created = serializers.IntegerField(help_text="Drafts made by this request.")
    invoices = InvoiceSummarySerializer(many=True, help_text="The month's live invoices of the bookers concerned.")


class MarkPaidInputSerializer(serializers.Serializer):
    reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="A bank transfer's or receipt's reference."
    )


class VoidInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


INVOICE_EXAMPLE = {
    "id": 7,
    "number": "INV-000042",
    "status": "issued",
    "user": 12,
    "buyer_name": "Sam Booker",
    "buyer_email": "sam@example.com",
    "month": "2025-03",
    "currency": "EUR",
    "subtotal": "100.00",
    "tax_amount": "20.00",
    "total": "120.00",
    "issued_at": "2025-04-01T09:00:00+02:00",
    "due_date": "2025-04-15",
    "paid_at": None,
    "voided_at": None,
}


FIRST_YEAR = 2000  # no booking, hence no invoice, is older; and `%Y` writes earlier years without 4 digits


def _month_param(value: str | None):
    """A present `month` must be a month (an empty one too is a 400: the schema promises YYYY-MM)."""
    if value is None:
        return None
    try:
        month = MonthField(input_formats=["%Y-%m"]).to_internal_value(value)
    except serializers.ValidationError as exc:
        raise ValidationFailed("Give a month as YYYY-MM.", field="month") from exc
    if month.year < FIRST_YEAR:
        raise ValidationFailed(f"Give a month from {FIRST_YEAR} on.", field="month")
    return month


@extend_schema(tags=["billing"])
class BillingSettingsView(GenericAPIView):
    permission_classes = [IsOrganizationManager]
    serializer_class = BillingSettingsSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(responses={200: BillingSettingsSerializer, **ERROR_RESPONSES.for_codes(401, 403)})
    def get(self, request):
        """Get the billing settings.

        Legal name (the organization's name when empty), address, tax id, tax rate in percent (null: no tax)
        and its label, invoice number prefix and payment terms in days. Owners and admins.
        """
        return Response(self.get_serializer(services.billing_settings_get()).data)

    @extend_schema(
        request=BillingSettingsSerializer,
        responses={200: BillingSettingsSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403)},
        examples=[OpenApiExample("20 % VAT", value={"tax_rate": "20.00", "tax_label": "VAT"}, request_only=True)],
    )
    def patch(self, request):
        """Change the billing settings.

        Owners and admins. Invoices already issued keep what they say; drafts take the new settings when issued.
        """
        data = self.get_serializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        settings = services.billing_settings_update(actor=request_membership(request._request), **data.validated_data)
        return Response(self.get_serializer(settings).data)


class InvoiceViewMixin:
    filter_backends = []

    def membership(self):
        return request_membership(self.request._request)


@extend_schema(tags=["billing"])
class InvoiceListView(InvoiceViewMixin, GenericAPIView):
    serializer_class = InvoiceSummarySerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", str, enum=[choice.value for choice in Invoice.Status], description="Only invoices in it."
            ),
            OpenApiParameter("month", str, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM."),
            OpenApiParameter("user", int, description="One booker's invoices (owners and admins)."),
        ],
        responses={200: InvoiceSummarySerializer(many=True), **ERROR_RESPONSES.for_codes(400, 401, 403)},
        examples=[OpenApiExample("Invoices", value=[INVOICE_EXAMPLE], response_only=True)],
    )
    def get(self, request):
        """List invoices.

        Newest month first. A member sees their own invoices; owners and admins see everyone's and may filter
        by `user`.
        """
        params = request.query_params
        status_value = params.get("status")
        if status_value is not None and status_value not in Invoice.Status.values:
            raise ValidationFailed(f"Give one of {', '.join(Invoice.Status.values)}.", field="status")
        user_value = params.get("user")
        try:
            user_id = int(user_value) if user_value is not None else None
        except ValueError as exc:
            raise ValidationFailed("Give a user id (a whole number).", field="user") from exc
        invoices = selectors.invoice_list(
            viewer=self.membership(), status=status_value, month=_month_param(params.get("month")), user_id=user_id
        )
        page = self.paginate_queryset(invoices)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["billing"])
class InvoiceDetailView(InvoiceViewMixin, GenericAPIView):
    serializer_class = InvoiceSerializer
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, PDFRenderer, CSVRenderer]

    def initial(self, request, *args, **kwargs):
        # DRF reads an empty `?format=` as no format at all; the schema offers json, pdf or csv.
        if request.query_params.get(api_settings.URL_FORMAT_OVERRIDE) == "":
            raise ValidationFailed("Give json, pdf or csv, or leave the parameter out.", field="format")
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Errors have no PDF or CSV shape: they stay JSON whatever was asked for.
        document = isinstance(getattr(response, "data", None), bytes | str)
        if not document and isinstance(getattr(response, "accepted_renderer", None), PDFRenderer | CSVRenderer):
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter(
                api_settings.URL_FORMAT_OVERRIDE,
                str,
                enum=["json", "pdf", "csv"],
                description="`pdf` answers application/pdf, `csv` text/csv (as do the matching `Accept` headers).",
            )
        ],
        responses={
            (200, "application/json"): InvoiceSerializer,
            (200, "application/pdf"): OpenApiResponse(response=OpenApiTypes.BINARY, description="The PDF."),
            (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description="The lines and totals."),
            **json_errors(400, 401, 403, 404),
        },
    )
    def get(self, request, pk: int):
        """Get an invoice.

        With its lines and frozen seller, buyer and tax details. A member may read their own invoices only.
        JSON, or the document with `format=pdf` (application/pdf) or `format=csv`.
        """
        invoice = selectors.invoice_get(viewer=self.membership(), invoice_id=pk)
        renderer = request.accepted_renderer
        if isinstance(renderer, PDFRenderer):
            disposition = f'attachment; filename="{invoice.filename}.pdf"'
            return Response(invoice_pdf(invoice), headers={"Content-Disposition": disposition})
        if isinstance(renderer, CSVRenderer):
            disposition = f'attachment; filename="{invoice.filename}.csv"'
            return Response(invoice_csv(invoice), headers={"Content-Disposition": disposition})
        return Response(self.get_serializer(invoice).data)


@extend_schema(tags=["billing"])
class InvoiceGenerateView(InvoiceViewMixin, GenericAPIView):
    permission_classes = [IsOrganizationManager]
    serializer_class = GenerateResultSerializer

    @extend_schema(
        request=GenerateInputSerializer,
        responses={200: GenerateResultSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403)},
        examples=[OpenApiExample("March for everyone", value={"month": "2025-03"}, request_only=True)],
    )
    def post(self, request):
        """Generate draft invoices for a month.

        One draft per booker whose bookings completed or were no-shows in that (ended) month, at their frozen
        prices, with the organization's tax; `user` limits it to one member. Idempotent: a booker who already
        has a live invoice for the month keeps it (a void one is replaced by a new draft). Owners and admins.
        """
        data = GenerateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.invoices_generate(
            month=data.validated_data["month"],
            user_id=data.validated_data.get("user"),
            actor=self.membership(),
        )
        payload = {"month": result.month, "created": len(result.created), "invoices": result.invoices}
        return Response(GenerateResultSerializer(payload).data, status=status.HTTP_200_OK)


class InvoiceActionView(InvoiceViewMixin, GenericAPIView):
    permission_classes = [IsOrganizationManager]
    serializer_class = InvoiceSerializer

    def respond(self, invoice: Invoice) -> Response:
        invoice = selectors.invoice_get(viewer=self.membership(), invoice_id=invoice.pk)
        return Response(self.get_serializer(invoice).data)


def _conflict(code: str, detail: str) -> dict:
    return {**ERROR_RESPONSES.for_codes(400, 401, 403, 404), 409: error_response(code, detail)}


@extend_schema(tags=["billing"])
class InvoiceIssueView(InvoiceActionView):
    @extend_schema(
        request=None,
        responses={
            200: InvoiceSerializer,
            **_conflict("invoice_not_draft", "Invoice INV-000042 is issued; only a draft can be issued."),
        },
    )
    def post(self, request, pk: int):
        """Issue a draft invoice.

        Gives it the organization's next number (no gaps), freezes it and emails the booker the PDF.
        A non-draft is a 409 `invoice_not_draft`.
        """
        return self.respond(services.invoice_issue(invoice_id=pk, actor=self.membership()))


@extend_schema(tags=["billing"])
class InvoiceMarkPaidView(InvoiceActionView):
    @extend_schema(
        request=MarkPaidInputSerializer,
        responses={
            200: InvoiceSerializer,
            **_conflict("invoice_not_issued", "Invoice INV-000042 is paid; only an issued invoice can be paid."),
        },
    )
    def post(self, request, pk: int):
        """Mark an invoice paid.

        For a payment received outside SpaceManager (bank transfer, cash), with an optional reference. Only an
        issued invoice can be paid: otherwise a 409 `invoice_not_issued`.
        """
        data = MarkPaidInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = services.invoice_mark_paid(
            invoice_id=pk, actor=self.membership(), reference=data.validated_data.get("reference", "")
        )
        return self.respond(invoice)


@extend_schema(tags=["billing"])
class InvoiceVoidView(InvoiceActionView):
    @extend_schema(
        request=VoidInputSerializer,
        responses={200: InvoiceSerializer, **_conflict("invoice_already_void", "Invoice INV-000042 is void already.")},
    )
    def post(self, request, pk: int):
        """Void an invoice.

        It keeps its number and says void; generate the month again for a corrected one. Voiding twice is a
        409 `invoice_already_void`.
        """
        data = VoidInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = services.invoice_void(
            invoice_id=pk, actor=self.membership(), reason=data.validated_data.get("reason", "")
        )
        return self.respond(invoice)
