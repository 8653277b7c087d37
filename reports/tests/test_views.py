"""Report pages: who may open them, what they show, the CSV download and the "generate" button."""

import html
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.models import MonthlyReport
from reports.tests.factories import generate
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page as a person reads it (entities decoded)."""
    return html.unescape(response.content.decode())


@pytest.fixture
def march(paris, in_tenant):
    """Two reports (February, March 2025) in alpha, Europe/Paris. March: two confirmed bookings by the member
    (Monday 10 March 10:00 and 11:00 local, in "Atrium", 40 EUR each), one cancelled; February: nothing."""
    with time_machine.travel("2025-02-01 12:00Z"):
        atrium = SpaceFactory(name="Atrium")
    for hour in (9, 10):
        ReservationFactory(
            space=atrium,
            user=paris.member,
            starts_at=datetime(2025, 3, 10, hour, tzinfo=UTC),
            price=Decimal("40.00"),
        )
    ReservationFactory(space=atrium, user=paris.admin, status=Reservation.Status.CANCELLED)
    return {"february": generate(date(2025, 2, 1)), "march": generate(date(2025, 3, 1))}


def words(response) -> str:
    """The page's text without markup, whitespace collapsed."""
    return re.sub(r" ([.,;])", r"\1", re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text(response))))


def pages(reports: dict[str, MonthlyReport]) -> list[str]:
    report = reports["march"]
    return ["/reports/", f"/reports/{report.pk}/", f"/reports/{report.pk}/csv/"]


# Who may open them


def test_anonymous_visitors_are_sent_to_the_login_form(web_client, paris, march):
    client = web_client(paris)
    for url in pages(march):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/login/?next={url}"


def test_members_get_the_friendly_403_page(web_client, paris, march):
    client = web_client(paris, paris.member)
    for url in pages(march):
        response = client.get(url)
        assert response.status_code == 403
        assert "Only the organization's owners and admins can open this page." in text(response)


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_open_every_report_page(web_client, paris, march, role):
    client = web_client(paris, getattr(paris, role))
    for url in pages(march):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize(("role", "shown"), [("owner", True), ("admin", True), ("member", False)])
def test_the_navigation_links_to_reports_for_owners_and_admins_only(web_client, paris, role, shown):
    page = text(web_client(paris, getattr(paris, role)).get("/"))
    assert ('href="/reports/">Reports</a>' in page) is shown


def test_another_organizations_report_is_not_found_here(web_client, paris, other_org, march):
    connection.set_tenant(other_org.organization)
    theirs = generate(date(2025, 3, 1))
    connection.set_tenant(paris.organization)
    MonthlyReport.objects.filter(pk=theirs.pk).delete()  # ids are per schema: make sure alpha has no such id

    client = web_client(paris, paris.owner)
    assert client.get(f"/reports/{theirs.pk}/").status_code == 404
    assert client.get(f"/reports/{theirs.pk}/csv/").status_code == 404
    assert web_client(other_org, other_org.owner).get(f"/reports/{theirs.pk}/").status_code == 200


# The list


def test_the_list_shows_each_month_newest_first_with_its_totals(web_client, paris, march):
    page = text(web_client(paris, paris.admin).get("/reports/"))

    assert "2 monthly reports, newest first" in page
    assert page.index("March 2025") < page.index("February 2025")
    assert f'href="/reports/{march["march"].pk}/"' in page
    assert "€80.00" in page
    assert "€0.00" in page


def test_the_list_without_reports_says_how_to_get_one(web_client, paris, in_tenant):
    page = text(web_client(paris, paris.owner).get("/reports/"))

    assert "No reports yet" in page
    assert "Generate report" in page


