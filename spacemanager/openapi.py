"""The OpenAPI schema's shared parts: error shapes, the errors every operation documents, and the hooks.

Error responses are documented in one place, for every endpoint, by `AutoSchema` (DRF's
DEFAULT_SCHEMA_CLASS): a new view gets its 400, 401, 403, 404 and 429 from what it is (its authentication,
permissions and throttles) without per-view work. A view still documents the errors that are its own
(e.g. 409 `reservation_conflict`) with `@extend_schema(responses=...)`, and those win.

The shapes are the exception handler's (spacemanager.exceptions): `{"detail": ..., "code": ...}`, or for
invalid input each field with its messages plus `code`.
"""

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "detail": serializers.CharField(help_text="A message a person can act on."),
        "code": serializers.CharField(help_text="A stable code to branch on, e.g. `reservation_conflict`."),
    },
)


class ValidationErrorSerializer(serializers.Serializer):
    """Documentation only: the 400 shape, described by ValidationErrorSchema below."""


# What a field's errors look like: a list of messages; for a list of objects (`opening_hours`) one object
# of field errors per item; for a list of strings (`amenities`) an object keyed by the item's index.
FIELD_ERRORS_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
        {"type": "object"},
    ],
    "description": "An invalid field: its messages (for a list field, its items' errors).",
}
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Invalid input. Each invalid field (or query parameter) maps to a list of messages; "
    "`non_field_errors` holds what concerns several fields; `detail` a message about the request as a whole "
    "(e.g. malformed JSON).",
    "required": ["code"],
    "properties": {
        "code": {
            "type": "string",
            "description": "A stable code to branch on: `invalid`, or the rule that was broken "
            "(e.g. `ends_before_start`, `closed`, `over_capacity`).",
        },
        "detail": {"type": "string", "description": "A message about the request as a whole."},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": FIELD_ERRORS_SCHEMA,
}


class ValidationErrorSchema(OpenApiSerializerExtension):
    target_class = ValidationErrorSerializer

    def get_name(self, auto_schema, direction) -> str:
        return "ValidationError"

    def map_serializer(self, auto_schema, direction) -> dict[str, Any]:
        return VALIDATION_ERROR_SCHEMA


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
            response=ValidationErrorSerializer,
            description="Invalid input: each field with its messages, or a `detail` about the whole request.",
            examples=[
                OpenApiExample("invalid", value={"email": ["Enter a valid email address."], "code": "invalid"}),
                OpenApiExample(
                    "parse_error",
                    value={
                        "detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)",
                        "code": "parse_error",
                    },
                ),
            ],
        ),
        401: OpenApiResponse(
            response=ErrorSerializer,
            description="No valid access token: none was sent, it expired, or it belongs to another organization "
            "(tokens work only on the host of the organization that issued them).",
            examples=[
                OpenApiExample(
                    "not_authenticated",
                    value={"detail": "Authentication credentials were not provided.", "code": "not_authenticated"},
                ),
                OpenApiExample(
                    "token_wrong_organization",
                    value={"detail": "This token belongs to another organization.", "code": "token_wrong_organization"},
                ),
            ],
        ),
        403: error_response(
            "permission_denied",
            "You do not have permission to perform this action.",
            description="Logged in, but your role here does not allow this (owners and admins only), or you are "
            "not a member of this organization.",
        ),
        404: OpenApiResponse(
            response=ErrorSerializer,
            description="Nothing here: no such object in this organization, a page past the last one, or a path "
            "that this host does not serve (registration is on the public host, everything else on an "
            "organization's host).",
            examples=[
                OpenApiExample("not_found", value={"detail": "Not found.", "code": "not_found"}),
                OpenApiExample("invalid page", value={"detail": "Invalid page.", "code": "not_found"}),
            ],
        ),
        413: error_response(
            "request_too_large",
            "The request body is larger than the 2621440 bytes allowed.",
            description="The body is larger than the server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE), or nested too "
            "deep to read.",
        ),
        415: error_response(
            "unsupported_media_type",
            'Unsupported media type "text/plain" in request.',
            description="The body is not JSON: send `Content-Type: application/json`.",
        ),
        429: error_response(
            "throttled",
            "Request was throttled. Expected available in 60 seconds.",
            description="Too many attempts; `Retry-After` says how many seconds to wait.",
        ),
    }
)


def _authenticates(operation: "AutoSchema") -> bool:
    from accounts.authentication import TokenChallengeOnly

    authenticators = operation.view.get_authenticators()
    return any(not isinstance(authenticator, TokenChallengeOnly) for authenticator in authenticators)


def _restricted(operation: "AutoSchema") -> bool:
    return any(not isinstance(permission, AllowAny) for permission in operation.view.get_permissions())


def _throttled(operation: "AutoSchema") -> bool:
    return bool(operation.view.get_throttles())


def _takes_a_body(operation: "AutoSchema") -> bool:
    return operation.method in ("POST", "PUT", "PATCH")


