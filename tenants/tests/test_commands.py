import io

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import connection

from accounts.models import Membership, User
from spacemanager.testing import manage_py
from tenants.models import Organization

COMMANDS = [
    "create_organization",
    "list_organizations",
    "deactivate_organization",
    "delete_organization",
    "recount_organization_usage",
]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def schema_exists(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        return cursor.fetchone() is not None


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_explains_itself_in_help(name):
    command = load_command_class("tenants", name)

    text = command.create_parser("manage.py", name).format_help()

    assert f"usage: manage.py {name}" in text
    assert command.help.split()[0] in text


# list_organizations


@pytest.mark.django_db
def test_list_shows_a_row_per_organization_with_counts_and_no_public_row(org, other_org):
    Organization.objects.filter(pk=other_org.organization.pk).update(is_active=False)

    lines = run("list_organizations").splitlines()

    assert lines[0].split() == ["slug", "name", "schema", "members", "spaces", "reservations", "created", "active"]
    rows = {line.split()[0]: line.split() for line in lines[2:] if line and not line.startswith(("-", "2 "))}
    assert set(rows) == {"alpha", "beta"}
    assert rows["alpha"][:6] == ["alpha", "Alpha", "org_alpha", "3", "0", "0"]
    assert rows["alpha"][-1] == "yes"
    assert rows["beta"][-1] == "no"
    assert "2 organizations" in lines[-1]


@pytest.mark.django_db
def test_list_with_estimates_reads_the_statistics_in_one_query_and_says_so(org, in_tenant):
    from django.test.utils import CaptureQueriesContext

    from spaces.tests.factories import SpaceFactory

    SpaceFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE spaces_space")
    connection.set_schema_to_public()

    with CaptureQueriesContext(connection) as queries:
        output = run("list_organizations", "--estimate")

    row = next(line.split() for line in output.splitlines() if line.startswith("alpha "))
    assert row[:5] == ["alpha", "Alpha", "org_alpha", "3", "3"]
    assert "estimates from the database's statistics" in output
    statements = [q["sql"] for q in queries if not q["sql"].startswith("SET search_path")]
    assert len(statements) == 2  # organizations with their members, statistics: none per schema
    assert not [sql for sql in statements if "count(*)" in sql]


@pytest.mark.django_db
def test_list_reads_the_counters_in_one_query_however_many_organizations(org, other_org, in_tenant):
    from django.test.utils import CaptureQueriesContext

    from spaces.tests.factories import SpaceFactory

    SpaceFactory.create_batch(2)
    connection.set_schema_to_public()
    Organization.objects.create(name="Gamma", slug="gamma", schema_name="org_gamma")

    with CaptureQueriesContext(connection) as queries:
        output = run("list_organizations")

    rows = {line.split()[0]: line.split() for line in output.splitlines() if line.startswith(("alpha ", "gamma "))}
    assert rows["alpha"][:6] == ["alpha", "Alpha", "org_alpha", "3", "2", "0"]
    assert rows["gamma"][:6] == ["gamma", "Gamma", "org_gamma", "0", "0", "0"]
    assert len([q for q in queries if not q["sql"].startswith("SET search_path")]) == 1


@pytest.mark.django_db
def test_list_without_organizations_says_how_to_create_one():
    Organization.objects.exclude(schema_name="public").delete()

    assert "No organizations yet" in run("list_organizations")


# deactivate_organization


@pytest.mark.django_db
def test_deactivate_and_reactivate_by_slug(org):
    assert "is deactivated" in run("deactivate_organization", "alpha")
    assert Organization.objects.get(slug="alpha").is_active is False

    assert "is active" in run("deactivate_organization", "alpha", "--reactivate")
    assert Organization.objects.get(slug="alpha").is_active is True


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["nobody", "public"])
def test_deactivate_unknown_slug_is_a_one_line_error(slug):
    with pytest.raises(CommandError, match=f"No organization has the slug “{slug}”"):
        run("deactivate_organization", slug)


# delete_organization


@pytest.mark.django_db
def test_delete_with_yes_drops_the_schema(org):
    call_command(
        "create_organization",
        name="Gamma",
        slug="gamma",
        owner_email="o@gamma.test",
        owner_password="a long passphrase 42",
        stdout=io.StringIO(),
    )
    assert schema_exists("org_gamma")

    output = run("delete_organization", "gamma", "--yes")

    assert "Deleted organization gamma" in output
    assert not schema_exists("org_gamma")
    assert not Organization.objects.filter(slug="gamma").exists()
    assert schema_exists("org_alpha")


@pytest.mark.django_db
def test_delete_asks_for_the_slug_and_deletes_when_it_matches(org, other_org):
    output = run("delete_organization", "beta", stdin=FakeTerminal("beta\n"))

    assert "Type the slug to confirm" in output
    assert not Organization.objects.filter(slug="beta").exists()
    assert not schema_exists("org_beta")


