"""Forms of the booking pages. People type a date and local times; the form turns them into instants in the
organization's timezone (spaces.localtime) and the booking rules stay in reservations.services."""

from datetime import date, datetime, time, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import QuerySet
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.models import User
from equipment.models import MAX_QUANTITY, Item
from equipment.services import EquipmentRequest
from reservations.models import Reservation
from reservations.services import ReservationConflict
from spaces.forms import NO_SUCH_TIME, check_year_range
from spaces.hours import END_OF_DAY, MIDNIGHT
from spaces.localtime import day_window, local_today, since_midnight, wall_to_instant
from spaces.models import Space
from spaces.timefields import ClockInput

# The services' field names → the form's (equipment errors go on the form as a whole).
FIELD_MAP = {"starts_at": "start", "ends_at": "end", "space_id": "space", "space": "space", "equipment": None}
EQUIPMENT_PREFIX = "equipment_"


def _item_help(item: Item) -> str:
    from spacemanager.money import money_format
    from tenants.selectors import organization_current

    currency = organization_current().currency
    if item.price_per_hour is not None:
        price = f"{money_format(item.price_per_hour, currency)} an hour each"
    elif item.price_per_booking is not None:
        price = f"{money_format(item.price_per_booking, currency)} a booking each"
    else:
        price = "free"
    return f"{item.quantity} in all, {price}."


class PlainSelect(forms.Select):
    """A select whose options are written in one pass of Python rather than through a template each: Django
    includes the option template once per choice (about 0.1 ms apiece) and builds a dictionary of attributes
    for each on the way, and the space filter of the all-reservations page lists every space (500 at design
    size, 60% of that page's time). Flat choices only; the markup is Django's own (`select.html`,
    `select_option.html`, `attrs.html`): one option selected at most, the first whose value matches."""

    def render(self, name, value, attrs=None, renderer=None) -> str:
        chosen = set(self.format_value(value))
        options, selected = [], False
        for option_value, label in self.choices:
            text = "" if option_value is None else str(option_value)
            mark = ""
            if not selected and text in chosen:
                mark, selected = " selected", True
            options.append(f'<option value="{escape(text)}"{mark}>{escape(str(label))}</option>')
        options_html = mark_safe("".join(options))  # noqa: S308 - every value and label is escaped above
        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)), options_html
        )


