"""Spaces pages: the list and its filters, a space's week calendar, and managing spaces (owners and admins)."""

import re
from datetime import UTC, datetime, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.tests.pages import field_error, text
from spaces.models import OpeningHours, Space
from spaces.tests.factories import SpaceFactory, open_every_day
from spaces.views import SPACES_PER_PAGE

pytestmark = pytest.mark.django_db
DASH = "\N{EN DASH}"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


NEW_SPACE = {
    "name": "Blue room",
    "kind": "meeting_room",
    "capacity": "8",
    "location": "Building A",
    "description": "Quiet.",
    "amenities": "Projector, whiteboard",
    "hourly_rate": "25.00",
    "min_duration_minutes": "30",
    "max_duration_minutes": "240",
    "max_days_ahead": "90",
    "opening_hours_0": "08:00-12:00, 13:00-18:00",
    "opening_hours_4": "20:00-24:00",
}


# Who may open what


@pytest.mark.parametrize("path", ["/spaces/", "/spaces/1/", "/spaces/manage/", "/spaces/new/", "/spaces/1/edit/"])
def test_anonymous_visitors_are_sent_to_log_in(web_client, org, path):
    response = web_client(org).get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login/?next={path}"


@pytest.mark.parametrize("path", ["/spaces/manage/", "/spaces/new/", "/spaces/{pk}/edit/", "/spaces/{pk}/archive/"])
def test_members_get_the_friendly_403_on_the_managers_pages(web_client, org, in_tenant, path):
    space = SpaceFactory()
    response = web_client(org, org.member).get(path.format(pk=space.pk))
    assert response.status_code == 403
    assert "Only the organization's owners and admins can open this page." in text(response)


def test_a_member_cannot_create_edit_archive_or_restore_by_posting(web_client, org, in_tenant):
    space = SpaceFactory(name="Blue room")
    client = web_client(org, org.member)
    assert client.post("/spaces/new/", NEW_SPACE).status_code == 403
    assert client.post(f"/spaces/{space.pk}/edit/", {**NEW_SPACE, "name": "Renamed"}).status_code == 403
    assert client.post(f"/spaces/{space.pk}/archive/").status_code == 403
    assert client.post(f"/spaces/{space.pk}/restore/").status_code == 403
    assert list(Space.objects.values_list("name", "is_active")) == [("Blue room", True)]


def test_another_organizations_space_is_not_found_and_not_listed(web_client, org, other_org):
    connection.set_tenant(other_org.organization)
    secret = SpaceFactory(name="Beta secret room")
    connection.set_tenant(org.organization)
    SpaceFactory.create_batch(2)
    client = web_client(org, org.admin)
    assert "Beta secret room" not in text(client.get("/spaces/"))
    assert "Beta secret room" not in text(client.get("/spaces/manage/"))
    missing = Space.objects.order_by("-pk").first().pk + secret.pk + 1
    assert client.get(f"/spaces/{missing}/").status_code == 404


# The list and its filters


def test_members_see_active_spaces_with_their_facts_and_a_book_link(web_client, org, in_tenant):
    room = open_every_day(SpaceFactory(name="Blue room", capacity=8, amenities=["projector"], hourly_rate="25.00"))
    SpaceFactory(name="Old room", is_active=False)
    response = web_client(org, org.member).get("/spaces/")
    assert response.status_code == 200
    page = text(response)
    assert "Blue room" in page and "Old room" not in page
    assert "up to 8" in page and "€25.00 an hour" in page and "projector" in page
    assert f"Mon{DASH}Sun 08:00{DASH}18:00" in page
    assert f'href="/reservations/new/?space={room.pk}">Book' in page
    assert "New space" not in page  # managers only


def test_managers_see_the_new_space_and_manage_links(web_client, org):
    page = text(web_client(org, org.admin).get("/spaces/"))
    assert 'href="/spaces/new/">New space</a>' in page
    assert 'href="/spaces/manage/">Manage spaces</a>' in page


