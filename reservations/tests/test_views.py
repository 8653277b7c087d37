"""Booking pages: the booking form, my reservations, a reservation's page, changing and cancelling, everyone's
reservations with approval (owners and admins), and the dashboard's reservation panels."""

from datetime import UTC, datetime, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.tests.pages import field_error, text
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.django_db
DASH = "\N{EN DASH}"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def room(in_tenant):
    """Blue room in alpha, open 08:00-18:00 every day, for up to 8 people."""
    return open_every_day(SpaceFactory(name="Blue room", capacity=8))


def booking(room, **changes) -> dict:
    """A valid booking for Tuesday 4 March 2025 (the frozen clock says Monday 3 March, 08:00 UTC)."""
    return {
        "space": room.pk,
        "date": "2025-03-04",
        "start": "10:00",
        "end": "11:00",
        "title": "Planning",
        "attendees": "4",
        "notes": "",
        **changes,
    }


# Who may open what


@pytest.mark.parametrize(
    "path", ["/reservations/", "/reservations/new/", "/reservations/all/", "/reservations/1/", "/reservations/1/edit/"]
)
def test_anonymous_visitors_are_sent_to_log_in(web_client, org, path):
    response = web_client(org).get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login/?next={path}"


def test_a_member_opening_someone_elses_reservation_gets_a_404(web_client, org, room, booking_now):
    theirs = ReservationFactory(space=room, user=org.admin, title="Interviews", starts_at=utc(2025, 3, 4, 9))
    client = web_client(org, org.member)
    for path in ("", "edit/", "cancel/"):
        assert client.get(f"/reservations/{theirs.pk}/{path}").status_code == 404
    assert client.post(f"/reservations/{theirs.pk}/cancel/").status_code == 404
    assert client.post(f"/reservations/{theirs.pk}/edit/", booking(room, start="12:00", end="13:00")).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.starts_at) == (Reservation.Status.CONFIRMED, utc(2025, 3, 4, 9))


def test_members_get_the_friendly_403_on_everyones_reservations_and_approval(web_client, org, room, booking_now):
    pending = ReservationFactory(space=room, user=org.member, status=Reservation.Status.PENDING)
    client = web_client(org, org.member)
    response = client.get("/reservations/all/")
    assert response.status_code == 403
    assert "Only the organization's owners and admins can open this page." in text(response)
    assert client.post(f"/reservations/{pending.pk}/confirm/").status_code == 403
    pending.refresh_from_db()
    assert pending.status == Reservation.Status.PENDING


def test_another_organizations_reservations_stay_out_of_sight(web_client, org, other_org, booking_now):
    connection.set_tenant(other_org.organization)
    ReservationFactory(space=SpaceFactory(name="Beta room"), user=other_org.admin, title="Beta secret")
    connection.set_tenant(org.organization)
    page = text(web_client(org, org.admin).get("/reservations/all/?date_from="))
    assert "Beta secret" not in page and "Beta room" not in page


# Booking


def test_the_booking_form_has_labelled_fields_named_like_the_api(web_client, org, room, booking_now):
    page = text(web_client(org, org.member).get("/reservations/new/"))
    for name in ("space", "date", "start", "end", "title", "attendees", "notes"):
        assert f'name="{name}"' in page
        assert f'<label class="form-label" for="id_{name}">' in page
    assert 'value="2025-03-03"' in page and 'value="09:00"' in page and 'value="10:00"' in page  # the next hour


def test_a_free_slot_link_opens_the_form_for_that_space_prefilled(web_client, org, room, booking_now):
    response = web_client(org, org.member).get(
        f"/reservations/new/?space={room.pk}&date=2025-03-05&start=14:00&end=15:30"
    )
    page = text(response)
    assert "Book Blue room" in page
    assert f'<input type="hidden" name="space" value="{room.pk}"' in page
    assert 'value="2025-03-05"' in page and 'value="14:00"' in page and 'value="15:30"' in page


def test_a_mangled_prefill_still_opens_an_empty_form(web_client, org, room, booking_now):
    response = web_client(org, org.member).get("/reservations/new/?space=abc&date=tomorrow&start=25:99")
    assert response.status_code == 200
    assert '<select name="space"' in text(response)


