"""Public site pages (landing, sign-up, find my organization) and an organization's settings page."""

import html
from urllib.parse import urlsplit

import pytest

from accounts.models import Membership, User
from tenants.models import Organization

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


def signup_data(**overrides) -> dict:
    return {
        "email": "ada@example.com",
        "password": "a long passphrase 42",
        "full_name": "Ada Lovelace",
        "organization_name": "Acme Coworking",
        "organization_slug": "acme",
        "timezone": "Europe/Paris",
        **overrides,
    }


# Landing


def test_landing_says_what_spacemanager_does_and_links_to_sign_up(web_client):
    response = web_client().get("/")
    page = text(response)
    assert response.status_code == 200
    assert "meeting rooms, desks, offices, studios and event halls" in page
    assert '<a class="btn btn-light btn-lg" href="/signup/">Sign up</a>' in page
    assert 'href="/find/"' in page


def test_public_pages_do_not_exist_on_an_organization_host(web_client, org):
    assert web_client(org).get("/signup/").status_code == 404
    assert web_client(org).get("/find/").status_code == 404


def test_organization_pages_do_not_exist_on_the_public_host(web_client):
    assert web_client().get("/members/").status_code == 404
    assert web_client().get("/settings/").status_code == 404
    assert web_client().get("/login/").status_code == 404


# Sign-up


def test_signup_form_uses_the_api_field_names_with_visible_labels(web_client):
    page = text(web_client().get("/signup/"))
    for field in ("email", "password", "full_name", "organization_name", "organization_slug", "timezone"):
        assert f'name="{field}"' in page
        assert f'<label class="form-label" for="id_{field}">' in page


def test_signup_creates_the_organization_and_sends_the_owner_logged_in_to_its_site(web_client):
    client = web_client()
    client.defaults["HTTP_HOST"] = "localhost:8000"
    response = client.post("/signup/", signup_data())

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc) == ("http", "acme.localhost:8000")
    assert location.path.startswith("/welcome/")
    organization = Organization.objects.get(slug="acme")
    assert organization.name == "Acme Coworking"
    assert organization.timezone == "Europe/Paris"
    assert Membership.objects.get(organization=organization).role == Membership.Role.OWNER

    landing = client.get(location.path, HTTP_HOST="acme.localhost:8000", follow=True)
    assert landing.redirect_chain[-1][0] == "/"
    assert "Welcome to Acme Coworking!" in text(landing)
    assert "Hello, Ada" in text(landing)


def test_signup_without_timezone_uses_utc_and_lowercases_the_address(web_client):
    response = web_client().post("/signup/", signup_data(timezone="", organization_slug=" Acme "))
    assert response.status_code == 302
    assert Organization.objects.get(slug="acme").timezone == "UTC"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"organization_slug": "alpha"}, "organization_slug", "This address is already taken"),
        ({"organization_slug": "admin"}, "organization_slug", "is reserved"),
        ({"organization_slug": "a_b"}, "organization_slug", "Use only lowercase letters, digits and hyphens"),
        ({"email": "OWNER@alpha.test"}, "email", "An account with this email already exists"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"password": "password123"}, "password", "This password is too common."),
        ({"full_name": ""}, "full_name", "This field is required."),
        ({"organization_name": "x" * 101}, "organization_name", "at most 100 characters"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Select a valid choice."),
    ],
)
def test_signup_with_bad_input_shows_the_error_next_to_the_field_and_creates_nothing(
    web_client, org, overrides, field, message
):
    before = Organization.objects.count(), User.objects.count()
    response = web_client().post("/signup/", signup_data(**overrides))

    assert response.status_code == 400
    page = text(response)
    error_block = page.split(f'id="id_{field}_error"', 1)
    assert len(error_block) == 2, f"no inline error for {field}"
    assert message in error_block[1].split("</div>", 1)[0]
    assert 'aria-invalid="true"' in page
    assert (Organization.objects.count(), User.objects.count()) == before


def test_signup_keeps_what_was_typed_except_the_password(web_client):
    page = text(web_client().post("/signup/", signup_data(organization_slug="admin")))
    assert 'value="Ada Lovelace"' in page
    assert 'value="ada@example.com"' in page
    assert "a long passphrase 42" not in page


def test_signup_refuses_a_post_without_csrf_token(web_client):
    response = web_client(enforce_csrf_checks=True).post("/signup/", signup_data())
    assert response.status_code == 403
    assert not Organization.objects.filter(slug="acme").exists()


# Find my organization


def test_find_my_organization_goes_to_its_login_page(web_client, org):
    client = web_client()
    client.defaults["HTTP_HOST"] = "localhost:8000"
    response = client.post("/find/", {"organization_slug": "Alpha"})
    assert response.status_code == 302
    assert response.headers["Location"] == "http://alpha.localhost:8000/login/"


def test_find_accepts_a_pasted_address(web_client, org):
    response = web_client().post("/find/", {"organization_slug": "http://alpha.localhost/"})
    assert response.headers["Location"] == "http://alpha.localhost/login/"


