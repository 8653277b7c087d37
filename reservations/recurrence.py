"""Recurrence rules (RFC 5545 RRULE) expanded into occurrences, in the organization's wall-clock time.

python-dateutil's rrule does the expansion; this module only restricts the rule to what we offer (DAILY,
WEEKLY, MONTHLY with INTERVAL, BYDAY, BYMONTHDAY, BYSETPOS and COUNT or UNTIL), bounds it (at most
MAX_OCCURRENCES) and turns each local start into an instant. Expanding on naive local times keeps a weekly
09:00 at 09:00 across daylight-saving changes; a local time the clocks skip is reported, never shifted.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from spacemanager.errors import ValidationFailed
from spaces.localtime import wall_to_instant

MAX_OCCURRENCES = 500
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY")
PARTS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYSETPOS", "COUNT", "UNTIL", "WKST")
_UNTIL = re.compile(r"^(\d{8})(?:T(\d{6})(Z?))?$")


@dataclass(frozen=True)
class Occurrence:
    starts_at: datetime
    ends_at: datetime
    problem: str = ""  # why it cannot exist (a skipped local time); empty when it can be booked


def _refuse(message: str, code: str = "invalid_recurrence") -> ValidationFailed:
    return ValidationFailed(message, field="recurrence", code=code)


def _parts(rule: str) -> dict[str, str]:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    parts: dict[str, str] = {}
    for item in filter(None, text.split(";")):
        key, sep, value = item.partition("=")
        key = key.strip().upper()
        if not sep or not value.strip():
            raise _refuse(f"Write the rule as KEY=VALUE pairs separated by semicolons; “{item}” is not one.")
        if key in parts:
            raise _refuse(f"{key} is given twice.")
        parts[key] = value.strip().upper()
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise _refuse(f"Not supported in a recurrence here: {', '.join(unknown)}. Use {', '.join(PARTS)}.")
    if parts.get("FREQ") not in FREQUENCIES:
        raise _refuse("FREQ must be DAILY, WEEKLY or MONTHLY.")
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise _refuse("Give how it ends: either COUNT (a number of times) or UNTIL (a date), not both.")
    for key, low, high in (("COUNT", 1, MAX_OCCURRENCES), ("INTERVAL", 1, 1000)):
        if key in parts and not (parts[key].isdigit() and low <= int(parts[key]) <= high):
            raise _refuse(f"{key} must be a whole number from {low} to {high}.")
    return parts


def _local_until(value: str, tz: ZoneInfo) -> datetime:
    """UNTIL as a naive local time: a date means the end of that local day; Z means UTC."""
    match = _UNTIL.match(value)
    if match is None:
        raise _refuse("UNTIL must look like 20250630, 20250630T170000 or 20250630T150000Z.")
    day_text, clock_text, utc = match.groups()
    try:
        day = date(int(day_text[:4]), int(day_text[4:6]), int(day_text[6:]))
        if clock_text is None:
            return datetime.combine(day, time(23, 59, 59))
        clock = time(int(clock_text[:2]), int(clock_text[2:4]), int(clock_text[4:]))
    except ValueError:
        raise _refuse("UNTIL is not a real date and time.") from None
    moment = datetime.combine(day, clock)
    if utc:
        return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None)
    return moment


def recurrence_normalize(rule: str) -> str:
    """The rule as stored and sent in invitations: upper case, without an `RRULE:` prefix."""
    return ";".join(f"{key}={value}" for key, value in _parts(rule).items())


def recurrence_for_calendar(*, rule: str, tz: ZoneInfo) -> str:
    """The rule as an RRULE beside a DTSTART with a TZID (invitations, feeds): RFC 5545 wants UNTIL in UTC
    there, so a date or local UNTIL becomes the UTC instant `recurrence_expand` reads it as."""
    parts = _parts(rule)
    if "UNTIL" in parts:
        local = _local_until(parts["UNTIL"], tz)
        parts["UNTIL"] = local.replace(tzinfo=tz).astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")
    return ";".join(f"{key}={value}" for key, value in parts.items())


def recurrence_expand(*, rule: str, starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> list[Occurrence]:
    """The occurrences of `rule` whose first is at or after `starts_at` (local wall time in `tz`), each as long
    on the wall clock as the first. Refused (400, field `recurrence`) when the rule is not one we offer or
    gives more than MAX_OCCURRENCES."""
    parts = _parts(rule)
    local_start = starts_at.astimezone(tz).replace(tzinfo=None)
    wall_length = ends_at.astimezone(tz).replace(tzinfo=None) - local_start
    if "UNTIL" in parts:
        parts["UNTIL"] = _local_until(parts["UNTIL"], tz).strftime("%Y%m%dT%H%M%S")
    text = ";".join(f"{key}={value}" for key, value in parts.items())
    try:
        expansion = rrulestr(text, dtstart=local_start)
        wall_starts = list(islice(iter(expansion), MAX_OCCURRENCES + 1))
    except (ValueError, TypeError, OverflowError) as exc:
        raise _refuse(f"This recurrence rule cannot be read: {exc}.") from None
    if len(wall_starts) > MAX_OCCURRENCES:
        raise _refuse(
            f"A series has at most {MAX_OCCURRENCES} occurrences; end it sooner (COUNT or UNTIL).",
            code="too_many_occurrences",
        )
    if not wall_starts:
        raise _refuse("This rule gives no occurrence from the first start on.", code="no_occurrences")
    occurrences = []
    for wall_start in wall_starts:
        wall_end = wall_start + wall_length
        start = wall_to_instant(wall_start.date(), _since_midnight(wall_start), tz)
        end = wall_to_instant(wall_end.date(), _since_midnight(wall_end), tz)
        if start is None or end is None:
            occurrences.append(
                Occurrence(
                    starts_at=wall_start.replace(tzinfo=tz),
                    ends_at=wall_end.replace(tzinfo=tz),
                    problem=f"{wall_start:%Y-%m-%d %H:%M} does not exist in {tz.key}: the clocks skip it.",
                )
            )
        else:
            occurrences.append(Occurrence(starts_at=start, ends_at=end))
    return occurrences


def _since_midnight(moment: datetime) -> timedelta:
    return moment - datetime.combine(moment.date(), time(0))
