"""The one place where errors become API responses (DRF's EXCEPTION_HANDLER)."""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from spacemanager.errors import DomainError
from spacemanager.parsers import RequestBodyTooLarge


def django_validation_error_payload(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": error.messages}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_payload(), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        return Response({**django_validation_error_payload(exc), "code": "invalid"}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        exc = RequestBodyTooLarge()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException) and isinstance(response.data, dict):
        # A stable machine-readable code next to DRF's message, so clients never parse English.
        codes = exc.get_codes()
        if isinstance(codes, str):
            response.data.setdefault("code", codes)
        elif isinstance(codes, dict):
            response.data.setdefault("code", "invalid")
    return response
