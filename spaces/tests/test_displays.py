"""Room displays: display links (made and revoked by owners and admins, stored hashed), the tablet's page and
fragment, "Book now" through the booking service, the display's check-in, the credential refused everywhere
else, and the QR code's check-in page for members."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.tests.pages import text
from spaces.displays import COOKIE, display_link_create, display_link_revoke
from spaces.models import DisplayLink
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 3, 9, 0, 20, tzinfo=UTC)  # Monday, 10:00 in Paris


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def room(in_tenant):
    return SpaceFactory(name="Blue room", check_in_required=True, check_in_grace_minutes=10)


@pytest.fixture
def tablet(web_client, paris, room, clock):
    """A browser signed in as the Blue room's display (through its display link)."""
    _, secret = display_link_create(actor=paris.membership(paris.admin), space=room, name="Door")
    client = web_client(paris)
    response = client.get(f"/spaces/display/open/{secret}/")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/spaces/{room.pk}/display/"
    client.secret = secret
    return client


def test_a_display_link_is_stored_hashed_and_sets_a_cookie_for_its_display_only(paris, room, tablet):
    link = DisplayLink.objects.get()
    assert tablet.secret not in link.secret_hash and len(link.secret_hash) == 64
    cookie = tablet.cookies[COOKIE]
    assert cookie.value == tablet.secret
    assert cookie["path"] == f"/spaces/{room.pk}/display/"
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert link.created_by_id == paris.admin.pk


def test_the_display_shows_the_room_free_with_book_now_and_the_next_bookings_without_titles(paris, room, tablet):
    ReservationFactory(space=room, user=paris.member, title="Secret plans", starts_at=NOW + timedelta(minutes=40))

    response = tablet.get(f"/spaces/{room.pk}/display/")

    assert response.status_code == 200
    page = text(response)
    assert "Blue room" in page and 'data-state="free"' in page
    assert "until 10:40" in page
    assert "Secret plans" not in page and "Booked" in page
    assert re.findall(r'name="minutes" value="(\d+)"', page) == ["15", "30"]  # 60 would run into 10:40
    assert 'hx-trigger="every 15s"' in page
    assert response.headers["Cache-Control"].startswith("max-age=0")


def test_titles_show_when_the_organization_allows_them(paris, room, tablet):
    from tenants.models import Organization

    Organization.objects.filter(pk=paris.organization.pk).update(display_show_titles=True)
    ReservationFactory(space=room, user=paris.member, title="Secret plans", starts_at=NOW + timedelta(minutes=40))
    assert "Secret plans" in text(tablet.get(f"/spaces/{room.pk}/display/state/"))


