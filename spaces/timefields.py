"""Datetime inputs that refuse naive times: a time without an offset is ambiguous in a multi-timezone API."""

import re
from datetime import datetime, timedelta

import django_filters
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

NAIVE_MESSAGE = "Give the time with its UTC offset, e.g. 2025-03-01T09:00:00+01:00 or 2025-03-01T08:00:00Z."
# PostgreSQL stores offsets up to 15:59 either way ("time zone displacement out of range" beyond), Python
# parses up to 23:59: the difference would be a 500 on every filter that reaches the database.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
OFFSET_MESSAGE = "The UTC offset must be between -15:59 and +15:59."
# In a query string an unencoded "+" arrives as a space: "09:00:00 01:00" can only mean "+01:00".
_PLUS_AS_SPACE = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def _restore_plus(value: str) -> str:
    return _PLUS_AS_SPACE.sub(r"\1+\2", value.strip())


def storable_problem(value: datetime) -> str | None:
    """Why an aware datetime's offset cannot reach PostgreSQL, as an error code; None when it can.

    The one rule for every date-time input with an offset: API bodies, API filters and forms. (Dates too far
    from today are the selectors' and services' `out_of_range`; the pages take local wall times, no offset.)
    """
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        return "offset_out_of_range"
    return None


# 24-hour wall times as people type them on the pages: 9:30, 09:30, 14:00 (00:00 may mean midnight at the end).
CLOCK_PATTERN = r"([01]?[0-9]|2[0-3]):[0-5][0-9]"


class ClockInput(forms.TimeInput):
    """A 24-hour HH:MM text input for the pages' times.

    Chromium draws <input type="time"> in the browser's locale (02:30 PM in en-US), whatever the page's `lang`,
    while every page shows 24-hour times: a text input with a pattern shows what the rest of the page does.
    The form field (a TimeField) parses it as before; templates/spaces/_schedule.html repeats these attributes.
    """

    input_type = "text"

    def __init__(self, attrs: dict | None = None) -> None:
        defaults = {
            "pattern": CLOCK_PATTERN,
            "placeholder": "HH:MM",
            "maxlength": "5",
            "autocomplete": "off",
            "class": "clock-input",
            "title": "24-hour time, such as 09:30 or 14:00",
        }
        super().__init__({**defaults, **(attrs or {})}, format="%H:%M")


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset in, the organization's time with its offset out (the view activates it)."""

    default_error_messages = {"naive": NAIVE_MESSAGE, "offset_out_of_range": OFFSET_MESSAGE}

    def to_internal_value(self, value):
        if isinstance(value, str):
            value = _restore_plus(value)
        return super().to_internal_value(value)

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        problem = storable_problem(value)
        if problem:
            self.fail(problem)
        return super().enforce_timezone(value)


class AwareIsoDateTimeFormField(forms.DateTimeField):
    default_error_messages = {
        "invalid": "Enter an ISO 8601 date and time with its offset.",
        "naive": NAIVE_MESSAGE,
        "offset_out_of_range": OFFSET_MESSAGE,
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            parsed = parse_datetime(_restore_plus(str(value)))
        except ValueError:  # well-formed but impossible, e.g. month 13
            parsed = None
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if timezone.is_naive(parsed):
            raise forms.ValidationError(self.error_messages["naive"], code="naive")
        problem = storable_problem(parsed)
        if problem:
            raise forms.ValidationError(self.error_messages[problem], code=problem)
        return parsed


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeFilter(django_filters.Filter):
    field_class = AwareIsoDateTimeFormField


class OrganizationTimezoneMixin:
    """API views that speak the organization's time: datetimes render with its offset during the request."""

    def initial(self, request, *args, **kwargs):
        tenant = getattr(request, "tenant", None)
        if tenant is not None and not tenant.is_public:
            timezone.activate(tenant.timezone)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        timezone.deactivate()
        return super().finalize_response(request, response, *args, **kwargs)
