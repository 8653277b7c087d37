"""Booking limits per member: upcoming bookings held and booked hours per local week, per space or from the
organization's default; owners and admins exempt; race-safe (threads on their own connections)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from accounts.models import Membership, User
from accounts.tests.factories import TEST_PASSWORD
from accounts.tokens import tokens_for_membership
from reservations.models import Reservation
from reservations.services import QuotaExceeded, reservation_cancel, reservation_create, reservation_update
from reservations.tests.test_database import racing_organization  # noqa: F401 (a fixture)
from spaces.tests.factories import SpaceFactory
from tenants.models import Organization

MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)  # a week after BOOKING_NOW


def book(actor, space, starts_at=MONDAY_9, hours=1, **extra) -> Reservation:
    return reservation_create(
        actor=actor, space_id=space.pk, starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), **extra
    )


@pytest.fixture
def member(in_tenant, booking_now):
    return in_tenant.membership(in_tenant.member)


@pytest.fixture
def manager(in_tenant, booking_now):
    return in_tenant.membership(in_tenant.admin)


@pytest.mark.django_db
def test_a_member_holding_the_most_upcoming_bookings_is_refused_with_their_use(member):
    space = SpaceFactory(name="Blue room", max_upcoming_per_member=2)
    first = book(member, space)
    book(member, space, starts_at=MONDAY_9 + timedelta(days=1))

    with pytest.raises(QuotaExceeded) as caught:
        book(member, space, starts_at=MONDAY_9 + timedelta(days=2))

    assert caught.value.code == "quota_exceeded"
    assert "You already hold 2 upcoming bookings of Blue room" in caught.value.message
    assert caught.value.extra == {"limit": "max_upcoming_per_member", "allowed": 2, "used": 2}
    reservation_cancel(actor=member, reservation=first)  # a cancelled booking frees its place
    assert book(member, space, starts_at=MONDAY_9 + timedelta(days=2)).is_active


@pytest.mark.django_db
def test_the_hours_per_week_count_the_local_week_the_booking_starts_in(member):
    space = SpaceFactory(max_hours_per_week_per_member=3)
    book(member, space, hours=2)

    with pytest.raises(QuotaExceeded) as caught:
        book(member, space, starts_at=MONDAY_9 + timedelta(days=2), hours=1.5)

    assert caught.value.extra == {"limit": "max_hours_per_week_per_member", "allowed": 3, "used": 2}
    assert "at most 3 h in a week; you have 2 h booked in the week of 10 Mar 2025" in caught.value.message
    assert book(member, space, starts_at=MONDAY_9 + timedelta(days=2), hours=1).is_active
    # Next Monday starts a new week.
    assert book(member, space, starts_at=MONDAY_9 + timedelta(days=7), hours=3).is_active


@pytest.mark.django_db
def test_moving_a_booking_counts_it_once_and_renaming_never_meets_the_limit(member):
    space = SpaceFactory(max_hours_per_week_per_member=2)
    booked = book(member, space, hours=2)

    moved = reservation_update(
        actor=member, reservation=booked, starts_at=MONDAY_9 + timedelta(hours=1), ends_at=MONDAY_9 + timedelta(hours=3)
    )
    space.max_hours_per_week_per_member = 1
    space.save()
    renamed = reservation_update(actor=member, reservation=moved, title="Still mine")

    assert renamed.title == "Still mine"
    with pytest.raises(QuotaExceeded):
        reservation_update(actor=member, reservation=renamed, ends_at=MONDAY_9 + timedelta(hours=2, minutes=30))


@pytest.mark.django_db
def test_owners_and_admins_are_exempt(manager):
    space = SpaceFactory(max_upcoming_per_member=1, max_hours_per_week_per_member=1)
    book(manager, space, hours=2)
    assert book(manager, space, starts_at=MONDAY_9 + timedelta(days=1), hours=2).is_active


@pytest.mark.django_db
def test_the_organizations_default_applies_to_spaces_without_their_own_limit(in_tenant, booking_now):
    Organization.objects.filter(pk=in_tenant.organization.pk).update(default_max_upcoming_per_member=1)
    member = in_tenant.membership(in_tenant.member)
    default_space, own_limit = SpaceFactory(), SpaceFactory(max_upcoming_per_member=2)
    book(member, default_space)
    book(member, own_limit)

    with pytest.raises(QuotaExceeded):
        book(member, default_space, starts_at=MONDAY_9 + timedelta(days=1))
    assert book(member, own_limit, starts_at=MONDAY_9 + timedelta(days=1)).is_active


@pytest.mark.django_db
def test_the_api_answers_a_limit_with_400_quota_exceeded(org, in_tenant, booking_now, api_client):
    space = SpaceFactory(max_upcoming_per_member=1)
    book(in_tenant.membership(in_tenant.member), space)
    connection.set_schema_to_public()

    response = api_client(org, org.member).post(
        "/api/v1/reservations",
        {"space": space.pk, "starts_at": "2025-03-11T09:00:00Z", "ends_at": "2025-03-11T10:00:00Z"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "quota_exceeded"
    assert response.json()["used"] == 1 and response.json()["limit"] == "max_upcoming_per_member"


@pytest.mark.django_db
def test_an_admin_sets_the_organizations_default_limits_on_the_settings_page(org, web_client):
    client = web_client(org, org.admin)
    data = {"name": "Alpha", "timezone": "Europe/Paris", "currency": "EUR"}

    saved = client.post("/settings/", {**data, "default_max_upcoming_per_member": "3"})
    refused = client.post("/settings/", {**data, "default_max_hours_per_week_per_member": "500"})

    assert saved.status_code == 302
    organization = Organization.objects.get(pk=org.organization.pk)
    assert (organization.default_max_upcoming_per_member, organization.default_max_hours_per_week_per_member) == (
        3,
        None,
    )
    assert refused.status_code == 400
    assert Organization.objects.get(pk=org.organization.pk).default_max_hours_per_week_per_member is None


RACERS = 6


def test_racing_bookings_of_one_member_never_exceed_the_limit(racing_organization, django_db_blocker):  # noqa: F811
    organization = racing_organization.organization
    with django_db_blocker.unblock():
        connection.set_tenant(organization)
        space = SpaceFactory(max_upcoming_per_member=2)
        connection.set_schema_to_public()
        racer = User.objects.create_user(email="racer@racing.test", password=TEST_PASSWORD, full_name="Racer")
        membership = Membership.objects.create(user=racer, organization=organization, role=Membership.Role.MEMBER)
        membership = Membership.objects.select_related("user", "organization").get(pk=membership.pk)
        token = tokens_for_membership(membership)["access"]
        first = (datetime.now(tz=UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        barrier = threading.Barrier(RACERS)
        statuses: list[int] = []

        def race(index: int) -> None:
            try:
                client = APIClient()
                client.defaults["HTTP_HOST"] = organization.host
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
                starts_at = first + timedelta(hours=index)  # different slots: only the limit can refuse
                body = {
                    "space": space.pk,
                    "starts_at": starts_at.isoformat(),
                    "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
                }
                barrier.wait(timeout=30)
                statuses.append(client.post("/api/v1/reservations", body, format="json").status_code)
            finally:
                connections.close_all()

        try:
            threads = [threading.Thread(target=race, args=(index,)) for index in range(RACERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)

            assert sorted(statuses) == [201, 201] + [400] * (RACERS - 2)
            connection.set_tenant(organization)
            assert Reservation.objects.active().filter(space=space, user_id=racer.pk).count() == 2
        finally:
            connection.set_schema_to_public()
            Membership.objects.filter(user=racer).delete()
            racer.delete()


@pytest.mark.django_db
def test_the_space_form_saves_buffers_and_limits_and_refuses_a_bad_one(org, web_client):
    from spaces.models import Space
    from spaces.tests.test_views import NEW_SPACE

    client = web_client(org, org.admin)
    limits = {"buffer_before_minutes": "10", "max_upcoming_per_member": "4", "max_hours_per_week_per_member": "6"}

    saved = client.post("/spaces/new/", {**NEW_SPACE, **limits})
    refused = client.post("/spaces/new/", {**NEW_SPACE, "name": "Other", "max_hours_per_week_per_member": "0"})

    assert saved.status_code == 302 and refused.status_code == 400
    connection.set_tenant(org.organization)
    space = Space.objects.get()
    assert (space.buffer_before_minutes, space.buffer_after_minutes) == (10, 0)
    assert (space.max_upcoming_per_member, space.max_hours_per_week_per_member) == (4, 6)


@pytest.mark.django_db
def test_a_limited_members_booking_takes_its_lock_with_the_rules_reads_and_reads_both_limits_at_once(member):
    from django.test.utils import CaptureQueriesContext

    space = SpaceFactory(max_upcoming_per_member=3, max_hours_per_week_per_member=10)
    book(member, space, hours=2)

    with CaptureQueriesContext(connection) as queries:
        book(member, space, starts_at=MONDAY_9 + timedelta(days=1), hours=3)

    reads = [query["sql"] for query in queries.captured_queries if query["sql"].startswith(("SELECT", "INSERT"))]
    assert "FOR NO KEY UPDATE" in reads[0]  # the space first, then the member's lock, always in that order
    assert "pg_advisory_xact_lock" in reads[1] and "spaces_openinghours" in reads[1] and "spaces_closure" in reads[1]
    assert "count(*) FILTER" in reads[2] and "sum(" in reads[2]
    assert reads[3].startswith('INSERT INTO "reservations_reservation"')
    assert sum("pg_advisory_xact_lock" in sql for sql in reads) == 1


@pytest.mark.django_db
def test_a_move_counts_the_members_other_bookings_only(member):
    space = SpaceFactory(max_upcoming_per_member=1, max_hours_per_week_per_member=2)
    reservation = book(member, space, hours=2)

    moved = reservation_update(
        actor=member,
        reservation=reservation,
        starts_at=MONDAY_9 + timedelta(hours=1),
        ends_at=MONDAY_9 + timedelta(hours=3),
    )

    assert moved.starts_at == MONDAY_9 + timedelta(hours=1)
    with pytest.raises(QuotaExceeded) as caught:
        book(member, space, starts_at=MONDAY_9 + timedelta(days=1), hours=1)
    assert caught.value.extra == {"limit": "max_upcoming_per_member", "allowed": 1, "used": 1}
