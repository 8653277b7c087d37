"""Webhooks and calendar feeds API (thin: parse, call a service or selector, render)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import request_membership
from accounts.permissions import IsOrganizationManager
from integrations import feeds, selectors, services
from integrations.events import EVENT_TYPES
from integrations.models import CalendarFeed, WebhookDelivery, WebhookEndpoint
from spacemanager.errors import NotFound, ValidationFailed
from spacemanager.openapi import ERROR_RESPONSES
from spaces.selectors import space_get
from spaces.timefields import OrganizationTimezoneMixin
from tenants.selectors import organization_url_for_request

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


class CalendarFeedSpaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CalendarFeedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(
        choices=CalendarFeed.Kind.choices,
        help_text="`personal`: your bookings; `space`: a space's; `organization`: everyone's.",
    )
    space = CalendarFeedSpaceSerializer(allow_null=True, help_text="The space of a `space` feed.")
    name = serializers.CharField()
    url = serializers.URLField(help_text="The private feed (text/calendar). Anyone with it can read the feed.")
    webcal_url = serializers.CharField(help_text="The same, as a `webcal://` link that opens calendar apps.")


class CalendarFeedQuerySerializer(serializers.Serializer):
    space = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="Also make (and list) this space's feed."
    )


FEED_EXAMPLE = [
    {
        "id": 1,
        "kind": "personal",
        "space": None,
        "name": "My bookings",
        "url": "https://acme.example.com/feeds/pP3xQ0f8m3K1VbXr2tq6yGJ1pV2oJ1cO.ics",
        "webcal_url": "webcal://acme.example.com/feeds/pP3xQ0f8m3K1VbXr2tq6yGJ1pV2oJ1cO.ics",
    },
    {
        "id": 2,
        "kind": "space",
        "space": {"id": 7, "name": "Blue room"},
        "name": "Blue room (busy times)",
        "url": "https://acme.example.com/feeds/Zr0lKb9w2H6pYJv1Jx3cQm5sTq8uWn4a.ics",
        "webcal_url": "webcal://acme.example.com/feeds/Zr0lKb9w2H6pYJv1Jx3cQm5sTq8uWn4a.ics",
    },
]
FEEDS_DESCRIPTION = (
    "Private iCalendar (RFC 5545) feeds to subscribe to from Google Calendar, Outlook or Apple Calendar: your "
    "bookings; a space's busy times (titles and names only in owners' and admins' feeds); and, for owners and "
    "admins, every booking of the organization. Feeds answer with `ETag` and `Last-Modified`, and a `304` to "
    "a client whose copy is current. A feed stops answering when its person is removed or deactivated."
)


def _feed_links(request, feeds_list) -> list[dict]:
    site_url = organization_url_for_request(request.tenant, request._request)
    return [feeds.feed_links(feed, site_url=site_url) for feed in feeds_list]


@extend_schema(tags=["calendar feeds"])
class CalendarFeedListView(APIView):
    @extend_schema(
        summary="My calendar feed URLs",
        description=FEEDS_DESCRIPTION + " Space feeds are made on request (`?space=`).",
        parameters=[CalendarFeedQuerySerializer],
        responses={200: CalendarFeedSerializer(many=True), **ERROR_RESPONSES.for_codes(400, 401, 403)},
        examples=[OpenApiExample("My feeds", value=FEED_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        query = CalendarFeedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        spaces = []
        if "space" in query.validated_data:
            try:
                spaces = [space_get(space_id=query.validated_data["space"])]
            except NotFound as exc:
                raise ValidationFailed("No such space here.", field="space", code="unknown_space") from exc
        feeds_list = services.calendar_feeds_ensure(actor=request_membership(request._request), spaces=spaces)
        return Response(_feed_links(request, feeds_list))


@extend_schema(tags=["calendar feeds"])
class CalendarFeedRegenerateView(APIView):
    @extend_schema(
        summary="New addresses for my calendar feeds",
        description="Every one of your feeds gets a new secret URL; the old URLs answer 404 at once. Answers "
        "the new URLs.",
        request=None,
        responses={200: CalendarFeedSerializer(many=True), **ERROR_RESPONSES.for_codes(401, 403)},
        examples=[OpenApiExample("New feeds", value=FEED_EXAMPLE, response_only=True)],
    )
    def post(self, request):
        actor = request_membership(request._request)
        services.calendar_feeds_regenerate(actor=actor)
        return Response(_feed_links(request, services.calendar_feeds_ensure(actor=actor)))
