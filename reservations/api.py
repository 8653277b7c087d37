"""Reservations API (thin: parse, call a service or selector, render). The rules live in reservations.services."""

from decimal import Decimal

import django_filters
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.access import request_membership
from equipment.api import (
    EQUIPMENT_UNAVAILABLE,
    allocations_representation,
    equipment_field,
    equipment_requests,
    with_equipment,
)
from reservations import services
from reservations.models import Reservation
from reservations.selectors import reservation_get, reservation_list, running_at_or_after
from spacemanager.errors import PermissionDenied, ValidationFailed
from spacemanager.fields import FieldsBoundOnce, StrictBooleanField, StrictCharField
from spacemanager.filtering import IntegerFilter
from spacemanager.openapi import ERROR_RESPONSES, error_response
from spacemanager.pagination import KeysetPagination
from spaces.hours import isoformat_local
from spaces.timefields import AwareDateTimeField, AwareDateTimeFilter, OrganizationTimezoneMixin

CENTS = Decimal("0.01")


class ReservationSpaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ReservationUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()


class ReservationSerializer(serializers.ModelSerializer):
    space = ReservationSpaceSerializer()
    user = ReservationUserSerializer()
    created_by = serializers.IntegerField(
        source="created_by_id",
        allow_null=True,
        help_text="The user_id of the owner or admin who booked on the booker's behalf; null when they booked.",
    )
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    currency = serializers.SerializerMethodField()
    series = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The recurring series it belongs to, or null."
    )
    equipment = serializers.SerializerMethodField(help_text="The items it holds, with their frozen amounts.")

    class Meta:
        model = Reservation
        fields = [
            "id",
            "space",
            "user",
            "created_by",
            "title",
            "notes",
            "attendees",
            "starts_at",
            "ends_at",
            "status",
            "price",
            "currency",
            "created_at",
            "updated_at",
            "cancelled_at",
            "decline_reason",
            "series",
            "checked_in_at",
            "equipment",
        ]

    def get_currency(self, reservation: Reservation) -> str:
        return self.context["request"].tenant.currency

    @extend_schema_field(
        inline_serializer(
            name="ReservationEquipment",
            fields={
                "item": serializers.IntegerField(),
                "name": serializers.CharField(),
                "quantity": serializers.IntegerField(),
                "amount": serializers.DecimalField(max_digits=14, decimal_places=2),
            },
            many=True,
        )
    )
    def get_equipment(self, reservation: Reservation) -> list[dict]:
        return allocations_representation(reservation)

    def to_representation(self, reservation: Reservation) -> dict:
        """The fields above, written out by hand: a ModelSerializer builds its fields for every instance and
        renders them one by one, a tenth of a booking request. reservations/tests/test_api.py checks that both
        renderings agree."""
        tz = timezone.get_current_timezone()
        return {
            "id": reservation.pk,
            "space": {"id": reservation.space.pk, "name": reservation.space.name},
            "user": {
                "id": reservation.user.pk,
                "email": reservation.user.email,
                "full_name": reservation.user.full_name,
            },
            "created_by": reservation.created_by_id,
            "title": reservation.title,
            "notes": reservation.notes,
            "attendees": reservation.attendees,
            "starts_at": isoformat_local(reservation.starts_at, tz),
            "ends_at": isoformat_local(reservation.ends_at, tz),
            "status": reservation.status,
            "price": None if reservation.price is None else str(reservation.price.quantize(CENTS)),
            "currency": self.get_currency(reservation),
            "created_at": isoformat_local(reservation.created_at, tz),
            "updated_at": isoformat_local(reservation.updated_at, tz),
            "cancelled_at": None if reservation.cancelled_at is None else isoformat_local(reservation.cancelled_at, tz),
            "decline_reason": reservation.decline_reason,
            "series": reservation.series_id,
            "checked_in_at": None
            if reservation.checked_in_at is None
            else isoformat_local(reservation.checked_in_at, tz),
            "equipment": self.get_equipment(reservation),
        }


