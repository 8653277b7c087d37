"""The shared layout, navigation, static assets and error pages."""

import html

import pytest
from django.contrib.staticfiles import finders
from django.template import loader
from django.test import RequestFactory

from spacemanager import responses

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_static_assets_come_from_installed_packages():
    for asset in (
        "bootstrap/css/bootstrap.min.css",
        "bootstrap/js/bootstrap.bundle.min.js",
        "django_htmx/htmx-2.min.js",
    ):
        assert finders.find(asset), asset
    assert finders.find("css/app.css")


def test_every_page_has_the_language_skip_link_assets_and_one_main(web_client):
    page = text(web_client().get("/"))
    assert '<html lang="en">' in page
    assert '<a class="visually-hidden-focusable skip-link" href="#main">Skip to main content</a>' in page
    assert page.count('<main id="main"') == 1
    assert "/static/bootstrap/css/bootstrap.min.css" in page
    assert "/static/django_htmx/htmx-2.min.js" in page
    assert "cdn" not in page.lower()


def test_public_navigation_offers_sign_up_and_log_in(web_client):
    page = text(web_client().get("/find/"))
    assert 'href="/signup/">Sign up</a>' in page
    assert 'aria-current="page" href="/find/">Log in</a>' in page


def test_organization_navigation_shows_the_organization_and_the_users_menu(web_client, org):
    page = text(web_client(org, org.member).get("/"))
    assert "Alpha\n" in page.split('class="navbar-brand"', 1)[1].split("</a>", 1)[0]
    assert "Alpha Member" in page and "member@alpha.test" in page
    assert 'action="/logout/"' in page
    assert 'aria-current="page" href="/">Home</a>' in page


def test_anonymous_visitors_of_an_organization_see_log_in(web_client, org):
    page = text(web_client(org).get("/login/"))
    assert 'aria-current="page" href="/login/">Log in</a>' in page
    assert "Log out" not in page


def test_spaces_and_reservations_links_appear_only_when_their_pages_exist(web_client, org, settings):
    page = text(web_client(org, org.member).get("/"))
    assert 'href="/spaces/">Spaces</a>' in page
    assert 'href="/reservations/">My reservations</a>' in page

    settings.ROOT_URLCONF = "spacemanager.tests.urls_without_booking_pages"
    page = text(web_client(org, org.admin).get("/members/"))
    assert ">Members</a>" in page
    assert ">Spaces</a>" not in page
    assert ">My reservations</a>" not in page


def test_members_and_settings_links_are_for_managers_only(web_client, org):
    member_page = text(web_client(org, org.member).get("/"))
    admin_page = text(web_client(org, org.admin).get("/"))
    for link in ('href="/members/">Members</a>', 'href="/settings/">Settings</a>'):
        assert link not in member_page
        assert link in admin_page


def test_unknown_page_gets_the_friendly_404(web_client, org):
    response = web_client(org, org.member).get("/no-such-page/")
    assert response.status_code == 404
    page = text(response)
    assert "Page not found" in page
    assert "Go to the start page" in page
    assert "/static/css/app.css" in page


def test_unknown_organization_gets_the_friendly_404(client):
    response = client.get("/", HTTP_HOST="nobody.localhost")
    assert response.status_code == 404
    assert "No organization lives at this address." in text(response)
    assert "Skip to main content" in text(response)


def test_member_opening_an_admin_page_gets_the_friendly_403_in_the_layout(web_client, org):
    response = web_client(org, org.member).get("/members/")
    assert response.status_code == 403
    page = text(response)
    assert "You can't open this page" in page
    assert "Only the organization's owners and admins can open this page." in page
    assert "Alpha Member" in page  # the user's menu is still there


@pytest.mark.parametrize(
    ("handler", "status", "title"),
    [
        (responses.handler400, 400, "Bad request"),
        (responses.handler403, 403, "You can't open this page"),
        (responses.handler404, 404, "Page not found"),
        (responses.handler500, 500, "Something went wrong"),
    ],
)
def test_error_handlers_render_styled_pages_without_a_request_context(handler, status, title):
    request = RequestFactory().get("/somewhere/")
    response = handler(request)
    assert response.status_code == status
    page = text(response)
    assert title in page
    assert "/static/css/app.css" in page
    assert "Skip to main content" in page


def test_500_template_renders_with_no_context_at_all():
    page = loader.render_to_string("500.html")
    assert "Something went wrong on our side" in page


def test_a_crashing_page_shows_the_500_page(web_client, org, settings):
    settings.ROOT_URLCONF = "spacemanager.tests.urls_with_more_pages"
    client = web_client(org, org.member)
    client.raise_request_exception = False
    response = client.get("/crash/")
    assert response.status_code == 500
    assert "Something went wrong" in text(response)


def test_deactivated_organization_404_links_to_the_public_site_not_to_itself(client, org):
    from tenants.models import Organization

    Organization.objects.filter(pk=org.organization.pk).update(is_active=False)
    response = client.get("/spaces/", HTTP_HOST=f"{org.host}:8000")
    assert response.status_code == 404
    page = text(response)
    assert "No organization lives at this address." in page
    assert '<a class="btn btn-primary" href="http://localhost:8000/">Go to SpaceManager\'s home page</a>' in page


def test_unknown_page_of_an_organization_still_links_to_its_own_start_page(web_client, org):
    assert 'href="/">Go to the start page</a>' in text(web_client(org, org.member).get("/no-such-page/"))


@pytest.mark.parametrize("on_organization_host", [False, True])
def test_favicon_is_an_icon_on_every_host(client, org, on_organization_host):
    host = org.host if on_organization_host else "localhost"
    response = client.get("/favicon.ico", HTTP_HOST=host)
    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # the ICO format's magic number