def test_every_filter_has_a_visible_label_and_the_apis_name(web_client, org, in_tenant):
    SpaceFactory(amenities=["projector"])
    page = text(web_client(org, org.member).get("/spaces/"))
    for name in ("search", "kind", "capacity_min", "available_from", "available_to"):
        assert f'name="{name}"' in page
        assert f'<label class="form-label" for="id_{name}">' in page
    # Amenities are checkboxes (several at once) under one legend, each with its label.
    assert 'name="amenity"' in page
    assert "Amenities (all of them)</legend>" in page
    assert '<label class="form-check-label" for="amenity-projector">projector</label>' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=desk", {"Desk 1"}),
        ("capacity_min=10", {"Hall"}),
        ("amenity=projector", {"Blue room", "Hall"}),
        ("search=garden", {"Blue room"}),
        ("kind=meeting_room&amenity=projector", {"Blue room"}),
    ],
)
def test_filters_narrow_the_list(web_client, org, in_tenant, query, expected):
    SpaceFactory(name="Blue room", kind="meeting_room", capacity=8, amenities=["projector"], description="Garden view")
    SpaceFactory(name="Desk 1", kind="desk", capacity=1, amenities=["monitor"])
    SpaceFactory(name="Hall", kind="event_hall", capacity=100, amenities=["projector", "stage"])
    page = text(web_client(org, org.member).get(f"/spaces/?{query}"))
    shown = {name for name in ("Blue room", "Desk 1", "Hall") if f">{name}</a>" in page}
    assert shown == expected


def test_the_amenity_filter_offers_the_amenities_in_use(web_client, org, in_tenant):
    SpaceFactory(amenities=["projector", "video"])
    SpaceFactory(amenities=["stage"], is_active=False)
    page = text(web_client(org, org.member).get("/spaces/"))
    assert 'id="amenity-projector"' in page
    assert 'id="amenity-video"' in page
    assert "stage" not in page


def test_the_free_space_search_requires_every_amenity_ticked_and_carries_its_people_into_the_form(
    web_client, org, in_tenant, booking_now
):
    open_every_day(SpaceFactory(name="Both", amenities=["projector", "video"], capacity=6))
    open_every_day(SpaceFactory(name="Projector only", amenities=["projector"], capacity=6))
    open_every_day(SpaceFactory(name="Both but short", amenities=["projector", "video"], min_duration_minutes=180))

    response = web_client(org, org.member).get(
        "/spaces/?amenity=projector&amenity=video&capacity_min=5"
        "&available_from=2025-03-04T09:00&available_to=2025-03-04T11:00"
    )

    page = text(response)
    assert response.status_code == 200
    assert "Both" in page
    assert "Projector only" not in page
    assert "Both but short" not in page  # two hours breaks its three-hour minimum: "Book" would fail
    assert "&date=2025-03-04&start=09:00&end=11:00&attendees=5" in page


def test_free_from_until_lists_only_spaces_open_and_free_the_whole_time(web_client, org, in_tenant, booking_now):
    busy = open_every_day(SpaceFactory(name="Busy room"))
    open_every_day(SpaceFactory(name="Free room"))
    open_every_day(SpaceFactory(name="Late room"), opens_at=time(12), closes_at=time(20))
    ReservationFactory(space=busy, user=org.owner, starts_at=utc(2025, 3, 4, 9, 30), ends_at=utc(2025, 3, 4, 10, 30))

    response = web_client(org, org.member).get("/spaces/?available_from=2025-03-04T09:00&available_to=2025-03-04T11:00")
    page = text(response)
    assert response.status_code == 200
    assert ">Free room</a>" in page
    assert ">Busy room</a>" not in page and ">Late room</a>" not in page
    assert "free from Tuesday 4 March, 09:00 to Tuesday 4 March, 11:00" in page
    assert "&date=2025-03-04&start=09:00&end=11:00" in page  # the Book link carries the interval