class ReservationInputSerializer(serializers.Serializer):
    space = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The space's id.")
    starts_at = AwareDateTimeField(help_text="ISO 8601 with offset; naive times are refused.")
    ends_at = AwareDateTimeField(help_text="ISO 8601 with offset; excluded (10:00-11:00 and 11:00-12:00 fit).")
    title = StrictCharField(max_length=200, required=False, allow_blank=True)
    notes = StrictCharField(max_length=5000, required=False, allow_blank=True)
    attendees = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    equipment = equipment_field()


class ReservationCreateInputSerializer(FieldsBoundOnce, ReservationInputSerializer):
    starts_at = AwareDateTimeField(required=False, help_text="ISO 8601 with offset; not with `all_day`.")
    ends_at = AwareDateTimeField(required=False, help_text="ISO 8601 with offset; excluded; not with `all_day`.")
    all_day = StrictBooleanField(
        required=False,
        help_text="true: book the opening hours of `date` (up to the closing of `end_date`) in the organization's "
        "time zone, instead of `starts_at`/`ends_at`.",
    )
    date = serializers.DateField(required=False, help_text="With `all_day`: the local day (YYYY-MM-DD).")
    end_date = serializers.DateField(
        required=False,
        help_text="With `all_day`: the last day of a multi-day booking (spaces whose longest booking is over a day).",
    )
    user = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        help_text="Owners and admins: book for this member (their `user_id` in `GET /api/v1/members`). "
        "Anyone else may only name themselves (403 otherwise).",
    )

    def validate(self, attrs: dict) -> dict:
        """Either `starts_at` and `ends_at`, or `all_day: true` with `date`: never both forms, never half of one."""
        timed = [name for name in ("starts_at", "ends_at") if name in attrs]
        if attrs.get("all_day"):
            if timed:
                raise serializers.ValidationError(
                    dict.fromkeys(timed, "Not with all_day: give date (and end_date) instead.")
                )
            if "date" not in attrs:
                raise serializers.ValidationError({"date": "all_day needs the day (YYYY-MM-DD)."})
            return attrs
        stray = [name for name in ("date", "end_date") if name in attrs]
        if stray:
            raise serializers.ValidationError(dict.fromkeys(stray, "Only with all_day: true."))
        missing = [name for name in ("starts_at", "ends_at") if name not in attrs]
        if missing:
            raise serializers.ValidationError(
                dict.fromkeys(missing, "This field is required (or book a whole day with all_day and date).")
            )
        return attrs


def _service_arguments(validated: dict) -> dict:
    values = dict(validated)
    if "space" in values:
        values["space_id"] = values.pop("space")
    if "user" in values:
        values["user_id"] = values.pop("user")
    if "equipment" in values:
        values["equipment"] = equipment_requests(values["equipment"])
    if values.pop("all_day", False):
        values["all_day"] = values.pop("date")
        values["all_day_until"] = values.pop("end_date", None)
    return values


class ReservationFilter(django_filters.FilterSet):
    space = IntegerFilter(field_name="space_id", help_text="Only this space's reservations (its id).")
    series = IntegerFilter(field_name="series_id", help_text="Only the occurrences of this series.")
    status = django_filters.MultipleChoiceFilter(choices=Reservation.Status.choices, help_text="Repeatable.")
    # `from`/`to` are Python keywords: declared through the dict below.

    class Meta:
        model = Reservation
        fields = ["space", "status", "series"]

    def filter_running_from(self, queryset, name, value):
        return queryset.filter(running_at_or_after(value))


