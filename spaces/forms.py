"""Forms of the spaces pages. Field names are the API's JSON names; the rules stay in spaces.services (the
forms only parse what people type: numbers, tags, "08:00-12:00, 13:00-18:00", local dates and times)."""

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import QuerySet

from spaces.hours import END_OF_DAY, MIDNIGHT, WEEKDAY_NAMES, WeeklyInterval
from spaces.localtime import local_today, since_midnight, wall_to_instant
from spaces.models import Space
from spaces.selectors import MAX_YEARS
from spaces.services import SPACE_FIELDS
from spaces.timefields import ClockInput

# How far the calendar and the free-space search go either way: far enough for any real booking, near
# enough that date arithmetic never leaves the calendar.
NO_SUCH_TIME = "This time does not exist on that day: the clocks skip it (daylight saving time). Choose another."


def check_year_range(day: date, today: date) -> None:
    if abs(day.year - today.year) > MAX_YEARS:
        raise forms.ValidationError(f"Choose a date within {MAX_YEARS} years of today.", code="out_of_range")


class LocalDateTimeField(forms.DateTimeField):
    """A `datetime-local` input: a wall time in the organization's timezone. The form turns it into an
    instant (`SpaceSearchForm.instant`), refusing the times the clocks skip."""

    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("widget", forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
        super().__init__(**kwargs)

    def to_python(self, value):
        # Keep the wall time naive: Django would otherwise read it in the active timezone and paper over gaps.
        if value in self.empty_values:
            return None
        for pattern in self.input_formats:
            try:
                return datetime.strptime(str(value).strip(), pattern)  # noqa: DTZ007 (a wall time, zoned below)
            except ValueError:
                continue
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class SpaceSearchForm(forms.Form):
    """The spaces page's filters (GET). `available_from`/`available_to` are local wall times."""

    search = forms.CharField(required=False, max_length=100, label="Search", help_text="Name, location or amenity.")
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Space.Kind.choices], label="Kind")
    capacity_min = forms.IntegerField(required=False, min_value=1, max_value=100_000, label="People (at least)")
    amenity = forms.MultipleChoiceField(
        required=False, label="Amenities", widget=forms.CheckboxSelectMultiple, help_text="Every one ticked."
    )
    available_from = LocalDateTimeField(required=False, label="Free from")
    available_to = LocalDateTimeField(required=False, label="Free until")

    def __init__(self, *args, tz: ZoneInfo, amenities: list[str], **kwargs) -> None:
        self.tz = tz
        super().__init__(*args, **kwargs)
        self.fields["amenity"].choices = [(tag, tag.replace("_", " ")) for tag in amenities]

    def _instant(self, name: str) -> datetime | None:
        value = self.cleaned_data.get(name)
        if value is None:
            return None
        try:
            check_year_range(value.date(), local_today(self.tz))
        except forms.ValidationError as error:
            self.add_error(name, error)
            return None
        instant = wall_to_instant(value.date(), value.time(), self.tz)
        if instant is None:
            self.add_error(name, NO_SUCH_TIME)
        return instant

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        starts_at, ends_at = self._instant("available_from"), self._instant("available_to")
        given = {name for name in ("available_from", "available_to") if self.data.get(name)}
        if len(given) == 1 and not self.errors:
            missing = ({"available_from", "available_to"} - given).pop()
            self.add_error(missing, "Give both times to find the spaces free in between.")
        cleaned["starts_at"], cleaned["ends_at"] = starts_at, ends_at
        return cleaned

    @property
    def filters(self) -> dict[str, Any]:
        """The filters of `spaces.selectors.space_list` (the API's names)."""
        data = self.cleaned_data
        filters = {name: data[name] for name in ("search", "kind", "amenity") if data.get(name)}
        if data.get("capacity_min"):
            filters["capacity_min"] = data["capacity_min"]
        return filters

    @property
    def is_filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields)