def test_booking_a_free_slot_goes_to_the_reservation_with_a_message(web_client, paris, room, booking_now):
    response = web_client(paris, paris.member).post(f"/reservations/new/?space={room.pk}", booking(room), follow=True)
    reservation = Reservation.objects.get()
    assert response.redirect_chain[-1][0] == f"/reservations/{reservation.pk}/"
    assert f"Booked Blue room, Tuesday 4 March, 10:00{DASH}11:00." in text(response)
    # 10:00 in Paris in winter is 09:00 UTC.
    assert (reservation.starts_at, reservation.ends_at) == (utc(2025, 3, 4, 9), utc(2025, 3, 4, 10))
    assert (reservation.user, reservation.title, reservation.attendees) == (paris.member, "Planning", 4)
    assert reservation.status == Reservation.Status.CONFIRMED


def test_a_space_that_needs_approval_says_the_booking_is_pending(web_client, org, room, booking_now):
    room.requires_approval = True
    room.save()
    response = web_client(org, org.member).post("/reservations/new/", booking(room), follow=True)
    assert "An owner or admin will approve it" in text(response)
    assert Reservation.objects.get().status == Reservation.Status.PENDING


def test_midnight_as_the_end_means_the_end_of_the_day(web_client, org, in_tenant, booking_now):
    late = open_every_day(SpaceFactory(name="Late room"), opens_at=time(18), closes_at=time(0))
    web_client(org, org.member).post("/reservations/new/", booking(late, start="22:00", end="00:00"))
    reservation = Reservation.objects.get()
    assert (reservation.starts_at, reservation.ends_at) == (utc(2025, 3, 4, 22), utc(2025, 3, 5, 0))


def test_a_conflicting_booking_names_the_clash_in_local_time_next_to_the_time(web_client, paris, room, booking_now):
    ReservationFactory(space=room, user=paris.admin, starts_at=utc(2025, 3, 4, 8), ends_at=utc(2025, 3, 4, 9, 30))
    client = web_client(paris, paris.member)

    response = client.post("/reservations/new/", booking(room, start="10:00", end="11:00"))
    assert response.status_code == 400
    # 08:00-09:30 UTC is 09:00-10:30 in Paris.
    message = "Blue room is already booked from 09:00 to 10:30. Choose a time around it."
    assert field_error(response, "start") == message
    assert 'value="Planning"' in text(response)  # what was typed stays

    response = client.post("/reservations/new/", booking(room, start="08:00", end="09:30"))
    assert field_error(response, "end") == message  # the end runs into it
    assert Reservation.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"attendees": "9"}, "attendees", "Blue room holds at most 8 people."),
        ({"attendees": "0"}, "attendees", "greater than or equal to 1"),
        ({"start": "07:00"}, "start", "Outside the opening hours of Blue room"),
        ({"end": "19:00"}, "end", "Outside the opening hours of Blue room"),
        ({"end": "09:00"}, "end", "The end must be after the start."),
        ({"date": "2025-03-02"}, "start", "This start time is in the past."),
        ({"date": "2027-03-02"}, "start", "can be booked at most 365 days ahead"),
        ({"date": "2125-03-02"}, "date", "Choose a date within 10 years of today."),
        ({"date": "not a date"}, "date", "Enter a valid date."),
        ({"start": "noon"}, "start", "Enter a valid time."),
        ({"end": ""}, "end", "Give a time, or choose Whole day."),
        ({"space": "999999"}, "space", "Select a valid choice."),
    ],
)
def test_bad_bookings_show_the_error_next_to_the_field_and_book_nothing(
    web_client, org, room, booking_now, changes, field, message
):
    response = web_client(org, org.member).post("/reservations/new/", booking(room, **changes))
    assert response.status_code == 400
    assert message in field_error(response, field)
    assert not Reservation.objects.exists()


def test_a_time_the_clocks_skip_is_a_form_error_not_a_500(web_client, paris, room, booking_now):
    # Paris skips 02:00-03:00 on Sunday 30 March 2025.
    all_day = open_every_day(SpaceFactory(name="Night room"), opens_at=time(0), closes_at=time(0))
    response = web_client(paris, paris.member).post(
        "/reservations/new/", booking(all_day, date="2025-03-30", start="02:30", end="04:00")
    )
    assert response.status_code == 400
    assert "This time does not exist on that day" in field_error(response, "start")
    assert not Reservation.objects.exists()


def test_a_repeated_time_in_autumn_books_its_first_pass(web_client, paris, in_tenant, booking_now):
    all_day = open_every_day(SpaceFactory(name="Night room"), opens_at=time(0), closes_at=time(0))
    web_client(paris, paris.member).post(
        "/reservations/new/", booking(all_day, date="2025-10-26", start="02:30", end="03:30")
    )
    reservation = Reservation.objects.get()
    # 02:30 happens twice; the first pass is still summer time (UTC+2), 03:30 is winter time (UTC+1).
    assert (reservation.starts_at, reservation.ends_at) == (utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 2, 30))


