"""The schedule page: one day of every space, booking from the grid, filters, the DST days and query counts."""

import re
from datetime import UTC, datetime, time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.tests.pages import text
from spaces.models import Closure, OpeningHours, Space
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.django_db
MONDAY = "2025-03-10"  # a week after BOOKING_NOW (conftest): bookable


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def free_links(response) -> list[str]:
    return re.findall(r'class="free-cell"\s+href="([^"]+)"', response.content.decode().replace("&amp;", "&"))


def column_labels(response) -> list[str]:
    head = response.content.decode().split("<tbody>")[0]
    return re.findall(r'class="time-head[^"]*">\s*([0-9:]*)', head)


def test_anonymous_visitors_are_sent_to_log_in(web_client, org):
    response = web_client(org).get("/schedule/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/?next=/schedule/"


def test_the_schedule_is_first_in_the_navigation(web_client, org, in_tenant):
    page = text(web_client(org, org.member).get("/reservations/"))
    nav = page.split('class="navbar-nav me-auto"')[1]
    assert nav.index('href="/schedule/"') < nav.index('href="/"')


def test_members_see_others_bookings_without_names_and_their_own_highlighted(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Blue room"))
    ReservationFactory(space=room, user=org.admin, title="Secret board meeting", starts_at=utc(2025, 3, 10, 9))
    ReservationFactory(space=room, user=org.member, title="My planning", starts_at=utc(2025, 3, 10, 11))
    ReservationFactory(
        space=room, user=org.owner, title="Vendor demo", starts_at=utc(2025, 3, 10, 14), status="pending"
    )
    response = web_client(org, org.member).get(f"/schedule/?date={MONDAY}")
    assert response.status_code == 200
    page = text(response)
    assert "Secret board meeting" not in page and "Vendor demo" not in page
    assert "Alpha Admin" not in page
    assert "My planning" in page
    assert re.search(r'cell cell-busy is-mine"[^>]*>\s*<a class="busy-text"', page)
    assert "cell cell-busy is-pending" in page


def test_managers_see_the_booker_and_title(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Blue room"))
    ReservationFactory(space=room, user=org.member, title="Design review", starts_at=utc(2025, 3, 10, 9))
    page = text(web_client(org, org.admin).get(f"/schedule/?date={MONDAY}"))
    assert "Design review" in page
    assert "Alpha Member" in page


def test_columns_are_the_union_of_the_days_opening_hours(web_client, org, in_tenant, booking_now):
    early = SpaceFactory(name="Early room")
    OpeningHours.objects.create(space=early, weekday=0, opens_at=time(7), closes_at=time(12))
    late = SpaceFactory(name="Late room")
    OpeningHours.objects.create(space=late, weekday=0, opens_at=time(10), closes_at=time(19))
    response = web_client(org, org.member).get(f"/schedule/?date={MONDAY}")
    labels = [label for label in column_labels(response) if label]
    assert labels[0] == "07:00" and labels[-1] == "18:00"
    links = free_links(response)
    assert f"/reservations/new/?space={early.pk}&date={MONDAY}&start=07:00&end=07:30" in links
    assert f"/reservations/new/?space={late.pk}&date={MONDAY}&start=18:30&end=19:00" in links
    # Late room before 10:00 and Early room after 12:00 are closed, not links.
    assert not any(f"space={late.pk}&date={MONDAY}&start=09:30" in link for link in links)
    assert not any(f"space={early.pk}&date={MONDAY}&start=12:00" in link for link in links)


def test_a_free_cell_links_to_a_booking_as_long_as_the_minimum(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Blue room", min_duration_minutes=60))
    links = free_links(web_client(org, org.member).get(f"/schedule/?date={MONDAY}"))
    assert f"/reservations/new/?space={room.pk}&date={MONDAY}&start=08:00&end=09:00" in links
    # 17:30 cannot hold an hour before closing at 18:00.
    assert not any("start=17:30" in link for link in links)


def test_past_times_are_not_offered(web_client, org, in_tenant, booking_now):
    open_every_day(SpaceFactory(name="Blue room"))
    links = free_links(web_client(org, org.member).get("/schedule/?date=2025-03-03"))  # today, 08:00 UTC now
    assert links and not any("start=08:00" in link for link in links)
    assert all(link.split("start=")[1] >= "08:30" for link in links)


def test_the_spring_day_has_23_hours_and_no_skipped_column(web_client, paris, in_tenant, booking_now):
    open_every_day(SpaceFactory(name="Night room"), opens_at=time(0), closes_at=time(0))
    response = web_client(paris, paris.member).get("/schedule/?date=2025-03-30")
    labels = column_labels(response)
    assert len(labels) == 46  # 23 hours of half hours
    assert "02:00" not in [label for label in labels if label]
    # The half hour before the jump ends at 03:00 on the wall clock.
    links = " ".join(free_links(response))
    assert "start=01:30&end=03:00" in links and "start=03:00&end=03:30" in links


def test_the_autumn_day_has_25_hours_and_the_repeated_hour_twice(web_client, paris, in_tenant, booking_now):
    open_every_day(SpaceFactory(name="Night room"), opens_at=time(0), closes_at=time(0))
    response = web_client(paris, paris.member).get("/schedule/?date=2025-10-26")
    labels = column_labels(response)
    assert len(labels) == 50
    assert [label for label in labels if label].count("02:00") == 2
    assert "again" in text(response)
    # The form reads 02:00 as its first pass: only that pass is a link.
    assert sum("start=02:00&" in link for link in free_links(response)) == 1


def test_filters_narrow_the_rows_and_stay_in_the_day_links(web_client, org, in_tenant, booking_now):
    SpaceFactory(name="Desk one", kind=Space.Kind.DESK, capacity=1, location="Floor 1", amenities=["monitor"])
    SpaceFactory(name="Big room", capacity=20, location="Floor 2", amenities=["projector", "video", "whiteboard"])
    SpaceFactory(name="Small room", capacity=4, location="Floor 2", amenities=["projector"])
    client = web_client(org, org.member)

    def rows(query: str) -> list[str]:
        page = client.get(f"/schedule/?date={MONDAY}&{query}").content.decode()
        return re.findall(r'<tr data-space="\d+" data-space-name="([^"]+)"', page)

    assert rows("kind=desk") == ["Desk one"]
    assert rows("location=Floor+2") == ["Big room", "Small room"]
    assert rows("amenity=projector&amenity=video") == ["Big room"]
    assert rows("capacity_min=5") == ["Big room"]
    page = text(client.get(f"/schedule/?date={MONDAY}&kind=meeting_room&amenity=projector"))
    assert "/schedule/?date=2025-03-11&kind=meeting_room&amenity=projector" in page


@pytest.mark.parametrize("query", ["date=2025-02-30", "date=1900-01-01", "capacity_min=0", "kind=castle", "page=0"])
def test_bad_filters_are_a_400_with_the_form(web_client, org, in_tenant, booking_now, query):
    response = web_client(org, org.member).get(f"/schedule/?{query}")
    assert response.status_code == 400
    assert "Schedule" in text(response)


def test_the_page_runs_a_fixed_number_of_queries_and_pages_rows(web_client, org, in_tenant, booking_now):
    def count(client) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/schedule/?date={MONDAY}").status_code == 200
        return len(queries)

    client = web_client(org, org.admin)
    few = open_every_day(SpaceFactory(name="A room"))
    ReservationFactory(space=few, user=org.member, starts_at=utc(2025, 3, 10, 9))
    few_queries = count(client)
    spaces = Space.objects.bulk_create(Space(name=f"Room {n:03d}", capacity=4) for n in range(500))
    OpeningHours.objects.bulk_create(
        OpeningHours(space=space, weekday=0, opens_at=time(8), closes_at=time(18)) for space in spaces
    )
    for space in spaces[:40]:
        ReservationFactory(space=space, user=org.member, starts_at=utc(2025, 3, 10, 10))
    response = client.get(f"/schedule/?date={MONDAY}")
    assert len(re.findall(r"<tr data-space=", response.content.decode())) == 50
    assert "Page 1 of 11" in text(response)
    assert count(client) == few_queries


def test_booking_from_the_inline_form_books_and_comes_back_to_the_day(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Blue room"))
    client = web_client(org, org.member)
    form = {"space": room.pk, "date": MONDAY, "start": "09:00", "end": "10:30", "title": "Planning", "attendees": 2}
    response = client.post(f"/schedule/?date={MONDAY}&kind=meeting_room", form, HTTP_HX_REQUEST="true")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/schedule/?date={MONDAY}&kind=meeting_room"
    reservation = Reservation.objects.get()
    assert (reservation.user_id, reservation.starts_at, reservation.ends_at) == (
        org.member.pk,
        utc(2025, 3, 10, 9),
        utc(2025, 3, 10, 10, 30),
    )
    page = text(client.get(response.headers["Location"], HTTP_HX_REQUEST="true"))
    assert "Booked Blue room, Monday 10 March, 09:00\N{EN DASH}10:30." in page
    assert page.lstrip().startswith("<section")  # htmx gets the section alone


def test_a_clash_is_shown_in_the_inline_form(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Blue room"))
    ReservationFactory(space=room, user=org.admin, starts_at=utc(2025, 3, 10, 9))
    form = {"space": room.pk, "date": MONDAY, "start": "09:30", "end": "10:30", "attendees": 1}
    response = web_client(org, org.member).post(f"/schedule/?date={MONDAY}", form, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    page = text(response)
    assert "Blue room is already booked from 09:00 to 10:00. Choose a time around it." in page
    assert 'id="schedule-book"\n' in page or 'id="schedule-book" class' in " ".join(page.split())
    assert Reservation.objects.count() == 1


def test_a_booking_the_rules_refuse_is_shown_in_the_form(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Blue room", capacity=2))
    form = {"space": room.pk, "date": MONDAY, "start": "09:00", "end": "10:00", "attendees": 5}
    response = web_client(org, org.member).post(f"/schedule/?date={MONDAY}", form, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "Blue room holds at most 2 people." in text(response)
    assert not Reservation.objects.exists()


def test_the_inline_form_needs_the_csrf_token(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Blue room"))
    client = web_client(org, org.member, enforce_csrf_checks=True)
    form = {"space": room.pk, "date": MONDAY, "start": "09:00", "end": "10:00", "attendees": 1}
    assert client.post(f"/schedule/?date={MONDAY}", form).status_code == 403
    assert not Reservation.objects.exists()


def test_the_phone_list_offers_the_free_times_as_buttons(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Blue room"))
    ReservationFactory(space=room, user=org.admin, starts_at=utc(2025, 3, 10, 9))
    page = web_client(org, org.member).get(f"/schedule/?date={MONDAY}").content.decode()
    phone = page.split('class="schedule-list')[1]
    chips = re.findall(r'slot-chip"[^>]*>(\d\d:\d\d)</a>', " ".join(phone.split()))
    assert chips[:3] == ["08:00", "08:30", "10:00"]


def test_today_marks_now_with_a_line_in_its_cell(web_client, org, in_tenant, booking_now):
    open_every_day(SpaceFactory(name="Blue room"))
    page = web_client(org, org.member).get("/schedule/?date=2025-03-03").content.decode()  # now: 08:00 UTC
    assert re.search(r'class="cell cell-\w+ has-now now-0"', page)
    assert 'class="time-head is-hour is-now"' in page
    assert "has-now" not in web_client(org, org.member).get(f"/schedule/?date={MONDAY}").content.decode()


def test_closures_show_as_closed_and_offer_no_booking(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Blue room"))
    other = open_every_day(SpaceFactory(name="Green room"))
    drill = Closure.objects.create(starts_at=utc(2025, 3, 10, 12), ends_at=utc(2025, 3, 10, 14), reason="Fire drill")
    drill.spaces.add(room)
    Closure.objects.create(starts_at=utc(2025, 3, 10, 16), ends_at=utc(2025, 3, 10, 17), reason="Everyone's meeting")

    links = free_links(web_client(org, org.member).get(f"/schedule/?date={MONDAY}"))

    room_starts = {link.split("start=")[1][:5] for link in links if f"space={room.pk}&" in link}
    other_starts = {link.split("start=")[1][:5] for link in links if f"space={other.pk}&" in link}
    assert "11:30" in room_starts and "14:00" in room_starts
    assert not room_starts & {"12:00", "12:30", "13:00", "13:30", "16:00", "16:30"}
    assert "12:00" in other_starts  # the drill is only the Blue room's
    assert not other_starts & {"16:00", "16:30"}  # a closure of every space


def test_buffers_keep_the_cells_around_a_booking_unbookable_and_every_offered_cell_books(
    web_client, org, in_tenant, booking_now
):
    room = open_every_day(SpaceFactory(name="Blue room", buffer_before_minutes=15, buffer_after_minutes=15))
    # Booked with today's buffers (frozen: 15 and 15), and one from before the space had any (0 and 0).
    ReservationFactory(
        space=room,
        user=org.admin,
        starts_at=utc(2025, 3, 10, 10),
        ends_at=utc(2025, 3, 10, 11),
        buffer_before_minutes=15,
        buffer_after_minutes=15,
    )
    ReservationFactory(space=room, user=org.admin, starts_at=utc(2025, 3, 10, 14), ends_at=utc(2025, 3, 10, 15))
    client = web_client(org, org.member)

    response = client.get(f"/schedule/?date={MONDAY}")
    offered = [link.split("start=")[1].split("&")[0] for link in free_links(response)]
    # A new booking keeps 15 minutes clear before and after it too: 09:30 and 11:00 would meet the first
    # booking's buffers, 13:30 and 15:00 the second booking itself.
    assert offered == [
        "08:00", "08:30", "09:00", "11:30", "12:00", "12:30", "13:00", "15:30", "16:00", "16:30", "17:00", "17:30"
    ]  # fmt: skip
    assert len(re.findall(r"cell cell-unavailable", response.content.decode())) == 4

    # The grid and the booking rules agree on every half hour the room is open and not booked.
    for hour in range(8, 18):
        for minute in (0, 30):
            start = f"{hour:02d}:{minute:02d}"
            if hour in (10, 14):
                continue  # the bookings themselves
            end = f"{hour + (minute + 30) // 60:02d}:{(minute + 30) % 60:02d}"
            form = {"space": room.pk, "date": MONDAY, "start": start, "end": end, "attendees": 1}
            with transaction.atomic():
                booked = client.post(f"/schedule/?date={MONDAY}", form, HTTP_HX_REQUEST="true")
                transaction.set_rollback(True)
            assert booked.status_code == (302 if start in offered else 400), start
