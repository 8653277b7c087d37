import threading

import pytest
from django.db import connection, connections

from accounts.models import Membership, User
from spacemanager.errors import ValidationFailed
from tenants.models import Domain, Organization
from tenants.services import (
    organization_deactivate,
    organization_delete,
    organization_provision,
    organization_reactivate,
    organization_register,
    public_tenant_ensure,
)


def schema_tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {name for (name,) in cursor.fetchall()}


def schema_exists(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        return cursor.fetchone() is not None


def extension_schema(name: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = %s",
            [name],
        )
        row = cursor.fetchone()
        return row[0] if row else None


def constraint_exists(schema: str, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = %s AND c.conname = %s",
            [schema, name],
        )
        return cursor.fetchone() is not None


@pytest.mark.django_db
def test_deactivate_then_reactivate_toggles_the_organization(org):
    organization = org.organization

    organization_deactivate(organization=organization)
    assert Organization.objects.get(pk=organization.pk).is_active is False

    organization_reactivate(organization=organization)
    assert Organization.objects.get(pk=organization.pk).is_active is True


@pytest.mark.django_db
def test_deactivated_organization_host_answers_404(client, org):
    organization_deactivate(organization=org.organization)

    response = client.get("/api/v1/auth/me", HTTP_HOST=org.host)

    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("service", [organization_deactivate, organization_reactivate, organization_delete])
def test_the_public_site_is_refused(service):
    public = public_tenant_ensure()

    with pytest.raises(ValidationFailed, match="public site"):
        service(organization=public)

    assert Organization.objects.filter(pk=public.pk, is_active=True).exists()
    assert schema_exists("public")


@pytest.mark.django_db
def test_delete_drops_schema_row_domains_and_memberships_but_keeps_people(org):
    organization = organization_provision(name="Gamma", slug="gamma")
    owner = User.objects.create_user(email="owner@gamma.test", password="x-long-password")
    Membership.objects.create(user=owner, organization=organization, role=Membership.Role.OWNER)
    assert schema_exists("org_gamma")

    organization_delete(organization=organization)

    assert not schema_exists("org_gamma")
    assert not Organization.objects.filter(slug="gamma").exists()
    assert not Domain.objects.filter(domain="gamma.localhost").exists()
    assert not Membership.objects.filter(user=owner).exists()
    assert User.objects.filter(pk=owner.pk, is_active=True).exists()


@pytest.mark.django_db
def test_delete_leaves_other_organizations_tables_constraints_and_btree_gist(org, other_org):
    # An exclusion constraint that needs btree_gist (integer equality in a GiST index), like reservations'.
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE "org_beta"."booking_probe" (space_id integer, during tstzrange, '
            "CONSTRAINT booking_probe_no_overlap EXCLUDE USING gist (space_id WITH =, during WITH &&))"
        )
    beta_tables = schema_tables("org_beta")
    alpha_tables = schema_tables("org_alpha")
    doomed = organization_provision(name="Gamma", slug="gamma")

    organization_delete(organization=doomed)

    assert schema_tables("org_beta") == beta_tables
    assert schema_tables("org_alpha") == alpha_tables
    assert constraint_exists("org_beta", "booking_probe_no_overlap")
    assert extension_schema("btree_gist") == "public"
    assert Organization.objects.filter(slug__in=["alpha", "beta"]).count() == 2


@pytest.mark.django_db
def test_delete_works_while_the_connection_is_in_another_tenant(org):
    doomed = organization_provision(name="Gamma", slug="gamma")
    connection.set_tenant(org.organization)

    organization_delete(organization=doomed)

    assert not schema_exists("org_gamma")


def register(slug: str, email: str) -> object:
    return organization_register(
        organization_name=slug.title(),
        organization_slug=slug,
        owner_email=email,
        owner_password="a long passphrase 42",
        owner_full_name="Racer",
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_slug_give_one_organization(org):
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def attempt(index: int) -> None:
        barrier.wait()
        try:
            register("contested", f"racer{index}@example.com")
            outcomes.append("created")
        except ValidationFailed as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created", "slug_taken", "slug_taken", "slug_taken"]
    assert Organization.objects.filter(slug="contested").count() == 1
    # The losers' accounts were rolled back with their organizations.
    assert User.objects.filter(email__startswith="racer").count() == 1
    Organization.objects.get(slug="contested").delete(force_drop=True)


@pytest.mark.django_db
def test_registration_normalises_the_owner_email():
    registration = register("casey", "  Casey.Jones@Example.COM ")
    assert registration.owner.email == "casey.jones@example.com"
    assert registration.membership.role == Membership.Role.OWNER


@pytest.mark.django_db
def test_registration_stores_a_usable_hashed_password():
    registration = register("hashes", "hash@example.com")
    owner = User.objects.get(pk=registration.owner.pk)
    assert owner.password != "a long passphrase 42"
    assert owner.check_password("a long passphrase 42")


@pytest.mark.django_db
def test_operators_can_make_an_existing_person_owner_of_another_organization(org):
    registration = organization_register(
        organization_name="Second",
        organization_slug="second",
        owner_email="owner@alpha.test",
        owner_password=None,
        allow_existing_owner=True,
    )
    assert registration.owner == org.owner
    assert Membership.objects.filter(user=org.owner).count() == 2


@pytest.mark.django_db
def test_public_tenant_follows_base_domain(settings):
    settings.BASE_DOMAIN = "spaces.example.com"
    public = public_tenant_ensure()
    assert public.schema_name == "public"
    assert Domain.objects.get(tenant=public, is_primary=True).domain == "spaces.example.com"
    assert connection.schema_name == "public"
