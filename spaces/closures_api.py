"""Closures API (thin: parse, call spaces.services or a selector, render). Members read; owners and admins
declare closures, see the bookings inside them and may cancel those with a notice."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from accounts.access import request_membership
from accounts.permissions import IsOrganizationManager, IsOrganizationMember
from spacemanager.openapi import ERROR_RESPONSES
from spaces import services
from spaces.hours import isoformat_local
from spaces.models import Closure
from spaces.selectors import closure_affected_reservations, closure_get, closure_list
from spaces.timefields import AwareDateTimeField, OrganizationTimezoneMixin


class ClosureSpaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AffectedReservationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    space = ClosureSpaceSerializer()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    title = serializers.CharField()
    status = serializers.CharField(help_text="`cancelled` when this request cancelled it.")
    user = serializers.EmailField(source="user.email", help_text="The booker's email.")


class ClosureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField()
    spaces = ClosureSpaceSerializer(many=True, help_text="Empty: every space of the organization is closed.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, closure: Closure) -> dict:
        tz = timezone.get_current_timezone()
        return {
            "id": closure.pk,
            "starts_at": isoformat_local(closure.starts_at, tz),
            "ends_at": isoformat_local(closure.ends_at, tz),
            "reason": closure.reason,
            "spaces": [{"id": space.pk, "name": space.name} for space in closure.spaces.all()],
            "created_at": isoformat_local(closure.created_at, tz),
            "updated_at": isoformat_local(closure.updated_at, tz),
        }


class ClosureWithAffectedSerializer(ClosureSerializer):
    affected_reservations = AffectedReservationSerializer(
        many=True, help_text="Bookings inside the closure that have not ended: still active, or cancelled now."
    )


def _affected(reservations) -> list[dict]:
    tz = timezone.get_current_timezone()
    return [
        {
            "id": reservation.pk,
            "space": {"id": reservation.space.pk, "name": reservation.space.name},
            "starts_at": isoformat_local(reservation.starts_at, tz),
            "ends_at": isoformat_local(reservation.ends_at, tz),
            "title": reservation.title,
            "status": reservation.status,
            "user": reservation.user.email,
        }
        for reservation in sorted(reservations, key=lambda r: (r.starts_at, r.pk))
    ]


def _with_affected(result: services.ClosureResult) -> dict:
    closure = closure_get(closure_id=result.closure.pk)
    return {
        **ClosureSerializer(closure).data,
        "affected_reservations": _affected([*result.affected, *result.cancelled]),
    }


class ClosureInputSerializer(serializers.Serializer):
    starts_at = AwareDateTimeField(help_text="ISO 8601 with offset.")
    ends_at = AwareDateTimeField(help_text="ISO 8601 with offset; excluded.")
    reason = serializers.CharField(max_length=200, help_text="Told to bookers, e.g. “Public holiday”.")
    spaces = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=1000,
        help_text="Space ids; empty or left out closes every space.",
    )
    cancel_affected = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Cancel the bookings inside the closure, telling each booker the reason.",
    )


CLOSURE_EXAMPLE = {
    "id": 3,
    "starts_at": "2025-12-25T00:00:00+01:00",
    "ends_at": "2025-12-26T00:00:00+01:00",
    "reason": "Christmas Day",
    "spaces": [],
    "created_at": "2025-11-20T10:00:00+01:00",
    "updated_at": "2025-11-20T10:00:00+01:00",
}
AFFECTED_EXAMPLE = {
    **CLOSURE_EXAMPLE,
    "affected_reservations": [
        {
            "id": 42,
            "space": {"id": 7, "name": "Blue room"},
            "starts_at": "2025-12-25T10:00:00+01:00",
            "ends_at": "2025-12-25T11:00:00+01:00",
            "title": "Sprint review",
            "status": "cancelled",
            "user": "sam@example.com",
        }
    ],
}
CLOSURE_INPUT_EXAMPLE = {
    "starts_at": "2025-12-25T00:00:00+01:00",
    "ends_at": "2025-12-26T00:00:00+01:00",
    "reason": "Christmas Day",
    "spaces": [],
    "cancel_affected": True,
}
CLOSURE_400 = OpenApiResponse(
    response=ERROR_RESPONSES[400].response,
    description="Invalid input; the field says what to change.",
    examples=[
        OpenApiExample("ends_before_start", value={"ends_at": ["The end must be after the start."], "code": "invalid"}),
        OpenApiExample("unknown_space", value={"spaces": ["No such space here: 99."], "code": "unknown_space"}),
    ],
)


class ClosurePermissionsMixin:
    def get_permissions(self):
        if self.request.method in SAFE_METHODS:
            return [IsOrganizationMember()]
        return [IsOrganizationManager()]


@extend_schema(tags=["closures"])
class ClosureListView(OrganizationTimezoneMixin, ClosurePermissionsMixin, GenericAPIView):
    """Closures (holidays, maintenance) of this organization's spaces. Everyone reads; owners and admins
    declare them. Bookings inside a closure are refused with 400 `closed`."""

    serializer_class = ClosureSerializer

    def get_queryset(self):
        return closure_list(filters={"ends_after": timezone.now()})

    @extend_schema(
        responses={200: ClosureSerializer(many=True), **ERROR_RESPONSES.for_codes(401, 403)},
        description="Closures not over yet, soonest first.",
        examples=[OpenApiExample("Christmas", value=[CLOSURE_EXAMPLE], response_only=True)],
    )
    def get(self, request):
        """List closures

        Every closure of this organization's spaces, soonest first. Everyone reads them; bookings inside one are
        refused with 400 `closed`.
        """
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ClosureSerializer(page, many=True).data)

    @extend_schema(
        request=ClosureInputSerializer,
        responses={201: ClosureWithAffectedSerializer, 400: CLOSURE_400, **ERROR_RESPONSES.for_codes(401, 403)},
        examples=[
            OpenApiExample("Close every space for a holiday", value=CLOSURE_INPUT_EXAMPLE, request_only=True),
            OpenApiExample("Closed, one booking cancelled", value=AFFECTED_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request):
        """Declare a closure

        Owners and admins close the chosen spaces (every space when `spaces` is empty) for a period with a
        reason. The answer lists `affected_reservations`; with `cancel_affected` they are cancelled and each
        booker is told the reason.
        """
        data = ClosureInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        result = services.closure_create(
            actor=request_membership(request._request),
            starts_at=values["starts_at"],
            ends_at=values["ends_at"],
            reason=values["reason"],
            space_ids=values.get("spaces", []),
            cancel_affected=values["cancel_affected"],
        )
        return Response(_with_affected(result), status=201)


@extend_schema(tags=["closures"])
class ClosureDetailView(OrganizationTimezoneMixin, ClosurePermissionsMixin, GenericAPIView):
    serializer_class = ClosureSerializer
    queryset = Closure.objects.none()  # for the schema: each method reads through the selectors

    @extend_schema(
        responses={200: ClosureWithAffectedSerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)},
        description="The closure; owners and admins also get the bookings still inside it "
        "(`affected_reservations`, empty for members).",
        examples=[OpenApiExample("A closure", value=AFFECTED_EXAMPLE, response_only=True)],
    )
    def get(self, request, pk: int):
        """Read a closure

        One closure with the bookings still inside it.
        """
        closure = closure_get(closure_id=pk)
        membership = request_membership(request._request)
        affected = closure_affected_reservations(closure=closure, now=timezone.now()) if membership.is_manager else []
        return Response({**ClosureSerializer(closure).data, "affected_reservations": _affected(affected)})

    @extend_schema(
        request=ClosureInputSerializer(partial=True),
        responses={200: ClosureWithAffectedSerializer, 400: CLOSURE_400, **ERROR_RESPONSES.for_codes(401, 403, 404)},
        examples=[
            OpenApiExample(
                "Extend and cancel what it now covers",
                value={"ends_at": "2025-12-27T00:00:00+01:00", "cancel_affected": True},
                request_only=True,
            ),
        ],
    )
    def patch(self, request, pk: int):
        """Change a closure

        Owners and admins change its period, reason or spaces; the answer lists the bookings now inside it, and
        `cancel_affected` cancels them with a notice.
        """
        closure = closure_get(closure_id=pk)
        data = ClosureInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        cancel_affected = values.pop("cancel_affected", False)
        if "spaces" in values:
            values["space_ids"] = values.pop("spaces")
        result = services.closure_update(
            actor=request_membership(request._request), closure=closure, data=values, cancel_affected=cancel_affected
        )
        return Response(_with_affected(result))

    @extend_schema(
        responses={204: None, **ERROR_RESPONSES.for_codes(401, 403, 404)},
        description="Reopen: the period can be booked again. Bookings cancelled for it stay cancelled.",
    )
    def delete(self, request, pk: int):
        """Reopen: delete a closure

        The period can be booked again; bookings cancelled for it stay cancelled.
        """
        services.closure_delete(actor=request_membership(request._request), closure=closure_get(closure_id=pk))
        return Response(status=204)
