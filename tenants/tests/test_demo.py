from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from accounts.models import Membership
from billing.models import Invoice
from reports.selectors import month_bounds
from reports.services import previous_month
from reservations.models import Reservation
from spaces.models import OpeningHours, Space
from tenants.models import Organization


def counts(organization: Organization) -> tuple[int, int, int]:
    connection.set_tenant(organization)
    try:
        return Space.objects.count(), OpeningHours.objects.count(), Reservation.objects.count()
    finally:
        connection.set_schema_to_public()


@pytest.mark.django_db
def test_seed_demo_builds_organizations_people_spaces_and_bookable_reservations():
    call_command("seed_demo", slug="seeded", organizations=2, spaces=8, reservations=120, members=5, verbosity=0)

    for slug in ("seeded", "seeded-2"):
        organization = Organization.objects.get(slug=slug)
        spaces, hours, reservations = counts(organization)
        assert (spaces, reservations) == (8, 120)
        assert hours > 0
        assert Membership.objects.filter(organization=organization).count() == 7  # owner, admin, 5 members
    connection.set_tenant(Organization.objects.get(slug="seeded"))
    statuses = set(Reservation.objects.values_list("status", flat=True))
    assert {"completed", "confirmed"} <= statuses  # past and coming weeks

    # Last month's drafts, as on the 1st: one per booker with priced bookings that ended last month.
    month = previous_month(now=timezone.now(), timezone_name=connection.tenant.timezone)
    starts, ends = month_bounds(month, ZoneInfo(connection.tenant.timezone))
    billable = Reservation.objects.filter(
        status="completed", price__gt=0, starts_at__gte=starts, starts_at__lt=ends
    ).values_list("user_id", flat=True)
    invoices = Invoice.objects.filter(month=month)
    assert billable and set(invoices.values_list("user_id", flat=True)) == set(billable)
    assert set(invoices.values_list("status", flat=True)) == {"draft"}
    assert all(invoice.tax_rate == Decimal("20.00") and invoice.total > invoice.subtotal for invoice in invoices)


@pytest.mark.django_db
def test_seed_demo_twice_leaves_a_seeded_organization_alone(capsys):
    call_command("seed_demo", slug="again", spaces=3, reservations=10, members=1, verbosity=0)
    call_command("seed_demo", slug="again", spaces=3, reservations=10, members=1)

    assert counts(Organization.objects.get(slug="again"))[0::2] == (3, 10)
    assert "left as it is" in capsys.readouterr().out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "message"),
    [({"slug": "admin"}, "reserved"), ({"timezone": "Mars/Olympus"}, "time zone")],
)
def test_seed_demo_refuses_bad_options_in_one_line(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", **options)


@pytest.mark.django_db
def test_seed_demo_refuses_production(settings):
    settings.IS_PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo")


@pytest.mark.django_db
def test_ensure_demo_fills_the_demo_organization_once_and_prints_how_to_log_in(capsys, settings):
    call_command("ensure_demo", port="8123")
    call_command("ensure_demo", port="8123")

    output = capsys.readouterr().out
    assert "http://demo.localhost:8123/" in output
    assert f"owner@demo.example.com / {settings.DEMO_OWNER_PASSWORD}" in output
    demo = Organization.objects.get(slug="demo")
    assert counts(demo)[0] == 12
    owner = Membership.objects.get(organization=demo, role="owner").user
    assert owner.check_password(settings.DEMO_OWNER_PASSWORD)