class WeekForm(forms.Form):
    """`?week=` of the calendar: any day of the week to show."""

    week = forms.DateField(required=False)

    def __init__(self, *args, today: date, **kwargs) -> None:
        self.today = today
        super().__init__(*args, **kwargs)

    def clean_week(self) -> date:
        day = self.cleaned_data.get("week") or self.today
        check_year_range(day, self.today)
        return day


class AmenitiesField(forms.CharField):
    """Tags typed as "projector, whiteboard"; the model checks each tag."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value) or ""
        return [tag.strip() for tag in re.split(r"[,\n]", text) if tag.strip()]


_SPAN = re.compile(r"^(\d{1,2})(?::?(\d{2}))?\s*(?:-|\u2013|\u2014|to)\s*(\d{1,2})(?::?(\d{2}))?$")


def _clock(hours: str, minutes: str | None, *, closing: bool) -> time:
    hour, minute = int(hours), int(minutes or 0)
    if closing and hour == 24 and minute == 0:
        return MIDNIGHT
    if hour > 23 or minute > 59:
        raise ValueError
    return time(hour, minute)


def parse_day_hours(text: str, weekday: int) -> list[WeeklyInterval]:
    """ "08:00-12:00, 13:00-18:00" → intervals; "" or "closed" → none. 24:00 (or 00:00) closes at midnight."""
    text = text.strip().lower()
    if text in ("", "closed"):
        return []
    intervals = []
    for part in re.split(r"[,;]", text):
        match = _SPAN.match(part.strip())
        try:
            if match is None:
                raise ValueError
            opens = _clock(match[1], match[2], closing=False)
            closes = _clock(match[3], match[4], closing=True)
        except ValueError:
            raise forms.ValidationError(
                f"Write the hours as 08:00-18:00; several intervals with commas. “{part.strip()}” is not a time span.",
                code="invalid",
            ) from None
        intervals.append(WeeklyInterval(weekday, opens, closes))
    return intervals


def format_day_hours(intervals: list[WeeklyInterval]) -> str:
    return ", ".join(
        f"{row.opens_at:%H:%M}-{'24:00' if row.closes_at == MIDNIGHT else f'{row.closes_at:%H:%M}'}"
        for row in sorted(intervals, key=lambda row: row.opens)
    )


HOURS_FIELD_PREFIX = "opening_hours_"
DEFAULT_HOURS = "08:00-18:00"


class SpaceForm(forms.Form):
    """Create or edit a space, with its weekly opening hours (one text field per weekday)."""

    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=Space.Kind.choices, initial=Space.Kind.MEETING_ROOM)
    capacity = forms.IntegerField(min_value=1, max_value=100_000, initial=1, help_text="How many people fit.")
    location = forms.CharField(max_length=200, required=False, help_text="Building, floor, directions.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    amenities = AmenitiesField(
        required=False,
        max_length=1000,
        help_text="Short tags separated by commas, e.g. projector, whiteboard, video.",
    )
    hourly_rate = forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        max_digits=10,
        decimal_places=2,
        label="Hourly rate",
        help_text="Leave empty if the space is free to book.",
    )
    half_day_rate = forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        max_digits=10,
        decimal_places=2,
        label="Half-day rate",
        help_text="Up to 4 hours within one day. Bookings get the cheapest mix of rates.",
    )
    day_rate = forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        max_digits=10,
        decimal_places=2,
        label="Day rate",
        help_text="Any length within one day.",
    )
    min_duration_minutes = forms.IntegerField(
        min_value=1, max_value=44_640, initial=15, label="Shortest booking", help_text="In minutes."
    )
    max_duration_minutes = forms.IntegerField(
        min_value=1, max_value=44_640, initial=12 * 60, label="Longest booking", help_text="In minutes."
    )
    max_days_ahead = forms.IntegerField(
        min_value=0, max_value=3650, initial=365, label="Bookable up to", help_text="Days ahead."
    )
    requires_approval = forms.BooleanField(
        required=False,
        label="Bookings need approval",
        help_text="New bookings stay pending until an owner or admin approves them.",
    )
    buffer_before_minutes = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=1440,
        initial=0,
        label="Setup time",
        help_text="Minutes kept free before each booking.",
    )
    buffer_after_minutes = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=1440,
        initial=0,
        label="Cleanup time",
        help_text="Minutes kept free after each booking.",
    )
    max_upcoming_per_member = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10_000,
        label="Upcoming bookings per member",
        help_text="Empty: the organization's default. Owners and admins are exempt.",
    )
    max_hours_per_week_per_member = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=168,
        label="Hours per member per week",
        help_text="Empty: the organization's default. Owners and admins are exempt.",
    )
    check_in_required = forms.BooleanField(
        required=False,
        label="Bookers check in",
        help_text="From 15 minutes before the start to the end of the grace; bookings nobody checks in are released.",
    )
    check_in_grace_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1440,
        initial=15,
        label="Check-in grace",
        help_text="Minutes after the start; empty: 15.",
    )
    affected_bookings = forms.ChoiceField(
        required=False,
        choices=[
            ("keep", "Keep them: they stay booked and editable"),
            ("cancel", "Cancel them and tell each booker why"),
        ],
        widget=forms.RadioSelect,
        label="Bookings the change no longer allows",
    )
    always_open = forms.BooleanField(
        required=False,
        label="Bookable at any time",
        help_text="No opening hours: people can book any hour of any day. Untick to set the hours below.",
    )

    # What space_create/space_update take, but archiving: that has its own page.
    SERVICE_FIELDS = tuple(name for name in SPACE_FIELDS if name != "is_active")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for weekday, name in enumerate(WEEKDAY_NAMES):
            self.fields[f"{HOURS_FIELD_PREFIX}{weekday}"] = forms.CharField(
                required=False,
                max_length=200,
                label=name,
                widget=forms.TextInput(attrs={"placeholder": "Closed", "inputmode": "text", "autocomplete": "off"}),
            )

    @classmethod
    def initial_for_new(cls, organization=None) -> dict[str, Any]:
        weekdays = {f"{HOURS_FIELD_PREFIX}{weekday}": DEFAULT_HOURS for weekday in range(5)}
        initial = {"always_open": False, **weekdays}
        if organization is not None:  # the organization's defaults for new spaces
            initial["check_in_required"] = organization.default_check_in_required
            initial["check_in_grace_minutes"] = organization.default_check_in_grace_minutes
        return initial

    @classmethod
    def initial_for(cls, space: Space, rows: list[WeeklyInterval]) -> dict[str, Any]:
        initial = {name: getattr(space, name) for name in cls.SERVICE_FIELDS}
        initial["always_open"] = not rows
        for weekday in range(7):
            initial[f"{HOURS_FIELD_PREFIX}{weekday}"] = format_day_hours([r for r in rows if r.weekday == weekday])
        return initial

    @property
    def hours_fields(self) -> list[forms.BoundField]:
        return [self[f"{HOURS_FIELD_PREFIX}{weekday}"] for weekday in range(7)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in ("buffer_before_minutes", "buffer_after_minutes"):
            if name not in self.errors and cleaned.get(name) is None:
                cleaned[name] = 0  # empty means no buffer
        if "check_in_grace_minutes" not in self.errors and cleaned.get("check_in_grace_minutes") is None:
            cleaned["check_in_grace_minutes"] = Space._meta.get_field("check_in_grace_minutes").default
        if cleaned.get("always_open"):
            cleaned["opening_hours"] = []  # the weekday fields are ignored
            return cleaned
        intervals: list[WeeklyInterval] = []
        unreadable = False
        for weekday in range(7):
            name = f"{HOURS_FIELD_PREFIX}{weekday}"
            try:
                intervals += parse_day_hours(cleaned.get(name, ""), weekday)
            except forms.ValidationError as error:
                self.add_error(name, error)
                unreadable = True
        if not intervals and not unreadable:
            # No rows would mean "open at any time": say so explicitly rather than by leaving every day empty.
            self.add_error(None, "Give the opening hours of at least one day, or tick “Bookable at any time”.")
        cleaned["opening_hours"] = intervals
        return cleaned

    @property
    def space_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.SERVICE_FIELDS}

    def hours_field_for(self, message: str) -> str | None:
        """The weekday field a service's opening-hours message is about ("Monday: …"), if it names one."""
        for weekday, name in enumerate(WEEKDAY_NAMES):
            if message.startswith(f"{name}:"):
                return f"{HOURS_FIELD_PREFIX}{weekday}"
        return None