def test_the_list_takes_the_same_number_of_queries_for_many_reports(web_client, paris, march):
    client = web_client(paris, paris.owner)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/reports/").status_code == 200
    for month in range(1, 13):
        generate(date(2024, month, 1))
    with CaptureQueriesContext(connection) as many:
        response = client.get("/reports/")

    assert "14 monthly reports" in text(response)
    assert "Page 1 of 2" in text(response)
    assert len(many) == len(few) <= 8  # host, session, user, membership, count, page (+ search_path)


def test_the_list_pages_through_older_reports(web_client, paris, march):
    for month in range(1, 13):
        generate(date(2024, month, 1))
    client = web_client(paris, paris.owner)

    second = text(client.get("/reports/?page=2"))
    assert "Page 2 of 2" in second
    assert "February 2024" in second and "January 2024" in second
    assert "March 2025" not in second
    assert client.get("/reports/?page=nonsense").status_code == 200


# One report


def test_a_report_shows_the_months_figures(web_client, paris, march):
    page = words(web_client(paris, paris.owner).get(f"/reports/{march['march'].pk}/"))

    assert "Report for March 2025" in page
    assert "counted in Europe/Paris" in page
    assert "Reservations 2 confirmed or completed; 0 no-shows (0.0%)" in page
    assert "Cancellations 1 and 0 expired requests" in page
    assert "Booked hours 2.0 0.3% of 743.0 open hours" in page  # open around the clock; clocks change in March
    assert "Revenue €80.00" in page
    assert "Busiest day: Monday; busiest start time: 10:00." in page
    # The tables, with the labels a phone shows in each cell.
    assert (
        "Atrium Reservations: 2 Cancellations: 1 Expired: 0 No-shows: 0 (0.0%) Booked hours: 2.0 Open hours: 743.0 "
        "Utilisation: 0.3% Revenue: €80.00" in page
    )
    assert "Alpha Member member@alpha.test Reservations: 2 Booked hours: 2.0" in page


def test_a_report_draws_its_charts_with_the_figures_as_text_and_a_table_for_screen_readers(web_client, paris, march):
    page = re.sub(r"\s+", " ", text(web_client(paris, paris.owner).get(f"/reports/{march['march'].pk}/")))

    # Atrium, open around the clock: 2 of 743 hours booked in March (clocks change in Paris).
    assert '<rect class="bar-fill" width="0.27" height="1" />' in page
    assert '<span class="bar-value">0.3%</span>' in page
    assert '<span class="bar-value">€80.00</span>' in page
    for caption in ("Utilisation per space", "Revenue per space", "Reservations per weekday"):
        assert f"<caption>{caption}</caption>" in page
    assert "<caption>Reservations per start hour</caption>" in page
    assert '<th scope="row">10:00</th> <td>1</td>' in page
    assert '<th scope="row">Monday</th> <td>2</td>' in page
    assert page.count('aria-hidden="true"') >= 4  # the drawings themselves stay silent


def test_an_empty_month_shows_zeros_and_no_busiest_time(web_client, paris, march):
    page = text(web_client(paris, paris.owner).get(f"/reports/{march['february'].pk}/"))

    assert "Report for February 2025" in page
    assert "Busiest day" not in page
    assert "Nobody booked this month." in page


def test_an_unknown_report_is_a_404_page(web_client, paris, march):
    response = web_client(paris, paris.owner).get("/reports/999999/")
    assert response.status_code == 404


# CSV


def test_the_csv_download_is_the_stored_csv_as_an_attachment(web_client, paris, march):
    report = march["march"]
    response = web_client(paris, paris.admin).get(f"/reports/{report.pk}/csv/")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="report-2025-03.csv"'
    assert response.content.decode() == report.csv
    assert "reservations,2\n" in response.content.decode()


def test_the_report_page_links_to_its_csv(web_client, paris, march):
    report = march["march"]
    page = text(web_client(paris, paris.owner).get(f"/reports/{report.pk}/"))

    assert f'href="/reports/{report.pk}/csv/"' in page
    assert "Download CSV" in page


# Generating a month


