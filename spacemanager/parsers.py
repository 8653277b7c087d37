"""The one JSON parser of the API: bounded in nesting and in size, so no body can turn into a 500.

DRF's JSONParser lets `RecursionError` escape on `[[[[...]]]]`, which a 2 KB body triggers. The size limit
is Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default): DRF reads JSON bodies through `request.body`,
which enforces it, and the API's exception handler answers it with 413 `request_too_large`.
"""

from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json

# No endpoint takes anything nested deeper than a few levels; 32 leaves room and stays far from the
# interpreter's recursion limit in everything that walks the data afterwards (serializers, logging).
MAX_JSON_DEPTH = 32


class RequestBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."

    def __init__(self) -> None:
        super().__init__(f"The request body is larger than the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes allowed.")


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """Iterative, so checking a deep value cannot itself overflow the stack."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return None
        raw = stream.read()
        encoding = get_encoding(parser_context or {})
        parse_constant = json.strict_constant if self.strict else None
        try:
            data = json.loads(raw.decode(encoding), parse_constant=parse_constant)
        except RecursionError as exc:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        return data
