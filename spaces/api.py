"""Spaces API (thin: parse, call a service or selector, render). Members read; owners and admins manage."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.compat import split_header_value
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import request_membership
from accounts.api_keys import looks_like_key
from accounts.authentication import OrganizationJWTAuthentication
from accounts.permissions import IsOrganizationManager, IsOrganizationMember
from spacemanager.errors import DomainError
from spacemanager.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictDecimalField,
    WholeItemSerializer,
    fields_bound_once,
)
from spacemanager.openapi import ERROR_RESPONSES
from spacemanager.strict import request_check
from spaces import services
from spaces.availability_cache import (
    availability_cached,
    availability_etag,
    availability_key,
    availability_space,
    availability_store,
    availability_version,
)
from spaces.filters import SpaceFilter
from spaces.hours import MIDNIGHT, WeeklyInterval, isoformat_local
from spaces.media_api import PhotoSerializer
from spaces.models import Space
from spaces.selectors import (
    Availability,
    space_availability,
    space_get,
    space_get_with_hours,
    space_list,
    spaces_availability,
)
from spaces.timefields import AwareDateTimeField, OrganizationTimezoneMixin

OPENING_HOURS_HELP = (
    "Weekly opening hours in the organization's timezone. No rows: bookable at any time. With rows, a weekday "
    "without rows is closed. `closes_at` `24:00` (or `00:00`) is midnight; touching intervals are merged."
)


@extend_schema_field({"type": "string", "example": "18:00", "pattern": r"^\d{2}:\d{2}$"})
class ClockTimeField(serializers.TimeField):
    """`HH:MM`; as a closing time `24:00` means midnight at the end of the day."""

    def __init__(self, *, closing: bool = False, **kwargs):
        self.closing = closing
        super().__init__(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"], **kwargs)

    def to_internal_value(self, value):
        if self.closing and value in ("24:00", "24:00:00"):
            return MIDNIGHT
        return super().to_internal_value(value)

    def to_representation(self, value):
        if self.closing and value == MIDNIGHT:
            return "24:00"
        return super().to_representation(value)


class OpeningHoursSerializer(WholeItemSerializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday … 6 = Sunday.")
    opens_at = ClockTimeField()
    closes_at = ClockTimeField(closing=True)


class SpaceSerializer(serializers.ModelSerializer):
    currency = serializers.SerializerMethodField()
    photos = PhotoSerializer(many=True, read_only=True, help_text="In their order; `is_cover` marks the cover.")
    location_id = serializers.IntegerField(
        source="site_id", read_only=True, allow_null=True, help_text="The Location it is in (`/locations`)."
    )
    plan_x = serializers.FloatField(read_only=True, allow_null=True, help_text="Place on the floor plan (0-1).")
    plan_y = serializers.FloatField(read_only=True, allow_null=True, help_text="Place on the floor plan (0-1).")
    opening_hours = OpeningHoursSerializer(many=True, read_only=True, help_text=OPENING_HOURS_HELP)

    class Meta:
        model = Space
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "capacity",
            "location",
            "amenities",
            "hourly_rate",
            "half_day_rate",
            "day_rate",
            "currency",
            "is_active",
            "min_duration_minutes",
            "max_duration_minutes",
            "max_days_ahead",
            "requires_approval",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "max_upcoming_per_member",
            "max_hours_per_week_per_member",
            "check_in_required",
            "check_in_grace_minutes",
            "opening_hours",
            "location_id",
            "plan_x",
            "plan_y",
            "photos",
            "created_at",
            "updated_at",
        ]

    def get_currency(self, space: Space) -> str:
        return self.context["request"].tenant.currency


class SpaceInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=120)
    description = StrictCharField(required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=Space.Kind.choices, required=False)
    capacity = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    location = StrictCharField(max_length=200, required=False, allow_blank=True)
    amenities = serializers.ListField(
        child=StrictCharField(max_length=30), max_length=30, required=False, help_text="Short lowercase tags."
    )
    hourly_rate = StrictDecimalField(max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True)
    half_day_rate = StrictDecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Price of a half day: up to 4 hours within one local day.",
    )
    day_rate = StrictDecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Price of a day: any length within one local day.",
    )
    is_active = StrictBooleanField(required=False, help_text="false archives the space (like DELETE).")
    min_duration_minutes = serializers.IntegerField(min_value=1, max_value=44640, required=False)
    max_duration_minutes = serializers.IntegerField(min_value=1, max_value=44640, required=False)
    max_days_ahead = serializers.IntegerField(min_value=0, max_value=3650, required=False)
    requires_approval = StrictBooleanField(required=False)
    buffer_before_minutes = serializers.IntegerField(
        min_value=0, max_value=1440, required=False, help_text="Setup minutes kept free before each booking."
    )
    buffer_after_minutes = serializers.IntegerField(
        min_value=0, max_value=1440, required=False, help_text="Cleanup minutes kept free after each booking."
    )
    max_upcoming_per_member = serializers.IntegerField(
        min_value=1,
        max_value=10_000,
        required=False,
        allow_null=True,
        help_text="The most bookings not ended yet one member may hold here; null: the organization's default.",
    )
    max_hours_per_week_per_member = serializers.IntegerField(
        min_value=1,
        max_value=168,
        required=False,
        allow_null=True,
        help_text="The most hours one member may book here per local week; null: the organization's default.",
    )
    check_in_required = StrictBooleanField(
        required=False,
        help_text="Bookers check in from 15 minutes before the start to the end of the grace; a confirmed booking "
        "nobody checked in is then released (status `no_show`). Default on creation: the organization's.",
    )
    check_in_grace_minutes = serializers.IntegerField(
        min_value=1,
        max_value=1440,
        required=False,
        help_text="Minutes after the start to check in. Default on creation: the organization's (15).",
    )
    opening_hours = OpeningHoursSerializer(many=True, required=False, help_text=OPENING_HOURS_HELP)
    cancel_affected = serializers.BooleanField(
        required=False,
        write_only=True,
        help_text="On a change: cancel the upcoming bookings the new capacity or hours no longer allow, telling "
        "each booker why. Otherwise they are kept (and stay editable). Either way the answer lists them in "
        "`affected_reservations`.",
    )


class AffectedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    attendees = serializers.IntegerField()
    status = serializers.CharField(help_text="`cancelled` when cancel_affected cancelled it.")


class SpaceChangedSerializer(SpaceSerializer):
    affected_reservations = AffectedSerializer(
        many=True, read_only=True, help_text="Upcoming bookings the new capacity or opening hours no longer allow."
    )

    class Meta(SpaceSerializer.Meta):
        fields = [*SpaceSerializer.Meta.fields, "affected_reservations"]


def _intervals(data: dict) -> list[WeeklyInterval] | None:
    rows = data.pop("opening_hours", None)
    if rows is None:
        return None
    return [WeeklyInterval(row["weekday"], row["opens_at"], row["closes_at"]) for row in rows]


SPACE_EXAMPLE = {
    "id": 7,
    "name": "Blue room",
    "description": "Quiet room facing the garden.",
    "kind": "meeting_room",
    "capacity": 8,
    "location": "Building A, 2nd floor",
    "amenities": ["projector", "whiteboard"],
    "hourly_rate": "25.00",
    "half_day_rate": "80.00",
    "day_rate": "140.00",
    "currency": "EUR",
    "is_active": True,
    "min_duration_minutes": 30,
    "max_duration_minutes": 480,
    "max_days_ahead": 90,
    "requires_approval": False,
    "buffer_before_minutes": 10,
    "buffer_after_minutes": 15,
    "max_upcoming_per_member": 3,
    "max_hours_per_week_per_member": None,
    "check_in_required": True,
    "check_in_grace_minutes": 15,
    "opening_hours": [
        {"weekday": 0, "opens_at": "08:00", "closes_at": "18:00"},
        {"weekday": 1, "opens_at": "08:00", "closes_at": "18:00"},
    ],
    "location_id": 2,
    "plan_x": 0.25,
    "plan_y": 0.4,
    "photos": [
        {
            "id": 3,
            "url": "/media/org_demo/photo/6f1c.jpg?t=1rX&s=Qm",
            "thumbnail_url": "/media/org_demo/thumbnail/7a2e.jpg?t=1rX&s=Zk",
            "processed": True,
            "width": 1600,
            "height": 1200,
            "size": 412034,
            "position": 0,
            "is_cover": True,
            "created_at": "2025-03-01T09:12:00+01:00",
        }
    ],
    "created_at": "2025-03-01T09:12:00+01:00",
    "updated_at": "2025-03-01T09:12:00+01:00",
}
SPACE_INPUT_EXAMPLE = {
    key: SPACE_EXAMPLE[key]
    for key in (
        "name",
        "description",
        "kind",
        "capacity",
        "location",
        "amenities",
        "hourly_rate",
        "half_day_rate",
        "day_rate",
        "min_duration_minutes",
        "max_duration_minutes",
        "max_days_ahead",
        "requires_approval",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "max_upcoming_per_member",
        "max_hours_per_week_per_member",
        "check_in_required",
        "check_in_grace_minutes",
        "opening_hours",
    )
}


PUT_DEFAULTS = {
    field: Space._meta.get_field(field).get_default()
    for field in services.SPACE_FIELDS
    if field not in {"name", "is_active"}
}


class SpacePermissionsMixin:
    def get_permissions(self):
        if self.request.method in SAFE_METHODS:
            return [IsOrganizationMember()]
        return [IsOrganizationManager()]


@extend_schema(tags=["spaces"])
class SpaceListView(OrganizationTimezoneMixin, SpacePermissionsMixin, GenericAPIView):
    """Spaces of this organization. Everyone reads; owners and admins create."""

    serializer_class = SpaceSerializer
    filterset_class = SpaceFilter
    ordering_fields = ["name", "capacity", "kind", "created_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return space_list(photos=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("amenity", OpenApiTypes.STR, many=True, explode=True, description="Repeatable."),
            OpenApiParameter(
                "available_from",
                OpenApiTypes.DATETIME,
                description="ISO 8601 with offset. With `available_to`: only spaces free and open for the whole "
                "interval (at most 31 days).",
            ),
            OpenApiParameter("available_to", OpenApiTypes.DATETIME, description="ISO 8601 with offset."),
        ],
        responses={200: SpaceSerializer(many=True), **ERROR_RESPONSES.for_codes(400, 401, 403)},
    )
    def get(self, request):
        """List spaces.

        The organization's spaces, filtered and sorted; with `available_from` and `available_to`, only those
        free and open for the whole interval. Archived spaces only with `is_active=false`.
        """
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=SpaceInputSerializer,
        responses={201: SpaceSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403)},
        examples=[
            OpenApiExample("Create a meeting room", value=SPACE_INPUT_EXAMPLE, request_only=True),
            OpenApiExample("Created", value=SPACE_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request):
        """Create a space.

        Owners and admins. Opening hours are in the organization's time zone; without any, the space is
        bookable at any time.
        """
        data = SpaceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.pop("cancel_affected", None)  # nothing to affect yet
        opening_hours = _intervals(values)
        space = services.space_create(actor=request_membership(request._request), opening_hours=opening_hours, **values)
        return Response(self.get_serializer(space_get(space_id=space.pk, photos=True)).data, status=201)


@extend_schema(tags=["spaces"])
class SpaceDetailView(OrganizationTimezoneMixin, SpacePermissionsMixin, GenericAPIView):
    serializer_class = SpaceSerializer

    def get_object(self) -> Space:
        return space_get(space_id=self.kwargs["pk"], photos=True)

    @extend_schema(
        responses={200: SpaceSerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)},
        examples=[OpenApiExample("A space", value=SPACE_EXAMPLE, response_only=True)],
    )
    def get(self, request, pk: int):
        """Get a space.

        One space with its opening hours and booking rules.
        """
        return Response(self.get_serializer(self.get_object()).data)

    def _update(self, request, *, partial: bool) -> Response:
        space = self.get_object()
        data = SpaceInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if not partial:
            # PUT replaces: what is left out goes back to its default (archiving stays explicit).
            values = {**PUT_DEFAULTS, **values}
        opening_hours = _intervals(values)
        cancel_affected = values.pop("cancel_affected", False)
        actor = request_membership(request._request)
        affected = services.space_update_affected(actor=actor, space=space, data=values, opening_hours=opening_hours)
        services.space_update(
            actor=actor, space=space, data=values, opening_hours=opening_hours, cancel_affected=cancel_affected
        )
        tz = ZoneInfo(request.tenant.timezone)
        return Response(
            {
                **self.get_serializer(space_get(space_id=space.pk, photos=True)).data,
                "affected_reservations": [
                    {
                        "id": reservation.pk,
                        "starts_at": isoformat_local(reservation.starts_at, tz),
                        "ends_at": isoformat_local(reservation.ends_at, tz),
                        "attendees": reservation.attendees,
                        "status": "cancelled" if cancel_affected else reservation.status,
                    }
                    for reservation in affected
                ],
            }
        )

    @extend_schema(
        request=SpaceInputSerializer,
        responses={200: SpaceChangedSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403, 404)},
        examples=[OpenApiExample("Replace a space", value=SPACE_INPUT_EXAMPLE, request_only=True)],
        description="Replace the space's settings. Fields left out take their defaults; opening hours left out "
        "stay as they are.",
    )
    def put(self, request, pk: int):
        """Replace a space."""
        return self._update(request, partial=False)

    @extend_schema(
        request=SpaceInputSerializer,
        responses={200: SpaceChangedSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403, 404)},
        examples=[
            OpenApiExample(
                "Change capacity and hours",
                value={"capacity": 10, "opening_hours": [{"weekday": 4, "opens_at": "09:00", "closes_at": "24:00"}]},
                request_only=True,
            )
        ],
    )
    def patch(self, request, pk: int):
        """Update a space.

        Change some settings (owners and admins); what is left out stays as it is.
        """
        return self._update(request, partial=True)

    @extend_schema(
        responses={200: SpaceSerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)},
        description="Archive the space: it can no longer be booked and disappears from the default list; its "
        "history stays. Its pending and confirmed reservations that have not started yet are cancelled; "
        "reservations already under way are kept. Archiving twice is harmless.",
    )
    def delete(self, request, pk: int):
        """Archive a space."""
        result = services.space_archive(actor=request_membership(request._request), space=self.get_object())
        return Response(self.get_serializer(space_get(space_id=result.space.pk, photos=True)).data)


class AvailabilityQuerySerializer(serializers.Serializer):
    start = AwareDateTimeField(help_text="ISO 8601 with offset.")
    end = AwareDateTimeField(help_text="ISO 8601 with offset; at most 31 days after start.")


def availability_window(query_params) -> tuple[datetime, datetime]:
    """(start, end) as AvailabilityQuerySerializer validates them. The usual query, each given once and
    valid, is parsed by the serializer's own fields; anything else goes through the serializer, which answers
    it exactly as before (the same 400 and messages). The fields are bound once: the copy of them a
    serializer makes for every request cost four times their parsing (49 against 10 µs, measured)."""
    fields = fields_bound_once(AvailabilityQuerySerializer)
    if len(query_params) == len(fields) and all(len(query_params.getlist(name)) == 1 for name in fields):
        try:
            return fields["start"].run_validation(query_params["start"]), fields["end"].run_validation(
                query_params["end"]
            )
        except serializers.ValidationError:
            pass
    query = AvailabilityQuerySerializer(data=query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data["start"], query.validated_data["end"]


class BusyUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    email = serializers.EmailField()


class BusySerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    status = serializers.CharField()
    mine = serializers.BooleanField(help_text="Your own reservation.")
    reservation_id = serializers.IntegerField(allow_null=True, help_text="Yours, or any for owners and admins.")
    title = serializers.CharField(allow_null=True, help_text="Yours, or any for owners and admins.")
    user = BusyUserSerializer(allow_null=True, help_text="Only for owners and admins.")


class FreeSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class ClosedSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField()


class AvailabilitySerializer(serializers.Serializer):
    space = serializers.IntegerField(source="space.pk")
    start = serializers.DateTimeField(source="starts_at")
    end = serializers.DateTimeField(source="ends_at")
    timezone = serializers.CharField()
    busy = BusySerializer(many=True)
    free = serializers.SerializerMethodField()
    closures = ClosedSerializer(many=True, help_text="Closures (holidays, maintenance) meeting the window.")

    @extend_schema_field(FreeSerializer(many=True))
    def get_free(self, availability) -> list[dict]:
        return FreeSerializer([{"starts_at": s, "ends_at": e} for s, e in availability.free], many=True).data

    def to_representation(self, availability: Availability) -> dict:
        """The fields above, written out by hand: DRF's field-by-field rendering took about a fifth of the
        request. spaces/tests/test_api.py checks that both renderings agree."""
        tz = ZoneInfo(availability.timezone)
        return {
            "space": availability.space.pk,
            "start": isoformat_local(availability.starts_at, tz),
            "end": isoformat_local(availability.ends_at, tz),
            "timezone": availability.timezone,
            "busy": [
                {
                    "starts_at": isoformat_local(busy.starts_at, tz),
                    "ends_at": isoformat_local(busy.ends_at, tz),
                    "status": busy.status,
                    "mine": busy.mine,
                    "reservation_id": busy.reservation_id,
                    "title": busy.title,
                    "user": None
                    if busy.user is None
                    else {"id": busy.user.pk, "full_name": busy.user.full_name, "email": busy.user.email},
                }
                for busy in availability.busy
            ],
            "free": [
                {"starts_at": isoformat_local(start, tz), "ends_at": isoformat_local(end, tz)}
                for start, end in availability.free
            ],
            "closures": [
                {
                    "starts_at": isoformat_local(closure.starts_at, tz),
                    "ends_at": isoformat_local(closure.ends_at, tz),
                    "reason": closure.reason,
                }
                for closure in availability.closures
            ],
        }


# Accept headers for which DRF's negotiation picks JSONRenderer with no media-type parameters (no indent).
_PLAIN_JSON_ACCEPTS = frozenset({"*/*", "application/json"})


@extend_schema(tags=["spaces"])
class SpaceAvailabilityView(OrganizationTimezoneMixin, GenericAPIView):
    """When the space is busy, and when it is open and free, in the organization's timezone."""

    serializer_class = AvailabilitySerializer

    @extend_schema(
        parameters=[AvailabilityQuerySerializer],
        responses={
            200: AvailabilitySerializer,
            304: OpenApiResponse(description="Not modified: the answer named by If-None-Match (its ETag) is current."),
            **ERROR_RESPONSES.for_codes(400, 401, 403, 404),
        },
        examples=[
            OpenApiExample(
                "A Monday, as a member sees it",
                value={
                    "space": 7,
                    "start": "2025-03-03T00:00:00+01:00",
                    "end": "2025-03-04T00:00:00+01:00",
                    "timezone": "Europe/Paris",
                    "busy": [
                        {
                            "starts_at": "2025-03-03T10:00:00+01:00",
                            "ends_at": "2025-03-03T11:00:00+01:00",
                            "status": "confirmed",
                            "mine": False,
                            "reservation_id": None,
                            "title": None,
                            "user": None,
                        }
                    ],
                    "free": [
                        {"starts_at": "2025-03-03T08:00:00+01:00", "ends_at": "2025-03-03T10:00:00+01:00"},
                        {"starts_at": "2025-03-03T11:00:00+01:00", "ends_at": "2025-03-03T16:00:00+01:00"},
                    ],
                    "closures": [
                        {
                            "starts_at": "2025-03-03T16:00:00+01:00",
                            "ends_at": "2025-03-03T18:00:00+01:00",
                            "reason": "Fire drill",
                        }
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, pk: int):
        """A space's availability.

        For an interval of at most 31 days: when the space is busy, and when it is open and free, in the
        organization's time zone. Members see other people's bookings as busy times only; owners and admins
        see who booked.
        """
        body, etag = self._answer(request, pk)
        if body is None:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        # Parsed back for DRF's negotiation (API keys, sessions, the browsable API); a plain token request is
        # answered with the stored bytes themselves (_answer_token_request).
        return Response(json.loads(body), headers={"ETag": etag})

    def _answer(self, request, pk: int) -> tuple[bytes | None, str]:
        """The answer rendered as JSON (None: the client's copy, named by If-None-Match, is current) and its
        ETag."""
        starts_at, ends_at = availability_window(request.query_params)
        viewer = request_membership(request._request)
        # The version first, then the data (spaces.availability_cache): never a stale answer after a commit.
        version = availability_version(space_id=pk)
        key = availability_key(
            space_id=pk, starts_at=starts_at, ends_at=ends_at, user_id=viewer.user_id, role=viewer.role, version=version
        )
        etag = availability_etag(key)
        if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
            return None, etag
        body = availability_cached(key)
        if body is None:
            availability = space_availability(
                space=availability_space(space_id=pk, version=version, load=lambda: space_get_with_hours(space_id=pk)),
                starts_at=starts_at,
                ends_at=ends_at,
                tz=ZoneInfo(request.tenant.timezone),
                viewer=viewer,
            )
            body = JSONRenderer().render(AvailabilitySerializer(availability).data)
            availability_store(key, body)
        return body, etag

    def dispatch(self, request, *args, **kwargs):
        return self._answer_token_request(request, kwargs["pk"]) or super().dispatch(request, *args, **kwargs)

    def _answer_token_request(self, request, pk: int) -> HttpResponse | None:
        """The common request (GET for JSON with an access token) answered without DRF's generic dispatch,
        whose negotiation, parsers, Response and rendering machinery cost more CPU than a cached answer itself.

        The same steps in the same order: the JWT class authenticates (the API key class would pass on a
        JWT; session authentication never runs once a token authenticates), the view's permissions and
        throttles, the strict query check, the organization's time zone, then `_answer`, rendered by DRF's
        JSONRenderer with DRF's headers. Anything else, and every failure, is left to `dispatch` (None), which
        answers it exactly as before: the steps above only read, so running them twice changes nothing.
        """
        if request.method != "GET" or request.META.get("HTTP_ACCEPT", "*/*") not in _PLAIN_JSON_ACCEPTS:
            return None
        tenant = getattr(request, "tenant", None)
        authenticator = OrganizationJWTAuthentication()
        parts = (authenticator.get_header(request) or b"").split()
        if tenant is None or tenant.is_public or len(parts) != 2 or parts[0] != b"Bearer":
            return None
        try:
            if looks_like_key(parts[1].decode()):
                return None
        except UnicodeDecodeError:
            return None
        drf_request = Request(request, authenticators=[authenticator])
        self.request, self.headers = drf_request, self.default_response_headers
        try:
            with timezone.override(tenant.timezone):
                drf_request.user  # noqa: B018 - authenticates, as DRF's perform_authentication does
                self.check_permissions(drf_request)
                self.check_throttles(drf_request)
                request_check(self, drf_request)
                body, etag = self._answer(drf_request, pk)
        except (APIException, DomainError, Http404):
            return None
        if body is None:
            response = HttpResponse(status=status.HTTP_304_NOT_MODIFIED)
            del response["Content-Type"]  # as DRF's Response does for an empty body
        else:
            response = HttpResponse(body, content_type="application/json")
        response["ETag"] = etag
        headers = dict(self.headers)
        if (vary := headers.pop("Vary", None)) is not None:
            patch_vary_headers(response, list(split_header_value(vary)))
        for name, value in headers.items():
            response[name] = value
        return response


@extend_schema(tags=["spaces"])
class AvailabilityListView(OrganizationTimezoneMixin, GenericAPIView):
    """Availability of several spaces at once, for one window: the spaces filtered as `GET spaces` filters them."""

    serializer_class = AvailabilitySerializer
    filterset_class = SpaceFilter
    ordering_fields = SpaceListView.ordering_fields
    ordering = SpaceListView.ordering

    def get_queryset(self):
        return space_list()

    @extend_schema(
        summary="Availability of several spaces",
        description="For each space on the page (filters and ordering as in `GET spaces`), when it is busy and "
        "when it is open and free between `start` and `end` (at most 31 days), in the organization's time "
        "zone. Members see when others are busy, never who or why. Paginated like every list.",
        parameters=[
            AvailabilityQuerySerializer,
            OpenApiParameter("amenity", OpenApiTypes.STR, many=True, explode=True, description="Repeatable."),
        ],
        responses={200: AvailabilitySerializer(many=True), **ERROR_RESPONSES.for_codes(400, 401, 403)},
        examples=[
            OpenApiExample(
                "Two rooms on a Monday morning",
                value=[
                    {
                        "space": 7,
                        "start": "2025-03-03T08:00:00+01:00",
                        "end": "2025-03-03T12:00:00+01:00",
                        "timezone": "Europe/Paris",
                        "busy": [],
                        "free": [{"starts_at": "2025-03-03T08:00:00+01:00", "ends_at": "2025-03-03T12:00:00+01:00"}],
                    },
                    {
                        "space": 9,
                        "start": "2025-03-03T08:00:00+01:00",
                        "end": "2025-03-03T12:00:00+01:00",
                        "timezone": "Europe/Paris",
                        "busy": [
                            {
                                "starts_at": "2025-03-03T10:00:00+01:00",
                                "ends_at": "2025-03-03T11:00:00+01:00",
                                "status": "confirmed",
                                "mine": False,
                                "reservation_id": None,
                                "title": None,
                                "user": None,
                            }
                        ],
                        "free": [
                            {"starts_at": "2025-03-03T08:00:00+01:00", "ends_at": "2025-03-03T10:00:00+01:00"},
                            {"starts_at": "2025-03-03T11:00:00+01:00", "ends_at": "2025-03-03T12:00:00+01:00"},
                        ],
                    },
                ],
                response_only=True,
            )
        ],
    )
    def get(self, request):
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tz = ZoneInfo(request.tenant.timezone)
        viewer = request_membership(request._request)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        # A fixed number of queries for the whole page (spaces_availability), however many spaces it holds.
        availability = spaces_availability(
            spaces=page,
            starts_at=query.validated_data["start"],
            ends_at=query.validated_data["end"],
            tz=tz,
            viewer=viewer,
        )
        return self.get_paginated_response(AvailabilitySerializer(availability, many=True).data)
