from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Invitation, Membership, User
from accounts.tests.factories import TEST_PASSWORD, UserFactory

LOGIN_URL = "/api/v1/auth/login"
ME_URL = "/api/v1/auth/me"


def login(client, email, password=TEST_PASSWORD):
    return client.post(LOGIN_URL, {"email": email, "password": password}, format="json")


@pytest.mark.django_db
def test_login_returns_tokens_user_and_role(api_client, org):
    response = login(api_client(org), "member@alpha.test")

    assert response.status_code == 200
    body = response.json()
    assert body["access"] and body["refresh"]
    assert body["user"] == {"id": org.member.pk, "email": "member@alpha.test", "full_name": "Alpha Member"}
    assert body["role"] == "member"
    assert body["organization"]["slug"] == "alpha"


@pytest.mark.django_db
def test_login_email_is_case_insensitive(api_client, org):
    assert login(api_client(org), "Member@Alpha.TEST").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("member@alpha.test", "wrong password"),  # wrong password
        ("nobody@alpha.test", TEST_PASSWORD),  # unknown email
        ("member@beta.test", TEST_PASSWORD),  # a real account, but not a member here
    ],
)
def test_failed_logins_are_indistinguishable(api_client, org, other_org, email, password):
    response = login(api_client(org), email, password)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid email or password.", "code": "invalid_credentials"}


@pytest.mark.django_db
def test_login_refuses_a_deactivated_person(api_client, org):
    User.objects.filter(pk=org.member.pk).update(is_active=False)
    assert login(api_client(org), "member@alpha.test").status_code == 401


@pytest.mark.django_db
def test_login_on_the_public_host_is_not_found(api_client, org):
    assert login(api_client(), "member@alpha.test").status_code == 404


