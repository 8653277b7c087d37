"""Reservation emails and sweeps, with the clock under control: notices, reminders, expiry, catch-up."""

import logging
import smtplib
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction
from icalendar import Calendar
from kombu.exceptions import OperationalError

from reservations import tasks
from reservations.models import Reservation
from reservations.services import (
    reservation_cancel,
    reservation_confirm,
    reservation_create,
    reservation_update,
)
from reservations.tests.factories import ReservationFactory
from spacemanager.mail import EmailTask
from spaces.tests.factories import SpaceFactory
from tenants.models import IdempotencyKey, OutboxMessage
from tenants.outbox import outbox_relay

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONDAY_9 = utc(2025, 3, 10, 9)  # a week after BOOKING_NOW; 10:00 in Paris


@pytest.fixture
def member(paris, in_tenant, booking_now, celery_eager):
    return paris.membership(paris.member)


@pytest.fixture
def manager(paris, in_tenant, booking_now, celery_eager):
    return paris.membership(paris.admin)


@pytest.fixture
def space(in_tenant):
    return SpaceFactory(name="Blue room", location="2nd floor")


def calendar_of(message) -> Calendar | None:
    parts = [part for part in message.message().walk() if part.get_content_type() == "text/calendar"]
    assert len(parts) <= 1
    return Calendar.from_ical(parts[0].get_payload(decode=True)) if parts else None


def event_of(message):
    return calendar_of(message).walk("VEVENT")[0]


@contextmanager
def relayed():
    """Run a change, then what the worker does once it has committed: the relay queues its outbox messages
    (Celery runs them at once here)."""
    yield
    outbox_relay()


def book(actor, space, starts_at=MONDAY_9, **extra):
    return reservation_create(
        actor=actor, space_id=space.pk, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), **extra
    )


# Notices after a change


def test_a_booking_emails_the_booker_only_after_the_commit(member, space):
    book(member, space)
    assert mail.outbox == []  # nothing is sent inside the request's transaction
    assert OutboxMessage.objects.count() == 1  # the notice waits in the outbox, in the same transaction

    assert outbox_relay() == 1

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["member@alpha.test"]
    assert message.subject == "Booking confirmed: Blue room, Mon 10 Mar 2025, 10:00-11:00 (Europe/Paris)"
    assert "When: Mon 10 Mar 2025, 10:00-11:00 (Europe/Paris)" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Your booking is confirmed" in html
    assert calendar_of(message)["METHOD"] == "REQUEST"
    assert event_of(message)["SEQUENCE"] == 0
    assert event_of(message).decoded("DTSTART") == MONDAY_9


