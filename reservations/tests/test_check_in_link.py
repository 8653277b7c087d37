"""The reminder's one-click check-in link: signed, for one reservation of one organization, inside its window;
it works without logging in and checks in through the same service as the page and the API."""

import html
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import signing
from django.db import connection

from accounts.models import Membership
from reservations.check_in_links import SALT, check_in_link, check_in_token_create
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)  # 10:00 in Paris; the window is 09:45-10:10 (grace 10 min)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def space(paris, in_tenant):
    return SpaceFactory(name="Blue room", check_in_required=True, check_in_grace_minutes=10)


def booked(paris, space, starts_at=MONDAY_9, **extra) -> Reservation:
    extra.setdefault("user", paris.member)
    return ReservationFactory(space=space, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), **extra)


def path_of(reservation, organization) -> str:
    return check_in_link(reservation=reservation, organization=organization).removeprefix("http://alpha.localhost")


def visit(web_client, paris, moment, path, method="get"):
    """An anonymous browser on the organization's host at `moment`."""
    connection.set_schema_to_public()
    with time_machine.travel(moment, tick=False):
        client = web_client(paris)
        return getattr(client, method)(path)


def checked_in_at(paris, reservation):
    connection.set_tenant(paris.organization)
    return Reservation.objects.get(pk=reservation.pk).checked_in_at


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_link_shows_the_booking_and_one_button_checks_in_without_logging_in(web_client, paris, space):
    reservation = booked(paris, space)
    path = path_of(reservation, paris.organization)

    page = visit(web_client, paris, MONDAY_9 - 5 * MINUTE, path)
    assert page.status_code == 200 and "Check in now" in text(page) and "Blue room" in text(page)
    assert checked_in_at(paris, reservation) is None  # a GET (a mail scanner's preview) changes nothing

    done = visit(web_client, paris, MONDAY_9 - 5 * MINUTE, path, method="post")
    assert done.status_code == 302
    assert checked_in_at(paris, reservation) == MONDAY_9 - 5 * MINUTE
    again = visit(web_client, paris, MONDAY_9, path)
    assert again.status_code == 200 and "You are checked in" in text(again)


def test_a_tampered_link_is_refused(web_client, paris, space):
    reservation = booked(paris, space)
    path = path_of(reservation, paris.organization)
    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]

    for method in ("get", "post"):
        response = visit(web_client, paris, MONDAY_9, tampered, method=method)
        assert response.status_code == 400 and "This check-in link is not valid" in text(response)
    assert checked_in_at(paris, reservation) is None


def test_a_link_of_one_reservation_does_not_check_in_another(web_client, paris, space):
    mine = booked(paris, space)
    other = booked(paris, SpaceFactory(check_in_required=True), user=paris.admin)
    token = check_in_token_create(reservation=mine, organization=paris.organization)

    response = visit(web_client, paris, MONDAY_9, f"/reservations/{other.pk}/check-in/{token}/", method="post")

    assert response.status_code == 400
    assert checked_in_at(paris, other) is None and checked_in_at(paris, mine) is None


def test_a_link_signed_for_another_purpose_or_organization_is_refused(web_client, paris, other_org, space):
    reservation = booked(paris, space)
    other_purpose = signing.dumps({"r": reservation.pk, "o": paris.organization.pk, "e": 2**40}, salt="other")
    other_org_token = signing.dumps({"r": reservation.pk, "o": other_org.organization.pk, "e": 2**40}, salt=SALT)

    for token in (other_purpose, other_org_token):
        response = visit(web_client, paris, MONDAY_9, f"/reservations/{reservation.pk}/check-in/{token}/", "post")
        assert response.status_code == 400
    assert checked_in_at(paris, reservation) is None


def test_too_early_says_the_window_is_not_open_and_checks_in_nothing(web_client, paris, space):
    reservation = booked(paris, space)
    path = path_of(reservation, paris.organization)

    for method in ("get", "post"):
        response = visit(web_client, paris, MONDAY_9 - 16 * MINUTE, path, method=method)
        assert response.status_code == 410
        assert "The check-in window is closed" in text(response)
        assert "open from 2025-03-10T09:45:00+01:00 to 2025-03-10T10:10:00+01:00" in text(response)
    assert checked_in_at(paris, reservation) is None


def test_too_late_the_link_has_expired_with_its_window(web_client, paris, space):
    reservation = booked(paris, space)
    path = path_of(reservation, paris.organization)

    for method in ("get", "post"):
        response = visit(web_client, paris, MONDAY_9 + 10 * MINUTE, path, method=method)
        assert response.status_code == 410 and "The check-in window is closed" in text(response)
    assert checked_in_at(paris, reservation) is None


def test_a_cancelled_reservation_cannot_be_checked_in_from_its_link(web_client, paris, space):
    reservation = booked(paris, space)
    path = path_of(reservation, paris.organization)
    Reservation.objects.filter(pk=reservation.pk).update(status=Reservation.Status.CANCELLED)

    for method in ("get", "post"):
        response = visit(web_client, paris, MONDAY_9, path, method=method)
        assert response.status_code == 409 and "only confirmed ones can be checked in to" in text(response)
    assert checked_in_at(paris, reservation) is None


def test_the_link_stops_working_when_the_booker_left_the_organization(web_client, paris, space):
    reservation = booked(paris, space)
    path = path_of(reservation, paris.organization)
    Membership.objects.filter(user=paris.member, organization=paris.organization).delete()

    response = visit(web_client, paris, MONDAY_9, path, method="post")

    assert response.status_code == 403 and "no longer a member" in text(response)
    assert checked_in_at(paris, reservation) is None


def test_a_link_for_a_reservation_that_is_gone_is_refused(web_client, paris, space):
    reservation = booked(paris, space)
    path = path_of(reservation, paris.organization)
    Reservation.objects.filter(pk=reservation.pk).delete()

    assert visit(web_client, paris, MONDAY_9, path).status_code == 400
