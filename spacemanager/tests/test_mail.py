import smtplib
from datetime import UTC, datetime

import pytest
import time_machine
from celery.exceptions import Retry
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from icalendar import Calendar

from spacemanager.celery import app
from spacemanager.mail import (
    CalendarMethod,
    EmailTask,
    build_email,
    calendar_invitation,
    calendar_uid,
    send_once,
)
from tenants.idempotency import OnceKey, claim_lease, claim_once
from tenants.models import IdempotencyKey

STARTS = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
ENDS = datetime(2026, 3, 3, 10, 30, tzinfo=UTC)


def notice(**overrides):
    arguments = {
        "to": ["booker@alpha.test"],
        "subject": "Your booking of Room A & B",
        "template": "email/notice",
        "context": {
            "organization_name": "Alpha",
            "heading": "Booking confirmed",
            "lines": ["Room A & B", "Tue 3 Mar 2026, 10:00-11:30 (Europe/Paris)"],
            "action_url": "http://alpha.localhost:8000/reservations/42",
            "action_label": "See your booking",
        },
    }
    return build_email(**(arguments | overrides))


def invitation(method=CalendarMethod.REQUEST, sequence=1):
    return calendar_invitation(
        method=method,
        uid=calendar_uid(kind="reservation", object_id=42, organization_host="alpha.localhost"),
        sequence=sequence,
        summary="Room A",
        starts_at=STARTS,
        ends_at=ENDS,
        timezone_name="Europe/Paris",
        attendee_email="booker@alpha.test",
        attendee_name="Ada Booker",
        location="Alpha, 2nd floor",
    )


def parsed(part) -> Calendar:
    return Calendar.from_ical(part.get_payload(decode=True))


def test_an_email_has_a_plain_text_and_an_html_version_of_the_same_content():
    message = notice()

    assert message.subject == "Your booking of Room A & B"
    assert message.to == ["booker@alpha.test"]
    assert "Room A & B" in message.body  # plain text is not HTML-escaped
    assert "See your booking: http://alpha.localhost:8000/reservations/42" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Room A &amp; B" in html
    assert 'href="http://alpha.localhost:8000/reservations/42"' in html
    assert "Sent by SpaceManager for Alpha." in message.body


def test_a_subject_with_line_breaks_stays_one_header_line():
    message = notice(subject="Hello\r\nBcc: victim@example.com")

    assert message.subject == "Hello Bcc: victim@example.com"
    assert "\n" not in message.message()["Subject"]


@time_machine.travel("2026-03-01 12:00Z", tick=False)
def test_a_confirmation_invitation_is_a_request_in_utc_with_local_times_in_the_text():
    part = invitation()

    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"
    calendar = parsed(part)
    assert calendar["METHOD"] == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert event["UID"] == "reservation-42@alpha.localhost"
    assert event["SUMMARY"] == "Room A"
    assert event["STATUS"] == "CONFIRMED"
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == STARTS
    assert event.decoded("DTEND") == ENDS
    raw = part.get_payload(decode=True).decode()
    assert "DTSTART:20260303T090000Z" in raw
    assert "DTEND:20260303T103000Z" in raw
    assert "DTSTAMP:20260301T120000Z" in raw
    assert "Tue 3 Mar 2026, 10:00-11:30 (Europe/Paris)" in event["DESCRIPTION"]
    assert str(event["ATTENDEE"]) == "mailto:booker@alpha.test"
    assert event["ATTENDEE"].params["CN"] == "Ada Booker"


def test_a_cancellation_replaces_the_same_calendar_entry():
    confirmed = parsed(invitation(sequence=1)).walk("VEVENT")[0]
    cancel_part = invitation(method=CalendarMethod.CANCEL, sequence=2)
    cancelled_calendar = parsed(cancel_part)
    cancelled = cancelled_calendar.walk("VEVENT")[0]

    assert cancel_part.get_param("method") == "CANCEL"
    assert cancel_part.get_filename() == "cancel.ics"
    assert cancelled_calendar["METHOD"] == "CANCEL"
    assert cancelled["STATUS"] == "CANCELLED"
    assert cancelled["UID"] == confirmed["UID"]
    assert cancelled["SEQUENCE"] > confirmed["SEQUENCE"]


