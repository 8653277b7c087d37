import io
import json
import logging
import uuid

import pytest
from django.conf import settings
from pythonjsonlogger.json import JsonFormatter

from accounts.tokens import tokens_for_membership
from spacemanager.logging import RequestContextFilter


@pytest.fixture
def json_log():
    """Records of django.request, formatted as production formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    config = {key: value for key, value in settings.LOGGING["formatters"]["json"].items() if key != "()"}
    handler.setFormatter(JsonFormatter(**config))
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_api_error_log_carries_request_id_tenant_and_user(client, org, json_log):
    request_id = uuid.uuid4().hex
    token = tokens_for_membership(org.membership(org.member))["access"]

    response = client.get(
        "/api/v1/members",
        HTTP_HOST=org.host,
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_REQUEST_ID=request_id,
    )

    assert response.status_code == 403
    assert response["X-Request-ID"] == request_id
    [record] = json_log()
    assert record["message"] == "Forbidden: /api/v1/members"
    assert record["level"] == "WARNING"
    assert record["logger"] == "django.request"
    assert (record["request_id"], record["tenant"], record["user_id"]) == (request_id, "org_alpha", org.member.pk)


@pytest.mark.django_db
def test_a_forged_request_id_is_replaced(client, org, json_log):
    response = client.get("/api/v1/nothing-here", HTTP_HOST=org.host, HTTP_X_REQUEST_ID='"}\n{"level": "fake')

    [record] = json_log()
    assert record["request_id"] == response["X-Request-ID"]
    assert len(response["X-Request-ID"]) == 32
    assert record["user_id"] is None