ReservationFilter.base_filters["from"] = AwareDateTimeFilter(
    method="filter_running_from", help_text="Reservations still running at or after this time."
)
ReservationFilter.base_filters["to"] = AwareDateTimeFilter(
    field_name="starts_at", lookup_expr="lt", help_text="Reservations starting before this time."
)
ReservationFilter.base_filters["updated_since"] = AwareDateTimeFilter(
    field_name="updated_at",
    lookup_expr="gte",
    help_text="Sync: every reservation changed at or after this time, cancelled ones included, in (updated_at, "
    "id) order unless `ordering` says otherwise. Pass the largest `updated_at` you have seen.",
)

RESERVATION_EXAMPLE = {
    "id": 42,
    "space": {"id": 7, "name": "Blue room"},
    "user": {"id": 3, "email": "sam@example.com", "full_name": "Sam Lee"},
    "created_by": None,
    "title": "Sprint review",
    "notes": "",
    "attendees": 6,
    "starts_at": "2025-03-03T10:00:00+01:00",
    "ends_at": "2025-03-03T11:00:00+01:00",
    "status": "confirmed",
    "price": "25.00",
    "currency": "EUR",
    "created_at": "2025-03-01T09:12:00+01:00",
    "updated_at": "2025-03-01T09:12:00+01:00",
    "cancelled_at": None,
    "decline_reason": "",
    "series": None,
}
RESERVATION_INPUT_EXAMPLE = {
    "space": 7,
    "starts_at": "2025-03-03T10:00:00+01:00",
    "ends_at": "2025-03-03T11:00:00+01:00",
    "title": "Sprint review",
    "attendees": 6,
}
CONFLICT_RESPONSE = OpenApiResponse(
    response=inline_serializer(
        name="ReservationConflict",
        fields={
            "detail": serializers.CharField(),
            "code": serializers.CharField(help_text="`reservation_conflict`"),
            "conflicts": inline_serializer(
                name="ConflictingInterval",
                fields={"starts_at": serializers.DateTimeField(), "ends_at": serializers.DateTimeField()},
                many=True,
            ),
        },
    ),
    description="The slot overlaps an active (pending or confirmed) reservation of the space.",
    examples=[
        OpenApiExample(
            "reservation_conflict",
            value={
                "detail": "This space is already booked at that time: "
                "2025-03-03T10:30:00+01:00 to 2025-03-03T11:30:00+01:00.",
                "code": "reservation_conflict",
                "conflicts": [{"starts_at": "2025-03-03T10:30:00+01:00", "ends_at": "2025-03-03T11:30:00+01:00"}],
            },
        )
    ],
)
BOOKING_400 = OpenApiResponse(
    response=ERROR_RESPONSES[400].response,
    description="A booking rule is broken; the field says what to change.",
    examples=[
        OpenApiExample("ends_before_start", value={"ends_at": ["The end must be after the start."], "code": "invalid"}),
        OpenApiExample(
            "naive time",
            value={
                "starts_at": ["Give the time with its UTC offset, e.g. 2025-03-01T09:00:00+01:00."],
                "code": "invalid",
            },
        ),
        OpenApiExample(
            "closed",
            value={
                "starts_at": ["Outside the opening hours of Blue room (Sunday closed, Europe/Paris time)."],
                "code": "closed",
            },
        ),
        OpenApiExample(
            "over_capacity", value={"attendees": ["Blue room holds at most 8 people."], "code": "over_capacity"}
        ),
        OpenApiExample(
            "closed (a closure)",
            value={
                "starts_at": [
                    "Blue room is closed from 2025-12-25T00:00:00+01:00 to 2025-12-26T00:00:00+01:00: Christmas Day."
                ],
                "code": "closed",
                "closure": {"id": 3, "reason": "Christmas Day"},
            },
        ),
        OpenApiExample(
            "quota_exceeded",
            value={
                "detail": "You already hold 3 upcoming bookings of Blue room, the most one member may hold. "
                "Cancel one or wait until one has ended.",
                "code": "quota_exceeded",
                "limit": "max_upcoming_per_member",
                "allowed": 3,
                "used": 3,
            },
        ),
    ],
)
CHANGE_CONFLICT_RESPONSE = OpenApiResponse(
    response=CONFLICT_RESPONSE.response,
    description="`reservation_conflict`: the new slot overlaps another active reservation (listed in "
    "`conflicts`); or `reservation_not_active`: this reservation is cancelled, completed or expired "
    "(`conflicts` is then empty).",
    examples=[
        *CONFLICT_RESPONSE.examples,
        OpenApiExample(
            "reservation_not_active",
            value={
                "detail": "This reservation is cancelled; only pending or confirmed ones can be changed.",
                "code": "reservation_not_active",
                "conflicts": [],
            },
        ),
    ],
)
NOT_ACTIVE = error_response(
    "reservation_not_active", "This reservation is cancelled; only pending or confirmed ones can be changed."
)


