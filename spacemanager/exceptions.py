"""The one place where errors become API responses (DRF's EXCEPTION_HANDLER).

Every error answer has a `code` next to DRF's shapes, and the OpenAPI schema documents exactly these shapes
(spacemanager.openapi): `{"detail": ..., "code": ...}`, or for invalid input `{"<field>": [...], "code": ...}`.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
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
        payload = exc.as_payload()
        if exc.http_status != status.HTTP_400_BAD_REQUEST:
            # Only a 400 has the per-field shape; every other error (409 `already_invited`, ...) is documented
            # as `{"detail", "code"}`, so one raised with `field=` keeps the field and gets a `detail` too.
            payload.setdefault("detail", exc.message)
        return Response(payload, status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        return Response({**django_validation_error_payload(exc), "code": "invalid"}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        exc = RequestBodyTooLarge()
    # Django's own errors (get_object_or_404, a PermissionDenied from a helper) as DRF's, so that they get a
    # code too; their message never names a model ("No Membership matches the given query").
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException) and isinstance(response.data, dict):
        # A stable machine-readable code next to DRF's message, so clients never parse English.
        codes = exc.get_codes()
        if isinstance(codes, str):
            response.data.setdefault("code", codes)
        else:
            response.data.setdefault("code", "invalid")
    elif response is not None and isinstance(response.data, list):
        # A list-shaped error (ValidationError(["..."]) raised by hand): the documented object shape instead.
        response.data = {"non_field_errors": response.data, "code": "invalid"}
    return response
