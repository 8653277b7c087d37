"""Setup and cleanup buffers: frozen on each reservation, enforced by the exclusion constraint, and seen by
availability and the free-space search."""

import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, connections, transaction
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.tokens import tokens_for_membership
from reservations.models import Reservation
from reservations.services import ReservationConflict, reservation_create, reservation_update
from reservations.tests.factories import ReservationFactory
from reservations.tests.test_database import racing_organization  # noqa: F401 (a fixture)
from spaces.selectors import space_availability, space_list_available
from spaces.tests.factories import SpaceFactory

PARIS = ZoneInfo("Europe/Paris")
MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)  # a week after BOOKING_NOW


def book(actor, space, starts_at, minutes=60, **extra) -> Reservation:
    return reservation_create(
        actor=actor, space_id=space.pk, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes), **extra
    )


@pytest.fixture
def member(in_tenant, booking_now):
    return in_tenant.membership(in_tenant.member)


@pytest.mark.django_db
def test_a_booking_inside_the_cleanup_time_of_another_is_refused_with_409(member):
    space = SpaceFactory(buffer_after_minutes=15)
    book(member, space, MONDAY_9)

    with pytest.raises(ReservationConflict) as caught:
        book(member, space, MONDAY_9 + timedelta(minutes=70))

    assert "setup and cleanup" in caught.value.message
    assert caught.value.extra["conflicts"] == [{"starts_at": "2025-03-10T09:00:00Z", "ends_at": "2025-03-10T10:00:00Z"}]


@pytest.mark.django_db
def test_a_booking_starting_when_the_cleanup_ends_fits(member):
    space = SpaceFactory(buffer_after_minutes=15)
    book(member, space, MONDAY_9)

    later = book(member, space, MONDAY_9 + timedelta(minutes=75))

    assert later.status == Reservation.Status.CONFIRMED


@pytest.mark.django_db
def test_the_setup_time_of_a_new_booking_may_not_reach_into_an_earlier_one(member):
    space = SpaceFactory(buffer_before_minutes=30)
    book(member, space, MONDAY_9)

    with pytest.raises(ReservationConflict):
        book(member, space, MONDAY_9 + timedelta(minutes=80))
    assert book(member, space, MONDAY_9 + timedelta(minutes=90)).buffer_before_minutes == 30


@pytest.mark.django_db
def test_buffers_are_frozen_so_a_later_change_of_the_space_keeps_old_bookings_and_their_edits(member):
    space = SpaceFactory()
    first = book(member, space, MONDAY_9)
    second = book(member, space, MONDAY_9 + timedelta(hours=1))
    space.buffer_after_minutes = 30
    space.save()

    renamed = reservation_update(actor=member, reservation=first, title="Renamed")

    assert renamed.title == "Renamed" and renamed.buffer_after_minutes == 0
    assert Reservation.objects.get(pk=second.pk).is_active
    with pytest.raises(ReservationConflict):
        # Moving it freezes the space's current buffers, which now reach into the next booking.
        reservation_update(actor=member, reservation=first, starts_at=MONDAY_9 - timedelta(minutes=15))


