"""The photo and floor-plan pages: uploading, arranging, covers on the lists and the schedule, placing spaces
on a plan and booking from it (through the booking form's own view)."""

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.tests.pages import text
from spaces.media_services import location_floor_plan_set, space_place
from spaces.models import Location, Space, SpacePhoto
from spaces.tests.factories import SpaceFactory, open_every_day
from spaces.tests.images import add_photo, image_bytes, upload

pytestmark = pytest.mark.django_db
MONDAY = "2025-03-10"  # a week after BOOKING_NOW (conftest): bookable


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def media_srcs(response) -> list[str]:
    return re.findall(r'src="(/media/[^"]+)"', response.content.decode())


def test_admins_upload_and_arrange_photos_on_the_photos_page(web_client, org, in_tenant):
    space = SpaceFactory(name="Blue room")
    client = web_client(org, org.admin)

    response = client.post(f"/spaces/{space.pk}/photos/", {"image": upload("a.png", image_bytes("PNG"))})
    assert response.status_code == 302
    client.post(f"/spaces/{space.pk}/photos/", {"image": upload("b.jpg")})
    first, second = SpacePhoto.objects.order_by("position")
    assert first.is_cover

    client.post(f"/spaces/{space.pk}/photos/{second.pk}/", {"action": "earlier"})
    client.post(f"/spaces/{space.pk}/photos/{second.pk}/", {"action": "cover"})

    assert list(SpacePhoto.objects.order_by("position").values_list("pk", "is_cover")) == [
        (second.pk, True),
        (first.pk, False),
    ]
    page = client.get(f"/spaces/{space.pk}/photos/")
    assert len(media_srcs(page)) == 2
    client.post(f"/spaces/{space.pk}/photos/{second.pk}/", {"action": "delete"})
    assert list(SpacePhoto.objects.values_list("pk", "is_cover")) == [(first.pk, True)]


def test_a_file_that_is_not_an_image_is_a_form_error_naming_the_limit(web_client, org, in_tenant):
    space = SpaceFactory()
    response = web_client(org, org.admin).post(f"/spaces/{space.pk}/photos/", {"image": upload("x.jpg", b"nope")})
    assert response.status_code == 400
    assert "JPEG, PNG or WebP" in text(response) and "10 MB" in text(response)
    assert not SpacePhoto.objects.exists()


def test_members_cannot_manage_photos(web_client, org, in_tenant):
    space = SpaceFactory()
    photo = add_photo(org, space)
    client = web_client(org, org.member)
    assert client.get(f"/spaces/{space.pk}/photos/").status_code == 403
    assert client.post(f"/spaces/{space.pk}/photos/", {"image": upload()}).status_code == 403
    assert client.post(f"/spaces/{space.pk}/photos/{photo.pk}/", {"action": "delete"}).status_code == 403
    assert SpacePhoto.objects.count() == 1


def test_the_cover_shows_on_the_spaces_list_the_space_page_and_the_schedule(web_client, org, in_tenant, booking_now):
    space = open_every_day(SpaceFactory(name="Blue room"))
    add_photo(org, space)
    cover = add_photo(org, space)
    SpacePhoto.objects.update(is_cover=False)
    SpacePhoto.objects.filter(pk=cover.pk).update(is_cover=True)
    client = web_client(org, org.member)

    listed = media_srcs(client.get("/spaces/"))
    assert len(listed) == 1 and cover.thumbnail.name in listed[0]
    assert len(media_srcs(client.get(f"/spaces/{space.pk}/"))) == 2
    scheduled = media_srcs(client.get(f"/schedule/?date={MONDAY}"))
    assert len(scheduled) == 1 and cover.thumbnail.name in scheduled[0]
    for src in listed + scheduled:
        assert client.get(src.replace("&amp;", "&")).status_code == 200


def test_photos_add_no_query_per_row_to_the_schedule(web_client, org, in_tenant, booking_now):
    client = web_client(org, org.member)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/schedule/?date={MONDAY}").status_code == 200
        return len(queries)

    add_photo(org, open_every_day(SpaceFactory(name="Room 0")))
    one = count()
    for n in range(1, 6):
        space = open_every_day(SpaceFactory(name=f"Room {n}"))
        add_photo(org, space)
        add_photo(org, space)
    assert count() == one


@pytest.fixture
def floor(org, in_tenant):
    location = Location.objects.create(name="Second floor")
    location_floor_plan_set(
        actor=org.membership(org.admin), location=location, upload=upload("plan.png", image_bytes("PNG", (800, 400)))
    )
    return location