def test_an_archived_space_cannot_be_booked(web_client, org, room, booking_now):
    fixed = web_client(org, org.member).get(f"/reservations/new/?space={room.pk}")
    assert "Book Blue room" in text(fixed)
    room.is_active = False
    room.save()
    response = web_client(org, org.member).post(f"/reservations/new/?space={room.pk}", booking(room))
    assert response.status_code == 400
    assert "Select a valid choice." in text(response)
    assert not Reservation.objects.exists()


def test_booking_needs_the_csrf_token(web_client, org, room, booking_now):
    response = web_client(org, org.member, enforce_csrf_checks=True).post("/reservations/new/", booking(room))
    assert response.status_code == 403
    assert not Reservation.objects.exists()


# A reservation's page, changing and cancelling


def test_my_reservation_page_shows_when_where_and_the_actions(web_client, paris, room, booking_now):
    mine = ReservationFactory(
        space=room, user=paris.member, title="Planning", starts_at=utc(2025, 3, 4, 9), attendees=3, notes="Bring cake"
    )
    page = text(web_client(paris, paris.member).get(f"/reservations/{mine.pk}/"))
    assert "Tuesday 4 March 2025" in page and f"10:00{DASH}11:00" in page
    assert "Blue room" in page and "Bring cake" in page and "Confirmed" in page
    assert f'href="/reservations/{mine.pk}/edit/">Change</a>' in page
    assert f'href="/reservations/{mine.pk}/cancel/?next=/reservations/">Cancel reservation</a>' in page
    assert "Booked by" not in page


def test_managers_open_anyones_reservation_and_see_who_booked_it(web_client, org, room, booking_now):
    theirs = ReservationFactory(space=room, user=org.member, status=Reservation.Status.PENDING)
    page = text(web_client(org, org.admin).get(f"/reservations/{theirs.pk}/"))
    assert "Booked by" in page and "Alpha Member" in page
    assert f'action="/reservations/{theirs.pk}/confirm/"' in page


def test_the_edit_form_shows_the_booking_in_local_time(web_client, paris, room, booking_now):
    mine = ReservationFactory(space=room, user=paris.member, title="Planning", starts_at=utc(2025, 3, 4, 9))
    page = text(web_client(paris, paris.member).get(f"/reservations/{mine.pk}/edit/"))
    assert "Change reservation" in page
    assert 'value="2025-03-04"' in page and 'value="10:00"' in page and 'value="11:00"' in page
    assert 'value="Planning"' in page


def test_changing_a_reservation_goes_through_the_booking_rules(web_client, org, room, booking_now):
    mine = ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, 4, 9))
    ReservationFactory(space=room, user=org.admin, starts_at=utc(2025, 3, 4, 13))
    client = web_client(org, org.member)

    response = client.post(f"/reservations/{mine.pk}/edit/", booking(room, start="12:30", end="13:30"))
    assert response.status_code == 400
    assert "already booked from 13:00 to 14:00" in field_error(response, "end")

    response = client.post(f"/reservations/{mine.pk}/edit/", booking(room, start="15:00", end="16:30"), follow=True)
    assert "Your changes were saved." in text(response)
    mine.refresh_from_db()
    assert (mine.starts_at, mine.ends_at, mine.title) == (utc(2025, 3, 4, 15), utc(2025, 3, 4, 16, 30), "Planning")


def test_a_cancelled_reservation_cannot_be_changed(web_client, org, room, booking_now):
    cancelled = ReservationFactory(space=room, user=org.member, status=Reservation.Status.CANCELLED)
    response = web_client(org, org.member).get(f"/reservations/{cancelled.pk}/edit/", follow=True)
    assert response.redirect_chain[-1][0] == f"/reservations/{cancelled.pk}/"
    assert "This reservation is cancelled; it cannot be changed." in text(response)


def test_cancelling_asks_first_then_frees_the_slot(web_client, org, room, booking_now):
    mine = ReservationFactory(space=room, user=org.member, title="Planning", starts_at=utc(2025, 3, 4, 9))
    client = web_client(org, org.member)
    page = text(client.get(f"/reservations/{mine.pk}/cancel/"))
    assert "Cancel this reservation?" in page
    assert f"Tuesday 4 March, 09:00{DASH}10:00" in page
    mine.refresh_from_db()
    assert mine.status == Reservation.Status.CONFIRMED  # a GET changes nothing

    response = client.post(f"/reservations/{mine.pk}/cancel/", follow=True)
    assert response.redirect_chain[-1][0] == "/reservations/"
    assert "The slot is free again." in text(response)
    mine.refresh_from_db()
    assert mine.status == Reservation.Status.CANCELLED


