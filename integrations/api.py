"""Webhooks and calendar feeds API (thin: parse, call a service or selector, render)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.access import request_membership
from accounts.permissions import IsOrganizationManager
from integrations import selectors, services
from integrations.events import EVENT_TYPES
from integrations.models import WebhookDelivery, WebhookEndpoint
from spacemanager.openapi import ERROR_RESPONSES
from spaces.timefields import OrganizationTimezoneMixin

EVENTS_HELP = "Events to receive: " + ", ".join(f"`{name}`" for name in EVENT_TYPES) + "."


class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "is_active",
            "disabled_reason",
            "last_success_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Verify signatures with it. Shown only in this answer: store it now."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="Where to POST events: http:// or https://.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)), allow_empty=False, help_text=EVENTS_HELP
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class WebhookEndpointUpdateSerializer(WebhookEndpointInputSerializer):
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)), allow_empty=False, required=False
    )
    is_active = serializers.BooleanField(required=False, help_text="`true` switches a disabled endpoint on again.")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    attempt_log = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text="Each attempt: at, response_status, duration_ms, error.",
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "message_id",
            "event_type",
            "status",
            "attempts",
            "response_status",
            "duration_ms",
            "error",
            "last_attempt_at",
            "next_attempt_at",
            "attempt_log",
            "redelivery_of",
            "payload",
            "created_at",
        ]
        read_only_fields = fields


ENDPOINT_EXAMPLE = {
    "id": 3,
    "url": "https://hooks.example.com/spacemanager",
    "description": "Room signage",
    "events": ["reservation.cancelled", "reservation.created"],
    "is_active": True,
    "disabled_reason": "",
    "last_success_at": "2025-03-03T10:00:02+01:00",
    "created_at": "2025-03-01T09:12:00+01:00",
    "updated_at": "2025-03-01T09:12:00+01:00",
}
DELIVERY_EXAMPLE = {
    "id": 812,
    "message_id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    "event_type": "reservation.created",
    "status": "succeeded",
    "attempts": 1,
    "response_status": 204,
    "duration_ms": 87,
    "error": "",
    "last_attempt_at": "2025-03-03T10:00:02+01:00",
    "next_attempt_at": None,
    "attempt_log": [{"at": "2025-03-03T09:00:02+00:00", "response_status": 204, "duration_ms": 87, "error": ""}],
    "redelivery_of": None,
    "payload": {"type": "reservation.created", "timestamp": "2025-03-03T09:00:01+00:00", "data": {"id": 42}},
    "created_at": "2025-03-03T10:00:01+01:00",
}
WEBHOOKS_DESCRIPTION = (
    "Deliveries follow the Standard Webhooks specification: a POST with a JSON body `{type, timestamp, data}` "
    "(`data` is the API's representation of the object), and the headers `webhook-id` (the same for every "
    "retry of one message: deduplicate on it), `webhook-timestamp` and `webhook-signature`, an HMAC-SHA256 "
    "with the endpoint's secret. Verify with any Standard Webhooks library, e.g. Python's "
    "`standardwebhooks.Webhook(secret).verify(body, headers)`. Answer with a 2xx within 10 seconds; anything "
    "else (redirects included) is retried after 30 s, 2 min, 10 min, 30 min, 2 h, 5 h, 8 h and 8 h. When all "
    "of a message's attempts fail and the endpoint has not succeeded since, it is disabled and the "
    "organization's owners and admins are emailed. Owners and admins only."
)


class WebhookViewMixin(OrganizationTimezoneMixin):
    permission_classes = [IsOrganizationManager]

    def endpoint(self) -> WebhookEndpoint:
        return selectors.webhook_endpoint_get(endpoint_id=self.kwargs["pk"])


@extend_schema(tags=["webhooks"])
class WebhookListView(WebhookViewMixin, GenericAPIView):
    serializer_class = WebhookEndpointSerializer

    def get_queryset(self):
        return selectors.webhook_endpoint_list()

    @extend_schema(
        summary="List webhook endpoints",
        description=WEBHOOKS_DESCRIPTION,
        responses={200: WebhookEndpointSerializer(many=True), **ERROR_RESPONSES.for_codes(401, 403)},
        examples=[OpenApiExample("Endpoints", value=[ENDPOINT_EXAMPLE], response_only=True)],
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Register a webhook endpoint",
        description="The answer holds the endpoint's `secret`, shown this once. In production the URL must "
        "resolve to public addresses only (no loopback, private, link-local or metadata addresses).\n\n"
        + WEBHOOKS_DESCRIPTION,
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointCreatedSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403)},
        examples=[
            OpenApiExample(
                "Bookings and cancellations",
                value={
                    "url": "https://hooks.example.com/spacemanager",
                    "events": ["reservation.created", "reservation.cancelled"],
                    "description": "Room signage",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Registered",
                value={**ENDPOINT_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request):
        data = WebhookEndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(actor=request_membership(request._request), **data.validated_data)
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["webhooks"])
class WebhookDetailView(WebhookViewMixin, GenericAPIView):
    serializer_class = WebhookEndpointSerializer

    @extend_schema(
        summary="Get a webhook endpoint",
        description="The endpoint's settings and state (its secret is never shown again).",
        responses={200: WebhookEndpointSerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)},
        examples=[OpenApiExample("An endpoint", value=ENDPOINT_EXAMPLE, response_only=True)],
    )
    def get(self, request, pk: int):
        return Response(self.get_serializer(self.endpoint()).data)

    @extend_schema(
        summary="Change a webhook endpoint",
        description="Change its URL, events or description, or switch it off (`is_active: false`) and on again.",
        request=WebhookEndpointUpdateSerializer,
        responses={200: WebhookEndpointSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403, 404)},
        examples=[OpenApiExample("Switch on again", value={"is_active": True}, request_only=True)],
    )
    def patch(self, request, pk: int):
        data = WebhookEndpointUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            actor=request_membership(request._request), endpoint=self.endpoint(), **data.validated_data
        )
        return Response(self.get_serializer(endpoint).data)

    @extend_schema(
        summary="Delete a webhook endpoint",
        description="The endpoint and its delivery log are gone; nothing more is sent to it.",
        responses={204: None, **ERROR_RESPONSES.for_codes(401, 403, 404)},
    )
    def delete(self, request, pk: int):
        services.webhook_endpoint_delete(actor=request_membership(request._request), endpoint=self.endpoint())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["webhooks"])
class WebhookDeliveryListView(WebhookViewMixin, GenericAPIView):
    serializer_class = WebhookDeliverySerializer
    queryset = WebhookDelivery.objects.none()  # for the schema's path parameter types; the selector reads

    @extend_schema(
        summary="An endpoint's delivery log",
        description="Newest first: each delivery's status (`pending` while attempts remain, `succeeded`, "
        "`failed`), the last response code and duration, the number of attempts and every attempt.",
        responses={200: WebhookDeliverySerializer(many=True), **ERROR_RESPONSES.for_codes(401, 403, 404)},
        examples=[OpenApiExample("Deliveries", value=[DELIVERY_EXAMPLE], response_only=True)],
    )
    def get(self, request, pk: int):
        page = self.paginate_queryset(selectors.webhook_delivery_list(endpoint=self.endpoint()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["webhooks"])
class WebhookRedeliverView(WebhookViewMixin, GenericAPIView):
    serializer_class = WebhookDeliverySerializer

    @extend_schema(
        summary="Redeliver a message",
        description="Send the delivery's message again, as a new delivery with the same body and `webhook-id` "
        "(receivers that deduplicate see it once). Sent by a worker within seconds.",
        request=None,
        responses={202: WebhookDeliverySerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)},
        examples=[
            OpenApiExample(
                "Queued",
                value={**DELIVERY_EXAMPLE, "status": "pending", "attempts": 0, "redelivery_of": 812},
                response_only=True,
                status_codes=["202"],
            )
        ],
    )
    def post(self, request, pk: int, delivery_id: int):
        delivery = selectors.webhook_delivery_get(endpoint=self.endpoint(), delivery_id=delivery_id)
        again = services.webhook_redeliver(actor=request_membership(request._request), delivery=delivery)
        return Response(self.get_serializer(again).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["webhooks"])
class WebhookTestView(WebhookViewMixin, GenericAPIView):
    serializer_class = WebhookDeliverySerializer

    @extend_schema(
        summary="Send a test event",
        description="Queue a signed `webhook.test` message to the endpoint (a disabled one too, to check a fix); "
        "follow it in the delivery log.",
        request=None,
        responses={202: WebhookDeliverySerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)},
        examples=[
            OpenApiExample(
                "Queued",
                value={
                    **DELIVERY_EXAMPLE,
                    "event_type": "webhook.test",
                    "status": "pending",
                    "attempts": 0,
                    "payload": {
                        "type": "webhook.test",
                        "timestamp": "2025-03-03T09:00:01+00:00",
                        "data": {"message": "A test event from SpaceManager.", "endpoint": 3},
                    },
                },
                response_only=True,
                status_codes=["202"],
            )
        ],
    )
    def post(self, request, pk: int):
        delivery = services.webhook_test_send(actor=request_membership(request._request), endpoint=self.endpoint())
        return Response(self.get_serializer(delivery).data, status=status.HTTP_202_ACCEPTED)
