from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine

from reservations import services
from reservations.models import Reservation
from reservations.services import (
    ReservationConflict,
    reservation_cancel,
    reservation_confirm,
    reservation_create,
    reservation_update,
)
from reservations.tests.factories import ReservationFactory
from spacemanager.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from spaces.models import OpeningHours
from spaces.services import space_archive
from spaces.tests.factories import SpaceFactory, open_every_day

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONDAY_9 = utc(2025, 3, 10, 9)  # a week after BOOKING_NOW


@pytest.fixture
def member(in_tenant, booking_now):
    return in_tenant.membership(in_tenant.member)


@pytest.fixture
def manager(in_tenant, booking_now):
    return in_tenant.membership(in_tenant.admin)


def book(actor, space, starts_at=MONDAY_9, hours=1.0, **extra):
    return reservation_create(
        actor=actor, space_id=space.pk, starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), **extra
    )


def refused(field, call, *args, **kwargs) -> str:
    with pytest.raises(ValidationFailed) as caught:
        call(*args, **kwargs)
    assert caught.value.field == field
    return caught.value.message


def test_a_booking_is_confirmed_and_priced_at_rate_times_duration(member):
    space = SpaceFactory(hourly_rate=Decimal("30.00"))

    reservation = book(member, space, hours=1.5, title="  Retro ", attendees=3)

    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CONFIRMED
    assert reservation.price == Decimal("45.00")
    assert reservation.user_id == member.user_id
    assert reservation.title == "Retro"


def test_a_free_space_has_no_price(member):
    assert book(member, SpaceFactory(hourly_rate=None)).price is None


def test_a_space_requiring_approval_gets_pending_bookings(member):
    assert book(member, SpaceFactory(requires_approval=True)).status == Reservation.Status.PENDING


def test_the_price_is_frozen_when_the_rate_changes(member):
    space = SpaceFactory(hourly_rate=Decimal("10.00"))
    reservation = book(member, space)
    space.hourly_rate = Decimal("99.00")
    space.save()
    reservation_update(actor=member, reservation=reservation, title="Renamed")
    reservation.refresh_from_db()
    assert reservation.price == Decimal("10.00")


@pytest.mark.parametrize("hours", [0, -1])
def test_an_end_at_or_before_the_start_is_refused(member, hours):
    assert "after the start" in refused("ends_at", book, member, SpaceFactory(), hours=hours)


def test_a_start_in_the_past_is_refused(member):
    assert "past" in refused("starts_at", book, member, SpaceFactory(), starts_at=utc(2025, 3, 3, 7))


def test_too_short_and_too_long_are_refused(member):
    space = SpaceFactory(min_duration_minutes=30, max_duration_minutes=120)
    assert "at least 30 min" in refused("ends_at", book, member, space, hours=0.25)
    assert "at most 2 h" in refused("ends_at", book, member, space, hours=2.5)
    assert book(member, space, hours=2).pk


def test_too_far_ahead_is_refused(member):
    space = SpaceFactory(max_days_ahead=5)
    assert "5 days ahead" in refused("starts_at", book, member, space, starts_at=utc(2025, 3, 9, 9))
    assert book(member, space, starts_at=utc(2025, 3, 8, 7)).pk


def test_more_attendees_than_capacity_is_refused(member):
    space = SpaceFactory(capacity=4)
    assert "at most 4 people" in refused("attendees", book, member, space, attendees=5)
    assert book(member, space, attendees=4).pk


def test_an_archived_space_cannot_be_booked(member):
    assert "archived" in refused("space", book, member, SpaceFactory(is_active=False))


def test_an_unknown_space_is_refused(member):
    with pytest.raises(ValidationFailed) as caught:
        reservation_create(actor=member, space_id=999_999, starts_at=MONDAY_9, ends_at=MONDAY_9 + timedelta(hours=1))
    assert caught.value.field == "space"


def test_outside_opening_hours_is_refused_with_the_days_hours(member):
    space = open_every_day(SpaceFactory(), time(8), time(18))
    message = refused("starts_at", book, member, space, starts_at=utc(2025, 3, 10, 7))
    assert "Monday 08:00-18:00" in message
    assert "Monday 08:00-18:00" in refused("ends_at", book, member, space, starts_at=utc(2025, 3, 10, 17), hours=2)


