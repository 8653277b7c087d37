import pytest
from django.db import connection

from accounts.models import Membership, User
from tenants.models import Domain, Organization

CHANGELIST = "/admin/tenants/organization/"
ADD = "/admin/tenants/organization/add/"


@pytest.mark.django_db
def test_organization_list_shows_counts_domain_and_state(platform_admin_client, org, other_org):
    response = platform_admin_client.get(CHANGELIST)

    assert response.status_code == 200
    rows = {row.slug: row for row in response.context["cl"].result_list}
    assert set(rows) == {"alpha", "beta"}  # the public site's row is not an organization
    assert rows["alpha"].member_count == 3
    assert (rows["alpha"].space_count, rows["alpha"].reservation_count) == (0, 0)
    content = response.content.decode()
    assert "alpha.localhost" in content
    assert "Deactivate selected organizations" in content


# The host's organization, session, user, the filtered COUNT (no second, unfiltered one:
# show_full_result_count is off), the page's rows, their usage counters, the date hierarchy's range and its
# days, the time zone and currency filters' choices.
CHANGELIST_QUERIES = 10


@pytest.mark.django_db
def test_organization_list_costs_a_fixed_number_of_queries(
    platform_admin_client, org, other_org, django_assert_num_queries
):
    platform_admin_client.get(CHANGELIST)  # the session's first use
    with django_assert_num_queries(CHANGELIST_QUERIES):
        platform_admin_client.get(CHANGELIST)
    for slug in ("gamma", "delta", "epsilon"):
        Organization.objects.create(name=slug.title(), slug=slug, schema_name=f"org_{slug}")

    with django_assert_num_queries(CHANGELIST_QUERIES) as queries:
        response = platform_admin_client.get(CHANGELIST)

    assert len(response.context["cl"].result_list) == 5
    # The counters are read for the page's rows alone; no COUNT, filter or date query joins them or the
    # memberships.
    usage_queries = [q["sql"] for q in queries if "tenants_organizationusage" in q["sql"]]
    assert len(usage_queries) == 1
    assert not [q["sql"] for q in queries if "accounts_membership" in q["sql"]]
    assert "COUNT(" not in usage_queries[0]


@pytest.mark.django_db
def test_organization_list_counts_members_spaces_and_reservations(platform_admin_client, org, in_tenant):
    from reservations.tests.factories import ReservationFactory

    ReservationFactory.create_batch(2, user=org.member)  # a space each
    connection.set_schema_to_public()
    Membership.objects.create(user=User.objects.create_user(email="fourth@alpha.test"), organization=org.organization)

    response = platform_admin_client.get(CHANGELIST)

    row = next(row for row in response.context["cl"].result_list if row.slug == "alpha")
    assert (row.member_count, row.space_count, row.reservation_count) == (4, 2, 2)


@pytest.mark.django_db
def test_organization_list_pages_follow_the_name_index(platform_admin_client, org, other_org):
    for index in range(60):
        Organization.objects.create(name=f"Filler {index:02}", slug=f"filler-{index:02}", schema_name=f"org_f{index}")

    first = platform_admin_client.get(CHANGELIST)
    second = platform_admin_client.get(CHANGELIST, {"p": 2})

    names = [row.name for row in first.context["cl"].result_list] + [
        row.name for row in second.context["cl"].result_list
    ]
    assert names == sorted(names) and len(names) == 62
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM tenants_organization WHERE NOT (schema_name = 'public') ORDER BY name, id LIMIT 50"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "organization_name_id" in plan and "Sort" not in plan


@pytest.mark.django_db
def test_organization_search_finds_by_domain(platform_admin_client, org, other_org):
    response = platform_admin_client.get(CHANGELIST, {"q": "beta.localhost"})

    assert [row.slug for row in response.context["cl"].result_list] == ["beta"]