@pytest.mark.django_db
def test_login_validates_its_input(api_client, org):
    response = api_client(org).post(LOGIN_URL, {"email": "not-an-email"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"email", "password"}


@pytest.mark.django_db
def test_me_shows_user_organization_and_role(api_client, org):
    response = api_client(org, org.admin).get(ME_URL)
    assert response.status_code == 200
    assert response.json()["user"]["email"] == "admin@alpha.test"
    assert response.json()["role"] == "admin"
    assert response.json()["organization"]["url"] == "http://alpha.localhost/"


@pytest.mark.django_db
def test_me_without_a_token_is_401(api_client, org):
    response = api_client(org).get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_a_token_of_one_organization_is_refused_by_another(api_client, org, other_org):
    token_client = api_client(org, org.owner)
    token_client.defaults["HTTP_HOST"] = other_org.host

    response = token_client.get(ME_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "token_wrong_organization"


@pytest.mark.django_db
def test_a_token_stops_working_when_the_person_is_deactivated(api_client, org):
    client = api_client(org, org.member)
    User.objects.filter(pk=org.member.pk).update(is_active=False)
    assert client.get(ME_URL).status_code == 401


@pytest.mark.django_db
def test_a_token_stops_working_when_the_membership_is_removed(api_client, org):
    client = api_client(org, org.member)
    Membership.objects.filter(user=org.member, organization=org.organization).delete()
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_a_member"


@pytest.mark.django_db
def test_a_garbage_token_is_401(api_client, org):
    client = api_client(org)
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_authenticating_a_request_costs_one_query(api_client, org):
    client = api_client(org, org.member)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME_URL).status_code == 200
    # Tenant lookup by host, then membership + user + organization in one query (plus SET search_path).
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 2, selects


@pytest.mark.django_db
def test_refresh_rotates_and_blacklists_the_old_refresh_token(api_client, org):
    client = api_client(org)
    tokens = login(client, "member@alpha.test").json()

    first = client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    again = client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")

    assert first.status_code == 200
    assert first.json()["access"] and first.json()["refresh"] != tokens["refresh"]
    assert again.status_code == 401


@pytest.mark.django_db
def test_refresh_is_refused_on_another_organizations_host(api_client, org, other_org):
    tokens = login(api_client(org), "member@alpha.test").json()
    response = api_client(other_org).post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "token_wrong_organization"


@pytest.mark.django_db
def test_refresh_is_refused_after_the_membership_is_removed(api_client, org):
    tokens = login(api_client(org), "member@alpha.test").json()
    Membership.objects.filter(user=org.member, organization=org.organization).delete()
    response = api_client(org).post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401


@pytest.mark.django_db
def test_refresh_with_garbage_is_401(api_client, org):
    response = api_client(org).post("/api/v1/auth/refresh", {"refresh": "garbage"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_logout_blacklists_the_refresh_token_and_is_harmless_twice(api_client, org):
    client = api_client(org)
    tokens = login(client, "member@alpha.test").json()

    assert client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 204
    refreshed = client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401


@pytest.mark.django_db
def test_logout_requires_a_refresh_token(api_client, org):
    response = api_client(org).post("/api/v1/auth/logout", {}, format="json")
    assert response.status_code == 400
    assert response.json()["refresh"] == ["This field is required."]


@pytest.mark.django_db
def test_logout_refuses_another_organizations_token(api_client, org, other_org):
    tokens = login(api_client(org), "member@alpha.test").json()
    response = api_client(other_org).post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401


# Members


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "admin"])
def test_managers_list_members(api_client, org, other_org, role):
    response = api_client(org, getattr(org, role)).get("/api/v1/members")
    assert response.status_code == 200
    emails = [m["email"] for m in response.json()["results"]]
    assert emails == ["owner@alpha.test", "admin@alpha.test", "member@alpha.test"]


@pytest.mark.django_db
def test_members_cannot_manage_members(api_client, org):
    client = api_client(org, org.member)
    assert client.get("/api/v1/members").status_code == 403
    assert client.post("/api/v1/members", {"email": "x@example.com"}, format="json").status_code == 403


@pytest.mark.django_db
def test_member_list_runs_a_fixed_number_of_queries(api_client, org):
    client = api_client(org, org.owner)
    for _ in range(5):
        Membership.objects.create(user=UserFactory(), organization=org.organization)
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/members?page_size=2")
    with CaptureQueriesContext(connection) as many:
        client.get("/api/v1/members?page_size=50")

    # `SET search_path` is sent only when the session's path changes, which depends on the request before.
    def statements(captured) -> list[str]:
        return [query["sql"] for query in captured.captured_queries if not query["sql"].startswith("SET")]

    assert len(statements(few)) == len(statements(many))


INVITATION_FIELDS = {
    "id",
    "email",
    "role",
    "status",
    "invited_by",
    "created_at",
    "sent_at",
    "expires_at",
    "accepted_at",
}


@pytest.mark.django_db
def test_adding_a_new_person_invites_them_and_creates_no_account(
    api_client, org, mailoutbox, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(org, org.admin).post(
            "/api/v1/members", {"email": "Sam@Example.com", "role": "member"}, format="json"
        )
    assert response.status_code == 201, response.json()
    assert response.json()["email"] == "sam@example.com"
    assert response.json()["status"] == "pending"
    assert not User.objects.filter(email="sam@example.com").exists()
    assert not Membership.objects.filter(organization=org.organization, user__email="sam@example.com").exists()
    assert mailoutbox[0].to == ["sam@example.com"]
    assert "http://alpha.localhost/invitations/" in mailoutbox[0].body


@pytest.mark.django_db
def test_an_admin_cannot_choose_a_new_members_password(api_client, org):
    response = api_client(org, org.owner).post(
        "/api/v1/members", {"email": "victim@corp.test", "password": "chosen by the admin 42"}, format="json"
    )
    assert response.status_code == 400
    assert "emailed invitation" in response.json()["password"][0]
    assert not User.objects.filter(email="victim@corp.test").exists()
    assert not Invitation.objects.filter(email="victim@corp.test").exists()


@pytest.mark.django_db
def test_an_address_invited_by_one_organization_cannot_be_entered_from_another(api_client, org, other_org):
    """The audit's pre-hijack: alpha's owner adds victim@corp.test, beta's owner adds the same address, and
    nothing alpha's owner could know logs in on beta's host: no account exists until the person accepts."""
    api_client(org, org.owner).post("/api/v1/members", {"email": "victim@corp.test"}, format="json")
    added = api_client(other_org, other_org.owner).post(
        "/api/v1/members", {"email": "victim@corp.test", "role": "admin"}, format="json"
    )
    assert added.status_code == 201
    assert not User.objects.filter(email="victim@corp.test").exists()
    for guess in ("", "chosen by the admin 42", "victim@corp.test"):
        assert login(api_client(other_org), "victim@corp.test", guess).status_code in (400, 401)


@pytest.mark.django_db
def test_adding_an_existing_account_answers_as_for_a_new_address_and_adds_nobody(api_client, org, other_org):
    response = api_client(org, org.owner).post(
        "/api/v1/members", {"email": "member@beta.test", "role": "admin"}, format="json"
    )
    new = api_client(org, org.owner).post("/api/v1/members", {"email": "fresh@example.com"}, format="json")
    assert response.status_code == new.status_code == 201
    assert set(response.json()) == set(new.json()) == INVITATION_FIELDS
    assert response.json()["status"] == new.json()["status"] == "pending"
    assert other_org.member.full_name not in response.content.decode()
    assert not Membership.objects.filter(user=other_org.member, organization=org.organization).exists()


@pytest.mark.django_db
def test_adding_an_existing_member_is_a_conflict(api_client, org):
    response = api_client(org, org.owner).post("/api/v1/members", {"email": "member@alpha.test"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_member"


@pytest.mark.django_db
def test_admins_cannot_invite_owners(api_client, org):
    response = api_client(org, org.admin).post(
        "/api/v1/members", {"email": "boss@example.com", "role": "owner"}, format="json"
    )
    assert response.status_code == 403
    assert not User.objects.filter(email="boss@example.com").exists()
    assert not Invitation.objects.filter(email="boss@example.com").exists()


@pytest.mark.django_db
def test_owner_changes_a_role(api_client, org):
    membership = org.membership(org.member)
    response = api_client(org, org.owner).patch(f"/api/v1/members/{membership.pk}", {"role": "admin"}, format="json")
    assert response.status_code == 200
    assert response.json()["role"] == "admin"


@pytest.mark.django_db
def test_changing_a_role_to_nonsense_is_400(api_client, org):
    membership = org.membership(org.member)
    response = api_client(org, org.owner).patch(f"/api/v1/members/{membership.pk}", {"role": "king"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()


@pytest.mark.django_db
def test_the_last_owner_cannot_be_demoted_or_removed(api_client, org):
    owner = org.membership(org.owner)
    client = api_client(org, org.owner)

    demote = client.patch(f"/api/v1/members/{owner.pk}", {"role": "member"}, format="json")
    remove = client.delete(f"/api/v1/members/{owner.pk}")

    assert demote.status_code == 409 and demote.json()["code"] == "last_owner"
    assert remove.status_code == 409 and remove.json()["code"] == "last_owner"
    assert Membership.objects.get(pk=owner.pk).role == "owner"


@pytest.mark.django_db
def test_an_owner_can_step_down_once_there_is_another_owner(api_client, org):
    Membership.objects.filter(user=org.admin, organization=org.organization).update(role="owner")
    owner = org.membership(org.owner)
    response = api_client(org, org.owner).patch(f"/api/v1/members/{owner.pk}", {"role": "member"}, format="json")
    assert response.status_code == 200


@pytest.mark.django_db
def test_admins_cannot_touch_owners(api_client, org):
    owner = org.membership(org.owner)
    response = api_client(org, org.admin).delete(f"/api/v1/members/{owner.pk}")
    assert response.status_code == 403


@pytest.mark.django_db
def test_removing_a_member_keeps_the_account(api_client, org):
    membership = org.membership(org.member)
    response = api_client(org, org.admin).delete(f"/api/v1/members/{membership.pk}")
    assert response.status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert User.objects.filter(pk=org.member.pk, is_active=True).exists()


@pytest.mark.django_db
def test_another_organizations_member_is_not_found(api_client, org, other_org):
    foreign = other_org.membership(other_org.member)
    client = api_client(org, org.owner)
    assert client.get(f"/api/v1/members/{foreign.pk}").status_code == 404
    assert client.delete(f"/api/v1/members/{foreign.pk}").status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


# Ending tokens: logout, a new password and deactivation end every token issued before them


def me_status(client, access: str) -> int:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(ME_URL).status_code


@pytest.mark.django_db
def test_logging_out_ends_the_sessions_access_token_at_once(api_client, org):
    client = api_client(org)
    tokens = login(client, "member@alpha.test").json()
    assert me_status(client, tokens["access"]) == 200

    client.credentials()
    assert client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 204

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "token_ended"


@pytest.mark.django_db
def test_logging_in_again_right_after_a_logout_gives_working_tokens(api_client, org):
    client = api_client(org)
    old = login(client, "member@alpha.test").json()
    client.post("/api/v1/auth/logout", {"refresh": old["refresh"]}, format="json")

    new = login(client, "member@alpha.test").json()

    assert me_status(client, new["access"]) == 200
    client.credentials()
    assert client.post("/api/v1/auth/refresh", {"refresh": new["refresh"]}, format="json").status_code == 200
    assert me_status(client, old["access"]) == 401


@pytest.mark.django_db
def test_a_new_password_ends_every_token_issued_before_it(api_client, org):
    client = api_client(org)
    tokens = login(client, "member@alpha.test").json()

    org.member.set_password("a brand new passphrase 9")
    org.member.save()

    assert me_status(client, tokens["access"]) == 401
    client.credentials()
    refreshed = client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401
    assert refreshed.json()["code"] == "token_ended"
    assert me_status(client, login(client, "member@alpha.test", "a brand new passphrase 9").json()["access"]) == 200


@pytest.mark.django_db
def test_a_password_reset_by_email_ends_the_tokens(api_client, web_client, org):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    api = api_client(org)
    tokens = login(api, "member@alpha.test").json()
    page = web_client(org)
    uid = urlsafe_base64_encode(force_bytes(org.member.pk))
    form = page.get(f"/password-reset/{uid}/{default_token_generator.make_token(org.member)}/", follow=True)
    done = page.post(
        form.redirect_chain[-1][0], {"new_password1": "reset passphrase 42", "new_password2": "reset passphrase 42"}
    )

    assert done.headers["Location"] == "/password-reset/complete/"
    assert me_status(api, tokens["access"]) == 401


@pytest.mark.django_db
def test_a_hash_upgrade_at_login_is_not_a_password_change(api_client, org, settings):
    client = api_client(org)
    tokens = login(client, "member@alpha.test").json()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher", *settings.PASSWORD_HASHERS]

    assert login(client, "member@alpha.test").status_code == 200  # rehashes the MD5 hash with PBKDF2

    org.member.refresh_from_db()
    assert org.member.password.startswith("pbkdf2_")
    assert me_status(client, tokens["access"]) == 200


@pytest.mark.django_db
def test_deactivation_ends_the_tokens_even_after_reactivation(api_client, org):
    from accounts.services import user_deactivate

    client = api_client(org)
    tokens = login(client, "member@alpha.test").json()

    user_deactivate(user=org.member)
    User.objects.filter(pk=org.member.pk).update(is_active=True)

    assert me_status(client, tokens["access"]) == 401
    assert me_status(client, login(client, "member@alpha.test").json()["access"]) == 200


@pytest.mark.django_db
def test_checking_the_token_end_time_costs_no_query(api_client, org):
    client = api_client(org)
    tokens = login(client, "member@alpha.test").json()
    User.objects.filter(pk=org.member.pk).update(tokens_valid_after=timezone.now() - timedelta(days=1))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME_URL).status_code == 200

    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 2, selects  # the same two as test_authenticating_a_request_costs_one_query
