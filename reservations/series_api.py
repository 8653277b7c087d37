"""Recurring series API (thin: parse, call reservations.services or a selector, render). The occurrences are
ordinary reservations: `GET /api/v1/reservations?series=<id>` lists them; one occurrence is changed or
cancelled through `/api/v1/reservations/{id}`, the following ones or all through `/api/v1/series/{id}`."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.access import request_membership
from equipment.api import equipment_field, equipment_requests
from reservations import services
from reservations.api import CONFLICT_RESPONSE, RESERVATION_EXAMPLE, ReservationSerializer
from reservations.models import Reservation, Series
from reservations.recurrence import MAX_OCCURRENCES
from reservations.selectors import series_get, series_list
from spacemanager.openapi import ERROR_RESPONSES
from spaces.hours import isoformat_local
from spaces.timefields import AwareDateTimeField, OrganizationTimezoneMixin

RECURRENCE_HELP = (
    "An RFC 5545 RRULE: FREQ=DAILY|WEEKLY|MONTHLY with INTERVAL, BYDAY, BYMONTHDAY, BYSETPOS, and COUNT or UNTIL "
    f"(one of them, required). Expanded in the organization's time zone; at most {MAX_OCCURRENCES} occurrences, "
    "each within the space's booking window."
)


class SeriesInputSerializer(serializers.Serializer):
    space = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The space's id.")
    starts_at = AwareDateTimeField(help_text="The first occurrence's start, ISO 8601 with offset.")
    ends_at = AwareDateTimeField(help_text="The first occurrence's end; every occurrence lasts as long.")
    recurrence = serializers.CharField(max_length=500, help_text=RECURRENCE_HELP)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    attendees = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    equipment = equipment_field()
    skip_conflicts = serializers.BooleanField(
        required=False,
        default=False,
        help_text="false (default): all or nothing. true: book the free occurrences, list the others in `skipped`.",
    )


class SeriesChangeSerializer(serializers.Serializer):
    starts_at = AwareDateTimeField(
        required=False, help_text="New start of the first occurrence changed; the others move by the same shift."
    )
    ends_at = AwareDateTimeField(required=False, help_text="New end of the first occurrence changed.")
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    attendees = serializers.IntegerField(min_value=1, max_value=100_000, required=False)


class FromQuerySerializer(serializers.Serializer):
    # `from` is a Python keyword: declared below.
    pass


FromQuerySerializer._declared_fields["from"] = AwareDateTimeField(
    required=False,
    help_text="The start of one occurrence (as the series scheduled it): that one and the following ones.",
)


class SkippedSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    code = serializers.CharField(help_text="e.g. `reservation_conflict`, `closed`, `too_far_ahead`.")
    detail = serializers.CharField()


class SeriesSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    space = inline_serializer(
        name="SeriesSpace", fields={"id": serializers.IntegerField(), "name": serializers.CharField()}
    )
    recurrence = serializers.CharField()
    starts_at = serializers.DateTimeField(help_text="The first occurrence's start.")
    ends_at = serializers.DateTimeField(help_text="The first occurrence's end.")
    timezone = serializers.CharField()
    title = serializers.CharField()
    occurrences = ReservationSerializer(many=True, help_text="Its reservations, cancelled ones included.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SeriesCreatedSerializer(SeriesSerializer):
    skipped = SkippedSerializer(many=True, help_text="With skip_conflicts: the occurrences not booked, and why.")


def _series_payload(request, series: Series, occurrences: list[Reservation]) -> dict:
    tz = timezone.get_current_timezone()
    context = {"request": request}
    return {
        "id": series.pk,
        "space": {"id": series.space.pk, "name": series.space.name},
        "recurrence": series.recurrence,
        "starts_at": isoformat_local(series.starts_at, tz),
        "ends_at": isoformat_local(series.ends_at, tz),
        "timezone": series.timezone,
        "title": series.title,
        "occurrences": ReservationSerializer(occurrences, many=True, context=context).data,
        "created_at": isoformat_local(series.created_at, tz),
        "updated_at": isoformat_local(series.updated_at, tz),
    }


def _detail(request, series_id: int) -> dict:
    series = series_get(actor=request_membership(request._request), series_id=series_id)
    return _series_payload(request, series, list(series.occurrences.all()))


SERIES_INPUT_EXAMPLE = {
    "space": 7,
    "starts_at": "2025-03-03T09:00:00+01:00",
    "ends_at": "2025-03-03T09:30:00+01:00",
    "recurrence": "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20250630",
    "title": "Stand-up",
    "attendees": 4,
    "skip_conflicts": True,
}
SERIES_EXAMPLE = {
    "id": 5,
    "space": {"id": 7, "name": "Blue room"},
    "recurrence": "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20250630",
    "starts_at": "2025-03-03T09:00:00+01:00",
    "ends_at": "2025-03-03T09:30:00+01:00",
    "timezone": "Europe/Paris",
    "title": "Stand-up",
    "occurrences": [
        {
            **RESERVATION_EXAMPLE,
            "title": "Stand-up",
            "attendees": 4,
            "starts_at": "2025-03-03T09:00:00+01:00",
            "ends_at": "2025-03-03T09:30:00+01:00",
            "series": 5,
        }
    ],
    "created_at": "2025-03-01T09:12:00+01:00",
    "updated_at": "2025-03-01T09:12:00+01:00",
}
SERIES_CREATED_EXAMPLE = {
    **SERIES_EXAMPLE,
    "skipped": [
        {
            "starts_at": "2025-03-05T09:00:00+01:00",
            "ends_at": "2025-03-05T09:30:00+01:00",
            "code": "reservation_conflict",
            "detail": "This space is already booked at that time: 2025-03-05T09:00:00+01:00 to "
            "2025-03-05T10:00:00+01:00.",
        }
    ],
}
SERIES_400 = OpenApiResponse(
    response=ERROR_RESPONSES[400].response,
    description="The rule is not one we offer (field `recurrence`), or occurrences break a booking rule "
    "(`occurrences_refused`, each with its own code). Nothing is booked or changed.",
    examples=[
        OpenApiExample(
            "invalid_recurrence",
            value={
                "recurrence": ["Give how it ends: either COUNT (a number of times) or UNTIL (a date), not both."],
                "code": "invalid_recurrence",
            },
        ),
        OpenApiExample(
            "too_many_occurrences",
            value={
                "recurrence": ["A series has at most 500 occurrences; end it sooner (COUNT or UNTIL)."],
                "code": "too_many_occurrences",
            },
        ),
        OpenApiExample(
            "occurrences_refused",
            value={
                "detail": "1 of 35 occurrences cannot be booked, so nothing was booked or changed: Blue room can be "
                "booked at most 90 days ahead.",
                "code": "occurrences_refused",
                "occurrences": [
                    {
                        "starts_at": "2025-06-30T09:00:00+02:00",
                        "ends_at": "2025-06-30T09:30:00+02:00",
                        "code": "too_far_ahead",
                        "detail": "Blue room can be booked at most 90 days ahead.",
                    }
                ],
            },
        ),
    ],
)
SERIES_409 = OpenApiResponse(
    response=CONFLICT_RESPONSE.response,
    description="Occurrences clash with other bookings (`reservation_conflict`): `occurrences` lists each failing "
    "occurrence, `conflicts` the bookings in the way. Nothing is booked or changed.",
    examples=[
        OpenApiExample(
            "reservation_conflict",
            value={
                "detail": "1 of 35 occurrences clash with other bookings, so nothing was booked or changed. Choose "
                "other times, or skip the clashing dates.",
                "code": "reservation_conflict",
                "conflicts": [{"starts_at": "2025-03-05T09:00:00+01:00", "ends_at": "2025-03-05T10:00:00+01:00"}],
                "occurrences": [
                    {
                        "starts_at": "2025-03-05T09:00:00+01:00",
                        "ends_at": "2025-03-05T09:30:00+01:00",
                        "code": "reservation_conflict",
                        "detail": "This space is already booked at that time.",
                    }
                ],
            },
        )
    ],
)
FROM_PARAMETER = OpenApiParameter(
    "from",
    OpenApiTypes.DATETIME,
    description="ISO start of one occurrence (as the series scheduled it): that one and the following ones. "
    "Left out: every occurrence not started yet.",
)


def _from(request) -> dict:
    query = FromQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return {"from_starts_at": query.validated_data.get("from")}


@extend_schema(tags=["series"])
class SeriesListView(OrganizationTimezoneMixin, GenericAPIView):
    """Recurring bookings: yours, or everyone's for owners and admins."""

    serializer_class = SeriesSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Series.objects.none()
        return series_list(actor=request_membership(self.request._request))

    @extend_schema(
        responses={200: SeriesSerializer(many=True), **ERROR_RESPONSES.for_codes(401, 403)},
        examples=[OpenApiExample("Series", value=[SERIES_EXAMPLE], response_only=True)],
    )
    def get(self, request):
        """List recurring series

        Your series, or everyone's for owners and admins (`?scope=all`), each with its rule.
        """
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            [_series_payload(request, series, list(series.occurrences.all())) for series in page]
        )

    @extend_schema(
        request=SeriesInputSerializer,
        responses={
            201: SeriesCreatedSerializer,
            400: SERIES_400,
            **ERROR_RESPONSES.for_codes(401, 403),
            409: SERIES_409,
        },
        examples=[
            OpenApiExample("Every Monday and Wednesday until June", value=SERIES_INPUT_EXAMPLE, request_only=True),
            OpenApiExample("Booked, one date skipped", value=SERIES_CREATED_EXAMPLE, response_only=True),
        ],
        description="Book every occurrence of the rule for yourself in one step; one confirmation email for the "
        "series. Each occurrence passes every booking rule (see POST /reservations for the 400 codes).",
    )
    def post(self, request):
        """Book a recurring series

        One request books every occurrence of an RFC 5545 rule in the organization's time zone: all or nothing,
        or with `skip_conflicts` the free ones, listing the skipped occurrences with their reason.
        """
        data = SeriesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["space_id"] = values.pop("space")
        if "equipment" in values:
            values["equipment"] = equipment_requests(values["equipment"])
        result = services.series_create(actor=request_membership(request._request), **values)
        tz = timezone.get_current_timezone()
        body = _detail(request, result.series.pk)
        body["skipped"] = [
            {
                "starts_at": isoformat_local(skipped.starts_at, tz),
                "ends_at": isoformat_local(skipped.ends_at, tz),
                "code": skipped.code,
                "detail": skipped.detail,
            }
            for skipped in result.skipped
        ]
        return Response(body, status=201)