# Which errors an operation documents, judged from its view and method. A status a view documents on its own
# (with its own example or shape) is left as it is. Every operation can answer 400 (malformed JSON, an
# unknown parameter) and 404 (a path that the other kind of host serves).
GENERIC_ERRORS: list[tuple[int, Callable[["AutoSchema"], bool]]] = [
    (400, lambda operation: True),
    (401, lambda operation: _authenticates(operation) or _restricted(operation)),
    (403, _restricted),
    (404, lambda operation: True),
    (413, _takes_a_body),
    (415, _takes_a_body),
    (429, _throttled),
]


def _first_paragraph(text: str) -> tuple[str, str]:
    summary, _, rest = text.strip().partition("\n\n")
    return " ".join(summary.split()).rstrip("."), rest.strip()


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema plus the generic error responses, summaries and filter descriptions.

    An operation's docstring (the method's, else the view's) is its documentation: the first paragraph
    becomes the summary, the rest the description (the summary again when there is no rest).
    """

    def _docstring(self) -> str:
        method = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        return openapi.get_doc(method) or openapi.get_doc(self.view.__class__)

    def get_summary(self) -> str | None:
        summary, _ = _first_paragraph(self._docstring())
        return summary or None

    def get_description(self) -> str:
        summary, rest = _first_paragraph(self._docstring())
        return rest or (summary + "." if summary else "")

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, applies in GENERIC_ERRORS:
            if str(status) not in responses and applies(self):
                responses[str(status)] = self._get_response_for_code(
                    ERROR_RESPONSES[status], str(status), media_types=["application/json"], direction=direction
                )
        return dict(sorted(responses.items()))

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # A list that refuses to be empty (`allow_empty=False`) says so; drf-spectacular maps only min_length.
        if isinstance(field, serializers.ListField) and not field.allow_empty and schema.get("type") == "array":
            schema.setdefault("minItems", 1)
        return schema

    def _get_filter_parameters(self):
        parameters = super()._get_filter_parameters()
        filterset_class = getattr(self.view, "filterset_class", None)
        filters = filterset_class.base_filters if filterset_class is not None else {}
        for parameter in parameters:
            declared = filters.get(parameter["name"])
            if declared is not None and not parameter.get("description"):
                # A filter whose type comes from @extend_schema_field loses its help_text in drf-spectacular.
                parameter["description"] = declared.extra.get("help_text") or declared.label or ""
            if parameter["name"] == "ordering" and getattr(self.view, "ordering_fields", None):
                fields = ", ".join(f"`{field}`" for field in self.view.ordering_fields)
                default = ", ".join(getattr(self.view, "ordering", []) or [])
                parameter["description"] = (
                    f"Sort by {fields}; prefix with `-` for descending. Default: `{default}`."
                    if default
                    else f"Sort by {fields}; prefix with `-` for descending."
                )
        return parameters


# Dates in examples are written once, as literals (the oldest one a Monday, for weekday examples); at schema
# time they move forward by whole weeks so that the earliest lands in the coming week: never in the past,
# same weekdays. Month-only values (`2025-03`, a report's month) become last month: a report exists only for
# a month that has ended.
_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d])")
_MONTH = re.compile(r"(?<![\d-])(\d{4})-(\d{2})(?![\d-])")


def _dates_in(value: Any) -> list[date]:
    if isinstance(value, str):
        found = []
        for match in _DATE.finditer(value):
            try:
                found.append(date(*map(int, match.groups())))
            except ValueError:
                continue
        return found
    if isinstance(value, dict):
        return [found for item in value.values() for found in _dates_in(item)]
    if isinstance(value, list):
        return [found for item in value for found in _dates_in(item)]
    return []


def _shift(value: Any, days: int, last_month: str) -> Any:
    if isinstance(value, str):

        def moved(match: re.Match) -> str:
            try:
                return (date(*map(int, match.groups())) + timedelta(days=days)).isoformat()
            except ValueError:
                return match.group(0)

        return _MONTH.sub(last_month, _DATE.sub(moved, value))
    if isinstance(value, dict):
        return {key: _shift(item, days, last_month) for key, item in value.items()}
    if isinstance(value, list):
        return [_shift(item, days, last_month) for item in value]
    return value


def _example_holders(node: Any):
    """Every dict in the schema that holds an `example` or `examples`."""
    if isinstance(node, dict):
        if "example" in node or "examples" in node:
            yield node
        for value in node.values():
            yield from _example_holders(value)
    elif isinstance(node, list):
        for value in node:
            yield from _example_holders(value)


def date_examples_from_now(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: examples dated relative to today (see above)."""
    holders = list(_example_holders(result))
    found = [day for holder in holders for key in ("example", "examples") for day in _dates_in(holder.get(key))]
    if not found:
        return result
    today = timezone.localdate()
    weeks = max(0, -(-((today + timedelta(days=1)) - min(found)).days // 7))
    first_of_this_month = today.replace(day=1)
    last_month = (first_of_this_month - timedelta(days=1)).strftime("%Y-%m")
    for holder in holders:
        for key in ("example", "examples"):
            if key in holder:
                holder[key] = _shift(holder[key], weeks * 7, last_month)
    return result


# The tags, in the order ReDoc and Swagger UI show them. A new tag needs a line here (a test checks).
TAG_DESCRIPTIONS: dict[str, str] = {
    "auth": "Register an organization (public host), log in on an organization's host, refresh and revoke "
    "tokens, and see who you are there.",
    "members": "The people of this organization and their roles (owners and admins).",
    "spaces": "What can be booked: rooms, desks, halls, with their opening hours and rules; free-space search "
    "and each space's availability.",
    "reservations": "Bookings: create, change, cancel, approve. Two active reservations of one space never "
    "overlap; a clash answers 409 `reservation_conflict` with the conflicting intervals.",
    "reports": "Monthly figures per organization (owners and admins), as JSON or CSV.",
    "analytics": "Utilization, occupancy, bookings, revenue and rates over a chosen period (owners and admins).",
    "organization": "The organization's own settings: name, IANA time zone, ISO 4217 currency, booking defaults.",
    "invitations": "Invite people by email with a role; they join from the emailed link (accept with a token).",
    "api keys": "Named `sm_` keys for integrators, shown once, limited by scopes (`read`, `write`).",
    "locations": "Buildings and floors with their floor plans, and where each space sits on the plan.",
    "equipment": "Items bookings take along, in numbers (projectors, chairs, parking spots): never over-allocated; "
    "too few free answers 409 `equipment_unavailable`.",
    "quotes": "Prices up front: what a booking would cost, line by line, booking nothing.",
    "closures": "Holidays and maintenance: periods when chosen spaces (or all) cannot be booked.",
    "series": "Recurring bookings (RFC 5545 rules); every occurrence is an ordinary reservation.",
    "waitlist": "Wait for a taken slot: when it frees, the earliest waiting member whose interval is free and "
    "who passes every booking rule gets it as a reservation, and is emailed.",
    "webhooks": "Signed event deliveries (Standard Webhooks) to your endpoints, with a delivery log.",
    "billing": "Invoices per booker and month (draft, issued, paid, void; gapless numbers) as JSON, PDF or CSV, "
    "and the organization's billing settings.",
    "calendar feeds": "Private iCalendar feed URLs of your bookings, a space's busy times or the organization.",
}


def describe_tags(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: the tags list with descriptions, for the tags that operations use."""
    used = {
        tag
        for operations in result.get("paths", {}).values()
        for op in operations.values()
        for tag in op.get("tags", [])
    }
    known = [{"name": name, "description": text} for name, text in TAG_DESCRIPTIONS.items() if name in used]
    result["tags"] = known + [{"name": name} for name in sorted(used - set(TAG_DESCRIPTIONS))]
    return result


def real_pagination_examples(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: each paginated list's `next`/`previous` examples name its own path and a real host."""
    schemas = result.get("components", {}).get("schemas", {})
    for path, operations in result.get("paths", {}).items():
        get = operations.get("get", {})
        content = get.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
        ref = content.get("schema", {}).get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        if not name.startswith("Paginated") or name not in schemas:
            continue
        url = f"http://acme.{settings.BASE_DOMAIN}{path}"
        properties = schemas[name]["properties"]
        if "count" in properties:  # numbered pages
            properties["count"]["example"] = 45
            properties["next"]["example"] = f"{url}?page=3"
            properties["previous"]["example"] = url  # the first page's link carries no `page`
        else:  # cursor pages (the reservation lists): opaque cursors, no count
            properties["next"]["example"] = f"{url}?cursor=cD0yMDI3LTAzLTA4KzA5JTNBMDAlM0EwMCUyQjAwJTNBMDA%3D"
            properties["previous"]["example"] = None
    return result


def _request_schemas(result: dict) -> list[dict]:
    """Every object schema a request body reaches: the bodies' components and the objects nested in them."""
    components = result.get("components", {}).get("schemas", {})
    found: list[dict] = []
    seen: set[int] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict) or id(node) in seen:
            return
        seen.add(id(node))
        if "$ref" in node:
            walk(components.get(node["$ref"].rsplit("/", 1)[-1]))
            return
        if "properties" in node:
            found.append(node)
        for key in ("properties", "items", "allOf", "anyOf", "oneOf"):
            if key in node:
                walk(list(node[key].values()) if key == "properties" else node[key])

    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                for content in operation.get("requestBody", {}).get("content", {}).values():
                    walk(content.get("schema"))
    return found


def closed_request_bodies(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: request objects say `additionalProperties: false`, as the server does.

    The strict API (spacemanager.strict) refuses a body field the operation does not describe, nested ones
    too; the schema states it. Only request schemas (COMPONENT_SPLIT_REQUEST keeps them apart from the
    answers'); an object that declares its own `additionalProperties` (a free-form map) keeps it.
    """
    for node in _request_schemas(result):
        node.setdefault("additionalProperties", False)
    return result