def test_a_day_without_rows_is_closed(member):
    space = SpaceFactory()
    OpeningHours.objects.create(space=space, weekday=0, opens_at=time(8), closes_at=time(18))
    assert "Tuesday closed" in refused("starts_at", book, member, space, starts_at=utc(2025, 3, 11, 9))


def test_a_space_without_hours_is_bookable_at_night(member):
    assert book(member, SpaceFactory(), starts_at=utc(2025, 3, 9, 2)).pk


def test_a_booking_may_run_across_midnight_when_both_days_are_open(member):
    space = SpaceFactory()
    OpeningHours.objects.create(space=space, weekday=4, opens_at=time(20), closes_at=time(0))
    OpeningHours.objects.create(space=space, weekday=5, opens_at=time(0), closes_at=time(2))
    assert book(member, space, starts_at=utc(2025, 3, 14, 22), hours=3).pk
    assert refused("ends_at", book, member, space, starts_at=utc(2025, 3, 7, 22), hours=5)


def test_an_overlap_is_a_conflict_naming_the_clashing_interval(member, manager):
    space = SpaceFactory()
    book(manager, space, starts_at=utc(2025, 3, 10, 9, 30))

    with pytest.raises(ReservationConflict) as caught:
        book(member, space)

    assert caught.value.http_status == 409
    assert caught.value.code == "reservation_conflict"
    assert caught.value.extra == {
        "conflicts": [{"starts_at": "2025-03-10T09:30:00Z", "ends_at": "2025-03-10T10:30:00Z"}]
    }


def test_touching_reservations_do_not_conflict(member):
    space = SpaceFactory()
    book(member, space, starts_at=utc(2025, 3, 10, 10))
    book(member, space, starts_at=utc(2025, 3, 10, 11))
    assert book(member, space, starts_at=utc(2025, 3, 10, 9)).pk
    assert Reservation.objects.active().filter(space=space).count() == 3


def test_cancelled_and_other_spaces_reservations_do_not_block(member):
    space = SpaceFactory()
    ReservationFactory(space=space, user=member.user, starts_at=MONDAY_9, status=Reservation.Status.CANCELLED)
    ReservationFactory(user=member.user, starts_at=MONDAY_9)
    assert book(member, space).pk


def test_the_database_refusal_of_an_overlap_becomes_a_409_naming_the_clash(member):
    space = SpaceFactory()
    book(member, space)

    with pytest.raises(ReservationConflict) as caught:
        book(member, space, starts_at=MONDAY_9 + timedelta(minutes=30))

    assert caught.value.extra["conflicts"] == [{"starts_at": "2025-03-10T09:00:00Z", "ends_at": "2025-03-10T10:00:00Z"}]
    assert Reservation.objects.filter(space=space).count() == 1


def test_opening_hours_hold_in_local_time_across_the_spring_change(paris, member):
    space = open_every_day(SpaceFactory(), time(8), time(18))
    # Saturday 29 March, UTC+1: 08:00 is 07:00 UTC.
    assert book(member, space, starts_at=utc(2025, 3, 29, 7)).pk
    # Sunday 30 March, UTC+2: 08:00 is 06:00 UTC, and 07:30 local (05:30 UTC) is before opening.
    assert book(member, space, starts_at=utc(2025, 3, 30, 6)).pk
    assert "Sunday 08:00-18:00, Europe/Paris" in refused(
        "starts_at", book, member, space, starts_at=utc(2025, 3, 30, 5, 30)
    )


def test_opening_hours_hold_in_local_time_across_the_autumn_change(paris, member, booking_now):
    booking_now.move_to("2025-10-01T08:00:00+00:00")
    space = open_every_day(SpaceFactory(), time(8), time(18))
    # Saturday 25 October, still UTC+2: 06:30 UTC is 08:30 local; 15:30-16:30 UTC runs past 18:00 local.
    assert book(member, space, starts_at=utc(2025, 10, 25, 6, 30)).pk
    assert refused("ends_at", book, member, space, starts_at=utc(2025, 10, 25, 15, 30))
    # Sunday 26 October, back on UTC+1: 08:00-18:00 local is 07:00-17:00 UTC.
    assert book(member, space, starts_at=utc(2025, 10, 26, 7), hours=10).pk
    assert refused("starts_at", book, member, space, starts_at=utc(2025, 10, 27, 6, 30))


