"""The organization admin's reservations: the booking rules of reservations.services, no double booking."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, User
from accounts.tests.factories import UserFactory
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.testing import logged_in_client
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/reservations/reservation/"
ADD = "/admin/reservations/reservation/add/"
MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)  # a week after BOOKING_NOW


@pytest.fixture
def operator(org):
    user = User.objects.create_superuser(email="root@platform.test", password="root-password-42")
    Membership.objects.create(user=user, organization=org.organization, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def admin_client(client, org, operator, booking_now):
    return logged_in_client(client, host=org.host, user=operator)


@pytest.fixture
def space(org):
    connection.set_tenant(org.organization)
    space = open_every_day(SpaceFactory(name="Board room", capacity=10, hourly_rate=Decimal("20.00")))
    connection.set_schema_to_public()
    return space


def booking_form(space, starts: str = "09:00", ends: str = "10:00", day: str = "2025-03-10", **overrides) -> dict:
    data = {
        "space": str(space.pk),
        "starts_at_0": day,
        "starts_at_1": starts,
        "ends_at_0": day,
        "ends_at_1": ends,
        "title": "Planning",
        "notes": "",
        "attendees": "4",
    }
    data.update(overrides)
    return data


def reservations(org) -> list[Reservation]:
    connection.set_tenant(org.organization)
    try:
        return list(Reservation.objects.order_by("pk"))
    finally:
        connection.set_schema_to_public()


def test_adding_a_reservation_books_it_through_the_service_for_the_acting_admin(admin_client, org, operator, space):
    response = admin_client.post(ADD, booking_form(space))

    assert response.status_code == 302
    [reservation] = reservations(org)
    assert (reservation.starts_at, reservation.ends_at) == (MONDAY_9, MONDAY_9 + timedelta(hours=1))
    assert reservation.user_id == operator.pk
    assert reservation.status == Reservation.Status.CONFIRMED
    assert reservation.price == Decimal("20.00")  # priced by the service


def test_a_conflicting_reservation_is_a_form_error_and_leaves_one_active_reservation(admin_client, org, space):
    assert admin_client.post(ADD, booking_form(space, "09:00", "10:00")).status_code == 302

    response = admin_client.post(ADD, booking_form(space, "09:30", "10:30"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert errors == ["This space is already booked at that time: 2025-03-10T09:00:00Z to 2025-03-10T10:00:00Z."]
    assert "This space is already booked at that time" in response.content.decode()
    assert [r.status for r in reservations(org)] == [Reservation.Status.CONFIRMED]


def test_moving_a_reservation_onto_another_is_refused_and_changes_nothing(admin_client, org, space):
    admin_client.post(ADD, booking_form(space, "09:00", "10:00"))
    admin_client.post(ADD, booking_form(space, "11:00", "12:00"))
    second = reservations(org)[1]

    response = admin_client.post(f"{CHANGELIST}{second.pk}/change/", booking_form(space, "09:30", "10:30"))

    assert response.status_code == 200
    assert "already booked" in response.content.decode()
    second_after = reservations(org)[1]
    assert second_after.starts_at == MONDAY_9 + timedelta(hours=2)


def test_moving_a_reservation_reprices_it_through_the_service(admin_client, org, space):
    admin_client.post(ADD, booking_form(space, "09:00", "10:00"))
    [reservation] = reservations(org)

    response = admin_client.post(f"{CHANGELIST}{reservation.pk}/change/", booking_form(space, "13:00", "15:30"))

    assert response.status_code == 302
    [moved] = reservations(org)
    assert moved.starts_at == MONDAY_9 + timedelta(hours=4)
    assert moved.price == Decimal("50.00")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"starts_at_1": "19:00", "ends_at_1": "20:00"}, "starts_at", "Outside the opening hours of Board room"),
        ({"attendees": "11"}, "attendees", "Board room holds at most 10 people."),
        ({"starts_at_0": "2025-03-01", "ends_at_0": "2025-03-01"}, "starts_at", "This start time is in the past."),
    ],
)
def test_a_broken_booking_rule_is_shown_on_its_field(admin_client, org, space, overrides, field, message):
    response = admin_client.post(ADD, booking_form(space, **overrides))

    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors[field][0]
    assert reservations(org) == []


def test_times_are_read_and_shown_in_the_organizations_time_zone(admin_client, paris, space):
    response = admin_client.post(ADD, booking_form(space, "10:00", "11:00"))

    assert response.status_code == 302
    [reservation] = reservations(paris)
    assert reservation.starts_at == MONDAY_9  # 10:00 in Paris (UTC+1 in March)
    assert "10:00" in admin_client.get(CHANGELIST).content.decode()


def test_the_list_shows_who_booked_without_a_query_per_row(admin_client, org, space):
    def add_bookings(count: int, start_day: int) -> set[str]:
        people = [UserFactory() for _ in range(count)]
        connection.set_tenant(org.organization)
        for index, person in enumerate(people):
            ReservationFactory(space=space, user=person, starts_at=MONDAY_9 + timedelta(days=start_day + index))
        connection.set_schema_to_public()
        return {person.email for person in people}

    emails = add_bookings(2, 0)
    with CaptureQueriesContext(connection) as two_rows:
        response = admin_client.get(CHANGELIST)
    assert {row.user_email for row in response.context["cl"].result_list} == emails

    add_bookings(7, 10)
    with CaptureQueriesContext(connection) as nine_rows:
        response = admin_client.get(CHANGELIST)

    assert len(response.context["cl"].result_list) == 9
    assert len(nine_rows) == len(two_rows)
    assert response.context["cl"].result_list[0].user_email in response.content.decode()


def test_search_finds_reservations_by_the_email_of_who_booked(admin_client, org, space):
    connection.set_tenant(org.organization)
    ReservationFactory(space=space, user=org.member, title="Member's")
    ReservationFactory(space=space, user=org.owner, title="Owner's", starts_at=MONDAY_9 + timedelta(days=1))
    connection.set_schema_to_public()

    response = admin_client.get(CHANGELIST, {"q": "member@alpha"})

    assert [row.title for row in response.context["cl"].result_list] == ["Member's"]


def test_cancel_action_cancels_through_the_service_and_frees_the_slot(admin_client, org, space):
    admin_client.post(ADD, booking_form(space, "09:00", "10:00"))
    [reservation] = reservations(org)

    response = admin_client.post(CHANGELIST, {"action": "cancel", "_selected_action": [reservation.pk]}, follow=True)

    assert "Cancelled 1 reservation(s)." in response.content.decode()
    [cancelled] = reservations(org)
    assert cancelled.status == Reservation.Status.CANCELLED
    assert cancelled.cancelled_at is not None
    assert admin_client.post(ADD, booking_form(space, "09:00", "10:00")).status_code == 302


def test_confirm_action_confirms_pending_ones_and_reports_the_others(admin_client, org, space):
    connection.set_tenant(org.organization)
    pending = ReservationFactory(space=space, user=org.member, status=Reservation.Status.PENDING)
    cancelled = ReservationFactory(
        space=space, user=org.member, status=Reservation.Status.CANCELLED, starts_at=MONDAY_9 + timedelta(days=1)
    )
    connection.set_schema_to_public()

    response = admin_client.post(
        CHANGELIST, {"action": "confirm", "_selected_action": [pending.pk, cancelled.pk]}, follow=True
    )

    content = response.content.decode()
    assert "Confirmed 1 reservation(s)." in content
    assert (
        "Board room, Tue 11 Mar 2025 09:00: This reservation is cancelled; only pending ones can be confirmed."
        in content
    )
    statuses = {r.pk: r.status for r in reservations(org)}
    assert statuses == {pending.pk: Reservation.Status.CONFIRMED, cancelled.pk: Reservation.Status.CANCELLED}


def test_reservations_cannot_be_deleted_only_cancelled(admin_client, org, space):
    admin_client.post(ADD, booking_form(space))
    [reservation] = reservations(org)

    assert "delete_selected" not in admin_client.get(CHANGELIST).content.decode()
    assert admin_client.post(f"{CHANGELIST}{reservation.pk}/delete/", {"post": "yes"}).status_code == 403
    assert len(reservations(org)) == 1


def test_the_change_page_shows_who_booked(admin_client, org, space):
    connection.set_tenant(org.organization)
    reservation = ReservationFactory(space=space, user=org.member)
    connection.set_schema_to_public()

    response = admin_client.get(f"{CHANGELIST}{reservation.pk}/change/")

    assert response.status_code == 200
    assert "member@alpha.test" in response.content.decode()
    assert time(9).strftime("%H:%M") in response.content.decode()


def test_changing_a_cancelled_reservation_is_refused_on_the_form(admin_client, org, space):
    connection.set_tenant(org.organization)
    reservation = ReservationFactory(space=space, user=org.member, status=Reservation.Status.CANCELLED)
    connection.set_schema_to_public()

    response = admin_client.post(f"{CHANGELIST}{reservation.pk}/change/", booking_form(space, title="Renamed"))

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "This reservation is cancelled; only pending or confirmed ones can be changed."
    ]
    assert reservations(org)[0].title == "Team meeting"