def test_cancelling_returns_to_a_safe_next_page_only(web_client, org, room, booking_now):
    first = ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, 4, 9))
    second = ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, 4, 12))
    client = web_client(org, org.admin)
    response = client.post(f"/reservations/{first.pk}/cancel/", {"next": "/reservations/all/?status=confirmed"})
    assert response.headers["Location"] == "/reservations/all/?status=confirmed"
    response = client.post(f"/reservations/{second.pk}/cancel/", {"next": "https://evil.example.com/"})
    assert response.headers["Location"] == "/reservations/"


def test_a_completed_reservation_cannot_be_cancelled(web_client, org, room, booking_now):
    done = ReservationFactory(space=room, user=org.member, status=Reservation.Status.COMPLETED)
    response = web_client(org, org.member).post(f"/reservations/{done.pk}/cancel/", follow=True)
    assert "can no longer be cancelled" in text(response)
    done.refresh_from_db()
    assert done.status == Reservation.Status.COMPLETED


# Lists


def test_my_reservations_split_upcoming_from_past_and_cancelled(web_client, org, room, booking_now):
    ReservationFactory(space=room, user=org.member, title="Next week", starts_at=utc(2025, 3, 10, 9))
    ReservationFactory(space=room, user=org.member, title="Last week", starts_at=utc(2025, 2, 24, 9))
    ReservationFactory(
        space=room, user=org.member, title="Called off", starts_at=utc(2025, 3, 11, 9), status="cancelled"
    )
    ReservationFactory(space=room, user=org.admin, title="Not mine", starts_at=utc(2025, 3, 10, 12))
    client = web_client(org, org.member)
    upcoming = text(client.get("/reservations/"))
    assert "Next week" in upcoming
    assert "Last week" not in upcoming and "Called off" not in upcoming and "Not mine" not in upcoming
    past = text(client.get("/reservations/?show=past"))
    assert "Last week" in past and "Called off" in past and "Next week" not in past
    assert past.index("Called off") < past.index("Last week")  # latest first


def test_my_reservations_are_paginated(web_client, org, room, booking_now):
    for day in range(22):
        ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, 4 + day, 9))
    client = web_client(org, org.member)
    first = client.get("/reservations/")
    page = first.context["page"]
    assert len(page.object_list) == 20 and page.previous_url is None
    assert page.next_url.startswith("?cursor=") and 'rel="next"' in text(first)
    second = client.get(f"/reservations/{page.next_url}")
    assert text(second).count('class="booking-row"') == 2
    assert second.context["page"].next_url is None and second.context["page"].previous_url
    past = client.get("/reservations/?show=past")
    assert past.status_code == 200


def test_a_broken_page_link_is_a_400_not_a_500(web_client, org):
    client = web_client(org, org.member)
    assert client.get("/reservations/?cursor=not-a-cursor").status_code == 400
    assert web_client(org, org.owner).get("/reservations/all/?cursor=not-a-cursor").status_code == 400


def test_my_reservations_run_a_fixed_number_of_queries(web_client, org, room, booking_now):
    client = web_client(org, org.member)
    ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, 4, 9))
    client.get("/reservations/")
    with CaptureQueriesContext(connection) as one:
        client.get("/reservations/")
    for day in range(5, 15):
        ReservationFactory(space=SpaceFactory(), user=org.member, starts_at=utc(2025, 3, day, 9))
    with CaptureQueriesContext(connection) as many:
        client.get("/reservations/")
    assert len(many) == len(one)


def test_everyones_reservations_start_today_and_filter_by_space_status_and_days(web_client, org, room, booking_now):
    other = open_every_day(SpaceFactory(name="Green room"))
    ReservationFactory(space=room, user=org.member, title="Member call", starts_at=utc(2025, 3, 4, 9))
    ReservationFactory(space=other, user=org.owner, title="Owner demo", starts_at=utc(2025, 3, 6, 9), status="pending")
    ReservationFactory(space=room, user=org.admin, title="Old one", starts_at=utc(2025, 2, 20, 9))
    client = web_client(org, org.admin)

    page = text(client.get("/reservations/all/"))
    assert "Member call" in page and "Owner demo" in page and "Old one" not in page
    assert 'value="2025-03-03"' in page  # "from today" is shown in the filter

    assert "Owner demo" not in text(client.get(f"/reservations/all/?space={room.pk}"))
    assert "Member call" not in text(client.get("/reservations/all/?status=pending"))
    window = text(client.get("/reservations/all/?date_from=2025-03-05&date_to=2025-03-06"))
    assert "Owner demo" in window and "Member call" not in window
    assert "Old one" in text(client.get("/reservations/all/?date_from="))


