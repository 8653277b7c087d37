"""The organization admin's spaces: saved, archived and given opening hours through spaces.services."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, User
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory
from spacemanager.testing import logged_in_client
from spaces.models import OpeningHours, Space
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/spaces/space/"
ADD = "/admin/spaces/space/add/"


def superuser(email: str = "root@platform.test") -> User:
    return User.objects.create_superuser(email=email, password="root-password-42")


@pytest.fixture
def operator(org):
    """A platform superuser who is an admin of alpha: the organization admin acts as that membership."""
    user = superuser()
    Membership.objects.create(user=user, organization=org.organization, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def admin_client(client, org, operator):
    return logged_in_client(client, host=org.host, user=operator)


def space_form(**overrides) -> dict:
    data = {
        "name": "Board room",
        "kind": "meeting_room",
        "capacity": "12",
        "location": "Floor 2",
        "description": "",
        "amenities": "Projector, whiteboard",
        "is_active": "on",
        "hourly_rate": "40.00",
        "min_duration_minutes": "30",
        "max_duration_minutes": "240",
        "max_days_ahead": "90",
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "0",
        "check_in_grace_minutes": "15",
        "opening_hours-TOTAL_FORMS": "0",
        "opening_hours-INITIAL_FORMS": "0",
        "opening_hours-MIN_NUM_FORMS": "0",
        "opening_hours-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def with_hours(data: dict, *rows: tuple[int, str, str], initial: int = 0) -> dict:
    data = dict(data)
    data["opening_hours-TOTAL_FORMS"] = str(len(rows))
    data["opening_hours-INITIAL_FORMS"] = str(initial)
    for index, (weekday, opens_at, closes_at) in enumerate(rows):
        data[f"opening_hours-{index}-weekday"] = str(weekday)
        data[f"opening_hours-{index}-opens_at"] = opens_at
        data[f"opening_hours-{index}-closes_at"] = closes_at
    return data


def tenant_rows(org, model):
    connection.set_tenant(org.organization)
    try:
        return list(model.objects.order_by("pk"))
    finally:
        connection.set_schema_to_public()


def test_adding_a_space_goes_through_the_service_with_its_opening_hours(admin_client, org):
    data = with_hours(space_form(), (0, "08:00", "12:00"), (0, "12:00", "18:00"), (4, "09:00", "17:00"))

    response = admin_client.post(ADD, data)

    assert response.status_code == 302
    [space] = tenant_rows(org, Space)
    assert space.name == "Board room"
    assert space.amenities == ["projector", "whiteboard"]  # the service normalises tags
    # opening_hours_set merges touching intervals into one
    hours = [(row.weekday, row.opens_at, row.closes_at) for row in tenant_rows(org, OpeningHours)]
    assert hours == [(0, time(8), time(18)), (4, time(9), time(17))]


def test_overlapping_opening_hours_are_a_form_error_and_nothing_is_saved(admin_client, org):
    data = with_hours(space_form(), (0, "08:00", "12:00"), (0, "11:00", "18:00"))

    response = admin_client.post(ADD, data)

    assert response.status_code == 200
    assert "Monday: opening intervals overlap." in response.content.decode()
    assert tenant_rows(org, Space) == []


def test_a_rule_broken_in_the_space_fields_shows_the_services_message_on_the_field(admin_client, org):
    response = admin_client.post(ADD, space_form(min_duration_minutes="120", max_duration_minutes="60"))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["max_duration_minutes"] == ["The maximum duration cannot be shorter than the minimum duration."]
    assert tenant_rows(org, Space) == []


def test_unticking_active_archives_the_space_and_cancels_its_upcoming_reservations(admin_client, in_tenant):
    space = SpaceFactory()
    upcoming = ReservationFactory(space=space, user=in_tenant.member, starts_at=datetime.now(UTC) + timedelta(days=2))
    connection.set_schema_to_public()

    data = space_form(name=space.name, is_active=None, amenities="projector")
    response = admin_client.post(f"{CHANGELIST}{space.pk}/change/", data)

    assert response.status_code == 302
    connection.set_tenant(in_tenant.organization)
    space.refresh_from_db()
    upcoming.refresh_from_db()
    assert space.is_active is False
    assert upcoming.status == Reservation.Status.CANCELLED


def test_changing_opening_hours_replaces_them_all(admin_client, in_tenant):
    space = SpaceFactory()
    monday = OpeningHours.objects.create(space=space, weekday=0, opens_at=time(8), closes_at=time(18))
    connection.set_schema_to_public()
    data = with_hours(
        space_form(name=space.name, amenities="projector"), (0, "08:00", "18:00"), (1, "10:00", "16:00"), initial=1
    )
    data["opening_hours-0-id"] = str(monday.pk)
    data["opening_hours-0-space"] = str(space.pk)
    data["opening_hours-0-DELETE"] = "on"
    data["opening_hours-1-space"] = str(space.pk)

    response = admin_client.post(f"{CHANGELIST}{space.pk}/change/", data)

    assert response.status_code == 302
    assert [(row.weekday, row.opens_at) for row in tenant_rows(in_tenant, OpeningHours)] == [(1, time(10))]


def test_archive_action_archives_through_the_service(admin_client, in_tenant):
    SpaceFactory(name="Kept")
    archived = SpaceFactory(name="Archived")
    ReservationFactory(space=archived, user=in_tenant.member, starts_at=datetime.now(UTC) + timedelta(days=1))
    connection.set_schema_to_public()

    response = admin_client.post(CHANGELIST, {"action": "archive", "_selected_action": [archived.pk]}, follow=True)

    content = response.content.decode()
    assert "Archived 1 space(s)." in content
    assert "Cancelled 1 upcoming reservation(s)" in content
    states = {space.name: space.is_active for space in tenant_rows(in_tenant, Space)}
    assert states == {"Kept": True, "Archived": False}


def test_spaces_cannot_be_deleted_only_archived(admin_client, in_tenant):
    space = SpaceFactory()
    connection.set_schema_to_public()

    assert "delete_selected" not in admin_client.get(CHANGELIST).content.decode()
    assert admin_client.post(f"{CHANGELIST}{space.pk}/delete/", {"post": "yes"}).status_code == 403
    assert len(tenant_rows(in_tenant, Space)) == 1


def test_space_list_counts_upcoming_reservations_without_a_query_per_row(admin_client, in_tenant):
    soon = datetime.now(UTC) + timedelta(days=1)
    busy = SpaceFactory(name="Busy")
    for day in range(3):
        ReservationFactory(space=busy, user=in_tenant.member, starts_at=soon + timedelta(days=day))
    ReservationFactory(
        space=busy, user=in_tenant.member, starts_at=soon + timedelta(days=5), status=Reservation.Status.CANCELLED
    )
    SpaceFactory(name="Idle")
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as two_rows:
        response = admin_client.get(CHANGELIST)
    counts = {space.name: space.upcoming_count for space in response.context["cl"].result_list}
    assert counts == {"Busy": 3, "Idle": 0}

    connection.set_tenant(in_tenant.organization)
    for index in range(6):
        ReservationFactory(space=SpaceFactory(name=f"Extra {index}"), user=in_tenant.member, starts_at=soon)
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as eight_rows:
        response = admin_client.get(CHANGELIST)

    assert len(response.context["cl"].result_list) == 8
    assert len(eight_rows) == len(two_rows)


def test_a_superuser_who_does_not_manage_the_organization_can_look_but_not_change(client, org):
    connection.set_tenant(org.organization)
    space_id = SpaceFactory().pk
    connection.set_schema_to_public()
    onlooker = superuser("onlooker@platform.test")
    Membership.objects.create(user=onlooker, organization=org.organization, role=Membership.Role.MEMBER)
    logged_in_client(client, host=org.host, user=onlooker)

    index = client.get("/admin/")
    assert "You can look, but not change anything" in index.content.decode()
    assert client.get(CHANGELIST).status_code == 200
    assert client.get(ADD).status_code == 403
    assert client.post(f"{CHANGELIST}{space_id}/change/", space_form(name="Renamed")).status_code == 403
    assert client.post(CHANGELIST, {"action": "archive", "_selected_action": [space_id]}).status_code == 200
    assert [space.is_active for space in tenant_rows(org, Space)] == [True]


def test_a_spaces_history_lists_only_this_organizations_entries(admin_client, org, other_org, operator):
    Membership.objects.create(user=operator, organization=other_org.organization, role=Membership.Role.ADMIN)
    assert admin_client.post(ADD, space_form(name="Alpha room")).status_code == 302
    [alpha_space] = tenant_rows(org, Space)
    # Each schema numbers its own rows: beta has a space with the same id, changed in beta's admin.
    connection.set_tenant(other_org.organization)
    SpaceFactory(pk=alpha_space.pk, name="Beta room", amenities=[])
    connection.set_schema_to_public()
    logged_in_client(admin_client, host=other_org.host, user=operator)
    changed = admin_client.post(f"{CHANGELIST}{alpha_space.pk}/change/", space_form(name="Beta hall", amenities=""))
    assert changed.status_code == 302
    assert LogEntry.objects.filter(object_id=str(alpha_space.pk)).count() == 2

    logged_in_client(admin_client, host=org.host, user=operator)
    response = admin_client.get(f"{CHANGELIST}{alpha_space.pk}/history/")

    assert [entry.object_repr for entry in response.context["action_list"]] == ["Alpha room"]
