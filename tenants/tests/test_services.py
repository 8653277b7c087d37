import threading

import pytest
from django.db import connection, connections

from accounts.models import Membership, User
from spacemanager.errors import ValidationFailed
from tenants.models import Domain, Organization
from tenants.services import organization_register, public_tenant_ensure


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
