"""What PostgreSQL guarantees by itself: no double booking under a real race, a constraint that outlives other
organizations, and overlap queries answered from the constraint's GiST index."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, OperationalError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Membership, User
from accounts.tests.factories import TEST_PASSWORD
from accounts.tokens import tokens_for_membership
from reservations.models import NO_OVERLAP_CONSTRAINT, Reservation, WaitlistEntry
from reservations.selectors import reservation_overlapping
from reservations.services import (
    ReservationConflict,
    reservation_cancel,
    reservation_check_in,
    reservation_create,
    reservations_release_no_shows,
    waitlist_join,
)
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory
from tenants.models import Organization, OutboxMessage
from tenants.services import organization_register

RACERS = 8
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def _constraint_exists(schema_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = %s AND c.conname = %s AND c.contype = 'x'",
            [schema_name, NO_OVERLAP_CONSTRAINT],
        )
        return cursor.fetchone() is not None


@pytest.mark.django_db
def test_btree_gist_lives_in_the_public_schema(org):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'btree_gist'"
        )
        assert cursor.fetchall() == [("public",)]


@pytest.mark.django_db
def test_deleting_another_organization_leaves_this_ones_constraint_in_place(org):
    doomed = organization_register(
        organization_name="Doomed",
        organization_slug="doomed",
        owner_email="owner@doomed.test",
        owner_password=TEST_PASSWORD,
    ).organization
    assert _constraint_exists(doomed.schema_name)

    doomed.delete(force_drop=True)

    assert _constraint_exists(org.organization.schema_name)
    connection.set_tenant(org.organization)
    space = SpaceFactory()
    starts_at = datetime(2030, 1, 7, 9, tzinfo=UTC)
    ReservationFactory(space=space, user=org.member, starts_at=starts_at)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReservationFactory(space=space, user=org.member, starts_at=starts_at + timedelta(minutes=30))


@pytest.mark.django_db
def test_overlap_queries_use_the_exclusion_constraints_gist_index(in_tenant):
    space = SpaceFactory()
    start = datetime(2030, 1, 7, 9, tzinfo=UTC)
    for hour in range(200):
        ReservationFactory(space=space, user=in_tenant.member, starts_at=start + timedelta(hours=hour))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reservations_reservation")
        # Proves the index can answer the query; on a table this small the planner may still prefer a scan.
        cursor.execute("SET LOCAL enable_seqscan = off")

    plan = reservation_overlapping(
        space_id=space.pk, starts_at=start + timedelta(hours=5), ends_at=start + timedelta(hours=6)
    ).explain()

    assert NO_OVERLAP_CONSTRAINT in plan


@pytest.fixture
def racing_organization(django_db_setup, django_db_blocker):
    """A committed organization of its own: racing threads each use their own connection and cannot see
    a test transaction's rows. Dropped afterwards, so the rest of the suite never notices it."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        leftover = Organization.objects.filter(slug="racing").first()  # from an interrupted run
        if leftover is not None:
            leftover.delete(force_drop=True)
        User.objects.filter(email="owner@racing.test").delete()
        registration = organization_register(
            organization_name="Racing",
            organization_slug="racing",
            owner_email="owner@racing.test",
            owner_password=TEST_PASSWORD,
        )
        try:
            yield registration
        finally:
            connection.set_schema_to_public()
            registration.organization.delete(force_drop=True)
            registration.owner.delete()