def test_a_booking_through_the_api_sends_nothing_inside_the_request(
    paris, in_tenant, booking_now, api_client, space, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client(paris, paris.member).post(
            "/api/v1/reservations",
            {"space": space.pk, "starts_at": "2025-03-10T09:00:00Z", "ends_at": "2025-03-10T10:00:00Z"},
        )

    assert response.status_code == 201
    assert mail.outbox == []
    assert callbacks == []  # the request queues nothing on the broker, not even after its commit
    assert list(OutboxMessage.objects.values_list("task", "args")) == [
        ("reservations.tasks.reservation_notice_send", [response.json()["id"], "created", 0])
    ]


def test_a_pending_booking_says_it_awaits_approval_without_an_invitation(member, django_capture_on_commit_callbacks):
    space = SpaceFactory(name="Hall", requires_approval=True)
    with relayed():
        book(member, space)

    message = mail.outbox[0]
    assert message.subject.startswith("Booking request received: Hall")
    assert "Your booking awaits approval" in message.body
    assert "approved within 24 hours" in message.body
    assert calendar_of(message) is None


def test_approval_change_and_cancellation_each_send_one_email_for_the_same_calendar_entry(
    member, manager, space, django_capture_on_commit_callbacks
):
    approval_space = SpaceFactory(name="Hall", requires_approval=True)
    with relayed():
        reservation = book(member, approval_space)
    with relayed():
        reservation_confirm(actor=manager, reservation=reservation)
    with relayed():
        reservation_update(actor=manager, reservation=reservation, ends_at=MONDAY_9 + timedelta(hours=2))
    with relayed():
        reservation_cancel(actor=member, reservation=reservation)

    booker_mail = [message for message in mail.outbox if message.to == [member.user.email]]  # not the approvers'
    subjects = [message.subject.split(":")[0] for message in booker_mail]
    assert subjects == ["Booking request received", "Booking approved", "Booking changed", "Booking cancelled"]
    approved, changed, cancelled = booker_mail[1:]
    assert calendar_of(approved)["METHOD"] == "REQUEST"
    assert "10:00-12:00" in changed.subject
    assert calendar_of(cancelled)["METHOD"] == "CANCEL"
    assert [event_of(m)["SEQUENCE"] for m in (approved, changed, cancelled)] == [1, 2, 3]
    assert len({str(event_of(m)["UID"]) for m in (approved, changed, cancelled)}) == 1


def test_running_a_notice_twice_sends_one_email(member, space):
    reservation = book(member, space)

    assert tasks.reservation_notice_send.delay(reservation.pk, "created", 0).result is True
    assert tasks.reservation_notice_send.delay(reservation.pk, "created", 0).result is False

    assert len(mail.outbox) == 1


def test_a_notice_overtaken_by_a_newer_change_gives_way_to_it(member, space):
    reservation = book(member, space)
    reservation_update(actor=member, reservation=reservation, title="Moved on")

    assert tasks.reservation_notice_send.delay(reservation.pk, "created", 0).result is False
    assert tasks.reservation_notice_send.delay(reservation.pk, "changed", 1).result is True

    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Booking changed"]


def test_a_notice_for_a_reservation_gone_meanwhile_ends_cleanly(member, space):
    reservation = book(member, space)
    Reservation.objects.filter(pk=reservation.pk).delete()

    result = tasks.reservation_notice_send.apply([reservation.pk, "created", 0])

    assert result.successful() and result.result is False
    assert mail.outbox == []


def test_a_notice_for_a_deleted_organization_ends_cleanly(member, space):
    reservation = book(member, space)

    result = tasks.reservation_notice_send.apply(
        [reservation.pk, "created", 0], headers={"_schema_name": "org_deleted_meanwhile"}
    )

    assert result.successful() and result.result is None
    assert mail.outbox == []


def test_a_deactivated_booker_gets_no_email(member, space):
    reservation = book(member, space)
    member.user.is_active = False
    member.user.save()

    assert tasks.reservation_notice_send.delay(reservation.pk, "created", 0).result is False
    assert mail.outbox == []


class FlakySMTP(EmailBackend):
    failures = 0

    def send_messages(self, messages):
        if FlakySMTP.failures:
            FlakySMTP.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


def test_an_smtp_failure_is_retried_and_the_email_goes_out_once(member, space, settings, celery_eager):
    reservation = book(member, space)
    celery_eager.conf.task_eager_propagates = False  # let apply() run the retries in place, as a worker would
    settings.EMAIL_BACKEND = f"{__name__}.FlakySMTP"
    FlakySMTP.failures = 2

    result = tasks.reservation_notice_send.apply([reservation.pk, "created", 0])

    assert result.result is True
    assert len(mail.outbox) == 1
    assert IdempotencyKey.objects.get(kind="reservation_notice").state == "done"


def test_notice_and_reminder_tasks_retry_email_failures():
    assert issubclass(tasks.reservation_notice_send.__class__, EmailTask)
    assert issubclass(tasks.reservation_reminder_send.__class__, EmailTask)


# Reminders


def confirmed(member, starts_at, **extra):
    return ReservationFactory(user=member.user, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), **extra)


