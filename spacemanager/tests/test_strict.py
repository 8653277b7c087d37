"""The strict API: unknown query parameters, unknown or read-only body fields and bad orderings are 400s
that name them, on every operation (spacemanager/strict.py)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver

from spacemanager.api_urls import public_api_patterns, tenant_api_patterns
from spacemanager.strict import StrictRequestMixin
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def space(org):
    connection.set_tenant(org.organization)
    space = SpaceFactory(name="Blue room", capacity=6)
    connection.set_schema_to_public()
    return space


def booking(space, **extra) -> dict:
    return {"space": space.pk, "starts_at": "2025-03-10T09:00:00Z", "ends_at": "2025-03-10T10:00:00Z", **extra}


def test_an_unknown_query_parameter_is_a_400_naming_it(org, api_client):
    response = api_client(org, org.member).get("/api/v1/reservations?bogus=1&user=3")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_parameter"
    assert set(body) == {"bogus", "user", "code"}
    assert "scope" in body["bogus"][0]  # it says what is accepted


def test_documented_parameters_filters_and_pagination_pass(org, api_client):
    client = api_client(org, org.member)
    query = "status=confirmed&status=pending&from=2025-03-01T00:00:00Z&to=2025-04-01T00:00:00Z&space=1&page_size=5"
    assert client.get(f"/api/v1/reservations?{query}&ordering=-starts_at").status_code == 200
    assert client.get("/api/v1/spaces?kind=desk&amenity=projector&capacity_min=2&search=x").status_code == 200


def test_the_strict_check_comes_after_authentication(org, api_client):
    assert api_client(org).get("/api/v1/reservations?bogus=1").status_code == 401
    assert api_client(org, org.member).get("/api/v1/webhooks?bogus=1").status_code == 403


@pytest.mark.parametrize("field", ["bogus", "colour"])
def test_an_unknown_body_field_is_a_400_naming_it(org, api_client, space, booking_now, field):
    response = api_client(org, org.member).post("/api/v1/reservations", booking(space, **{field: "x"}))
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_field"
    assert "attendees" in response.json()[field][0]  # the accepted fields are listed
    connection.set_tenant(org.organization)
    assert not space.reservations.exists()


# `user` is writable since on-behalf booking (a member naming someone else gets 403: test_on_behalf).
@pytest.mark.parametrize(("field", "value"), [("status", "confirmed"), ("price", "0.00"), ("id", 1), ("series", 1)])
def test_a_read_only_field_in_a_booking_is_refused(org, api_client, space, booking_now, field, value):
    response = api_client(org, org.member).post("/api/v1/reservations", booking(space, **{field: value}))
    assert response.status_code == 400
    assert response.json() == {field: ["This field is read-only: it cannot be set."], "code": "read_only_field"}


def test_read_only_fields_are_refused_in_patches_too(org, api_client, space):
    response = api_client(org, org.owner).patch(f"/api/v1/spaces/{space.pk}", {"currency": "USD", "capacity": 3})
    assert response.status_code == 400
    assert response.json()["currency"] == ["This field is read-only: it cannot be set."]


def test_an_operation_without_a_body_refuses_one(org, api_client, space, booking_now):
    client = api_client(org, org.owner)
    created = client.post("/api/v1/reservations", booking(space)).json()
    response = client.post(f"/api/v1/reservations/{created['id']}/confirm", {"note": "ok"})
    assert response.status_code == 400
    assert "note" in response.json()


def test_an_unknown_ordering_is_a_400_naming_it(org, api_client):
    client = api_client(org, org.member)
    response = client.get("/api/v1/reservations?ordering=-starts_at,notes")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_ordering"
    assert "notes" in response.json()["ordering"][0] and "starts_at" in response.json()["ordering"][0]
    assert client.get("/api/v1/spaces?ordering=-capacity,name").status_code == 200
    assert client.get("/api/v1/spaces?ordering=hourly_rate").status_code == 400


def test_a_members_password_is_still_refused_with_its_reason(org, api_client):
    response = api_client(org, org.owner).post("/api/v1/members", {"email": "x@corp.test", "password": "chosen 42"})
    assert response.status_code == 400
    assert "emailed invitation" in response.json()["password"][0]


def test_registration_on_the_public_host_is_strict_too(api_client):
    response = api_client().post(
        "/api/v1/auth/register",
        {
            "email": "ada@example.com",
            "password": "a long passphrase 42",
            "full_name": "Ada",
            "organization_name": "Acme",
            "organization_slug": "acme-strict",
            "plan": "gold",
        },
    )
    assert response.status_code == 400
    assert "plan" in response.json()


def _views(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            yield pattern.callback


def test_every_api_view_is_strict():
    views = list(_views(public_api_patterns + tenant_api_patterns))
    assert len(views) > 20
    assert [view.cls.__name__ for view in views if not issubclass(view.cls, StrictRequestMixin)] == []


def test_updated_since_returns_changed_reservations_cancelled_included_in_a_stable_order(
    org, api_client, space, booking_now
):
    client = api_client(org, org.member)
    first = client.post("/api/v1/reservations", booking(space)).json()
    second = client.post(
        "/api/v1/reservations", booking(space, starts_at="2025-03-11T09:00:00Z", ends_at="2025-03-11T10:00:00Z")
    ).json()
    booking_now.shift(timedelta(minutes=5))
    since = "2025-03-03T08:04:00Z"
    assert client.get(f"/api/v1/reservations?updated_since={since}").json()["results"] == []
    client.delete(f"/api/v1/reservations/{first['id']}")
    changed = client.get(f"/api/v1/reservations?updated_since={since}").json()["results"]
    assert [(r["id"], r["status"]) for r in changed] == [(first["id"], "cancelled")]
    everything = client.get("/api/v1/reservations?updated_since=2025-03-01T00:00:00Z&page_size=1")
    pages = [everything.json()["results"][0]["id"]]
    pages.append(client.get(everything.json()["next"]).json()["results"][0]["id"])
    assert pages == [second["id"], first["id"]]  # by updated_at: the cancelled one changed last
    assert client.get("/api/v1/reservations?updated_since=yesterday").status_code == 400


def test_updated_since_on_spaces_includes_archived_ones(org, api_client, space):
    client = api_client(org, org.owner)
    client.delete(f"/api/v1/spaces/{space.pk}")
    assert client.get("/api/v1/spaces").json()["count"] == 0
    synced = client.get("/api/v1/spaces?updated_since=2000-01-01T00:00:00Z").json()["results"]
    assert [(s["id"], s["is_active"]) for s in synced] == [(space.pk, False)]


def test_a_list_without_orderings_refuses_one(org, api_client):
    response = api_client(org, org.owner).get("/api/v1/members?ordering=email")
    assert response.status_code == 400
    assert "ordering" in response.json()


def test_unknown_names_inside_nested_objects_are_refused(org, api_client, space):
    response = api_client(org, org.owner).patch(
        f"/api/v1/spaces/{space.pk}",
        {"opening_hours": [{"weekday": 0, "opens_at": "08:00", "closes_at": "18:00", "colour": "red"}]},
    )
    assert response.status_code == 400
    assert response.json() == {"opening_hours[0].colour": ["Unknown field."], "code": "unknown_field"}
    fine = api_client(org, org.owner).patch(
        f"/api/v1/spaces/{space.pk}", {"opening_hours": [{"weekday": 0, "opens_at": "08:00", "closes_at": "18:00"}]}
    )
    assert fine.status_code == 200


@pytest.mark.parametrize(
    ("body", "name", "message"),
    [
        ({"name": 0}, "name", "Must be a string."),
        ({"capacity": "5"}, "capacity", "Must be a whole number."),
        ({"cancel_affected": 0}, "cancel_affected", "Must be true or false."),
        ({"amenities": "projector"}, "amenities", "Must be a list."),
        ({"amenities": ["projector", 3]}, "amenities[1]", "Must be a string."),
        (
            {"opening_hours": [{"weekday": "0", "opens_at": "08:00", "closes_at": "18:00"}]},
            "opening_hours[0].weekday",
            "Must be a whole number.",
        ),
        ({"name": None}, "name", "This field may not be null."),
    ],
)
def test_a_value_of_another_json_type_is_refused_not_coerced(org, api_client, space, body, name, message):
    response = api_client(org, org.owner).patch(f"/api/v1/spaces/{space.pk}", body)
    assert response.status_code == 400
    assert response.json() == {name: [message], "code": "invalid_type"}
    connection.set_tenant(org.organization)
    space.refresh_from_db()
    assert (space.name, space.capacity) == ("Blue room", 6)


def test_a_nullable_field_takes_null_and_a_whole_float_is_a_whole_number(org, api_client, space):
    response = api_client(org, org.owner).patch(f"/api/v1/spaces/{space.pk}", {"capacity": 4.0, "hourly_rate": None})
    assert response.status_code == 200
    assert (response.json()["capacity"], response.json()["hourly_rate"]) == (4, None)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/spaces", "page="),
        ("/api/v1/spaces", "page=first"),
        ("/api/v1/spaces", "page_size=null"),
        ("/api/v1/reservations", "page_size=null"),
        ("/api/v1/reservations", "page_size=5&page_size=x"),
        ("/api/v1/analytics", "to="),
        ("/api/v1/analytics", "from=2026-02-30"),
    ],
)
def test_a_number_or_date_parameter_that_is_not_one_is_refused(org, api_client, path, query):
    response = api_client(org, org.owner).get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_type"


def test_options_on_a_space_s_approvers_answers(org, api_client, space):
    response = api_client(org, org.owner).options(f"/api/v1/spaces/{space.pk}/approvers")
    assert response.status_code == 200
    assert "user_ids" in response.json()["actions"]["PUT"]
