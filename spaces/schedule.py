"""The schedule: one local day of many spaces as a grid, spaces as rows and the day's time as columns.

Built from `spaces.selectors.schedule_day` (a page of spaces and their bookings) with the same arithmetic as
the week calendar (spaces.calendar) and the booking rules' window (reservations.services.booking_window).

Columns are instants, not wall times: a column is STEP_MINUTES of real time from the first opening of the
day, labelled with the wall time it starts at. On the spring change the skipped hour has no column (a
23-hour day); on the autumn change the repeated hour has two (a 25-hour day), the second marked as repeated.
A free cell links to the booking form only when its start and end are wall times the form reads back as
the same instants, so a link never books the other pass of a repeated hour.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from reservations.services import booking_window
from spaces.calendar import BusyBlock, Span, _ruler, _spans_on, clock, weekly_rows
from spaces.hours import clip, local_instant, open_intervals, subtract
from spaces.localtime import day_window, wall_minutes, wall_to_instant
from spaces.models import Space
from spaces.selectors import BusyInterval, ScheduleDay

STEP_MINUTES = 30
STEP = timedelta(minutes=STEP_MINUTES)
# The "now" line's position inside its cell, in steps of 4 % (classes now-0 … now-25 in schedule.css).
NOW_STEPS = 25


@dataclass(frozen=True)
class Column:
    starts_at: datetime
    ends_at: datetime
    label: str  # "09:00"
    is_hour: bool
    repeated: bool  # the second pass of an hour the clocks repeat (autumn)
    is_now: bool


@dataclass
class Cell:
    """One or more adjacent columns of a space's row in the same state."""

    state: str  # free, busy, closed (outside opening hours) or unavailable (open but past or too far ahead)
    starts_at: datetime
    ends_at: datetime
    columns: int = 1
    block: BusyBlock | None = None
    start: str = ""  # wall times the booking form reads, when this free cell can be booked from a link
    end: str = ""
    query: str = ""  # the booking form's prefill
    now_at: int | None = None  # the "now" line, in NOW_STEPS of the cell's width

    @property
    def selectable(self) -> bool:
        return bool(self.start)

    @property
    def label(self) -> str:
        return f"{self.start}\N{EN DASH}{self.end if self.end != '00:00' else '24:00'}"


@dataclass
class ScheduleRow:
    space: Space
    cells: list[Cell] = field(default_factory=list)

    @property
    def free_cells(self) -> list[Cell]:
        """The cells a booking can start from: the phone's buttons."""
        return [cell for cell in self.cells if cell.state == "free" and cell.query]


@dataclass
class ScheduleGrid:
    day: date
    timezone: str
    columns: list[Column]
    rows: list[ScheduleRow]
    is_today: bool

    @property
    def previous_day(self) -> date:
        return self.day - timedelta(days=1)

    @property
    def next_day(self) -> date:
        return self.day + timedelta(days=1)

    @property
    def hours(self) -> float:
        return len(self.columns) * STEP_MINUTES / 60


def _grid_range(
    day: date,
    tz: ZoneInfo,
    opened: Sequence[list[tuple[datetime, datetime]]],
    busy: Sequence[BusyInterval],
    *,
    any_always_open: bool,
) -> tuple[datetime, datetime]:
    """The union of the day's opening hours (and bookings) as instants, widened to whole local hours."""
    spans = [(_wall_spans(day, intervals, tz), []) for intervals in opened]
    spans.append(([], _wall_spans(day, [(b.starts_at, b.ends_at) for b in busy], tz)))
    ruler = _ruler(spans, always_open=any_always_open)
    return (
        local_instant(day, timedelta(minutes=ruler.start), tz, entering=True),
        local_instant(day, timedelta(minutes=ruler.end), tz, entering=False),
    )


def _wall_spans(day: date, intervals: Sequence[tuple[datetime, datetime]], tz: ZoneInfo) -> list[Span]:
    return [span for span, _, _ in _spans_on(day, intervals, tz)]


def _columns(day: date, tz: ZoneInfo, starts_at: datetime, ends_at: datetime, now: datetime) -> list[Column]:
    columns = []
    seen: set[str] = set()
    cursor = starts_at
    while cursor < ends_at:
        column_end = min(cursor + STEP, ends_at)
        label = clock(wall_minutes(cursor, day, tz))
        columns.append(
            Column(
                starts_at=cursor,
                ends_at=column_end,
                label=label,
                is_hour=label.endswith(":00"),
                repeated=label in seen,
                is_now=cursor <= now < column_end,
            )
        )
        seen.add(label)
        cursor = column_end
    return columns


def _inside(
    start: datetime, end: datetime, intervals: Sequence[tuple[datetime, datetime]]
) -> tuple[datetime, datetime] | None:
    return next(((low, high) for low, high in intervals if low <= start and end <= high), None)