def test_the_space_filter_lists_every_space_in_a_fixed_number_of_queries(web_client, org, room, booking_now):
    # The filter's options are written without a template per option (PlainSelect), and without the spaces'
    # opening hours: 40 spaces cost the queries of one, and the chosen one stays selected, its name escaped.
    client = web_client(org, org.admin)
    client.get(f"/reservations/all/?space={room.pk}")
    with CaptureQueriesContext(connection) as one_space:
        client.get(f"/reservations/all/?space={room.pk}")
    for index in range(40):
        SpaceFactory(name=f"Room <{index}>", is_active=index % 2 == 0)
    with CaptureQueriesContext(connection) as many:
        page = client.get(f"/reservations/all/?space={room.pk}").content.decode()
    assert len(many) == len(one_space)
    assert not any("spaces_openinghours" in query["sql"] for query in many.captured_queries)
    assert f'<option value="{room.pk}" selected>Blue room (meeting room, up to 8)</option>' in page
    assert "Room &lt;1&gt; (meeting room, up to 8), archived</option>" in page
    assert '<option value="">All spaces</option>' in page


def test_everyones_reservations_run_a_fixed_number_of_queries_whatever_the_rows_and_read_only_the_columns_shown(
    web_client, org, room, booking_now, django_assert_num_queries
):
    # The host's organization and the two search paths (tenant routing, uncached in tests), then session,
    # user, membership, the page of reservations (space, booker and "booked by" joined) and the space
    # filter's options: a full page of pending bookings made on someone's behalf costs the queries of one.
    ReservationFactory(space=room, user=org.member, title="First", starts_at=utc(2025, 3, 4, 9))
    client = web_client(org, org.admin)
    client.get("/reservations/all/")
    with django_assert_num_queries(8):
        client.get("/reservations/all/")
    for day in range(5, 30):
        ReservationFactory(
            space=SpaceFactory(name=f"Room {day}"),
            user=org.member,
            created_by=org.admin,
            title=f"Booking {day}",
            starts_at=utc(2025, 3, day % 28 + 1, 9),
            status=Reservation.Status.PENDING,
        )
    with django_assert_num_queries(8) as queries:
        page = text(client.get("/reservations/all/"))
    assert "Approve" in page and "Booked by Alpha Admin" in page and "Room 5" in page
    listed = next(q["sql"] for q in queries.captured_queries if 'FROM "reservations_reservation"' in q["sql"])
    for hidden in ('"notes"', '"description"', '"password"', '"space_price_lines"'):
        assert hidden not in listed


