"""End-to-end: the API reference pages render in a real browser and load nothing from outside."""

import pytest

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api", reason="End-to-end tests need the playwright package.").expect


@pytest.mark.parametrize("path", ["/api/redoc/", "/api/docs/"])
def test_the_api_reference_renders_from_our_own_host_only(site, page, path, screenshot):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{site.public}{path}")
    # ReDoc renders the whole schema before it shows anything: a few seconds on a busy machine.
    expect(page.get_by_text("Cancel a reservation").filter(visible=True).first).to_be_visible(timeout=30_000)
    page.wait_for_load_state("networkidle")

    # No web fonts (the system's), no ReDoc footer logo from its makers' CDN (removed from the bundle we serve).
    assert [url for url in requested if not url.startswith((site.public, "data:", "blob:"))] == []
    assert any(url.endswith("/api/schema/") or "/api/schema/?" in url for url in requested)
    screenshot(page, "api-redoc" if "redoc" in path else "api-swagger", full_page=False)