def sweep_reminders_at(moment: datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return tasks.reservation_reminders_queue.delay().result


def test_the_reminder_goes_out_once_when_the_start_comes_within_the_lead(member, space):
    reservation = confirmed(member, MONDAY_9, space=space)

    assert sweep_reminders_at(MONDAY_9 - timedelta(minutes=61)) == 0
    assert sweep_reminders_at(MONDAY_9 - timedelta(minutes=58)) == 1
    assert sweep_reminders_at(MONDAY_9 - timedelta(minutes=53)) == 0
    assert sweep_reminders_at(MONDAY_9 - timedelta(minutes=48)) == 0

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Reminder (in 58 min): Blue room, Mon 10 Mar 2025, 10:00-11:00 (Europe/Paris)"
    reservation.refresh_from_db()
    assert reservation.reminder_sent_at == MONDAY_9 - timedelta(minutes=58)


def test_a_booking_made_inside_the_lead_window_still_gets_its_reminder(member, space):
    with time_machine.travel(MONDAY_9 - timedelta(minutes=20), tick=False):
        reservation = book(member, space)

    assert sweep_reminders_at(MONDAY_9 - timedelta(minutes=17)) == 1

    assert "in 17 min" in mail.outbox[-1].subject
    assert mail.outbox[-1].subject.startswith("Reminder (in 17 min): Blue room")
    reservation.refresh_from_db()
    assert reservation.reminder_sent_at is not None


def test_two_overlapping_reminder_runs_send_one_email(member, space, monkeypatch):
    confirmed(member, MONDAY_9, space=space)
    queued = []
    monkeypatch.setattr(tasks.reservation_reminder_send, "delay", queued.append)

    # Both runs look before either reminder has been sent.
    sweep_reminders_at(MONDAY_9 - timedelta(minutes=50))
    sweep_reminders_at(MONDAY_9 - timedelta(minutes=49))
    assert len(queued) == 2
    with time_machine.travel(MONDAY_9 - timedelta(minutes=48), tick=False):
        results = [tasks.reservation_reminder_send.apply([reservation_id]).result for reservation_id in queued]

    assert results == [True, False]
    assert len(mail.outbox) == 1


def test_cancelled_and_pending_reservations_get_no_reminder(member, space):
    confirmed(member, MONDAY_9, space=space, status=Reservation.Status.CANCELLED)
    confirmed(member, MONDAY_9 + timedelta(hours=1), space=space, status=Reservation.Status.PENDING)

    assert sweep_reminders_at(MONDAY_9 - timedelta(minutes=5)) == 0
    assert mail.outbox == []


def test_a_reservation_cancelled_after_its_reminder_was_queued_gets_none(member, space):
    reservation = confirmed(member, MONDAY_9, space=space)
    Reservation.objects.filter(pk=reservation.pk).update(status=Reservation.Status.CANCELLED)

    with time_machine.travel(MONDAY_9 - timedelta(minutes=30), tick=False):
        assert tasks.reservation_reminder_send.delay(reservation.pk).result is False
    assert mail.outbox == []


def test_a_reservation_moved_after_its_reminder_gets_a_reminder_for_the_new_time(member, space):
    with time_machine.travel(MONDAY_9 - timedelta(minutes=45), tick=False):
        reservation = book(member, space)
    sweep_reminders_at(MONDAY_9 - timedelta(minutes=40))
    with time_machine.travel(MONDAY_9 - timedelta(minutes=30), tick=False):
        reservation_update(
            actor=member,
            reservation=reservation,
            starts_at=MONDAY_9 + timedelta(hours=3),
            ends_at=MONDAY_9 + timedelta(hours=4),
        )

    assert sweep_reminders_at(MONDAY_9 + timedelta(hours=2, minutes=5)) == 1
    reminders = [m.subject for m in mail.outbox if m.subject.startswith("Reminder")]
    assert reminders == [
        "Reminder (in 40 min): Blue room, Mon 10 Mar 2025, 10:00-11:00 (Europe/Paris)",
        "Reminder (in 55 min): Blue room, Mon 10 Mar 2025, 13:00-14:00 (Europe/Paris)",
    ]


@pytest.mark.parametrize(
    ("starts_at", "local"),
    [
        # 30 March 2025: Paris jumps from 02:00 to 03:00. An hour before 03:30 CEST the clocks read 01:30 CET.
        (utc(2025, 3, 30, 1, 30), "Sun 30 Mar 2025, 03:30-04:30 (Europe/Paris)"),
        # 26 October 2025: 03:00 CEST falls back to 02:00 CET. 02:30 CET is an hour after 02:30 CEST.
        (utc(2025, 10, 26, 1, 30), "Sun 26 Oct 2025, 02:30-03:30 (Europe/Paris)"),
    ],
)
def test_the_reminder_lead_is_real_time_across_a_clock_change(member, space, starts_at, local):
    confirmed(member, starts_at, space=space)

    assert sweep_reminders_at(starts_at - timedelta(minutes=61)) == 0
    assert sweep_reminders_at(starts_at - timedelta(minutes=59)) == 1

    assert mail.outbox[0].subject == f"Reminder (in 59 min): Blue room, {local}"


# Expiry and completion


def sweep_at(moment: datetime) -> dict:
    with time_machine.travel(moment, tick=False):
        return tasks.reservations_sweep.delay().result


def test_an_unapproved_request_expires_frees_its_slot_and_the_booker_is_told(
    member, django_capture_on_commit_callbacks
):
    hall = SpaceFactory(name="Hall", requires_approval=True)
    requested_at = utc(2025, 3, 3, 8)
    with time_machine.travel(requested_at, tick=False):
        reservation = book(member, hall)

    with relayed():
        assert sweep_at(requested_at + timedelta(minutes=1439))["expired"] == 0
    with relayed():
        assert sweep_at(requested_at + timedelta(minutes=1441))["expired"] == 1

    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.EXPIRED
    assert mail.outbox[-1].subject.startswith("Booking request expired: Hall")
    assert "the slot is free again" in mail.outbox[-1].body
    with time_machine.travel(requested_at + timedelta(days=2), tick=False):
        assert book(member, hall).status == Reservation.Status.PENDING  # the slot is free


def test_a_request_still_pending_when_it_starts_expires(member):
    hall = SpaceFactory(requires_approval=True)
    with time_machine.travel(MONDAY_9 - timedelta(hours=2), tick=False):  # well within the 24 h to approve
        reservation = confirmed(member, MONDAY_9, space=hall, status=Reservation.Status.PENDING)

    assert sweep_at(MONDAY_9 - timedelta(minutes=1))["expired"] == 0
    assert sweep_at(MONDAY_9)["expired"] == 1
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.EXPIRED


def test_expiring_twice_tells_the_booker_once(member, django_capture_on_commit_callbacks):
    reservation = confirmed(member, MONDAY_9, space=SpaceFactory(), status=Reservation.Status.PENDING)
    with relayed():
        sweep_at(MONDAY_9 + timedelta(minutes=5))
    with relayed():
        sweep_at(MONDAY_9 + timedelta(minutes=10))
    tasks.reservation_notice_send.delay(reservation.pk, "expired", 1)

    assert len(mail.outbox) == 1


def test_ended_bookings_are_completed_and_running_ones_are_not(member, space):
    ended = confirmed(member, MONDAY_9, space=space)
    running = confirmed(member, MONDAY_9 + timedelta(minutes=30), space=SpaceFactory())
    cancelled = confirmed(member, MONDAY_9, space=space, status=Reservation.Status.CANCELLED)

    assert sweep_at(MONDAY_9 + timedelta(hours=1))["completed"] == 1

    statuses = {r.pk: r.status for r in Reservation.objects.all()}
    assert statuses == {ended.pk: "completed", running.pk: "confirmed", cancelled.pk: "cancelled"}
    assert mail.outbox == []


# Catch-up: Redis down while booking


def test_redis_down_while_booking_the_booking_stands_and_the_email_goes_out_once_redis_is_back(
    member, space, monkeypatch, caplog
):
    queued = []

    def broker_down(*args, **kwargs):
        queued.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    booked_at = utc(2025, 3, 3, 8)
    with monkeypatch.context() as patch:
        patch.setattr(tasks.reservation_notice_send, "apply_async", broker_down)
        with time_machine.travel(booked_at, tick=False), caplog.at_level(logging.ERROR):
            reservation = book(member, space)
            assert queued == []  # the booking itself never talks to the broker
            assert outbox_relay() == 0  # the relay cannot queue it: the notice waits in the outbox

    assert Reservation.objects.filter(pk=reservation.pk, status="confirmed").exists()
    assert "Could not relay the outbox" in caplog.text
    assert mail.outbox == []
    assert OutboxMessage.objects.count() == 1

    # Redis is back: the next relay sends it, once; the catch-up sweeps find nothing left to do.
    with time_machine.travel(booked_at + timedelta(seconds=2), tick=False):
        assert outbox_relay() == 1
    assert OutboxMessage.objects.count() == 0
    assert sweep_at(booked_at + timedelta(minutes=5))["notices_caught_up"] == 0
    assert outbox_relay() == 0

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("Booking confirmed: Blue room")


def test_a_notice_relayed_twice_is_emailed_once(member, space):
    """The relay may queue a message again (it crashed after queuing, before deleting): one email still."""
    book(member, space)
    message = OutboxMessage.objects.get()
    assert outbox_relay() == 1
    OutboxMessage.objects.create(
        schema_name=message.schema_name, task=message.task, args=message.args, created_at=message.created_at
    )
    assert outbox_relay() == 1
    assert len(mail.outbox) == 1


def test_a_rolled_back_booking_leaves_nothing_in_the_outbox(member, space):
    with pytest.raises(RuntimeError), transaction.atomic():
        book(member, space)
        raise RuntimeError
    assert OutboxMessage.objects.count() == 0
    assert outbox_relay() == 0
    assert mail.outbox == []


def test_the_catch_up_leaves_sent_notices_old_news_and_completed_bookings_alone(
    member, space, django_capture_on_commit_callbacks
):
    booked_at = utc(2025, 3, 3, 8)
    with time_machine.travel(booked_at, tick=False), relayed():
        book(member, space)  # notified normally
    with time_machine.travel(booked_at - timedelta(days=2), tick=False):
        confirmed(member, MONDAY_9 + timedelta(hours=2), space=space)  # changed long ago: stale news
    with time_machine.travel(booked_at, tick=False):
        confirmed(member, booked_at - timedelta(hours=3), space=space, status=Reservation.Status.COMPLETED)

    assert sweep_at(booked_at + timedelta(minutes=5))["notices_caught_up"] == 0
    assert len(mail.outbox) == 1


def test_a_cancellation_whose_email_was_lost_is_caught_up_with_the_cancel_invitation(member, space):
    booked_at = utc(2025, 3, 3, 8)
    with time_machine.travel(booked_at, tick=False):
        reservation = book(member, space)  # callbacks never run: as if Redis were down twice
        reservation_cancel(actor=member, reservation=reservation)

    sweep_at(booked_at + timedelta(minutes=3))

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("Booking cancelled")
    assert calendar_of(mail.outbox[0])["METHOD"] == "CANCEL"


def test_a_notice_links_to_the_booking_on_the_configured_site(member, space, settings):
    settings.SITE_URL = "https://localhost:8443"
    with relayed():
        reservation = book(member, space)

    message = mail.outbox[0]
    link = f"https://alpha.localhost:8443/reservations/{reservation.pk}/"
    assert f"See your booking: {link}" in message.body
    assert f'href="{link}"' in message.alternatives[0][0]
