"""Closure pages (owners and admins): declare one, see the bookings inside it, cancel them with a notice or
keep them, reopen; and the space's calendar shades closures with their reason."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.db import connection

from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.tests.pages import field_error, text
from spaces.models import Closure
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
HOLIDAY = {"first_day": "2025-03-10", "last_day": "2025-03-10", "reason": "Public holiday"}


def in_schema(org, call):
    connection.set_tenant(org.organization)
    try:
        return call()
    finally:
        connection.set_schema_to_public()


def test_members_cannot_open_or_post_the_closure_pages(web_client, org):
    client = web_client(org, org.member)
    assert client.get("/spaces/closures/").status_code == 403
    assert client.post("/spaces/closures/", HOLIDAY).status_code == 403
    assert not in_schema(org, Closure.objects.exists)


def test_declaring_a_closure_needs_the_csrf_token(web_client, org):
    response = web_client(org, org.admin, enforce_csrf_checks=True).post("/spaces/closures/", HOLIDAY)
    assert response.status_code == 403
    assert not in_schema(org, Closure.objects.exists)


def test_an_admin_closes_the_building_for_a_day_then_cancels_the_bookings_inside_with_a_notice(
    web_client, org, booking_now, celery_eager, django_capture_on_commit_callbacks
):
    def scene():
        space = SpaceFactory(name="Blue room")
        booked = ReservationFactory(space=space, user=org.member, starts_at=datetime(2025, 3, 10, 9, tzinfo=UTC))
        return space, booked

    space, booked = in_schema(org, scene)
    client = web_client(org, org.admin)

    created = client.post("/spaces/closures/", HOLIDAY, follow=True)

    page = text(created)
    assert "Closed: Public holiday. 1 booking is still inside it" in page
    assert "Blue room, Mon 10 Mar 09:00" in page
    closure = in_schema(org, Closure.objects.get)
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = client.post(f"/spaces/closures/{closure.pk}/cancel-affected/", follow=True)
    assert "1 booking was cancelled and the bookers told why." in text(cancelled)
    assert in_schema(org, lambda: Reservation.objects.get(pk=booked.pk).status) == "cancelled"
    [notice] = mail.outbox
    assert "Public holiday" in notice.body
    calendar = text(client.get(f"/spaces/{space.pk}/?week=2025-03-10"))
    assert "Closed: Public holiday" in calendar


def test_a_closure_ending_before_it_starts_is_shown_on_the_form(web_client, org, booking_now):
    response = web_client(org, org.admin).post("/spaces/closures/", {**HOLIDAY, "start": "12:00", "end": "09:00"})

    assert response.status_code == 400
    assert field_error(response, "end") == "The end must be after the start."
    assert not in_schema(org, Closure.objects.exists)


def test_reopening_deletes_the_closure(web_client, org, booking_now):
    client = web_client(org, org.admin)
    client.post("/spaces/closures/", HOLIDAY)
    closure = in_schema(org, Closure.objects.get)

    response = client.post(f"/spaces/closures/{closure.pk}/delete/", follow=True)

    assert "Reopened" in text(response)
    assert not in_schema(org, Closure.objects.exists)
    assert client.get(f"/spaces/closures/{closure.pk}/").status_code == 404
