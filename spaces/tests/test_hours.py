"""The opening-hours arithmetic in Europe/Paris, whose clocks jump forward on 2025-03-30 at 02:00 (to 03:00)
and back on 2025-10-26 at 03:00 (to 02:00)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from spaces.hours import (
    END_OF_DAY,
    WeeklyInterval,
    local_instant,
    local_pieces,
    open_intervals,
    subtract,
    uncovered_pieces,
)

PARIS = ZoneInfo("Europe/Paris")
MIDNIGHT = time(0)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def every_day(opens_at: time, closes_at: time) -> list[WeeklyInterval]:
    return [WeeklyInterval(weekday, opens_at, closes_at) for weekday in range(7)]


def test_opening_hours_follow_the_wall_clock_across_the_spring_change():
    rows = every_day(time(8), time(18))
    # Saturday 29 March is on UTC+1, Sunday 30 March on UTC+2.
    assert open_intervals(rows, utc(2025, 3, 29), utc(2025, 3, 31), PARIS) == [
        (utc(2025, 3, 29, 7), utc(2025, 3, 29, 17)),
        (utc(2025, 3, 30, 6), utc(2025, 3, 30, 16)),
    ]


def test_opening_hours_follow_the_wall_clock_across_the_autumn_change():
    rows = every_day(time(8), time(18))
    assert open_intervals(rows, utc(2025, 10, 25), utc(2025, 10, 27), PARIS) == [
        (utc(2025, 10, 25, 6), utc(2025, 10, 25, 16)),
        (utc(2025, 10, 26, 7), utc(2025, 10, 26, 17)),
    ]


def test_a_whole_day_lasts_23_hours_in_spring_and_25_in_autumn():
    sunday = [WeeklyInterval(6, MIDNIGHT, MIDNIGHT)]
    [(spring_start, spring_end)] = open_intervals(sunday, utc(2025, 3, 29), utc(2025, 3, 31), PARIS)
    [(autumn_start, autumn_end)] = open_intervals(sunday, utc(2025, 10, 25), utc(2025, 10, 27), PARIS)
    assert spring_end - spring_start == timedelta(hours=23)
    assert autumn_end - autumn_start == timedelta(hours=25)


def test_a_night_across_midnight_is_one_open_interval():
    rows = [WeeklyInterval(4, time(20), MIDNIGHT), WeeklyInterval(5, MIDNIGHT, time(2))]  # Friday night
    assert open_intervals(rows, utc(2025, 3, 7), utc(2025, 3, 9), PARIS) == [
        (utc(2025, 3, 7, 19), utc(2025, 3, 8, 1)),
    ]
    pieces = local_pieces(utc(2025, 3, 7, 21), utc(2025, 3, 8, 0, 30), PARIS)
    assert [(p.weekday, p.starts, p.ends) for p in pieces] == [
        (4, timedelta(hours=22), END_OF_DAY),
        (5, timedelta(0), timedelta(hours=1, minutes=30)),
    ]
    assert uncovered_pieces(rows, pieces) == []


def test_an_opening_time_the_clocks_skip_opens_at_the_jump():
    opens = local_instant(date(2025, 3, 30), timedelta(hours=2, minutes=30), PARIS, entering=True)
    assert opens == utc(2025, 3, 30, 1)


def test_a_closing_time_in_the_repeated_hour_closes_on_its_first_pass():
    rows = [WeeklyInterval(6, MIDNIGHT, time(2, 30))]
    [(_, closes)] = open_intervals(rows, utc(2025, 10, 25, 12), utc(2025, 10, 27), PARIS)
    assert closes == utc(2025, 10, 26, 0, 30)  # 02:30 summer time
    # Until 02:30 summer time: inside. Until 02:30 winter time: the clock showed 02:59 in between, outside.
    assert uncovered_pieces(rows, local_pieces(utc(2025, 10, 25, 23), utc(2025, 10, 26, 0, 30), PARIS)) == []
    assert uncovered_pieces(rows, local_pieces(utc(2025, 10, 25, 23), utc(2025, 10, 26, 1, 30), PARIS))


def test_a_space_without_hours_is_always_open():
    assert open_intervals([], utc(2025, 3, 1), utc(2025, 3, 2), PARIS) == [(utc(2025, 3, 1), utc(2025, 3, 2))]
    assert uncovered_pieces([], local_pieces(utc(2025, 3, 1), utc(2025, 3, 5), PARIS)) == []


def test_a_weekday_without_rows_is_closed_once_other_days_have_rows():
    monday_only = [WeeklyInterval(0, time(8), time(18))]
    tuesday_morning = local_pieces(utc(2025, 3, 4, 9), utc(2025, 3, 4, 10), PARIS)
    assert [p.weekday for p in uncovered_pieces(monday_only, tuesday_morning)] == [1]


def test_subtracting_busy_time_keeps_touching_edges_free():
    free = subtract([(utc(2025, 3, 3, 8), utc(2025, 3, 3, 18))], [(utc(2025, 3, 3, 10), utc(2025, 3, 3, 11))])
    assert free == [(utc(2025, 3, 3, 8), utc(2025, 3, 3, 10)), (utc(2025, 3, 3, 11), utc(2025, 3, 3, 18))]
