"""The person's own page: name, password, notification choices, "My organizations", "find my organization"."""

import html
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection

from accounts import profile
from accounts.models import Membership, User
from accounts.tests.factories import TEST_PASSWORD
from reservations import tasks
from reservations.models import Reservation
from reservations.selectors import reservation_ids_reminder_due
from reservations.services import reservation_create
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory
from tenants.models import Organization

pytestmark = pytest.mark.django_db
PROFILE = {"full_name": "Alpha M. Ember", "reminder_lead_minutes": "30", "email_booking_updates": "on"}


def text(response) -> str:
    return html.unescape(response.content.decode())


# Profile and notification choices


def test_profile_page_saves_name_and_notification_choices(org, web_client):
    client = web_client(org, org.member)
    page = client.get("/account/")
    assert page.status_code == 200 and "Remind me before a booking starts" in text(page)
    response = client.post("/account/", PROFILE, follow=True)
    assert "Your profile was saved." in text(response)
    user = User.objects.get(pk=org.member.pk)
    assert (user.full_name, user.reminder_lead_minutes, user.email_booking_updates, user.email_approval_requests) == (
        "Alpha M. Ember",
        30,
        True,
        False,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [({"full_name": ""}, "This field is required."), ({"reminder_lead_minutes": "45"}, "Select a valid choice.")],
)
def test_profile_bad_input_shows_the_error_and_changes_nothing(org, web_client, change, message):
    response = web_client(org, org.member).post("/account/", {**PROFILE, **change})
    assert response.status_code == 400 and message in text(response)
    assert User.objects.get(pk=org.member.pk).full_name == "Alpha Member"


def test_profile_needs_a_login_and_csrf(org, web_client):
    assert web_client(org).get("/account/").status_code == 302
    assert web_client(org, org.member, enforce_csrf_checks=True).post("/account/", PROFILE).status_code == 403
    assert User.objects.get(pk=org.member.pk).full_name == "Alpha Member"


def test_the_service_refuses_a_lead_time_off_the_list(org):
    with pytest.raises(profile.ValidationFailed):
        profile.profile_update(
            user=org.member,
            full_name="X",
            reminder_lead_minutes=45,
            email_booking_updates=True,
            email_approval_requests=True,
        )


def test_password_change_needs_the_old_password_and_keeps_the_session(org, web_client):
    client = web_client(org, org.member)
    wrong = client.post(
        "/account/password/",
        {"old_password": "nope", "new_password1": "a new passphrase 77", "new_password2": "a new passphrase 77"},
    )
    assert wrong.status_code == 400 and "Your old password was entered incorrectly" in text(wrong)
    weak = client.post(
        "/account/password/", {"old_password": TEST_PASSWORD, "new_password1": "1", "new_password2": "1"}
    )
    assert weak.status_code == 400
    done = client.post(
        "/account/password/",
        {"old_password": TEST_PASSWORD, "new_password1": "a new passphrase 77", "new_password2": "a new passphrase 77"},
        follow=True,
    )
    assert "Your password was changed." in text(done)
    assert client.get("/account/").status_code == 200  # still logged in
    assert User.objects.get(pk=org.member.pk).check_password("a new passphrase 77")


# Reminder lead time and email choices, as the worker applies them


@pytest.fixture
def tenant_space(org, in_tenant, booking_now, celery_eager):
    return SpaceFactory(name="Blue room")


def reminders_due_at(moment):
    return reservation_ids_reminder_due(now=moment, lead=timedelta(minutes=60))


@pytest.mark.parametrize(("chosen", "due_at_minutes_before"), [(None, 60), (15, 15), (120, 120), (0, None)])
def test_each_booker_is_reminded_at_their_own_lead_time(org, tenant_space, chosen, due_at_minutes_before):
    User.objects.filter(pk=org.member.pk).update(reminder_lead_minutes=chosen)
    starts_at = datetime(2025, 3, 10, 9, tzinfo=UTC)
    reservation = ReservationFactory(space=tenant_space, user=org.member, starts_at=starts_at)
    for minutes in (15, 30, 60, 120):
        due = reservation.pk in reminders_due_at(starts_at - timedelta(minutes=minutes) + timedelta(seconds=1))
        assert due == (due_at_minutes_before is not None and minutes <= due_at_minutes_before), minutes
    assert reservation.pk not in reminders_due_at(starts_at - timedelta(minutes=121))


def test_the_reminder_sweep_sends_at_the_chosen_time(org, tenant_space):
    User.objects.filter(pk=org.member.pk).update(reminder_lead_minutes=15)
    starts_at = datetime(2025, 3, 10, 9, tzinfo=UTC)
    ReservationFactory(space=tenant_space, user=org.member, starts_at=starts_at)
    with time_machine.travel(starts_at - timedelta(minutes=30), tick=False):
        assert tasks.reservation_reminders_queue.delay().result == 0
    with time_machine.travel(starts_at - timedelta(minutes=14), tick=False):
        assert tasks.reservation_reminders_queue.delay().result == 1
    assert mail.outbox[0].subject.startswith("Reminder (in 14 min)")