@pytest.mark.django_db
def test_delete_keeps_everything_when_the_typed_slug_differs(other_org):
    with pytest.raises(CommandError, match="did not match; nothing was deleted"):
        run("delete_organization", "beta", stdin=FakeTerminal("alpha\n"))

    assert Organization.objects.filter(slug="beta").exists()
    assert schema_exists("org_beta")


@pytest.mark.django_db
def test_delete_refuses_without_a_terminal_and_without_yes(other_org):
    with pytest.raises(CommandError, match="not a terminal; pass --yes"):
        run("delete_organization", "beta", stdin=io.StringIO("beta\n"))

    assert Organization.objects.filter(slug="beta").exists()


@pytest.mark.django_db
def test_delete_unknown_slug_is_an_error():
    with pytest.raises(CommandError, match="No organization has the slug"):
        run("delete_organization", "nobody", "--yes")


# create_organization


@pytest.mark.django_db
def test_create_organization_creates_schema_domain_and_owner(org):
    output = run(
        "create_organization",
        "--name=Gamma Rooms",
        "--slug=gamma",
        "--owner-email=owner@gamma.test",
        "--owner-password=a long passphrase 42",
        "--timezone=Europe/Paris",
    )

    organization = Organization.objects.get(slug="gamma")
    assert "Created organization gamma" in output
    assert schema_exists("org_gamma")
    assert organization.timezone == "Europe/Paris"
    owner = User.objects.get(email="owner@gamma.test")
    assert owner.check_password("a long passphrase 42")
    assert Membership.objects.get(organization=organization).user == owner


@pytest.mark.django_db
def test_create_organization_with_exist_ok_leaves_an_existing_one_alone(org):
    output = run("create_organization", "--name=Other", "--slug=alpha", "--owner-email=x@y.test", "--exist-ok")

    assert "already exists; nothing changed" in output
    assert Organization.objects.get(slug="alpha").name == "Alpha"
    assert not User.objects.filter(email="x@y.test").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("slug", "message"),
    [("Bad Slug", "Use only lowercase letters"), ("admin", "reserved"), ("alpha", "already taken")],
)
def test_create_organization_bad_slug_is_a_one_line_error(org, slug, message):
    with pytest.raises(CommandError, match=message) as error:
        run(
            "create_organization",
            "--name=X",
            f"--slug={slug}",
            "--owner-email=new@x.test",
            "--owner-password=a long passphrase 42",
        )

    assert "\n" not in str(error.value)
    assert not User.objects.filter(email="new@x.test").exists()


@pytest.mark.django_db
def test_create_organization_needs_a_password_when_not_interactive(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO())

    with pytest.raises(CommandError, match="--owner-password is required"):
        run("create_organization", "--name=Gamma", "--slug=gamma", "--owner-email=new@gamma.test")

    assert not Organization.objects.filter(slug="gamma").exists()


# The same, as an operator runs them: exit codes and no traceback.


@pytest.mark.django_db
def test_manage_py_bad_slug_exits_1_with_one_line_and_no_traceback(org):
    result = manage_py(
        "create_organization", "--name=X", "--slug=Bad Slug", "--owner-email=new@x.test", "--owner-password=pw-long-42!"
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("CommandError: slug: ")
    assert "Use only lowercase letters, digits and hyphens" in lines[0]


@pytest.mark.django_db
def test_manage_py_missing_password_without_terminal_exits_1(org):
    result = manage_py("create_organization", "--name=X", "--slug=gamma", "--owner-email=new@x.test")

    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: --owner-password is required when not running interactively."


@pytest.mark.django_db
def test_manage_py_delete_without_terminal_refuses_and_keeps_the_organization(org):
    result = manage_py("delete_organization", "alpha")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "pass --yes" in result.stderr
    assert schema_exists("org_alpha")


@pytest.mark.django_db
def test_manage_py_list_and_help_exit_0(org, other_org):
    listing = manage_py("list_organizations")
    help_text = manage_py("deactivate_organization", "--help")

    assert listing.returncode == 0, listing.stderr
    assert "org_alpha" in listing.stdout and "org_beta" in listing.stdout
    assert help_text.returncode == 0
    assert "--reactivate" in help_text.stdout


@pytest.mark.django_db
def test_manage_py_deactivate_unknown_slug_exits_1():
    result = manage_py("deactivate_organization", "nobody")

    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: slug: No organization has the slug “nobody”."


@pytest.mark.django_db
def test_create_organization_with_a_taken_slug_fails_with_slug_taken(org):
    with pytest.raises(CommandError) as error:
        run("create_organization", "--name=X", "--slug=alpha", "--owner-email=new@x.test", "--owner-password=a b c d 4")

    assert error.value.__cause__.code == "slug_taken"