def test_local_times_follow_daylight_saving_time():
    summer = calendar_invitation(
        method=CalendarMethod.REQUEST,
        uid="reservation-1@alpha.localhost",
        sequence=1,
        summary="Room A",
        starts_at=datetime(2026, 3, 29, 8, 0, tzinfo=UTC),  # the day Paris moves to UTC+2
        ends_at=datetime(2026, 3, 29, 9, 0, tzinfo=UTC),
        timezone_name="Europe/Paris",
        attendee_email="booker@alpha.test",
    )

    assert "Sun 29 Mar 2026, 10:00-11:00 (Europe/Paris)" in parsed(summer).walk("VEVENT")[0]["DESCRIPTION"]


def test_the_invitation_travels_as_an_attachment_of_the_email():
    message = notice(attachments=[invitation()])

    parts = [part for part in message.message().walk() if part.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    assert parts[0].get_param("method") == "REQUEST"
    assert parts[0].get_filename() == "invite.ics"
    assert b"UID:reservation-42@alpha.localhost" in parts[0].get_payload(decode=True)


@pytest.mark.django_db
def test_sending_twice_delivers_one_email():
    key = OnceKey("reservation_confirmation", 42, version="1", schema_name="org_alpha")

    assert send_once(notice(), key=key) is True
    assert send_once(notice(), key=key) is False

    assert len(mail.outbox) == 1
    assert IdempotencyKey.objects.get().state == IdempotencyKey.State.DONE


class RefusingBackend(EmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


@pytest.mark.django_db
def test_a_failed_send_is_not_marked_sent_so_the_retry_sends_it(settings):
    key = OnceKey("reservation_confirmation", 42, version="1", schema_name="org_alpha")
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        send_once(notice(), key=key)
    assert not IdempotencyKey.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_once(notice(), key=key) is True
    assert len(mail.outbox) == 1


@app.task(base=EmailTask, bind=True, name="spacemanager.tests.send_notice")
def send_notice(self, to: str, object_id: int) -> bool:
    """The shape of every email task: ids in, look up, build, send once."""
    return send_once(notice(to=[to]), key=OnceKey("test_notice", object_id))


class FlakyBackend(EmailBackend):
    """Fails the first `failures` deliveries, like an SMTP server that is restarting."""

    failures = 0
    attempts = 0

    def send_messages(self, messages):
        FlakyBackend.attempts += 1
        if FlakyBackend.attempts <= FlakyBackend.failures:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def flaky_backend(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.attempts = 0
    return FlakyBackend


@pytest.mark.django_db
def test_an_email_task_retries_after_an_smtp_failure_and_sends_once(in_tenant, flaky_backend):
    flaky_backend.failures = 1

    # apply() runs the retries in place, as the worker would run them later.
    result = send_notice.apply(["booker@alpha.test", 42])

    assert result.get() is True
    assert flaky_backend.attempts == 2
    assert len(mail.outbox) == 1
    assert IdempotencyKey.objects.get(schema_name="org_alpha", kind="test_notice").state == "done"


@pytest.mark.django_db
def test_an_email_task_gives_up_after_max_retries_without_marking_the_email_sent(in_tenant, flaky_backend):
    flaky_backend.failures = 100

    result = send_notice.apply(["booker@alpha.test", 42])

    assert result.failed()
    assert isinstance(result.result, smtplib.SMTPServerDisconnected)
    assert flaky_backend.attempts == EmailTask.max_retries + 1
    assert mail.outbox == []
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_email_retries_back_off_exponentially(in_tenant, flaky_backend, monkeypatch):
    flaky_backend.failures = 100
    countdowns = []

    def record_retry(*args, countdown=None, **kwargs):
        countdowns.append(countdown)
        raise Retry()

    monkeypatch.setattr(send_notice, "retry", record_retry)
    # Full jitter draws the wait below the backoff; take the upper bound to see the curve.
    monkeypatch.setattr("celery.utils.time.random.randrange", lambda stop: stop - 1)
    for retries in (0, 1, 2, 3, 12):
        send_notice.apply(["booker@alpha.test", 42], retries=retries)

    assert countdowns == [1, 2, 4, 8, 600]


@pytest.mark.django_db
def test_an_email_being_sent_by_another_run_is_retried_when_its_claim_expires(in_tenant, monkeypatch):
    with time_machine.travel("2026-03-03 09:00Z", tick=False):
        claim_once(OnceKey("test_notice", 42))
    retries = []

    def record_retry(*args, countdown=None, **kwargs):
        retries.append(countdown)
        raise Retry()

    monkeypatch.setattr(send_notice, "retry", record_retry)
    with time_machine.travel("2026-03-03 09:01Z", tick=False):
        send_notice.apply(["booker@alpha.test", 42])

    assert retries == [claim_lease().total_seconds() - 60]
    assert mail.outbox == []
