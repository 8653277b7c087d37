"""Single sign-on end to end, against a real OpenID provider (npm `oidc-provider`) started on loopback.

The test plays the browser: Django's test client on the organization's host, a `requests` session on the
provider (its development login and consent forms). Authlib, inside Django, talks to the provider for real:
discovery, the code exchange with PKCE, the JWKS that signs the ID token.
"""

import html
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client

from accounts import sso
from accounts.models import Membership, SsoPolicy, SsoProvider, User
from accounts.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
PORTS = range(8180, 8190)
CLIENT_ID = "spacemanager-test"
CLIENT_SECRET = "a-test-client-secret-for-loopback-only"
CALLBACK = "http://alpha.localhost/sso/callback/"


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"No free port in {PORTS.start}-{PORTS.stop - 1} for the test OpenID provider.")


@pytest.fixture(scope="session")
def oidc_issuer():
    """The provider's issuer URL; installs its npm package from the lock file when it is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("Node.js and npm are needed for the single sign-on tests (the test OpenID provider).")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True, timeout=300)  # noqa: S607
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URIS": CALLBACK,
    }
    process = subprocess.Popen(
        ["node", "server.mjs"],  # noqa: S607
        cwd=PROVIDER_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
            if process.poll() is not None:
                raise RuntimeError(f"The test OpenID provider stopped: {process.stdout.read()}")
        else:
            raise RuntimeError("The test OpenID provider did not start within 20 s.")
        yield issuer
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def provider(org, oidc_issuer) -> SsoProvider:
    return sso.sso_provider_create(
        actor=org.membership(org.owner),
        organization=org.organization,
        name="Test IdP",
        issuer=oidc_issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        allowed_domains=["corp.test"],
        role="member",
    )


def text(response) -> str:
    return html.unescape(response.content.decode())


def sign_in_at_the_provider(location: str, login: str) -> str:
    """Play the browser at the provider: its login form (any password), its consent form; return the URL it
    sends the browser back to (our callback)."""
    browser = requests.Session()
    url, data = location, None
    for _ in range(12):
        response = (
            browser.post(url, data=data, allow_redirects=False) if data else browser.get(url, allow_redirects=False)
        )
        data = None
        if response.is_redirect:
            url = requests.compat.urljoin(url, response.headers["Location"])
            if url.startswith("http://alpha.localhost/"):
                return url
            continue
        page = response.text
        action = re.search(r'<form[^>]*action="([^"]+)"', page)
        prompt = re.search(r'name="prompt" value="(\w+)"', page)
        assert action and prompt, page
        url = requests.compat.urljoin(url, html.unescape(action[1]))
        data = {"prompt": prompt[1]}
        if prompt[1] == "login":
            data.update(login=login, password="anything")
    raise AssertionError("The provider never sent the browser back.")


def sso_sign_in(client: Client, provider: SsoProvider, login: str):
    start = client.get(f"/sso/{provider.pk}/start/")
    assert start.status_code == 302, text(start)
    location = start.headers["Location"]
    query = urlsplit(location).query
    assert "code_challenge_method=S256" in query and "nonce=" in query and "state=" in query
    back = sign_in_at_the_provider(location, login)
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}", follow=True)


def test_the_login_page_offers_the_provider(org, provider, web_client):
    assert "Sign in with Test IdP" in text(web_client(org).get("/login/"))


def test_a_first_sign_in_from_an_allowed_domain_creates_the_account_and_lands_in_the_organization(
    org, provider, web_client
):
    client = web_client(org)
    response = sso_sign_in(client, provider, "dana@corp.test")
    assert response.redirect_chain[-1][0] == "/"
    assert "Signed in to Alpha with Test IdP." in text(response)
    user = User.objects.get(email="dana@corp.test")
    assert user.full_name == "Test dana" and not user.has_usable_password()
    assert Membership.objects.get(user=user, organization=org.organization).role == "member"
    assert response.context["user"] == user

    again = sso_sign_in(web_client(org), provider, "dana@corp.test")
    assert "Signed in to Alpha" in text(again)
    assert Membership.objects.filter(user=user).count() == 1


def test_the_provider_role_applies_to_new_people(org, oidc_issuer, web_client):
    admins = sso.sso_provider_create(
        actor=org.membership(org.owner),
        organization=org.organization,
        name="Admins IdP",
        issuer=oidc_issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        allowed_domains=["corp.test"],
        role="admin",
    )
    sso_sign_in(web_client(org), admins, "erin@corp.test")
    assert Membership.objects.get(user__email="erin@corp.test").role == "admin"


@pytest.mark.parametrize(
    ("login", "message"),
    [
        ("mallory@elsewhere.test", "Addresses at elsewhere.test cannot join Alpha through Test IdP"),
        ("unverified-frank@corp.test", "Test IdP did not confirm your email address."),
    ],
)
def test_others_are_refused_with_a_clear_page_and_nothing_is_created(org, provider, web_client, login, message):
    response = sso_sign_in(web_client(org), provider, login)
    assert response.status_code == 403
    assert message in text(response)
    assert not User.objects.filter(email__in=["mallory@elsewhere.test", "frank@corp.test"]).exists()


def test_an_existing_account_that_is_not_a_member_must_be_invited(org, other_org, provider, web_client):
    User.objects.filter(pk=other_org.member.pk).update(email="member@corp.test")
    response = sso_sign_in(web_client(org), provider, "member@corp.test")
    assert response.status_code == 403
    assert "already has a SpaceManager account" in text(response)
    assert not Membership.objects.filter(user=other_org.member, organization=org.organization).exists()


def test_an_existing_member_signs_in_and_cannot_switch_organizations(org, other_org, provider, web_client):
    User.objects.filter(pk=org.member.pk).update(email="member@corp.test")
    beta = Membership.objects.create(user=org.member, organization=other_org.organization)
    client = web_client(org)
    response = sso_sign_in(client, provider, "member@corp.test")
    assert response.context["user"].pk == org.member.pk
    profile_page = text(client.get("/account/"))
    assert "Beta" not in profile_page and "opens this organization only" in profile_page
    assert client.post(f"/account/switch/{beta.pk}/").headers["Location"] == "/account/"


def test_a_forged_or_replayed_callback_is_refused_and_nothing_is_created(org, provider, web_client):
    client = web_client(org)
    start = client.get(f"/sso/{provider.pk}/start/")
    back = urlsplit(sign_in_at_the_provider(start.headers["Location"], "gail@corp.test"))
    forged = re.sub(r"state=[^&]+", "state=forged", back.query)
    response = client.get(f"{back.path}?{forged}")
    assert response.status_code == 400 and "not started here" in text(response)
    replay = client.get(f"{back.path}?{back.query}")
    assert replay.status_code == 400 and "No sign-in was started from this browser" in text(replay)
    assert not User.objects.filter(email="gail@corp.test").exists()


def test_an_id_token_whose_nonce_does_not_match_is_refused(org, provider, web_client):
    """The ID token is verified (signature, issuer, audience, expiry, nonce): here the nonce this browser
    expects is not the one the provider signed into the token."""
    client = web_client(org)
    start = client.get(f"/sso/{provider.pk}/start/")
    session = client.session
    [key] = [name for name in session.keys() if name.startswith("_state_")]  # noqa: SIM118 (no __iter__)
    session[key] = {**session[key], "data": {**session[key]["data"], "nonce": "not-the-signed-one"}}
    session.save()
    back = urlsplit(sign_in_at_the_provider(start.headers["Location"], "jay@corp.test"))
    response = client.get(f"{back.path}?{back.query}")
    assert response.status_code == 400 and "Test IdP's answer did not verify." in text(response)
    assert not User.objects.filter(email="jay@corp.test").exists()


def test_a_callback_in_another_browser_is_refused(org, provider, web_client):
    start = web_client(org).get(f"/sso/{provider.pk}/start/")
    back = urlsplit(sign_in_at_the_provider(start.headers["Location"], "hana@corp.test"))
    response = web_client(org).get(f"{back.path}?{back.query}")
    assert response.status_code == 400
    assert not User.objects.filter(email="hana@corp.test").exists()


def test_a_wrong_client_secret_fails_cleanly(org, provider, web_client):
    SsoProvider.objects.filter(pk=provider.pk).update(client_secret_encrypted=sso.secret_encrypt("wrong"))
    response = sso_sign_in(web_client(org), provider, "ivan@corp.test")
    assert response.status_code == 400 and "Test IdP refused the sign-in" in text(response)
    assert not User.objects.filter(email="ivan@corp.test").exists()


def test_an_unreachable_provider_gets_a_clear_page(org, web_client):
    dead = sso.sso_provider_create(
        actor=org.membership(org.owner),
        organization=org.organization,
        name="Gone IdP",
        issuer="http://127.0.0.1:9",
        client_id="x",
        client_secret="y",
        allowed_domains=["corp.test"],
    )
    response = web_client(org).get(f"/sso/{dead.pk}/start/")
    assert response.status_code == 400 and "Gone IdP cannot be reached" in text(response)


def test_another_organizations_provider_is_not_found_here(org, other_org, provider, web_client):
    assert web_client(other_org).get(f"/sso/{provider.pk}/start/").status_code == 404


# Require SSO except owners


def test_required_sso_refuses_password_logins_except_owners(org, provider, web_client, api_client):
    sso.sso_policy_set(actor=org.membership(org.owner), organization=org.organization, sso_required=True)
    refused = web_client(org).post("/login/", {"email": org.member.email, "password": TEST_PASSWORD})
    assert refused.status_code == 200 and "Alpha requires single sign-on" in text(refused)
    owner = web_client(org).post("/login/", {"email": org.owner.email, "password": TEST_PASSWORD})
    assert owner.status_code == 302
    api = api_client(org).post("/api/v1/auth/login", {"email": org.admin.email, "password": TEST_PASSWORD})
    assert api.status_code == 403 and api.json()["code"] == "sso_required"
    owner_api = api_client(org).post("/api/v1/auth/login", {"email": org.owner.email, "password": TEST_PASSWORD})
    assert owner_api.status_code == 200


def test_sso_cannot_be_required_without_a_provider(org):
    with pytest.raises(sso.ValidationFailed):
        sso.sso_policy_set(actor=org.membership(org.owner), organization=org.organization, sso_required=True)
    assert not SsoPolicy.objects.exists()


# Configuration by owners


def test_the_client_secret_is_stored_encrypted(provider):
    stored = SsoProvider.objects.get(pk=provider.pk).client_secret_encrypted
    assert CLIENT_SECRET not in stored
    assert sso.secret_decrypt(stored) == CLIENT_SECRET


def test_owners_add_a_provider_from_settings(org, web_client):
    client = web_client(org, org.owner)
    page = text(client.get("/settings/sso/"))
    assert "http://alpha.localhost/sso/callback/" in page
    response = client.post(
        "/settings/sso/",
        {
            "name": "Google",
            "issuer": "https://accounts.google.com",
            "client_id": "abc",
            "client_secret": "shh",
            "allowed_domains": "Corp.test, @corp.org",
            "role": "member",
        },
        follow=True,
    )
    assert "Google added." in text(response)
    provider = SsoProvider.objects.get()
    assert provider.allowed_domains == ["corp.org", "corp.test"] and "shh" not in provider.client_secret_encrypted
    assert "shh" not in text(client.get("/settings/sso/"))
    client.post(f"/settings/sso/{provider.pk}/delete/")
    assert not SsoProvider.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"issuer": "http://idp.example.com"}, "The issuer must be an https:// address."),
        ({"allowed_domains": " , "}, "Name at least one email domain"),
        ({"allowed_domains": "not a domain"}, "is not an email domain"),
        ({"role": "owner"}, "Select a valid choice."),
        ({"client_secret": ""}, "This field is required."),
    ],
)
def test_bad_provider_settings_are_form_errors(org, web_client, change, message):
    data = {
        "name": "Google",
        "issuer": "https://accounts.google.com",
        "client_id": "abc",
        "client_secret": "shh",
        "allowed_domains": "corp.test",
        "role": "member",
        **change,
    }
    response = web_client(org, org.owner).post("/settings/sso/", data)
    assert response.status_code == 400 and message in text(response)
    assert not SsoProvider.objects.exists()


def test_only_owners_configure_sso(org, web_client):
    assert web_client(org, org.admin).get("/settings/sso/").status_code == 403
    assert web_client(org, org.member).get("/settings/sso/").status_code == 403
    data = {"sso_required_form": "1", "sso_required": "on"}
    assert web_client(org, org.admin).post("/settings/sso/", data).status_code == 403
    assert not SsoPolicy.objects.exists()
