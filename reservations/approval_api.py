"""Approvals API (thin): decline a request, name a space's approvers. Approving is POST …/confirm."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.access import request_membership
from accounts.permissions import IsOrganizationManager
from reservations import approvals, services
from reservations.api import ReservationSerializer
from reservations.selectors import reservation_get
from spacemanager.openapi import ERROR_RESPONSES, error_response
from spaces.models import Space
from spaces.timefields import OrganizationTimezoneMixin


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=services.DECLINE_REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Told to the booker in the email that says the request was declined.",
    )


@extend_schema(tags=["reservations"])
class ReservationDeclineView(OrganizationTimezoneMixin, GenericAPIView):
    """Decline a pending request (owners and admins): status `declined`, the slot is freed, and the booker is
    emailed the reason (no calendar attachment: their calendar never had the event)."""

    serializer_class = ReservationSerializer

    @extend_schema(
        request=DeclineSerializer,
        responses={
            200: ReservationSerializer,
            **ERROR_RESPONSES.for_codes(400, 401, 403, 404),
            409: error_response(
                "reservation_not_pending", "This reservation is confirmed; only pending ones can be declined."
            ),
        },
        examples=[OpenApiExample("With a reason", value={"reason": "The hall is closed for painting that week."})],
    )
    def post(self, request, pk: int):
        data = DeclineSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actor = request_membership(request._request)
        reservation = services.reservation_decline(
            actor=actor, reservation=reservation_get(actor=actor, reservation_id=pk), **data.validated_data
        )
        return Response(self.get_serializer(reservation).data)


class ApproversSerializer(serializers.Serializer):
    user_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=100,
        help_text="Owners or admins who approve this space's requests; empty: every owner and admin.",
    )


@extend_schema(tags=["spaces"])
class SpaceApproversView(GenericAPIView):
    """Who is emailed about, and asked to decide on, the space's requests (owners and admins)."""

    permission_classes = [IsOrganizationManager]
    serializer_class = ApproversSerializer
    # A queryset, so that OPTIONS (DRF's metadata looks the object up for PUT) answers instead of failing.
    queryset = Space.objects.all()

    def get_space(self, pk: int) -> Space:
        return get_object_or_404(self.get_queryset(), pk=pk)

    @extend_schema(responses={200: ApproversSerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)})
    def get(self, request, pk: int):
        """List a space's approvers

        Who is emailed about, and asked to decide on, the space's requests. None: every owner and admin.
        """
        return Response({"user_ids": approvals.space_approver_ids(space=self.get_space(pk))})

    @extend_schema(
        request=ApproversSerializer,
        responses={200: ApproversSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403, 404)},
    )
    def put(self, request, pk: int):
        """Set a space's approvers

        Replaces the list with these owners and admins (user ids); an empty list means every owner and admin.
        """
        data = ApproversSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user_ids = approvals.space_approvers_set(
            actor=request_membership(request._request), space=self.get_space(pk), **data.validated_data
        )
        return Response({"user_ids": user_ids})