def test_racing_bookings_of_one_slot_give_exactly_one_201(racing_organization, django_db_blocker):
    organization = racing_organization.organization
    with django_db_blocker.unblock():
        connection.set_tenant(organization)
        space = SpaceFactory()
        connection.set_schema_to_public()
        membership = Membership.objects.select_related("user", "organization").get(pk=racing_organization.membership.pk)
        token = tokens_for_membership(membership)["access"]
        starts_at = (datetime.now(tz=UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        body = {
            "space": space.pk,
            "starts_at": starts_at.isoformat(),
            "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
        }
        barrier = threading.Barrier(RACERS)
        statuses: list[int] = []

        def race() -> None:
            try:
                client = APIClient()
                client.defaults["HTTP_HOST"] = organization.host
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
                barrier.wait(timeout=30)
                statuses.append(client.post("/api/v1/reservations", body, format="json").status_code)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=race) for _ in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert sorted(statuses) == [201] + [409] * (RACERS - 1)
        connection.set_tenant(organization)
        assert Reservation.objects.active().filter(space=space).count() == 1
        connection.set_schema_to_public()


def test_a_racing_booking_waits_for_the_first_at_the_space_before_writing(racing_organization, django_db_blocker):
    """Why racing bookings never deadlock: a second writer of the space waits at the space row, before its
    insert. Two inserts in flight at once each waited on the other inside the exclusion check (40P01)."""
    organization = racing_organization.organization
    with django_db_blocker.unblock():
        connection.set_tenant(organization)
        space = SpaceFactory()
        connection.set_schema_to_public()
        membership = Membership.objects.select_related("user", "organization").get(pk=racing_organization.membership.pk)
        starts_at = (datetime.now(tz=UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        booked, release = threading.Event(), threading.Event()
        first: list[Reservation] = []

        def book_and_hold() -> None:
            try:
                connection.set_tenant(organization)
                with transaction.atomic():
                    first.append(
                        reservation_create(
                            actor=membership, space_id=space.pk, starts_at=starts_at, ends_at=starts_at + HOUR
                        )
                    )
                    booked.set()
                    release.wait(timeout=30)
            finally:
                booked.set()
                connections.close_all()

        holder = threading.Thread(target=book_and_hold)
        holder.start()
        try:
            assert booked.wait(timeout=30) and first
            connection.set_tenant(organization)
            later = {"actor": membership, "space_id": space.pk, "starts_at": starts_at + HOUR / 2}
            with (
                CaptureQueriesContext(connection) as queries,
                pytest.raises(OperationalError) as waited,
                transaction.atomic(),
            ):
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '200ms'")
                reservation_create(**later, ends_at=starts_at + 2 * HOUR)
            assert waited.value.__cause__.sqlstate == "55P03"  # lock_not_available: it was waiting, not writing
            assert any("FOR NO KEY UPDATE" in query["sql"] for query in queries.captured_queries)
            assert not any(query["sql"].startswith("INSERT") for query in queries.captured_queries)
        finally:
            release.set()
            holder.join(timeout=30)
        # Once the first has committed, the second meets its row: the usual 409, naming it.
        with pytest.raises(ReservationConflict):
            reservation_create(**later, ends_at=starts_at + 2 * HOUR)
        assert Reservation.objects.active().filter(space=space).count() == 1
        connection.set_schema_to_public()


def test_cached_availability_is_never_stale_after_a_booking_commits(racing_organization, django_db_blocker):
    """Readers poll a space's availability (answered from the versioned cache) while bookings commit: every
    answer shows every booking that had committed before the request began."""
    organization = racing_organization.organization
    with django_db_blocker.unblock():
        connection.set_tenant(organization)
        space = SpaceFactory()
        connection.set_schema_to_public()
        membership = Membership.objects.select_related("user", "organization").get(pk=racing_organization.membership.pk)
        token = tokens_for_membership(membership)["access"]
        day = (datetime.now(tz=UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
        path = (
            f"/api/v1/spaces/{space.pk}/availability?start={day.isoformat().replace('+', '%2B')}"
            f"&end={(day + timedelta(days=1)).isoformat().replace('+', '%2B')}"
        )
        committed: list[int] = []
        stale: list[tuple[list[int], list[int]]] = []
        failures: list[str] = []
        bookings_done = threading.Event()

        def client() -> APIClient:
            api = APIClient()
            api.defaults["HTTP_HOST"] = organization.host
            api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            return api

        def book() -> None:
            try:
                api = client()
                for hour in range(8, 14):
                    response = api.post(
                        "/api/v1/reservations",
                        {
                            "space": space.pk,
                            "starts_at": (day + timedelta(hours=hour)).isoformat(),
                            "ends_at": (day + timedelta(hours=hour + 1)).isoformat(),
                        },
                        format="json",
                    )
                    if response.status_code != 201:
                        failures.append(f"booking answered {response.status_code}")
                        return
                    committed.append(response.json()["id"])
            finally:
                bookings_done.set()
                connections.close_all()

        def read() -> None:
            try:
                api = client()
                for _ in range(40):
                    known = list(committed)
                    response = api.get(path)
                    if response.status_code != 200:
                        failures.append(f"availability answered {response.status_code}")
                        return
                    shown = [busy["reservation_id"] for busy in response.json()["busy"]]
                    if not set(known) <= set(shown):
                        stale.append((known, shown))
                    if bookings_done.is_set() and len(known) == 6:
                        return
            finally:
                connections.close_all()

        threads = [threading.Thread(target=book)] + [threading.Thread(target=read) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert failures == []
        assert stale == []
        assert len(committed) == 6
        final = client().get(path).json()["busy"]
        connections.close_all()
        assert sorted(busy["reservation_id"] for busy in final) == sorted(committed)


def _release_in_threads(organization, moment, sweeps: int) -> list[list[int]]:
    """`sweeps` no-show releases at once, each on its own connection."""
    barrier = threading.Barrier(sweeps)
    results: list[list[int]] = []

    def sweep() -> None:
        try:
            connection.set_tenant(organization)
            barrier.wait(timeout=30)
            results.append(reservations_release_no_shows(now=moment))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(sweeps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_overlapping_no_show_sweeps_release_each_booking_once(racing_organization, django_db_blocker):
    organization = racing_organization.organization
    with django_db_blocker.unblock():
        connection.set_tenant(organization)
        space = SpaceFactory(check_in_required=True, check_in_grace_minutes=5)
        start = (datetime.now(tz=UTC) - timedelta(days=1)).replace(microsecond=0)
        ids = {
            ReservationFactory(space=space, user=racing_organization.owner, starts_at=start + hour * HOUR).pk
            for hour in range(12)
        }
        connection.set_schema_to_public()
        notices = OutboxMessage.objects.filter(
            schema_name=organization.schema_name, task="reservations.tasks.reservation_notice_send"
        )
        notices.delete()  # left by the tests before, in a schema of the same name

        results = _release_in_threads(organization, datetime.now(tz=UTC), sweeps=4)

        released = [pk for result in results for pk in result]
        assert len(results) == 4
        assert sorted(released) == sorted(ids)  # every one released, none twice
        connection.set_tenant(organization)
        assert set(Reservation.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"no_show"}
        connection.set_schema_to_public()
        assert sorted(args[0] for args in notices.values_list("args", flat=True)) == sorted(ids)  # one email each
        notices.delete()


def test_a_check_in_in_progress_is_never_released_by_a_sweep(racing_organization, django_db_blocker):
    """The sweep skips a row a check-in holds (it does not wait for it), and once the check-in commits the row
    no longer qualifies."""
    organization = racing_organization.organization
    with django_db_blocker.unblock():
        connection.set_tenant(organization)
        now = datetime.now(tz=UTC).replace(microsecond=0)
        space = SpaceFactory(check_in_required=True, check_in_grace_minutes=10)
        reservation = ReservationFactory(space=space, user=racing_organization.owner, starts_at=now - 5 * MINUTE)
        connection.set_schema_to_public()
        membership = Membership.objects.select_related("user", "organization").get(pk=racing_organization.membership.pk)
        holding, release = threading.Event(), threading.Event()

        def check_in_and_hold() -> None:
            try:
                connection.set_tenant(organization)
                with transaction.atomic():
                    reservation_check_in(actor=membership, reservation=reservation, now=now)
                    holding.set()
                    release.wait(timeout=30)
            finally:
                holding.set()
                connections.close_all()

        holder = threading.Thread(target=check_in_and_hold)
        holder.start()
        try:
            assert holding.wait(timeout=30)
            connection.set_tenant(organization)
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '2s'")  # it must skip, not wait
                assert reservations_release_no_shows(now=now + 30 * MINUTE) == []
        finally:
            release.set()
            holder.join(timeout=30)
        assert reservations_release_no_shows(now=now + 30 * MINUTE) == []
        reservation.refresh_from_db()
        assert (reservation.status, reservation.checked_in_at) == ("confirmed", now)
        connection.set_schema_to_public()


def test_two_racing_cancellations_book_a_waiting_entry_once_and_lose_no_freed_slot(
    racing_organization, django_db_blocker
):
    """The entry needs both freed hours: whichever cancellation commits second sees them both free and books it
    (they take turns at the space), and it is booked once."""
    organization = racing_organization.organization
    with django_db_blocker.unblock():
        membership = Membership.objects.select_related("user", "organization").get(pk=racing_organization.membership.pk)
        connection.set_tenant(organization)
        space = SpaceFactory()
        starts_at = (datetime.now(tz=UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        first, second = (
            ReservationFactory(space=space, user=membership.user, starts_at=starts_at + hour * HOUR) for hour in (0, 1)
        )
        entry = waitlist_join(actor=membership, space_id=space.pk, starts_at=starts_at, ends_at=starts_at + 2 * HOUR)
        connection.set_schema_to_public()
        barrier = threading.Barrier(2)

        def cancel(reservation) -> None:
            try:
                connection.set_tenant(organization)
                barrier.wait(timeout=30)
                reservation_cancel(actor=membership, reservation=reservation)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=cancel, args=(reservation,)) for reservation in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        connection.set_tenant(organization)
        entry.refresh_from_db()
        assert entry.status == WaitlistEntry.Status.BOOKED
        active = list(Reservation.objects.active().filter(space=space))
        assert [(r.pk, r.starts_at, r.ends_at) for r in active] == [
            (entry.reservation_id, starts_at, starts_at + 2 * HOUR)
        ]
        connection.set_schema_to_public()
