"""The organization's own settings on its host: `GET|PATCH /api/v1/organization` (thin, over tenants.services)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import request_membership
from accounts.api import OrganizationSummarySerializer
from accounts.permissions import IsOrganizationManager, IsOrganizationMember
from spacemanager.openapi import ERROR_RESPONSES
from tenants import services


class OrganizationInputSerializer(serializers.Serializer):
    """Plain strings: tenants.services checks them with the validators the settings page uses."""

    name = serializers.CharField(max_length=100, required=False)
    timezone = serializers.CharField(
        max_length=64, required=False, help_text="An IANA time zone name, such as Europe/Paris or UTC."
    )
    currency = serializers.CharField(max_length=3, required=False, help_text="An ISO 4217 code, such as EUR.")


ORGANIZATION_EXAMPLE = {
    "id": 4,
    "name": "Acme Coworking",
    "slug": "acme",
    "timezone": "Europe/Paris",
    "currency": "EUR",
    "url": "https://acme.example.com/",
}


@extend_schema(tags=["organization"])
class OrganizationView(APIView):
    def get_permissions(self):
        return [IsOrganizationMember() if self.request.method in SAFE_METHODS else IsOrganizationManager()]

    def _render(self, organization) -> Response:
        return Response(OrganizationSummarySerializer(organization, context={"request": self.request}).data)

    @extend_schema(
        summary="This organization's settings",
        description="Its name, address (slug and URL), time zone and currency. Every member may read them.",
        responses={200: OrganizationSummarySerializer, **ERROR_RESPONSES.for_codes(401, 403)},
        examples=[OpenApiExample("Acme", value=ORGANIZATION_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        return self._render(request.tenant)

    @extend_schema(
        summary="Change this organization's settings",
        description="Owners and admins. The time zone must be a real IANA name (not `localtime` or `Factory`), "
        "the currency an ISO 4217 code; the slug never changes. Existing bookings keep their times (UTC) "
        "and prices; they are shown in the new zone.",
        request=OrganizationInputSerializer,
        responses={200: OrganizationSummarySerializer, **ERROR_RESPONSES.for_codes(400, 401, 403)},
        examples=[
            OpenApiExample("Move to Lisbon", value={"timezone": "Europe/Lisbon", "currency": "EUR"}, request_only=True),
            OpenApiExample(
                "Unknown currency",
                value={
                    "currency": [
                        "“XYZ” is not a three-letter ISO 4217 currency code; use one such as EUR, USD or GBP."
                    ],
                    "code": "invalid_currency",
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def patch(self, request):
        data = OrganizationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = services.organization_update(
            actor=request_membership(request._request), organization=request.tenant, **data.validated_data
        )
        return self._render(organization)
