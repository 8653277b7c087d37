"""Equipment API (thin: parse, call equipment.services or a selector, render). Members read; owners and
admins manage items."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from accounts.access import request_membership
from accounts.permissions import IsOrganizationManager, IsOrganizationMember
from equipment import services
from equipment.models import MAX_QUANTITY, Item
from equipment.selectors import item_get, item_list, item_uses, peak_use
from equipment.services import MAX_ITEMS_PER_BOOKING, EquipmentRequest
from spacemanager.errors import ValidationFailed
from spacemanager.fields import StrictCharField, StrictDecimalField, WholeItemSerializer
from spacemanager.openapi import ERROR_RESPONSES, error_response
from spaces.hours import isoformat_local
from spaces.timefields import AwareDateTimeField, OrganizationTimezoneMixin

MAX_AVAILABILITY_DAYS = 62


class EquipmentChoiceSerializer(WholeItemSerializer):
    item = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The item's id.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, help_text="How many of it.")


def equipment_field(**kwargs) -> serializers.ListField:
    """The `equipment` field of a booking's body: `[{"item": id, "quantity": n}]`."""
    return serializers.ListField(
        child=EquipmentChoiceSerializer(),
        required=False,
        max_length=MAX_ITEMS_PER_BOOKING,
        help_text="Items to book with it, each once: 409 `equipment_unavailable` when too few are free.",
        **kwargs,
    )


def equipment_requests(values: list[dict]) -> list[EquipmentRequest]:
    return [EquipmentRequest(item_id=value["item"], quantity=value["quantity"]) for value in values]


def allocations_representation(reservation) -> list[dict]:
    """A reservation's items as the API and webhooks show them."""
    return [
        {
            "item": allocation.item_id,
            "name": allocation.item.name,
            "quantity": allocation.quantity,
            "amount": str(allocation.amount),
        }
        for allocation in sorted(_allocations(reservation), key=lambda a: (a.item_id, a.pk))
    ]


def _allocations(reservation) -> list:
    prefetched = getattr(reservation, "_prefetched_objects_cache", {})
    if "equipment_allocations" in prefetched:
        return list(prefetched["equipment_allocations"])
    return list(reservation.equipment_allocations.select_related("item"))


def with_equipment(queryset):
    """Reservations with their items, in one query per page whatever its size."""
    from django.db.models import Prefetch

    from equipment.models import Allocation

    return queryset.prefetch_related(
        Prefetch("equipment_allocations", queryset=Allocation.objects.select_related("item"))
    )


EQUIPMENT_UNAVAILABLE = OpenApiResponse(
    response=inline_serializer(
        name="EquipmentUnavailable",
        fields={
            "detail": serializers.CharField(),
            "code": serializers.CharField(help_text="`equipment_unavailable`"),
            "item": inline_serializer(
                name="UnavailableItem", fields={"id": serializers.IntegerField(), "name": serializers.CharField()}
            ),
            "requested": serializers.IntegerField(),
            "available": serializers.IntegerField(help_text="How many are free for the whole interval."),
            "starts_at": serializers.DateTimeField(),
            "ends_at": serializers.DateTimeField(),
        },
    ),
    description="Too few of an item are free in the interval.",
    examples=[
        OpenApiExample(
            "equipment_unavailable",
            value={
                "detail": "Only 1 of Projector is free from 2025-03-03T10:00:00+01:00 to 2025-03-03T11:00:00+01:00; "
                "you asked for 2.",
                "code": "equipment_unavailable",
                "item": {"id": 3, "name": "Projector"},
                "requested": 2,
                "available": 1,
                "starts_at": "2025-03-03T10:00:00+01:00",
                "ends_at": "2025-03-03T11:00:00+01:00",
            },
        )
    ],
)


class ItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    price_per_booking = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    price_per_hour = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    location = serializers.IntegerField(allow_null=True, help_text="The location's id, or null.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, item: Item) -> dict:
        tz = timezone.get_current_timezone()
        return {
            "id": item.pk,
            "name": item.name,
            "description": item.description,
            "quantity": item.quantity,
            "price_per_booking": None if item.price_per_booking is None else str(item.price_per_booking),
            "price_per_hour": None if item.price_per_hour is None else str(item.price_per_hour),
            "currency": self.context["request"].tenant.currency,
            "location": item.location_id,
            "created_at": isoformat_local(item.created_at, tz),
            "updated_at": isoformat_local(item.updated_at, tz),
        }


class ItemInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=120)
    description = StrictCharField(required=False, allow_blank=True, max_length=5000)
    quantity = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY, required=False)
    price_per_booking = StrictDecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True, help_text="Or price_per_hour."
    )
    price_per_hour = StrictDecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True, help_text="Or price_per_booking."
    )
    location = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True)


def _service_values(validated: dict) -> dict:
    values = dict(validated)
    if "location" in values:
        values["location_id"] = values.pop("location")
    return values


ITEM_EXAMPLE = {
    "id": 3,
    "name": "Projector",
    "description": "Full HD, HDMI and USB-C.",
    "quantity": 4,
    "price_per_booking": "15.00",
    "price_per_hour": None,
    "currency": "EUR",
    "location": 1,
    "created_at": "2025-03-01T09:00:00+01:00",
    "updated_at": "2025-03-01T09:00:00+01:00",
}
ITEM_400 = OpenApiResponse(
    response=ERROR_RESPONSES[400].response,
    description="Invalid input; the field says what to change.",
    examples=[
        OpenApiExample(
            "two_prices",
            value={"price_per_hour": ["Give a price per booking or a price per hour, not both."], "code": "two_prices"},
        ),
        OpenApiExample("name_taken", value={"name": ["An item with this name exists already."], "code": "name_taken"}),
    ],
)
IN_USE = error_response(
    "equipment_in_use", "Upcoming bookings hold up to 3 of Projector at once; cancel some before lowering it."
)


class ItemPermissionsMixin:
    def get_permissions(self):
        if self.request.method in SAFE_METHODS:
            return [IsOrganizationMember()]
        return [IsOrganizationManager()]


@extend_schema(tags=["equipment"])
class ItemListView(OrganizationTimezoneMixin, ItemPermissionsMixin, GenericAPIView):
    serializer_class = ItemSerializer

    def get_queryset(self):
        return item_list()

    @extend_schema(
        responses={200: ItemSerializer(many=True), **ERROR_RESPONSES.for_codes(401, 403)},
        examples=[OpenApiExample("Projectors", value=[ITEM_EXAMPLE], response_only=True)],
    )
    def get(self, request):
        """List equipment

        The items bookings can take along (projectors, chairs, parking spots), by name. Everyone reads them.
        """
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=ItemInputSerializer,
        responses={201: ItemSerializer, 400: ITEM_400, **ERROR_RESPONSES.for_codes(401, 403)},
        examples=[OpenApiExample("A projector", value=ITEM_EXAMPLE, response_only=True)],
    )
    def post(self, request):
        """Add equipment

        Owners and admins add an item with how many there are, a price per booking or per hour (or none:
        free), and an optional location.
        """
        data = ItemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.item_create(actor=request_membership(request._request), **_service_values(data.validated_data))
        return Response(self.get_serializer(item_get(item_id=item.pk)).data, status=201)