def test_free_search_reads_local_times_in_the_organizations_timezone(web_client, paris, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Blue room"))
    # 09:00-10:00 in Paris is 08:00-09:00 UTC in winter.
    ReservationFactory(space=room, user=paris.owner, starts_at=utc(2025, 3, 4, 8), ends_at=utc(2025, 3, 4, 9))
    client = web_client(paris, paris.member)
    assert ">Blue room</a>" not in text(
        client.get("/spaces/?available_from=2025-03-04T09:00&available_to=2025-03-04T10:00")
    )
    assert ">Blue room</a>" in text(
        client.get("/spaces/?available_from=2025-03-04T10:00&available_to=2025-03-04T11:00")
    )


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("available_from=2025-03-04T09:00", "available_to", "Give both times"),
        ("available_from=2025-03-04T11:00&available_to=2025-03-04T09:00", "available_to", "The end must be after"),
        ("available_from=2025-03-01T09:00&available_to=2025-04-15T09:00", "available_to", "at most 31 days"),
        ("available_from=tomorrow&available_to=2025-03-04T09:00", "available_from", "Enter a valid date/time"),
        ("capacity_min=many", "capacity_min", "Enter a whole number"),
        ("kind=castle", "kind", "Select a valid choice"),
    ],
)
def test_bad_filters_are_a_400_with_the_error_next_to_the_field(web_client, org, query, field, message):
    response = web_client(org, org.member).get(f"/spaces/?{query}")
    assert response.status_code == 400
    assert message in field_error(response, field)
    assert "Correct the filters to see spaces." in text(response)


def test_a_free_search_time_the_clocks_skip_is_an_error_not_a_500(web_client, paris, booking_now):
    # Paris skips 02:00-03:00 on 30 March 2025.
    response = web_client(paris, paris.member).get(
        "/spaces/?available_from=2025-03-30T02:30&available_to=2025-03-30T04:00"
    )
    assert response.status_code == 400
    assert "This time does not exist on that day" in field_error(response, "available_from")


def test_the_list_runs_a_fixed_number_of_queries(web_client, org, in_tenant):
    client = web_client(org, org.member)
    open_every_day(SpaceFactory())
    client.get("/spaces/")  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        client.get("/spaces/")
    for _ in range(6):
        open_every_day(SpaceFactory(amenities=["projector", "video"]))
    with CaptureQueriesContext(connection) as many:
        client.get("/spaces/")
    assert len(many) == len(one)


# A space's page and its week calendar


def _busy_room(org) -> Space:
    room = open_every_day(SpaceFactory(name="Blue room"))
    ReservationFactory(
        space=room, user=org.member, title="My planning", starts_at=utc(2025, 3, 4, 10), ends_at=utc(2025, 3, 4, 12)
    )
    ReservationFactory(
        space=room, user=org.owner, title="Board meeting", starts_at=utc(2025, 3, 5, 14), ends_at=utc(2025, 3, 5, 15)
    )
    return room


def test_members_see_when_others_are_busy_but_not_who_or_why(web_client, org, in_tenant, booking_now):
    room = _busy_room(org)
    page = text(web_client(org, org.member).get(f"/spaces/{room.pk}/"))
    assert f"3{DASH}9 March 2025" in page
    assert "My planning" in page and f"10:00{DASH}12:00" in page
    assert "Board meeting" not in page and "Alpha Owner" not in page
    assert f"14:00{DASH}15:00" in page and "Booked" in page
    assert re.search(r'class="busy-block is-mine t-\d+ h-\d+"\s+href="/reservations/\d+/"', page)


def test_managers_see_titles_and_names_in_the_calendar(web_client, org, in_tenant, booking_now):
    room = _busy_room(org)
    page = text(web_client(org, org.admin).get(f"/spaces/{room.pk}/"))
    assert "Board meeting" in page and "Alpha Owner" in page
    assert "Alpha Member" in page


def test_the_calendar_marks_today_and_links_the_weeks_around_it(web_client, org, in_tenant, booking_now):
    room = _busy_room(org)
    page = text(web_client(org, org.member).get(f"/spaces/{room.pk}/"))
    assert page.count('class="day-head is-today"') == 1
    assert f'href="/spaces/{room.pk}/?week=2025-02-24"' in page
    assert f'hx-get="/spaces/{room.pk}/?week=2025-03-10"' in page
    assert 'hx-push-url="true"' in page
    assert ">This week</a>" not in page  # already there

    later = text(web_client(org, org.member).get(f"/spaces/{room.pk}/?week=2025-03-12"))
    assert f"10{DASH}16 March 2025" in later and 'class="day-head is-today"' not in later
    assert ">This week</a>" in later


def test_free_slots_link_to_the_booking_form_prefilled(web_client, org, in_tenant, booking_now):
    room = _busy_room(org)
    page = text(web_client(org, org.member).get(f"/spaces/{room.pk}/"))
    assert f"/reservations/new/?space={room.pk}&date=2025-03-04&start=12:00&end=13:00" in page
    assert f"Book Tuesday 4 March, 12:00{DASH}13:00" in page
    # Busy and past times offer no slot.
    assert "date=2025-03-04&start=10:00" not in page
    assert "date=2025-03-03&start=07:00" not in page


