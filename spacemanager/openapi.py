"""Shared OpenAPI pieces: the error shapes every endpoint documents."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "detail": serializers.CharField(help_text="A message a person can act on."),
        "code": serializers.CharField(help_text="A stable code to branch on, e.g. `reservation_conflict`."),
    },
)

FieldErrorsSerializer = inline_serializer(
    name="FieldErrors",
    fields={
        "field_name": serializers.ListField(
            child=serializers.CharField(), help_text="Each invalid field maps to a list of messages."
        ),
        "code": serializers.CharField(),
    },
)


def error_response(code: str, detail: str = "", *, description: str = "") -> OpenApiResponse:
    return OpenApiResponse(
        response=ErrorSerializer,
        description=description or detail or code,
        examples=[
            OpenApiExample(code, value={"detail": detail or code.replace("_", " ").capitalize() + ".", "code": code})
        ],
    )


class _ErrorResponses(dict):
    def for_codes(self, *statuses: int) -> dict[int, OpenApiResponse]:
        return {status: self[status] for status in statuses}


ERROR_RESPONSES = _ErrorResponses(
    {
        400: OpenApiResponse(
            response=FieldErrorsSerializer,
            description="Invalid input: each field with its messages.",
            examples=[OpenApiExample("invalid", value={"email": ["Enter a valid email address."], "code": "invalid"})],
        ),
        401: error_response("not_authenticated", "Authentication credentials were not provided."),
        403: error_response("permission_denied", "You do not have permission to perform this action."),
        404: error_response("not_found", "No such object here."),
    }
)
