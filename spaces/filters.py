"""Filters of the space list, shared by the API (django-filter backend) and `spaces.selectors.space_list`."""

from zoneinfo import ZoneInfo

import django_filters
from django import forms
from django.db import connection
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema_field

from spacemanager.errors import ValidationFailed
from spacemanager.filtering import IntegerFilter
from spaces.models import Space
from spaces.timefields import AwareDateTimeFilter


class TagsField(forms.Field):
    """A repeatable query parameter (`?amenity=projector&amenity=video`)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[str]:
        if not value:
            return []
        values = [value] if isinstance(value, str) else value
        return sorted({tag.strip().lower() for item in values for tag in item.split(",") if tag.strip()})


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class TagsFilter(django_filters.Filter):
    field_class = TagsField

    def filter(self, qs: QuerySet, value: list[str]) -> QuerySet:
        # `@>` on the array, answered by the GIN index.
        return qs.filter(amenities__contains=value) if value else qs


class SpaceFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Space.Kind.choices)
    capacity_min = IntegerFilter(
        field_name="capacity", lookup_expr="gte", min_value=0, help_text="Spaces for at least this many people."
    )
    amenity = TagsFilter(help_text="Spaces with every listed amenity; repeat the parameter for several.")
    search = django_filters.CharFilter(method="filter_search", help_text="Words in the name, description or location.")
    is_active = django_filters.BooleanFilter(help_text="Archived spaces with `false`; active ones by default.")
    available_from = AwareDateTimeFilter(
        method="filter_nothing", help_text="With `available_to`: only spaces free and open for the whole interval."
    )
    available_to = AwareDateTimeFilter(method="filter_nothing", help_text="End of the free-space search interval.")
    updated_since = AwareDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Sync: every space changed at or after this time, archived ones included, in (updated_at, id) "
        "order unless `ordering` says otherwise.",
    )

    class Meta:
        model = Space
        fields = [
            "kind",
            "capacity_min",
            "amenity",
            "search",
            "is_active",
            "available_from",
            "available_to",
            "updated_since",
        ]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(description__icontains=value)
            | Q(location__icontains=value)
            | Q(amenities__contains=[value.lower()])
        )

    def filter_nothing(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset  # the pair is applied together in filter_queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        from spaces.selectors import space_list_available

        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        if data.get("is_active") is None and data.get("updated_since") is None:
            queryset = queryset.filter(is_active=True)  # a sync sees archiving too
        starts_at, ends_at = data.get("available_from"), data.get("available_to")
        if (starts_at is None) != (ends_at is None):
            missing = "available_to" if ends_at is None else "available_from"
            raise ValidationFailed("Give both available_from and available_to.", field=missing)
        if starts_at is not None:
            queryset = space_list_available(
                starts_at=starts_at,
                ends_at=ends_at,
                tz=ZoneInfo(connection.tenant.timezone),
                queryset=queryset,
                attendees=data.get("capacity_min") or 1,
            )
        return queryset
