"""The two admin sites: the platform's on the public host, each organization's on its host; superusers only."""

import pytest

from accounts.models import Membership, User
from spacemanager.testing import logged_in_client

pytestmark = pytest.mark.django_db

PUBLIC_HOST = "localhost"


def registered(response) -> set[str]:
    return {model["object_name"] for app in response.context["app_list"] for model in app["models"]}


@pytest.fixture
def operator(org):
    user = User.objects.create_superuser(email="root@platform.test", password="root-password-42")
    Membership.objects.create(user=user, organization=org.organization, role=Membership.Role.ADMIN)
    return user


def test_the_public_admin_shows_platform_models_only(client, operator):
    response = logged_in_client(client, host=PUBLIC_HOST, user=operator).get("/admin/")

    assert response.status_code == 200
    models = registered(response)
    assert {"Organization", "Domain", "User", "Membership"} <= models
    assert not models & {"Space", "Reservation", "OpeningHours"}
    assert client.get("/admin/spaces/space/").status_code == 404


def test_an_organizations_admin_shows_its_spaces_and_reservations_only(client, org, operator):
    response = logged_in_client(client, host=org.host, user=operator).get("/admin/")

    assert response.status_code == 200
    assert registered(response) == {
        "Space", "Closure", "Reservation", "Item", "WebhookEndpoint", "WebhookDelivery", "BillingSettings", "Invoice"
    }  # fmt: skip
    assert "Alpha · SpaceManager admin" in response.content.decode()
    assert client.get("/admin/tenants/organization/").status_code == 404
    assert client.get("/admin/accounts/user/").status_code == 404


@pytest.mark.parametrize("host_of", ["public", "organization"])
def test_staff_who_are_not_superusers_cannot_open_either_admin(client, org, host_of):
    # Even the organization's owner with the staff flag: the admin is for platform superusers.
    org.owner.is_staff = True
    org.owner.save(update_fields=["is_staff"])
    host = PUBLIC_HOST if host_of == "public" else org.host

    response = logged_in_client(client, host=host, user=org.owner).get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert (
        client.get("/admin/spaces/space/" if host_of == "organization" else "/admin/tenants/organization/").status_code
        == 302
    )


def test_a_superuser_without_a_membership_can_look_at_an_organization_but_not_change_it(client, org):
    outsider = User.objects.create_superuser(email="outsider@platform.test", password="root-password-42")
    logged_in_client(client, host=org.host, user=outsider)

    index = client.get("/admin/")

    assert index.status_code == 200
    assert "You can look, but not change anything" in index.content.decode()
    assert client.get("/admin/reservations/reservation/").status_code == 200
    assert client.get("/admin/reservations/reservation/add/").status_code == 403


def test_the_organization_admin_login_shares_the_login_rate_limit(client, org):
    def attempt():
        return client.post(
            "/admin/login/",
            {"username": "root@platform.test", "password": "wrong"},
            HTTP_HOST=org.host,
            REMOTE_ADDR="203.0.113.9",
        )

    statuses = [attempt().status_code for _ in range(5)]  # failures of one account at one address: 5/15m
    response = attempt()

    assert statuses == [200] * 5  # the form again, with its error
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 15 * 60


def test_a_superuser_logs_into_an_organizations_admin_with_email_and_password(client, org, operator):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "root@platform.test", "password": "root-password-42", "next": "/admin/"},
        HTTP_HOST=org.host,
    )

    assert response.status_code == 302
    assert client.get("/admin/", HTTP_HOST=org.host).status_code == 200


def test_an_inactive_organizations_admin_answers_404(client, org, operator):
    org.organization.is_active = False
    org.organization.save(update_fields=["is_active"])

    response = logged_in_client(client, host=org.host, user=operator).get("/admin/")

    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/admin/spaces/space/add/", "/admin/reservations/reservation/add/", "/admin/reservations/reservation/?q=x"],
)
def test_an_organization_admin_opens_the_forms_and_lists(client, org, operator, path):
    response = logged_in_client(client, host=org.host, user=operator).get(path)

    assert response.status_code == 200
    assert "Alpha · SpaceManager admin" in response.content.decode()
