from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from reservations.api import ReservationSerializer
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.django_db
URL = "/api/v1/reservations"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def space(in_tenant, booking_now):
    return SpaceFactory(name="Blue room", capacity=6)


def payload(space, starts_at="2025-03-10T09:00:00Z", ends_at="2025-03-10T10:00:00Z", **extra):
    return {"space": space.pk, "starts_at": starts_at, "ends_at": ends_at, **extra}


def test_a_member_books_and_gets_the_reservation_in_the_organizations_time(paris, api_client, space):
    response = api_client(paris, paris.member).post(URL, payload(space, title="Standup", attendees=3))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["starts_at"] == "2025-03-10T10:00:00+01:00"
    assert body["ends_at"] == "2025-03-10T11:00:00+01:00"
    assert body["status"] == "confirmed"
    assert body["space"] == {"id": space.pk, "name": "Blue room"}
    assert body["user"]["email"] == "member@alpha.test"
    assert body["currency"] == paris.organization.currency


def test_summer_times_carry_the_summer_offset(paris, api_client, space):
    response = api_client(paris, paris.member).post(
        URL, payload(space, starts_at="2025-04-07T09:00:00+02:00", ends_at="2025-04-07T10:00:00+02:00")
    )
    assert response.json()["starts_at"] == "2025-04-07T09:00:00+02:00"


def test_naive_times_are_refused_with_a_clear_400(api_client, org, space):
    response = api_client(org, org.member).post(URL, payload(space, starts_at="2025-03-10T09:00:00"))
    assert response.status_code == 400
    assert "offset" in response.json()["starts_at"][0]


def test_a_broken_rule_is_a_400_on_its_field(api_client, org, space):
    client = api_client(org, org.member)
    assert client.post(URL, payload(space, attendees=7)).json()["attendees"] == ["Blue room holds at most 6 people."]
    assert "ends_at" in client.post(URL, payload(space, ends_at="2025-03-10T09:00:00Z")).json()
    assert client.post(URL, {**payload(space), "space": 999999}).status_code == 400
    assert "space" in client.post(URL, {**payload(space), "space": 999999}).json()


def test_an_overlap_is_a_409_naming_the_clash(api_client, org, space):
    client = api_client(org, org.member)
    assert client.post(URL, payload(space)).status_code == 201

    response = client.post(URL, payload(space, starts_at="2025-03-10T09:30:00Z", ends_at="2025-03-10T10:30:00Z"))

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This space is already booked at that time: 2025-03-10T09:00:00Z to 2025-03-10T10:00:00Z.",
        "code": "reservation_conflict",
        "conflicts": [{"starts_at": "2025-03-10T09:00:00Z", "ends_at": "2025-03-10T10:00:00Z"}],
    }