def test_everyones_reservations_page_by_cursor_keeping_the_filters_and_every_page_costs_the_same(
    web_client, org, room, booking_now
):
    for index in range(45):
        starts_at = utc(2025, 3, 4 + index // 10, 8 + index % 10)
        ReservationFactory(space=room, user=org.member, title=f"Slot {index}", starts_at=starts_at)
    ReservationFactory(space=SpaceFactory(name="Green room"), user=org.member, title="Elsewhere")
    client = web_client(org, org.admin)
    url, seen, costs = f"/reservations/all/?space={room.pk}&date_from=", [], []
    while url:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        costs.append(len(queries))
        page = response.context["page"]
        seen += [reservation.title for reservation in page.object_list]
        assert not [q["sql"] for q in queries if "OFFSET" in q["sql"] or "COUNT(" in q["sql"]]
        url = f"/reservations/all/{page.next_url}" if page.next_url else None
        if url:
            assert f"space={room.pk}" in url and "cursor=" in url
    assert seen == [f"Slot {index}" for index in range(45)]
    assert len(costs) == 3 and len(set(costs)) == 1


def test_bad_reservation_filters_are_a_400_with_the_error_next_to_the_field(web_client, org, booking_now):
    client = web_client(org, org.admin)
    response = client.get("/reservations/all/?date_from=2025-03-10&date_to=2025-03-01")
    assert response.status_code == 400
    assert "The last day must be on or after the first." in field_error(response, "date_to")
    response = client.get("/reservations/all/?status=lost")
    assert response.status_code == 400
    assert "Select a valid choice." in field_error(response, "status")


def test_managers_approve_a_pending_reservation_from_the_list(web_client, org, room, booking_now):
    pending = ReservationFactory(space=room, user=org.member, status=Reservation.Status.PENDING)
    client = web_client(org, org.admin)
    page = text(client.get("/reservations/all/"))
    assert f'action="/reservations/{pending.pk}/confirm/"' in page
    assert client.get(f"/reservations/{pending.pk}/confirm/").status_code == 405

    response = client.post(f"/reservations/{pending.pk}/confirm/", {"next": "/reservations/all/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/reservations/all/"
    assert "Approved Alpha Member's booking of Blue room" in text(response)
    pending.refresh_from_db()
    assert pending.status == Reservation.Status.CONFIRMED


def test_approving_a_cancelled_reservation_says_why_not(web_client, org, room, booking_now):
    cancelled = ReservationFactory(space=room, user=org.member, status=Reservation.Status.CANCELLED)
    response = web_client(org, org.admin).post(f"/reservations/{cancelled.pk}/confirm/", follow=True)
    assert "only pending ones can be confirmed" in text(response)


def test_everyones_reservations_run_a_fixed_number_of_queries(web_client, org, room, booking_now):
    client = web_client(org, org.admin)
    ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, 4, 9))
    client.get("/reservations/all/")
    with CaptureQueriesContext(connection) as one:
        client.get("/reservations/all/")
    for day in range(5, 15):
        user = (org.member, org.owner, org.admin)[day % 3]
        ReservationFactory(space=SpaceFactory(), user=user, starts_at=utc(2025, 3, day, 9), status="pending")
    with CaptureQueriesContext(connection) as many:
        client.get("/reservations/all/")
    assert len(many) == len(one)


# Dashboard panels


def test_the_dashboard_lists_my_next_reservations(web_client, org, room, booking_now):
    ReservationFactory(space=room, user=org.member, title="Planning", starts_at=utc(2025, 3, 4, 9))
    ReservationFactory(space=room, user=org.admin, title="Not mine", starts_at=utc(2025, 3, 4, 12))
    page = text(web_client(org, org.member).get("/"))
    assert "Your next reservations" in page
    assert "Planning" in page and f"Tuesday 4 March, 09:00{DASH}10:00" in page
    assert "Not mine" not in page
    assert "Today's bookings" not in page and "Waiting for approval" not in page  # managers only


def test_the_dashboard_of_a_member_without_bookings_points_to_the_spaces(web_client, org):
    page = text(web_client(org, org.member).get("/"))
    assert "Nothing booked yet." in page and 'href="/spaces/">Find a free space</a>' in page


def test_managers_see_todays_bookings_and_pending_approvals(web_client, paris, room, booking_now):
    # Monday 3 March in Paris; 23:30 UTC is already Tuesday there.
    ReservationFactory(space=room, user=paris.member, title="Standup", starts_at=utc(2025, 3, 3, 9))
    ReservationFactory(space=room, user=paris.member, title="Tomorrow", starts_at=utc(2025, 3, 3, 23, 30))
    ReservationFactory(space=room, user=paris.owner, starts_at=utc(2025, 3, 5, 9), status="pending")
    page = text(web_client(paris, paris.admin).get("/"))
    today = page.split("Today's bookings", 1)[1].split("</section>", 1)[0]
    assert f"10:00{DASH}11:00" in today and "Alpha Member" in today
    assert "Monday 3 March, across all spaces" in today
    assert f"00:30{DASH}01:30" not in today
    pending = page.split("Waiting for approval", 1)[1].split("</section>", 1)[0]
    assert "Alpha Owner" in pending and "Approve" in pending


def test_the_dashboard_runs_a_fixed_number_of_queries(web_client, org, room, booking_now):
    client = web_client(org, org.admin)
    ReservationFactory(space=room, user=org.admin, starts_at=utc(2025, 3, 3, 9))
    client.get("/")
    with CaptureQueriesContext(connection) as one:
        client.get("/")
    for hour in range(10, 17):
        user = (org.member, org.owner, org.admin)[hour % 3]
        ReservationFactory(space=SpaceFactory(), user=user, starts_at=utc(2025, 3, 3, hour), status="pending")
    with CaptureQueriesContext(connection) as many:
        client.get("/")
    assert len(many) == len(one)
