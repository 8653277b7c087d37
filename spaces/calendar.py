"""A space's week as the calendar page draws it: built from `spaces.selectors.space_availability` (busy and
free intervals) and the opening hours, laid out on the organization's wall clock.

Pure functions over instants: every position is the wall time an instant shows on its local day, so a day
of 23 or 25 hours (daylight saving) is drawn on the same 24-hour ruler and nothing is shifted by an hour.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from reservations.services import booking_window
from spaces.hours import MIDNIGHT, WEEKDAY_NAMES, WeeklyInterval, clip, open_intervals
from spaces.localtime import day_window, wall_minutes, wall_to_instant
from spaces.models import Space
from spaces.selectors import Availability, BusyInterval

DAY_MINUTES = 24 * 60
EN_DASH = "\N{EN DASH}"  # between the two ends of a time span, as typeset
SLOT_MINUTES = 60
SLOT_STEP = 15  # free slots start on a quarter hour
DEFAULT_RANGE = (7 * 60, 21 * 60)  # the ruler of a space open at any time, widened by its bookings
MIN_RANGE = 6 * 60


def clock(minutes: int) -> str:
    """ "09:30" for 570; "24:00" for the midnight that ends a day."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Span:
    start: int  # minutes since local midnight
    end: int

    @property
    def label(self) -> str:
        return f"{clock(self.start)}{EN_DASH}{clock(self.end)}"


@dataclass(frozen=True)
class Positioned:
    """Something drawn on a day column; `top` and `height` are percentages of the ruler."""

    span: Span
    top: float
    height: float


@dataclass(frozen=True)
class BusyBlock(Positioned):
    busy: BusyInterval
    continues_before: bool  # started on an earlier day
    continues_after: bool  # ends on a later day

    @property
    def label(self) -> str:
        start = "…" if self.continues_before else clock(self.span.start)
        end = "…" if self.continues_after else clock(self.span.end)
        return f"{start}{EN_DASH}{end}"

    @property
    def is_pending(self) -> bool:
        return self.busy.status == "pending"

    @property
    def text(self) -> str:
        """Yours: your title. Managers: the title. Everyone else: only that it is booked."""
        if self.busy.mine:
            return self.busy.title or "Your booking"
        return self.busy.title or "Booked"

    @property
    def who(self) -> str:
        """The booker's name, for owners and admins, when it is not the viewer."""
        user = self.busy.user
        return user.get_full_name() if user is not None and not self.busy.mine else ""


@dataclass(frozen=True)
class ClosureBlock(Positioned):
    """A closure (holiday, maintenance) on a day column, shaded with its reason."""

    reason: str
    continues_before: bool
    continues_after: bool

    @property
    def label(self) -> str:
        start = "…" if self.continues_before else clock(self.span.start)
        end = "…" if self.continues_after else clock(self.span.end)
        return f"{start}{EN_DASH}{end}"


@dataclass(frozen=True)
class FreeSlot(Positioned):
    day: date
    booking_end: int  # minutes; at least the space's minimum duration after the start
    space_id: int

    @property
    def query(self) -> str:
        """The booking form's prefill: a plain link, so booking from the calendar needs no JavaScript."""
        query = {"space": self.space_id, "date": self.day.isoformat(), "start": self.start, "end": self.end}
        return urlencode(query, safe=":")

    @property
    def start(self) -> str:
        return clock(self.span.start)

    @property
    def end(self) -> str:
        # The booking form reads 00:00 as "midnight at the end of the day".
        return clock(self.booking_end % DAY_MINUTES)

    @property
    def label(self) -> str:
        return f"{clock(self.span.start)}{EN_DASH}{clock(self.booking_end)}"


@dataclass(frozen=True)
class FreeRun:
    """A stretch of bookable time and its slots: one line of the phone's day list."""

    span: Span
    slots: list[FreeSlot]


@dataclass
class CalendarDay:
    day: date
    is_today: bool
    is_past: bool
    open_spans: list[Span]
    bands: list[Positioned] = field(default_factory=list)
    busy: list[BusyBlock] = field(default_factory=list)
    free_runs: list[FreeRun] = field(default_factory=list)
    closures: list[ClosureBlock] = field(default_factory=list)

    @property
    def slots(self) -> list[FreeSlot]:
        return [slot for run in self.free_runs for slot in run.slots]

    @property
    def hours_label(self) -> str:
        if self.open_spans == [Span(0, DAY_MINUTES)]:
            return "Open all day"
        return ", ".join(span.label for span in self.open_spans) if self.open_spans else "Closed"

    @property
    def agenda(self) -> list["BusyBlock | FreeRun"]:
        """Closures, bookings and bookable stretches in time order: the phone's day list."""
        return sorted(
            [*self.closures, *self.busy, *self.free_runs],
            key=lambda item: (item.span.start, isinstance(item, FreeRun)),
        )