@extend_schema(tags=["reservations"])
class ReservationListView(OrganizationTimezoneMixin, GenericAPIView):
    """Your reservations; owners and admins see everyone's with `?scope=all`."""

    serializer_class = ReservationSerializer
    pagination_class = KeysetPagination
    filterset_class = ReservationFilter
    ordering_fields = ["starts_at", "ends_at", "created_at", "status"]
    ordering = ["starts_at", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Reservation.objects.none()
        scope = self.request.query_params.get("scope", "mine")
        if scope not in ("mine", "all"):
            raise ValidationFailed("Give mine or all.", field="scope")
        actor = request_membership(self.request._request)
        if scope == "all" and not actor.is_manager:
            raise PermissionDenied("Only owners and admins can see everyone's reservations.")
        return with_equipment(reservation_list(actor=actor, everyone=scope == "all"))

    @extend_schema(
        parameters=[
            OpenApiParameter("scope", str, enum=["mine", "all"], description="`all`: owners and admins only."),
        ],
        responses={200: ReservationSerializer(many=True), **ERROR_RESPONSES.for_codes(400, 401, 403)},
    )
    def get(self, request):
        """List reservations.

        Your reservations; owners and admins see everyone's with `scope=all`. Filter by space, status and time
        (`from`, `to`), sort with `ordering`.
        """
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=ReservationCreateInputSerializer,
        responses={
            201: ReservationSerializer,
            400: BOOKING_400,
            **ERROR_RESPONSES.for_codes(401, 403),
            409: OpenApiResponse(
                response=PolymorphicProxySerializer(
                    component_name="BookingConflict",
                    serializers=[CONFLICT_RESPONSE.response, EQUIPMENT_UNAVAILABLE.response],
                    resource_type_field_name=None,
                ),
                description="`reservation_conflict`: the slot is taken; `equipment_unavailable`: too few of an "
                "item are free.",
                examples=[*CONFLICT_RESPONSE.examples, *EQUIPMENT_UNAVAILABLE.examples],
            ),
        },
        examples=[
            OpenApiExample("Book a room", value=RESERVATION_INPUT_EXAMPLE, request_only=True),
            OpenApiExample("Booked", value=RESERVATION_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
        description="Book for yourself, or (owners and admins) for a member with `user`. Confirmed at once, or "
        "`pending` when the space requires approval.",
    )
    def post(self, request):
        """Book a space."""
        data = ReservationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reservation = services.reservation_create(
            actor=request_membership(request._request), **_service_arguments(data.validated_data)
        )
        return Response(self.get_serializer(reservation).data, status=201)


@extend_schema(tags=["reservations"])
class ReservationDetailView(OrganizationTimezoneMixin, GenericAPIView):
    """One reservation: yours, or any for owners and admins (someone else's is 404 to a member)."""

    serializer_class = ReservationSerializer

    def get_object(self) -> Reservation:
        return reservation_get(actor=request_membership(self.request._request), reservation_id=self.kwargs["pk"])

    @extend_schema(
        responses={200: ReservationSerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)},
        examples=[OpenApiExample("A reservation", value=RESERVATION_EXAMPLE, response_only=True)],
    )
    def get(self, request, pk: int):
        """Get a reservation.

        Yours, or any for owners and admins; someone else's answers 404 to a member.
        """
        return Response(self.get_serializer(self.get_object()).data)

    def _update(self, request, *, partial: bool) -> Response:
        reservation = self.get_object()
        data = ReservationInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        services.reservation_update(
            actor=request_membership(request._request),
            reservation=reservation,
            **_service_arguments(data.validated_data),
        )
        return Response(
            self.get_serializer(
                reservation_get(actor=request_membership(request._request), reservation_id=reservation.pk)
            ).data
        )

    @extend_schema(
        request=ReservationInputSerializer,
        responses={
            200: ReservationSerializer,
            400: BOOKING_400,
            **ERROR_RESPONSES.for_codes(401, 403, 404),
            409: CHANGE_CONFLICT_RESPONSE,
        },
        examples=[OpenApiExample("Move and rename", value=RESERVATION_INPUT_EXAMPLE, request_only=True)],
        description="Replace the reservation; validated like a new booking (its own slot does not count).",
    )
    def put(self, request, pk: int):
        """Replace a reservation."""
        return self._update(request, partial=False)

    @extend_schema(
        request=ReservationInputSerializer,
        responses={
            200: ReservationSerializer,
            400: BOOKING_400,
            **ERROR_RESPONSES.for_codes(401, 403, 404),
            409: CHANGE_CONFLICT_RESPONSE,
        },
        examples=[
            OpenApiExample("Extend by half an hour", value={"ends_at": "2025-03-03T11:30:00+01:00"}, request_only=True)
        ],
        description="Change some fields; the result is validated like a new booking.",
    )
    def patch(self, request, pk: int):
        """Change a reservation."""
        return self._update(request, partial=True)

    @extend_schema(
        responses={200: ReservationSerializer, **ERROR_RESPONSES.for_codes(401, 403, 404), 409: NOT_ACTIVE},
        description="Cancel: the slot is freed and the reservation stays with status `cancelled`. Cancelling "
        "twice is harmless; completed or expired reservations cannot be cancelled (409).",
    )
    def delete(self, request, pk: int):
        """Cancel a reservation."""
        reservation = services.reservation_cancel(
            actor=request_membership(request._request), reservation=self.get_object()
        )
        return Response(self.get_serializer(reservation).data)


@extend_schema(tags=["reservations"])
class ReservationCheckInView(OrganizationTimezoneMixin, GenericAPIView):
    """Check in to a booking of a space that requires check-in."""

    serializer_class = ReservationSerializer

    @extend_schema(
        request=None,
        responses={
            200: ReservationSerializer,
            400: error_response(
                "check_in_closed",
                "Check-in for this booking is open from 2025-03-03T09:45:00+01:00 to 2025-03-03T10:15:00+01:00.",
                description="`check_in_closed` outside the check-in window; `check_in_not_required` for a space "
                "without check-in.",
            ),
            **ERROR_RESPONSES.for_codes(401, 403, 404),
            409: error_response(
                "reservation_not_active", "This reservation is pending; only confirmed ones can be checked in to."
            ),
        },
    )
    def post(self, request, pk: int):
        """Check in to a reservation.

        The booker (or an owner or admin) checks in from 15 minutes before the start until the space's grace
        (`check_in_grace_minutes`) after the start has passed, or the booking ends; the answer carries `checked_in_at`.
        Outside that window: 400 `check_in_closed`; a space without check-in: 400 `check_in_not_required`.
        Checking in twice is harmless. A confirmed booking nobody checks in is released at the window's end
        (status `no_show`, webhook `reservation.no_show`), and its booker is told by email.
        """
        actor = request_membership(request._request)
        reservation = services.reservation_check_in(
            actor=actor, reservation=reservation_get(actor=actor, reservation_id=pk)
        )
        return Response(self.get_serializer(reservation).data)


class ReservationConfirmView(OrganizationTimezoneMixin, GenericAPIView):
    """Approve a pending reservation (owners and admins)."""

    serializer_class = ReservationSerializer

    @extend_schema(
        request=None,
        responses={
            200: ReservationSerializer,
            **ERROR_RESPONSES.for_codes(401, 403, 404),
            409: error_response(
                "reservation_not_pending", "This reservation is cancelled; only pending ones can be confirmed."
            ),
        },
    )
    def post(self, request, pk: int):
        """Confirm a pending reservation.

        Owners and admins approve a request for a space that requires approval; the booker is told by email.
        Only pending reservations can be confirmed (409 `reservation_not_pending`).
        """
        actor = request_membership(request._request)
        reservation = services.reservation_confirm(
            actor=actor, reservation=reservation_get(actor=actor, reservation_id=pk)
        )
        return Response(self.get_serializer(reservation).data)


class QuoteLineSerializer(serializers.Serializer):
    description = serializers.CharField()
    kind = serializers.ChoiceField(choices=["space", "equipment"])
    item = serializers.IntegerField(allow_null=True, help_text="The equipment item's id, or null for the space.")
    quantity = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Days, half days, hours or items.")
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class QuoteSerializer(serializers.Serializer):
    price = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, help_text="The total; null when nothing is priced (free)."
    )
    currency = serializers.CharField(help_text="ISO 4217, the organization's.")
    lines = QuoteLineSerializer(many=True)