def test_a_person_who_declined_booking_emails_gets_none(org, tenant_space, django_capture_on_commit_callbacks):
    User.objects.filter(pk=org.member.pk).update(email_booking_updates=False)
    with django_capture_on_commit_callbacks(execute=True):
        reservation = reservation_create(
            actor=org.membership(org.member),
            space_id=tenant_space.pk,
            starts_at=datetime(2025, 3, 10, 9, tzinfo=UTC),
            ends_at=datetime(2025, 3, 10, 10, tzinfo=UTC),
        )
    assert reservation.status == Reservation.Status.CONFIRMED
    assert mail.outbox == []


def test_an_approver_who_declined_approval_emails_gets_none(
    org, in_tenant, booking_now, celery_eager, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=org.owner.pk).update(email_approval_requests=False)
    hall = SpaceFactory(requires_approval=True)
    with django_capture_on_commit_callbacks(execute=True):
        reservation_create(
            actor=org.membership(org.member),
            space_id=hall.pk,
            starts_at=datetime(2025, 3, 10, 9, tzinfo=UTC),
            ends_at=datetime(2025, 3, 10, 10, tzinfo=UTC),
        )
    [ask] = [message for message in mail.outbox if "needed:" in message.subject]
    assert ask.to == ["admin@alpha.test"]


# My organizations


def test_my_organizations_lists_only_mine_and_switches_without_a_new_login(org, other_org, web_client):
    Membership.objects.create(user=org.member, organization=other_org.organization, role="admin")
    client = web_client(org, org.member)
    page = text(client.get("/account/"))
    assert "Alpha" in page and "Beta" in page and "You are here" in page
    beta_membership = Membership.objects.get(user=org.member, organization=other_org.organization)
    response = client.post(f"/account/switch/{beta_membership.pk}/")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("http://beta.localhost/account/arrive/")
    beta = web_client(other_org)
    arrived = beta.get(location.split("beta.localhost", 1)[1], follow=True)
    assert "You are now in Beta." in text(arrived)
    assert arrived.context["user"] == org.member
    assert beta.get(location.split("beta.localhost", 1)[1]).headers["Location"] == "/login/"  # used once


def test_switching_to_someone_elses_membership_is_not_found(org, other_org, web_client):
    theirs = Membership.objects.get(user=other_org.member, organization=other_org.organization)
    response = web_client(org, org.member).post(f"/account/switch/{theirs.pk}/")
    assert response.status_code == 404


def test_inactive_organizations_are_not_listed(org, other_org):
    Membership.objects.create(user=org.member, organization=other_org.organization)
    Organization.objects.filter(pk=other_org.organization.pk).update(is_active=False)
    assert [m.organization.slug for m in profile.memberships_of(user=org.member)] == ["alpha"]


# Find my organization (public site)


@pytest.fixture
def sent(celery_eager, django_capture_on_commit_callbacks):
    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def test_find_by_email_sends_the_sites_and_answers_the_same_for_strangers(org, other_org, web_client, sent):
    connection.set_schema_to_public()
    Membership.objects.create(user=org.member, organization=other_org.organization)
    known = sent(web_client().post, "/find/email/", {"email": "Member@Alpha.test"}, follow=True)
    stranger = sent(web_client().post, "/find/email/", {"email": "nobody@example.com"}, follow=True)
    assert profile_views_message() in text(known) and profile_views_message() in text(stranger)
    assert known.status_code == stranger.status_code == 200
    [message] = mail.outbox
    assert message.to == ["member@alpha.test"]
    assert "http://alpha.localhost/login/" in message.body and "http://beta.localhost/login/" in message.body


def profile_views_message() -> str:
    from accounts.profile_views import FIND_SENT

    return FIND_SENT


def test_find_by_email_sends_at_most_one_email_an_hour_per_address(org, web_client, sent):
    for _ in range(3):
        sent(web_client().post, "/find/email/", {"email": "member@alpha.test"})
    assert len(mail.outbox) == 1


def test_find_by_email_is_rate_limited_per_client_address(org, web_client, settings):
    client = web_client()
    statuses = [client.post("/find/email/", {"email": f"p{n}@example.com"}).status_code for n in range(6)]
    assert statuses[:5] == [302] * 5 and statuses[5] == 429


def test_find_by_email_with_a_bad_address_is_a_form_error(org, web_client):
    response = web_client().post("/find/email/", {"email": "not an email"})
    assert response.status_code == 400 and "Enter a valid email address." in text(response)
    assert mail.outbox == []
