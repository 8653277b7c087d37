"""Closures: bookings inside them are refused naming the reason; declaring one lists the bookings it meets and
may cancel them, telling each booker why; availability, the free-space search and the API show them."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection

from reservations.models import Reservation
from reservations.services import reservation_create, reservation_update
from spacemanager.errors import PermissionDenied, ValidationFailed
from spaces.models import Closure
from spaces.selectors import space_availability, space_list_available
from spaces.services import closure_create, closure_delete, closure_update
from spaces.tests.factories import SpaceFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)  # a week after BOOKING_NOW; 10:00 in Paris
HOLIDAY = (datetime(2025, 3, 10, tzinfo=UTC), datetime(2025, 3, 11, tzinfo=UTC))


@pytest.fixture
def member(paris, in_tenant, booking_now, celery_eager):
    return paris.membership(paris.member)


@pytest.fixture
def manager(paris, in_tenant, booking_now, celery_eager):
    return paris.membership(paris.admin)


def book(actor, space, starts_at=MONDAY_9, **extra) -> Reservation:
    return reservation_create(
        actor=actor, space_id=space.pk, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1), **extra
    )


def close(actor, *spaces, period=HOLIDAY, reason="Public holiday", **extra):
    return closure_create(
        actor=actor, starts_at=period[0], ends_at=period[1], reason=reason, space_ids=[s.pk for s in spaces], **extra
    )


def test_a_booking_inside_a_closure_of_every_space_is_refused_naming_the_reason(member, manager):
    space = SpaceFactory(name="Blue room")
    close(manager)

    with pytest.raises(ValidationFailed) as caught:
        book(member, space)

    assert caught.value.code == "closed" and caught.value.field == "starts_at"
    assert caught.value.message == (
        "Blue room is closed from 2025-03-10T01:00:00+01:00 to 2025-03-11T01:00:00+01:00: Public holiday."
    )


def test_a_closure_of_chosen_spaces_leaves_the_others_bookable(member, manager):
    closed, other = SpaceFactory(), SpaceFactory()
    close(manager, closed, reason="Painting")

    assert book(member, other).is_active
    with pytest.raises(ValidationFailed, match="Painting"):
        book(member, closed)
    # Touching the closure's end is fine.
    assert book(member, closed, starts_at=HOLIDAY[1]).is_active


def test_declaring_a_closure_lists_the_bookings_inside_and_keeps_them_unless_asked(member, manager):
    space = SpaceFactory()
    inside = book(member, space)
    book(member, space, starts_at=HOLIDAY[1] + timedelta(hours=9))  # the day after

    result = close(manager)

    assert [reservation.pk for reservation in result.affected] == [inside.pk]
    assert result.cancelled == []
    assert Reservation.objects.get(pk=inside.pk).is_active


def test_cancelling_the_affected_bookings_tells_each_booker_the_reason(
    member, manager, django_capture_on_commit_callbacks
):
    space = SpaceFactory(name="Blue room")
    inside = book(member, space)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        result = close(manager, reason="Public holiday", cancel_affected=True)

    assert [reservation.pk for reservation in result.cancelled] == [inside.pk]
    cancelled = Reservation.objects.get(pk=inside.pk)
    assert cancelled.status == Reservation.Status.CANCELLED
    assert cancelled.cancel_reason == "Public holiday"
    [notice] = mail.outbox
    assert notice.to == ["member@alpha.test"]
    assert notice.subject.startswith("Booking cancelled: Blue room")
    assert "Alpha cancelled it: Public holiday" in notice.body


def test_only_owners_and_admins_declare_change_or_delete_closures(member, manager):
    with pytest.raises(PermissionDenied):
        close(member)
    closure = close(manager).closure
    with pytest.raises(PermissionDenied):
        closure_update(actor=member, closure=closure, data={"reason": "x"})
    with pytest.raises(PermissionDenied):
        closure_delete(actor=member, closure=closure)
    assert Closure.objects.filter(pk=closure.pk).exists()


@pytest.mark.parametrize(
    ("period", "reason", "field"),
    [
        ((HOLIDAY[1], HOLIDAY[0]), "Holiday", "ends_at"),
        (HOLIDAY, "   ", "reason"),
        ((HOLIDAY[0].replace(tzinfo=None), HOLIDAY[1]), "Holiday", "starts_at"),
    ],
)
def test_a_bad_closure_is_refused_and_nothing_is_written(manager, period, reason, field):
    with pytest.raises(ValidationFailed) as caught:
        closure_create(actor=manager, starts_at=period[0], ends_at=period[1], reason=reason)
    assert caught.value.field == field
    assert not Closure.objects.exists()


def test_an_unknown_space_is_refused(manager):
    with pytest.raises(ValidationFailed) as caught:
        closure_create(actor=manager, starts_at=HOLIDAY[0], ends_at=HOLIDAY[1], reason="x", space_ids=[987654])
    assert (caught.value.field, caught.value.code) == ("spaces", "unknown_space")
    assert not Closure.objects.exists()


def test_moving_a_closure_applies_to_its_new_period_and_deleting_reopens(member, manager):
    space = SpaceFactory()
    closure = close(manager, space).closure

    closure_update(
        actor=manager, closure=closure, data={"starts_at": HOLIDAY[1], "ends_at": HOLIDAY[1] + timedelta(days=1)}
    )
    booked = book(member, space)
    with pytest.raises(ValidationFailed, match="closed"):
        reservation_update(
            actor=member,
            reservation=booked,
            starts_at=HOLIDAY[1] + timedelta(hours=9),
            ends_at=HOLIDAY[1] + timedelta(hours=10),
        )
    closure_delete(actor=manager, closure=closure)
    assert reservation_update(
        actor=member,
        reservation=booked,
        starts_at=HOLIDAY[1] + timedelta(hours=9),
        ends_at=HOLIDAY[1] + timedelta(hours=10),
    ).is_active


def test_availability_shows_the_closure_and_no_free_time_inside_it(in_tenant, manager):
    space = SpaceFactory()
    close(manager, space, period=(MONDAY_9, MONDAY_9 + timedelta(hours=2)), reason="Fire drill")

    availability = space_availability(space=space, starts_at=HOLIDAY[0], ends_at=HOLIDAY[1], tz=PARIS, viewer=manager)

    assert [(c.starts_at, c.ends_at, c.reason) for c in availability.closures] == [
        (MONDAY_9, MONDAY_9 + timedelta(hours=2), "Fire drill")
    ]
    assert availability.free == [(HOLIDAY[0], MONDAY_9), (MONDAY_9 + timedelta(hours=2), HOLIDAY[1])]


def test_free_space_search_leaves_out_closed_spaces(in_tenant, manager):
    SpaceFactory(name="Open")
    close(manager, SpaceFactory(name="Closed"))
    elsewhere = SpaceFactory(name="Closed another day")
    close(manager, elsewhere, period=(HOLIDAY[1], HOLIDAY[1] + timedelta(days=1)))

    names = space_list_available(starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1), tz=PARIS)

    assert set(names.values_list("name", flat=True)) == {"Open", "Closed another day"}


def test_a_closure_of_every_space_empties_the_free_space_search(in_tenant, manager):
    SpaceFactory()
    close(manager)
    assert not space_list_available(starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1), tz=PARIS).exists()


# API


def test_the_api_declares_a_closure_and_answers_with_the_bookings_it_cancelled(paris, api_client, member, manager):
    space = SpaceFactory(name="Blue room")
    inside = book(member, space)
    connection.set_schema_to_public()
    client = api_client(paris, paris.admin)

    response = client.post(
        "/api/v1/closures",
        {
            "starts_at": "2025-03-10T00:00:00+01:00",
            "ends_at": "2025-03-11T00:00:00+01:00",
            "reason": "Public holiday",
            "spaces": [space.pk],
            "cancel_affected": True,
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["reason"] == "Public holiday" and body["spaces"] == [{"id": space.pk, "name": "Blue room"}]
    assert body["starts_at"] == "2025-03-10T00:00:00+01:00"
    assert [(r["id"], r["status"]) for r in body["affected_reservations"]] == [(inside.pk, "cancelled")]
    listed = api_client(paris, paris.member).get("/api/v1/closures").json()
    assert [c["id"] for c in listed["results"]] == [body["id"]]


def test_booking_through_the_api_inside_a_closure_is_a_400_closed(paris, api_client, manager):
    space = SpaceFactory()
    closure = close(manager).closure
    connection.set_schema_to_public()

    response = api_client(paris, paris.member).post(
        "/api/v1/reservations",
        {"space": space.pk, "starts_at": "2025-03-10T09:00:00Z", "ends_at": "2025-03-10T10:00:00Z"},
        format="json",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "closed" and "Public holiday" in body["starts_at"][0]
    assert body["closure"] == {"id": closure.pk, "reason": "Public holiday"}


def test_the_closures_api_refuses_members_bad_input_and_unknown_fields(paris, api_client, in_tenant):
    body = {"starts_at": "2025-03-10T00:00:00Z", "ends_at": "2025-03-11T00:00:00Z", "reason": "Holiday"}
    connection.set_schema_to_public()

    assert api_client(paris, paris.member).post("/api/v1/closures", body, format="json").status_code == 403
    admin = api_client(paris, paris.admin)
    backwards = admin.post("/api/v1/closures", {**body, "ends_at": "2025-03-09T00:00:00Z"}, format="json")
    unknown = admin.post("/api/v1/closures", {**body, "colour": "red"}, format="json")
    naive = admin.post("/api/v1/closures", {**body, "starts_at": "2025-03-10T00:00:00"}, format="json")

    assert backwards.status_code == 400 and "ends_at" in backwards.json()
    assert unknown.status_code == 400 and "colour" in unknown.json()
    assert naive.status_code == 400 and "starts_at" in naive.json()
    assert api_client(paris, paris.admin).get("/api/v1/closures/987654").status_code == 404
    connection.set_tenant(paris.organization)
    assert not Closure.objects.exists()


def test_the_api_changes_shows_and_deletes_a_closure(paris, api_client, member, manager):
    space = SpaceFactory()
    closure = close(manager, space).closure
    booked = book(member, space, starts_at=HOLIDAY[1] + timedelta(hours=9))
    connection.set_schema_to_public()
    admin = api_client(paris, paris.admin)

    changed = admin.patch(f"/api/v1/closures/{closure.pk}", {"ends_at": "2025-03-12T00:00:00Z"}, format="json")
    shown = admin.get(f"/api/v1/closures/{closure.pk}")
    members_view = api_client(paris, paris.member).get(f"/api/v1/closures/{closure.pk}")
    deleted = admin.delete(f"/api/v1/closures/{closure.pk}")

    assert changed.status_code == 200 and changed.json()["ends_at"] == "2025-03-12T01:00:00+01:00"
    assert [r["id"] for r in changed.json()["affected_reservations"]] == [booked.pk]
    assert [r["status"] for r in shown.json()["affected_reservations"]] == ["confirmed"]
    assert members_view.json()["affected_reservations"] == []
    assert deleted.status_code == 204
    assert admin.get(f"/api/v1/closures/{closure.pk}").status_code == 404


def test_closures_belong_to_one_organization(paris, other_org, api_client, manager):
    closure = close(manager).closure
    connection.set_schema_to_public()

    response = api_client(other_org, other_org.admin).get(f"/api/v1/closures/{closure.pk}")

    assert response.status_code == 404
