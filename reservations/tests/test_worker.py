"""End to end: a booking through the API, a real worker on the real Redis broker, the emails in the outbox."""

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from reservations.models import Reservation
from spaces.tests.factories import SpaceFactory
from tenants.models import IdempotencyKey
from tenants.tasks import organizations_fan_out, outbox_relay


def wait_for_mail(count: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while len(mail.outbox) < count and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.slow
def test_a_booking_through_the_api_is_confirmed_by_email_and_reminded_once(org, api_client, live_worker):
    connection.set_tenant(org.organization)
    space = SpaceFactory(name="Blue room")
    connection.set_schema_to_public()
    starts_at = (timezone.now() + timedelta(minutes=30)).replace(microsecond=0)

    response = api_client(org, org.member).post(
        "/api/v1/reservations",
        {
            "space": space.pk,
            "starts_at": starts_at.isoformat(),
            "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
        },
    )
    assert response.status_code == 201, response.json()
    outbox_relay.delay()  # beat's job, every OUTBOX_RELAY_SECONDS: queue the booking's notice
    wait_for_mail(1)

    assert len(mail.outbox) == 1
    confirmation = mail.outbox[0]
    assert confirmation.to == ["member@alpha.test"]
    assert confirmation.subject.startswith("Booking confirmed: Blue room")
    assert any(part.get_content_type() == "text/calendar" for part in confirmation.message().walk())

    # Beat's job, twice (as if two runs overlapped): the reminder goes out once.
    organizations_fan_out.delay("reservations.tasks.reservation_reminders_queue")
    organizations_fan_out.delay("reservations.tasks.reservation_reminders_queue")
    wait_for_mail(2)
    time.sleep(1)  # room for a duplicate to show up, were there one

    assert sorted(m.subject.split(" ")[0] for m in mail.outbox) == ["Booking", "Reminder"]
    connection.set_tenant(org.organization)
    assert Reservation.objects.get(pk=response.json()["id"]).reminder_sent_at is not None
    connection.set_schema_to_public()
    assert set(IdempotencyKey.objects.values_list("kind", "state")) == {
        ("reservation_notice", "done"),
        ("reservation_reminder", "done"),
    }


def _tasks_done(name: str, count: int, done: list, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while done.count(name) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert done.count(name) >= count, f"{name} ran {done.count(name)} times, expected {count}"


@pytest.mark.slow
def test_overlapping_no_show_sweeps_release_once_email_once_and_give_the_slot_to_the_first_waiting(org, live_worker):
    """The no-show tick as beat sends it (sweeps_fan_out on the sweeps queue, batches of organizations), run by
    the real worker while another release holds its transaction open, and again after it committed."""
    from celery.signals import task_postrun
    from django.db import transaction

    from reservations.models import WaitlistEntry
    from reservations.services import reservations_release_no_shows, waitlist_join
    from reservations.tests.factories import ReservationFactory
    from spacemanager.beat import NO_SHOW_JOBS
    from tenants.tasks import sweeps_fan_out

    done: list[str] = []

    def record(sender=None, **kwargs):
        done.append(sender.name)

    task_postrun.connect(record, weak=False)
    try:
        connection.set_tenant(org.organization)
        now = timezone.now().replace(second=0, microsecond=0)
        slot = now.replace(minute=0) + timedelta(hours=2)  # a whole hour, well ahead
        desk = SpaceFactory(name="Desk 1", check_in_required=True, check_in_grace_minutes=10)
        room = SpaceFactory(name="Room 2", check_in_required=True, check_in_grace_minutes=10)
        nobody = ReservationFactory(
            space=desk, user=org.owner, starts_at=now - timedelta(minutes=20), ends_at=slot + timedelta(hours=1)
        )
        checked_in = ReservationFactory(
            space=room,
            user=org.owner,
            starts_at=now - timedelta(minutes=20),
            ends_at=slot,
            checked_in_at=now - timedelta(minutes=19),
        )
        first = waitlist_join(
            actor=org.membership(org.member), space_id=desk.pk, starts_at=slot, ends_at=slot + timedelta(hours=1)
        )
        second = waitlist_join(
            actor=org.membership(org.admin), space_id=desk.pk, starts_at=slot, ends_at=slot + timedelta(hours=1)
        )
        mail.outbox.clear()

        # A release in this thread holds its rows while two ticks run in the worker: they skip what it holds.
        with transaction.atomic():
            assert reservations_release_no_shows() == [nobody.pk]
            sweeps_fan_out.delay(list(NO_SHOW_JOBS), 60, record=False)
            sweeps_fan_out.delay(list(NO_SHOW_JOBS), 60, record=False)
            _tasks_done("tenants.tasks.sweep_batch", 2, done)
        # Two more ticks after the commit find nothing left to release.
        sweeps_fan_out.delay(list(NO_SHOW_JOBS), 60, record=False)
        sweeps_fan_out.delay(list(NO_SHOW_JOBS), 60, record=False)
        _tasks_done("tenants.tasks.sweep_batch", 4, done)

        connection.set_schema_to_public()
        outbox_relay.delay()
        wait_for_mail(2)
        time.sleep(1)  # room for a duplicate to show up, were there one

        to_owner = [m.subject for m in mail.outbox if m.to == ["owner@alpha.test"]]
        assert len(to_owner) == 1 and to_owner[0].startswith("Booking released: Desk 1")
        to_member = [m.subject for m in mail.outbox if m.to == ["member@alpha.test"]]
        assert len(to_member) == 1 and to_member[0].startswith("Booking confirmed: Desk 1")
        assert not [m for m in mail.outbox if m.to == ["admin@alpha.test"]]

        connection.set_tenant(org.organization)
        nobody.refresh_from_db()
        checked_in.refresh_from_db()
        first.refresh_from_db()
        second.refresh_from_db()
        assert (nobody.status, nobody.sequence) == (Reservation.Status.NO_SHOW, 1)
        assert checked_in.status == Reservation.Status.CONFIRMED
        assert first.status == WaitlistEntry.Status.BOOKED
        assert (first.reservation.user_id, first.reservation.status) == (org.member.pk, Reservation.Status.CONFIRMED)
        assert (first.reservation.starts_at, first.reservation.ends_at) == (slot, slot + timedelta(hours=1))
        assert second.status == WaitlistEntry.Status.WAITING
        assert Reservation.objects.filter(space=desk, status=Reservation.Status.CONFIRMED).count() == 1
    finally:
        task_postrun.disconnect(record)
        connection.set_schema_to_public()