def test_a_night_across_the_clock_change_is_billed_for_its_real_length(paris, member):
    space = SpaceFactory(hourly_rate=Decimal("10.00"))
    # 00:00-04:00 on the wall clock of 30 March lasts three hours.
    reservation = reservation_create(
        actor=member,
        space_id=space.pk,
        starts_at=utc(2025, 3, 29, 23),
        ends_at=utc(2025, 3, 30, 2),
    )
    assert reservation.price == Decimal("30.00")


def test_conflicts_are_reported_in_the_organizations_time(paris, member):
    space = SpaceFactory()
    book(member, space)
    with pytest.raises(ReservationConflict) as caught:
        book(member, space)
    assert caught.value.extra["conflicts"][0]["starts_at"] == "2025-03-10T10:00:00+01:00"


def test_an_update_is_validated_like_a_booking_but_ignores_its_own_slot(member):
    space = SpaceFactory(capacity=4)
    reservation = book(member, space)

    moved = reservation_update(actor=member, reservation=reservation, ends_at=MONDAY_9 + timedelta(hours=2))

    assert moved.ends_at == MONDAY_9 + timedelta(hours=2)
    assert refused("attendees", reservation_update, actor=member, reservation=reservation, attendees=9)


def test_an_update_into_another_reservation_is_a_conflict(member, manager):
    space = SpaceFactory()
    book(manager, space, starts_at=utc(2025, 3, 10, 11))
    reservation = book(member, space)
    with pytest.raises(ReservationConflict):
        reservation_update(actor=member, reservation=reservation, ends_at=utc(2025, 3, 10, 11, 30))
    reservation.refresh_from_db()
    assert reservation.ends_at == utc(2025, 3, 10, 10)


def test_an_update_to_another_space_checks_that_space(member):
    small = SpaceFactory(capacity=2)
    reservation = book(member, SpaceFactory(capacity=10), attendees=5)
    assert refused("attendees", reservation_update, actor=member, reservation=reservation, space_id=small.pk)


def test_moving_a_booking_on_an_approval_space_makes_it_pending_again(member, manager):
    space = SpaceFactory(requires_approval=True)
    reservation = reservation_confirm(actor=manager, reservation=book(member, space))

    assert reservation_update(actor=member, reservation=reservation, title="Same slot").status == "confirmed"
    assert reservation_update(actor=member, reservation=reservation, ends_at=utc(2025, 3, 10, 11)).status == "pending"
    reservation_confirm(actor=manager, reservation=reservation)
    moved = reservation_update(actor=manager, reservation=reservation, ends_at=utc(2025, 3, 10, 12))
    assert moved.status == "confirmed"


def test_a_cancelled_reservation_cannot_be_changed(member):
    reservation = reservation_cancel(actor=member, reservation=book(member, SpaceFactory()))
    with pytest.raises(Conflict) as caught:
        reservation_update(actor=member, reservation=reservation, title="Again")
    assert caught.value.code == "reservation_not_active"


def test_a_member_cannot_touch_someone_elses_reservation(member, manager):
    reservation = book(manager, SpaceFactory())
    with pytest.raises(NotFound):
        reservation_update(actor=member, reservation=reservation, title="Mine now")
    with pytest.raises(NotFound):
        reservation_cancel(actor=member, reservation=reservation)


def test_cancelling_frees_the_slot_keeps_the_row_and_is_harmless_twice(member):
    space = SpaceFactory()
    reservation = book(member, space)

    cancelled = reservation_cancel(actor=member, reservation=reservation)
    again = reservation_cancel(actor=member, reservation=reservation)

    assert cancelled.status == again.status == Reservation.Status.CANCELLED
    assert again.cancelled_at == cancelled.cancelled_at is not None
    assert book(member, space).pk != reservation.pk
    assert Reservation.objects.filter(space=space).count() == 2


def test_a_completed_reservation_cannot_be_cancelled(member):
    reservation = ReservationFactory(user=member.user, status=Reservation.Status.COMPLETED)
    with pytest.raises(Conflict):
        reservation_cancel(actor=member, reservation=reservation)


def test_managers_confirm_pending_reservations_only(member, manager):
    pending = book(member, SpaceFactory(requires_approval=True))
    with pytest.raises(PermissionDenied):
        reservation_confirm(actor=member, reservation=pending)

    assert reservation_confirm(actor=manager, reservation=pending).status == Reservation.Status.CONFIRMED
    assert reservation_confirm(actor=manager, reservation=pending).status == Reservation.Status.CONFIRMED

    cancelled = ReservationFactory(user=member.user, status=Reservation.Status.CANCELLED)
    with pytest.raises(Conflict) as caught:
        reservation_confirm(actor=manager, reservation=cancelled)
    assert caught.value.code == "reservation_not_pending"


