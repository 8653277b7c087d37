"""The waitlist on the pages: "Join the waitlist" next to a clash on the booking form, and "My waitlist" with a
button to leave each entry (over services.waitlist_join / waitlist_leave)."""

import re
from datetime import UTC, datetime

import pytest
from django.db import connection

from reservations.models import WaitlistEntry
from reservations.tests.factories import ReservationFactory
from spacemanager.tests.pages import text
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.django_db
TUESDAY_9 = datetime(2025, 3, 4, 9, tzinfo=UTC)  # 10:00 in Paris
TUESDAY_10 = datetime(2025, 3, 4, 10, tzinfo=UTC)


@pytest.fixture
def room(in_tenant):
    return open_every_day(SpaceFactory(name="Blue room", capacity=8))


def booking(room, **changes) -> dict:
    return {"space": room.pk, "date": "2025-03-04", "start": "10:00", "end": "11:00", "title": "Planning",
            "attendees": "4", "notes": "", **changes}  # fmt: skip


def hidden_fields(response) -> dict:
    offer = re.search(r'<form[^>]*id="waitlist-offer">(.*?)</form>', text(response), re.S)
    assert offer, "no Join the waitlist form"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', offer.group(1)))


def join_data(room, **changes) -> dict:
    return {"space_id": room.pk, "starts_at": TUESDAY_9.isoformat(), "ends_at": TUESDAY_10.isoformat(),
            "attendees": "2", "title": "", **changes}  # fmt: skip


def test_a_clash_offers_the_waitlist_and_joining_it_lists_the_entry_under_my_waitlist(
    web_client, paris, room, booking_now
):
    ReservationFactory(space=room, user=paris.admin, starts_at=TUESDAY_9, ends_at=TUESDAY_10)
    client = web_client(paris, paris.member)

    response = client.post("/reservations/new/", booking(room))
    assert response.status_code == 400
    assert "Join the waitlist" in text(response)
    fields = hidden_fields(response)
    assert (fields["space_id"], fields["attendees"], fields["title"]) == (str(room.pk), "4", "Planning")

    response = client.post("/reservations/waitlist/join/", fields, follow=True)

    entry = WaitlistEntry.objects.get()
    assert (entry.user_id, entry.space_id, entry.starts_at, entry.ends_at) == (
        paris.member.pk, room.pk, TUESDAY_9, TUESDAY_10
    )  # fmt: skip
    assert (entry.title, entry.attendees, entry.status) == ("Planning", 4, WaitlistEntry.Status.WAITING)
    page = text(response)
    assert "You are on the waitlist for Blue room, Tuesday 4 March, 10:00\N{EN DASH}11:00" in page
    assert "Leave the waitlist" in page


def test_a_booking_that_goes_through_or_fails_for_another_reason_offers_no_waitlist(
    web_client, paris, room, booking_now
):
    client = web_client(paris, paris.member)
    response = client.post("/reservations/new/", booking(room, attendees="80"))
    assert response.status_code == 400
    assert "Join the waitlist" not in text(response)


def test_leaving_withdraws_the_entry_and_only_ones_own_can_be_left(web_client, paris, other_org, room, booking_now):
    ReservationFactory(space=room, user=paris.admin, starts_at=TUESDAY_9, ends_at=TUESDAY_10)
    member = web_client(paris, paris.member)
    member.post("/reservations/waitlist/join/", join_data(room))
    entry = WaitlistEntry.objects.get()

    # Another member of alpha, and beta's owner on beta's site, cannot see or remove it.
    assert web_client(paris, paris.admin).get("/reservations/waitlist/").status_code == 200
    assert "Blue room" not in text(web_client(paris, paris.admin).get("/reservations/waitlist/"))
    assert web_client(other_org, other_org.owner).post(f"/reservations/waitlist/{entry.pk}/leave/").status_code == 404
    connection.set_tenant(paris.organization)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING

    response = member.post(f"/reservations/waitlist/{entry.pk}/leave/", follow=True)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WITHDRAWN
    assert "You left the waitlist for Blue room." in text(response)
    assert "You are not waiting for any slot" in text(response)
    assert member.post("/reservations/waitlist/999999/leave/").status_code == 404


@pytest.mark.parametrize(
    "changes, shown",
    [
        ({"space_id": "x"}, "space_id: Enter a whole number."),
        ({"starts_at": "tomorrow"}, "starts_at: Enter a valid date/time."),
        ({"attendees": "0"}, "attendees:"),
    ],
)
def test_bad_hidden_fields_are_a_400_with_the_error_and_write_nothing(
    web_client, paris, room, booking_now, changes, shown
):
    response = web_client(paris, paris.member).post("/reservations/waitlist/join/", join_data(room, **changes))
    assert response.status_code == 400
    assert shown in text(response)
    assert not WaitlistEntry.objects.exists()


def test_a_free_slot_or_waiting_twice_is_refused_on_the_page(web_client, paris, room, booking_now):
    client = web_client(paris, paris.member)
    response = client.post("/reservations/waitlist/join/", join_data(room))
    assert response.status_code == 400
    assert "Blue room is free then: book it instead." in text(response)

    ReservationFactory(space=room, user=paris.admin, starts_at=TUESDAY_9, ends_at=TUESDAY_10)
    assert client.post("/reservations/waitlist/join/", join_data(room)).status_code == 302
    response = client.post("/reservations/waitlist/join/", join_data(room))
    assert response.status_code == 400
    assert "You are already waiting for this slot." in text(response)
    assert WaitlistEntry.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in(web_client, paris):
    response = web_client(paris).get("/reservations/waitlist/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/?next=/reservations/waitlist/"
    assert web_client(paris).post("/reservations/waitlist/join/").status_code == 302


def test_a_clash_in_the_schedules_inline_form_offers_the_waitlist_too(web_client, paris, room, booking_now):
    ReservationFactory(space=room, user=paris.admin, starts_at=TUESDAY_9, ends_at=TUESDAY_10)
    client = web_client(paris, paris.member)
    form = {"space": room.pk, "date": "2025-03-04", "start": "10:00", "end": "11:00", "attendees": 1}

    response = client.post("/schedule/?date=2025-03-04", form, HTTP_HX_REQUEST="true")

    assert response.status_code == 400
    fields = hidden_fields(response)
    assert client.post("/reservations/waitlist/join/", fields).status_code == 302
    entry = WaitlistEntry.objects.get()
    assert (entry.user_id, entry.starts_at, entry.ends_at) == (paris.member.pk, TUESDAY_9, TUESDAY_10)
