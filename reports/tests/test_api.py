from datetime import date

import pytest

from reports.tests.factories import generate
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports"


@pytest.fixture
def reports(paris, in_tenant):
    ReservationFactory(user=paris.member)  # 10 March 2025
    return [generate(date(2025, 2, 1)), generate(date(2025, 3, 1))]


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_list_reports_newest_first(paris, api_client, reports, role):
    response = api_client(paris, getattr(paris, role)).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [report["month"] for report in body["results"]] == ["2025-03", "2025-02"]
    assert body["results"][0]["totals"]["reservations"] == 1
    assert body["results"][0]["totals"]["revenue"] == "0.00"


def test_members_may_not_read_reports(paris, api_client, reports):
    client = api_client(paris, paris.member)

    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}/{reports[0].pk}").status_code == 403


def test_reports_need_a_login(paris, api_client, reports):
    assert api_client(paris).get(URL).status_code == 401


def test_a_report_in_json_has_every_figure(paris, api_client, reports):
    response = api_client(paris, paris.admin).get(f"{URL}/{reports[1].pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["month"] == "2025-03"
    assert body["data"]["timezone"] == "Europe/Paris"
    assert body["data"]["top_bookers"][0]["email"] == "member@alpha.test"
    assert body["totals"] == body["data"]["totals"]


@pytest.mark.parametrize("how", [{"format": "csv"}, {"HTTP_ACCEPT": "text/csv"}])
def test_a_report_in_csv_by_query_or_accept_header(paris, api_client, reports, how):
    client = api_client(paris, paris.owner)
    query = {"format": how["format"]} if "format" in how else {}
    headers = {key: value for key, value in how.items() if key != "format"}

    response = client.get(f"{URL}/{reports[1].pk}", query, **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="report-2025-03.csv"'
    assert response.content.decode() == reports[1].csv


def test_the_list_in_csv_has_one_row_per_report(paris, api_client, reports):
    response = api_client(paris, paris.owner).get(URL, {"format": "csv"})

    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert (
        lines[0]
        == "id,month,generated_at,reservations,cancellations,expired,booked_hours,open_hours,utilisation,revenue,"
        "no_shows,no_show_rate"
    )
    assert lines[1].startswith(f"{reports[1].pk},2025-03,")
    assert lines[1].endswith(",1,0,0,1.0,743.0,0.0013,0.00,0,0.0")  # one space open all March, no no-shows
    assert len(lines) == 3


def test_errors_stay_json_when_csv_was_asked_for(paris, api_client, reports):
    response = api_client(paris, paris.member).get(f"{URL}/{reports[0].pk}", {"format": "csv"})

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"] == "Only owners and admins of this organization can do this."


def test_an_unknown_format_or_report_is_404(paris, api_client, reports):
    client = api_client(paris, paris.owner)

    assert client.get(URL, {"format": "xml"}).status_code == 404
    missing = client.get(f"{URL}/999999")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "No such report here."


def test_another_organizations_reports_are_invisible(paris, other_org, api_client, reports):
    client = api_client(other_org, other_org.owner)

    assert client.get(URL).json()["count"] == 0
    assert client.get(f"{URL}/{reports[0].pk}").status_code == 404


@pytest.mark.parametrize("how", [{"query": "?format=csv"}, {"HTTP_ACCEPT": "text/csv"}])
@pytest.mark.parametrize("which", ["list", "detail"])
def test_options_with_csv_asked_for_describes_the_endpoint_in_json(paris, api_client, reports, how, which):
    client = api_client(paris, paris.owner)
    path = URL if which == "list" else f"{URL}/{reports[0].pk}"
    headers = {key: value for key, value in how.items() if key != "query"}

    response = client.options(path + how.get("query", ""), **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "text/csv" in response.json()["renders"]


def test_a_report_built_before_no_shows_were_counted_answers_null_for_them(paris, api_client, reports):
    from reports.models import MonthlyReport

    old = reports[1]
    for row in [old.data["totals"], *old.data["spaces"]]:
        del row["no_shows"], row["no_show_rate"]
    MonthlyReport.objects.filter(pk=old.pk).update(data=old.data)
    client = api_client(paris, paris.owner)

    totals = client.get(f"{URL}/{old.pk}").json()["totals"]
    assert (totals["reservations"], totals["no_shows"], totals["no_show_rate"]) == (1, None, None)
    lines = client.get(URL, {"format": "csv"}).content.decode().splitlines()
    assert lines[1].endswith(",1,0,0,1.0,743.0,0.0013,0.00,,")