@pytest.mark.parametrize("slug", ["nobody", "public", ""])
def test_find_with_an_unknown_address_says_so(web_client, org, slug):
    response = web_client().post("/find/", {"organization_slug": slug})
    assert response.status_code == 400
    assert 'id="id_organization_slug_error"' in text(response)


def test_find_does_not_reveal_deactivated_organizations(web_client, org):
    Organization.objects.filter(pk=org.organization.pk).update(is_active=False)
    response = web_client().post("/find/", {"organization_slug": "alpha"})
    assert response.status_code == 400
    assert "No organization uses this address." in text(response)


# Organization settings


def test_settings_need_a_login(web_client, org):
    assert web_client(org).get("/settings/").headers["Location"] == "/login/?next=/settings/"


def test_settings_are_forbidden_to_members(web_client, org):
    client = web_client(org, org.member)
    assert client.get("/settings/").status_code == 403
    response = client.post("/settings/", {"name": "Hijacked", "timezone": "UTC", "currency": "EUR"})
    assert response.status_code == 403
    org.organization.refresh_from_db()
    assert org.organization.name == "Alpha"


def test_admin_sees_the_current_settings(web_client, org):
    page = text(web_client(org, org.admin).get("/settings/"))
    assert 'value="Alpha"' in page
    assert '<option value="UTC" selected>' in page
    assert 'value="EUR"' in page


def test_admin_saves_settings(web_client, org):
    client = web_client(org, org.admin)
    response = client.post(
        "/settings/", {"name": "Alpha Studios", "timezone": "Europe/Paris", "currency": "usd"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/settings/"
    assert "Settings saved." in text(response)
    assert "Alpha Studios" in text(response)  # the navigation shows the new name
    org.organization.refresh_from_db()
    assert (org.organization.name, org.organization.timezone, org.organization.currency) == (
        "Alpha Studios",
        "Europe/Paris",
        "USD",
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "timezone": "UTC", "currency": "EUR"}, "name", "This field is required."),
        ({"name": "A" * 101, "timezone": "UTC", "currency": "EUR"}, "name", "at most 100 characters"),
        ({"name": "Alpha", "timezone": "Mars/Olympus", "currency": "EUR"}, "timezone", "Select a valid choice."),
        ({"name": "Alpha", "timezone": "UTC", "currency": "EU"}, "currency", "three-letter ISO 4217"),
        ({"name": "Alpha", "timezone": "UTC", "currency": "€€€"}, "currency", "three-letter ISO 4217"),
    ],
)
def test_settings_with_bad_input_show_the_error_and_change_nothing(web_client, org, data, field, message):
    response = web_client(org, org.owner).post("/settings/", data)
    assert response.status_code == 400
    page = text(response)
    assert message in page.split(f'id="id_{field}_error"', 1)[1].split("</div>", 1)[0]
    org.organization.refresh_from_db()
    assert (org.organization.name, org.organization.timezone, org.organization.currency) == ("Alpha", "UTC", "EUR")


def test_admin_sets_the_check_in_defaults_for_new_spaces(web_client, org):
    data = {"name": "Alpha", "timezone": "UTC", "currency": "EUR", "default_check_in_required": "on"}

    saved = web_client(org, org.admin).post("/settings/", {**data, "default_check_in_grace_minutes": "5"})
    refused = web_client(org, org.admin).post("/settings/", {**data, "default_check_in_grace_minutes": "0"})

    assert saved.status_code == 302
    assert refused.status_code == 400
    assert "greater than or equal to 1" in text(refused).split('id="id_default_check_in_grace_minutes_error"', 1)[1]
    org.organization.refresh_from_db()
    assert (org.organization.default_check_in_required, org.organization.default_check_in_grace_minutes) == (True, 5)


def test_settings_of_one_organization_never_touch_another(web_client, org, other_org):
    web_client(org, org.owner).post("/settings/", {"name": "Renamed", "timezone": "UTC", "currency": "EUR"})
    other_org.organization.refresh_from_db()
    assert other_org.organization.name == "Beta"
    response = web_client(org, other_org.owner).get("/settings/")
    assert response.status_code == 403


# Inline validation (htmx)


def htmx_post(client, field: str, data: dict):
    return client.post("/signup/", data, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME=field)


def test_signup_fields_ask_htmx_to_check_them_when_they_change(web_client):
    page = text(web_client().get("/signup/"))
    assert 'hx-post="/signup/" hx-trigger="change" hx-target="#field-organization_slug"' in page
    assert '<div class="mb-3 " id="field-organization_slug">' in page


def test_inline_check_of_a_taken_address_answers_only_that_field_and_creates_nothing(web_client, org):
    response = htmx_post(web_client(), "organization_slug", signup_data(organization_slug="alpha"))
    assert response.status_code == 200
    fragment = text(response)
    assert fragment.lstrip().startswith('<div class="mb-3 " id="field-organization_slug">')
    assert "This address is already taken" in fragment
    assert "<html" not in fragment


