"""Equipment taken along with bookings: never more than there are at any moment; freed by every way a booking
stops holding its slot; checked again when a booking moves."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from equipment.models import Allocation
from equipment.selectors import item_free
from equipment.services import EquipmentInUse, EquipmentRequest, EquipmentUnavailable, item_archive, item_update
from equipment.tests.factories import ItemFactory
from reservations.models import Reservation
from reservations.services import (
    reservation_cancel,
    reservation_create,
    reservation_decline,
    reservation_quote,
    reservation_update,
    reservations_expire_pending,
    reservations_release_no_shows,
    series_create,
)
from spacemanager.errors import PermissionDenied, ValidationFailed
from spaces.tests.factories import SpaceFactory

MONDAY_9 = datetime(2025, 3, 10, 9, tzinfo=UTC)


@pytest.fixture
def member(in_tenant, booking_now):
    return in_tenant.membership(in_tenant.member)


@pytest.fixture
def admin(in_tenant, booking_now):
    return in_tenant.membership(in_tenant.admin)


def book(actor, item, quantity=1, *, starts_at=MONDAY_9, hours=1, space=None, **extra) -> Reservation:
    return reservation_create(
        actor=actor,
        space_id=(space or SpaceFactory()).pk,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        equipment=[EquipmentRequest(item.pk, quantity)],
        **extra,
    )


@pytest.mark.django_db
def test_a_booking_takes_its_items_and_the_last_one_is_refused_naming_what_is_free(member):
    monitor = ItemFactory(name="Monitor", quantity=3)
    book(member, monitor, 2)
    with pytest.raises(EquipmentUnavailable) as refused:
        book(member, monitor, 2, starts_at=MONDAY_9 + timedelta(minutes=30))
    assert refused.value.http_status == 409
    payload = refused.value.as_payload()
    assert payload["code"] == "equipment_unavailable"
    assert payload["item"] == {"id": monitor.pk, "name": "Monitor"}
    assert (payload["requested"], payload["available"]) == (2, 1)
    assert "Only 1 of Monitor is free" in payload["detail"]
    assert Reservation.objects.count() == 1  # nothing half-written
    book(member, monitor, 1, starts_at=MONDAY_9 + timedelta(minutes=30))


@pytest.mark.django_db
def test_uses_that_never_meet_do_not_add_up(member):
    monitor = ItemFactory(quantity=1)
    book(member, monitor, starts_at=MONDAY_9)  # 09-10
    book(member, monitor, starts_at=MONDAY_9 + timedelta(hours=1))  # 10-11 touches it
    # 09:00-11:00 meets both, but never two at once: still none free, since one is held at every moment.
    assert item_free(item=monitor, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=2)) == 0
    two = ItemFactory(quantity=2)
    book(member, two, starts_at=MONDAY_9)
    book(member, two, starts_at=MONDAY_9 + timedelta(hours=1))
    assert item_free(item=two, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=2)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["cancel", "decline", "expire", "no_show"])
def test_every_way_a_booking_lets_go_frees_its_items(member, admin, booking_now, how):
    monitor = ItemFactory(quantity=1)
    space = SpaceFactory(requires_approval=how in ("decline", "expire"), check_in_required=how == "no_show")
    starts_at = timezone.now() + timedelta(hours=1) if how != "decline" else MONDAY_9
    first = book(member, monitor, starts_at=starts_at, space=space)
    with pytest.raises(EquipmentUnavailable):
        book(admin, monitor, starts_at=starts_at)
    if how == "cancel":
        reservation_cancel(actor=member, reservation=first)
    elif how == "decline":
        reservation_decline(actor=admin, reservation=first)
    elif how == "expire":
        reservations_expire_pending(now=first.starts_at + timedelta(minutes=1))
    else:
        reservations_release_no_shows(now=first.starts_at + timedelta(minutes=space.check_in_grace_minutes + 1))
    first.refresh_from_db()
    assert not first.is_active
    assert item_free(item=monitor, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30)) == 1


@pytest.mark.django_db
def test_moving_a_booking_checks_its_items_again_and_keeps_them_when_it_cannot(member, admin):
    monitor = ItemFactory(quantity=1)
    first = book(member, monitor)
    book(admin, monitor, starts_at=MONDAY_9 + timedelta(hours=2))
    with pytest.raises(EquipmentUnavailable):
        reservation_update(actor=member, reservation=first, starts_at=MONDAY_9 + timedelta(hours=2),
                           ends_at=MONDAY_9 + timedelta(hours=3))  # fmt: skip
    first.refresh_from_db()
    assert first.starts_at == MONDAY_9
    assert list(first.equipment_allocations.values_list("item_id", "quantity")) == [(monitor.pk, 1)]
    moved = reservation_update(
        actor=member, reservation=first, starts_at=MONDAY_9 + timedelta(hours=4), ends_at=MONDAY_9 + timedelta(hours=5)
    )
    assert list(moved.equipment_allocations.values_list("item_id", "quantity")) == [(monitor.pk, 1)]


@pytest.mark.django_db
def test_changing_the_items_of_a_booking_replaces_them_and_reprices_it(member):
    monitor = ItemFactory(quantity=2, price_per_booking=Decimal("10.00"))
    chair = ItemFactory(quantity=5)
    reservation = book(member, monitor)
    assert reservation.price == Decimal("10.00")
    changed = reservation_update(
        actor=member,
        reservation=reservation,
        equipment=[EquipmentRequest(monitor.pk, 2), EquipmentRequest(chair.pk, 3)],
    )
    assert sorted(changed.equipment_allocations.values_list("item_id", "quantity")) == [(monitor.pk, 2), (chair.pk, 3)]
    assert Reservation.objects.get(pk=reservation.pk).price == Decimal("20.00")
    reservation_update(actor=member, reservation=reservation, equipment=[])
    assert not Allocation.objects.filter(reservation=reservation).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("requests", "code"),
    [
        ([EquipmentRequest(999_999, 1)], "unknown_item"),
        ("twice", "duplicate_item"),
        ("zero", "min_value"),
        ("archived", "unknown_item"),
    ],
)
def test_a_bad_equipment_request_is_a_400_naming_the_field(member, admin, requests, code):
    item = ItemFactory()
    if requests == "twice":
        requests = [EquipmentRequest(item.pk, 1), EquipmentRequest(item.pk, 1)]
    elif requests == "zero":
        requests = [EquipmentRequest(item.pk, 0)]
    elif requests == "archived":
        item_archive(actor=admin, item=item)
        requests = [EquipmentRequest(item.pk, 1)]
    with pytest.raises(ValidationFailed) as refused:
        reservation_create(
            actor=member, space_id=SpaceFactory().pk, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1),
            equipment=requests,
        )  # fmt: skip
    assert (refused.value.field, refused.value.code) == ("equipment", code)
    assert not Reservation.objects.exists()


@pytest.mark.django_db
def test_a_series_takes_items_for_each_occurrence_and_skips_the_dates_they_are_taken(member, admin):
    monitor = ItemFactory(quantity=1)
    book(admin, monitor, starts_at=MONDAY_9 + timedelta(days=7))
    kwargs = {
        "actor": member,
        "space_id": SpaceFactory().pk,
        "starts_at": MONDAY_9,
        "ends_at": MONDAY_9 + timedelta(hours=1),
        "recurrence": "FREQ=WEEKLY;COUNT=3",
        "equipment": [EquipmentRequest(monitor.pk, 1)],
    }
    with pytest.raises(ValidationFailed) as refused:
        series_create(**kwargs)
    assert refused.value.code == "occurrences_refused"
    assert refused.value.extra["occurrences"][0]["code"] == "equipment_unavailable"
    result = series_create(**kwargs, skip_conflicts=True)
    assert len(result.occurrences) == 2
    assert all(o.equipment_allocations.get().item_id == monitor.pk for o in result.occurrences)


@pytest.mark.django_db
def test_a_quote_is_refused_like_the_booking_and_books_nothing(member):
    monitor = ItemFactory(quantity=1, price_per_hour=Decimal("4.00"))
    space = SpaceFactory(hourly_rate=Decimal("20.00"))
    quote = reservation_quote(
        actor=member,
        space_id=space.pk,
        starts_at=MONDAY_9,
        ends_at=MONDAY_9 + timedelta(hours=2),
        equipment=[EquipmentRequest(monitor.pk, 1)],
    )
    assert quote.total == Decimal("48.00")
    assert not Reservation.objects.exists()
    assert not Allocation.objects.exists()
    book(member, monitor)
    with pytest.raises(EquipmentUnavailable):
        reservation_quote(
            actor=member, space_id=space.pk, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=2),
            equipment=[EquipmentRequest(monitor.pk, 1)],
        )  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        reservation_quote(actor=member, space_id=space.pk, starts_at=MONDAY_9, ends_at=MONDAY_9)
    assert refused.value.code == "ends_before_start"


@pytest.mark.django_db
def test_an_items_quantity_cannot_drop_below_what_upcoming_bookings_hold(member, admin):
    monitor = ItemFactory(quantity=3)
    book(member, monitor, 2)
    with pytest.raises(EquipmentInUse):
        item_update(actor=admin, item=monitor, quantity=1)
    assert item_update(actor=admin, item=monitor, quantity=2).quantity == 2
    with pytest.raises(EquipmentInUse):
        item_archive(actor=admin, item=monitor)
    with pytest.raises(PermissionDenied):
        item_update(actor=member, item=monitor, quantity=5)
