import io

import pytest
from django.core.management import call_command

from accounts import api_keys, invitations, sso
from accounts.models import Membership, User


@pytest.mark.django_db
def test_superuser_logs_into_the_admin_with_email_and_password(client, platform_superuser):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "Root@Platform.test", "password": "root-password-42", "next": "/admin/"},
        HTTP_HOST="localhost",
    )

    assert response.status_code == 302
    assert client.get("/admin/", HTTP_HOST="localhost").status_code == 200


@pytest.mark.django_db
def test_staff_who_are_not_superusers_are_sent_to_the_login_page(client, org):
    staff = User.objects.create_user(email="staff@platform.test", password="x-long-password-1", is_staff=True)
    client.force_login(staff)

    response = client.get("/admin/tenants/organization/", HTTP_HOST="localhost")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_user_list_and_search(platform_admin_client, org):
    response = platform_admin_client.get("/admin/accounts/user/", {"q": "alpha.test"})

    assert response.status_code == 200
    assert {user.email for user in response.context["cl"].result_list} == {
        "owner@alpha.test",
        "admin@alpha.test",
        "member@alpha.test",
    }


@pytest.mark.django_db
def test_user_change_page_shows_memberships(platform_admin_client, org):
    response = platform_admin_client.get(f"/admin/accounts/user/{org.member.pk}/change/")

    assert response.status_code == 200
    assert "Alpha" in response.content.decode()


@pytest.mark.django_db
def test_adding_a_user_with_email_and_password(platform_admin_client):
    response = platform_admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "New.Person@Example.com",
            "full_name": "New Person",
            "usable_password": "true",
            "password1": "a long passphrase 42",
            "password2": "a long passphrase 42",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.check_password("a long passphrase 42")


@pytest.mark.django_db
def test_adding_a_user_with_an_existing_email_in_other_case_is_refused(platform_admin_client, org):
    response = platform_admin_client.post(
        "/admin/accounts/user/add/",
        {"email": "MEMBER@alpha.test", "usable_password": "false"},
    )

    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors or response.context["adminform"].form.non_field_errors()
    assert User.objects.filter(email__iexact="member@alpha.test").count() == 1


@pytest.mark.django_db
def test_users_are_deactivated_not_deleted(platform_admin_client, org):
    response = platform_admin_client.post(
        "/admin/accounts/user/", {"action": "deactivate", "_selected_action": [org.member.pk]}, follow=True
    )

    assert "Deactivated 1 account(s)." in response.content.decode()
    assert User.objects.get(pk=org.member.pk).is_active is False
    assert "delete_selected" not in response.content.decode()
    assert platform_admin_client.get(f"/admin/accounts/user/{org.member.pk}/delete/").status_code == 403


@pytest.mark.django_db
def test_memberships_can_be_listed_and_added_but_not_changed(platform_admin_client, org, other_org):
    listing = platform_admin_client.get("/admin/accounts/membership/", {"q": "alpha"})
    assert listing.status_code == 200
    assert len(listing.context["cl"].result_list) == 3

    response = platform_admin_client.post(
        "/admin/accounts/membership/add/",
        {"user": org.member.pk, "organization": other_org.organization.pk, "role": "owner"},
    )
    assert response.status_code == 302
    assert Membership.objects.filter(user=org.member, organization=other_org.organization, role="owner").exists()

    membership = org.membership(org.owner)
    platform_admin_client.post(f"/admin/accounts/membership/{membership.pk}/change/", {"role": "member"})
    assert Membership.objects.get(pk=membership.pk).role == "owner"


@pytest.mark.django_db
def test_createsuperuser_noinput_reads_email_and_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Ops@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "an operator passphrase")

    call_command("createsuperuser", interactive=False, stdout=io.StringIO())

    user = User.objects.get(email="ops@example.com")
    assert user.is_superuser and user.is_staff
    assert user.check_password("an operator passphrase")


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.django_db
def test_createsuperuser_interactive_asks_for_email_and_password(monkeypatch):
    answers = iter(["ops@example.com"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    monkeypatch.setattr(
        "django.contrib.auth.management.commands.createsuperuser.getpass.getpass",
        lambda prompt="": "an operator passphrase",
    )
    out = io.StringIO()

    call_command("createsuperuser", interactive=True, stdin=FakeTerminal(), stdout=out)

    assert "Superuser created successfully." in out.getvalue()
    assert User.objects.get(email="ops@example.com").is_superuser


@pytest.mark.django_db
def test_admin_login_is_rate_limited(client, platform_superuser):
    def attempt():
        return client.post(
            "/admin/login/", {"username": "root@platform.test", "password": "wrong"}, HTTP_HOST="localhost"
        )

    statuses = [attempt().status_code for _ in range(5)]  # failures of one account at one address: 5/15m
    response = attempt()

    assert statuses == [200] * 5  # the form again, with an error
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_unticking_active_in_the_admin_ends_the_persons_api_tokens(platform_admin_client, org):
    from accounts.tokens import tokens_for_membership

    access = tokens_for_membership(org.membership(org.member))["access"]
    page = platform_admin_client.get(f"/admin/accounts/user/{org.member.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update({"is_active": "", "groups": [], "user_permissions": []})
    data.update({"email": org.member.email, "full_name": org.member.full_name})
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        data.update({management.add_prefix(name): value for name, value in management.initial.items()})
        data.update({f"{formset.formset.prefix}-{i}-id": f.instance.pk for i, f in enumerate(formset.formset.forms)})

    response = platform_admin_client.post(f"/admin/accounts/user/{org.member.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    org.member.refresh_from_db()
    assert org.member.is_active is False and org.member.tokens_valid_after is not None
    User.objects.filter(pk=org.member.pk).update(is_active=True)  # reactivated later: old tokens stay ended
    api = platform_admin_client.get("/api/v1/auth/me", HTTP_HOST=org.host, HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api.status_code == 401


def test_operators_see_invitations_keys_and_providers_without_their_secrets(platform_admin_client, org):
    issued = invitations.invitation_create(
        actor=org.membership(org.owner), organization=org.organization, email="sam@example.com", role="member"
    )
    key = api_keys.api_key_create(
        actor=org.membership(org.owner), organization=org.organization, name="Display", scopes=["read"]
    )
    provider = sso.sso_provider_create(
        actor=org.membership(org.owner),
        organization=org.organization,
        name="Corp IdP",
        issuer="https://idp.example.com",
        client_id="abc",
        client_secret="shh-secret",
        allowed_domains=["example.com"],
    )
    pages = {
        f"/admin/accounts/invitation/{issued.invitation.pk}/change/": issued.invitation.token_hash,
        f"/admin/accounts/apikey/{key.api_key.pk}/change/": key.api_key.key_hash,
        f"/admin/accounts/ssoprovider/{provider.pk}/change/": provider.client_secret_encrypted,
    }
    for url, secret in pages.items():
        response = platform_admin_client.get(url)
        assert response.status_code == 200
        assert secret not in response.content.decode()
    assert platform_admin_client.get("/admin/accounts/invitation/add/").status_code == 403
