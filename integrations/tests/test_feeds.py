"""Calendar feeds as a calendar client sees them: valid iCalendar, cheap polling, private, and revocable."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from icalendar import Calendar

from accounts.models import Membership
from accounts.services import user_deactivate
from integrations import services
from integrations.models import CalendarFeed
from reservations.services import reservation_cancel, reservation_create, reservation_update
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)  # 10:00 in Paris, a week after BOOKING_NOW


@pytest.fixture
def alpha(paris, booking_now):
    return paris


@pytest.fixture
def space(alpha):
    connection.set_tenant(alpha.organization)
    space = SpaceFactory(name="Blue room", location="2nd floor")
    connection.set_schema_to_public()
    return space


def in_schema(org, function, *args, **kwargs):
    connection.set_tenant(org.organization)
    try:
        return function(*args, **kwargs)
    finally:
        connection.set_schema_to_public()


def book(org, user, space, starts_at=MONDAY_9, **extra):
    return in_schema(
        org,
        reservation_create,
        actor=org.membership(user),
        space_id=space.pk,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        **extra,
    )


def feed_path(org, user, kind=CalendarFeed.Kind.PERSONAL, space=None) -> str:
    feeds = in_schema(org, services.calendar_feeds_ensure, actor=org.membership(user), spaces=[space] if space else [])
    [feed] = [f for f in feeds if f.kind == kind and (space is None or f.space_id == space.pk)]
    return f"/feeds/{feed.secret}.ics"


def events(response) -> list:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content).walk("VEVENT")


def test_my_feed_is_valid_icalendar_with_my_bookings_in_the_organizations_zone(alpha, space, client):
    reservation = book(alpha, alpha.member, space, title="Standup", notes="Bring coffee")
    book(alpha, alpha.admin, space, starts_at=MONDAY_9 + timedelta(hours=2), title="Not mine")
    response = client.get(feed_path(alpha, alpha.member), HTTP_HOST=alpha.host)

    calendar = Calendar.from_ical(response.content)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    [event] = events(response)
    assert str(event["UID"]) == f"reservation-{reservation.pk}@{alpha.host}"
    assert str(event["SUMMARY"]) == "Standup"
    assert str(event["LOCATION"]) == "Blue room, 2nd floor"
    assert str(event["DESCRIPTION"]) == "Bring coffee"
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event.decoded("DTSTART") == MONDAY_9
    assert event.decoded("DTSTART").utcoffset() == timedelta(hours=1)
    assert event["SEQUENCE"] == 0


def test_a_change_keeps_the_uid_and_raises_the_sequence_and_a_cancellation_disappears(alpha, space, client):
    path = feed_path(alpha, alpha.member)
    reservation = book(alpha, alpha.member, space)
    [before] = events(client.get(path, HTTP_HOST=alpha.host))
    in_schema(
        alpha,
        reservation_update,
        actor=alpha.membership(alpha.member),
        reservation=reservation,
        ends_at=MONDAY_9 + timedelta(hours=2),
    )
    [after] = events(client.get(path, HTTP_HOST=alpha.host))
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] == before["SEQUENCE"] + 1
    assert after.decoded("DTEND") == MONDAY_9 + timedelta(hours=2)

    in_schema(alpha, reservation_cancel, actor=alpha.membership(alpha.member), reservation=reservation)
    assert events(client.get(path, HTTP_HOST=alpha.host)) == []


def test_polling_an_unchanged_feed_is_a_cheap_304_and_a_new_booking_changes_it(alpha, space, client):
    path = feed_path(alpha, alpha.member)
    book(alpha, alpha.member, space)
    first = client.get(path, HTTP_HOST=alpha.host)
    etag, last_modified = first["ETag"], first["Last-Modified"]

    with CaptureQueriesContext(connection) as queries:
        again = client.get(path, HTTP_HOST=alpha.host, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) <= 4  # domain, feed, membership, one aggregate over the feed's rows
    assert client.get(path, HTTP_HOST=alpha.host, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304

    book(alpha, alpha.member, space, starts_at=MONDAY_9 + timedelta(days=1))
    changed = client.get(path, HTTP_HOST=alpha.host, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert len(events(changed)) == 2


def test_a_cancellation_changes_the_etag(alpha, space, client):
    path = feed_path(alpha, alpha.member)
    reservation = book(alpha, alpha.member, space)
    etag = client.get(path, HTTP_HOST=alpha.host)["ETag"]
    in_schema(alpha, reservation_cancel, actor=alpha.membership(alpha.member), reservation=reservation)
    assert client.get(path, HTTP_HOST=alpha.host, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_a_members_space_feed_shows_busy_times_only_and_a_managers_shows_who(alpha, space, client):
    book(alpha, alpha.admin, space, title="Board meeting", notes="Secret plans")
    [busy] = events(client.get(feed_path(alpha, alpha.member, CalendarFeed.Kind.SPACE, space), HTTP_HOST=alpha.host))
    assert str(busy["SUMMARY"]) == "Busy"
    assert "DESCRIPTION" not in busy
    [detailed] = events(client.get(feed_path(alpha, alpha.owner, CalendarFeed.Kind.SPACE, space), HTTP_HOST=alpha.host))
    assert str(detailed["SUMMARY"]) == "Board meeting (Alpha Admin)"


def test_the_organization_feed_has_everything_for_managers_only(alpha, space, client):
    book(alpha, alpha.member, space, title="Standup")
    book(alpha, alpha.admin, space, starts_at=MONDAY_9 + timedelta(hours=3))
    path = feed_path(alpha, alpha.admin, CalendarFeed.Kind.ORGANIZATION)
    summaries = sorted(str(e["SUMMARY"]) for e in events(client.get(path, HTTP_HOST=alpha.host)))
    assert summaries == ["Blue room (Alpha Admin)", "Blue room: Standup (Alpha Member)"]
    member_feeds = in_schema(alpha, services.calendar_feeds_ensure, actor=alpha.membership(alpha.member))
    assert [f.kind for f in member_feeds] == ["personal"]

    # Demoted to member: the organization feed goes dark.
    Membership.objects.filter(user=alpha.admin, organization=alpha.organization).update(role="member")
    assert client.get(path, HTTP_HOST=alpha.host).status_code == 404


def test_regenerating_kills_the_old_url(alpha, space, client):
    old = feed_path(alpha, alpha.member)
    in_schema(alpha, services.calendar_feeds_regenerate, actor=alpha.membership(alpha.member))
    assert client.get(old, HTTP_HOST=alpha.host).status_code == 404
    assert client.get(feed_path(alpha, alpha.member), HTTP_HOST=alpha.host).status_code == 200


def test_a_removed_member_or_a_deactivated_person_gets_404(alpha, space, client):
    member_path, admin_path = feed_path(alpha, alpha.member), feed_path(alpha, alpha.admin)
    Membership.objects.filter(user=alpha.member, organization=alpha.organization).delete()
    assert client.get(member_path, HTTP_HOST=alpha.host).status_code == 404
    user_deactivate(user=alpha.admin)
    assert client.get(admin_path, HTTP_HOST=alpha.host).status_code == 404


def test_a_feed_answers_only_on_its_organizations_host(alpha, other_org, space, client):
    path = feed_path(alpha, alpha.member)
    assert client.get(path, HTTP_HOST=other_org.host).status_code == 404
    assert client.get("/feeds/not-a-secret.ics", HTTP_HOST=alpha.host).status_code == 404


def test_the_feeds_page_shows_webcal_links_and_regenerates(alpha, space, web_client):
    client = web_client(alpha, alpha.member)
    page = client.get("/calendar-feeds/").content.decode()
    path = feed_path(alpha, alpha.member)
    assert f"webcal://{alpha.host}{path}" in page
    assert 'data-copy="#feed-url-' in page and "<script>" not in page

    added = client.post("/calendar-feeds/", {"space": space.pk})
    assert added.status_code == 302
    assert "Blue room (busy times)" in client.get("/calendar-feeds/").content.decode()
    assert client.post("/calendar-feeds/", {"space": "999999"}).status_code == 400
    assert client.post("/calendar-feeds/", {"regenerate": "1"}).status_code == 302
    assert client.get(path, HTTP_HOST=alpha.host).status_code == 404


def test_the_api_lists_my_feeds_and_regenerates_them(alpha, space, api_client, client):
    api = api_client(alpha, alpha.member)
    listed = api.get("/api/v1/calendar-feeds").json()
    assert [(f["kind"], f["name"]) for f in listed] == [("personal", "My bookings")]
    assert listed[0]["webcal_url"] == "webcal://" + listed[0]["url"].split("://", 1)[1]
    with_space = api.get(f"/api/v1/calendar-feeds?space={space.pk}").json()
    assert [f["kind"] for f in with_space] == ["personal", "space"]
    assert api.get("/api/v1/calendar-feeds?space=999999").status_code == 400

    old_path = "/" + listed[0]["url"].split("/", 3)[3]
    renewed = api.post("/api/v1/calendar-feeds/regenerate")
    assert renewed.status_code == 200
    assert renewed.json()[0]["url"] != listed[0]["url"]
    assert client.get(old_path, HTTP_HOST=alpha.host).status_code == 404
    assert api_client(alpha).get("/api/v1/calendar-feeds").status_code == 401
