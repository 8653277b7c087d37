"""A strict API: what an operation does not accept is refused with a 400 that names it, never ignored.

One contract for every operation, read from the OpenAPI schema the API publishes (so the docs and the checks
cannot disagree): the query parameters it documents, plus its filters, `ordering` and pagination; and the
request body's properties. A body field that the operation's answer has but its request does not (`id`,
`status`, `price`, `user`, …) is refused as read-only; any other unknown name as unknown, nested ones too
(`opening_hours[0].colour`). A value of another JSON type than the schema's (`{"name": 0}`, a `"yes"` for a
boolean, a `page=` that is not a whole number) is refused too: DRF's fields would coerce it.

`strict_views()` (spacemanager/api_urls.py) applies `StrictRequestMixin` to every API route at once, so a
new view is strict without anyone remembering to make it so. The check runs after authentication,
permissions and throttles: a stranger learns nothing from it, a 401/403/429 comes first. `StrictOrderingFilter`
(REST_FRAMEWORK's filter backends) refuses orderings a view does not offer.
"""

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from django.urls import URLPattern, URLResolver
from rest_framework import exceptions
from rest_framework.filters import OrderingFilter
from rest_framework.views import APIView

SYNC_PARAMETER = "updated_since"


class StrictInputError(exceptions.APIException):
    status_code = 400
    default_code = "unknown_input"

    def __init__(self, errors: dict[str, list[str]], code: str) -> None:
        super().__init__({**errors, "code": code})


@dataclass(frozen=True)
class Contract:
    query: frozenset[str]
    query_types: dict[str, str]  # a query parameter's JSON type, where the schema gives one
    body: frozenset[str] | None  # None: the body is not an object the schema describes; not checked
    read_only: frozenset[str]
    body_schema: dict | None = None  # the request object's schema, for the names inside it
    schema: dict | None = None


def _component(schema: dict, node: dict | None) -> dict:
    """A schema node with its `$ref` (and a single allOf) resolved."""
    while node:
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        elif len(node.get("allOf", [])) == 1:
            node = node["allOf"][0]
        else:
            return node
    return {}


def _properties(schema: dict, content: Mapping[str, Any] | None) -> frozenset[str] | None:
    # A multipart body (an upload) is held to its names only: its values are all strings or files.
    json = (content or {}).get("application/json") or (content or {}).get("multipart/form-data")
    if json is None:
        return None
    node = _component(schema, json.get("schema"))
    if node.get("type") == "array" or "properties" not in node:
        return None
    return frozenset(node["properties"])


def _query_type(node: dict) -> str | None:
    """`integer`, `number`, `date` (a string of that format), or the plain type."""
    if node.get("type") == "string" and node.get("format") == "date":
        return "date"
    return node.get("type")


def _contract(schema: dict, operation: dict) -> Contract:
    in_query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
    query = frozenset(p["name"] for p in in_query)
    query_types = {p["name"]: _query_type(_component(schema, p.get("schema"))) for p in in_query}
    request_body = operation.get("requestBody")
    body = _properties(schema, request_body["content"]) if request_body else frozenset()
    answered = frozenset()
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            answered |= _properties(schema, response.get("content")) or frozenset()
    body_schema = None
    if request_body and body is not None and "application/json" in request_body["content"]:
        body_schema = _component(schema, request_body["content"]["application/json"].get("schema"))
    return Contract(
        query=query,
        query_types={name: kind for name, kind in query_types.items() if kind},
        body=body,
        read_only=answered - (body or frozenset()),
        body_schema=body_schema,
        schema=schema,
    )


def _unknown_inside(schema: dict, node: dict | None, data: Any, path: str) -> list[str]:
    """Names in nested objects (`opening_hours[0].colour`) that their schema does not describe."""
    node = _component(schema, node)
    if isinstance(data, Mapping) and "properties" in node:
        found = []
        for key, value in data.items():
            if key not in node["properties"]:
                found.append(f"{path}.{key}")
            else:
                found += _unknown_inside(schema, node["properties"][key], value, f"{path}.{key}")
        return found
    if isinstance(data, list) and "items" in node:
        return [
            name for i, item in enumerate(data) for name in _unknown_inside(schema, node["items"], item, f"{path}[{i}]")
        ]
    return []


