"""Invitations: the rules (accounts.invitations), their API and their pages, and the email with its link."""

import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts import invitations
from accounts.models import Invitation, Membership, User
from accounts.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://(?P<host>[a-z0-9.-]+)(?P<path>/invitations/(?P<token>[^/\s]+)/)")
NEW_PASSWORD = "a brand new passphrase 91"


def text(response) -> str:
    return html.unescape(response.content.decode())


def link_in(message) -> re.Match:
    match = LINK.search(message.body)
    assert match, message.body
    return match


@pytest.fixture
def sent(celery_eager, django_capture_on_commit_callbacks):
    """Run what a service queues after its commit (the email task), in the test's thread."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def invite(test_org, email="sam@example.com", role="member", actor=None) -> invitations.IssuedInvitation:
    actor = test_org.membership(actor or test_org.admin)
    return invitations.invitation_create(actor=actor, organization=test_org.organization, email=email, role=role)


# The email and its link


def test_an_invitation_emails_a_link_on_the_organizations_site_once_committed(org, sent):
    issued = sent(invite, org, "Sam@Example.com", "admin")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sam@example.com"]
    assert "Alpha Admin invited you to Alpha" in message.subject
    match = link_in(message)
    assert match["host"] == "alpha.localhost"
    assert match["token"] == issued.token
    assert "as Admin" in message.body


def test_only_a_hash_of_the_token_is_stored(org):
    issued = invite(org)
    stored = Invitation.objects.get(pk=issued.invitation.pk)
    assert issued.token not in {stored.token_hash, stored.email}
    assert stored.token_hash == invitations.token_hash(issued.token)


def test_invitations_expire_after_seven_days_by_default(org):
    issued = invite(org)
    assert issued.invitation.expires_at - issued.invitation.sent_at == timedelta(days=7)


def test_the_expiry_is_a_setting(org, settings):
    settings.INVITATION_EXPIRY_DAYS = 2
    issued = invite(org)
    assert issued.invitation.expires_at - issued.invitation.sent_at == timedelta(days=2)


# Creating, resending, revoking


def test_only_owners_invite_owners(org):
    with pytest.raises(invitations.PermissionDenied):
        invite(org, role="owner", actor=org.admin)
    assert invite(org, role="owner", actor=org.owner).invitation.role == "owner"


def test_members_cannot_invite(org):
    with pytest.raises(invitations.PermissionDenied):
        invite(org, actor=org.member)
    assert not Invitation.objects.exists()


def test_a_second_invitation_to_a_pending_address_is_a_conflict(org):
    invite(org)
    with pytest.raises(invitations.Conflict) as error:
        invite(org, "SAM@example.com")
    assert error.value.code == "already_invited"
    assert Invitation.objects.count() == 1


def test_an_expired_invitation_is_replaced_by_a_new_one(org):
    old = invite(org).invitation
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        new = invite(org, role="admin").invitation
    assert list(Invitation.objects.values_list("pk", "role")) == [(new.pk, "admin")]
    assert old.pk != new.pk


def test_resending_emails_a_new_link_and_the_old_one_stops_working(org, sent, web_client):
    first = sent(invite, org)
    second = sent(invitations.invitation_resend, actor=org.membership(org.admin), invitation=first.invitation)
    assert len(mail.outbox) == 2
    assert link_in(mail.outbox[1])["token"] == second.token != first.token
    assert web_client(org).get(f"/invitations/{first.token}/").status_code == 404
    assert web_client(org).get(f"/invitations/{second.token}/").status_code == 200


def test_resending_revives_an_expired_invitation(org):
    issued = invite(org)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        resent = invitations.invitation_resend(actor=org.membership(org.admin), invitation=issued.invitation)
        assert resent.invitation.status == Invitation.Status.PENDING


def test_a_superseded_email_task_sends_nothing(org, celery_eager):
    first = invite(org)
    invitations.invitation_resend(actor=org.membership(org.admin), invitation=first.invitation)
    assert not invitations.invitation_email_send(invitation_id=first.invitation.pk, send_count=1, token=first.token)
    assert mail.outbox == []


def test_admins_cannot_resend_or_revoke_an_owners_invitation(org):
    issued = invite(org, role="owner", actor=org.owner)
    admin = org.membership(org.admin)
    with pytest.raises(invitations.PermissionDenied):
        invitations.invitation_resend(actor=admin, invitation=issued.invitation)
    with pytest.raises(invitations.PermissionDenied):
        invitations.invitation_revoke(actor=admin, invitation=issued.invitation)
    assert Invitation.objects.get().revoked_at is None


def test_revoking_twice_is_harmless_and_an_accepted_one_cannot_be_revoked(org):
    issued = invite(org)
    admin = org.membership(org.admin)
    invitations.invitation_revoke(actor=admin, invitation=issued.invitation)
    invitations.invitation_revoke(actor=admin, invitation=issued.invitation)
    accepted = invite(org, "kim@example.com")
    invitations.invitation_accept(
        token=accepted.token, organization=org.organization, full_name="Kim", password=NEW_PASSWORD
    )
    with pytest.raises(invitations.Conflict) as error:
        invitations.invitation_revoke(actor=admin, invitation=accepted.invitation)
    assert error.value.code == "invitation_accepted"


# Accepting (the service)


def test_a_new_person_accepts_with_their_name_and_password(org):
    issued = invite(org, role="admin")
    membership = invitations.invitation_accept(
        token=issued.token, organization=org.organization, full_name="Sam Lee", password=NEW_PASSWORD
    )
    assert membership.role == "admin" and membership.organization == org.organization
    user = User.objects.get(email="sam@example.com")
    assert user.full_name == "Sam Lee" and user.check_password(NEW_PASSWORD)
    invitation = Invitation.objects.get()
    assert invitation.status == Invitation.Status.ACCEPTED and invitation.accepted_by == user


@pytest.mark.parametrize(
    ("full_name", "password", "field"),
    [("", NEW_PASSWORD, "full_name"), ("Sam", "", "password"), ("Sam", "12345678", "password")],
)
def test_a_new_account_needs_a_name_and_a_good_password(org, full_name, password, field):
    issued = invite(org)
    with pytest.raises(invitations.ValidationFailed) as error:
        invitations.invitation_accept(
            token=issued.token, organization=org.organization, full_name=full_name, password=password
        )
    assert error.value.field == field
    assert not User.objects.filter(email="sam@example.com").exists()
    assert Invitation.objects.get().status == Invitation.Status.PENDING


def test_accepting_twice_changes_nothing(org):
    issued = invite(org)
    invitations.invitation_accept(
        token=issued.token, organization=org.organization, full_name="Sam", password=NEW_PASSWORD
    )
    with pytest.raises(invitations.InvitationGone) as error:
        invitations.invitation_accept(
            token=issued.token, organization=org.organization, user=User.objects.get(email="sam@example.com")
        )
    assert error.value.code == "invitation_accepted"
    assert Membership.objects.filter(user__email="sam@example.com").count() == 1


def test_a_link_works_only_on_its_organizations_host(org, other_org):
    issued = invite(org)
    with pytest.raises(invitations.NotFound):
        invitations.invitation_accept(
            token=issued.token, organization=other_org.organization, full_name="Sam", password=NEW_PASSWORD
        )
    assert not User.objects.filter(email="sam@example.com").exists()


def test_an_existing_account_must_prove_itself(org, other_org):
    issued = invite(org, other_org.member.email)
    with pytest.raises(invitations.PermissionDenied) as error:
        invitations.invitation_accept(
            token=issued.token, organization=org.organization, full_name="Mallory", password=NEW_PASSWORD
        )
    assert error.value.code == "login_required"
    other_org.member.refresh_from_db()
    assert other_org.member.check_password(TEST_PASSWORD)
    assert not Membership.objects.filter(user=other_org.member, organization=org.organization).exists()


# Accepting (the API)


def test_api_a_new_person_accepts_and_gets_a_session(org, api_client):
    issued = invite(org)
    response = api_client(org).post(
        "/api/v1/invitations/accept",
        {"token": issued.token, "full_name": "Sam Lee", "password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["role"] == "member" and body["user"]["email"] == "sam@example.com" and body["access"]
    me = api_client(org)
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.get("/api/v1/auth/me").json()["organization"]["slug"] == "alpha"


def test_api_an_existing_account_accepts_with_its_token_from_another_organization(org, other_org, api_client):
    issued = invite(org, other_org.member.email, "admin")
    client = api_client(other_org, other_org.member)  # a token issued by beta
    client.defaults["HTTP_HOST"] = org.host
    response = client.post("/api/v1/invitations/accept", {"token": issued.token}, format="json")
    assert response.status_code == 201, response.json()
    assert Membership.objects.get(user=other_org.member, organization=org.organization).role == "admin"


def test_api_an_existing_account_without_its_token_is_asked_to_sign_in(org, other_org, api_client):
    issued = invite(org, other_org.member.email)
    response = api_client(org).post(
        "/api/v1/invitations/accept", {"token": issued.token, "full_name": "X", "password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "login_required"
    assert not Membership.objects.filter(user=other_org.member, organization=org.organization).exists()


def test_api_accepting_as_a_different_account_changes_nothing(org, other_org, api_client):
    issued = invite(org, "sam@example.com")
    client = api_client(other_org, other_org.member)
    client.defaults["HTTP_HOST"] = org.host
    response = client.post("/api/v1/invitations/accept", {"token": issued.token}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "invitation_wrong_account"
    assert Invitation.objects.get().status == Invitation.Status.PENDING
    assert not Membership.objects.filter(user=other_org.member, organization=org.organization).exists()


@pytest.mark.parametrize(
    ("spoil", "status", "code"),
    [
        ("accept", 410, "invitation_accepted"),
        ("revoke", 410, "invitation_revoked"),
        ("expire", 410, "invitation_expired"),
        ("forge", 404, "invitation_invalid"),
    ],
)
def test_api_spoiled_links_are_refused_with_their_reason(org, api_client, spoil, status, code):
    issued = invite(org)
    token = issued.token
    if spoil == "accept":
        invitations.invitation_accept(
            token=token, organization=org.organization, full_name="Sam", password=NEW_PASSWORD
        )
    elif spoil == "revoke":
        invitations.invitation_revoke(actor=org.membership(org.admin), invitation=issued.invitation)
    elif spoil == "expire":
        Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        token = token[:-4] + "AAAA"
    before = Membership.objects.count(), User.objects.count()
    response = api_client(org).post(
        "/api/v1/invitations/accept", {"token": token, "full_name": "Eve", "password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    assert (Membership.objects.count(), User.objects.count()) == before


def test_api_accept_with_a_weak_password_is_a_field_error(org, api_client):
    issued = invite(org)
    response = api_client(org).post(
        "/api/v1/invitations/accept", {"token": issued.token, "full_name": "Sam", "password": "sam"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["password"]
    assert not User.objects.filter(email="sam@example.com").exists()


# Managing (the API)


def test_api_owners_and_admins_list_create_resend_and_revoke(org, api_client, sent):
    client = api_client(org, org.admin)
    created = sent(client.post, "/api/v1/invitations", {"email": "sam@example.com", "role": "member"}, format="json")
    assert created.status_code == 201, created.json()
    invitation_id = created.json()["id"]
    listed = client.get("/api/v1/invitations").json()["results"]
    assert [(item["email"], item["status"], item["invited_by"]) for item in listed] == [
        ("sam@example.com", "pending", "admin@alpha.test")
    ]
    resent = sent(client.post, f"/api/v1/invitations/{invitation_id}/resend")
    assert resent.status_code == 200
    assert len(mail.outbox) == 2
    assert client.delete(f"/api/v1/invitations/{invitation_id}").status_code == 204
    assert client.get("/api/v1/invitations").json()["results"][0]["status"] == "revoked"
    again = client.post(f"/api/v1/invitations/{invitation_id}/resend")
    assert again.status_code == 409 and again.json()["code"] == "invitation_revoked"


def test_api_a_pending_address_is_a_conflict(org, api_client):
    client = api_client(org, org.admin)
    client.post("/api/v1/invitations", {"email": "sam@example.com"}, format="json")
    response = client.post("/api/v1/invitations", {"email": "sam@example.com"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "already_invited"
    # The documented conflict shape (detail + code), and the field the person should look at.
    assert response.json()["detail"] == response.json()["email"][0]


@pytest.mark.parametrize(
    ("body", "field"), [({"email": "nope"}, "email"), ({"email": "a@b.test", "role": "king"}, "role"), ({}, "email")]
)
def test_api_bad_invitations_are_field_errors(org, api_client, body, field):
    response = api_client(org, org.admin).post("/api/v1/invitations", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Invitation.objects.exists()


def test_api_members_cannot_see_or_manage_invitations(org, api_client):
    issued = invite(org)
    client = api_client(org, org.member)
    assert client.get("/api/v1/invitations").status_code == 403
    assert client.post("/api/v1/invitations", {"email": "x@example.com"}, format="json").status_code == 403
    assert client.delete(f"/api/v1/invitations/{issued.invitation.pk}").status_code == 403
    assert client.post(f"/api/v1/invitations/{issued.invitation.pk}/resend").status_code == 403
    assert Invitation.objects.get().revoked_at is None


def test_api_another_organizations_invitations_are_invisible(org, other_org, api_client):
    theirs = invite(other_org)
    client = api_client(org, org.owner)
    assert client.get("/api/v1/invitations").json()["results"] == []
    assert client.delete(f"/api/v1/invitations/{theirs.invitation.pk}").status_code == 404
    assert client.post(f"/api/v1/invitations/{theirs.invitation.pk}/resend").status_code == 404
    assert Invitation.objects.get().revoked_at is None


# The pages


def test_page_a_new_person_sets_name_and_password_and_lands_logged_in(org, web_client):
    issued = invite(org)
    client = web_client(org)
    page = client.get(f"/invitations/{issued.token}/")
    assert page.status_code == 200
    assert "Choose your name and a password" in text(page) and "sam@example.com" in text(page)
    response = client.post(
        f"/invitations/{issued.token}/", {"full_name": "Sam Lee", "password": NEW_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    assert "Welcome to Alpha! You joined as Member." in text(response)
    assert response.context["user"].email == "sam@example.com"


def test_page_a_weak_password_is_shown_on_the_form_and_nothing_is_created(org, web_client):
    issued = invite(org)
    response = web_client(org).post(f"/invitations/{issued.token}/", {"full_name": "Sam", "password": "password"})
    assert response.status_code == 400
    assert "This password is too common." in text(response)
    assert not User.objects.filter(email="sam@example.com").exists()


def test_page_an_existing_account_signs_in_with_its_password(org, other_org, web_client):
    issued = invite(org, other_org.member.email)
    client = web_client(org)
    page = text(client.get(f"/invitations/{issued.token}/"))
    assert "already has a SpaceManager account" in page and "Your name" not in page
    wrong = client.post(f"/invitations/{issued.token}/", {"password": "not it"})
    assert wrong.status_code == 400 and "Wrong password for this account." in text(wrong)
    assert not Membership.objects.filter(user=other_org.member, organization=org.organization).exists()
    response = client.post(f"/invitations/{issued.token}/", {"password": TEST_PASSWORD}, follow=True)
    assert "Welcome to Alpha!" in text(response)
    assert Membership.objects.filter(user=other_org.member, organization=org.organization).exists()


def test_page_signed_in_as_the_invited_account_accepts_with_one_button(org, other_org, web_client):
    issued = invite(org, other_org.member.email)
    client = web_client(org, other_org.member)
    assert "You are signed in with this address." in text(client.get(f"/invitations/{issued.token}/"))
    response = client.post(f"/invitations/{issued.token}/", follow=True)
    assert "Welcome to Alpha!" in text(response)


def test_page_signed_in_as_a_different_account_is_refused_and_nothing_changes(org, other_org, web_client):
    issued = invite(org, "sam@example.com")
    client = web_client(org, other_org.member)
    for response in (client.get(f"/invitations/{issued.token}/"), client.post(f"/invitations/{issued.token}/")):
        assert response.status_code == 403
        assert "This invitation is for someone else" in text(response)
        assert "you are signed in as member@beta.test" in text(response)
    assert Invitation.objects.get().status == Invitation.Status.PENDING
    assert not Membership.objects.filter(user=other_org.member, organization=org.organization).exists()


@pytest.mark.parametrize(
    ("spoil", "status", "title"),
    [
        ("accept", 410, "This invitation was already accepted"),
        ("revoke", 410, "This invitation was withdrawn"),
        ("expire", 410, "This invitation has expired"),
        ("forge", 404, "This invitation link does not work"),
    ],
)
def test_page_spoiled_links_get_a_clear_page_and_change_nothing(org, web_client, spoil, status, title):
    issued = invite(org)
    token = issued.token
    if spoil == "accept":
        invitations.invitation_accept(
            token=token, organization=org.organization, full_name="Sam", password=NEW_PASSWORD
        )
    elif spoil == "revoke":
        invitations.invitation_revoke(actor=org.membership(org.admin), invitation=issued.invitation)
    elif spoil == "expire":
        Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        token = "not-a-token"
    before = Membership.objects.count(), User.objects.count()
    client = web_client(org)
    for response in (
        client.get(f"/invitations/{token}/"),
        client.post(f"/invitations/{token}/", {"full_name": "Eve", "password": NEW_PASSWORD}),
    ):
        assert response.status_code == status
        assert title in text(response)
    assert (Membership.objects.count(), User.objects.count()) == before


def test_page_accept_needs_the_csrf_token(org, web_client):
    issued = invite(org)
    response = web_client(org, enforce_csrf_checks=True).post(
        f"/invitations/{issued.token}/", {"full_name": "Sam", "password": NEW_PASSWORD}
    )
    assert response.status_code == 403
    assert not User.objects.filter(email="sam@example.com").exists()


def test_page_members_lists_pending_invitations_with_resend_and_revoke(org, web_client, sent):
    issued = invite(org)
    client = web_client(org, org.admin)
    page = text(client.get("/members/"))
    assert "Pending invitations" in page and "sam@example.com" in page
    resent = sent(client.post, f"/members/invitations/{issued.invitation.pk}/resend/", follow=True)
    assert "A new invitation link was emailed to sam@example.com." in text(resent)
    assert len(mail.outbox) == 1
    revoked = client.post(f"/members/invitations/{issued.invitation.pk}/revoke/", follow=True)
    assert "was withdrawn" in text(revoked)
    assert "No pending invitations." in text(revoked)


def test_page_members_cannot_resend_or_revoke(org, web_client):
    issued = invite(org)
    client = web_client(org, org.member)
    assert client.post(f"/members/invitations/{issued.invitation.pk}/resend/").status_code == 403
    assert client.post(f"/members/invitations/{issued.invitation.pk}/revoke/").status_code == 403
    assert Invitation.objects.get().revoked_at is None


def test_page_another_organizations_invitation_is_not_found(org, other_org, web_client):
    theirs = invite(other_org)
    client = web_client(org, org.owner)
    assert client.post(f"/members/invitations/{theirs.invitation.pk}/revoke/").status_code == 404
    assert web_client(org).get(f"/invitations/{theirs.token}/").status_code == 404


def test_an_admin_invites_three_colleagues_and_each_joins_by_the_emailed_link(org, other_org, web_client, sent):
    """The issue's "done when": one of them already has an account elsewhere, and nothing about them shows
    on alpha's pages before they accept."""
    admin = web_client(org, org.admin)
    for email in ("ana@example.com", "ben@example.com", other_org.member.email):
        response = sent(admin.post, "/members/", {"email": email, "role": "member"})
        assert response.status_code == 302
    members_page = text(admin.get("/members/"))
    assert other_org.member.full_name not in members_page
    links = {message.to[0]: link_in(message) for message in mail.outbox}
    assert len(links) == 3 and {match["host"] for match in links.values()} == {"alpha.localhost"}

    for email in ("ana@example.com", "ben@example.com"):
        web_client(org).post(links[email]["path"], {"full_name": email.split("@")[0].title(), "password": NEW_PASSWORD})
    web_client(org).post(links[other_org.member.email]["path"], {"password": TEST_PASSWORD})

    joined = set(Membership.objects.filter(organization=org.organization).values_list("user__email", flat=True))
    assert {"ana@example.com", "ben@example.com", other_org.member.email} <= joined
    assert other_org.member.full_name in text(admin.get("/members/"))
