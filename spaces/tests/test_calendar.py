"""The week calendar's layout and the wall-clock helpers behind the booking pages, across clock changes."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django import forms

from accounts.models import User
from spaces.calendar import FreeSlot, summarize_hours, week_calendar, week_window
from spaces.forms import parse_day_hours
from spaces.hours import MIDNIGHT, WeeklyInterval, open_intervals
from spaces.localtime import day_window, wall_minutes, wall_to_instant
from spaces.models import Space
from spaces.selectors import Availability, BusyInterval

PARIS = ZoneInfo("Europe/Paris")
DASH = "\N{EN DASH}"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def every_day(opens: time, closes: time) -> list[WeeklyInterval]:
    return [WeeklyInterval(weekday, opens, closes) for weekday in range(7)]


def calendar_for(week_start: date, *, rows, busy=(), free=None, now, tz=PARIS, space=None):
    space = space or Space(pk=7, name="Blue room", min_duration_minutes=15, max_days_ahead=365)
    starts_at, ends_at = week_window(week_start, tz)
    availability = Availability(
        space=space,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=tz.key,
        busy=list(busy),
        free=list(free) if free is not None else open_intervals(rows, starts_at, ends_at, tz),
    )
    return week_calendar(availability=availability, rows=rows, week_start=week_start, tz=tz, now=now)


# Wall clock


def test_a_wall_time_becomes_the_instant_the_clocks_show_it():
    assert wall_to_instant(date(2025, 3, 4), time(10), PARIS) == utc(2025, 3, 4, 9)
    assert wall_to_instant(date(2025, 7, 4), time(10), PARIS) == utc(2025, 7, 4, 8)
    assert wall_to_instant(date(2025, 3, 4), timedelta(hours=24), PARIS) == utc(2025, 3, 4, 23)


def test_a_wall_time_the_clocks_skip_has_no_instant():
    assert wall_to_instant(date(2025, 3, 30), time(2, 30), PARIS) is None
    assert wall_to_instant(date(2025, 3, 30), time(3), PARIS) == utc(2025, 3, 30, 1)


def test_a_repeated_wall_time_is_its_first_pass():
    assert wall_to_instant(date(2025, 10, 26), time(2, 30), PARIS) == utc(2025, 10, 26, 0, 30)


def test_dst_days_are_23_and_25_hours_long():
    spring_start, spring_end = day_window(date(2025, 3, 30), PARIS)
    autumn_start, autumn_end = day_window(date(2025, 10, 26), PARIS)
    assert spring_end - spring_start == timedelta(hours=23)
    assert autumn_end - autumn_start == timedelta(hours=25)
    assert wall_minutes(utc(2025, 3, 30, 8), date(2025, 3, 30), PARIS) == 10 * 60


# Opening-hours text


def test_day_hours_are_read_forgivingly():
    assert parse_day_hours("08:00-12:00, 13:00-18:00", 0) == [
        WeeklyInterval(0, time(8), time(12)),
        WeeklyInterval(0, time(13), time(18)),
    ]
    assert parse_day_hours(f"8{DASH}12; 1300 to 24:00", 2) == [
        WeeklyInterval(2, time(8), time(12)),
        WeeklyInterval(2, time(13), MIDNIGHT),
    ]
    assert parse_day_hours("  Closed ", 3) == []
    assert parse_day_hours("", 3) == []


@pytest.mark.parametrize("text", ["8 till late", "24:00-25:00", "08:60-09:00", "08:00", "-"])
def test_unreadable_day_hours_are_refused(text):
    with pytest.raises(forms.ValidationError):
        parse_day_hours(text, 0)


def test_hours_are_summarized_by_runs_of_days():
    rows = [*every_day(time(8), time(18))[:5], WeeklyInterval(5, time(9), time(13))]
    assert summarize_hours(rows) == f"Mon{DASH}Fri 08:00{DASH}18:00 · Sat 09:00{DASH}13:00"
    assert summarize_hours([]) == "Any time"
    assert summarize_hours([WeeklyInterval(4, time(20), MIDNIGHT)]) == f"Fri 20:00{DASH}24:00"


# Week layout


def test_the_ruler_spans_the_opening_hours_and_blocks_sit_on_it():
    monday = date(2025, 3, 3)
    mine = BusyInterval(utc(2025, 3, 4, 9), utc(2025, 3, 4, 11), "confirmed", mine=True, reservation_id=1, title="Mine")
    calendar = calendar_for(monday, rows=every_day(time(8), time(18)), busy=[mine], now=utc(2025, 3, 1))

    assert (calendar.ruler.start, calendar.ruler.end) == (8 * 60, 18 * 60)
    assert [mark for mark, _ in calendar.hour_marks][:2] == ["08:00", "09:00"]
    tuesday = calendar.days[1]
    (block,) = tuesday.busy
    assert block.label == f"10:00{DASH}12:00"  # 09:00 UTC is 10:00 in Paris in winter
    assert (block.top, block.height) == (20.0, 20.0)
    assert block.text == "Mine"
    assert calendar.label == f"3{DASH}9 March 2025"


def test_others_bookings_say_booked_and_pending_ones_are_marked():
    other = BusyInterval(utc(2025, 3, 4, 12), utc(2025, 3, 4, 13), "pending", mine=False)
    calendar = calendar_for(date(2025, 3, 3), rows=every_day(time(8), time(18)), busy=[other], now=utc(2025, 3, 1))
    (block,) = calendar.days[1].busy
    assert (block.text, block.who, block.is_pending) == ("Booked", "", True)


def test_managers_see_who_booked():
    booker = User(email="sam@example.com", full_name="Sam Lee")
    busy = BusyInterval(utc(2025, 3, 4, 12), utc(2025, 3, 4, 13), "confirmed", False, 3, "Review", booker)
    (block,) = calendar_for(date(2025, 3, 3), rows=[], busy=[busy], now=utc(2025, 3, 1)).days[1].busy
    assert (block.text, block.who) == ("Review", "Sam Lee")


def test_a_booking_across_midnight_is_drawn_on_both_days():
    night = BusyInterval(utc(2025, 3, 4, 21), utc(2025, 3, 5, 1), "confirmed", mine=True)
    calendar = calendar_for(date(2025, 3, 3), rows=[], busy=[night], now=utc(2025, 3, 1))
    (first,) = calendar.days[1].busy
    (second,) = calendar.days[2].busy
    assert first.label == f"22:00{DASH}…" and first.continues_after
    assert second.label == f"…{DASH}02:00" and second.continues_before
    assert calendar.ruler.start == 0 and calendar.ruler.end == 24 * 60  # widened to show both parts


def test_free_slots_are_hour_cells_from_now_on():
    now = utc(2025, 3, 4, 9, 20)  # 10:20 in Paris
    calendar = calendar_for(date(2025, 3, 3), rows=every_day(time(8), time(12)), now=now)
    monday, tuesday = calendar.days[0], calendar.days[1]
    assert monday.slots == [] and monday.is_past
    assert [(slot.start, slot.end) for slot in tuesday.slots] == [("10:30", "11:00"), ("11:00", "12:00")]
    assert tuesday.is_today
    assert (calendar.ruler.start, calendar.ruler.end) == (8 * 60, 14 * 60)  # at least six hours tall
    assert calendar.now_top == pytest.approx(100 * (10 * 60 + 20 - 8 * 60) / (6 * 60), abs=0.01)
    assert tuesday.slots[0].query == "space=7&date=2025-03-04&start=10:30&end=11:00"


def test_a_slot_books_at_least_the_minimum_duration_and_never_past_the_free_time():
    space = Space(pk=7, name="Studio", min_duration_minutes=90, max_days_ahead=365)
    calendar = calendar_for(date(2025, 3, 3), rows=every_day(time(8), time(12)), now=utc(2025, 3, 1), space=space)
    slots = calendar.days[0].slots
    assert [(slot.start, slot.end) for slot in slots] == [("08:00", "09:30"), ("09:00", "10:30"), ("10:00", "11:30")]


def test_no_slots_beyond_the_advance_booking_window():
    space = Space(pk=7, name="Studio", min_duration_minutes=15, max_days_ahead=1)
    calendar = calendar_for(date(2025, 3, 3), rows=[], now=utc(2025, 3, 3, 12), space=space)
    assert calendar.days[1].slots and not calendar.days[3].slots


def test_the_spring_change_draws_wall_times_and_offers_no_skipped_slot():
    # Sunday 30 March 2025: Paris jumps from 02:00 to 03:00.
    sunday = BusyInterval(utc(2025, 3, 30, 8), utc(2025, 3, 30, 9), "confirmed", mine=True)
    monday = BusyInterval(utc(2025, 3, 24, 9), utc(2025, 3, 24, 10), "confirmed", mine=True)
    calendar = calendar_for(date(2025, 3, 24), rows=[], busy=[sunday, monday], now=utc(2025, 3, 20))
    assert calendar.days[6].busy[0].label == f"10:00{DASH}11:00"  # summer time: UTC+2
    assert calendar.days[0].busy[0].label == f"10:00{DASH}11:00"  # winter time: UTC+1
    assert calendar.days[6].hours_label == "Open all day"
    starts = [slot.start for slot in calendar.days[6].slots]
    assert "02:00" not in starts and "03:00" in starts


def test_the_autumn_change_keeps_bookings_on_their_wall_times():
    # Sunday 26 October 2025: Paris goes back from 03:00 to 02:00.
    sunday = BusyInterval(utc(2025, 10, 26, 9), utc(2025, 10, 26, 10), "confirmed", mine=False)
    calendar = calendar_for(date(2025, 10, 20), rows=every_day(time(8), time(18)), busy=[sunday], now=utc(2025, 10, 1))
    assert calendar.days[6].busy[0].label == f"10:00{DASH}11:00"  # winter time again: UTC+1
    assert [span.label for span in calendar.days[6].open_spans] == [f"08:00{DASH}18:00"]


def test_the_phone_agenda_lists_bookings_and_free_stretches_in_order():
    busy = BusyInterval(utc(2025, 3, 3, 10), utc(2025, 3, 3, 11), "confirmed", mine=False)
    calendar = calendar_for(
        date(2025, 3, 3),
        rows=every_day(time(8), time(14)),
        busy=[busy],
        free=[(utc(2025, 3, 3, 7), utc(2025, 3, 3, 10)), (utc(2025, 3, 3, 11), utc(2025, 3, 3, 13))],
        now=utc(2025, 3, 1),
    )
    agenda = calendar.days[0].agenda
    assert [item.span.label for item in agenda] == [f"08:00{DASH}11:00", f"11:00{DASH}12:00", f"12:00{DASH}14:00"]
    assert isinstance(agenda[0].slots[0], FreeSlot) and [s.start for s in agenda[0].slots] == [
        "08:00",
        "09:00",
        "10:00",
    ]