class ClosureForm(forms.Form):
    """Declare a closure: from a local day (and time) to another, for chosen spaces or all of them."""

    first_day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), label="From")
    start = forms.TimeField(
        required=False,
        widget=ClockInput(),
        label="From time",
        help_text="Empty: from the start of the day.",
    )
    last_day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), label="Until")
    end = forms.TimeField(
        required=False,
        widget=ClockInput(),
        label="Until time",
        help_text="Empty: to the end of the day.",
    )
    reason = forms.CharField(max_length=200, help_text="Bookers are told, e.g. “Public holiday”.")
    spaces = forms.ModelMultipleChoiceField(
        queryset=Space.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every space is closed.",
    )
    cancel_affected = forms.BooleanField(
        required=False,
        label="Cancel the bookings inside it",
        help_text="Each booker gets an email giving the reason. Otherwise they are listed for you to decide.",
    )

    def __init__(self, *args, tz: ZoneInfo, spaces: QuerySet[Space], **kwargs) -> None:
        self.tz = tz
        super().__init__(*args, **kwargs)
        self.fields["spaces"].queryset = spaces

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        for name, day in (("first_day", first), ("last_day", last)):
            if day is not None:
                try:
                    check_year_range(day, local_today(self.tz))
                except forms.ValidationError as error:
                    self.add_error(name, error)
                    return cleaned
        if first is None or last is None:
            return cleaned
        start, end = cleaned.get("start"), cleaned.get("end")
        cleaned["starts_at"] = wall_to_instant(first, start or MIDNIGHT, self.tz)
        cleaned["ends_at"] = wall_to_instant(last, since_midnight(end) if end else END_OF_DAY, self.tz)
        if cleaned["starts_at"] is None:
            self.add_error("start", NO_SUCH_TIME)
        if cleaned["ends_at"] is None:
            self.add_error("end", NO_SUCH_TIME)
        return cleaned

    @property
    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "reason": data["reason"],
            "space_ids": [space.pk for space in data["spaces"]],
            "cancel_affected": data["cancel_affected"],
        }