def test_the_calendar_is_drawn_in_the_organizations_timezone(web_client, paris, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Blue room"))
    ReservationFactory(
        space=room, user=paris.member, title="Early", starts_at=utc(2025, 3, 4, 8), ends_at=utc(2025, 3, 4, 9)
    )
    page = text(web_client(paris, paris.member).get(f"/spaces/{room.pk}/"))
    assert f"09:00{DASH}10:00" in page  # 08:00 UTC is 09:00 in Paris in winter
    assert "Times in Europe/Paris" in page


def test_htmx_week_switching_gets_the_calendar_alone(web_client, org, in_tenant, booking_now):
    room = _busy_room(org)
    response = web_client(org, org.member).get(f"/spaces/{room.pk}/?week=2025-03-10", HTTP_HX_REQUEST="true")
    page = text(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="calendar"') or '<section id="calendar"' in page[:400]
    assert "<html" not in page and "About this space" not in page
    assert f"10{DASH}16 March 2025" in page
    assert "HX-Request" in response.headers["Vary"]


def test_a_bad_week_is_a_400_showing_this_week(web_client, org, in_tenant, booking_now):
    room = SpaceFactory()
    for week in ("soon", "2025-02-30", "9999-12-31"):
        response = web_client(org, org.member).get(f"/spaces/{room.pk}/?week={week}")
        assert response.status_code == 400
        page = text(response)
        assert "That is not a week we can show; here is this week." in page
        assert f"3{DASH}9 March 2025" in page


def test_an_archived_space_shows_its_history_but_no_free_slots(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Old room", is_active=False))
    page = text(web_client(org, org.member).get(f"/spaces/{room.pk}/"))
    assert "This space is archived" in page
    assert "free-slot" not in page and "Book Old room" not in page


def test_the_space_page_runs_a_fixed_number_of_queries(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory())
    client = web_client(org, org.admin)
    client.get(f"/spaces/{room.pk}/")
    with CaptureQueriesContext(connection) as one:
        client.get(f"/spaces/{room.pk}/")
    for day in range(4, 9):
        ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, day, 9), ends_at=utc(2025, 3, day, 10))
        ReservationFactory(space=room, user=org.owner, starts_at=utc(2025, 3, day, 14), ends_at=utc(2025, 3, day, 15))
    with CaptureQueriesContext(connection) as many:
        client.get(f"/spaces/{room.pk}/")
    assert len(many) == len(one)


# Managing spaces


def test_managers_see_every_space_with_hours_and_upcoming_bookings(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Blue room"))
    SpaceFactory(name="Old room", is_active=False)
    ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, 4, 9))
    ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, 5, 9), status=Reservation.Status.CANCELLED)
    page = text(web_client(org, org.admin).get("/spaces/manage/"))
    assert "1 bookable space, 1 archived." in page
    row = page.split(f'id="space-{room.pk}"', 1)[1].split("</tr>", 1)[0]
    assert f"Mon{DASH}Sun 08:00{DASH}18:00" in row
    assert "Upcoming bookings:</span> 1" in row
    assert page.index("Blue room") < page.index("Old room")  # bookable ones first
    assert "Restore" in page


def test_the_manage_page_runs_a_fixed_number_of_queries(web_client, org, in_tenant, booking_now):
    client = web_client(org, org.admin)
    room = open_every_day(SpaceFactory())
    client.get("/spaces/manage/")
    with CaptureQueriesContext(connection) as one:
        client.get("/spaces/manage/")
    for _ in range(5):
        other = open_every_day(SpaceFactory())
        ReservationFactory(space=other, user=org.member, starts_at=utc(2025, 3, 4, 9))
    ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, 4, 9))
    with CaptureQueriesContext(connection) as many:
        client.get("/spaces/manage/")
    assert len(many) == len(one)


