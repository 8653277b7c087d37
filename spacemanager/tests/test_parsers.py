"""Any JSON body, on any endpoint, authenticated or not: too deep -> 400, too large -> 413, never a 500."""

import json

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
UNAUTHENTICATED = ["/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout"]


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
@pytest.mark.parametrize("path", UNAUTHENTICATED)
def test_deeply_nested_json_to_the_auth_endpoints_is_a_400(org, api_client, path, body):
    response = api_client(org).post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert "nested deeper than" in response.json()["detail"]


def test_deeply_nested_json_to_registration_on_the_public_host_is_a_400(db, api_client):
    response = api_client().post("/api/v1/auth/register", DEEP, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_moderately_nested_json_that_the_interpreter_can_parse_is_still_refused(org, api_client):
    body = json.dumps({"name": "Room", "extra": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})

    response = api_client(org, org.owner).post("/api/v1/spaces", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_an_authenticated_endpoint_refuses_deep_json_with_a_400(org, api_client):
    response = api_client(org, org.owner).post("/api/v1/spaces", DEEP, content_type="application/json")

    assert response.status_code == 400


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
@pytest.mark.parametrize("path", [*UNAUTHENTICATED, "/api/v1/spaces"])
def test_a_body_over_the_size_limit_is_a_413(org, api_client, path):
    body = json.dumps({"email": "a@b.test", "password": "x" * 2000})

    response = api_client(org, org.owner).post(path, body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_ordinary_json_still_parses(org, api_client):
    response = api_client(org).post(
        "/api/v1/auth/login", {"email": org.owner.email, "password": "wrong"}, format="json"
    )

    assert response.status_code in {400, 401}
