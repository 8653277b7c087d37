"""Every email's links: each one points at the organization's site from configuration (SITE_URL's scheme and
port, never a request's Host), resolves there, and the reservation emails carry view, change, cancel and,
in the reminder of a check-in space, check-in. The .ics names the space and its place, organized by the
organization."""

import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import resolve
from icalendar import Calendar

from accounts.invitations import invitation_create, invitation_email_send
from accounts.profile import find_organizations_send
from integrations.models import WebhookEndpoint
from integrations.services import webhook_endpoint_disabled_notify
from reports.services import monthly_report_generate, monthly_report_send
from reservations import approvals, notifications
from reservations.models import Reservation
from reservations.services import reservation_create, series_create
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db

SITE = "https://alpha.localhost:8443"
TENANT_URLCONF = "spacemanager.urls_tenant"
MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)  # a week after BOOKING_NOW


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.hrefs += [value for name, value in attrs if name == "href" and value]


def links_of(message) -> tuple[list[str], list[str]]:
    """(links in the text part, hrefs in the HTML part)."""
    text_links = re.findall(r"https?://\S+", message.body)
    parser = _Hrefs()
    for content, mimetype in message.alternatives:
        if mimetype == "text/html":
            parser.feed(content)
    return text_links, parser.hrefs


def assert_links_on_the_configured_site(message, site: str = SITE, mentioned: tuple[str, ...] = ()) -> list[str]:
    """Both parts carry the same links, each on `site` and each resolving to one of its pages (`mentioned`:
    addresses the text names that are not links, e.g. a webhook receiver's)."""
    text_links, hrefs = links_of(message)
    text_links = [link for link in text_links if link.rstrip(".") not in mentioned]
    assert text_links, f"{message.subject!r} has no link"
    assert sorted(set(text_links)) == sorted(set(hrefs)), message.subject
    for link in text_links:
        assert link.startswith(site + "/"), link
        resolve(urlsplit(link).path, urlconf=TENANT_URLCONF)
    return text_links


def labelled(message) -> dict[str, str]:
    """`Label: https://…` lines of the text part."""
    return dict(re.findall(r"^([^:\n]+): (https?://\S+)$", message.body, flags=re.MULTILINE))


def fetch(link: str, user=None) -> int:
    """GET the link as a browser of `user` (None: not logged in) on the host it names."""
    connection.set_schema_to_public()
    parts = urlsplit(link)
    client = Client(HTTP_HOST=parts.netloc)
    if user is not None:
        client.force_login(user)
    status = client.get(parts.path, secure=parts.scheme == "https").status_code
    return status


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://localhost:8443"


@pytest.fixture
def member(paris, in_tenant, booking_now, site):
    return paris.membership(paris.member)


@pytest.fixture
def space(in_tenant):
    return SpaceFactory(name="Blue room", location="2nd floor, east wing")


def calendar_of(message) -> Calendar:
    [part] = [p for p in message.message().walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True))


# Reservation emails


def test_a_confirmation_links_to_view_change_and_cancel_the_booking_on_the_configured_site(
    member, space, paris, request
):
    reservation = reservation_create(
        actor=member, space_id=space.pk, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1)
    )
    message = notifications.notice_message(reservation=reservation, event="created", booker=paris.member)

    assert_links_on_the_configured_site(message)
    assert labelled(message) == {
        "See your booking": f"{SITE}/reservations/{reservation.pk}/",
        "Change it": f"{SITE}/reservations/{reservation.pk}/edit/",
        "Cancel it": f"{SITE}/reservations/{reservation.pk}/cancel/",
    }
    for link in labelled(message).values():
        assert fetch(link, paris.member) == 200


@pytest.mark.parametrize(
    "status", [Reservation.Status.CANCELLED, Reservation.Status.DECLINED, Reservation.Status.EXPIRED]
)
def test_a_booking_that_is_over_links_only_to_its_page(member, space, paris, status):
    reservation = ReservationFactory(
        user=paris.member, space=space, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1), status=status
    )
    message = notifications.notice_message(reservation=reservation, event=str(status), booker=paris.member)

    assert_links_on_the_configured_site(message)
    assert labelled(message) == {"See your booking": f"{SITE}/reservations/{reservation.pk}/"}


def test_the_reminder_of_a_check_in_space_carries_a_check_in_link_that_works_without_logging_in(member, paris):
    space = SpaceFactory(name="Focus", check_in_required=True, check_in_grace_minutes=10)
    reservation = ReservationFactory(
        user=paris.member, space=space, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1)
    )
    message = notifications.reminder_message(
        reservation=reservation, booker=paris.member, now=MONDAY_9 - timedelta(minutes=30)
    )

    links = labelled(message)
    assert list(links) == ["Check in", "See your booking", "Change it", "Cancel it"]
    assert_links_on_the_configured_site(message)
    assert links["Check in"].startswith(f"{SITE}/reservations/{reservation.pk}/check-in/")
    with time_machine.travel(MONDAY_9 - timedelta(minutes=5), tick=False):
        assert fetch(links["Check in"]) == 200