@dataclass
class WeekCalendar:
    space: Space
    week_start: date
    timezone: str
    days: list[CalendarDay]
    ruler: Span
    hour_marks: list[tuple[str, float]]
    now_top: float | None  # the "now" line on today's column, when it is on the ruler
    always_open: bool

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    @property
    def previous_week(self) -> date:
        return self.week_start - timedelta(days=7)

    @property
    def next_week(self) -> date:
        return self.week_start + timedelta(days=7)

    @property
    def label(self) -> str:
        """ "10-16 March 2025", "31 March-6 April 2025" or "29 December 2025-4 January 2026", with en dashes."""
        first, last = self.week_start, self.week_end
        if first.year != last.year:
            return f"{first.day} {first:%B %Y}{EN_DASH}{last.day} {last:%B %Y}"
        if first.month != last.month:
            return f"{first.day} {first:%B}{EN_DASH}{last.day} {last:%B %Y}"
        return f"{first.day}{EN_DASH}{last.day} {last:%B %Y}"

    @property
    def is_current_week(self) -> bool:
        return any(day.is_today for day in self.days)

    @property
    def hours(self) -> int:
        return (self.ruler.end - self.ruler.start) // 60

    @property
    def has_slots(self) -> bool:
        return any(day.slots for day in self.days)


