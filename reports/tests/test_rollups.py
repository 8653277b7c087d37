"""The analytics day rollups: the database keeps them equal to an aggregation from scratch after any write, and
the dashboard read from them answers what the reservations themselves answer (raw_analytics.py)."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command, load_command_class
from django.db import IntegrityError, connection, transaction

from reports.analytics import LEAD_TIME_BANDS, AnalyticsFilters, analytics_data
from reports.models import SpaceDay
from reports.selectors import HELD
from reports.services import analytics_rollups_rebuild
from reports.tests.raw_analytics import raw_analytics_data
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory
from tenants.models import Organization

pytestmark = pytest.mark.django_db
Status = Reservation.Status


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rollups() -> dict[str, list[tuple]]:
    """Every row of both rollups, in key order (without their ids)."""
    tables = {"space": "reports_spaceday", "booker": "reports_bookerday"}
    rows = {}
    with connection.cursor() as cursor:
        for name, table in tables.items():
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (constant names)
            columns = [column.name for column in cursor.description]
            rows[name] = sorted(
                tuple(value for column, value in zip(columns, row, strict=True) if column != "id")
                for row in cursor.fetchall()
            )
    return rows


def rebuilt() -> dict[str, list[tuple]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reports_rollup_rebuild()")
    return rollups()


def space_day(space, day: date) -> SpaceDay:
    return SpaceDay.objects.get(space=space, day=day)


def test_every_kind_of_write_keeps_the_rollups_equal_to_a_rebuild(paris, in_tenant):
    atelier, box = SpaceFactory(name="Atelier"), SpaceFactory(name="Box")
    member, admin = paris.member, paris.admin
    # Paris: 23:00 on Friday 7 March to 01:00 on Saturday (crosses local midnight).
    late = ReservationFactory(space=atelier, user=member, starts_at=utc(2025, 3, 7, 22), ends_at=utc(2025, 3, 8, 0))
    # Sunday 30 March, 01:00 CET to 04:00 CEST: two real hours, in the local hours 01 and 03.
    spring = ReservationFactory(space=box, user=admin, starts_at=utc(2025, 3, 30, 0), ends_at=utc(2025, 3, 30, 2))
    # Sunday 26 October, 02:00 CEST to 02:00 CET and on to 03:00: two real hours, both in the local hour 02.
    autumn = ReservationFactory(
        space=box, user=member, starts_at=utc(2025, 10, 26, 0), ends_at=utc(2025, 10, 26, 2), price=Decimal("9.50")
    )
    moved = ReservationFactory(space=atelier, user=admin, starts_at=utc(2025, 3, 10, 9), price=Decimal("20.00"))
    doomed = ReservationFactory(space=box, user=member, starts_at=utc(2025, 3, 11, 9), status=Status.PENDING)

    assert space_day(atelier, date(2025, 3, 7)).held_seconds == 3600
    assert space_day(atelier, date(2025, 3, 7)).confirmed == 1
    assert (space_day(atelier, date(2025, 3, 8)).held_seconds, space_day(atelier, date(2025, 3, 8)).h00) == (3600, 3600)
    assert space_day(atelier, date(2025, 3, 8)).confirmed == 0
    spring_day = space_day(box, date(2025, 3, 30))
    assert (spring_day.h01, spring_day.h02, spring_day.h03) == (3600, 0, 3600)
    assert space_day(box, date(2025, 10, 26)).h02 == 7200
    assert rollups() == rebuilt()

    # A move (to another space and day), a cancellation, status changes, a new price, a delete.
    moved.space, moved.starts_at, moved.ends_at = box, utc(2025, 3, 12, 13), utc(2025, 3, 12, 15)
    moved.save()
    late.status = Status.CANCELLED
    late.save()
    Reservation.objects.filter(pk=spring.pk).update(status=Status.COMPLETED, price=Decimal("12.00"))
    Reservation.objects.filter(pk=autumn.pk).update(status=Status.NO_SHOW)
    doomed.delete()
    assert rollups() == rebuilt()
    assert not SpaceDay.objects.filter(space=atelier, day=date(2025, 3, 8)).exists()  # emptied rows go
    assert space_day(atelier, date(2025, 3, 7)).cancelled == 1

    # Bulk writes: many rows in one statement each.
    Reservation.objects.bulk_create(
        Reservation(space=atelier, user=member, starts_at=utc(2025, 4, day, 8), ends_at=utc(2025, 4, day, 20))
        for day in range(1, 21)
    )
    Reservation.objects.filter(starts_at__month=4, starts_at__day__lte=10).update(status=Status.COMPLETED)
    Reservation.objects.filter(starts_at__month=4, starts_at__day__gt=15).delete()
    assert rollups() == rebuilt()
    assert sum(row.completed for row in SpaceDay.objects.filter(day__month=4)) == 10


def test_a_write_that_changes_nothing_counted_leaves_the_rollups_alone(paris, in_tenant):
    reservation = ReservationFactory(user=paris.member, starts_at=utc(2025, 3, 10, 9))
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM reports_spaceday")
        before = cursor.fetchall()
        Reservation.objects.filter(pk=reservation.pk).update(
            reminder_sent_at=utc(2025, 3, 9, 9), title="Renamed", sequence=3
        )
        cursor.execute("SELECT xmin::text FROM reports_spaceday")
        assert cursor.fetchall() == before


def test_a_new_zone_rebuilds_the_rollups_in_its_local_days(paris, in_tenant):
    space = SpaceFactory()
    ReservationFactory(space=space, user=paris.member, starts_at=utc(2025, 3, 10, 23), ends_at=utc(2025, 3, 11, 1))
    assert sorted(SpaceDay.objects.values_list("day", "held_seconds")) == [
        (date(2025, 3, 11), 7200)  # 00:00-02:00 in Paris
    ]

    Organization.objects.filter(pk=paris.organization.pk).update(timezone="America/New_York")

    assert sorted(SpaceDay.objects.values_list("day", "held_seconds")) == [(date(2025, 3, 10), 7200)]
    assert rollups() == rebuilt()


def test_the_rollups_count_the_dashboards_bands_statuses_and_held_ones():
    migration = import_module("reports.migrations.0003_day_rollups_kept_by_triggers")
    bounds = [str(int(low.total_seconds())) for _label, low, _high in LEAD_TIME_BANDS]
    assert ",".join(bounds) == migration.LEAD_BAND_BOUNDS
    assert list(migration.STATUSES) == Reservation.Status.values
    assert "c.status IN ('confirmed', 'completed') AS held" in migration.ROLLUP_SQL
    assert (Status.CONFIRMED, Status.COMPLETED) == HELD


ZONES = ["Europe/Paris", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"]


@pytest.mark.parametrize("zone", ZONES)
def test_the_dashboard_from_the_rollups_equals_the_aggregation_of_random_bookings(paris, in_tenant, zone):
    Organization.objects.filter(pk=paris.organization.pk).update(timezone=zone)
    paris.organization.refresh_from_db()
    rng = random.Random(zone)  # noqa: S311 (repeatable test data)
    spaces = [SpaceFactory(name=f"Space {index}", location=["North", "South"][index % 2]) for index in range(4)]
    people = [paris.owner, paris.admin, paris.member]
    start = utc(2025, 3, 1)
    made = []
    for _ in range(160):
        starts_at = start + timedelta(minutes=15 * rng.randrange(4 * 24 * 250))
        length = timedelta(minutes=15 * rng.choice([1, 2, 4, 8, 24, 40, 96, 130]))
        booked_before = timedelta(minutes=rng.choice([-30, 10, 90, 60 * 30, 60 * 24 * 9, 60 * 24 * 40]))
        try:
            with transaction.atomic():  # an active booking may clash with another: then it is not made
                reservation = ReservationFactory(
                    space=rng.choice(spaces),
                    user=rng.choice(people),
                    starts_at=starts_at,
                    ends_at=starts_at + length,
                    status=rng.choice(Status.values),
                    price=rng.choice([None, Decimal("10.00"), Decimal("37.25")]),
                )
        except IntegrityError:
            continue
        Reservation.objects.filter(pk=reservation.pk).update(created_at=starts_at - booked_before)
        made.append(reservation)
    for reservation in rng.sample(made, 40):  # moves, status changes and deletes after the fact
        action = rng.choice(["move", "status", "delete"])
        mine = Reservation.objects.filter(pk=reservation.pk)
        try:
            with transaction.atomic():
                if action == "move":
                    shift = timedelta(minutes=15 * rng.randrange(-400, 400))
                    mine.update(
                        starts_at=reservation.starts_at + shift,
                        ends_at=reservation.ends_at + shift,
                        space=rng.choice(spaces),
                    )
                elif action == "status":
                    mine.update(status=rng.choice(Status.values))
                else:
                    mine.delete()
        except IntegrityError:
            continue
    assert len(made) > 120
    assert rollups() == rebuilt()

    tz = paris.organization.timezone
    periods = [
        (date(2025, 3, 1), date(2025, 12, 31)),
        (date(2025, 3, 24), date(2025, 4, 6)),
        (date(2025, 10, 1), date(2025, 10, 31)),
    ]
    narrowings = [{}, {"location": "North"}, {"space_id": spaces[1].pk}]
    compared = 0
    for first_day, last_day in periods:
        for narrowing in narrowings:
            filters = AnalyticsFilters(first_day=first_day, last_day=last_day, timezone=ZoneInfo(tz), **narrowing)
            for bucket in ("day", "week"):
                expected = raw_analytics_data(organization=paris.organization, filters=filters, bucket=bucket)
                assert expected["totals"]["reservations"] > 0 or narrowing
                assert analytics_data(organization=paris.organization, filters=filters, bucket=bucket) == expected
                compared += 1
    assert compared == 18


@pytest.fixture
def keep_the_test_connection(monkeypatch):
    # run_from_argv closes every connection when it ends, which would end the test's transaction.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)


def test_the_rebuild_command_restores_damaged_rollups_with_progress(paris, capsys):
    connection.set_tenant(paris.organization)
    for day in (3, 17):
        ReservationFactory(user=paris.member, starts_at=utc(2025, 3, day, 9))
    ReservationFactory(user=paris.member, starts_at=utc(2025, 5, 2, 9))
    good = rollups()
    SpaceDay.objects.update(confirmed=0, held_seconds=99)
    SpaceDay.objects.filter(day=date(2025, 5, 2)).delete()
    months = []
    assert analytics_rollups_rebuild(progress=months.append) == 3
    assert months == [2, 1]  # March, then May
    assert rollups() == good
    SpaceDay.objects.all().delete()
    connection.set_schema_to_public()

    call_command("rebuild_analytics", organization="alpha")

    assert "alpha: analytics rebuilt from 3 reservations." in capsys.readouterr().out
    connection.set_tenant(paris.organization)
    assert rollups() == good
    connection.set_schema_to_public()


def test_the_rebuild_command_names_an_unknown_organization(db, keep_the_test_connection, capsys):
    command = load_command_class("reports", "rebuild_analytics")
    with pytest.raises(SystemExit):
        command.run_from_argv(["manage.py", "rebuild_analytics", "--organization", "nowhere"])
    assert "No active organization has the slug 'nowhere'." in capsys.readouterr().err


def test_the_trigger_plans_its_upsert_once_and_the_rebuild_for_its_rows(paris, in_tenant):
    """PL/pgSQL would plan the upsert afresh on every reservation write (its parameters make PostgreSQL keep
    custom plans, about 1 ms a booking): the trigger runs with the generic plan (reports 0005); the rebuild,
    called on its own with one large array, still gets a plan made for it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname, coalesce(p.proconfig, '{}') FROM pg_proc p "
            "WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'reports_rollup_%'"
        )
        settings = {name: [item for item in config if item.startswith("plan_cache_mode=")] for name, config in cursor}
    assert settings.pop("reports_rollup_changed") == ["plan_cache_mode=force_generic_plan"]
    assert settings and all(value == [] for value in settings.values()), settings
    space = SpaceFactory()
    ReservationFactory(space=space, user=paris.member, starts_at=utc(2025, 3, 10, 9), ends_at=utc(2025, 3, 10, 11))
    assert rollups() == rebuilt()