def test_the_space_form_has_labelled_fields_named_like_the_api(web_client, org):
    page = text(web_client(org, org.admin).get("/spaces/new/"))
    for name in (
        "name",
        "kind",
        "capacity",
        "location",
        "description",
        "amenities",
        "hourly_rate",
        "min_duration_minutes",
        "max_duration_minutes",
        "max_days_ahead",
        "requires_approval",
        "always_open",
        *(f"opening_hours_{weekday}" for weekday in range(7)),
    ):
        assert f'name="{name}"' in page
        assert f'for="id_{name}"' in page
    assert 'value="08:00-18:00"' in page  # weekdays start open 08:00-18:00


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_managers_create_a_space_with_its_opening_hours(web_client, org, in_tenant, role):
    response = web_client(org, getattr(org, role)).post("/spaces/new/", NEW_SPACE, follow=True)
    space = Space.objects.get(name="Blue room")
    assert response.redirect_chain[-1][0] == f"/spaces/{space.pk}/"
    assert "Blue room was created. People can book it now." in text(response)
    assert (space.capacity, space.amenities, str(space.hourly_rate)) == (8, ["projector", "whiteboard"], "25.00")
    assert (space.min_duration_minutes, space.max_duration_minutes, space.max_days_ahead) == (30, 240, 90)
    hours = list(OpeningHours.objects.filter(space=space).values_list("weekday", "opens_at", "closes_at"))
    assert hours == [(0, time(8), time(12)), (0, time(13), time(18)), (4, time(20), time(0))]


def test_bookable_at_any_time_saves_no_opening_hours(web_client, org, in_tenant):
    web_client(org, org.admin).post("/spaces/new/", {**NEW_SPACE, "always_open": "on"})
    assert not OpeningHours.objects.filter(space__name="Blue room").exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"capacity": "0"}, "capacity", "greater than or equal to 1"),
        ({"hourly_rate": "-1"}, "hourly_rate", "greater than or equal to 0"),
        ({"opening_hours_2": "8 to late"}, "opening_hours_2", "is not a time span"),
        ({"opening_hours_2": "25:00-26:00"}, "opening_hours_2", "is not a time span"),
        ({"opening_hours_0": "08:00-12:00, 11:00-18:00"}, "opening_hours_0", "Monday: opening intervals overlap."),
        ({"opening_hours_3": "18:00-08:00"}, "opening_hours_3", "Thursday: closing time must be after opening"),
        ({"max_duration_minutes": "20"}, "max_duration_minutes", "cannot be shorter than the minimum"),
        ({"amenities": "big screen!"}, "amenities", "Use short lowercase tags"),
    ],
)
def test_bad_space_input_shows_the_error_next_to_the_field_and_creates_nothing(
    web_client, org, in_tenant, changes, field, message
):
    response = web_client(org, org.admin).post("/spaces/new/", {**NEW_SPACE, **changes})
    assert response.status_code == 400
    assert message in field_error(response, field)
    assert f'id="id_{field}"' in text(response) and 'aria-invalid="true"' in text(response)
    assert not Space.objects.exists()


def test_leaving_every_day_empty_asks_for_hours_or_any_time(web_client, org, in_tenant):
    data = {key: value for key, value in NEW_SPACE.items() if not key.startswith("opening_hours_")}
    response = web_client(org, org.admin).post("/spaces/new/", data)
    assert response.status_code == 400
    assert "Give the opening hours of at least one day, or tick “Bookable at any time”." in text(response)
    assert not Space.objects.exists()


def test_creating_a_space_needs_the_csrf_token(web_client, org, in_tenant):
    response = web_client(org, org.admin, enforce_csrf_checks=True).post("/spaces/new/", NEW_SPACE)
    assert response.status_code == 403
    assert not Space.objects.exists()


def test_the_edit_form_shows_the_space_and_its_hours(web_client, org, in_tenant):
    space = SpaceFactory(name="Blue room", amenities=["projector", "video"])
    OpeningHours.objects.create(space=space, weekday=0, opens_at=time(8), closes_at=time(12))
    OpeningHours.objects.create(space=space, weekday=0, opens_at=time(13), closes_at=time(0))
    page = text(web_client(org, org.admin).get(f"/spaces/{space.pk}/edit/"))
    assert 'value="Blue room"' in page
    assert 'value="projector, video"' in page
    assert 'name="opening_hours_0" value="08:00-12:00, 13:00-24:00"' in page
    assert re.search(r'<input type="checkbox" name="always_open"[^>]*>', page).group(0).count("checked") == 0