class ScheduleForm(forms.Form):
    """The schedule's day and filters (GET); all of them stay in the address."""

    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Space.Kind.choices], label="Kind")
    location = forms.ChoiceField(required=False, label="Location")
    amenity = forms.MultipleChoiceField(required=False, label="Amenities", widget=forms.CheckboxSelectMultiple)
    capacity_min = forms.IntegerField(required=False, min_value=1, max_value=100_000, label="People (at least)")
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, today: date, amenities: list[str], locations: list[str], **kwargs) -> None:
        self.today = today
        super().__init__(*args, **kwargs)
        self.fields["amenity"].choices = [(tag, tag.replace("_", " ")) for tag in amenities]
        self.fields["location"].choices = [("", "Anywhere"), *((place, place) for place in locations)]

    def clean_date(self) -> date:
        day = self.cleaned_data.get("date") or self.today
        check_year_range(day, self.today)
        return day

    @property
    def day(self) -> date:
        return self.cleaned_data["date"] if self.is_valid() else self.today

    @property
    def filters(self) -> dict[str, Any]:
        """The filters of `spaces.selectors.space_list` (the API's names)."""
        data = self.cleaned_data
        filters: dict[str, Any] = {name: data[name] for name in ("kind", "amenity") if data.get(name)}
        if data.get("capacity_min"):
            filters["capacity_min"] = data["capacity_min"]
        return filters
