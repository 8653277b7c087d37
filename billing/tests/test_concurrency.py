"""Gapless numbers and no duplicate drafts when invoices are generated and issued at once. Threads on their
own connections, against a committed organization of their own (racing_organization)."""

import threading
from datetime import date

from django.db import connection, connections, transaction

from accounts.models import Membership, User
from accounts.tests.factories import TEST_PASSWORD
from billing import services
from billing.models import Invoice, InvoiceCounter
from billing.tests.factories import AFTER_MARCH, booking
from reservations.tests.test_database import racing_organization  # noqa: F401 (a fixture)

MARCH = date(2025, 3, 1)
BOOKERS = 6


class RolledBack(Exception):
    pass


def _bookers(organization) -> list[User]:
    users = []
    for n in range(BOOKERS):
        user = User.objects.create_user(email=f"booker{n}@racing.test", password=TEST_PASSWORD, full_name=f"B {n}")
        Membership.objects.create(user=user, organization=organization, role=Membership.Role.MEMBER)
        users.append(user)
    connection.set_tenant(organization)
    for n, user in enumerate(users):
        booking(user, day=n + 1, price=f"{10 + n}.00")
    connection.set_schema_to_public()
    return users


def _race(organization, calls: dict[str, object]) -> dict[str, object]:
    barrier = threading.Barrier(len(calls))
    outcome: dict[str, object] = {}

    def run(name, call) -> None:
        try:
            connection.set_tenant(organization)
            barrier.wait(timeout=30)
            outcome[name] = call()
        except Exception as error:  # the test reads what each thread met
            outcome[name] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcome


def test_concurrent_generation_and_issue_give_one_invoice_per_booker_and_numbers_without_gaps(
    racing_organization,  # noqa: F811
    django_db_blocker,
):
    organization = racing_organization.organization
    with django_db_blocker.unblock():
        users = _bookers(organization)
        try:

            def generate_and_issue(user_id: int):
                def call():
                    result = services.invoices_generate(month=MARCH, user_id=user_id, now=AFTER_MARCH)
                    (invoice,) = result.invoices
                    return services.invoice_issue(invoice_id=invoice.pk, actor=None)

                return call

            calls = {f"booker-{user.pk}": generate_and_issue(user.pk) for user in users}
            # Two more runs generate the whole month at the same moment, like beat and an admin's click.
            calls["everyone-1"] = lambda: services.invoices_generate(month=MARCH, now=AFTER_MARCH)
            calls["everyone-2"] = lambda: services.invoices_generate(month=MARCH, now=AFTER_MARCH)

            outcome = _race(organization, calls)

            errors = [value for value in outcome.values() if isinstance(value, Exception)]
            assert not errors, errors
            connection.set_tenant(organization)
            invoices = list(Invoice.objects.order_by("sequence_number"))
            assert sorted(invoice.user_id for invoice in invoices) == sorted(user.pk for user in users)
            assert [invoice.sequence_number for invoice in invoices] == list(range(1, BOOKERS + 1))
            assert [invoice.number for invoice in invoices] == [f"INV-{n:06d}" for n in range(1, BOOKERS + 1)]
            assert InvoiceCounter.objects.get().last_number == BOOKERS
        finally:
            connection.set_schema_to_public()
            User.objects.filter(pk__in=[user.pk for user in users]).delete()


def test_an_issue_that_rolls_back_gives_its_number_back(racing_organization, django_db_blocker):  # noqa: F811
    organization = racing_organization.organization
    with django_db_blocker.unblock():
        users = _bookers(organization)
        try:
            connection.set_tenant(organization)
            drafts = services.invoices_generate(month=MARCH, now=AFTER_MARCH).invoices
            connection.set_schema_to_public()

            def issue(invoice_id: int, *, fail: bool = False):
                def call():
                    with transaction.atomic():
                        invoice = services.invoice_issue(invoice_id=invoice_id, actor=None)
                        if fail:
                            raise RolledBack(invoice.number)
                    return invoice

                return call

            calls = {f"issue-{d.pk}": issue(d.pk, fail=n == 0) for n, d in enumerate(drafts)}
            outcome = _race(organization, calls)

            failed = [value for value in outcome.values() if isinstance(value, Exception)]
            assert len(failed) == 1 and isinstance(failed[0], RolledBack)
            connection.set_tenant(organization)
            numbers = sorted(Invoice.objects.exclude(sequence_number=None).values_list("sequence_number", flat=True))
            assert numbers == list(range(1, BOOKERS))
            assert Invoice.objects.filter(status=Invoice.Status.DRAFT).count() == 1
        finally:
            connection.set_schema_to_public()
            User.objects.filter(pk__in=[user.pk for user in users]).delete()