def test_booking_runs_a_fixed_number_of_queries(api_client, org, space):
    open_every_day(space, time(8), time(18))
    client = api_client(org, org.member)

    with CaptureQueriesContext(connection) as booked:
        assert client.post(URL, payload(space)).status_code == 201
    with CaptureQueriesContext(connection) as refused:
        assert client.post(URL, payload(space, "2025-03-10T09:30:00Z", "2025-03-10T10:30:00Z")).status_code == 409

    transaction_control = {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK"}
    sql = [query["sql"] for query in booked.captured_queries if query["sql"].split()[0] not in transaction_control]
    # Routing (SET public, domain; cached in production), SET tenant, membership, then in one transaction the
    # space FOR NO KEY UPDATE; its opening hours, its first closure and whether any webhook endpoint wants the
    # event (one statement); the insert, which needs no savepoint (ON CONFLICT DO NOTHING: the exclusion
    # constraint is the overlap check); the notice written to the outbox (no broker), and the bump of the
    # space's availability version.
    assert [statement.split()[0] for statement in sql] == [
        "SET",
        "SELECT",
        "SET",
        "SELECT",
        "SELECT",
        "SELECT",
        "INSERT",
        "INSERT",
        "INSERT",
    ]
    assert "FOR NO KEY UPDATE" in sql[4]
    assert all(table in sql[5] for table in ("spaces_openinghours", "spaces_closure", "integrations_webhookendpoint"))
    assert "reservations_reservation" not in " ".join(sql[:-3])
    assert "ON CONFLICT DO NOTHING" in sql[-3]
    assert "tenants_outboxmessage" in sql[-2]
    assert "spaces_availabilityversion" in sql[-1]
    # The one savepoint is the service's transaction, inside the test's: none around the insert.
    assert [query["sql"].split()[0] for query in booked.captured_queries].count("SAVEPOINT") == 1
    # A clash: the constraint turns the insert away (no row, no error, no savepoint to roll back) and one
    # query names the clashing intervals.
    statements = [query["sql"].split()[0] for query in refused.captured_queries]
    assert [statement for statement in statements if statement not in transaction_control | {"SET"}] == [
        "SELECT",
        "SELECT",
        "SELECT",
        "SELECT",
        "INSERT",
        "SELECT",
    ]
    assert statements.count("SAVEPOINT") == 1


@pytest.mark.parametrize("price", [None, Decimal("12.50"), Decimal("999999999999.99")])
def test_reservations_render_exactly_the_declared_fields(paris, space, rf, price):
    """The serializer writes its output by hand for speed: it must match DRF's rendering of its own fields."""
    reservation = ReservationFactory(
        space=space,
        user=paris.member,
        title="Standup",
        price=price,
        starts_at=utc(2025, 3, 30, 0, 30, 0, 250),
        cancelled_at=utc(2025, 3, 1, 8) if price else None,
    )
    request = rf.get("/")
    request.tenant = paris.organization
    serializer = ReservationSerializer(Reservation.objects.select_related("space", "user").get(pk=reservation.pk))
    serializer.context["request"] = request

    with timezone.override("Europe/Paris"):
        assert serializer.data == serializers.ModelSerializer.to_representation(serializer, serializer.instance)
        assert serializer.data["starts_at"] == "2025-03-30T01:30:00.000250+01:00"


def test_touching_bookings_are_accepted(api_client, org, space):
    client = api_client(org, org.member)
    assert client.post(URL, payload(space)).status_code == 201
    assert client.post(URL, payload(space, "2025-03-10T10:00:00Z", "2025-03-10T11:00:00Z")).status_code == 201


def test_members_list_only_their_own_reservations(api_client, org, space):
    ReservationFactory(space=space, user=org.member, title="Mine")
    ReservationFactory(space=space, user=org.admin, title="Theirs", starts_at=utc(2025, 3, 11, 9))

    response = api_client(org, org.member).get(URL)

    assert response.status_code == 200
    assert [r["title"] for r in response.json()["results"]] == ["Mine"]
    assert api_client(org, org.member).get(URL, {"scope": "all"}).status_code == 403


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_managers_list_everyones_with_scope_all(api_client, org, space, role):
    ReservationFactory(space=space, user=org.member, title="Member's")
    ReservationFactory(space=space, user=org.admin, title="Admin's", starts_at=utc(2025, 3, 11, 9))

    response = api_client(org, getattr(org, role)).get(URL, {"scope": "all"})

    assert [r["title"] for r in response.json()["results"]] == ["Member's", "Admin's"]


def test_list_filters_by_space_status_and_window_and_orders(api_client, org, space):
    other = SpaceFactory(name="Green room")
    ReservationFactory(space=space, user=org.member, title="A", starts_at=utc(2025, 3, 10, 9))
    ReservationFactory(space=other, user=org.member, title="B", starts_at=utc(2025, 3, 11, 9))
    ReservationFactory(
        space=space, user=org.member, title="C", starts_at=utc(2025, 3, 12, 9), status=Reservation.Status.CANCELLED
    )
    client = api_client(org, org.member)
    titles = lambda **params: [r["title"] for r in client.get(URL, params).json()["results"]]  # noqa: E731

    assert titles(space=space.pk) == ["A", "C"]
    assert titles(status="cancelled") == ["C"]
    assert titles(**{"from": "2025-03-11T00:00:00Z", "to": "2025-03-12T00:00:00Z"}) == ["B"]
    assert titles(ordering="-starts_at") == ["C", "B", "A"]
    assert client.get(URL, {"from": "2025-03-11T00:00:00"}).status_code == 400


def test_the_list_runs_a_fixed_number_of_queries(api_client, org, space):
    client = api_client(org, org.member)
    ReservationFactory(space=space, user=org.member)
    with CaptureQueriesContext(connection) as one:
        assert client.get(URL).status_code == 200
    for day in range(1, 15):
        ReservationFactory(space=SpaceFactory(), user=org.member, starts_at=utc(2025, 3, 10, 9) + timedelta(days=day))
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(URL, {"page_size": 50}).json()["results"]) == 15
    assert len(many) == len(one)


