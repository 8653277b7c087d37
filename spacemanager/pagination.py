"""Pagination for the API and the pages.

Most lists are small (spaces, members: hundreds) and keep numbered pages. The reservation lists grow without
bound (200,000 rows at design size), so they page by cursor: each page is "the next N after this row",
answered by walking an index from that row, whatever the page number; no COUNT(*) and no OFFSET that
reads and throws away every earlier row. DRF's CursorPagination does the work for both interfaces.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import BadRequest
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request

from spacemanager.errors import ValidationFailed

INVALID_CURSOR = "This page link is broken or out of date; start again from the first page."


class DefaultPagination(PageNumberPagination):
    """`page` (from 1) and `page_size` (1 to 100, default 20). A `page_size` that is not a number in that
    range is refused (400) rather than silently replaced; a page past the last one is 404 "Invalid page"."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        try:
            size = int(value)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationFailed(
                f"Give a whole number from 1 to {self.max_page_size}.", field=self.page_size_query_param
            )
        return size

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = "Which page, from 1 (the default); past the last page: 404."
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
                parameter["description"] = (
                    f"Results per page, from 1 to {self.max_page_size} (default {self.page_size})."
                )
        return parameters


class KeysetPagination(CursorPagination):
    """`?cursor=` pages, newest ordering from the view (OrderingFilter) or `ordering`; id breaks ties.

    The cursor holds the first ordering field's value of the page's edge row (plus how many rows share it),
    so PostgreSQL starts from there in the index on (that field, id).
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("starts_at", "id")

    def decode_cursor(self, request):
        # DRF answers a mangled cursor with 404; it is a bad parameter, so 400 with the field named.
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}, code="invalid_cursor") from None

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        ordering = tuple(super().get_ordering(request, queryset, view))
        if not {"id", "-id", "pk", "-pk"} & set(ordering):
            # A unique last key makes the order total: rows sharing a start time never swap between pages.
            ordering = (*ordering, "-id" if ordering[0].startswith("-") else "id")
        return ordering


@dataclass(frozen=True)
class CursorPage:
    """What a page template needs: its rows and the links before and after it (None at either end)."""

    object_list: Sequence[Any]
    previous_url: str | None
    next_url: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.previous_url or self.next_url)


def cursor_page(request: HttpRequest, queryset: QuerySet, *, ordering: Sequence[str], per_page: int) -> CursorPage:
    """One page of `queryset` in `ordering` for an HTML view (`?cursor=` in the links, other parameters kept)."""
    paginator = KeysetPagination()
    paginator.ordering = tuple(ordering)
    paginator.page_size = per_page
    paginator.page_size_query_param = None
    try:
        rows = paginator.paginate_queryset(queryset, Request(request), view=None)
    except ValidationError:
        raise BadRequest(INVALID_CURSOR) from None
    return CursorPage(
        object_list=rows or [],
        previous_url=_relative(paginator.get_previous_link()),
        next_url=_relative(paginator.get_next_link()),
    )


def _relative(url: str | None) -> str | None:
    # DRF builds absolute links from the Host header; a page links within its own site.
    if url is None:
        return None
    return url[url.index("?") :] if "?" in url else "?"
