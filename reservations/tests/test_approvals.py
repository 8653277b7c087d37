"""Approvals that reach the approvers: the email about a request, the reminder, declining with a reason."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection

from accounts.models import Membership
from accounts.tests.factories import UserFactory
from reservations import approvals, tasks
from reservations.models import Reservation
from reservations.services import reservation_confirm, reservation_create, reservation_decline
from spacemanager.errors import Conflict, PermissionDenied, ValidationFailed
from spaces.tests.factories import SpaceFactory
from tenants.outbox import outbox_relay

pytestmark = pytest.mark.django_db
MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)  # a week after BOOKING_NOW


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def member(paris, in_tenant, booking_now, celery_eager):
    return paris.membership(paris.member)


@pytest.fixture
def manager(paris, in_tenant, booking_now, celery_eager):
    return paris.membership(paris.admin)


@pytest.fixture
def hall(in_tenant):
    return SpaceFactory(name="Hall", requires_approval=True)


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks):
    """Run a change, then what workers do once it committed: on-commit tasks, and the outbox's messages."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = action(*args, **kwargs)
        outbox_relay()
        return result

    return run


def request(member, space, starts_at=MONDAY_9, **extra) -> Reservation:
    return reservation_create(
        actor=member, space_id=space.pk, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), **extra
    )


def approval_emails():
    return [message for message in mail.outbox if "needed:" in message.subject]


def has_calendar(message) -> bool:
    return any(part.get_content_type() == "text/calendar" for part in message.message().walk())


# Asking the approvers


def test_a_new_request_emails_every_owner_and_admin_with_approve_and_decline_links(member, hall, run_commits):
    reservation = run_commits(request, member, hall, title="Board meeting")
    [message] = approval_emails()
    assert sorted(message.to) == ["admin@alpha.test", "owner@alpha.test"]
    assert message.subject.startswith("Approval needed: Hall, Mon 10 Mar 2025, 10:00-11:00")
    assert "Alpha Member (member@alpha.test)" in message.body and "Board meeting" in message.body
    assert f"http://alpha.localhost/reservations/{reservation.pk}/" in message.body
    assert f"http://alpha.localhost/reservations/{reservation.pk}/decline/" in message.body
    assert "expires on Tue 4 Mar 2025, 09:00 (Europe/Paris)" in message.body  # 24 h after the request


def test_a_space_that_names_approvers_emails_only_them(member, manager, hall, run_commits, paris):
    approvals.space_approvers_set(actor=manager, space=hall, user_ids=[paris.admin.pk])
    run_commits(request, member, hall)
    assert [message.to for message in approval_emails()] == [["admin@alpha.test"]]


def test_approvers_who_are_no_longer_managers_fall_back_to_every_manager(member, manager, hall, run_commits, paris):
    approvals.space_approvers_set(actor=manager, space=hall, user_ids=[paris.admin.pk])
    Membership.objects.filter(user=paris.admin, organization=paris.organization).update(role="member")
    run_commits(request, member, hall)
    assert [message.to for message in approval_emails()] == [["owner@alpha.test"]]


def test_a_booking_without_approval_emails_no_approver(member, in_tenant, run_commits):
    run_commits(request, member, SpaceFactory(name="Desk"))
    assert approval_emails() == []


def test_the_approval_email_goes_once_even_if_its_task_runs_twice(member, hall, run_commits):
    reservation = run_commits(request, member, hall)
    assert not tasks.approval_request_send.delay(reservation.pk, reservation.sequence).result
    assert len(approval_emails()) == 1