def test_book_now_books_thirty_minutes_as_the_links_maker_through_every_rule(paris, room, tablet):
    response = tablet.post(f"/spaces/{room.pk}/display/book/", {"minutes": "30"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Booked for 30 minutes." in text(response) and 'data-state="busy"' in text(response)
    booking = Reservation.objects.get()
    assert (booking.user_id, booking.title, booking.status) == (paris.admin.pk, "Booked at the door", "confirmed")
    assert booking.starts_at == datetime(2025, 3, 3, 9, 1, tzinfo=UTC)
    assert booking.ends_at - booking.starts_at == timedelta(minutes=30)

    # Taken now: a second press is refused by the booking service, and nothing is written.
    response = tablet.post(f"/spaces/{room.pk}/display/book/", {"minutes": "15"})
    assert response.status_code == 400
    assert "already booked" in text(response) or "Blue room" in text(response)
    assert Reservation.objects.count() == 1


@pytest.mark.parametrize("minutes", ["45", "", "x"])
def test_book_now_refuses_other_lengths(room, tablet, minutes):
    response = tablet.post(f"/spaces/{room.pk}/display/book/", {"minutes": minutes})
    assert response.status_code == 400
    assert "Book for 15, 30 or 60 minutes." in text(response)
    assert not Reservation.objects.exists()


def test_book_now_follows_the_rooms_rules(room, tablet):
    room.max_duration_minutes = 20
    room.save()
    assert re.findall(r'name="minutes" value="(\d+)"', text(tablet.get(f"/spaces/{room.pk}/display/"))) == ["15"]
    response = tablet.post(f"/spaces/{room.pk}/display/book/", {"minutes": "30"})
    assert response.status_code == 400
    assert "Blue room is booked for at most 20 min." in text(response)
    assert not Reservation.objects.exists()


def test_the_display_checks_in_the_current_booking_while_its_window_is_open(paris, room, tablet, clock):
    current = ReservationFactory(space=room, user=paris.member, starts_at=NOW - timedelta(minutes=5))
    page = text(tablet.get(f"/spaces/{room.pk}/display/"))
    assert 'data-state="busy"' in page and "Check in" in page

    response = tablet.post(f"/spaces/{room.pk}/display/check-in/", {"reservation": current.pk})

    assert response.status_code == 200
    current.refresh_from_db()
    assert current.checked_in_at == NOW
    assert "Checked in at" in text(response)
    clock.shift(timedelta(minutes=20))  # past the grace of another booking: no button
    later = ReservationFactory(space=room, user=paris.member, starts_at=NOW + timedelta(hours=2))
    assert "Check in</button>" not in text(tablet.get(f"/spaces/{room.pk}/display/"))
    response = tablet.post(f"/spaces/{room.pk}/display/check-in/", {"reservation": later.pk})
    assert response.status_code == 400
    assert "not the booking under way" in text(response)


def test_the_display_credential_is_refused_on_every_other_page_and_the_api(paris, room, tablet, api_client):
    other = SpaceFactory(name="Green room")
    secret = tablet.secret
    for path in ("/", "/reservations/", "/spaces/", f"/spaces/{room.pk}/", f"/spaces/{room.pk}/check-in/"):
        response = tablet.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login/"), path
    # The cookie sent by hand to another display, or as a bearer token to the API, opens nothing.
    tablet.cookies[COOKIE]["path"] = "/"
    assert tablet.get(f"/spaces/{other.pk}/display/").status_code == 403
    assert tablet.get("/reservations/").status_code == 302
    for path in ("/api/v1/reservations", "/api/v1/spaces", "/api/v1/auth/me"):
        response = api_client(paris).get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 401, path
        response = api_client(paris).get(path, HTTP_COOKIE=f"{COOKIE}={secret}")
        assert response.status_code == 401, path


def test_a_person_logged_in_is_no_display_and_a_wrong_or_revoked_link_signs_nothing_in(web_client, paris, room, tablet):
    assert web_client(paris, paris.owner).get(f"/spaces/{room.pk}/display/").status_code == 403
    assert web_client(paris).get("/spaces/display/open/not-a-secret/").status_code == 403

    display_link_revoke(actor=paris.membership(paris.owner), link=DisplayLink.objects.get())

    response = tablet.get(f"/spaces/{room.pk}/display/state/", HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert response.headers["HX-Refresh"] == "true"
    assert "This display is not signed in" in text(response)
    assert tablet.post(f"/spaces/{room.pk}/display/book/", {"minutes": "30"}).status_code == 403
    assert web_client(paris).get(f"/spaces/display/open/{tablet.secret}/").status_code == 403
    assert not Reservation.objects.exists()


def test_a_display_whose_maker_is_no_longer_a_manager_cannot_book(paris, room, tablet):
    from accounts.models import Membership

    Membership.objects.filter(user=paris.admin, organization=paris.organization).update(role="member")
    response = tablet.post(f"/spaces/{room.pk}/display/book/", {"minutes": "30"})
    assert response.status_code == 400
    assert "no longer an owner or admin" in text(response)
    assert not Reservation.objects.exists()


def test_another_organizations_display_link_opens_nothing_here(web_client, paris, other_org, room, clock):
    connection.set_tenant(other_org.organization)
    theirs = SpaceFactory(name="Beta room")
    _, secret = display_link_create(actor=other_org.membership(other_org.owner), space=theirs)
    connection.set_tenant(paris.organization)
    assert web_client(paris).get(f"/spaces/display/open/{secret}/").status_code == 403


# Owners and admins: the space page's links and QR code


def test_managers_make_and_revoke_display_links_and_see_the_qr_code_members_do_not(web_client, paris, room, clock):
    admin = web_client(paris, paris.admin)
    page = text(admin.get(f"/spaces/{room.pk}/"))
    assert "New display link" in page and "<svg" in page and 'class="check-in-qr"' in page

    response = admin.post(f"/spaces/{room.pk}/display-links/", {"name": "Door tablet"})
    assert response.status_code == 200
    url = re.search(r'id="display-url"\s+readonly\s+value="([^"]+)"', text(response)).group(1)
    assert url.startswith("http://alpha.") and "/spaces/display/open/" in url
    link = DisplayLink.objects.get()
    assert link.name == "Door tablet" and link.created_by_id == paris.admin.pk

    member = web_client(paris, paris.member)
    assert "New display link" not in text(member.get(f"/spaces/{room.pk}/"))
    assert member.post(f"/spaces/{room.pk}/display-links/").status_code == 403
    assert member.post(f"/spaces/{room.pk}/display-links/{link.pk}/revoke/").status_code == 403

    assert admin.post(f"/spaces/{room.pk}/display-links/{link.pk}/revoke/").status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert admin.post(f"/spaces/{room.pk}/display-links/99999/revoke/").status_code == 404
    assert admin.post(f"/spaces/{room.pk}/display-links/", {"name": "x" * 81}).status_code == 302
    assert DisplayLink.objects.count() == 1


# The QR code's page


def test_the_check_in_page_checks_in_the_members_booking_of_that_room(web_client, paris, room, clock):
    mine = ReservationFactory(space=room, user=paris.member, starts_at=NOW + timedelta(minutes=10))
    member = web_client(paris, paris.member)
    assert member.get(f"/spaces/{room.pk}/check-in/").status_code == 200

    response = member.post(f"/spaces/{room.pk}/check-in/")

    assert response.status_code == 302 and response.headers["Location"] == f"/reservations/{mine.pk}/"
    mine.refresh_from_db()
    assert mine.checked_in_at == NOW


def test_the_check_in_page_says_so_when_there_is_nothing_to_check_in_and_needs_a_login(web_client, paris, room, clock):
    ReservationFactory(space=room, user=paris.admin, starts_at=NOW)  # someone else's
    response = web_client(paris, paris.member).post(f"/spaces/{room.pk}/check-in/")
    assert response.status_code == 400
    assert "You have no booking of Blue room under way or about to start." in text(response)
    response = web_client(paris).get(f"/spaces/{room.pk}/check-in/")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login/?next=/spaces/{room.pk}/check-in/"