# What each JSON type of the schema is in Python, as json.loads gives it (a bool is not a number here).
_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: (
        (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())
    ),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "boolean": lambda value: isinstance(value, bool),
    "array": lambda value: isinstance(value, list),
    "object": lambda value: isinstance(value, Mapping),
}
_TYPE_NAMES = {
    "date": "a date (YYYY-MM-DD)",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


def _wrong_types(schema: dict, node: dict | None, data: Any, path: str) -> dict[str, str]:
    """Values (nested ones too) whose JSON type is not the schema's, each with the type it should have.

    DRF's fields coerce (`0` becomes the name "0", `"yes"` a boolean); the schema promises one type, so the
    API holds every body to it here, in one place, before any serializer sees it.
    """
    resolved = _component(schema, node)
    if data is None:
        nullable = (node or {}).get("nullable") or resolved.get("nullable")
        return {} if nullable or not resolved.get("type") else {path: "null"}
    kind = resolved.get("type")
    if kind in _JSON_TYPES and not _JSON_TYPES[kind](data):
        return {path: kind}
    found: dict[str, str] = {}
    if isinstance(data, Mapping) and "properties" in resolved:
        for key, value in data.items():
            if key in resolved["properties"]:
                found |= _wrong_types(schema, resolved["properties"][key], value, f"{path}.{key}")
    elif isinstance(data, list) and "items" in resolved:
        for i, item in enumerate(data):
            found |= _wrong_types(schema, resolved["items"], item, f"{path}[{i}]")
    return found


def _type_message(kind: str) -> str:
    return "This field may not be null." if kind == "null" else f"Must be {_TYPE_NAMES[kind]}."


def _query_is(kind: str, value: str) -> bool:
    """A query value that reads as the schema's type (numbers and dates; filters parse the rest)."""
    if kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return bool(_DATE.fullmatch(value))
    if kind == "integer":
        return bool(_INTEGER.fullmatch(value))
    if kind == "number":
        return bool(_NUMBER.fullmatch(value))
    return True


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")

_contracts_lock = threading.Lock()


def contracts() -> dict[tuple[type, str], Contract]:
    """Every operation's contract, by (view class, HTTP method); built once per process (under a second).

    Under a lock: drf-spectacular's generator is not thread-safe, and the first requests of a threaded
    server (or racing test threads) would otherwise build it side by side and fail with a 500.
    """
    with _contracts_lock:
        return _contracts_build()


@cache
def _contracts_build() -> dict[tuple[type, str], Contract]:
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator(urlconf="spacemanager.urls_schema")
    schema = generator.get_schema(request=None, public=True)
    found: dict[tuple[type, str], Contract] = {}
    for path, _, method, view in generator._get_paths_and_endpoints():
        operation = schema["paths"].get(path if path.startswith("/") else f"/{path}", {}).get(method.lower())
        if operation is not None:
            found[(type(view), method)] = _contract(schema, operation)
    return found


def _runtime_query_names(view: APIView, method: str) -> set[str]:
    """What the view's own machinery reads, documented or not: filters, ordering, pagination."""
    names: set[str] = set()
    filterset = getattr(view, "filterset_class", None)
    if filterset is not None:
        names |= set(filterset.base_filters)
    if getattr(view, "ordering_fields", None):
        names.add(OrderingFilter.ordering_param)
    paginator = getattr(view, "paginator", None)
    if method == "GET" and paginator is not None:
        # Page numbers (PageNumberPagination) or cursors (KeysetPagination): whichever the view pages by.
        params = ("page_query_param", "cursor_query_param", "page_size_query_param")
        names |= {name for name in (getattr(paginator, param, None) for param in params) if name}
    return names


def request_check(view: APIView, request) -> None:
    """Raise StrictInputError (400) for query parameters and body fields the operation does not accept."""
    method = request.method.upper()
    if method in {"OPTIONS", "HEAD"}:
        return
    contract = contracts().get((type(view), method))
    if contract is None:  # not in the schema (excluded on purpose): nothing to hold it to
        return
    unknown = sorted(set(request.query_params) - contract.query - _runtime_query_names(view, method))
    if unknown:
        raise StrictInputError(
            {
                name: [f"Unknown query parameter. This operation accepts: {_listing(contract.query)}."]
                for name in unknown
            },
            code="unknown_parameter",
        )
    mistyped = sorted(
        name
        for name, kind in contract.query_types.items()
        if any(not _query_is(kind, value) for value in request.query_params.getlist(name))
    )
    if mistyped:
        raise StrictInputError(
            {name: [_type_message(contract.query_types[name])] for name in mistyped}, code="invalid_type"
        )
    if contract.body is None or (method in {"GET", "DELETE"} and not request.stream):
        return
    data = request.data
    if not isinstance(data, Mapping):
        return
    read_only = sorted(set(data) & contract.read_only)
    unknown = sorted(set(data) - contract.body - contract.read_only)
    errors = {name: ["This field is read-only: it cannot be set."] for name in read_only}
    errors |= {name: [f"Unknown field. This operation accepts: {_listing(contract.body)}."] for name in unknown}
    properties = (contract.body_schema or {}).get("properties", {})
    inside = [
        nested
        for name in sorted(set(data) & set(properties))
        for nested in _unknown_inside(contract.schema, properties[name], data[name], name)
    ]
    errors |= {name: ["Unknown field."] for name in inside}
    unknown += inside
    if errors:
        raise StrictInputError(errors, code="read_only_field" if not unknown else "unknown_field")
    mistyped = {
        name: kind
        for field in sorted(set(data) & set(properties))
        for name, kind in _wrong_types(contract.schema, properties[field], data[field], field).items()
    }
    if mistyped:
        raise StrictInputError({name: [_type_message(kind)] for name, kind in mistyped.items()}, code="invalid_type")


def _listing(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "nothing"


class StrictRequestMixin:
    """Refuse undocumented query parameters and body fields (see the module's docstring)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        request_check(self, request)


def strict_views(patterns: list) -> list:
    """The same URL patterns with every DRF view made strict (a subclass with StrictRequestMixin first)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            strict_views(pattern.url_patterns)
            continue
        if not isinstance(pattern, URLPattern):
            continue
        view_class = getattr(pattern.callback, "cls", None)
        if view_class is None or issubclass(view_class, StrictRequestMixin):
            continue
        strict_class = type(
            view_class.__name__,
            (StrictRequestMixin, view_class),
            {"__module__": view_class.__module__, "__doc__": view_class.__doc__ or ""},
        )
        pattern.callback = strict_class.as_view(**(getattr(pattern.callback, "initkwargs", None) or {}))
    return patterns


class StrictOrderingFilter(OrderingFilter):
    """`ordering` on a field the view does not offer is a 400 naming it (DRF's filter drops it silently).

    A sync (`updated_since`) without an explicit ordering pages in (updated_at, id) order: stable, and a row
    changed while the client pages comes again at the end instead of being skipped.
    """

    def get_valid_fields(self, queryset, view, context=None):
        # Without a declared list DRF offers every serializer field; we offer only what the view declares.
        if not getattr(view, "ordering_fields", None):
            return []
        return super().get_valid_fields(queryset, view, context or {})

    def get_ordering(self, request, queryset, view):
        value = request.query_params.get(self.ordering_param)
        if value:
            terms = [term.strip() for term in value.split(",") if term.strip()]
            valid = {name for name, _ in self.get_valid_fields(queryset, view, {"request": request})}
            refused = [term for term in terms if term.lstrip("-") not in valid]
            if refused:
                raise StrictInputError(
                    {
                        self.ordering_param: [
                            f"Cannot order by {', '.join(refused)}. Order by: {_listing(valid)} (a leading - reverses)."
                        ]
                    },
                    code="invalid_ordering",
                )
            return terms
        if request.query_params.get(SYNC_PARAMETER):
            return ["updated_at", "id"]
        return self.get_default_ordering(view)
