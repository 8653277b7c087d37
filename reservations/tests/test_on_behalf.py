"""Booking on behalf of a member: owners and admins name the member (`user`, their user_id as
GET /api/v1/members shows it); the booking is the member's and records who made it."""

from datetime import UTC, datetime

import pytest

from accounts.models import Membership, User
from accounts.tests.factories import TEST_PASSWORD
from reservations.models import Reservation
from reservations.services import reservation_create
from reservations.tests.factories import ReservationFactory
from spacemanager.tests.pages import text
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/reservations"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def space(in_tenant, booking_now):
    return SpaceFactory(name="Blue room", capacity=6)


def payload(space, **extra):
    return {"space": space.pk, "starts_at": "2025-03-10T09:00:00Z", "ends_at": "2025-03-10T10:00:00Z", **extra}


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_managers_book_for_a_member_who_then_finds_it_as_theirs(api_client, org, space, role):
    manager = getattr(org, role)
    members = api_client(org, manager).get("/api/v1/members").json()["results"]
    member_id = next(item["user_id"] for item in members if item["email"] == org.member.email)

    response = api_client(org, manager).post(URL, payload(space, user=member_id, title="Desk day"))

    assert response.status_code == 201, response.json()
    assert response.json()["user"]["email"] == org.member.email
    assert response.json()["created_by"] == manager.pk
    reservation = Reservation.objects.get()
    assert (reservation.user_id, reservation.created_by_id) == (org.member.pk, manager.pk)
    mine = api_client(org, org.member).get(URL).json()["results"]
    assert [item["title"] for item in mine] == ["Desk day"]


def test_booking_for_yourself_records_no_creator(api_client, org, space):
    response = api_client(org, org.member).post(URL, payload(space, user=org.member.pk))
    assert response.status_code == 201, response.json()
    assert response.json()["created_by"] is None
    assert Reservation.objects.get().created_by_id is None


def test_a_member_naming_someone_else_gets_403_and_nothing_is_booked(api_client, org, space):
    response = api_client(org, org.member).post(URL, payload(space, user=org.admin.pk))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Reservation.objects.exists()


def test_a_manager_cannot_book_for_someone_outside_the_organization(api_client, org, other_org, space):
    outsider = User.objects.create_user(email="stranger@example.com", password=TEST_PASSWORD)
    for user_id in (other_org.member.pk, outsider.pk, 2**40):
        response = api_client(org, org.admin).post(URL, payload(space, user=user_id))
        assert response.status_code == 400
        assert response.json()["user"] == ["Choose a member of this organization."]
    assert not Reservation.objects.exists()


def test_a_deactivated_member_cannot_be_booked_for(api_client, org, space):
    User.objects.filter(pk=org.member.pk).update(is_active=False)
    response = api_client(org, org.admin).post(URL, payload(space, user=org.member.pk))
    assert response.status_code == 400
    assert not Reservation.objects.exists()


@pytest.mark.parametrize("value", ["abc", 0, -3, None])
def test_a_malformed_user_is_a_400(api_client, org, space, value):
    response = api_client(org, org.admin).post(URL, payload(space, user=value), format="json")
    assert response.status_code == 400
    assert "user" in response.json()


FORM = {"date": "2025-03-10", "start": "09:00", "end": "10:00", "attendees": 1, "title": "Desk day"}


def test_the_booking_page_offers_managers_a_member_picker_and_books_for_the_member(web_client, org, space):
    client = web_client(org, org.admin)
    page = text(client.get("/reservations/new/"))
    assert "Book for" in page and "Alpha Member (member@alpha.test)" in page
    response = client.post("/reservations/new/", {**FORM, "space": space.pk, "user": org.member.pk})
    assert response.status_code == 302
    reservation = Reservation.objects.get()
    assert (reservation.user_id, reservation.created_by_id) == (org.member.pk, org.admin.pk)
    assert "Desk day" in text(web_client(org, org.member).get("/reservations/"))


def test_members_get_no_member_picker_and_book_for_themselves(web_client, org, space):
    client = web_client(org, org.member)
    assert "Book for" not in text(client.get("/reservations/new/"))
    response = client.post("/reservations/new/", {**FORM, "space": space.pk, "user": org.admin.pk})
    assert response.status_code == 302
    assert Reservation.objects.get().user_id == org.member.pk


def test_the_member_picker_refuses_someone_outside_the_organization(web_client, org, other_org, space):
    response = web_client(org, org.admin).post(
        "/reservations/new/", {**FORM, "space": space.pk, "user": other_org.member.pk}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in text(response)
    assert not Reservation.objects.exists()


def test_the_schedule_books_for_a_member_from_the_inline_form(web_client, org, space):
    from spaces.tests.factories import open_every_day

    open_every_day(space)
    client = web_client(org, org.owner)
    assert 'name="user"' in client.get("/schedule/?date=2025-03-10").content.decode()
    assert 'name="user"' not in web_client(org, org.member).get("/schedule/?date=2025-03-10").content.decode()
    response = client.post(
        "/schedule/?date=2025-03-10", {**FORM, "space": space.pk, "user": org.member.pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 302
    reservation = Reservation.objects.get()
    assert (reservation.user_id, reservation.created_by_id) == (org.member.pk, org.owner.pk)


def test_pages_say_who_booked_for_whom(web_client, org, space):
    reservation = reservation_create(
        actor=Membership.objects.select_related("organization", "user").get(
            organization=org.organization, user=org.admin
        ),
        space_id=space.pk,
        starts_at=utc(2025, 3, 10, 9),
        ends_at=utc(2025, 3, 10, 10),
        user_id=org.member.pk,
    )
    detail = " ".join(text(web_client(org, org.member).get(f"/reservations/{reservation.pk}/")).split())
    assert f"{org.admin.get_full_name()} for {org.member.get_full_name()}" in detail
    everyone = " ".join(text(web_client(org, org.admin).get("/reservations/all/?date_from=2025-03-10")).split())
    assert f"Booked by {org.admin.get_full_name()}" in everyone


def test_cancelling_from_a_reservation_reached_from_all_reservations_returns_there(web_client, org, space):
    reservation = ReservationFactory(space=space, user=org.member, starts_at=utc(2025, 3, 10, 9))
    listing = "/reservations/all/?status=confirmed"
    admin = web_client(org, org.admin)
    page = text(admin.get(listing))
    assert f"/reservations/{reservation.pk}/?next=" in page
    detail = text(admin.get(f"/reservations/{reservation.pk}/", {"next": listing}))
    assert f"/reservations/{reservation.pk}/cancel/?next=/reservations/all/%3Fstatus%3Dconfirmed" in detail

    response = admin.post(f"/reservations/{reservation.pk}/cancel/", {"next": listing})

    assert response.status_code == 302
    assert response["Location"] == listing
    assert Reservation.objects.get().status == Reservation.Status.CANCELLED


def test_an_admin_on_someone_elses_reservation_returns_to_all_reservations_and_a_foreign_next_is_ignored(
    web_client, org, space
):
    reservation = ReservationFactory(space=space, user=org.member, starts_at=utc(2025, 3, 10, 9))
    admin = web_client(org, org.admin)
    detail = text(admin.get(f"/reservations/{reservation.pk}/", {"next": "https://evil.example/"}))
    assert "evil.example" not in detail
    assert f"/reservations/{reservation.pk}/cancel/?next=/reservations/all/" in detail
    response = admin.post(f"/reservations/{reservation.pk}/cancel/", {"next": "https://evil.example/"})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
