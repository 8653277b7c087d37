"""A space's availability answers a plain token request without DRF's generic dispatch
(SpaceAvailabilityView._answer_token_request): every answer must be the one DRF gives, byte for byte."""

from datetime import UTC, datetime, time

import pytest
from django.core.cache import cache

from accounts.api_keys import api_key_create
from accounts.tokens import tokens_for_membership
from reservations.tests.factories import ReservationFactory
from spaces.api import SpaceAvailabilityView
from spaces.tests.factories import SpaceFactory, open_every_day


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


WINDOW = "start=2025-03-10T00:00:00%2B01:00&end=2025-03-12T00:00:00Z"
REQUEST_ID = "0123456789abcdef0123456789abcdef"  # django-guid echoes it: the same header in both answers


@pytest.fixture
def direct_answers(monkeypatch):
    """Records what the direct path answered (None: left to DRF); `drf_only()` turns it off."""
    answered = []
    original = SpaceAvailabilityView._answer_token_request

    def recording(self, request, pk):
        response = original(self, request, pk)
        answered.append(response)
        return response

    monkeypatch.setattr(SpaceAvailabilityView, "_answer_token_request", recording)

    def drf_only():
        monkeypatch.setattr(SpaceAvailabilityView, "_answer_token_request", lambda self, request, pk: None)

    def restore():
        monkeypatch.setattr(SpaceAvailabilityView, "_answer_token_request", recording)

    return answered, drf_only, restore


def _answer(client, path, **headers):
    response = client.get(path, HTTP_X_REQUEST_ID=REQUEST_ID, **headers)
    return response.status_code, dict(response.headers), response.content


def _same_both_ways(direct_answers, client, path, *, cold: bool, **headers):
    """The direct path's answer and DRF's for the same request (and the same cache state); whether the
    direct path answered it."""
    answered, drf_only, restore = direct_answers
    if cold:
        cache.clear()
    drf_only()
    expected = _answer(client, path, **headers)
    restore()
    if cold:
        cache.clear()
    answered.clear()
    got = _answer(client, path, **headers)
    assert got == expected
    return answered[-1] is not None, got


@pytest.fixture
def calendar(paris, in_tenant):
    space = open_every_day(SpaceFactory(buffer_after_minutes=15), time(8), time(18))
    ReservationFactory(space=space, user=paris.admin, title="Board", starts_at=utc(2025, 3, 10, 9))
    ReservationFactory(space=space, user=paris.member, title="Mine", starts_at=utc(2025, 3, 11, 13))
    return space


@pytest.mark.parametrize("role", ["owner", "member"])
@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_a_token_request_gets_drfs_answer_cold_warm_and_not_modified(
    api_client, paris, calendar, direct_answers, role, accept
):
    client = api_client(paris, getattr(paris, role))
    path = f"/api/v1/spaces/{calendar.pk}/availability?{WINDOW}"
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}

    taken, (status, response_headers, body) = _same_both_ways(direct_answers, client, path, cold=True, **headers)
    assert taken and status == 200
    assert (b'"Board"' in body, b'"Mine"' in body) == ((True, True) if role == "owner" else (False, True))
    assert taken and _same_both_ways(direct_answers, client, path, cold=False, **headers)[0]  # from the cache
    etag = response_headers["ETag"]
    taken, (status, not_modified_headers, body) = _same_both_ways(
        direct_answers, client, path, cold=False, HTTP_IF_NONE_MATCH=etag, **headers
    )
    assert taken and status == 304 and body == b"" and not_modified_headers["ETag"] == etag


def test_everything_else_is_left_to_drf_and_answered_as_before(api_client, paris, other_org, calendar, direct_answers):
    member = paris.membership(paris.member)
    path = f"/api/v1/spaces/{calendar.pk}/availability?{WINDOW}"
    key = api_key_create(
        actor=paris.membership(paris.owner), organization=paris.organization, name="Wall", scopes=["read"]
    )
    stranger = tokens_for_membership(other_org.membership(other_org.owner))["access"]
    member_token = tokens_for_membership(member)["access"]
    cases = [
        (path, {}, 401),  # no credentials
        (path, {"HTTP_AUTHORIZATION": "Bearer not-a-token"}, 401),
        (path, {"HTTP_AUTHORIZATION": f"Bearer {stranger}"}, 401),  # another organization's token
        (path, {"HTTP_AUTHORIZATION": f"Token {member_token}"}, 401),  # not the JWT header type
        (path, {"HTTP_AUTHORIZATION": f"Bearer {key.key}"}, 200),  # an API key: its own class
        (path, {"HTTP_AUTHORIZATION": f"Bearer {member_token}", "HTTP_ACCEPT": "text/html"}, 406),
        (path, {"HTTP_AUTHORIZATION": f"Bearer {member_token}", "HTTP_ACCEPT": "application/json; indent=2"}, 200),
        (f"{path}&colour=red", {"HTTP_AUTHORIZATION": f"Bearer {member_token}"}, 400),  # strict query check
        (
            f"/api/v1/spaces/{calendar.pk}/availability?start=2025-03-10T00:00:00",
            {"HTTP_AUTHORIZATION": f"Bearer {member_token}"},
            400,
        ),
        (
            f"/api/v1/spaces/{calendar.pk}/availability?start=2025-03-10T00:00:00Z&end=2025-06-10T00:00:00Z",
            {"HTTP_AUTHORIZATION": f"Bearer {member_token}"},
            400,
        ),
        (
            f"/api/v1/spaces/{calendar.pk + 1000}/availability?{WINDOW}",
            {"HTTP_AUTHORIZATION": f"Bearer {member_token}"},
            404,
        ),
    ]
    client = api_client(paris)
    for case_path, headers, status in cases:
        taken, (got_status, _headers, _body) = _same_both_ways(direct_answers, client, case_path, cold=True, **headers)
        assert (taken, got_status) == (False, status), (case_path, headers)


def test_a_cached_answer_is_sent_as_stored_without_encoding_it_again(api_client, paris, calendar, monkeypatch):
    from rest_framework.renderers import JSONRenderer

    renders = []
    original = JSONRenderer.render

    def counting(self, data, accepted_media_type=None, renderer_context=None):
        renders.append(data)
        return original(self, data, accepted_media_type, renderer_context)

    monkeypatch.setattr(JSONRenderer, "render", counting)
    client = api_client(paris, paris.owner)
    path = f"/api/v1/spaces/{calendar.pk}/availability?{WINDOW}"
    cache.clear()

    cold = client.get(path)
    assert len(renders) == 1
    warm = client.get(path)

    assert len(renders) == 1
    assert (warm.status_code, warm.content, warm["ETag"]) == (200, cold.content, cold["ETag"])
    assert b'"Board"' in warm.content
