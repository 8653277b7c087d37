"""The space behind availability answers is kept per process under its availability version
(spaces.availability_cache.availability_space): read once for all its weeks and viewers, and again as soon as
anything the version covers changes."""

from copy import copy
from datetime import UTC, datetime, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reservations.tests.factories import ReservationFactory
from spaces import availability_cache
from spaces.availability_cache import availability_key, availability_space
from spaces.hours import WeeklyInterval
from spaces.services import opening_hours_set, space_archive, space_update
from spaces.tests.factories import SpaceFactory, open_every_day

URL = "/api/v1/spaces"


def week(space, monday: str) -> str:
    return f"{URL}/{space.pk}/availability?start={monday}T00:00:00Z&end={monday[:8]}{int(monday[8:]) + 7:02d}T00:00:00Z"


def reads_the_space(queries) -> bool:
    return any('"spaces_openinghours"' in query["sql"] for query in queries.captured_queries)


@pytest.fixture
def space(in_tenant):
    return open_every_day(SpaceFactory(), time(8), time(18))


def test_a_spaces_other_weeks_and_other_viewers_do_not_read_it_again(api_client, org, space):
    owner, member = api_client(org, org.owner), api_client(org, org.member)
    with CaptureQueriesContext(connection) as first:
        assert owner.get(week(space, "2025-03-03")).status_code == 200
    assert reads_the_space(first)

    with CaptureQueriesContext(connection) as later:
        assert owner.get(week(space, "2025-03-10")).status_code == 200
        assert member.get(week(space, "2025-03-17")).status_code == 200
    assert not reads_the_space(later)
    # Still computed: the bookings and closures of each new window are read.
    assert sum('"reservations_reservation"' in query["sql"] for query in later.captured_queries) == 2


def test_what_the_services_change_shows_in_the_next_answer(api_client, org, space):
    ReservationFactory(space=space, user=org.admin, starts_at=datetime(2025, 3, 17, 10, tzinfo=UTC))
    owner = api_client(org, org.owner)
    monday = owner.get(week(space, "2025-03-03")).json()
    assert monday["free"][0] == {"starts_at": "2025-03-03T08:00:00Z", "ends_at": "2025-03-03T18:00:00Z"}

    opening_hours_set(actor=org.membership(org.owner), space=space, intervals=[WeeklyInterval(0, time(9), time(12))])
    assert owner.get(week(space, "2025-03-10")).json()["free"] == [
        {"starts_at": "2025-03-10T09:00:00Z", "ends_at": "2025-03-10T12:00:00Z"}
    ]

    # The space's own buffers keep its bookings' surroundings clear for a new one.
    space_update(actor=org.membership(org.owner), space=space, data={"buffer_before_minutes": 30})
    assert owner.get(week(space, "2025-03-17")).json()["free"] == [
        {"starts_at": "2025-03-17T09:00:00Z", "ends_at": "2025-03-17T10:00:00Z"},
        {"starts_at": "2025-03-17T11:30:00Z", "ends_at": "2025-03-17T12:00:00Z"},
    ]

    space_archive(actor=org.membership(org.owner), space=space)
    assert owner.get(week(space, "2025-03-24")).json()["free"] == []


@pytest.fixture
def loads():
    """A load function that counts its calls and returns a new object each time."""
    made = []

    def load():
        made.append(object())
        return made[-1]

    return made, load


def test_kept_per_version_and_per_organization_never_per_schema_name(org, other_org, loads):
    made, load = loads
    connection.set_tenant(org.organization)
    first = availability_space(space_id=7, version=3, load=load)
    assert availability_space(space_id=7, version=3, load=load) is first
    assert availability_space(space_id=7, version=4, load=load) is not first
    connection.set_tenant(other_org.organization)
    assert availability_space(space_id=7, version=4, load=load) is made[-1] is not made[1]
    assert len(made) == 3


def test_kept_no_longer_than_a_stored_answer(in_tenant, loads, monkeypatch):
    made, load = loads
    clock = [1000.0]
    monkeypatch.setattr(availability_cache.time, "monotonic", lambda: clock[0])
    first = availability_space(space_id=7, version=1, load=load)
    clock[0] += availability_cache.CACHE_SECONDS - 1
    assert availability_space(space_id=7, version=1, load=load) is first
    clock[0] += 1
    assert availability_space(space_id=7, version=1, load=load) is not first
    assert len(made) == 2


def test_at_most_spaces_kept_the_least_recently_used_go_first(in_tenant, loads, monkeypatch):
    made, load = loads
    monkeypatch.setattr(availability_cache, "SPACES_KEPT", 2)
    one = availability_space(space_id=1, version=1, load=load)
    availability_space(space_id=2, version=1, load=load)
    assert availability_space(space_id=1, version=1, load=load) is one  # 1 used last: 2 goes next
    availability_space(space_id=3, version=1, load=load)
    assert availability_space(space_id=1, version=1, load=load) is one
    assert len(made) == 3
    availability_space(space_id=2, version=1, load=load)
    assert len(made) == 4


def test_a_failed_load_is_not_kept(in_tenant, loads):
    made, load = loads

    def missing():
        raise LookupError("no such space")

    with pytest.raises(LookupError):
        availability_space(space_id=9, version=0, load=missing)
    availability_space(space_id=9, version=0, load=load)
    assert len(made) == 1


def test_a_missing_space_is_still_a_404_after_its_weeks_were_asked(api_client, org, in_tenant):
    owner = api_client(org, org.owner)
    response = owner.get(f"{URL}/987654/availability?start=2025-03-03T00:00:00Z&end=2025-03-04T00:00:00Z")
    assert response.status_code == 404
    again = owner.get(f"{URL}/987654/availability?start=2025-03-10T00:00:00Z&end=2025-03-11T00:00:00Z")
    assert again.status_code == 404
    assert again.json()["detail"] == response.json()["detail"]


def test_a_new_organization_under_an_old_schema_name_shares_no_stored_answer(org):
    """An organization deleted and signed up again under the same address gets the old schema name, and its
    spaces may get the old ids and versions: the stored answers' key names the organization's id too."""
    window = {"starts_at": timezone.now(), "ends_at": timezone.now(), "user_id": 1, "role": "owner", "version": 2}
    connection.set_tenant(org.organization)
    old = availability_key(space_id=7, **window)
    successor = copy(org.organization)
    successor.pk = org.organization.pk + 1000
    connection.set_tenant(successor)
    assert successor.schema_name == org.organization.schema_name
    assert availability_key(space_id=7, **window) != old
