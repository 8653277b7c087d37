"""Opening-hours arithmetic in an organization's timezone, correct across daylight-saving changes.

Opening hours are wall-clock times (`08:00-18:00` every Monday). A reservation is an interval of instants.
Both meet through two pure functions used by everyone (booking rules, availability, free-space search):

- `local_pieces(starts_at, ends_at, tz)` cuts an interval at local midnights and gives, per local day, the
  weekday and the wall-clock span the interval *traverses* that day. On the autumn change the clocks run
  through 02:00-03:00 twice, so a piece crossing it traverses the whole repeated hour; in spring 02:00-03:00
  never happens, so nothing of it is traversed.
- `open_intervals(rows, window_start, window_end, tz)` turns the weekly rows into the instants when the space
  is open. Its boundaries are the instants at which a wall clock enters and leaves a row's span, which makes
  "an interval lies inside one open interval" and "every piece lies inside one row" the same rule.

A closing time of 00:00 means midnight at the end of the day ("24:00"). Rows of one weekday never overlap or
touch (`spaces.services.opening_hours_set` merges touching rows), so a piece is covered by at most one row.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MIDNIGHT = time(0)
# Wall-clock spans end at 24:00; `time` stops at 23:59:59.999999, so a span's end is kept as a timedelta.
END_OF_DAY = timedelta(hours=24)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class WeeklyInterval:
    """One opening interval of a weekday; `closes_at` 00:00 means midnight at the end of the day."""

    weekday: int
    opens_at: time
    closes_at: time

    @property
    def opens(self) -> timedelta:
        return _since_midnight(self.opens_at)

    @property
    def closes(self) -> timedelta:
        return END_OF_DAY if self.closes_at == MIDNIGHT else _since_midnight(self.closes_at)


@dataclass(frozen=True)
class Piece:
    """The part of an interval that falls on one local day, as the wall-clock span it traverses."""

    weekday: int
    day: date
    starts: timedelta  # since local midnight
    ends: timedelta  # since local midnight, up to 24:00

    @property
    def starts_time(self) -> time:
        return _as_time(self.starts)

    @property
    def ends_time(self) -> time | None:
        """The end as a time of day, or None when the piece runs to midnight."""
        return None if self.ends >= END_OF_DAY else _as_time(self.ends)


def _since_midnight(value: time) -> timedelta:
    return timedelta(hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond)


def _as_time(value: timedelta) -> time:
    hours, rest = divmod(int(value.total_seconds()), 3600)
    return time(hours, rest // 60, rest % 60, value.microseconds)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta:
    return instant.astimezone(tz).utcoffset() or timedelta(0)


def _transition(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The first instant in (before, after] with `after`'s UTC offset (clocks change on whole seconds)."""
    target = _offset(after, tz)
    low, high = before, after
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _offset(middle, tz) == target:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) if _offset(high.replace(microsecond=0), tz) == target else high


def local_instant(day: date, wall: timedelta, tz: ZoneInfo, *, entering: bool) -> datetime:
    """The instant (UTC) at which the wall clock of `day` reaches `wall` (a time since midnight, up to 24:00).

    Ambiguous times (autumn) give the later instant when entering a span (its second pass is the last time the
    clock crosses it) and the earlier one when leaving it; skipped times (spring) give the moment of the jump.
    """
    naive = datetime.combine(day, MIDNIGHT) + wall
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first == second:
        return first
    if _wall(first, tz) == naive:  # ambiguous: both instants show this wall time
        return max(first, second) if entering else min(first, second)
    # Skipped: PEP 495 maps it to instants on either side of the jump.
    return _transition(min(first, second), max(first, second), tz)