class SpaceChoiceIterator(ModelChoiceIterator):
    """The spaces as (id, label) read as plain rows, not model instances: 500 spaces cost a model each
    otherwise, for a label of four columns."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        rows = self.queryset.prefetch_related(None).values_list("pk", "name", "kind", "capacity", "is_active")
        for pk, name, kind, capacity, is_active in rows:
            yield (pk, space_choice_label(name, kind, capacity, is_active))


_KIND_LABELS = dict(Space.Kind.choices)


def space_choice_label(name: str, kind: str, capacity: int, is_active: bool) -> str:
    label = f"{name} ({str(_KIND_LABELS.get(kind, kind)).lower()}, up to {capacity})"
    return label if is_active else f"{label}, archived"


class SpaceChoiceField(forms.ModelChoiceField):
    widget = PlainSelect
    iterator = SpaceChoiceIterator

    def label_from_instance(self, space: Space) -> str:
        return space_choice_label(space.name, space.kind, space.capacity, space.is_active)


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user: User) -> str:
        return f"{user.full_name} ({user.email})" if user.full_name else user.email


class ReservationForm(forms.Form):
    """Book a space, or change a booking: one local day, from `start` to `end` (00:00 ends at midnight)."""

    space = SpaceChoiceField(queryset=Space.objects.none(), empty_label="Choose a space")
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    start = forms.TimeField(required=False, widget=ClockInput())
    end = forms.TimeField(
        required=False,
        widget=ClockInput(),
        help_text="00:00 means midnight at the end of the day.",
    )
    title = forms.CharField(
        max_length=200,
        required=False,
        help_text="What it is for. Other members see only that the space is booked.",
    )
    attendees = forms.IntegerField(min_value=1, max_value=100_000, initial=1, label="People attending")
    notes = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Only for you and admins."
    )

    def __init__(
        self,
        *args,
        tz: ZoneInfo,
        spaces: QuerySet[Space],
        fixed_space: bool = False,
        members: QuerySet[User] | None = None,
        items: QuerySet[Item] | None = None,
        whole_days: bool = False,
        **kwargs,
    ) -> None:
        self.tz = tz
        super().__init__(*args, **kwargs)
        self.fields["space"].queryset = spaces
        # One "how many" field per item of equipment (0 or empty: none).
        self.items = list(items) if items is not None else []
        for item in self.items:
            self.fields[f"{EQUIPMENT_PREFIX}{item.pk}"] = forms.IntegerField(
                min_value=0, max_value=MAX_QUANTITY, required=False, label=item.name, help_text=_item_help(item)
            )
        if whole_days:
            # New bookings: the space's whole opening hours, and several days where the space allows them.
            self.fields["all_day"] = forms.BooleanField(
                required=False, label="Whole day", help_text="The space's opening hours that day; no times needed."
            )
            self.fields["end_date"] = forms.DateField(
                required=False,
                label="Until (last day)",
                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                help_text="For several days, where the space allows them; empty for one day.",
            )
        if fixed_space:
            self.fields["space"].widget = forms.HiddenInput()
        if members is not None:
            # Owners and admins: book on a member's behalf (the service checks who may).
            self.fields["user"] = MemberChoiceField(
                queryset=members, required=False, empty_label="Myself", label="Book for"
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        day, start, end = cleaned.get("date"), cleaned.get("start"), cleaned.get("end")
        if day is None:
            return cleaned
        try:
            check_year_range(day, local_today(self.tz))
        except forms.ValidationError as error:
            self.add_error("date", error)
            return cleaned
        last_day = cleaned.get("end_date") or day
        if last_day < day:
            self.add_error("end_date", "The last day must be on or after the first.")
            return cleaned
        if cleaned.get("all_day"):
            return cleaned  # the service reads the day's opening hours
        for name, value in (("start", start), ("end", end)):
            if value is None and name not in self.errors:
                self.add_error(name, "Give a time, or choose Whole day.")
        if start is not None:
            cleaned["starts_at"] = wall_to_instant(day, start, self.tz)
            if cleaned["starts_at"] is None:
                self.add_error("start", NO_SUCH_TIME)
        if end is not None:
            wall = END_OF_DAY if end == MIDNIGHT else since_midnight(end)
            cleaned["ends_at"] = wall_to_instant(last_day, wall, self.tz)
            if cleaned["ends_at"] is None:
                self.add_error("end", NO_SUCH_TIME)
        return cleaned

    @property
    def equipment_fields(self) -> list[forms.BoundField]:
        return [self[f"{EQUIPMENT_PREFIX}{item.pk}"] for item in self.items]

    @property
    def equipment(self) -> list[EquipmentRequest]:
        data = self.cleaned_data
        return [
            EquipmentRequest(item.pk, data[f"{EQUIPMENT_PREFIX}{item.pk}"])
            for item in self.items
            if data.get(f"{EQUIPMENT_PREFIX}{item.pk}")
        ]

    @property
    def when_fields(self) -> list[forms.BoundField]:
        extra = [self["end_date"]] if "end_date" in self.fields else []
        return [self["date"], *extra, self["start"], self["end"]]

    @property
    def service_arguments(self) -> dict[str, Any]:
        """What reservation_create / reservation_update take."""
        data = self.cleaned_data
        if data.get("all_day"):
            when = {"all_day": data["date"], "all_day_until": data.get("end_date")}
        else:
            when = {"starts_at": data["starts_at"], "ends_at": data["ends_at"]}
        return {
            "space_id": data["space"].pk,
            **when,
            "title": data["title"],
            "notes": data["notes"],
            "attendees": data["attendees"],
            **({"user_id": data["user"].pk} if data.get("user") else {}),
            **({"equipment": self.equipment} if self.items else {}),
        }

    def add_conflict(self, conflict: ReservationConflict) -> None:
        """Say which booking is in the way, in local time, next to the time that runs into it, and offer to wait
        for the slot ("Join the waitlist", `waitlist_offer`)."""
        starts_at = self.cleaned_data.get("starts_at")
        if starts_at is None:  # a whole day: the day is what to change
            self.add_error("date", conflict.message)
            return
        self.waitlist_offer = WaitlistJoinForm.offer(self.service_arguments)
        clashes = [
            (datetime.fromisoformat(item["starts_at"]), datetime.fromisoformat(item["ends_at"]))
            for item in conflict.extra.get("conflicts", [])
        ]
        if not clashes:
            self.add_error("start", conflict.message)
            return
        day = self.cleaned_data["date"]
        spans = " and ".join(self._span(start, end, day) for start, end in clashes)
        message = f"{self.cleaned_data['space'].name} is already booked {spans}. Choose a time around it."
        self.add_error("start" if clashes[0][0] <= starts_at else "end", message)

    def _span(self, start: datetime, end: datetime, day: date) -> str:
        start, end = start.astimezone(self.tz), end.astimezone(self.tz)
        day_end = day_window(day, self.tz)[1]
        if start.date() == day and end <= day_end:
            return f"from {start:%H:%M} to {'24:00' if end == day_end else f'{end:%H:%M}'}"
        return f"from {start:%a %d %b %H:%M} to {end:%a %d %b %H:%M}"


def reservation_initial(reservation: Reservation, tz: ZoneInfo) -> dict[str, Any]:
    starts, ends = reservation.starts_at.astimezone(tz), reservation.ends_at.astimezone(tz)
    return {
        "space": reservation.space_id,
        "date": starts.date(),
        "start": starts.time().replace(tzinfo=None),
        "end": ends.time().replace(tzinfo=None),
        "title": reservation.title,
        "attendees": reservation.attendees,
        "notes": reservation.notes,
        **{f"{EQUIPMENT_PREFIX}{a.item_id}": a.quantity for a in reservation.equipment_allocations.all()},
    }


class PrefillForm(forms.Form):
    """The booking form's query string (`?space=&date=&start=&end=`), from the calendar's free slots."""

    space = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    attendees = forms.IntegerField(required=False, min_value=1, max_value=100_000)
    user = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    all_day = forms.BooleanField(required=False)
    date = forms.DateField(required=False)
    start = forms.TimeField(required=False)
    end = forms.TimeField(required=False)

    def values(self) -> dict[str, Any]:
        """The valid values only: a bad link still opens an empty form."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: value for name, value in data.items() if value is not None and name not in self.errors}


