"""A recurring series in a calendar feed: one VEVENT with RRULE, EXDATE for the occurrences that do not take
place, RECURRENCE-ID overrides for moved ones. The proof is what a client does with it: expanding the feed
(recurring-ical-events, on top of `icalendar` and dateutil) gives exactly the live occurrences."""

from datetime import UTC, datetime, timedelta

import pytest
import recurring_ical_events
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from icalendar import Calendar

from integrations import services
from integrations.models import CalendarFeed
from reservations.models import Reservation
from reservations.services import reservation_cancel, reservation_create, reservation_update, series_create
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)  # 10:00 in Paris; clocks change on 30 March
HOUR = timedelta(hours=1)


@pytest.fixture
def member(paris, in_tenant, booking_now):
    return paris.membership(paris.member)


@pytest.fixture
def space(in_tenant):
    return SpaceFactory(name="Blue room", location="2nd floor")


def weekly(member, space, count=6, rule=None, **extra):
    return series_create(
        actor=member,
        space_id=space.pk,
        starts_at=MONDAY_9,
        ends_at=MONDAY_9 + HOUR,
        recurrence=rule or f"FREQ=WEEKLY;COUNT={count}",
        title="Stand-up",
        **extra,
    ).series


def occurrences(series) -> list[Reservation]:
    return list(Reservation.objects.filter(series=series).order_by("series_starts_at"))


def feed(paris, user, kind=CalendarFeed.Kind.PERSONAL, space=None):
    feeds = services.calendar_feeds_ensure(actor=paris.membership(user), spaces=[space] if space else [])
    [one] = [f for f in feeds if f.kind == kind and (space is None or f.space_id == space.pk)]
    connection.set_schema_to_public()
    response = Client(HTTP_HOST=paris.host).get(f"/feeds/{one.secret}.ics")
    connection.set_tenant(paris.organization)
    assert response.status_code == 200
    return Calendar.from_ical(response.content)


def expanded(calendar) -> list[tuple[datetime, datetime, str]]:
    """What a calendar client shows: every instance, in UTC, with its title."""
    instances = recurring_ical_events.of(calendar).between(
        MONDAY_9 - timedelta(days=400), MONDAY_9 + timedelta(days=400)
    )
    return sorted(
        (e.decoded("DTSTART").astimezone(UTC), e.decoded("DTEND").astimezone(UTC), str(e["SUMMARY"])) for e in instances
    )


def live(rows) -> list[tuple[datetime, datetime]]:
    return sorted((r.starts_at, r.ends_at) for r in rows if r.status in (Reservation.Status.CONFIRMED,))


def test_a_series_is_one_vevent_with_rrule_and_its_expansion_is_every_occurrence(member, space, paris):
    series = weekly(member, space)

    calendar = feed(paris, paris.member)

    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"series-{series.pk}@{paris.host}"
    assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6"
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert "EXDATE" not in event
    shown = expanded(calendar)
    assert [(start, end) for start, end, _ in shown] == live(occurrences(series))
    # 10:00 Paris before and after the clocks change: 09:00 UTC, then 08:00 UTC.
    assert shown[0][0] == MONDAY_9 and shown[-1][0] == datetime(2025, 4, 14, 8, tzinfo=UTC)
    assert {title for _, _, title in shown} == {"Stand-up"}