def test_someone_elses_reservation_is_not_found_to_a_member(api_client, org, space):
    theirs = ReservationFactory(space=space, user=org.admin)
    client = api_client(org, org.member)
    assert client.get(f"{URL}/{theirs.pk}").status_code == 404
    assert client.patch(f"{URL}/{theirs.pk}", {"title": "x"}).status_code == 404
    assert client.delete(f"{URL}/{theirs.pk}").status_code == 404
    assert api_client(org, org.owner).get(f"{URL}/{theirs.pk}").status_code == 200


def test_patch_and_put_are_validated_like_bookings(api_client, org, space):
    client = api_client(org, org.member)
    created = client.post(URL, payload(space, title="Draft")).json()
    ReservationFactory(space=space, user=org.admin, starts_at=utc(2025, 3, 10, 11))

    assert client.patch(f"{URL}/{created['id']}", {"ends_at": "2025-03-10T10:30:00Z"}).json()["ends_at"] == (
        "2025-03-10T10:30:00Z"
    )
    assert client.patch(f"{URL}/{created['id']}", {"ends_at": "2025-03-10T11:30:00Z"}).status_code == 409
    assert client.patch(f"{URL}/{created['id']}", {"attendees": 99}).status_code == 400
    assert client.put(f"{URL}/{created['id']}", {"title": "No times"}).status_code == 400
    put = client.put(f"{URL}/{created['id']}", payload(space, "2025-03-10T12:00:00Z", "2025-03-10T13:00:00Z"))
    assert put.status_code == 200
    assert put.json()["starts_at"] == "2025-03-10T12:00:00Z"


def test_delete_cancels_keeps_the_row_frees_the_slot_and_is_harmless_twice(api_client, org, space):
    client = api_client(org, org.member)
    created = client.post(URL, payload(space)).json()

    first = client.delete(f"{URL}/{created['id']}")
    second = client.delete(f"{URL}/{created['id']}")

    assert first.status_code == second.status_code == 200
    assert second.json()["status"] == "cancelled"
    assert second.json()["cancelled_at"] is not None
    assert client.post(URL, payload(space)).status_code == 201
    assert Reservation.objects.filter(space=space).count() == 2


def test_managers_confirm_pending_reservations(api_client, org, in_tenant, booking_now):
    space = SpaceFactory(requires_approval=True)
    created = api_client(org, org.member).post(URL, payload(space)).json()
    assert created["status"] == "pending"

    assert api_client(org, org.member).post(f"{URL}/{created['id']}/confirm").status_code == 403
    response = api_client(org, org.admin).post(f"{URL}/{created['id']}/confirm")

    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"
    api_client(org, org.member).delete(f"{URL}/{created['id']}")
    conflict = api_client(org, org.admin).post(f"{URL}/{created['id']}/confirm")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "reservation_not_pending"


def test_booking_outside_opening_hours_is_a_400(api_client, paris, in_tenant, booking_now):
    space = open_every_day(SpaceFactory(), time(8), time(18))
    response = api_client(paris, paris.member).post(
        URL, payload(space, "2025-03-30T07:30:00+02:00", "2025-03-30T08:30:00+02:00")
    )
    assert response.status_code == 400
    assert response.json()["code"] == "closed"
    assert "Sunday 08:00-18:00" in response.json()["starts_at"][0]


def test_another_organizations_reservations_are_invisible(api_client, org, other_org, space):
    mine = ReservationFactory(space=space, user=org.member)
    beta_owner = api_client(other_org, other_org.owner)

    assert beta_owner.get(f"{URL}/{mine.pk}").status_code == 404
    assert beta_owner.get(URL, {"scope": "all"}).json()["results"] == []
    assert beta_owner.post(URL, payload(space)).status_code == 400  # alpha's space does not exist in beta
    connection.set_tenant(org.organization)
    assert Reservation.objects.filter(space=space).count() == 1


def test_an_alpha_token_does_not_work_on_beta(api_client, org, other_org, space):
    client = api_client(org, org.member)
    client.defaults["HTTP_HOST"] = other_org.host
    assert client.get(URL).status_code == 401