def quote_representation(price, currency: str) -> dict:
    """A price as the quotes endpoint (and the booking form's preview) show it."""
    return {
        "price": None if price.total is None else str(price.total),
        "currency": currency,
        "lines": [line.as_dict() for line in price.lines],
    }


QUOTE_EXAMPLE = {
    "price": "155.00",
    "currency": "EUR",
    "lines": [
        {
            "description": "Blue room: day",
            "kind": "space",
            "item": None,
            "quantity": "1",
            "unit_price": "140.00",
            "amount": "140.00",
        },
        {
            "description": "Projector",
            "kind": "equipment",
            "item": 3,
            "quantity": "1",
            "unit_price": "15.00",
            "amount": "15.00",
        },
    ],
}


@extend_schema(tags=["quotes"])
class QuoteView(OrganizationTimezoneMixin, GenericAPIView):
    """What a booking would cost, booking nothing."""

    serializer_class = QuoteSerializer

    @extend_schema(
        request=ReservationCreateInputSerializer,
        responses={
            200: QuoteSerializer,
            400: BOOKING_400,
            **ERROR_RESPONSES.for_codes(401, 403),
            409: OpenApiResponse(
                response=PolymorphicProxySerializer(
                    component_name="QuoteConflict",
                    serializers=[CONFLICT_RESPONSE.response, EQUIPMENT_UNAVAILABLE.response],
                    resource_type_field_name=None,
                ),
                description="Refused as the booking would be: the slot is taken, or too few of an item are free.",
                examples=[*CONFLICT_RESPONSE.examples, *EQUIPMENT_UNAVAILABLE.examples],
            ),
        },
        examples=[
            OpenApiExample(
                "A day with a projector",
                value={**RESERVATION_INPUT_EXAMPLE, "equipment": [{"item": 3, "quantity": 1}]},
                request_only=True,
            ),
            OpenApiExample("The quote", value=QUOTE_EXAMPLE, response_only=True, status_codes=["200"]),
        ],
    )
    def post(self, request):
        """Get a quote for a booking.

        Takes the body of `POST /reservations` and answers the `price`, the `currency` and the `lines` it is
        made of (the space at the cheapest mix of its hourly, half-day and day rates, then each item), booking
        nothing. Refused with the same 400s and 409s a booking would get.
        """
        data = ReservationCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        price = services.reservation_quote(
            actor=request_membership(request._request), **_service_arguments(data.validated_data)
        )
        return Response(quote_representation(price, request.tenant.currency))