@pytest.mark.django_db
def test_deactivate_and_reactivate_actions(platform_admin_client, org, other_org):
    ids = [org.organization.pk, other_org.organization.pk]

    response = platform_admin_client.post(CHANGELIST, {"action": "deactivate", "_selected_action": ids}, follow=True)
    assert "Deactivated 2 organization(s)." in response.content.decode()
    assert not Organization.objects.filter(pk__in=ids, is_active=True).exists()

    platform_admin_client.post(CHANGELIST, {"action": "reactivate", "_selected_action": ids})
    assert Organization.objects.filter(pk__in=ids, is_active=True).count() == 2


@pytest.mark.django_db
def test_bulk_delete_is_not_offered(platform_admin_client, org):
    response = platform_admin_client.get(CHANGELIST)

    assert "delete_selected" not in response.content.decode()


@pytest.mark.django_db
def test_adding_an_organization_provisions_schema_domain_and_owner(platform_admin_client, org):
    response = platform_admin_client.post(
        ADD,
        {
            "name": "Gamma Rooms",
            "slug": "gamma",
            "timezone": "Europe/Paris",
            "currency": "EUR",
            "owner_email": "Owner@Gamma.test",
            "owner_full_name": "Gia Owner",
        },
    )

    organization = Organization.objects.get(slug="gamma")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/tenants/organization/{organization.pk}/change/"
    assert Domain.objects.filter(tenant=organization, domain="gamma.localhost", is_primary=True).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'org_gamma'")
        assert cursor.fetchone()
    owner = Membership.objects.get(organization=organization).user
    assert owner.email == "owner@gamma.test"
    assert not owner.has_usable_password()


@pytest.mark.django_db
def test_adding_an_organization_makes_an_existing_person_owner(platform_admin_client, org):
    platform_admin_client.post(
        ADD,
        {"name": "Gamma", "slug": "gamma", "timezone": "UTC", "currency": "EUR", "owner_email": "member@alpha.test"},
    )

    membership = Membership.objects.get(organization__slug="gamma")
    assert (membership.user, membership.role) == (org.member, Membership.Role.OWNER)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "alpha", "already taken"),
        ("slug", "Bad Slug", "Use only lowercase letters"),
        ("slug", "admin", "reserved"),
        ("timezone", "Mars/Olympus", "not a known time zone"),
    ],
)
def test_adding_an_organization_with_bad_input_shows_the_form_again(platform_admin_client, org, field, value, message):
    data = {"name": "Gamma", "slug": "gamma", "timezone": "UTC", "currency": "EUR", "owner_email": "o@gamma.test"}

    response = platform_admin_client.post(ADD, {**data, field: value})

    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors[field])
    assert not Organization.objects.filter(name="Gamma").exists()
    assert not User.objects.filter(email="o@gamma.test").exists()


@pytest.mark.django_db
def test_add_form_renders(platform_admin_client):
    response = platform_admin_client.get(ADD)

    assert response.status_code == 200
    assert 'name="owner_email"' in response.content.decode()


@pytest.mark.django_db
def test_editing_keeps_the_slug_and_changes_the_name(platform_admin_client, org):
    url = f"/admin/tenants/organization/{org.organization.pk}/change/"

    response = platform_admin_client.post(
        url, {"name": "Alpha Renamed", "timezone": "UTC", "currency": "USD", "slug": "hacked"}
    )

    assert response.status_code == 302
    organization = Organization.objects.get(pk=org.organization.pk)
    assert (organization.name, organization.slug, organization.currency) == ("Alpha Renamed", "alpha", "USD")


@pytest.mark.django_db
def test_deleting_one_organization_drops_its_schema(platform_admin_client, org, other_org):
    url = f"/admin/tenants/organization/{other_org.organization.pk}/delete/"

    response = platform_admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Organization.objects.filter(slug="beta").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname IN ('org_alpha', 'org_beta')")
        assert [name for (name,) in cursor.fetchall()] == ["org_alpha"]


@pytest.mark.django_db
def test_public_site_domain_is_read_only(platform_admin_client, org):
    public_domain = Domain.objects.get(domain="localhost")

    assert platform_admin_client.get(f"/admin/tenants/domain/{public_domain.pk}/delete/").status_code == 403
    assert (
        platform_admin_client.get(f"/admin/tenants/domain/{org.organization.domains.get().pk}/change/").status_code
        == 200
    )
