"""The Content-Security-Policy production sends: no inline script or style anywhere, docs pages excepted for styles."""

import re

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_policy(settings):
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": settings.CONTENT_SECURITY_POLICY_DIRECTIVES}


def test_pages_carry_a_policy_without_unsafe_inline(web_client, org, production_policy):
    header = web_client(org, org.member).get("/spaces/")["Content-Security-Policy"]

    assert "script-src 'self'" in header
    assert "style-src 'self'" in header
    assert "unsafe-inline" not in header
    assert "frame-ancestors 'none'" in header
    assert "form-action 'self' http://localhost:* http://*.localhost:*" in header


def test_the_api_docs_relax_styles_but_never_scripts(web_client, org, production_policy):
    header = web_client(org).get("/api/redoc/")["Content-Security-Policy"]

    assert "style-src 'self' 'unsafe-inline'" in header
    assert "script-src 'self';" in header


def test_swagger_ui_starts_from_a_script_file_not_an_inline_script(web_client, org):
    page = web_client(org).get("/api/docs/").content.decode()

    assert re.search(r'<script src="/api/docs/\?script=[^"]*"></script>', page)
    assert "<script>" not in page


# Emails are not pages: mail clients want inline styles and no policy applies to them.
PAGE_TEMPLATES = sorted(
    path
    for path in (settings.BASE_DIR / "templates").rglob("*.html")
    if "email" not in path.relative_to(settings.BASE_DIR / "templates").parts
)


@pytest.mark.parametrize("path", PAGE_TEMPLATES, ids=lambda path: path.name)
def test_page_templates_have_no_inline_script_style_or_event_handlers(path):
    source = path.read_text()

    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source)
    assert not re.search(r"<style\b", source)
    assert not re.search(r"\s(style|on[a-z]+)=", source)


def _policy_headers(web_client, api_client, org) -> list[tuple[str | None, str | None]]:
    responses = [
        web_client(org, org.member).get("/spaces/"),  # the site's policy
        api_client(org, org.member).get("/api/v1/spaces"),  # the site's policy, on the API
        web_client(org).get("/api/redoc/"),  # the docs write their own header
        web_client().get("/admin/"),  # the platform admin's csp_update (a redirect to its login): django-csp
        web_client(org).get("/no-such-page/"),  # a 404 page
    ]
    names = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
    return [tuple(response.get(name) for name in names) for response in responses]


@pytest.mark.parametrize("report_only", [False, True])
def test_the_policy_built_once_is_the_one_django_csp_builds(web_client, api_client, org, settings, report_only):
    policy = {"DIRECTIVES": settings.CONTENT_SECURITY_POLICY_DIRECTIVES}
    settings.CONTENT_SECURITY_POLICY = None if report_only else policy
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = policy if report_only else None
    ours = _policy_headers(web_client, api_client, org)

    settings.MIDDLEWARE = [
        "csp.middleware.CSPMiddleware" if name == "spacemanager.content_security.CSPMiddleware" else name
        for name in settings.MIDDLEWARE
    ]
    assert ours == _policy_headers(web_client, api_client, org)
    site = ours[0][1 if report_only else 0]
    assert "frame-ancestors 'none'" in site and "'unsafe-inline'" not in site
    if not report_only:  # the admin relaxes the enforced policy's styles (its csp_update)
        assert "style-src 'self' 'unsafe-inline'" in ours[3][0]


def test_a_changed_policy_setting_is_sent_at_once(web_client, org, settings):
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": settings.CONTENT_SECURITY_POLICY_DIRECTIVES}
    assert "img-src 'self' data:" in web_client(org, org.member).get("/spaces/")["Content-Security-Policy"]

    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {**settings.CONTENT_SECURITY_POLICY_DIRECTIVES, "img-src": ["'self'"]}
    }

    header = web_client(org, org.member).get("/spaces/")["Content-Security-Policy"]
    assert "img-src 'self'" in header.split("; ") and "data:" not in header
