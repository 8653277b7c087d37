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
