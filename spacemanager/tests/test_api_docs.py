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
    assert "/static/drf_spectacular_sidecar/" in html or "/api/redoc/redoc.standalone.js" in html
    assert "cdn." not in html and "unpkg" not in html and "fonts.googleapis" not in html


def _schema(client) -> dict:
    response = client.get("/api/schema/?format=json", HTTP_HOST="localhost")
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.django_db
def test_every_operation_has_a_summary_and_a_description_of_its_own(client):
    operations = dict(_operations(_schema(client)))
    missing = [name for name, op in operations.items() if not op.get("summary") or not op.get("description")]
    assert missing == []
    summaries = [op["summary"] for op in operations.values()]
    assert len(set(summaries)) == len(summaries), "two operations share a summary"
    assert operations["DELETE /api/v1/reservations/{id}"]["summary"] == "Cancel a reservation"


@pytest.mark.django_db
def test_every_tag_is_described(client):
    schema = _schema(client)
    used = {tag for _, op in _operations(schema) for tag in op.get("tags", [])}
    described = {tag["name"] for tag in schema["tags"] if tag.get("description")}
    assert used <= described


@pytest.mark.django_db
def test_every_query_parameter_is_documented_with_its_type(client):
    undocumented = [
        (name, parameter["name"])
        for name, op in _operations(_schema(client))
        for parameter in op.get("parameters", [])
        if parameter["in"] == "query" and not (parameter.get("description") and parameter["schema"].get("type"))
    ]
    assert undocumented == []


@pytest.mark.django_db
def test_reservation_filters_are_documented_with_their_types(client):
    operation = _schema(client)["paths"]["/api/v1/reservations"]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert parameters["from"]["schema"] == {"type": "string", "format": "date-time"}
    assert parameters["to"]["schema"] == {"type": "string", "format": "date-time"}
    assert parameters["space"]["schema"] == {"type": "integer"}
    assert parameters["from"]["description"] == "Reservations still running at or after this time."
    assert parameters["space"]["description"] == "Only this space's reservations (its id)."


@pytest.mark.django_db
def test_error_responses_are_documented_wherever_they_occur(client):
    schema = _schema(client)
    for name, op in _operations(schema):
        statuses = set(op["responses"])
        assert {"400", "404"} <= statuses, name
        if op.get("security") and {} not in op["security"]:
            assert {"401", "403"} <= statuses, name
        if name.startswith(("POST", "PUT", "PATCH")):
            assert "415" in statuses, name
    for throttled in ("/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/register"):
        assert "429" in schema["paths"][throttled]["post"]["responses"]
    assert "404" in schema["paths"]["/api/v1/auth/register"]["post"]["responses"]
    assert "400" in schema["paths"]["/api/v1/auth/refresh"]["post"]["responses"]


@pytest.mark.django_db
def test_the_documented_400_shape_is_a_field_map_with_a_code(client):
    error = _schema(client)["components"]["schemas"]["ValidationError"]
    assert error["required"] == ["code"]
    assert "field_name" not in error["properties"]
    assert error["additionalProperties"]


@pytest.mark.django_db
def test_request_bodies_say_they_refuse_unknown_fields_and_answers_do_not(client):
    schemas = _schema(client)["components"]["schemas"]
    assert schemas["SpaceInputRequest"]["additionalProperties"] is False
    assert schemas["OpeningHoursRequest"]["additionalProperties"] is False  # nested in a space's body
    assert "additionalProperties" not in schemas["Space"]
    assert schemas["ValidationError"]["additionalProperties"]  # an answer's open map stays open


@pytest.mark.django_db
def test_a_list_that_may_not_be_empty_says_so(client):
    schemas = _schema(client)["components"]["schemas"]
    assert schemas["ApiKeyCreateRequest"]["properties"]["scopes"]["minItems"] == 1
    assert schemas["WebhookEndpointInputRequest"]["properties"]["events"]["minItems"] == 1
    assert "minItems" not in schemas["ApproversRequest"]["properties"]["user_ids"]  # empty: every manager


@pytest.mark.django_db
def test_the_pagination_example_is_a_real_link(client, settings):
    schemas = _schema(client)["components"]["schemas"]
    page = schemas["PaginatedSpaceList"]["properties"]
    assert page["next"]["example"] == f"http://acme.{settings.BASE_DOMAIN}/api/v1/spaces?page=3"
    assert "api.example.org" not in str(schemas)


@pytest.mark.django_db
def test_examples_are_dated_from_today_never_in_the_past(client):
    import re

    from django.utils import timezone

    text = str(_schema(client)["paths"])
    days = sorted(set(re.findall(r"(?<![\d-])\d{4}-\d{2}-\d{2}", text)))
    assert days, "the examples hold dates"
    assert days[0] > timezone.localdate().isoformat()


@pytest.mark.django_db
def test_the_description_explains_hosts_and_tokens(client):
    description = _schema(client)["info"]["description"]
    assert "one per organization" in description
    assert "token_wrong_organization" in description


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs/?script=", "/api/redoc/"])
def test_docs_pages_reference_no_outside_address(client, path):
    import re

    response = client.get(path, HTTP_HOST="localhost")
    assert response.status_code == 200
    addresses = re.findall(r"(?:https?:)?//[\w.-]+", response.content.decode())
    assert addresses == []
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assert "http" not in policy


def test_the_redoc_start_up_script_loads_no_font_from_outside():
    from pathlib import Path

    from django.conf import settings

    script = (Path(settings.BASE_DIR) / "static" / "api" / "redoc-init.js").read_text()
    assert "http" not in script and "fontFamily" in script


@pytest.mark.django_db
def test_the_redoc_bundle_is_served_without_its_outside_logo(client):
    response = client.get("/api/redoc/redoc.standalone.js", HTTP_HOST="localhost")
    assert response.status_code == 200
    assert b"cdn.redoc.ly" not in response.content
    assert b"Redoc" in response.content
