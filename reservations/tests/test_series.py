"""Recurring series: one request books every occurrence (each an ordinary reservation), all or nothing or
skipping the failing dates, in local time across daylight-saving changes; changing and cancelling one, the
following or all; one email for the series."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from icalendar import Calendar

from reservations.models import Reservation, Series
from reservations.services import (
    ReservationConflict,
    reservation_cancel,
    reservation_update,
    series_cancel,
    series_create,
    series_update,
)
from reservations.tests.factories import ReservationFactory
from spacemanager.errors import ValidationFailed
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=PARIS)  # a week after BOOKING_NOW; clocks change on 30 March
MONDAYS_AND_WEDNESDAYS = "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20250630"


@pytest.fixture
def member(paris, in_tenant, booking_now, celery_eager):
    return paris.membership(paris.member)


@pytest.fixture
def space(in_tenant):
    return SpaceFactory(name="Blue room")


def book_series(member, space, rule=MONDAYS_AND_WEDNESDAYS, starts_at=MONDAY_9, minutes=30, **extra):
    return series_create(
        actor=member,
        space_id=space.pk,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        recurrence=rule,
        title="Stand-up",
        **extra,
    )


def local(instant: datetime) -> datetime:
    return instant.astimezone(PARIS)


def test_every_monday_and_wednesday_until_june_stays_at_nine_local_across_the_clock_change(member, space):
    result = book_series(member, space)

    expected = [
        day
        for day in (date(2025, 3, 10) + timedelta(days=n) for n in range(113))
        if day.weekday() in (0, 2) and day <= date(2025, 6, 30)
    ]
    assert [local(r.starts_at).date() for r in result.occurrences] == expected
    assert {(local(r.starts_at).time(), local(r.ends_at).time()) for r in result.occurrences} == {
        (time(9), time(9, 30))
    }
    # Before the change 09:00 Paris is 08:00 UTC, after it 07:00 UTC.
    assert result.occurrences[0].starts_at.astimezone(UTC).hour == 8
    assert result.occurrences[-1].starts_at.astimezone(UTC).hour == 7
    assert result.skipped == []
    assert Reservation.objects.filter(series=result.series, status="confirmed").count() == len(expected)


def test_a_clash_books_nothing_and_lists_each_clashing_occurrence(member, space, in_tenant):
    for day in (12, 19):
        ReservationFactory(space=space, user=in_tenant.admin, starts_at=datetime(2025, 3, day, 9, 15, tzinfo=PARIS))

    with pytest.raises(ReservationConflict) as caught:
        book_series(member, space)

    occurrences = caught.value.extra["occurrences"]
    assert [o["starts_at"] for o in occurrences] == ["2025-03-12T09:00:00+01:00", "2025-03-19T09:00:00+01:00"]
    assert {o["code"] for o in occurrences} == {"reservation_conflict"}
    assert len(caught.value.extra["conflicts"]) == 2
    assert not Series.objects.exists()
    assert not Reservation.objects.filter(user_id=member.user_id).exists()


def test_skip_conflicts_books_the_free_dates_and_answers_with_the_skipped_ones(member, space, in_tenant):
    ReservationFactory(space=space, user=in_tenant.admin, starts_at=datetime(2025, 3, 12, 9, tzinfo=PARIS))

    result = book_series(member, space, rule="FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4", skip_conflicts=True)

    assert [local(r.starts_at).day for r in result.occurrences] == [10, 17, 19]
    assert [(local(s.starts_at).day, s.code) for s in result.skipped] == [(12, "reservation_conflict")]


def test_an_occurrence_breaking_a_rule_refuses_the_series_with_the_rule_per_occurrence(member, in_tenant):
    near = SpaceFactory(max_days_ahead=20)

    with pytest.raises(ValidationFailed) as caught:
        book_series(member, near, rule="FREQ=WEEKLY;COUNT=4")

    assert caught.value.code == "occurrences_refused"
    assert [(o["starts_at"][:10], o["code"]) for o in caught.value.extra["occurrences"]] == [
        ("2025-03-24", "too_far_ahead"),
        ("2025-03-31", "too_far_ahead"),
    ]
    assert not Series.objects.exists()


def test_a_local_time_the_clocks_skip_is_never_shifted(member, space):
    # 02:30 does not exist in Paris on 30 March 2025.
    with pytest.raises(ValidationFailed) as caught:
        book_series(member, space, rule="FREQ=DAILY;COUNT=3", starts_at=datetime(2025, 3, 29, 2, 30, tzinfo=PARIS))
    assert [o["code"] for o in caught.value.extra["occurrences"]] == ["no_such_time"]

    result = book_series(
        member,
        space,
        rule="FREQ=DAILY;COUNT=3",
        starts_at=datetime(2025, 3, 29, 2, 30, tzinfo=PARIS),
        skip_conflicts=True,
    )
    assert [local(r.starts_at).day for r in result.occurrences] == [29, 31]
    assert all(local(r.starts_at).time() == time(2, 30) for r in result.occurrences)


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ("FREQ=WEEKLY;BYDAY=MO", "invalid_recurrence"),  # no end
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20250601", "invalid_recurrence"),
        ("FREQ=YEARLY;COUNT=3", "invalid_recurrence"),
        ("FREQ=WEEKLY;COUNT=3;BYHOUR=9", "invalid_recurrence"),
        ("FREQ=WEEKLY;COUNT=501", "invalid_recurrence"),
        ("FREQ=DAILY;UNTIL=20300101", "too_many_occurrences"),
        ("FREQ=WEEKLY;BYDAY=XX;COUNT=3", "invalid_recurrence"),
        ("FREQ=WEEKLY;UNTIL=2025-06-30", "invalid_recurrence"),
        ("FREQ=WEEKLY;UNTIL=20250301", "no_occurrences"),
        ("garbage", "invalid_recurrence"),
    ],
)
def test_a_rule_we_do_not_offer_is_refused_on_the_recurrence_field(member, space, rule, code):
    with pytest.raises(ValidationFailed) as caught:
        book_series(member, space, rule=rule)
    assert (caught.value.field, caught.value.code) == ("recurrence", code)
    assert not Series.objects.exists()


def test_cancelling_one_then_the_following_keeps_the_earlier_ones(member, space):
    result = book_series(member, space, rule="FREQ=WEEKLY;BYDAY=MO;COUNT=6")
    first, second, third, *rest = result.occurrences

    reservation_cancel(actor=member, reservation=second)
    cancelled = series_cancel(actor=member, series=result.series, from_starts_at=rest[0].series_starts_at)

    assert {r.pk for r in cancelled} == {r.pk for r in rest}
    statuses = dict(Reservation.objects.filter(series=result.series).values_list("pk", "status"))
    assert statuses[first.pk] == statuses[third.pk] == "confirmed"
    assert statuses[second.pk] == "cancelled"
    with pytest.raises(ValidationFailed) as caught:
        series_cancel(actor=member, series=result.series, from_starts_at=MONDAY_9 + timedelta(minutes=1))
    assert caught.value.code == "unknown_occurrence"


def test_moving_the_following_ones_rechecks_each_and_is_all_or_nothing(member, space, in_tenant):
    result = book_series(member, space, rule="FREQ=WEEKLY;BYDAY=MO;COUNT=4")
    second = result.occurrences[1]
    blocker = ReservationFactory(space=space, user=in_tenant.admin, starts_at=datetime(2025, 3, 31, 10, tzinfo=PARIS))

    with pytest.raises(ReservationConflict) as caught:
        series_update(
            actor=member,
            series=result.series,
            from_starts_at=second.series_starts_at,
            starts_at=second.starts_at + timedelta(hours=1),
            ends_at=second.ends_at + timedelta(hours=1),
        )
    assert [o["starts_at"] for o in caught.value.extra["occurrences"]] == ["2025-03-31T10:00:00+02:00"]
    assert Reservation.objects.get(pk=second.pk).starts_at == second.starts_at

    blocker.delete()
    moved = series_update(
        actor=member,
        series=result.series,
        from_starts_at=second.series_starts_at,
        starts_at=second.starts_at + timedelta(hours=1),
        ends_at=second.ends_at + timedelta(hours=1),
        title="Later stand-up",
    )
    # 10:00 local each week, across the clock change; the first occurrence is untouched.
    assert [(local(r.starts_at).day, local(r.starts_at).hour, r.title) for r in moved] == [
        (17, 10, "Later stand-up"),
        (24, 10, "Later stand-up"),
        (31, 10, "Later stand-up"),
    ]
    assert local(Reservation.objects.get(pk=result.occurrences[0].pk).starts_at).hour == 9


def test_someone_elses_series_is_not_found(member, space, in_tenant):
    result = book_series(member, space, rule="FREQ=WEEKLY;COUNT=2")
    other = in_tenant.membership(in_tenant.owner)
    other.role = "member"  # a plain member who is not the booker
    from spacemanager.errors import NotFound

    with pytest.raises(NotFound):
        series_cancel(actor=other, series=result.series)


def _calendar(message) -> Calendar:
    [part] = [p for p in message.message().walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True))


def test_one_email_for_the_series_with_one_vevent_carrying_rrule_and_exdate(
    member, space, in_tenant, django_capture_on_commit_callbacks
):
    ReservationFactory(space=space, user=in_tenant.admin, starts_at=datetime(2025, 3, 17, 9, tzinfo=PARIS))
    with django_capture_on_commit_callbacks(execute=True):
        result = book_series(member, space, rule="FREQ=WEEKLY;BYDAY=MO;COUNT=4", skip_conflicts=True)

    [message] = mail.outbox
    assert message.subject.startswith("Series booked: Blue room, 3 times from Mon 10 Mar 2025, 09:00-09:30")
    [event] = _calendar(message).walk("VEVENT")
    assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=4;BYDAY=MO"
    assert event.decoded("DTSTART") == MONDAY_9
    assert str(event["DTSTART"].params["TZID"]) == "Europe/Paris"
    assert [d.dt for d in event["EXDATE"].dts] == [datetime(2025, 3, 17, 9, tzinfo=PARIS)]
    assert _calendar(message).walk("VTIMEZONE")

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reservation_update(actor=member, reservation=result.occurrences[1], title="Moved room talk")
    [update] = mail.outbox
    [changed] = _calendar(update).walk("VEVENT")
    assert str(changed["UID"]) == str(event["UID"])
    assert changed.decoded("RECURRENCE-ID") == datetime(2025, 3, 24, 9, tzinfo=PARIS)


def test_the_notice_catch_up_leaves_occurrences_told_by_their_series_email_alone(member, space, booking_now):
    from reservations.services import reservations_notices_catch_up

    result = book_series(member, space, rule="FREQ=WEEKLY;COUNT=3")
    booking_now.shift(timedelta(minutes=5))

    assert reservations_notices_catch_up() == []
    reservation_update(actor=member, reservation=result.occurrences[0], title="Own change")
    booking_now.shift(timedelta(minutes=5))
    assert reservations_notices_catch_up() == [result.occurrences[0].pk]  # its own notice never went out


def test_a_local_time_the_clocks_repeat_is_booked_once_at_its_first_pass(member, space):
    # 02:30 happens twice in Paris on 26 October 2025; the rule's 02:30 is the first of them.
    result = book_series(
        member, space, rule="FREQ=DAILY;COUNT=3", starts_at=datetime(2025, 10, 25, 2, 30, tzinfo=PARIS), minutes=20
    )

    assert [local(r.starts_at).strftime("%d %H:%M") for r in result.occurrences] == ["25 02:30", "26 02:30", "27 02:30"]
    assert result.occurrences[1].starts_at == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # still summer time


def test_renaming_all_keeps_an_occurrence_moved_to_another_space_there(member, space):
    result = book_series(member, space, rule="FREQ=WEEKLY;COUNT=3")
    elsewhere = SpaceFactory(name="Green room")
    reservation_update(actor=member, reservation=result.occurrences[1], space_id=elsewhere.pk)

    renamed = series_update(actor=member, series=result.series, title="Weekly")

    assert [(r.space_id, r.title) for r in renamed] == [
        (space.pk, "Weekly"),
        (elsewhere.pk, "Weekly"),
        (space.pk, "Weekly"),
    ]


def test_cancelling_one_the_following_then_all_each_send_the_right_calendar_update(
    member, space, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = book_series(member, space, rule="FREQ=WEEKLY;COUNT=4")
    first, second, third, _ = result.occurrences
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(actor=member, reservation=second)
    with django_capture_on_commit_callbacks(execute=True):
        series_cancel(actor=member, series=result.series, from_starts_at=third.series_starts_at)
    with django_capture_on_commit_callbacks(execute=True):
        series_cancel(actor=member, series=result.series)

    one, following, everything = (_calendar(message) for message in mail.outbox)
    assert str(one["METHOD"]) == "CANCEL"
    assert one.walk("VEVENT")[0].decoded("RECURRENCE-ID") == second.series_starts_at
    assert str(following["METHOD"]) == "REQUEST"
    exdates = following.walk("VEVENT")[0]["EXDATE"]
    exdates = exdates if isinstance(exdates, list) else [exdates]
    assert [d.dt for prop in exdates for d in prop.dts] == [r.series_starts_at for r in result.occurrences[1:]]
    assert str(everything["METHOD"]) == "CANCEL"
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Booking cancelled", "Series changed", "Series cancelled"]
    assert Reservation.objects.get(pk=first.pk).status == "cancelled"  # the last one left before "all"
