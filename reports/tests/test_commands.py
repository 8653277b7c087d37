import pytest
import time_machine
from django.core.management import call_command, load_command_class
from django.db import connection

from reports.models import MonthlyReport
from reservations.tests.factories import ReservationFactory
from tenants.models import Organization

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch):
    # run_from_argv closes every connection when it ends, which would end the test's transaction.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)


def run(*argv: str) -> None:
    """As `python manage.py generate_reports ...` runs it: errors print one line and exit non-zero."""
    load_command_class("reports", "generate_reports").run_from_argv(["manage.py", "generate_reports", *argv])


def reports_of(test_org) -> list[str]:
    connection.set_tenant(test_org.organization)
    months = [f"{report.month:%Y-%m}" for report in MonthlyReport.objects.all()]
    connection.set_schema_to_public()
    return months


def test_it_reports_every_organization_with_progress_and_running_twice_replaces(org, other_org, capsys):
    connection.set_tenant(org.organization)
    ReservationFactory(user=org.member)  # 10 March 2025
    connection.set_schema_to_public()

    call_command("generate_reports", month="2025-03")
    first = capsys.readouterr().out
    call_command("generate_reports", "--month", "2025-03")

    assert first.splitlines()[0].startswith("alpha: 2025-03 report #")
    assert "1 reservations, 1.0 booked hours" in first.splitlines()[0]
    assert first.splitlines()[1].startswith("beta: 2025-03 report #")
    assert reports_of(org) == ["2025-03"]
    assert reports_of(other_org) == ["2025-03"]


def test_one_organization_only(org, other_org, capsys):
    call_command("generate_reports", "--month", "2025-03", "--organization", "beta")

    assert capsys.readouterr().out.startswith("beta: 2025-03 report #")
    assert reports_of(org) == []
    assert reports_of(other_org) == ["2025-03"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--month", "2025-13"], "CommandError: --month must be a month like 2025-03, not '2025-13'.\n"),
        (["--month", "March"], "CommandError: --month must be a month like 2025-03, not 'March'.\n"),
        (["--month", "2999-01"], "CommandError: 2999-01 has not started yet.\n"),
        (
            ["--month", "2025-03", "--organization", "nope"],
            "CommandError: No active organization has the slug 'nope'.\n",
        ),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(org, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        run(*argv)

    assert exit_.value.code == 1
    assert capsys.readouterr().err == message
    assert reports_of(org) == []


def test_a_month_not_over_somewhere_fails_there_and_exits_non_zero(org, other_org, capsys):
    Organization.objects.filter(pk=other_org.organization.pk).update(timezone="Pacific/Honolulu")
    # 1 April 03:00 UTC: March is over in UTC, not yet in Honolulu (UTC-10).
    with time_machine.travel("2025-04-01 03:00Z"), pytest.raises(SystemExit) as exit_:
        run("--month", "2025-03")

    output = capsys.readouterr()
    assert exit_.value.code == 1
    assert output.out.startswith("alpha: 2025-03 report #")
    assert output.err == (
        "beta: month: March 2025 has not ended yet in Pacific/Honolulu.\n"
        "CommandError: 1 of 2 organizations have no report for 2025-03.\n"
    )


def test_help_describes_the_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        run("--help")

    assert exit_.value.code == 0
    help_text = capsys.readouterr().out
    assert "--month MONTH" in help_text
    assert "--organization SLUG" in help_text
    assert "replaces the month's report" in help_text
