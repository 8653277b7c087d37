"""Shared fixtures.

Creating an organization means creating a schema and running every tenant migration, so the test
organizations are made once per session (TENANCY.md). Tests run in transactions rolled back afterwards;
a `transactional_db` test flushes the public tables, so `org`/`other_org` re-provision them when needed.
"""

import threading
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Membership, User
from accounts.tests.factories import TEST_PASSWORD
from accounts.tokens import tokens_for_membership
from spaces.availability_cache import availability_spaces_forget
from tenants.models import Organization, schema_name_for_slug
from tenants.services import organization_register, public_tenant_ensure


@dataclass
class TestOrganization:
    """An organization with one person per role."""

    organization: Organization
    owner: User
    admin: User
    member: User

    @property
    def host(self) -> str:
        return self.organization.host

    def membership(self, user: User) -> Membership:
        return Membership.objects.select_related("user", "organization").get(user=user, organization=self.organization)


def _provision_test_organization(slug: str) -> TestOrganization:
    existing = Organization.objects.filter(slug=slug).first()
    if existing is None:
        # A flush (transactional_db) removes the rows but leaves the schema behind.
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema_name_for_slug(slug)}" CASCADE')
        public_tenant_ensure()
        registration = organization_register(
            organization_name=slug.capitalize(),
            organization_slug=slug,
            owner_email=f"owner@{slug}.test",
            owner_password=TEST_PASSWORD,
            owner_full_name=f"{slug.capitalize()} Owner",
        )
        organization = registration.organization
        for role in (Membership.Role.ADMIN, Membership.Role.MEMBER):
            user = User.objects.create_user(
                email=f"{role}@{slug}.test", password=TEST_PASSWORD, full_name=f"{slug.capitalize()} {role.title()}"
            )
            Membership.objects.create(user=user, organization=organization, role=role)
    else:
        organization = existing
    users = {m.role: m.user for m in Membership.objects.select_related("user").filter(organization=organization)}
    return TestOrganization(
        organization=organization,
        owner=users[Membership.Role.OWNER],
        admin=users[Membership.Role.ADMIN],
        member=users[Membership.Role.MEMBER],
    )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _provision_test_organization("alpha")
        _provision_test_organization("beta")


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate-limit counters live in the cache (locmem under tests); each test starts with none. Spaces kept for
    # availability answers too: tests change spaces behind the services' back (factories, .update()).
    cache.clear()
    availability_spaces_forget()
    yield
    cache.clear()
    availability_spaces_forget()


@pytest.fixture(autouse=True)
def _public_schema_between_tests():
    # The connection keeps its schema between tests otherwise (django-tenants #603).
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


@pytest.fixture
def org(db, django_db_blocker) -> TestOrganization:
    """Organization "alpha" with an owner, an admin and a member."""
    with django_db_blocker.unblock():
        return _provision_test_organization("alpha")


@pytest.fixture
def other_org(db, django_db_blocker) -> TestOrganization:
    """Organization "beta": every isolation test needs a second organization."""
    with django_db_blocker.unblock():
        return _provision_test_organization("beta")


@pytest.fixture
def in_tenant(org):
    """Run the test's database code inside alpha's schema."""
    connection.set_tenant(org.organization)
    yield org
    connection.set_schema_to_public()


@pytest.fixture
def api_client():
    """`api_client(org, user=None)`: an APIClient on the organization's host, logged in as `user` if given."""

    def make(test_org: TestOrganization | None = None, user: User | None = None) -> APIClient:
        client = APIClient()
        client.defaults["HTTP_HOST"] = test_org.host if test_org is not None else "localhost"
        if user is not None:
            tokens = tokens_for_membership(test_org.membership(user))
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        return client

    return make


def _close_worker_connections(**kwargs) -> None:
    # The worker thread's database connections would outlive the test and block dropping the test database.
    if threading.current_thread() is not threading.main_thread():
        connections.close_all()


@pytest.fixture
def live_worker(transactional_db):
    """A real worker (in a thread) consuming from the real Redis broker of REDIS_URL."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from spacemanager.celery import app

    app.control.purge()
    task_postrun.connect(_close_worker_connections, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
            yield worker
    finally:
        task_postrun.disconnect(_close_worker_connections)


@pytest.fixture
def celery_eager():
    """Run tasks in the test's own thread and transaction, as the worker would (schema switch included)."""
    from spacemanager.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


# Booking (spaces, reservations): a fixed "now" and an organization in a timezone with daylight saving.
BOOKING_NOW = "2025-03-03T08:00:00+00:00"  # a Monday; the tests' bookings lie in the following weeks


@pytest.fixture
def booking_now():
    """Freeze the clock (it still ticks) so that booking rules about "the past" and "days ahead" hold."""
    import time_machine

    with time_machine.travel(BOOKING_NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def paris(org):
    """Alpha, for one test, in Europe/Paris (clocks change on 2025-03-30 and 2025-10-26)."""
    Organization.objects.filter(pk=org.organization.pk).update(timezone="Europe/Paris")
    org.organization.refresh_from_db()
    return org


@pytest.fixture
def web_client():
    """`web_client(org=None, user=None, **kwargs)`: a browser-like test Client on the organization's host (the
    public host without one), logged in with a session as `user` if given. kwargs go to Client, e.g.
    `enforce_csrf_checks=True`."""

    def make(test_org: TestOrganization | None = None, user: User | None = None, **kwargs) -> Client:
        client = Client(HTTP_HOST=test_org.host if test_org is not None else settings.BASE_DOMAIN, **kwargs)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def platform_superuser(db):
    """A superuser of the platform admin (BASE_DOMAIN/admin/)."""
    return User.objects.create_superuser(email="root@platform.test", password="root-password-42")


@pytest.fixture
def platform_admin_client(client, platform_superuser):
    """The test client logged into the platform admin on the public host."""
    client.force_login(platform_superuser)
    client.defaults["HTTP_HOST"] = "localhost"
    return client


@pytest.fixture
def django_capture_on_commit_callbacks(django_capture_on_commit_callbacks):
    """pytest-django's fixture, and with `execute=True` also what beat does seconds after a commit: relay the
    outbox (tenants.outbox), where changes write their notices. "Run what follows the commit" then means the
    same for a task queued on commit and for a notice written to the outbox."""
    from contextlib import contextmanager

    from tenants.outbox import outbox_relay

    @contextmanager
    def capture(*args, execute: bool = False, **kwargs):
        with django_capture_on_commit_callbacks(*args, execute=execute, **kwargs) as callbacks:
            yield callbacks
        if execute:
            outbox_relay()

    return capture
