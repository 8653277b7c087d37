"""Pages of an organization's site: login, logout, one-time login links, password reset, dashboard, members."""

import html
import re

import pytest
from django.core import mail, signing
from django.core.cache import cache

from accounts.login_links import SALT, login_link_token_create
from accounts.models import Invitation, Membership, User
from accounts.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page as a person reads it (entities decoded)."""
    return html.unescape(response.content.decode())


# Login and logout


def test_login_page_has_labelled_email_and_password_fields(web_client, org):
    response = web_client(org).get("/login/")
    assert response.status_code == 200
    page = text(response)
    assert f"Log in to {org.organization.name}" in page
    assert '<label class="form-label" for="id_email">' in page
    assert 'name="email"' in page and 'name="password"' in page
    assert "csrfmiddlewaretoken" in page


def test_member_logs_in_and_lands_on_the_dashboard(web_client, org):
    client = web_client(org)
    response = client.post("/login/", {"email": org.member.email, "password": TEST_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert response.status_code == 200
    assert f"Hello, {org.member.get_short_name()}" in text(response)


def test_login_follows_a_safe_next_and_ignores_another_site(web_client, org):
    client = web_client(org)
    response = client.post("/login/?next=/members/", {"email": org.admin.email, "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/members/"

    client = web_client(org)
    response = client.post(
        "/login/?next=https://evil.example.com/", {"email": org.admin.email, "password": TEST_PASSWORD}
    )
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("member@alpha.test", "wrong-password"),  # wrong password
        ("nobody@alpha.test", TEST_PASSWORD),  # unknown email
        ("owner@beta.test", TEST_PASSWORD),  # right password, but a member of another organization
    ],
)
def test_bad_logins_all_get_the_same_error_and_no_session(web_client, org, other_org, email, password):
    client = web_client(org)
    response = client.post("/login/", {"email": email, "password": password})
    assert response.status_code == 200  # Django's LoginView re-renders the form
    assert "Wrong email or password, or this account is not a member of this organization." in text(response)
    assert "_auth_user_id" not in client.session


def test_login_requires_both_fields(web_client, org):
    response = web_client(org).post("/login/", {"email": "", "password": ""})
    assert text(response).count("This field is required.") == 2


def test_inactive_member_cannot_log_in(web_client, org):
    User.objects.filter(pk=org.member.pk).update(is_active=False)
    client = web_client(org)
    response = client.post("/login/", {"email": org.member.email, "password": TEST_PASSWORD})
    assert "Wrong email or password" in text(response)
    assert "_auth_user_id" not in client.session


def test_login_refuses_a_post_without_csrf_token(web_client, org):
    client = web_client(org, enforce_csrf_checks=True)
    response = client.post("/login/", {"email": org.member.email, "password": TEST_PASSWORD})
    assert response.status_code == 403
    assert "This form has expired" in text(response)
    assert "_auth_user_id" not in client.session


def test_login_with_the_page_csrf_token_works_under_csrf_checks(web_client, org):
    client = web_client(org, enforce_csrf_checks=True)
    page = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text(page)).group(1)
    response = client.post(
        "/login/", {"email": org.member.email, "password": TEST_PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(org.member.pk)


def test_logged_in_member_opening_login_goes_to_the_dashboard(web_client, org):
    response = web_client(org, org.member).get("/login/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logout_is_a_post_and_ends_the_session(web_client, org):
    client = web_client(org, org.member)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/", follow=True)
    assert response.redirect_chain[-1][0] == "/login/"
    assert "You have been logged out." in text(response)
    assert client.get("/").status_code == 302


# One-time login link (sign-up → organization host)


def test_login_link_logs_the_owner_in_once(web_client, org):
    token = login_link_token_create(membership=org.membership(org.owner))
    client = web_client(org)
    response = client.get(f"/welcome/{token}/", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert f"Welcome to {org.organization.name}!" in text(response)
    assert client.session["_auth_user_id"] == str(org.owner.pk)

    again = web_client(org)
    response = again.get(f"/welcome/{token}/", follow=True)
    assert response.redirect_chain[-1][0] == "/login/"
    assert "expired or was already used" in text(response)
    assert "_auth_user_id" not in again.session


def test_login_link_of_another_organization_is_refused(web_client, org, other_org):
    token = login_link_token_create(membership=other_org.membership(other_org.owner))
    client = web_client(org)
    response = client.get(f"/welcome/{token}/")
    assert response.headers["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_forged_and_expired_login_links_are_refused(web_client, org, settings):
    forged = signing.dumps({"user": org.owner.pk, "org": org.organization.pk, "nonce": "x"}, salt="other-salt")
    client = web_client(org)
    assert client.get(f"/welcome/{forged}/").headers["Location"] == "/login/"

    settings.SIGNUP_LOGIN_MAX_AGE = -1  # already expired when checked
    cache.clear()
    expired = signing.dumps({"user": org.owner.pk, "org": org.organization.pk, "nonce": "y"}, salt=SALT)
    assert client.get(f"/welcome/{expired}/").headers["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_login_link_for_a_removed_member_is_refused(web_client, org):
    token = login_link_token_create(membership=org.membership(org.member))
    Membership.objects.filter(user=org.member, organization=org.organization).delete()
    client = web_client(org)
    assert client.get(f"/welcome/{token}/").headers["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


# Password reset


def reset_link(message) -> str:
    return re.search(r"http://\S+/password-reset/\S+/\S+/", message.body).group(0)


def test_password_reset_emails_a_link_on_the_organization_host(web_client, org):
    client = web_client(org)
    response = client.post("/password-reset/", {"email": org.member.email.upper()})
    assert response.headers["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [org.member.email]
    assert org.organization.name in message.subject
    assert reset_link(message).startswith(f"http://{org.host}/password-reset/")


def test_password_reset_sends_nothing_to_strangers_but_looks_the_same(web_client, org, other_org):
    client = web_client(org)
    for email in ("nobody@example.com", other_org.owner.email):
        response = client.post("/password-reset/", {"email": email})
        assert response.headers["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_password_reset_lets_a_member_added_without_password_choose_one(web_client, org):
    newcomer = User.objects.create_user(email="newcomer@example.com", password=None)
    Membership.objects.create(user=newcomer, organization=org.organization)
    client = web_client(org)
    client.post("/password-reset/", {"email": "newcomer@example.com"})
    link = reset_link(mail.outbox[0]).split(org.host, 1)[1]

    form_page = client.get(link, follow=True)
    assert "Choose a new password" in text(form_page)
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "a fresh passphrase 7", "new_password2": "a fresh passphrase 7"})
    assert response.headers["Location"] == "/password-reset/complete/"

    newcomer.refresh_from_db()
    assert newcomer.check_password("a fresh passphrase 7")
    login = web_client(org).post("/login/", {"email": "newcomer@example.com", "password": "a fresh passphrase 7"})
    assert login.status_code == 302


def test_password_reset_with_a_bad_link_says_so(web_client, org):
    response = web_client(org).get("/password-reset/MQ/bad-token/")
    assert response.status_code == 200
    assert "This link no longer works" in text(response)


def test_password_reset_requires_an_email(web_client, org):
    response = web_client(org).post("/password-reset/", {"email": "not an email"})
    assert response.status_code == 200
    assert "Enter a valid email address." in text(response)
    assert mail.outbox == []


# Dashboard


def test_dashboard_sends_anonymous_visitors_to_login(web_client, org):
    response = web_client(org).get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/?next=/"


def test_dashboard_greets_a_member_with_their_role_and_no_admin_links(web_client, org):
    response = web_client(org, org.member).get("/")
    page = text(response)
    assert response.status_code == 200
    assert "Hello, Alpha" in page
    assert 'role-member">Member</span>' in page
    assert 'href="/members/"' not in page
    assert 'href="/settings/"' not in page


def test_dashboard_shows_managers_their_team_and_admin_links(web_client, org):
    response = web_client(org, org.admin).get("/")
    page = text(response)
    assert 'role-admin">Admin</span>' in page
    assert "<strong>3 members</strong>" in page
    assert 'href="/members/"' in page and 'href="/settings/"' in page


def test_a_person_from_another_organization_gets_a_403_not_a_login_loop(web_client, org, other_org):
    response = web_client(org, other_org.owner).get("/")
    assert response.status_code == 403
    assert "not a member of this organization" in text(response)
    assert "Log out" in text(response)


# Members


def test_members_page_needs_a_login(web_client, org):
    response = web_client(org).get("/members/")
    assert response.headers["Location"] == "/login/?next=/members/"


def test_members_page_is_forbidden_to_members(web_client, org):
    client = web_client(org, org.member)
    response = client.get("/members/")
    assert response.status_code == 403
    assert "Only the organization's owners and admins can open this page." in text(response)
    assert client.post("/members/", {"email": "x@example.com", "role": "member"}).status_code == 403
    assert not User.objects.filter(email="x@example.com").exists()


def test_members_page_lists_everyone_for_admins(web_client, org):
    response = web_client(org, org.admin).get("/members/")
    page = text(response)
    assert response.status_code == 200
    for person in (org.owner, org.admin, org.member):
        assert person.email in page
    assert "3 members in Alpha" in page


def test_admin_invites_a_new_person_as_member(web_client, org):
    client = web_client(org, org.admin)
    response = client.post("/members/", {"email": "Sam@Example.com", "role": "member"}, follow=True)
    assert response.redirect_chain[-1][0] == "/members/"
    page = text(response)
    assert "An invitation to join as Member was emailed to sam@example.com." in page
    assert "Pending invitations" in page and "sam@example.com" in page
    assert not User.objects.filter(email="sam@example.com").exists()
    assert Invitation.objects.get(email="sam@example.com", organization=org.organization).role == "member"


def test_inviting_an_existing_account_says_the_same_and_adds_nobody(web_client, org, other_org):
    client = web_client(org, org.owner)
    response = client.post("/members/", {"email": other_org.member.email, "role": "admin"}, follow=True)
    page = text(response)
    assert f"An invitation to join as Admin was emailed to {other_org.member.email}." in page
    assert other_org.member.full_name not in page
    assert not org.organization.memberships.filter(user=other_org.member).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "member@alpha.test", "role": "member"}, "is already a member of Alpha"),
        ({"email": "not-an-email", "role": "member"}, "Enter a valid email address."),
        ({"email": "new@example.com", "role": "boss"}, "Select a valid choice."),
        ({"email": "new@example.com", "role": "owner"}, "Only owners can add, change or remove owners."),
    ],
)
def test_inviting_with_bad_input_shows_the_error_and_changes_nothing(web_client, org, data, message):
    before = Membership.objects.count(), User.objects.count(), Invitation.objects.count()
    response = web_client(org, org.admin).post("/members/", data)
    assert response.status_code == 400
    assert message in text(response)
    assert (Membership.objects.count(), User.objects.count(), Invitation.objects.count()) == before


def test_admin_changes_a_role(web_client, org):
    target = org.membership(org.member)
    response = web_client(org, org.admin).post(f"/members/{target.pk}/role/", {"role": "admin"}, follow=True)
    assert "Alpha Member is now Admin." in text(response)
    target.refresh_from_db()
    assert target.role == "admin"


def test_the_last_owner_cannot_be_demoted_and_the_page_says_why(web_client, org):
    owner = org.membership(org.owner)
    response = web_client(org, org.owner).post(f"/members/{owner.pk}/role/", {"role": "member"}, follow=True)
    assert "This is the organization's last owner" in text(response)
    owner.refresh_from_db()
    assert owner.role == "owner"


def test_member_cannot_change_roles(web_client, org):
    target = org.membership(org.admin)
    response = web_client(org, org.member).post(f"/members/{target.pk}/role/", {"role": "member"})
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.role == "admin"


def test_role_change_with_an_unknown_role_changes_nothing(web_client, org):
    target = org.membership(org.member)
    response = web_client(org, org.admin).post(f"/members/{target.pk}/role/", {"role": "boss"}, follow=True)
    assert "Choose a role for Alpha Member." in text(response)
    target.refresh_from_db()
    assert target.role == "member"


def test_role_change_needs_post(web_client, org):
    target = org.membership(org.member)
    assert web_client(org, org.admin).get(f"/members/{target.pk}/role/").status_code == 405


def test_remove_asks_for_confirmation_then_removes(web_client, org):
    target = org.membership(org.member)
    client = web_client(org, org.admin)
    confirm = client.get(f"/members/{target.pk}/remove/")
    assert confirm.status_code == 200
    assert "Remove Alpha Member?" in text(confirm)
    assert Membership.objects.filter(pk=target.pk).exists()

    response = client.post(f"/members/{target.pk}/remove/", follow=True)
    assert "Alpha Member was removed from Alpha." in text(response)
    assert not Membership.objects.filter(pk=target.pk).exists()
    assert User.objects.filter(pk=org.member.pk, is_active=True).exists()


def test_the_last_owner_cannot_be_removed(web_client, org):
    owner = org.membership(org.owner)
    response = web_client(org, org.owner).post(f"/members/{owner.pk}/remove/", follow=True)
    assert "last owner" in text(response)
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_admin_cannot_remove_an_owner(web_client, org):
    owner = org.membership(org.owner)
    response = web_client(org, org.admin).post(f"/members/{owner.pk}/remove/", follow=True)
    assert "Only owners can add, change or remove owners." in text(response)
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_memberships_of_another_organization_are_not_found(web_client, org, other_org):
    foreign = other_org.membership(other_org.member)
    client = web_client(org, org.owner)
    assert client.get(f"/members/{foreign.pk}/remove/").status_code == 404
    assert client.post(f"/members/{foreign.pk}/remove/").status_code == 404
    assert client.post(f"/members/{foreign.pk}/role/", {"role": "admin"}).status_code == 404
    assert Membership.objects.get(pk=foreign.pk).role == "member"


def test_members_page_does_not_show_other_organizations_people(web_client, org, other_org):
    UserFactory(email="outsider@example.com")
    page = text(web_client(org, org.owner).get("/members/"))
    assert other_org.owner.email not in page
    assert "outsider@example.com" not in page


@pytest.mark.django_db
def test_login_page_is_rate_limited_and_says_when_to_retry(web_client, org):
    client = web_client(org)
    attempts = [
        client.post("/login/", {"email": org.member.email, "password": "wrong"}, REMOTE_ADDR="203.0.113.9")
        for _ in range(5)  # failures of one account at one address: 5/15m
    ]
    refused = client.post("/login/", {"email": org.member.email, "password": TEST_PASSWORD}, REMOTE_ADDR="203.0.113.9")

    assert [response.status_code for response in attempts] == [200] * 5
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 15 * 60
    assert b"Too many failed logins" in refused.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_reading_the_login_form_is_never_limited(web_client, org):
    client = web_client(org)
    assert all(client.get("/login/", REMOTE_ADDR="203.0.113.10").status_code == 200 for _ in range(15))


@pytest.mark.django_db
def test_login_page_also_limits_attempts_per_account_from_many_addresses(web_client, org):
    client = web_client(org)
    for attempt in range(20):
        client.post("/login/", {"email": org.member.email, "password": "wrong"}, REMOTE_ADDR=f"198.51.100.{attempt}")
    refused = client.post("/login/", {"email": org.member.email, "password": "wrong"}, REMOTE_ADDR="198.51.100.99")
    assert refused.status_code == 429


@pytest.mark.parametrize(
    ("site_url", "expected"),
    [
        ("http://localhost", "http://alpha.localhost/password-reset/"),
        ("https://localhost:8443", "https://alpha.localhost:8443/password-reset/"),
    ],
)
def test_the_reset_link_comes_from_site_url_never_from_the_requests_host(web_client, org, settings, site_url, expected):
    settings.SITE_URL = site_url
    client = web_client(org)
    client.defaults["HTTP_HOST"] = f"{org.host}:6666"

    client.post("/password-reset/", {"email": org.member.email})

    link = re.search(r"https?://\S+/password-reset/\S+/\S+/", mail.outbox[0].body).group(0)
    assert link.startswith(expected)
    assert "6666" not in mail.outbox[0].body


@pytest.mark.django_db
def test_members_page_is_paginated_with_a_fixed_number_of_queries(web_client, org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.views import MEMBERS_PER_PAGE

    client = web_client(org, org.admin)
    client.get("/members/")
    with CaptureQueriesContext(connection) as few:
        client.get("/members/")
    for index in range(MEMBERS_PER_PAGE):
        Membership.objects.create(user=UserFactory(email=f"extra{index}@alpha.test"), organization=org.organization)
    with CaptureQueriesContext(connection) as many:
        first = client.get("/members/")

    assert len(many) == len(few)
    assert len(first.context["page"].object_list) == MEMBERS_PER_PAGE
    assert f"{MEMBERS_PER_PAGE + 3} members in Alpha" in text(first)
    second = client.get("/members/?page=2")
    assert len(second.context["page"].object_list) == 3
    assert client.get("/members/?page=zzz").status_code == 200  # a bad page number shows the first page