def test_managers_edit_a_space_and_replace_its_hours(web_client, org, in_tenant):
    space = open_every_day(SpaceFactory(name="Blue room"))
    data = {**NEW_SPACE, "name": "Green room", "capacity": "12", "opening_hours_0": "09:00-17:00"}
    data.pop("opening_hours_4")
    response = web_client(org, org.admin).post(f"/spaces/{space.pk}/edit/", data, follow=True)
    assert "Green room was saved." in text(response)
    space.refresh_from_db()
    assert (space.name, space.capacity) == ("Green room", 12)
    hours = list(OpeningHours.objects.filter(space=space).values_list("weekday", "opens_at", "closes_at"))
    assert hours == [(0, time(9), time(17))]


def test_a_bad_edit_changes_nothing(web_client, org, in_tenant):
    space = open_every_day(SpaceFactory(name="Blue room", capacity=8))
    data = {**NEW_SPACE, "capacity": "12", "opening_hours_1": "10:00-09:00"}
    response = web_client(org, org.admin).post(f"/spaces/{space.pk}/edit/", data)
    assert response.status_code == 400
    assert "Tuesday: closing time must be after opening" in field_error(response, "opening_hours_1")
    space.refresh_from_db()
    assert space.capacity == 8
    assert OpeningHours.objects.filter(space=space).count() == 7


def test_the_archive_page_says_how_many_bookings_it_cancels(web_client, org, in_tenant, booking_now):
    room = SpaceFactory(name="Blue room")
    for day in (4, 5):
        ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, day, 9))
    ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, 3, 7, 30))  # under way: kept
    page = text(web_client(org, org.admin).get(f"/spaces/{room.pk}/archive/"))
    assert "Archive Blue room?" in page
    assert "2 upcoming reservations" in page
    assert "Bookings already under way are kept." in page


def test_archiving_cancels_the_upcoming_bookings_and_says_so(web_client, org, in_tenant, booking_now):
    room = SpaceFactory(name="Blue room")
    upcoming = ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, 4, 9))
    response = web_client(org, org.admin).post(f"/spaces/{room.pk}/archive/", follow=True)
    assert response.redirect_chain[-1][0] == "/spaces/manage/"
    assert "Blue room was archived. 1 upcoming reservation was cancelled." in text(response)
    room.refresh_from_db()
    upcoming.refresh_from_db()
    assert not room.is_active
    assert upcoming.status == Reservation.Status.CANCELLED


def test_restoring_makes_a_space_bookable_again(web_client, org, in_tenant):
    room = SpaceFactory(name="Blue room", is_active=False)
    client = web_client(org, org.admin)
    assert client.get(f"/spaces/{room.pk}/restore/").status_code == 405
    response = client.post(f"/spaces/{room.pk}/restore/", follow=True)
    assert "Blue room is bookable again." in text(response)
    room.refresh_from_db()
    assert room.is_active


def test_the_calendar_places_blocks_by_class_without_inline_styles(web_client, org, in_tenant, booking_now):
    room = open_every_day(SpaceFactory(name="Room"))
    ReservationFactory(space=room, user=org.member, starts_at=utc(2025, 3, 4, 9), ends_at=utc(2025, 3, 4, 10))

    page = text(web_client(org, org.member).get(f"/spaces/{room.pk}/"))

    assert "style=" not in page
    assert 'class="week-grid ruler-10"' in page  # 08:00-18:00
    # 09:00-10:00 on a ruler from 08:00: 12 rows of five minutes down, 12 rows high.
    assert re.search(r'class="busy-block is-mine t-12 h-12"', page)


def test_the_manage_page_is_paginated_and_counts_from_the_index_not_a_join(web_client, org, in_tenant, booking_now):
    for index in range(SPACES_PER_PAGE + 1):
        SpaceFactory(name=f"Room {index:02}")
    client = web_client(org, org.admin)
    with CaptureQueriesContext(connection) as queries:
        first = client.get("/spaces/manage/")
    assert len(first.context["spaces"]) == SPACES_PER_PAGE
    assert f"{SPACES_PER_PAGE + 1} bookable spaces" in text(first)
    assert 'href="?page=2"' in text(first)
    assert len(client.get("/spaces/manage/?page=2").context["spaces"]) == 1
    # Upcoming bookings are counted per listed space, never by joining every reservation and grouping.
    assert not [q["sql"] for q in queries if "LEFT OUTER JOIN" in q["sql"] and "reservations_reservation" in q["sql"]]
