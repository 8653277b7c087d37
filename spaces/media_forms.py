"""Forms of the photo and floor-plan pages (parsing only; the rules are in spaces.media_services)."""

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms

from spaces.forms import NO_SUCH_TIME, check_year_range
from spaces.hours import END_OF_DAY, MIDNIGHT
from spaces.localtime import local_today, since_midnight, wall_to_instant
from spaces.models import Space
from spaces.timefields import ClockInput

IMAGE_ACCEPT = "image/jpeg,image/png,image/webp"


class ImageUploadForm(forms.Form):
    image = forms.FileField(
        widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
        help_text="JPEG, PNG or WebP, at most 10 MB. Location and camera data in the file are removed.",
    )


class LocationForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="A building or a floor, e.g. “Building A, 2nd floor”.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PlaceForm(forms.Form):
    """Where a space sits on the plan: chosen by clicking the plan (which fills x and y), or typed."""

    space = forms.ModelChoiceField(queryset=Space.objects.none(), empty_label="Choose a space")
    x = forms.FloatField(min_value=0, max_value=1, help_text="0 is the left edge, 1 the right edge.")
    y = forms.FloatField(min_value=0, max_value=1, help_text="0 is the top edge, 1 the bottom edge.")

    def __init__(self, *args, spaces, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["space"].queryset = spaces


class PlanTimeForm(forms.Form):
    """The time members look for a free spot on the plan (GET): one local day, from `start` to `end`."""

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    start = forms.TimeField(widget=ClockInput())
    end = forms.TimeField(widget=ClockInput())

    def __init__(self, *args, tz: ZoneInfo, **kwargs) -> None:
        self.tz = tz
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        day, start, end = cleaned.get("date"), cleaned.get("start"), cleaned.get("end")
        if day is None or start is None or end is None:
            return cleaned
        try:
            check_year_range(day, local_today(self.tz))
        except forms.ValidationError as error:
            self.add_error("date", error)
            return cleaned
        cleaned["starts_at"] = wall_to_instant(day, start, self.tz)
        cleaned["ends_at"] = wall_to_instant(day, END_OF_DAY if end == MIDNIGHT else since_midnight(end), self.tz)
        if cleaned["starts_at"] is None:
            self.add_error("start", NO_SUCH_TIME)
        elif cleaned["ends_at"] is None:
            self.add_error("end", NO_SUCH_TIME)
        elif cleaned["ends_at"] <= cleaned["starts_at"]:
            self.add_error("end", "The end must be after the start.")
        return cleaned

    def booking_fields(self) -> dict[str, dt.date | dt.time]:
        """The booking form's date, start and end for the chosen time."""
        return {name: self.cleaned_data[name] for name in ("date", "start", "end")}