def local_pieces(starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> list[Piece]:
    """Cut [starts_at, ends_at) at local midnights; each piece with the wall-clock span it traverses."""
    pieces: list[Piece] = []
    cursor = starts_at
    while cursor < ends_at:
        day = _wall(cursor, tz).date()
        day_end = local_instant(day + timedelta(days=1), timedelta(0), tz, entering=True)
        piece_end = min(ends_at, day_end)
        low = _wall(cursor, tz) - datetime.combine(day, MIDNIGHT)
        high = END_OF_DAY if piece_end == day_end else _wall(piece_end, tz) - datetime.combine(day, MIDNIGHT)
        if _offset(cursor, tz) > _offset(piece_end - timedelta(microseconds=1), tz):
            # The clocks went back inside this piece: the repeated span was traversed in full.
            jump = _transition(cursor, piece_end - timedelta(microseconds=1), tz)
            low = min(low, _wall(jump, tz) - datetime.combine(day, MIDNIGHT))
            high = max(high, _wall(jump - timedelta(microseconds=1), tz) - datetime.combine(day, MIDNIGHT))
        pieces.append(Piece(weekday=day.weekday(), day=day, starts=low, ends=high))
        cursor = piece_end
    return pieces


def uncovered_pieces(rows: Sequence[WeeklyInterval], pieces: Iterable[Piece]) -> list[Piece]:
    """The pieces no single row covers. A space without rows is open at any time."""
    if not rows:
        return []
    return [
        piece
        for piece in pieces
        if not any(
            row.weekday == piece.weekday and row.opens <= piece.starts and piece.ends <= row.closes for row in rows
        )
    ]


def open_intervals(
    rows: Sequence[WeeklyInterval], window_start: datetime, window_end: datetime, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The instants within [window_start, window_end) when the space is open, merged, in UTC."""
    if not rows:
        return [(window_start, window_end)] if window_start < window_end else []
    first_day = _wall(window_start, tz).date() - timedelta(days=1)
    last_day = _wall(window_end, tz).date()
    intervals: list[tuple[datetime, datetime]] = []
    day = first_day
    while day <= last_day:
        for row in sorted((r for r in rows if r.weekday == day.weekday()), key=lambda r: r.opens):
            opens = local_instant(day, row.opens, tz, entering=True)
            closes = local_instant(day, row.closes, tz, entering=False)
            if opens < closes:
                intervals.append((opens, closes))
        day += timedelta(days=1)
    return clip(merge(intervals), window_start, window_end)


def merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted union of intervals; touching ones become one."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def clip(
    intervals: Iterable[tuple[datetime, datetime]], window_start: datetime, window_end: datetime
) -> list[tuple[datetime, datetime]]:
    return [
        (max(start, window_start), min(end, window_end))
        for start, end in intervals
        if start < window_end and end > window_start
    ]


def subtract(
    intervals: Iterable[tuple[datetime, datetime]], holes: Iterable[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """`intervals` minus `holes` (both sorted unions), keeping the parts of positive length."""
    result: list[tuple[datetime, datetime]] = []
    holes = merge(holes)
    for start, end in intervals:
        cursor = start
        for hole_start, hole_end in holes:
            if hole_end <= cursor or hole_start >= end:
                continue
            if hole_start > cursor:
                result.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
        if cursor < end:
            result.append((cursor, end))
    return result


def describe_day(rows: Sequence[WeeklyInterval], weekday: int) -> str:
    """A person-readable summary of one weekday's hours, e.g. "Monday 08:00-12:00, 13:00-18:00"."""
    spans = [
        f"{row.opens_at:%H:%M}-{'24:00' if row.closes_at == MIDNIGHT else f'{row.closes_at:%H:%M}'}"
        for row in sorted((r for r in rows if r.weekday == weekday), key=lambda r: r.opens)
    ]
    return f"{WEEKDAY_NAMES[weekday]} {', '.join(spans) if spans else 'closed'}"


def isoformat_local(instant: datetime, tz: ZoneInfo) -> str:
    """ISO 8601 with the organization's offset, as the API renders datetimes."""
    value = instant.astimezone(tz).isoformat()
    return value[:-6] + "Z" if value.endswith("+00:00") else value
