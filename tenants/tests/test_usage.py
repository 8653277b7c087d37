"""The usage counters (tenants.models.OrganizationUsage): kept by triggers at commit, repaired by the recount."""

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from accounts.models import Membership, User
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.models import Space
from spaces.tests.factories import SpaceFactory
from tenants.models import Organization, OrganizationUsage, OrganizationUsageChange
from tenants.selectors import organization_usage_counts
from tenants.services import UsageCorrection, organization_register, organization_usage_recount


def counted(organization: Organization) -> tuple[int, int, int]:
    usage = organization_usage_counts(organization_ids=[organization.pk])[organization.pk]
    return usage.members, usage.spaces, usage.reservations


def stored(organization: Organization) -> tuple[int, int, int]:
    usage = OrganizationUsage.objects.get(pk=organization.pk)
    return usage.members, usage.spaces, usage.reservations


@pytest.fixture
def committed_org(transactional_db):
    """An organization of its own whose writes really commit (its schema outlives the test's flush)."""
    registration = organization_register(
        organization_name="Counted",
        organization_slug="counted",
        owner_email="owner@counted.test",
        owner_password="a long passphrase 42",
    )
    yield registration.organization
    connection.set_schema_to_public()
    registration.organization.delete(force_drop=True)


@pytest.mark.django_db(transaction=True)
def test_committed_writes_reach_the_counters_and_leave_nothing_pending(committed_org):
    connection.set_tenant(committed_org)
    with transaction.atomic():
        ReservationFactory.create_batch(3, user=User.objects.get(email="owner@counted.test"))  # a space each
    Reservation.objects.filter(pk=Reservation.objects.order_by("pk").first().pk).delete()
    connection.set_schema_to_public()
    Membership.objects.create(user=User.objects.create_user(email="second@counted.test"), organization=committed_org)

    assert stored(committed_org) == (2, 3, 2)
    assert not OrganizationUsageChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_changes_no_count(committed_org):
    connection.set_tenant(committed_org)
    with pytest.raises(RuntimeError), transaction.atomic():
        SpaceFactory.create_batch(2)
        raise RuntimeError("changed my mind")
    connection.set_schema_to_public()

    assert stored(committed_org) == (1, 0, 0)
    assert not OrganizationUsageChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_writing_transaction_holds_no_lock_on_the_counter_row_until_it_commits(committed_org):
    # Bookings of one organization must not queue behind each other on its counter row while they run.
    outcome: list[str] = []

    def lock_the_counter_row() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
                cursor.execute(
                    "SELECT spaces FROM tenants_organizationusage WHERE organization_id = %s FOR UPDATE",
                    [committed_org.pk],
                )
                outcome.append(f"locked, {cursor.fetchone()[0]} spaces")
        finally:
            connections.close_all()

    connection.set_tenant(committed_org)
    with transaction.atomic():
        SpaceFactory()
        other = threading.Thread(target=lock_the_counter_row)
        other.start()
        other.join()
        assert counted(committed_org)[1] == 1  # its own write, already counted for itself
    connection.set_schema_to_public()

    assert outcome == ["locked, 0 spaces"]
    assert stored(committed_org)[1] == 1


@pytest.mark.django_db
def test_memberships_moved_to_another_organization_move_the_count(org, other_org):
    Membership.objects.filter(user=org.member, organization=org.organization).update(
        organization=other_org.organization
    )

    assert counted(org.organization)[0] == 2
    assert counted(other_org.organization)[0] == 4


@pytest.mark.django_db
def test_truncating_a_counted_table_counts_zero(org, in_tenant):
    # (Rows inserted in the same transaction would keep a TRUNCATE from running: their foreign keys' checks
    # are pending.) The stored count stands for rows committed earlier.
    OrganizationUsage.objects.filter(pk=org.organization.pk).update(spaces=2, reservations=5)

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Space._meta.db_table} CASCADE")
    connection.set_schema_to_public()

    assert counted(org.organization) == (3, 0, 0)


@pytest.mark.django_db
def test_recount_corrects_counters_that_drifted_and_reports_them(org, other_org, in_tenant):
    SpaceFactory()
    connection.set_schema_to_public()
    OrganizationUsage.objects.filter(pk=org.organization.pk).update(members=99, reservations=7)

    corrections = organization_usage_recount()

    assert corrections == [
        UsageCorrection(organization=org.organization, counter="members", counted_before=99, counted_now=3),
        UsageCorrection(organization=org.organization, counter="spaces", counted_before=0, counted_now=1),
        UsageCorrection(organization=org.organization, counter="reservations", counted_before=7, counted_now=0),
    ]
    # The space this transaction wrote is counted once: by the recount, not again at commit.
    assert counted(org.organization) == (3, 1, 0)
    assert stored(org.organization) == (3, 1, 0)
    assert organization_usage_recount() == []


@pytest.mark.django_db
def test_recount_creates_missing_counter_rows_and_locks_in_batches(org, other_org, monkeypatch):
    from tenants import services

    OrganizationUsage.objects.filter(pk=other_org.organization.pk).delete()
    Organization.objects.create(name="Gamma", slug="gamma", schema_name="org_gamma")  # no schema
    monkeypatch.setattr(services, "RECOUNT_BATCH_SCHEMAS", 2)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        corrections = organization_usage_recount()

    assert {(c.organization.slug, c.counter, c.counted_now) for c in corrections} == {("beta", "members", 3)}
    assert stored(other_org.organization) == (3, 0, 0)
    locks = [q["sql"] for q in queries if q["sql"].startswith("LOCK TABLE")]
    assert len(locks) == 2  # alpha and beta, then gamma
    assert "org_gamma" not in locks[1] and '"public"."accounts_membership"' in locks[1]


@pytest.mark.django_db
def test_recount_command_lists_the_corrections(org, other_org):
    from io import StringIO

    OrganizationUsage.objects.filter(pk=org.organization.pk).update(members=10)
    out = StringIO()

    call_command("recount_organization_usage", "--organization", "alpha", stdout=out)

    assert out.getvalue().splitlines() == ["alpha: members 10 -> 3", "Recounted; 1 count was off and corrected."]


@pytest.mark.django_db
def test_recount_command_refuses_an_unknown_organization():
    with pytest.raises(CommandError, match="No organization has the slug “nobody”"):
        call_command("recount_organization_usage", "--organization", "nobody")