def test_last_month_is_filled_in_the_generate_form(web_client, paris, in_tenant):
    # 00:30 on 1 May in Paris: April is last month there although it is still 30 April in UTC.
    with time_machine.travel("2025-04-30 22:30Z"):
        page = text(web_client(paris, paris.owner).get("/reports/"))

    assert 'name="month" value="2025-04"' in page


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_generating_a_month_opens_its_report_with_a_message(web_client, paris, march, role):
    ReservationFactory(user=paris.member, starts_at=datetime(2025, 3, 20, 9, tzinfo=UTC))

    response = web_client(paris, getattr(paris, role)).post("/reports/generate/", {"month": "2025-03"}, follow=True)

    report = MonthlyReport.objects.get(month=date(2025, 3, 1))
    assert response.redirect_chain[-1][0] == f"/reports/{report.pk}/"
    assert "The report for March 2025 is ready." in text(response)
    assert report.data["totals"]["reservations"] == 3  # replaced, with the new booking
    assert MonthlyReport.objects.count() == 2


def test_a_month_that_has_not_ended_is_refused_with_a_message(web_client, paris, in_tenant):
    with time_machine.travel("2025-04-15 12:00Z"):
        response = web_client(paris, paris.owner).post("/reports/generate/", {"month": "2025-04"}, follow=True)

    assert response.redirect_chain[-1][0] == "/reports/"
    assert "April 2025 has not ended yet in Europe/Paris." in text(response)
    assert not MonthlyReport.objects.exists()


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("", "Choose a month."),
        ("2025-13", "Enter a month like 2025-03."),
        ("March", "Enter a month like 2025-03."),
        ("9999-12", "Choose a month between 2000-01 and 9998-12."),
    ],
)
def test_a_bad_month_is_refused_with_a_message(web_client, paris, in_tenant, month, message):
    response = web_client(paris, paris.owner).post("/reports/generate/", {"month": month}, follow=True)

    assert response.status_code == 200
    assert message in text(response)
    assert not MonthlyReport.objects.exists()


def test_members_cannot_generate_reports(web_client, paris, in_tenant):
    response = web_client(paris, paris.member).post("/reports/generate/", {"month": "2025-03"})

    assert response.status_code == 403
    assert not MonthlyReport.objects.exists()


def test_generating_needs_the_csrf_token_and_a_post(web_client, paris, in_tenant):
    client = web_client(paris, paris.owner, enforce_csrf_checks=True)

    assert client.post("/reports/generate/", {"month": "2025-03"}).status_code == 403
    assert client.get("/reports/generate/").status_code == 405
    assert not MonthlyReport.objects.exists()


def test_generating_with_the_pages_csrf_token_works(web_client, paris, in_tenant):
    client = web_client(paris, paris.owner, enforce_csrf_checks=True)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text(client.get("/reports/"))).group(1)

    response = client.post("/reports/generate/", {"month": "2025-03", "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert MonthlyReport.objects.filter(month=date(2025, 3, 1)).exists()


def test_generated_at_is_shown_in_the_organizations_time(web_client, paris, in_tenant):
    generate(date(2025, 3, 1), now=datetime(2025, 4, 1, 6, 5, tzinfo=UTC))

    page = text(web_client(paris, paris.owner).get("/reports/"))

    assert "Generated 1 Apr 2025, 08:05" in page  # 06:05 UTC is 08:05 in Paris (summer time)


def test_a_report_built_before_no_shows_were_counted_shows_a_dash_for_them(web_client, paris, march):
    report = march["march"]
    for row in [report.data["totals"], *report.data["spaces"]]:
        del row["no_shows"], row["no_show_rate"]
    MonthlyReport.objects.filter(pk=report.pk).update(data=report.data)

    page = words(web_client(paris, paris.owner).get(f"/reports/{report.pk}/"))

    assert "Reservations 2 confirmed or completed Cancellations" in page
    assert "Expired: 0 No-shows: — Booked hours: 2.0" in page