def week_window(week_start: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return day_window(week_start, tz)[0], day_window(week_start + timedelta(days=6), tz)[1]


def _spans_on(day: date, intervals: Sequence[tuple[datetime, datetime]], tz: ZoneInfo) -> list[tuple[Span, bool, bool]]:
    """The parts of `intervals` on `day` as wall-clock spans, with whether they run on from / into other days."""
    day_start, day_end = day_window(day, tz)
    spans = []
    for start, end in clip(intervals, day_start, day_end):
        low = 0 if start <= day_start else wall_minutes(start, day, tz)
        high = DAY_MINUTES if end >= day_end else wall_minutes(end, day, tz)
        if high > low:
            spans.append((Span(low, high), start <= day_start, end >= day_end))
    return spans


def _ruler(days: Sequence[tuple[list[Span], list[Span]]], *, always_open: bool) -> Span:
    starts = [span.start for opens, busy in days for span in (*opens, *busy)]
    ends = [span.end for opens, busy in days for span in (*opens, *busy)]
    if always_open:
        starts.append(DEFAULT_RANGE[0])
        ends.append(DEFAULT_RANGE[1])
    if not starts:  # closed all week: still draw a readable day
        starts, ends = [DEFAULT_RANGE[0] + 60], [DEFAULT_RANGE[1] - 3 * 60]
    low = min(starts) // 60 * 60
    high = -(-max(ends) // 60) * 60
    if high - low < MIN_RANGE:
        high = min(DAY_MINUTES, low + MIN_RANGE)
        low = min(low, high - MIN_RANGE)
    return Span(low, high)


def _place(span: Span, ruler: Span) -> tuple[float, float]:
    length = ruler.end - ruler.start
    top = max(span.start, ruler.start) - ruler.start
    bottom = min(span.end, ruler.end) - ruler.start
    return round(100 * top / length, 3), round(100 * max(bottom - top, 0) / length, 3)


def _free_runs(day: date, free: list[Span], *, space: Space, ruler: Span, tz: ZoneInfo) -> list[FreeRun]:
    """The free time on the ruler cut into hour-aligned slots, each with the end a booking from its start would
    have (at least the space's minimum duration, never past the free stretch). Wall times the clocks skip are
    left out."""
    minimum = space.min_duration_minutes
    runs = []
    for interval in free:
        low, high = max(interval.start, ruler.start), min(interval.end, ruler.end)
        cursor = -(-low // SLOT_STEP) * SLOT_STEP
        slots = []
        while cursor < high:
            cell_end = min(high, (cursor // SLOT_MINUTES + 1) * SLOT_MINUTES)
            booking_end = max(cell_end, cursor + minimum)
            if booking_end > interval.end or cell_end - cursor < SLOT_STEP:
                break
            exists = all(
                wall_to_instant(day, timedelta(minutes=minutes), tz) is not None for minutes in (cursor, booking_end)
            )
            if exists:
                span = Span(cursor, cell_end)
                slots.append(FreeSlot(span, *_place(span, ruler), day=day, booking_end=booking_end, space_id=space.pk))
            cursor = cell_end
        if slots:
            runs.append(FreeRun(Span(max(interval.start, ruler.start), high), slots))
    return runs


def week_calendar(
    *, availability: Availability, rows: Sequence[WeeklyInterval], week_start: date, tz: ZoneInfo, now: datetime
) -> WeekCalendar:
    """Lay out one week (Monday to Sunday, local) of `availability`, whose window must cover that week."""
    space = availability.space
    window_start, window_end = week_window(week_start, tz)
    opened = open_intervals(rows, window_start, window_end, tz)
    busy_intervals = [(busy.starts_at, busy.ends_at) for busy in availability.busy]
    # Free time a person can still book: the booking rules' own window (from now, up to the days ahead).
    bookable = clip(availability.free, *booking_window(space=space, now=now))
    today = now.astimezone(tz).date()

    laid_out = []
    for offset in range(7):
        day = week_start + timedelta(days=offset)
        opens = [span for span, _, _ in _spans_on(day, opened, tz)]
        busy = [
            (busy, placed)
            for busy, interval in zip(availability.busy, busy_intervals, strict=True)
            for placed in _spans_on(day, [interval], tz)
        ]
        laid_out.append((day, opens, busy))
    ruler = _ruler([(opens, [placed[0] for _, placed in busy]) for _, opens, busy in laid_out], always_open=not rows)

    days = []
    for day, opens, busy in laid_out:
        calendar_day = CalendarDay(day=day, is_today=day == today, is_past=day < today, open_spans=opens)
        calendar_day.bands = [Positioned(span, *_place(span, ruler)) for span in opens]
        calendar_day.busy = [
            BusyBlock(span, *_place(span, ruler), busy=interval, continues_before=before, continues_after=after)
            for interval, (span, before, after) in busy
        ]
        calendar_day.closures = [
            ClosureBlock(
                span, *_place(span, ruler), reason=closure.reason, continues_before=before, continues_after=after
            )
            for closure in availability.closures
            for span, before, after in _spans_on(day, [(closure.starts_at, closure.ends_at)], tz)
        ]
        free = [span for span, _, _ in _spans_on(day, bookable, tz)]
        calendar_day.free_runs = _free_runs(day, free, space=space, ruler=ruler, tz=tz)
        days.append(calendar_day)

    now_top = None
    if week_start <= today <= week_start + timedelta(days=6):
        minutes = wall_minutes(now, today, tz)
        if ruler.start <= minutes <= ruler.end:
            now_top = _place(Span(minutes, minutes), ruler)[0]
    marks = [
        (clock(minutes), _place(Span(minutes, minutes), ruler)[0]) for minutes in range(ruler.start, ruler.end, 60)
    ]
    return WeekCalendar(
        space=space,
        week_start=week_start,
        timezone=tz.key,
        days=days,
        ruler=ruler,
        hour_marks=marks,
        now_top=now_top,
        always_open=not rows,
    )


def weekly_rows(space: Space) -> list[WeeklyInterval]:
    """The space's opening hours (prefetched by `space_list`/`space_get`) as the hours module's intervals."""
    return [WeeklyInterval(row.weekday, row.opens_at, row.closes_at) for row in space.opening_hours.all()]


def describe_rows(rows: Sequence[WeeklyInterval]) -> list[tuple[str, str]]:
    """(weekday name, "08:00-12:00, 13:00-18:00" with en dashes, or "Closed") for the seven weekdays."""
    result = []
    for weekday, name in enumerate(WEEKDAY_NAMES):
        spans = [
            f"{row.opens_at:%H:%M}{EN_DASH}{'24:00' if row.closes_at == MIDNIGHT else f'{row.closes_at:%H:%M}'}"
            for row in sorted((r for r in rows if r.weekday == weekday), key=lambda r: r.opens)
        ]
        result.append((name, ", ".join(spans) if spans else "Closed"))
    return result


def summarize_hours(rows: Sequence[WeeklyInterval]) -> str:
    """One line for lists: "Mon-Fri 08:00-18:00 · Sat 10:00-14:00" (en dashes), "Any time" without hours."""
    if not rows:
        return "Any time"
    groups: list[tuple[list[int], str]] = []
    for weekday, (_, spans) in enumerate(describe_rows(rows)):
        if groups and groups[-1][1] == spans and groups[-1][0][-1] == weekday - 1:
            groups[-1][0].append(weekday)
        else:
            groups.append(([weekday], spans))
    parts = []
    for days, spans in groups:
        if spans == "Closed":
            continue
        names = WEEKDAY_NAMES[days[0]][:3]
        if len(days) > 1:
            names += f"{EN_DASH}{WEEKDAY_NAMES[days[-1]][:3]}"
        parts.append(f"{names} {spans}")
    return " · ".join(parts)
