import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_openapi_schema_validates_without_warnings(tmp_path):
    # Every endpoint must be described well enough that drf-spectacular has nothing to guess.
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--urlconf",
        "spacemanager.urls_schema",
        "--file",
        str(tmp_path / "schema.yml"),
    )
    assert "/api/v1/auth/register" in (tmp_path / "schema.yml").read_text()


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["localhost", "alpha.localhost"])
def test_schema_documents_both_hosts_endpoints(client, org, host):
    response = client.get("/api/schema/?format=json", HTTP_HOST=host)
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/members"} <= set(paths)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_use_our_own_static_files(client, path):
    response = client.get(path, HTTP_HOST="localhost")
    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn." not in html and "unpkg" not in html