def test_a_request_decided_before_its_email_ran_sends_none(member, manager, hall, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reservation = request(member, hall)
    reservation_confirm(actor=manager, reservation=reservation)
    for callback in callbacks:
        callback()
    assert approval_emails() == []


def test_only_owners_and_admins_of_this_organization_can_be_approvers(manager, member, hall, paris, other_org):
    with pytest.raises(ValidationFailed):
        approvals.space_approvers_set(actor=manager, space=hall, user_ids=[paris.member.pk])
    with pytest.raises(ValidationFailed):
        approvals.space_approvers_set(actor=manager, space=hall, user_ids=[other_org.admin.pk])
    with pytest.raises(PermissionDenied):
        approvals.space_approvers_set(actor=member, space=hall, user_ids=[paris.admin.pk])
    assert approvals.space_approver_ids(space=hall) == []


# The reminder before a request expires


def sweep_at(moment: datetime, run_commits) -> dict:
    with time_machine.travel(moment, tick=False):
        return run_commits(lambda: tasks.reservations_sweep.delay().result)


def test_approvers_are_reminded_once_before_a_request_expires(member, hall, run_commits):
    requested_at = datetime(2025, 3, 3, 8, tzinfo=UTC)
    with time_machine.travel(requested_at, tick=False):
        run_commits(request, member, hall)
    expiry = requested_at + timedelta(days=1)
    assert sweep_at(expiry - timedelta(minutes=121), run_commits)["approval_reminders"] == 0
    assert sweep_at(expiry - timedelta(minutes=119), run_commits)["approval_reminders"] == 1
    assert sweep_at(expiry - timedelta(minutes=100), run_commits)["approval_reminders"] == 0
    reminders = [message for message in approval_emails() if message.subject.startswith("Reminder")]
    assert len(reminders) == 1
    assert "Still waiting for approval: Hall" in reminders[0].body


def test_a_request_made_shortly_before_it_starts_is_not_reminded(member, hall, run_commits):
    starts_at = MONDAY_9
    with time_machine.travel(starts_at - timedelta(minutes=90), tick=False):
        run_commits(request, member, hall, starts_at=starts_at)
    assert sweep_at(starts_at - timedelta(minutes=60), run_commits)["approval_reminders"] == 0


def test_a_decided_request_is_not_reminded(member, manager, hall, run_commits):
    requested_at = datetime(2025, 3, 3, 8, tzinfo=UTC)
    with time_machine.travel(requested_at, tick=False):
        reservation = run_commits(request, member, hall)
        reservation_decline(actor=manager, reservation=reservation, reason="")
    assert sweep_at(requested_at + timedelta(hours=23), run_commits)["approval_reminders"] == 0


# Declining


def test_declining_frees_the_slot_and_the_booker_reads_the_reason_without_a_calendar_file(
    member, manager, hall, run_commits
):
    reservation = run_commits(request, member, hall)
    mail.outbox.clear()
    declined = run_commits(reservation_decline, actor=manager, reservation=reservation, reason="Closed for painting.")
    assert declined.status == Reservation.Status.DECLINED
    [message] = mail.outbox
    assert message.to == ["member@alpha.test"]
    assert message.subject.startswith("Booking request declined: Hall")
    assert "Your booking request was declined" in message.body
    assert "Reason: Closed for painting." in message.body
    assert not has_calendar(message)
    assert request(member, hall).status == Reservation.Status.PENDING  # the slot is free again


def test_declining_without_a_reason_says_so(member, manager, hall, run_commits):
    reservation = run_commits(request, member, hall)
    mail.outbox.clear()
    run_commits(reservation_decline, actor=manager, reservation=reservation)
    assert "No reason given." in mail.outbox[0].body


def test_decline_refusals(member, manager, hall, in_tenant):
    reservation = request(member, hall)
    with pytest.raises(PermissionDenied):
        reservation_decline(actor=member, reservation=reservation)
    with pytest.raises(ValidationFailed):
        reservation_decline(actor=manager, reservation=reservation, reason="x" * 1001)
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.PENDING
    confirmed = request(member, SpaceFactory(), starts_at=MONDAY_9 + timedelta(days=1))
    with pytest.raises(Conflict) as error:
        reservation_decline(actor=manager, reservation=confirmed)
    assert error.value.code == "reservation_not_pending"


def test_declining_twice_changes_nothing(member, manager, hall, run_commits):
    reservation = run_commits(request, member, hall)
    run_commits(reservation_decline, actor=manager, reservation=reservation, reason="No.")
    sent = len(mail.outbox)
    again = run_commits(reservation_decline, actor=manager, reservation=reservation, reason="Other reason")
    assert again.decline_reason == "No." and len(mail.outbox) == sent


# The API


def test_api_decline_with_a_reason(member, hall, api_client, paris, run_commits):
    reservation = request(member, hall)
    connection.set_schema_to_public()
    response = run_commits(
        api_client(paris, paris.admin).post,
        f"/api/v1/reservations/{reservation.pk}/decline",
        {"reason": "Booked for a wedding."},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "declined"
    assert response.json()["decline_reason"] == "Booked for a wedding."
    assert "Reason: Booked for a wedding." in mail.outbox[-1].body
    mine = api_client(paris, paris.member).get(f"/api/v1/reservations/{reservation.pk}").json()
    assert mine["status"] == "declined" and mine["decline_reason"] == "Booked for a wedding."


@pytest.mark.parametrize(
    ("who", "body", "status"),
    # A number is not a reason: the schema says string and the strict API no longer turns 5 into "5".
    [("member", {}, 403), ("admin", {"reason": "x" * 1001}, 400), ("admin", {"reason": 5}, 400)],
)
def test_api_decline_refusals(member, hall, api_client, paris, who, body, status):
    reservation = request(member, hall)
    connection.set_schema_to_public()
    response = api_client(paris, getattr(paris, who)).post(
        f"/api/v1/reservations/{reservation.pk}/decline", body, format="json"
    )
    assert response.status_code == status


def test_api_declining_a_confirmed_reservation_is_409(member, api_client, paris, in_tenant):
    reservation = request(member, SpaceFactory())
    connection.set_schema_to_public()
    response = api_client(paris, paris.admin).post(f"/api/v1/reservations/{reservation.pk}/decline", {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "reservation_not_pending"


def test_api_declined_reservations_are_filtered_by_status(member, manager, hall, api_client, paris):
    reservation_decline(actor=manager, reservation=request(member, hall))
    connection.set_schema_to_public()
    body = api_client(paris, paris.admin).get("/api/v1/reservations?status=declined&scope=all").json()
    assert [item["status"] for item in body["results"]] == ["declined"]


def test_api_space_approvers(hall, api_client, paris, in_tenant):
    connection.set_schema_to_public()
    client = api_client(paris, paris.admin)
    url = f"/api/v1/spaces/{hall.pk}/approvers"
    assert client.get(url).json() == {"user_ids": []}
    assert client.put(url, {"user_ids": [paris.owner.pk]}, format="json").json() == {"user_ids": [paris.owner.pk]}
    assert client.get(url).json() == {"user_ids": [paris.owner.pk]}
    refused = client.put(url, {"user_ids": [paris.member.pk, UserFactory().pk]}, format="json")
    assert refused.status_code == 400 and "user_ids" in refused.json()
    assert api_client(paris, paris.member).put(url, {"user_ids": []}, format="json").status_code == 403
    assert client.get("/api/v1/spaces/999999/approvers").status_code == 404


# The pages


def test_an_approver_is_emailed_and_declines_from_the_link_with_a_reason_the_requester_reads(
    member, hall, web_client, paris, run_commits
):
    """The issue's "done when" for approvals."""
    reservation = run_commits(request, member, hall)
    connection.set_schema_to_public()
    [ask] = approval_emails()
    decline_path = re.search(r"http://alpha\.localhost(/reservations/\d+/decline/)", ask.body)[1]
    client = web_client(paris, paris.admin)
    page = client.get(decline_path)
    assert page.status_code == 200 and "Decline this request?" in text(page)
    response = run_commits(client.post, decline_path, {"reason": "The hall is being painted."}, follow=True)
    assert "Declined the request for Hall" in text(response)
    told = mail.outbox[-1]
    assert told.to == ["member@alpha.test"] and "Reason: The hall is being painted." in told.body
    detail = text(web_client(paris, paris.member).get(f"/reservations/{reservation.pk}/"))
    assert "Declined" in detail and "The hall is being painted." in detail


def test_page_decline_is_for_managers_and_only_for_pending_requests(member, hall, web_client, paris, in_tenant):
    pending = request(member, hall)
    confirmed = request(member, SpaceFactory(), starts_at=MONDAY_9 + timedelta(days=1))
    connection.set_schema_to_public()
    assert web_client(paris, paris.member).post(f"/reservations/{pending.pk}/decline/").status_code == 403
    response = web_client(paris, paris.admin).get(f"/reservations/{confirmed.pk}/decline/", follow=True)
    assert "nothing to decline" in text(response)
    too_long = web_client(paris, paris.admin).post(f"/reservations/{pending.pk}/decline/", {"reason": "x" * 1001})
    assert too_long.status_code == 400
    connection.set_tenant(paris.organization)
    assert Reservation.objects.get(pk=pending.pk).status == Reservation.Status.PENDING


def test_the_approvers_page_names_a_space_s_approvers_from_the_organization_s_owners_and_admins(
    hall, web_client, paris, in_tenant
):
    connection.set_schema_to_public()
    client = web_client(paris, paris.owner)
    page = client.get(f"/spaces/{hall.pk}/approvers/")
    assert page.status_code == 200
    offered = text(page)
    assert "admin@alpha.test" in offered and "owner@alpha.test" in offered
    assert "member@alpha.test" not in offered  # members cannot approve

    saved = client.post(f"/spaces/{hall.pk}/approvers/", {"user_ids": [paris.admin.pk]}, follow=True)
    assert "Requests for Hall now go to 1 approver." in text(saved)
    connection.set_tenant(paris.organization)
    assert approvals.space_approver_ids(space=hall) == [paris.admin.pk]
    connection.set_schema_to_public()
    again = client.get(f"/spaces/{hall.pk}/approvers/").content.decode()
    assert re.search(rf'value="{paris.admin.pk}"[^>]* checked', again)
    assert not re.search(rf'value="{paris.owner.pk}"[^>]* checked', again)

    cleared = client.post(f"/spaces/{hall.pk}/approvers/", {}, follow=True)
    assert "now go to every owner and admin" in text(cleared)
    connection.set_tenant(paris.organization)
    assert approvals.space_approver_ids(space=hall) == []


def test_the_approvers_page_refuses_members_and_people_of_other_organizations(
    hall, web_client, paris, other_org, in_tenant
):
    approvals.space_approvers_set(actor=paris.membership(paris.owner), space=hall, user_ids=[paris.owner.pk])
    connection.set_schema_to_public()
    client = web_client(paris, paris.admin)
    for outsider in (paris.member.pk, other_org.owner.pk, UserFactory().pk):
        refused = client.post(f"/spaces/{hall.pk}/approvers/", {"user_ids": [paris.admin.pk, outsider]})
        assert refused.status_code == 400 and "Select a valid choice" in text(refused)
    assert client.post(f"/spaces/{hall.pk}/approvers/", {"user_ids": ["x"]}).status_code == 400
    assert web_client(paris, paris.member).get(f"/spaces/{hall.pk}/approvers/").status_code == 403
    assert web_client(paris, paris.member).post(f"/spaces/{hall.pk}/approvers/", {}).status_code == 403
    assert client.get("/spaces/999999/approvers/").status_code == 404
    assert web_client(other_org, other_org.owner).get(f"/spaces/{hall.pk}/approvers/").status_code == 404
    connection.set_tenant(paris.organization)
    assert approvals.space_approver_ids(space=hall) == [paris.owner.pk]


def test_the_space_page_and_form_link_to_its_approvers_for_managers_only(hall, web_client, paris, in_tenant):
    connection.set_schema_to_public()
    link = f'href="/spaces/{hall.pk}/approvers/"'
    assert link in web_client(paris, paris.admin).get(f"/spaces/{hall.pk}/").content.decode()
    assert link in web_client(paris, paris.admin).get(f"/spaces/{hall.pk}/edit/").content.decode()
    assert link not in web_client(paris, paris.member).get(f"/spaces/{hall.pk}/").content.decode()
