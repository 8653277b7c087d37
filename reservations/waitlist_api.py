"""Waitlist API (thin: parse, call a service or selector, render): wait for a taken slot, list, leave."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.access import request_membership
from reservations import services
from reservations.api import BOOKING_400
from reservations.models import WaitlistEntry
from reservations.selectors import waitlist_entry_get, waitlist_list
from spacemanager.openapi import ERROR_RESPONSES, error_response
from spacemanager.pagination import KeysetPagination
from spaces.hours import isoformat_local
from spaces.timefields import AwareDateTimeField, OrganizationTimezoneMixin


class WaitlistInputSerializer(serializers.Serializer):
    space = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The space's id.")
    starts_at = AwareDateTimeField(help_text="ISO 8601 with offset; naive times are refused.")
    ends_at = AwareDateTimeField(help_text="ISO 8601 with offset; excluded.")
    attendees = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)


class WaitlistEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    space = inline_serializer(
        name="WaitlistSpace", fields={"id": serializers.IntegerField(), "name": serializers.CharField()}
    )
    user = serializers.IntegerField(help_text="The waiting member's id.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    attendees = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(
        choices=WaitlistEntry.Status.choices,
        help_text="`waiting`; `booked` once the slot freed and became the member's reservation; `expired` when "
        "its start passed; `withdrawn` after DELETE.",
    )
    reservation = serializers.IntegerField(allow_null=True, help_text="The reservation made from it, once booked.")
    created_at = serializers.DateTimeField()

    def to_representation(self, entry: WaitlistEntry) -> dict:
        tz = timezone.get_current_timezone()
        return {
            "id": entry.pk,
            "space": {"id": entry.space.pk, "name": entry.space.name},
            "user": entry.user_id,
            "starts_at": isoformat_local(entry.starts_at, tz),
            "ends_at": isoformat_local(entry.ends_at, tz),
            "attendees": entry.attendees,
            "title": entry.title,
            "status": entry.status,
            "reservation": entry.reservation_id,
            "created_at": isoformat_local(entry.created_at, tz),
        }


class WaitlistPagination(KeysetPagination):
    ordering = ("created_at", "id")


WAITLIST_INPUT_EXAMPLE = {
    "space": 7,
    "starts_at": "2025-03-10T10:00:00+01:00",
    "ends_at": "2025-03-10T11:00:00+01:00",
    "attendees": 3,
    "title": "Planning",
}
WAITLIST_EXAMPLE = {
    "id": 12,
    "space": {"id": 7, "name": "Blue room"},
    "user": 42,
    "starts_at": "2025-03-10T10:00:00+01:00",
    "ends_at": "2025-03-10T11:00:00+01:00",
    "attendees": 3,
    "title": "Planning",
    "status": "waiting",
    "reservation": None,
    "created_at": "2025-03-03T09:12:00+01:00",
}


@extend_schema(tags=["waitlist"])
class WaitlistListView(OrganizationTimezoneMixin, GenericAPIView):
    """Waitlist entries: yours, or everyone's for owners and admins."""

    serializer_class = WaitlistEntrySerializer
    pagination_class = WaitlistPagination
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return WaitlistEntry.objects.none()
        return waitlist_list(actor=request_membership(self.request._request))

    @extend_schema(responses={200: WaitlistEntrySerializer(many=True), **ERROR_RESPONSES.for_codes(401, 403)})
    def get(self, request):
        """List waitlist entries.

        Your entries, in the order they were made; owners and admins see everyone's. Each says whether it is
        still waiting, was booked (with the reservation's id), expired or was withdrawn.
        """
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=WaitlistInputSerializer,
        responses={
            201: WaitlistEntrySerializer,
            400: BOOKING_400,
            **ERROR_RESPONSES.for_codes(401, 403),
            409: error_response("already_waiting", "You are already waiting for this slot."),
        },
        examples=[
            OpenApiExample("Wait for a slot", value=WAITLIST_INPUT_EXAMPLE, request_only=True),
            OpenApiExample("Waiting", value=WAITLIST_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request):
        """Wait for a taken slot.

        When the slot frees (a cancellation, a no-show release, a declined or expired request), the earliest
        entry whose whole interval is free and which passes every booking rule becomes your reservation in the
        same transaction, and you are emailed. The slot must pass the booking rules (400 with their codes); a
        slot that is free now is 400 `slot_free` (book it instead); waiting twice for one slot is 409
        `already_waiting`. Entries whose start passes expire.
        """
        data = WaitlistInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        entry = services.waitlist_join(
            actor=request_membership(request._request),
            space_id=values["space"],
            starts_at=values["starts_at"],
            ends_at=values["ends_at"],
            attendees=values.get("attendees", 1),
            title=values.get("title", ""),
        )
        return Response(self.get_serializer(entry).data, status=201)


@extend_schema(tags=["waitlist"])
class WaitlistDetailView(OrganizationTimezoneMixin, GenericAPIView):
    """One waitlist entry: yours, or any for owners and admins (someone else's is 404 to a member)."""

    serializer_class = WaitlistEntrySerializer

    @extend_schema(responses={200: WaitlistEntrySerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)})
    def delete(self, request, pk: int):
        """Leave the waitlist.

        Stop waiting for the slot; the entry stays in the list as `withdrawn`. Leaving twice, or after the entry
        was booked or expired, changes nothing (the booking made from it stays: cancel that instead).
        """
        actor = request_membership(request._request)
        entry = services.waitlist_leave(actor=actor, entry=waitlist_entry_get(actor=actor, entry_id=pk))
        return Response(self.get_serializer(entry).data)