@extend_schema(tags=["equipment"])
class ItemDetailView(OrganizationTimezoneMixin, ItemPermissionsMixin, GenericAPIView):
    serializer_class = ItemSerializer
    queryset = Item.objects.none()  # for the schema: each method reads through the selectors

    @extend_schema(responses={200: ItemSerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)})
    def get(self, request, pk: int):
        """Read an item of equipment

        One item with its quantity and price.
        """
        return Response(self.get_serializer(item_get(item_id=pk)).data)

    @extend_schema(
        request=ItemInputSerializer(partial=True),
        responses={200: ItemSerializer, 400: ITEM_400, **ERROR_RESPONSES.for_codes(401, 403, 404), 409: IN_USE},
    )
    def patch(self, request, pk: int):
        """Change an item of equipment

        Owners and admins change its name, quantity, price or location. The quantity cannot drop below what
        upcoming bookings hold at once (409 `equipment_in_use`); existing bookings keep their prices.
        """
        item = item_get(item_id=pk)
        data = ItemInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        item = services.item_update(
            actor=request_membership(request._request), item=item, **_service_values(data.validated_data)
        )
        return Response(self.get_serializer(item_get(item_id=item.pk)).data)

    @extend_schema(responses={204: None, **ERROR_RESPONSES.for_codes(401, 403, 404), 409: IN_USE})
    def delete(self, request, pk: int):
        """Delete an item of equipment

        Owners and admins take it out of the catalogue; refused (409 `equipment_in_use`) while upcoming
        bookings hold it. Past bookings keep it on their price lines.
        """
        services.item_archive(actor=request_membership(request._request), item=item_get(item_id=pk))
        return Response(status=204)


class AvailabilityQuerySerializer(serializers.Serializer):
    start = AwareDateTimeField(help_text="ISO 8601 with offset.")
    end = AwareDateTimeField(help_text="ISO 8601 with offset; excluded.")

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise ValidationFailed("The end must be after the start.", field="end", code="ends_before_start")
        if (attrs["end"] - attrs["start"]).days > MAX_AVAILABILITY_DAYS:
            raise ValidationFailed(f"Ask for at most {MAX_AVAILABILITY_DAYS} days at once.", field="end")
        return attrs


ItemAvailabilitySerializer = inline_serializer(
    name="ItemAvailability",
    fields={
        "item": serializers.IntegerField(),
        "quantity": serializers.IntegerField(help_text="How many there are."),
        "available": serializers.IntegerField(help_text="How many are free for the whole interval."),
        "start": serializers.DateTimeField(),
        "end": serializers.DateTimeField(),
        "uses": inline_serializer(
            name="ItemUse",
            fields={
                "starts_at": serializers.DateTimeField(),
                "ends_at": serializers.DateTimeField(),
                "quantity": serializers.IntegerField(),
            },
            many=True,
        ),
    },
)


@extend_schema(tags=["equipment"])
class ItemAvailabilityView(OrganizationTimezoneMixin, GenericAPIView):
    permission_classes = [IsOrganizationMember]
    serializer_class = ItemSerializer
    queryset = Item.objects.none()

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="ISO 8601 with offset."),
            OpenApiParameter("end", str, required=True, description="ISO 8601 with offset; excluded."),
        ],
        responses={200: ItemAvailabilitySerializer, **ERROR_RESPONSES.for_codes(400, 401, 403, 404)},
    )
    def get(self, request, pk: int):
        """Read an item's availability

        How many of the item are free for the whole of [start, end), and the active bookings' uses of it
        inside (times and quantities; who booked is not shown).
        """
        item = item_get(item_id=pk)
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["start"], query.validated_data["end"]
        uses = item_uses(item_ids=[item.pk], starts_at=start, ends_at=end)[item.pk]
        tz = timezone.get_current_timezone()
        return Response(
            {
                "item": item.pk,
                "quantity": item.quantity,
                "available": max(0, item.quantity - peak_use(uses, starts_at=start, ends_at=end)),
                "start": isoformat_local(start, tz),
                "end": isoformat_local(end, tz),
                "uses": [
                    {
                        "starts_at": isoformat_local(use.starts_at, tz),
                        "ends_at": isoformat_local(use.ends_at, tz),
                        "quantity": use.quantity,
                    }
                    for use in uses
                ],
            }
        )