def _wall_of(instant: datetime, day: date, tz: ZoneInfo) -> str | None:
    """The booking form's wall time for `instant` on `day` ("00:00" for the midnight ending it), or None
    when the form would read that wall time as another instant (the first pass of a repeated hour)."""
    minutes = wall_minutes(instant, day, tz)
    if wall_to_instant(day, timedelta(minutes=minutes), tz) != instant:
        return None
    return clock(minutes % (24 * 60))


def _row(
    space: Space,
    busy: list[BusyInterval],
    *,
    kept_clear: list[tuple[datetime, datetime]],
    opened: list[tuple[datetime, datetime]],
    columns: list[Column],
    day: date,
    tz: ZoneInfo,
    now: datetime,
) -> ScheduleRow:
    # Open time next to a booking that its buffers (or this space's, for the new booking) keep clear is
    # "unavailable", as past times are: shown, never offered.
    busy_intervals = [(b.starts_at, b.ends_at) for b in busy]
    bookable = clip(subtract(opened, [*busy_intervals, *kept_clear]), *booking_window(space=space, now=now))
    minimum = timedelta(minutes=space.min_duration_minutes)
    day_start, day_end = day_window(day, tz)
    row = ScheduleRow(space=space)
    for column in columns:
        start, end = column.starts_at, column.ends_at
        booking = next((b for b in busy if b.starts_at < end and start < b.ends_at), None)
        if booking is not None:
            previous = row.cells[-1] if row.cells else None
            if previous is not None and previous.block is not None and previous.block.busy is booking:
                previous.columns += 1
                previous.ends_at = end
                continue
            span = _wall_spans(day, [(booking.starts_at, booking.ends_at)], tz)[0]
            block = BusyBlock(
                span,
                0,
                0,
                busy=booking,
                continues_before=booking.starts_at < day_start,
                continues_after=booking.ends_at > day_end,
            )
            row.cells.append(Cell(state="busy", starts_at=start, ends_at=end, block=block))
            continue
        free = _inside(start, end, bookable)
        if free is not None:
            cell = Cell(state="free", starts_at=start, ends_at=end)
            booking_end = max(end, start + minimum)
            start_wall, end_wall = _wall_of(start, day, tz), _wall_of(end, day, tz)
            if start_wall and end_wall:
                cell.start, cell.end = start_wall, end_wall
            link_end = _wall_of(booking_end, day, tz) if booking_end <= min(free[1], day_end) else None
            if start_wall and link_end:
                query = {"space": space.pk, "date": day.isoformat(), "start": start_wall, "end": link_end}
                cell.query = urlencode(query, safe=":")
            row.cells.append(cell)
            continue
        state = "unavailable" if _inside(start, end, opened) and space.is_active else "closed"
        previous = row.cells[-1] if row.cells else None
        if previous is not None and previous.state == state and not column.is_now:
            previous.columns += 1
            previous.ends_at = end
            continue
        row.cells.append(Cell(state=state, starts_at=start, ends_at=end))
    for cell in row.cells:
        if cell.starts_at <= now < cell.ends_at:
            cell.now_at = round(NOW_STEPS * (now - cell.starts_at) / (cell.ends_at - cell.starts_at))
    return row


def schedule_grid(*, schedule: ScheduleDay, day: date, tz: ZoneInfo, now: datetime) -> ScheduleGrid:
    """Lay out `schedule` (the spaces and bookings of `day`) on one set of columns for every row."""
    spaces = list(schedule.page.object_list)
    day_start, day_end = schedule.starts_at, schedule.ends_at
    opened, hours_of = {}, {}
    for space in spaces:
        rows = weekly_rows(space)
        hours = open_intervals(rows, day_start, day_end, tz) if space.is_active else []
        # A closure shuts the space as opening hours do: its cells are closed, never offered.
        closed = [(closure.starts_at, closure.ends_at) for closure in schedule.closures.get(space.pk, [])]
        opened[space.pk] = subtract(hours, closed) if closed else hours
        hours_of[space.pk] = hours
    always_open = any(not space.opening_hours.all() for space in spaces) or not spaces
    starts_at, ends_at = _grid_range(
        day,
        tz,
        [hours_of[space.pk] for space in spaces if space.opening_hours.all()],  # columns: hours, closed or not
        [busy for space in spaces for busy in schedule.busy[space.pk]],
        any_always_open=always_open,
    )
    columns = _columns(day, tz, starts_at, ends_at, now)
    rows = [
        _row(
            space,
            schedule.busy[space.pk],
            kept_clear=schedule.kept_clear.get(space.pk, []),
            opened=opened[space.pk],
            columns=columns,
            day=day,
            tz=tz,
            now=now,
        )
        for space in spaces
    ]
    return ScheduleGrid(day=day, timezone=tz.key, columns=columns, rows=rows, is_today=day_start <= now < day_end)