@extend_schema(tags=["series"])
class SeriesDetailView(OrganizationTimezoneMixin, GenericAPIView):
    """One series: yours, or any for owners and admins (someone else's is 404 to a member)."""

    serializer_class = SeriesSerializer
    queryset = Series.objects.none()  # for the schema: each method reads through the selectors

    @extend_schema(
        responses={200: SeriesSerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)},
        examples=[OpenApiExample("A series", value=SERIES_EXAMPLE, response_only=True)],
    )
    def get(self, request, pk: int):
        """Read a series

        One series with its occurrences; someone else's is 404 to a member.
        """
        return Response(_detail(request, pk))

    @extend_schema(
        parameters=[FROM_PARAMETER],
        request=SeriesChangeSerializer,
        responses={200: SeriesSerializer, 400: SERIES_400, **ERROR_RESPONSES.for_codes(401, 403, 404), 409: SERIES_409},
        examples=[
            OpenApiExample(
                "Half an hour later from the 17th on",
                value={"starts_at": "2025-03-17T09:30:00+01:00", "ends_at": "2025-03-17T10:00:00+01:00"},
                request_only=True,
            ),
            OpenApiExample("Rename all", value={"title": "Team sync"}, request_only=True),
        ],
        description="Change the occurrences not started yet (all, or from `?from=` on). New times apply to the "
        "first of them; the others move by the same local shift, each re-checked. All or nothing. One occurrence "
        "alone: PATCH /reservations/{id}.",
    )
    def patch(self, request, pk: int):
        """Change a series

        Changes every occurrence not yet started, or with `?from=` that occurrence and the following ones; each
        moved occurrence is checked against every rule.
        """
        actor = request_membership(request._request)
        series = series_get(actor=actor, series_id=pk)
        data = SeriesChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.series_update(actor=actor, series=series, **_from(request), **data.validated_data)
        return Response(_detail(request, pk))

    @extend_schema(
        parameters=[FROM_PARAMETER],
        responses={200: SeriesSerializer, 400: SERIES_400, **ERROR_RESPONSES.for_codes(401, 403, 404)},
        description="Cancel the occurrences not started yet (all, or from `?from=` on); the series and its past "
        "occurrences stay. One email for the series. One occurrence alone: DELETE /reservations/{id}.",
    )
    def delete(self, request, pk: int):
        """Cancel a series

        Cancels the occurrences not yet started, or with `?from=` that occurrence and the following ones.
        """
        actor = request_membership(request._request)
        series = series_get(actor=actor, series_id=pk)
        services.series_cancel(actor=actor, series=series, **_from(request))
        return Response(_detail(request, pk))