def test_admins_place_spaces_on_the_plan_by_its_form(web_client, org, floor):
    desk = SpaceFactory(name="Desk 1", kind=Space.Kind.DESK)
    client = web_client(org, org.admin)

    response = client.post(f"/spaces/locations/{floor.pk}/place/", {"space": desk.pk, "x": "0.25", "y": "0.5"})

    assert response.status_code == 302
    desk.refresh_from_db()
    assert (desk.site_id, desk.plan_x, desk.plan_y) == (floor.pk, 0.25, 0.5)
    page = client.get(f"/spaces/locations/{floor.pk}/").content.decode()
    assert 'cx="200.0" cy="200.0"' in page
    bad = client.post(f"/spaces/locations/{floor.pk}/place/", {"space": desk.pk, "x": "2", "y": "0.5"})
    assert bad.status_code == 400
    assert (
        web_client(org, org.member)
        .post(f"/spaces/locations/{floor.pk}/place/", {"space": desk.pk, "x": "0", "y": "0"})
        .status_code
        == 403
    )


def test_placing_on_a_location_without_a_plan_is_refused(org, in_tenant):
    from spacemanager.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="floor plan"):
        space_place(
            actor=org.membership(org.admin),
            space=SpaceFactory(),
            location=Location.objects.create(name="Roof"),
            x=0,
            y=0,
        )


def test_members_see_free_and_busy_spots_and_book_a_free_one(web_client, org, floor, booking_now):
    admin = org.membership(org.admin)
    free_desk = open_every_day(SpaceFactory(name="Desk free", kind=Space.Kind.DESK))
    busy_desk = open_every_day(SpaceFactory(name="Desk busy", kind=Space.Kind.DESK))
    space_place(actor=admin, space=free_desk, location=floor, x=0.1, y=0.1)
    space_place(actor=admin, space=busy_desk, location=floor, x=0.9, y=0.9)
    ReservationFactory(space=busy_desk, user=org.admin, starts_at=utc(2025, 3, 10, 9), ends_at=utc(2025, 3, 10, 11))
    client = web_client(org, org.member)
    when = {"date": MONDAY, "start": "10:00", "end": "11:00"}  # Paris: 09:00-10:00 UTC, inside the booking

    page = client.get(f"/spaces/locations/{floor.pk}/", when)

    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-book="book-{free_desk.pk}"' in html
    assert f'class="plan-spot plan-spot-busy" data-space="{busy_desk.pk}"' in html
    assert f'id="book-{busy_desk.pk}"' not in html
    booked = client.post("/reservations/new/", {"space": free_desk.pk, "attendees": 1, "form_token": "plan-1", **when})
    assert booked.status_code == 302
    reservation = Reservation.objects.get(space=free_desk)
    assert reservation.user_id == org.member.pk
    again = client.get(f"/spaces/locations/{floor.pk}/", when).content.decode()
    assert f'class="plan-spot plan-spot-busy" data-space="{free_desk.pk}"' in again


def test_a_bad_time_on_the_plan_is_a_400_with_the_form(web_client, org, floor):
    response = web_client(org, org.member).get(
        f"/spaces/locations/{floor.pk}/", {"date": MONDAY, "start": "11:00", "end": "10:00"}
    )
    assert response.status_code == 400
    assert "The end must be after the start." in text(response)


def test_the_plans_times_are_24_hour_text_inputs_that_take_a_one_digit_hour(web_client, org, floor):
    page = web_client(org, org.member).get(
        f"/spaces/locations/{floor.pk}/", {"date": MONDAY, "start": "9:30", "end": "14:00"}
    )

    assert page.status_code == 200
    html = page.content.decode()
    # Chromium draws type="time" in the browser's locale (02:00 PM in en-US): the pages' times are 24-hour text.
    assert re.search(r'<input type="text" name="start" value="9:30"[^>]*pattern=', html)
    assert re.search(r'<input type="text" name="end" value="14:00"[^>]*pattern=', html)
    assert 'type="time"' not in html


def test_admins_create_locations_and_upload_plans_members_cannot(web_client, org, in_tenant):
    admin, member = web_client(org, org.admin), web_client(org, org.member)
    assert admin.post("/spaces/locations/", {"name": "Annex"}).status_code == 302
    location = Location.objects.get(name="Annex")
    assert admin.post("/spaces/locations/", {"name": "Annex"}).status_code == 400
    assert member.post("/spaces/locations/", {"name": "Roof"}).status_code == 404
    assert member.get("/spaces/locations/").status_code == 200
    refused = admin.post(f"/spaces/locations/{location.pk}/floor-plan/", {"image": upload("p.png", b"no")})
    assert refused.status_code == 400 and "10 MB" in text(refused)
    plan = upload("p.webp", image_bytes("WEBP", (300, 200)))
    assert member.post(f"/spaces/locations/{location.pk}/floor-plan/", {"image": plan}).status_code == 403
    plan.seek(0)
    assert admin.post(f"/spaces/locations/{location.pk}/floor-plan/", {"image": plan}).status_code == 302
    location.refresh_from_db()
    assert (location.floor_plan_width, location.floor_plan_height) == (300, 200)


def test_a_location_of_another_organization_is_not_found(web_client, org, other_org, floor):
    assert web_client(other_org, other_org.member).get(f"/spaces/locations/{floor.pk}/").status_code == 404