def test_inline_check_of_a_valid_form_creates_nothing(web_client):
    response = htmx_post(web_client(), "organization_slug", signup_data())
    assert "is-invalid" not in text(response)
    assert not Organization.objects.filter(slug="acme").exists()
    assert not User.objects.filter(email="ada@example.com").exists()


def test_inline_check_reports_a_malformed_email_next_to_it(web_client):
    fragment = text(htmx_post(web_client(), "email", signup_data(email="ada@")))
    assert 'id="id_email_error"' in fragment
    assert "Enter a valid email address." in fragment


def test_password_is_never_checked_inline_so_its_field_is_never_emptied(web_client):
    page = text(web_client().get("/signup/"))
    assert 'hx-target="#field-password"' not in page
    response = htmx_post(web_client(), "password", signup_data(organization_slug="admin"))
    assert response.status_code == 400  # handled as a normal submit: the whole page with its errors
    assert "<html" in text(response)


@pytest.mark.django_db
def test_sign_up_page_shares_the_registration_api_limit(web_client, client):
    for _ in range(10):
        client.post("/api/v1/auth/register", {}, content_type="application/json", HTTP_HOST="localhost")
    response = web_client().post("/signup/", {"organization_slug": "late"})
    assert response.status_code == 429
    assert response["Retry-After"]


@pytest.mark.parametrize("inline", [False, True])
def test_a_taken_address_on_the_sign_up_page_has_the_code_slug_taken(web_client, org, inline):
    data = signup_data(organization_slug="alpha")
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TRIGGER_NAME": "organization_slug"} if inline else {}

    response = web_client().post("/signup/", data, **headers)

    form = response.context["field"].form if inline else response.context["form"]
    codes = [error.code for error in form.errors.as_data()["organization_slug"]]
    assert codes == ["slug_taken"]


# Sign-up: every error at once, suggested address, real time zones


def test_signup_shows_every_field_error_at_once_and_creates_nothing(web_client, org):
    before = Organization.objects.count(), User.objects.count()
    data = signup_data(
        full_name="", email="OWNER@alpha.test", password="password123", organization_slug="alpha", timezone="Factory"
    )

    response = web_client().post("/signup/", data)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["full_name"] == ["This field is required."]
    assert "An account with this email already exists" in errors["email"][0]
    assert "This password is too common." in errors["password"][0]
    assert "This address is already taken" in errors["organization_slug"][0]
    assert "Select a valid choice." in errors["timezone"][0]
    assert text(response).count('aria-invalid="true"') == 5
    assert (Organization.objects.count(), User.objects.count()) == before


def test_signup_checks_the_password_even_when_the_address_is_malformed(web_client):
    response = web_client().post("/signup/", signup_data(password="password123", organization_slug="-bad-"))
    errors = response.context["form"].errors
    assert set(errors) == {"password", "organization_slug"}


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Acme Coworking", "acme-coworking"),
        ("Café Zürich & Co.", "cafe-zurich-co"),
        ("  --Ünïcode__Hub--  ", "unicode-hub"),
    ],
)
def test_an_empty_address_is_suggested_from_the_organization_name(web_client, name, slug):
    response = web_client().post("/signup/", signup_data(organization_name=name, organization_slug=""))
    assert response.status_code == 302
    assert Organization.objects.get(slug=slug).name == name.strip()


def test_a_suggested_address_that_is_refused_is_shown_for_correcting(web_client, org):
    response = web_client().post("/signup/", signup_data(organization_name="Alpha", organization_slug=""))
    assert response.status_code == 400
    page = text(response)
    assert 'value="alpha"' in page
    assert "This address is already taken" in page


def test_no_name_and_no_address_asks_for_both(web_client):
    response = web_client().post("/signup/", signup_data(organization_name="", organization_slug=""))
    errors = response.context["form"].errors
    assert errors["organization_name"] == ["This field is required."]
    assert errors["organization_slug"] == ["This field is required."]


def test_suggested_address_is_cut_to_forty_characters_without_a_trailing_hyphen():
    from tenants.validators import slug_from_name, validate_organization_slug

    slug = slug_from_name("The Very Long Name Of A Coworking Space In Town")
    assert slug == "the-very-long-name-of-a-coworking-space"
    validate_organization_slug(slug)


def test_sign_up_page_asks_the_browser_for_its_time_zone_only_on_a_fresh_form(web_client):
    page = text(web_client().get("/signup/"))
    assert "/static/js/signup.js" in page
    assert "data-preset-from-browser" in page
    assert "data-preset-from-browser" not in text(web_client().post("/signup/", signup_data(full_name="")))


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "posix/Europe/Paris", "right/UTC"])
def test_sign_up_neither_offers_nor_accepts_zones_that_are_not_places(web_client, zone):
    page = text(web_client().get("/signup/"))
    assert f'value="{zone}"' not in page
    assert 'value="Europe/Paris"' in page
    response = web_client().post("/signup/", signup_data(timezone=zone))
    assert response.status_code == 400
    assert "timezone" in response.context["form"].errors
    assert not Organization.objects.filter(slug="acme").exists()