@pytest.mark.django_db
def test_postgresql_refuses_a_row_whose_buffers_overlap_another(in_tenant):
    space = SpaceFactory()
    ReservationFactory(space=space, user=in_tenant.member, starts_at=MONDAY_9, buffer_after_minutes=10)
    ReservationFactory(  # a cancelled one never blocks
        space=space,
        user=in_tenant.member,
        starts_at=MONDAY_9 + timedelta(minutes=65),
        status=Reservation.Status.CANCELLED,
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        ReservationFactory(space=space, user=in_tenant.member, starts_at=MONDAY_9 + timedelta(minutes=65))
    ReservationFactory(space=space, user=in_tenant.member, starts_at=MONDAY_9 + timedelta(minutes=70))


@pytest.mark.django_db
def test_availability_leaves_room_for_both_bookings_buffers(in_tenant):
    space = SpaceFactory(buffer_before_minutes=10)
    ReservationFactory(space=space, user=in_tenant.member, starts_at=MONDAY_9, buffer_after_minutes=20)
    window = (MONDAY_9 - timedelta(hours=1), MONDAY_9 + timedelta(hours=3))

    availability = space_availability(
        space=space, starts_at=window[0], ends_at=window[1], tz=PARIS, viewer=in_tenant.membership(in_tenant.member)
    )

    assert [(b.starts_at, b.ends_at) for b in availability.busy] == [(MONDAY_9, MONDAY_9 + timedelta(hours=1))]
    # A new booking needs its own 10 minutes of setup after the 20 minutes of cleanup.
    assert availability.free == [
        (window[0], MONDAY_9),
        (MONDAY_9 + timedelta(minutes=90), window[1]),
    ]


@pytest.mark.django_db
def test_free_space_search_counts_each_spaces_buffers(in_tenant, booking_now):
    plain = SpaceFactory(name="Plain")
    cleaned = SpaceFactory(name="Needs setup", buffer_before_minutes=30)
    for space in (plain, cleaned):
        ReservationFactory(space=space, user=in_tenant.member, starts_at=MONDAY_9)
    held = SpaceFactory(name="Held cleanup")
    ReservationFactory(space=held, user=in_tenant.member, starts_at=MONDAY_9, buffer_after_minutes=30)

    free = space_list_available(
        starts_at=MONDAY_9 + timedelta(minutes=75), ends_at=MONDAY_9 + timedelta(hours=2), tz=PARIS
    ).values_list("name", flat=True)

    assert set(free) == {"Plain"}


def test_racing_bookings_within_each_others_buffers_give_one_201(racing_organization, django_db_blocker):  # noqa: F811
    organization = racing_organization.organization
    with django_db_blocker.unblock():
        connection.set_tenant(organization)
        space = SpaceFactory(buffer_after_minutes=30)
        connection.set_schema_to_public()
        membership = Membership.objects.select_related("user", "organization").get(pk=racing_organization.membership.pk)
        token = tokens_for_membership(membership)["access"]
        first = (datetime.now(tz=UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        # Not overlapping, but the second starts inside the first one's cleanup (and vice versa for others).
        starts = [first + timedelta(minutes=20 * index) for index in range(4)]
        barrier = threading.Barrier(len(starts))
        statuses: list[int] = []

        def race(starts_at: datetime) -> None:
            try:
                client = APIClient()
                client.defaults["HTTP_HOST"] = organization.host
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
                body = {
                    "space": space.pk,
                    "starts_at": starts_at.isoformat(),
                    "ends_at": (starts_at + timedelta(minutes=20)).isoformat(),
                }
                barrier.wait(timeout=30)
                statuses.append(client.post("/api/v1/reservations", body, format="json").status_code)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=race, args=(starts_at,)) for starts_at in starts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        connection.set_tenant(organization)
        booked = sorted(Reservation.objects.active().filter(space=space).values_list("starts_at", flat=True))
        connection.set_schema_to_public()
        assert statuses.count(201) == len(booked) and statuses.count(409) == len(starts) - len(booked)
        # Whatever won, no two survivors are closer than a booking plus its 30 minutes of cleanup.
        assert all(later - earlier >= timedelta(minutes=50) for earlier, later in pairwise(booked))


@pytest.mark.django_db
def test_an_admin_sets_a_spaces_buffers_through_the_api_and_a_bad_value_is_a_400(org, api_client):
    connection.set_tenant(org.organization)
    space = SpaceFactory()
    connection.set_schema_to_public()
    client = api_client(org, org.admin)

    changed = client.patch(f"/api/v1/spaces/{space.pk}", {"buffer_before_minutes": 10}, format="json")
    refused = client.patch(f"/api/v1/spaces/{space.pk}", {"buffer_after_minutes": -5}, format="json")

    assert changed.status_code == 200
    assert (changed.json()["buffer_before_minutes"], changed.json()["buffer_after_minutes"]) == (10, 0)
    assert refused.status_code == 400 and "buffer_after_minutes" in refused.json()
