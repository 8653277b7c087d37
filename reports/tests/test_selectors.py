"""The month's figures against numbers computed by hand (Europe/Paris: March has 743 hours, October 745)."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine

from reports.selectors import monthly_report_csv, monthly_report_data
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.models import OpeningHours
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.django_db
Status = Reservation.Status


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def booking(user, space, starts_at, hours, status=Status.COMPLETED, price=None):
    return ReservationFactory(
        user=user,
        space=space,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        status=status,
        price=price,
    )


@pytest.fixture
def march(paris, in_tenant):
    """Two spaces and a month of bookings in Paris, every figure worked out in the comments."""
    with time_machine.travel("2025-02-01 12:00Z"):
        atelier = SpaceFactory(name="Atelier", hourly_rate=Decimal("20.00"))
        box = SpaceFactory(name="Box")  # no opening hours: open 24 h a day
        SpaceFactory(name="Archived", is_active=False)  # no bookings: not in the report
    with time_machine.travel("2025-04-10 12:00Z"):
        SpaceFactory(name="Opened in April")  # did not exist in March
    # Atelier: Monday to Friday 09:00-17:00; March 2025 has 21 weekdays -> 168 open hours.
    OpeningHours.objects.bulk_create(
        OpeningHours(space=atelier, weekday=day, opens_at=time(9), closes_at=time(17)) for day in range(5)
    )
    member, admin, owner = paris.member, paris.admin, paris.owner
    # Atelier: 2 + 1 + 3 booked hours, 40 + 20 + 60 revenue; the cancelled one counts apart.
    booking(member, atelier, utc(2025, 3, 3, 9), 2, price=Decimal("40.00"))  # Mon 10:00 Paris
    booking(member, atelier, utc(2025, 3, 10, 9), 1, price=Decimal("20.00"))  # Mon 10:00
    booking(admin, atelier, utc(2025, 3, 12, 13), 3, Status.CONFIRMED, Decimal("60.00"))  # Wed 14:00
    booking(member, atelier, utc(2025, 3, 14, 9), 1, Status.CANCELLED, Decimal("20.00"))
    booking(admin, atelier, utc(2025, 3, 17, 9), 1, Status.NO_SHOW, Decimal("20.00"))  # not held: no hours
    # Box: Mon 31 Mar 23:00 CEST for 2 h -> 1 h in March; Fri 28 Feb 23:00 CET for 3 h -> 2 h in March (but a
    # February booking); Sun 30 Mar 01:00 CET to 04:00 CEST -> 2 real hours across the clock change.
    booking(admin, box, utc(2025, 3, 31, 21), 2, Status.CONFIRMED)
    booking(owner, box, utc(2025, 2, 28, 22), 3)
    booking(member, box, utc(2025, 3, 30, 0), 2)
    booking(member, box, utc(2025, 3, 20, 9), 1, Status.EXPIRED)
    booking(member, box, utc(2025, 4, 2, 9), 1, Status.CONFIRMED)  # April
    return {"atelier": atelier, "box": box}


def test_the_month_totals_match_the_hand_computed_figures(paris, march):
    data = monthly_report_data(organization=paris.organization, month=date(2025, 3, 1))

    assert data["period"] == {"starts_at": "2025-02-28T23:00:00+00:00", "ends_at": "2025-03-31T22:00:00+00:00"}
    assert data["totals"] == {
        "reservations": 5,
        "cancellations": 1,
        "expired": 1,
        "booked_hours": 11.0,
        "open_hours": 911.0,  # 168 + 743
        "utilisation": 0.0121,  # 11 / 911
        "revenue": "120.00",
        "no_shows": 1,
        "no_show_rate": 0.125,  # 1 of the 8 reservations starting in March
    }


def test_utilisation_and_revenue_per_space(paris, march):
    data = monthly_report_data(organization=paris.organization, month=date(2025, 3, 1))

    assert [space["name"] for space in data["spaces"]] == ["Atelier", "Box"]
    atelier, box = data["spaces"]
    assert atelier | {"id": None} == {
        "id": None,
        "name": "Atelier",
        "reservations": 3,
        "cancellations": 1,
        "expired": 0,
        "booked_hours": 6.0,
        "open_hours": 168.0,
        "utilisation": 0.0357,  # 6 / 168
        "revenue": "120.00",
        "no_shows": 1,
        "no_show_rate": 0.2,  # 1 of Atelier's 5 starting in March (3 held, 1 cancelled, 1 no-show)
    }
    assert (box["reservations"], box["expired"], box["booked_hours"], box["open_hours"]) == (2, 1, 5.0, 743.0)
    assert box["utilisation"] == 0.0067  # 5 / 743
    assert box["revenue"] == "0.00"
    assert (box["no_shows"], box["no_show_rate"]) == (0, 0.0)


def test_busiest_weekdays_and_hours_are_counted_in_local_time(paris, march):
    data = monthly_report_data(organization=paris.organization, month=date(2025, 3, 1))

    weekdays = {row["weekday"]: row["reservations"] for row in data["weekdays"]}
    assert weekdays == {
        "Monday": 3,
        "Tuesday": 0,
        "Wednesday": 1,
        "Thursday": 0,
        "Friday": 0,
        "Saturday": 0,
        "Sunday": 1,
    }
    hours = {row["hour"]: row["reservations"] for row in data["hours"] if row["reservations"]}
    assert hours == {1: 1, 10: 2, 14: 1, 23: 1}
    assert (data["busiest_weekday"], data["busiest_hour"]) == ("Monday", 10)


def test_top_bookers_come_with_their_names(paris, march):
    data = monthly_report_data(organization=paris.organization, month=date(2025, 3, 1))

    assert data["top_bookers"] == [
        {
            "user_id": paris.member.pk,
            "email": "member@alpha.test",
            "full_name": "Alpha Member",
            "reservations": 3,
            "booked_hours": 5.0,
        },
        {
            "user_id": paris.admin.pk,
            "email": "admin@alpha.test",
            "full_name": "Alpha Admin",
            "reservations": 2,
            "booked_hours": 4.0,
        },
        {
            "user_id": paris.owner.pk,
            "email": "owner@alpha.test",
            "full_name": "Alpha Owner",
            "reservations": 0,
            "booked_hours": 2.0,
        },
    ]


def test_october_has_an_extra_hour_and_a_night_across_the_change_counts_real_hours(paris, in_tenant):
    with time_machine.travel("2025-09-01 12:00Z"):
        daily = open_every_day(SpaceFactory(name="Daily"))  # 08:00-18:00: 31 x 10 h
        nightly = SpaceFactory(name="Nightly")
    # Sun 26 Oct 01:00 CEST to 04:00 CET: four real hours.
    booking(paris.member, nightly, utc(2025, 10, 25, 23), 4)

    data = monthly_report_data(organization=paris.organization, month=date(2025, 10, 1))

    by_name = {space["name"]: space for space in data["spaces"]}
    assert by_name["Daily"]["open_hours"] == 310.0
    assert by_name["Nightly"]["open_hours"] == 745.0
    assert by_name["Nightly"]["booked_hours"] == 4.0
    assert data["busiest_weekday"] == "Sunday"
    assert data["busiest_hour"] == 1
    assert daily.pk in {space["id"] for space in data["spaces"]}


def test_an_empty_month_reports_zeros_not_errors(paris, in_tenant):
    data = monthly_report_data(organization=paris.organization, month=date(2025, 3, 1))

    assert data["totals"]["reservations"] == 0
    assert data["busiest_weekday"] is None
    assert data["top_bookers"] == []
    assert "reservations,0" in monthly_report_csv(data)


def test_the_report_takes_a_fixed_number_of_queries_whatever_the_bookings(
    paris, in_tenant, django_assert_max_num_queries
):
    with time_machine.travel("2025-02-01 12:00Z"):
        spaces = [SpaceFactory() for _ in range(10)]
    Reservation.objects.bulk_create(
        Reservation(
            space=spaces[i % 10],
            user_id=[paris.member.pk, paris.admin.pk][i % 2],
            starts_at=utc(2025, 3, 1 + i % 28, i % 24),
            ends_at=utc(2025, 3, 1 + i % 28, i % 24) + timedelta(minutes=30),
            status=Status.COMPLETED,
        )
        for i in range(200)
    )

    # Six queries, each preceded by django-tenants' `SET search_path`.
    with django_assert_max_num_queries(12):
        data = monthly_report_data(organization=paris.organization, month=date(2025, 3, 1))

    assert data["totals"]["reservations"] == 200
    assert data["totals"]["booked_hours"] == 100.0


def test_the_csv_has_a_summary_and_a_table_per_section(paris, march):
    text = monthly_report_csv(monthly_report_data(organization=paris.organization, month=date(2025, 3, 1)))

    sections = text.split("\n\n")
    assert sections[0] == "report,Alpha,2025-03,Europe/Paris,EUR"
    assert "reservations,5\n" in sections[1]
    assert "utilisation,0.0121\nrevenue,120.00\nno_shows,1\nno_show_rate,0.1250" in sections[1]
    assert sections[2].splitlines()[0].startswith("space_id,space,reservations")
    assert f"{march['atelier'].pk},Atelier,3,1,0,6.0,168.0,0.0357,120.00,1,0.2000" in sections[2]
    assert "Monday,3" in sections[3]
    assert "10:00,2" in sections[4]
    assert sections[5].splitlines()[1] == "member@alpha.test,Alpha Member,3,5.0"


def test_the_csv_defuses_names_a_spreadsheet_would_run_as_formulas(paris, march):
    from accounts.models import User

    User.objects.filter(email="member@alpha.test").update(full_name='=HYPERLINK("http://evil.example","x")')
    text = monthly_report_csv(monthly_report_data(organization=paris.organization, month=date(2025, 3, 1)))

    assert 'member@alpha.test,"\'=HYPERLINK(""http://evil.example"",""x"")",3,5.0' in text
    assert ",=HYPERLINK" not in text