def test_the_reminder_of_a_space_without_check_in_has_no_check_in_link(member, space, paris):
    reservation = ReservationFactory(
        user=paris.member, space=space, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1)
    )
    message = notifications.reminder_message(
        reservation=reservation, booker=paris.member, now=MONDAY_9 - timedelta(minutes=30)
    )

    assert "Check in" not in labelled(message)
    assert_links_on_the_configured_site(message)


def test_a_series_email_links_to_the_bookings_and_to_change_or_cancel_the_series(member, space, paris):
    result = series_create(
        actor=member,
        space_id=space.pk,
        starts_at=MONDAY_9,
        ends_at=MONDAY_9 + timedelta(hours=1),
        recurrence="FREQ=WEEKLY;COUNT=3",
    )
    message = notifications.series_message(series=result.series, event="created", booker=paris.member)

    assert_links_on_the_configured_site(message)
    assert labelled(message) == {
        "See your bookings": f"{SITE}/reservations/",
        "Change the series": f"{SITE}/reservations/series/{result.series.pk}/edit/",
        "Cancel the series": f"{SITE}/reservations/series/{result.series.pk}/cancel/",
    }
    for link in labelled(message).values():
        assert fetch(link, paris.member) == 200


def test_the_ics_location_names_the_space_and_its_place_and_the_organizer_is_the_organization(member, space, paris):
    reservation = reservation_create(
        actor=member, space_id=space.pk, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1)
    )
    message = notifications.notice_message(reservation=reservation, event="created", booker=paris.member)

    [event] = calendar_of(message).walk("VEVENT")
    assert str(event["LOCATION"]) == "Blue room, 2nd floor, east wing"
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:no-reply@localhost"
    assert organizer.params["CN"] == paris.organization.name


def test_the_ics_of_a_space_without_a_place_is_the_space_s_name(member, paris, in_tenant):
    space = SpaceFactory(name="Hall", location="")
    reservation = reservation_create(
        actor=member, space_id=space.pk, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1)
    )
    message = notifications.notice_message(reservation=reservation, event="created", booker=paris.member)

    [event] = calendar_of(message).walk("VEVENT")
    assert str(event["LOCATION"]) == "Hall"


# The other emails


def test_an_approval_request_links_to_approve_and_decline_on_the_configured_site(member, paris, celery_eager):
    hall = SpaceFactory(name="Hall", requires_approval=True)
    reservation = reservation_create(
        actor=member, space_id=hall.pk, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1)
    )
    assert approvals.approval_request_send(reservation_id=reservation.pk, sequence=reservation.sequence)
    [message] = mail.outbox

    assert set(assert_links_on_the_configured_site(message)) == {
        f"{SITE}/reservations/{reservation.pk}/",
        f"{SITE}/reservations/{reservation.pk}/decline/",
    }
    assert fetch(f"{SITE}/reservations/{reservation.pk}/decline/", paris.admin) == 200


def test_an_invitation_links_to_its_acceptance_page_on_the_configured_site(member, paris):
    issued = invitation_create(
        actor=paris.membership(paris.admin), organization=paris.organization, email="new@else.test", role="member"
    )
    assert invitation_email_send(
        invitation_id=issued.invitation.pk, send_count=issued.invitation.send_count, token=issued.token
    )
    [message] = mail.outbox

    [link] = set(assert_links_on_the_configured_site(message))
    assert link == f"{SITE}/invitations/{issued.token}/"
    assert fetch(link) == 200


def test_find_my_organizations_links_to_each_organization_s_login(member, paris):
    assert find_organizations_send(email=paris.member.email)
    [message] = mail.outbox

    assert set(assert_links_on_the_configured_site(message)) == {f"{SITE}/login/"}
    assert fetch(f"{SITE}/login/") == 200


def test_a_disabled_webhook_email_links_to_the_endpoint_s_page(member, paris):
    endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hook", events=["space.created"], is_active=False)
    assert webhook_endpoint_disabled_notify(endpoint_id=endpoint.pk, version="1") == 2
    for message in mail.outbox:
        links = assert_links_on_the_configured_site(message, mentioned=(endpoint.url,))
        assert set(links) == {f"{SITE}/settings/webhooks/{endpoint.pk}/"}
    assert fetch(f"{SITE}/settings/webhooks/{endpoint.pk}/", paris.admin) == 200


def test_the_monthly_report_email_links_to_the_report(member, paris):
    report = monthly_report_generate(month=date(2025, 2, 1))
    assert monthly_report_send(report_id=report.pk) == 2
    for message in mail.outbox:
        assert set(assert_links_on_the_configured_site(message)) == {f"{SITE}/reports/{report.pk}/"}
    assert fetch(f"{SITE}/reports/{report.pk}/", paris.admin) == 200


def test_the_password_reset_email_links_to_the_configured_site_whatever_the_request_s_port(member, paris):
    connection.set_schema_to_public()
    Client(HTTP_HOST=f"{paris.host}:9999").post("/password-reset/", {"email": paris.member.email})
    [message] = mail.outbox

    [link] = re.findall(r"https?://\S+", message.body)
    assert link.startswith(f"{SITE}/password-reset/")
    resolve(urlsplit(link).path, urlconf=TENANT_URLCONF)