def test_anonymous_requests_are_refused(api_client, org, space):
    assert api_client(org).get(URL).status_code == 401
    assert api_client(org).post(URL, payload(space)).status_code == 401


def test_absurd_numbers_are_4xx_never_500(api_client, org, space):
    client = api_client(org, org.owner)
    assert client.post(URL, payload(space, attendees=10**12)).status_code == 400
    assert client.post(URL, {**payload(space), "space": 10**30}).status_code == 400
    assert client.get(f"{URL}/{10**25}").status_code == 404
    assert client.get("/api/v1/spaces/99999999999999999999999").status_code == 404


def test_the_most_expensive_possible_booking_still_fits_its_price(api_client, org, space):
    client = api_client(org, org.owner)
    client.patch(f"/api/v1/spaces/{space.pk}", {"hourly_rate": "99999999.99", "max_duration_minutes": 44640})
    response = client.post(URL, payload(space, "2025-03-10T09:00:00Z", "2025-04-10T09:00:00Z"))
    assert response.status_code == 201
    assert response.json()["price"] == "74399999992.56"


def test_the_list_pages_by_cursor_and_every_page_costs_the_same(api_client, org, space):
    for day in range(7):
        ReservationFactory(space=space, user=org.member, starts_at=utc(2025, 3, 11, 9) + timedelta(days=day))
    client = api_client(org, org.owner)
    seen, url, costs = [], URL + "?scope=all&page_size=2", []
    while url:
        with CaptureQueriesContext(connection) as queries:
            body = client.get(url).json()
        costs.append(len(queries))
        assert "count" not in body  # no COUNT(*) of the whole table on every page
        seen += [row["starts_at"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == 7 and seen == sorted(seen)
    assert len(set(costs)) == 1
    assert not [q["sql"] for q in queries if "OFFSET" in q["sql"] or "COUNT(" in q["sql"]]


def test_the_list_walks_the_starts_at_id_index_from_the_cursor(in_tenant, space):
    from reservations.selectors import reservation_list
    from spacemanager.testing import explain

    manager = in_tenant.membership(in_tenant.owner)
    queryset = (
        reservation_list(actor=manager, everyone=True)
        .filter(starts_at__gte=utc(2025, 3, 1))
        .order_by("starts_at", "id")[:21]
    )
    plan = explain(queryset, enable_seqscan=False, enable_bitmapscan=False, enable_sort=False)
    # The rows come out of the index in order: the LIMIT stops after 21 of them, with no sort of the table.
    assert "Index Scan using reservations_starts_id" in plan
    assert "Sort" not in plan


def test_the_list_newest_first_walks_the_same_index_backwards(in_tenant, space):
    # ?ordering=-starts_at: the last page of the soonest-first list, read as a first page, as cheap as page 1.
    from reservations.selectors import reservation_list
    from spacemanager.testing import explain

    manager = in_tenant.membership(in_tenant.owner)
    queryset = reservation_list(actor=manager, everyone=True).order_by("-starts_at", "-id")[:21]
    plan = explain(queryset, enable_seqscan=False, enable_bitmapscan=False, enable_sort=False)
    assert "Index Scan Backward using reservations_starts_id" in plan
    assert "Sort" not in plan


def test_a_mangled_cursor_is_a_400_naming_it(api_client, org):
    response = api_client(org, org.member).get(URL, {"cursor": "garbage"})
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_the_booking_input_shares_its_fields_except_when_partial_or_given_a_context():
    from reservations.api import ReservationCreateInputSerializer

    first, second = ReservationCreateInputSerializer(data={}), ReservationCreateInputSerializer(data={})
    assert first.fields is second.fields
    assert ReservationCreateInputSerializer(data={}, partial=True).fields is not first.fields
    assert ReservationCreateInputSerializer(data={}, context={"request": None}).fields is not first.fields
    assert not first.is_valid() and first.errors == {"space": ["This field is required."]}
    assert second.is_valid() is False and second.errors == first.errors  # one's errors are not kept on the fields
    good = ReservationCreateInputSerializer(
        data={"space": 3, "starts_at": "2025-03-10T09:00:00Z", "ends_at": "2025-03-10T10:00:00Z"}
    )
    assert good.is_valid(), good.errors
    assert good.validated_data["space"] == 3 and not first.is_valid()
