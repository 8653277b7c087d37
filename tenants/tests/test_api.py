import pytest
from django.db import connection

from accounts.models import Membership, User
from tenants.models import Domain, Organization

REGISTER_URL = "/api/v1/auth/register"


def registration(**overrides) -> dict:
    return {
        "email": "ada@example.com",
        "password": "a long passphrase 42",
        "full_name": "Ada Lovelace",
        "organization_name": "Acme Coworking",
        "organization_slug": "acme",
        **overrides,
    }


def schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [name])
        return cursor.fetchone() is not None


@pytest.mark.django_db
def test_register_creates_organization_schema_domain_owner_and_tokens(api_client):
    response = api_client().post(REGISTER_URL, registration(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["user"]["email"] == "ada@example.com"
    assert body["organization"]["slug"] == "acme"
    assert body["organization"]["url"] == "http://acme.localhost/"
    assert body["access"] and body["refresh"]
    organization = Organization.objects.get(slug="acme")
    assert schema_exists(organization.schema_name)
    assert Domain.objects.filter(tenant=organization, domain="acme.localhost", is_primary=True).exists()
    assert Membership.objects.get(organization=organization).role == Membership.Role.OWNER


@pytest.mark.django_db
def test_registered_owner_can_use_the_token_on_the_new_host(api_client):
    body = api_client().post(REGISTER_URL, registration(), format="json").json()
    client = api_client()
    client.defaults["HTTP_HOST"] = "acme.localhost"
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")

    response = client.get("/api/v1/auth/me")

    assert response.status_code == 200
    assert response.json()["role"] == "owner"
    assert response.json()["organization"]["slug"] == "acme"


@pytest.mark.django_db
def test_register_keeps_the_request_port_in_the_organization_url(api_client):
    client = api_client()
    client.defaults["HTTP_HOST"] = "localhost:8000"
    response = client.post(REGISTER_URL, registration(), format="json")
    assert response.json()["organization"]["url"] == "http://acme.localhost:8000/"


@pytest.mark.django_db
def test_register_is_only_on_the_public_host(api_client, org):
    response = api_client(org).post(REGISTER_URL, registration(), format="json")
    assert response.status_code == 404


@pytest.mark.django_db
def test_failed_registration_leaves_nothing_behind(api_client, monkeypatch):
    from tenants import services

    def explode(**kwargs):
        raise RuntimeError("membership table on fire")

    real_create = Membership.objects.create
    monkeypatch.setattr(
        Membership.objects,
        "create",
        lambda **kwargs: explode() if kwargs.get("role") == "owner" else real_create(**kwargs),
    )
    with pytest.raises(RuntimeError):
        services.organization_register(
            organization_name="Doomed",
            organization_slug="doomed",
            owner_email="doomed@example.com",
            owner_password="a long passphrase 42",
        )

    assert not Organization.objects.filter(slug="doomed").exists()
    assert not Domain.objects.filter(domain="doomed.localhost").exists()
    assert not User.objects.filter(email="doomed@example.com").exists()
    assert not schema_exists("org_doomed")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("slug", "fragment"),
    [
        ("ab", "3 to 40"),
        ("a" * 41, "40"),
        ("Acme", "lowercase"),
        ("-acme", "start and end"),
        ("acme-", "start and end"),
        ("ac_me", "lowercase"),
        ("ac--me", "Hyphens"),
        ("admin", "reserved"),
        ("www", "reserved"),
        ("public", "reserved"),
        ("pg-data", "reserved"),
    ],
)
def test_register_refuses_invalid_or_reserved_slugs(api_client, slug, fragment):
    before = Organization.objects.count()
    response = api_client().post(REGISTER_URL, registration(organization_slug=slug), format="json")

    assert response.status_code == 400
    assert fragment in " ".join(response.json()["organization_slug"])
    assert Organization.objects.count() == before


@pytest.mark.django_db
def test_register_refuses_a_taken_slug(api_client, org):
    response = api_client().post(REGISTER_URL, registration(organization_slug="alpha"), format="json")
    assert response.status_code == 400
    assert "taken" in response.json()["organization_slug"][0]


@pytest.mark.django_db
def test_register_refuses_an_existing_email_whatever_its_case(api_client, org):
    response = api_client().post(REGISTER_URL, registration(email="OWNER@alpha.test"), format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["email"][0]
    assert not Organization.objects.filter(slug="acme").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["short", "password123", "12345678901"])
def test_register_refuses_weak_passwords(api_client, password):
    response = api_client().post(REGISTER_URL, registration(password=password), format="json")
    assert response.status_code == 400
    assert response.json()["password"]
    assert not Organization.objects.filter(slug="acme").exists()


@pytest.mark.django_db
def test_register_refuses_a_password_like_the_email(api_client):
    response = api_client().post(
        REGISTER_URL, registration(email="marvellous.person@example.com", password="marvellous.person"), format="json"
    )
    assert response.status_code == 400
    assert "similar" in response.json()["password"][0]


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["email", "password", "full_name", "organization_name", "organization_slug"])
def test_register_requires_every_field(api_client, field):
    payload = registration()
    del payload[field]
    response = api_client().post(REGISTER_URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()[field] == ["This field is required."]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("organization_name", "x" * 101), ("full_name", "x" * 151), ("email", "a" * 250 + "@example.com")],
)
def test_register_refuses_oversized_fields(api_client, field, value):
    response = api_client().post(REGISTER_URL, registration(**{field: value}), format="json")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
def test_register_refuses_an_unknown_timezone(api_client):
    response = api_client().post(REGISTER_URL, registration(timezone="Mars/Olympus"), format="json")
    assert response.status_code == 400
    assert "IANA" in response.json()["timezone"][0]


@pytest.mark.django_db
def test_register_answers_malformed_json_with_400(api_client):
    response = api_client().post(REGISTER_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
def test_unknown_organization_host_answers_json_404_under_api(api_client):
    client = api_client()
    client.defaults["HTTP_HOST"] = "nobody.localhost"
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 404
    assert response.json() == {"detail": "No organization lives at this address.", "code": "not_found"}


@pytest.mark.django_db
def test_unknown_organization_host_answers_a_404_page(client):
    response = client.get("/", HTTP_HOST="nobody.localhost")
    assert response.status_code == 404
    assert b"No organization lives at this address." in response.content


@pytest.mark.django_db
def test_inactive_organization_host_answers_404(api_client, org):
    Organization.objects.filter(pk=org.organization.pk).update(is_active=False)
    response = api_client(org, org.owner).get("/api/v1/auth/me")
    assert response.status_code == 404


@pytest.mark.django_db
def test_host_outside_base_domain_is_refused(client):
    response = client.get("/api/v1/auth/me", HTTP_HOST="evil.example.com")
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_taken_slug_has_the_code_slug_taken(api_client, org):
    response = api_client().post(REGISTER_URL, registration(organization_slug="alpha"), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "slug_taken"


@pytest.mark.django_db
def test_an_existing_email_has_the_code_email_taken(api_client, org):
    response = api_client().post(REGISTER_URL, registration(email="OWNER@alpha.test"), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "email_taken"