class ReservationFilterForm(forms.Form):
    """Filters of the all-reservations page (GET). Dates are local days, both included."""

    space = SpaceChoiceField(queryset=Space.objects.none(), required=False, empty_label="All spaces")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Reservation.Status.choices])
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, tz: ZoneInfo, spaces: QuerySet[Space], **kwargs) -> None:
        self.tz = tz
        super().__init__(*args, **kwargs)
        self.fields["space"].queryset = spaces

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        today = local_today(self.tz)
        for name in ("date_from", "date_to"):
            if cleaned.get(name) is not None:
                try:
                    check_year_range(cleaned[name], today)
                except forms.ValidationError as error:
                    self.add_error(name, error)
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last and last < first:
            self.add_error("date_to", "The last day must be on or after the first.")
        return cleaned

    @property
    def filters(self) -> dict[str, Any]:
        """The arguments of `reservations.selectors.reservation_search`."""
        data = self.cleaned_data
        first, last = data.get("date_from"), data.get("date_to")
        return {
            "space_id": data["space"].pk if data.get("space") else None,
            "status": data.get("status") or None,
            "starts_at": day_window(first, self.tz)[0] if first else None,
            "ends_at": day_window(last, self.tz)[1] if last else None,
        }


def default_slot(now: datetime, tz: ZoneInfo) -> dict[str, date | time]:
    """The next full local hour, for an hour: what an empty booking form proposes."""
    start = now.astimezone(tz).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    end = start + timedelta(hours=1)
    return {"date": start.date(), "start": start.time().replace(tzinfo=None), "end": end.time().replace(tzinfo=None)}


WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class RepeatForm(forms.Form):
    """The booking form's "Repeat" choice, turned into an RFC 5545 rule for reservations.services.series_create
    (which owns every rule about series; this only writes the RRULE people would otherwise type)."""

    repeat = forms.ChoiceField(
        choices=[("never", "Never"), ("daily", "Every day"), ("weekly", "Every week on…"), ("monthly", "Every month")],
        initial="never",
        required=False,
    )
    weekdays = forms.MultipleChoiceField(
        choices=list(zip(WEEKDAY_CODES, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True)),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="On",
        help_text="Weekly: the days it repeats on (none ticked: the booking's own weekday).",
    )
    ends = forms.ChoiceField(
        choices=[("count", "After a number of times"), ("until", "On a date")], initial="count", required=False
    )
    count = forms.IntegerField(min_value=1, max_value=500, initial=10, required=False, label="Times")
    until = forms.DateField(
        required=False, label="Last day", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    skip_conflicts = forms.BooleanField(
        required=False,
        label="Skip the occurrences that cannot be booked",
        help_text="Otherwise nothing is booked if one date clashes or breaks a rule.",
    )

    @property
    def repeats(self) -> bool:
        return self.is_valid() and (self.cleaned_data.get("repeat") or "never") != "never"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (cleaned.get("repeat") or "never") == "never":
            return cleaned
        if cleaned.get("ends") == "until":
            if cleaned.get("until") is None:
                self.add_error("until", "Choose the last day, or end after a number of times.")
        elif cleaned.get("count") is None:
            self.add_error("count", "How many times? At most 500.")
        return cleaned

    def rule(self, first_day: date) -> str:
        """The RRULE for a series starting on `first_day`."""
        data = self.cleaned_data
        parts = [f"FREQ={data['repeat'].upper()}"]
        if data["repeat"] == "weekly":
            days = data.get("weekdays") or [WEEKDAY_CODES[first_day.weekday()]]
            parts.append("BYDAY=" + ",".join(code for code in WEEKDAY_CODES if code in days))
        elif data["repeat"] == "monthly":
            parts.append(f"BYMONTHDAY={first_day.day}")
        if data.get("ends") == "until":
            parts.append(f"UNTIL={data['until']:%Y%m%d}")
        else:
            parts.append(f"COUNT={data['count']}")
        return ";".join(parts)


class SeriesChangeForm(forms.Form):
    """Change this and the following occurrences of a series, or all: new local times (on each one's own day),
    title, people and notes."""

    start = forms.TimeField(widget=ClockInput())
    end = forms.TimeField(
        widget=ClockInput(),
        help_text="00:00 means midnight at the end of the day.",
    )
    title = forms.CharField(max_length=200, required=False)
    attendees = forms.IntegerField(min_value=1, max_value=100_000, label="People attending")
    notes = forms.CharField(max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, tz: ZoneInfo, day: date, **kwargs) -> None:
        self.tz, self.day = tz, day
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is not None:
            cleaned["starts_at"] = wall_to_instant(self.day, start, self.tz)
            if cleaned["starts_at"] is None:
                self.add_error("start", NO_SUCH_TIME)
        if end is not None:
            wall = END_OF_DAY if end == MIDNIGHT else since_midnight(end)
            cleaned["ends_at"] = wall_to_instant(self.day, wall, self.tz)
            if cleaned["ends_at"] is None:
                self.add_error("end", NO_SUCH_TIME)
        return cleaned

    @property
    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {name: data[name] for name in ("starts_at", "ends_at", "title", "attendees", "notes")}


class WaitlistJoinForm(forms.Form):
    """The hidden fields of "Join the waitlist" next to a clash: the slot the booking form found taken."""

    space_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    starts_at = forms.DateTimeField(widget=forms.HiddenInput)
    ends_at = forms.DateTimeField(widget=forms.HiddenInput)
    attendees = forms.IntegerField(min_value=1, initial=1, widget=forms.HiddenInput)
    title = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)

    @classmethod
    def offer(cls, arguments: dict[str, Any]) -> "WaitlistJoinForm":
        """The form for the booking form's taken slot (its `service_arguments`)."""
        initial = {name: arguments[name] for name in ("space_id", "attendees", "title")}
        initial |= {name: arguments[name].isoformat() for name in ("starts_at", "ends_at")}
        # Its own ids: it sits on the booking form's page, whose labels point at id_title and the like.
        return cls(initial=initial, auto_id="waitlist_%s")