def test_every_change_passes_through_the_notification_hook(member, manager, monkeypatch):
    events = []
    monkeypatch.setattr(
        services,
        "_after_commit",
        lambda reservation, event, webhooks_subscribed=None: events.append((reservation.pk, event)),
    )
    reservation = book(member, SpaceFactory(requires_approval=True))
    reservation_confirm(actor=manager, reservation=reservation)
    reservation_update(actor=member, reservation=reservation, title="New title")
    reservation_cancel(actor=member, reservation=reservation)
    reservation_cancel(actor=member, reservation=reservation)
    assert [event for _, event in events] == ["created", "confirmed", "changed", "cancelled"]


def test_archiving_a_space_cancels_its_upcoming_reservations_and_keeps_the_running_ones(member, manager):
    space = SpaceFactory()
    upcoming = book(member, space)
    with time_machine.travel("2025-03-03T07:30:00+00:00", tick=False):
        running = ReservationFactory(
            space=space, user=member.user, starts_at=utc(2025, 3, 3, 7), ends_at=utc(2025, 3, 3, 9)
        )
    past = ReservationFactory(space=space, user=member.user, starts_at=utc(2025, 3, 1, 9))

    result = space_archive(actor=manager, space=space)

    assert result.cancelled_reservations == 1
    statuses = dict(Reservation.objects.filter(space=space).values_list("pk", "status"))
    assert statuses == {upcoming.pk: "cancelled", running.pk: "confirmed", past.pk: "confirmed"}
    assert "archived" in refused("space", book, member, space, starts_at=utc(2025, 3, 11, 9))


def test_a_new_booking_is_written_as_the_orms_save_would_write_it(member):
    """The insert is fixed SQL (spacemanager.rawsql.insert): every column as save() would set it."""
    space = SpaceFactory(hourly_rate=Decimal("20.00"), buffer_before_minutes=5, buffer_after_minutes=10)

    reservation = book(member, space, title="Sync", notes="Bring the slides", attendees=2)

    assert reservation.pk is not None and not reservation._state.adding and reservation._state.db == "default"
    stored = Reservation.objects.get(pk=reservation.pk)
    for field in Reservation._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(reservation, field.attname), field.name
    assert stored.created_at is not None and stored.updated_at >= stored.created_at  # each its now(), as save()
    assert (stored.buffer_before_minutes, stored.buffer_after_minutes, stored.sequence) == (5, 10, 0)
    assert stored.price == Decimal("20.00") and stored.space_price_lines == reservation.space_price_lines


def test_an_insert_turned_away_with_nothing_to_clash_with_is_tried_again_as_before(member, monkeypatch):
    """Only the exclusion constraint can turn a booking's insert away today; should anything else, the write goes
    through the savepoint path, which writes it or raises the real error, instead of a 409 with no clash."""
    space = SpaceFactory()
    monkeypatch.setattr(services.rawsql, "insert", lambda instance, on_conflict="": False)

    reservation = book(member, space)

    assert Reservation.objects.filter(pk=reservation.pk, space=space).exists()


def test_an_overlap_turned_away_by_the_constraint_is_a_409_and_leaves_the_transaction_usable(member):
    space = SpaceFactory()
    book(member, space)

    with pytest.raises(ReservationConflict) as clash:
        book(member, space, starts_at=MONDAY_9 + timedelta(minutes=30))

    assert clash.value.extra["conflicts"] == [{"starts_at": "2025-03-10T09:00:00Z", "ends_at": "2025-03-10T10:00:00Z"}]
    assert Reservation.objects.filter(space=space).count() == 1  # the transaction goes on after the refusal


def test_the_fixed_insert_takes_only_new_rows_of_models_without_save_signals(member):
    from django.db.models.signals import post_save

    from spacemanager import rawsql

    reservation = book(member, SpaceFactory())
    with pytest.raises(TypeError):
        rawsql.insert(reservation)  # already written

    def receiver(**kwargs):
        pass

    post_save.connect(receiver, sender=Reservation)
    try:
        with pytest.raises(TypeError):
            rawsql.insert(Reservation(space=reservation.space, user=reservation.user))
    finally:
        post_save.disconnect(receiver, sender=Reservation)
