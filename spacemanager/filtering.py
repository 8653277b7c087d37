"""The API's query filters (DRF's filter backend), as strict as their OpenAPI types say.

django-filter reads an empty value as "no filter" and any unknown boolean word as "unknown", which suits an
HTML form; an API client that sends `?is_active=maybe` or `?to=` made a mistake and is told so (400).
"""

from django import forms
from django_filters import BooleanFilter, NumberFilter
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

# Form fields whose values are not free text: for them an empty value is no value.
TYPED_FIELDS = (
    forms.BooleanField,
    forms.NullBooleanField,
    forms.DecimalField,
    forms.IntegerField,
    forms.FloatField,
    forms.ChoiceField,
    forms.DateTimeField,
    forms.DateField,
)
BOOLEAN_WORDS = {"true", "false"}


class StrictDjangoFilterBackend(DjangoFilterBackend):
    def get_filterset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            errors = {}
            for name, declared in filterset_class.base_filters.items():
                values = request.query_params.getlist(name)
                if isinstance(declared, BooleanFilter) and any(value not in BOOLEAN_WORDS for value in values):
                    errors[name] = ["Give true or false."]
                elif issubclass(declared.field_class, TYPED_FIELDS) and "" in values:
                    errors[name] = ["Give a value, or leave the parameter out."]
            if errors:
                raise ValidationError(errors)
        return super().get_filterset(request, queryset, view)


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(NumberFilter):
    """A whole number (an id, a count); django-filter's NumberFilter takes any decimal."""

    field_class = forms.IntegerField