def test_cancelled_occurrences_are_exdates_and_moved_ones_recurrence_id_overrides(member, space, paris):
    series = weekly(member, space)
    rows = occurrences(series)
    reservation_cancel(actor=member, reservation=rows[1])
    moved = reservation_update(
        actor=member, reservation=rows[3], starts_at=rows[3].starts_at + 2 * HOUR, ends_at=rows[3].ends_at + 2 * HOUR
    )
    reservation_update(actor=member, reservation=rows[4], title="Retro")

    calendar = feed(paris, paris.member)

    master, *overrides = calendar.walk("VEVENT")
    assert "RRULE" in master and "RECURRENCE-ID" not in master
    exdates = [d.dt.astimezone(UTC) for d in master["EXDATE"].dts]
    assert exdates == [rows[1].series_starts_at]
    assert {str(o["UID"]) for o in overrides} == {str(master["UID"])}
    assert sorted(o.decoded("RECURRENCE-ID").astimezone(UTC) for o in overrides) == [
        rows[3].series_starts_at,
        rows[4].series_starts_at,
    ]
    shown = expanded(calendar)
    assert [(start, end) for start, end, _ in shown] == live(occurrences(series))
    assert (moved.starts_at, moved.ends_at, "Stand-up") in shown
    assert (rows[4].starts_at, rows[4].ends_at, "Retro") in shown
    assert rows[1].starts_at not in [start for start, _, _ in shown]


def test_a_series_cancelled_whole_leaves_the_feed(member, space, paris):
    series = weekly(member, space, count=3)
    for row in occurrences(series):
        reservation_cancel(actor=member, reservation=row)

    assert feed(paris, paris.member).walk("VEVENT") == []


def test_an_occurrence_moved_to_another_space_leaves_this_space_s_feed_and_shows_in_the_other_s(member, space, paris):
    other = SpaceFactory(name="Green room")
    series = weekly(member, space, count=4)
    rows = occurrences(series)
    reservation_update(actor=member, reservation=rows[2], space_id=other.pk)

    here = feed(paris, paris.admin, CalendarFeed.Kind.SPACE, space)
    there = feed(paris, paris.admin, CalendarFeed.Kind.SPACE, other)

    assert [(s, e) for s, e, _ in expanded(here)] == live(r for r in occurrences(series) if r.space_id == space.pk)
    assert [(s, e) for s, e, _ in expanded(there)] == [(rows[2].starts_at, rows[2].ends_at)]


def test_an_until_date_is_sent_in_utc_as_rfc_5545_asks_beside_a_tzid(member, space, paris):
    series = weekly(member, space, rule="FREQ=DAILY;UNTIL=20250313")

    calendar = feed(paris, paris.member)

    [event] = calendar.walk("VEVENT")
    assert event["RRULE"].to_ical() == b"FREQ=DAILY;UNTIL=20250313T225959Z"
    assert [(s, e) for s, e, _ in expanded(calendar)] == live(occurrences(series))
    assert len(expanded(calendar)) == 4


def test_series_and_single_bookings_together_cost_a_fixed_number_of_queries(member, space, paris):
    weekly(member, space, count=3)
    reservation_create(
        actor=member, space_id=space.pk, starts_at=MONDAY_9 + 3 * HOUR, ends_at=MONDAY_9 + 4 * HOUR, title="One-off"
    )
    feeds = services.calendar_feeds_ensure(actor=paris.membership(paris.admin))
    [org_feed] = [f for f in feeds if f.kind == CalendarFeed.Kind.ORGANIZATION]

    def queries() -> int:
        connection.set_schema_to_public()
        with CaptureQueriesContext(connection) as captured:
            assert Client(HTTP_HOST=paris.host).get(f"/feeds/{org_feed.secret}.ics").status_code == 200
        connection.set_tenant(paris.organization)
        return len([q for q in captured.captured_queries if q["sql"].startswith("SELECT")])

    few = queries()
    for hour in (5, 7, 9):
        series_create(
            actor=member,
            space_id=space.pk,
            starts_at=MONDAY_9 + hour * HOUR,
            ends_at=MONDAY_9 + (hour + 1) * HOUR,
            recurrence="FREQ=DAILY;COUNT=5",
        )
    many = queries()

    assert many == few
    calendar = Calendar.from_ical(Client(HTTP_HOST=paris.host).get(f"/feeds/{org_feed.secret}.ics").content)
    assert len([e for e in calendar.walk("VEVENT") if "RRULE" in e]) == 4
    assert len(expanded(calendar)) == 3 + 1 + 3 * 5
