"""Room displays: a tablet beside a room shows whether it is free, its current and next bookings, a check-in
button for the current one and "Book now". It signs in with a display link an owner or admin makes per space.

The link is a secret (`secrets.token_urlsafe`) of which only the sha256 is stored. Opening
`/spaces/display/open/<secret>/` sets a cookie holding the secret whose path is that space's display
(`/spaces/<id>/display/`): the browser sends it nowhere else, and no page or API endpoint but the display's own
reads it, so the tablet can do nothing else (it is not a login). Every display request looks the hash up again:
revoking the link ends the display at its next refresh.

Bookings at the door are made as the owner or admin who created the link (they are its booker, and its
`created_by`), through `reservations.services.reservation_create`: every booking rule applies. If that person
is no longer an owner or admin here, the display cannot book or check in until someone makes a new link.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from reservations import services as reservation_services
from reservations.models import Reservation
from reservations.selectors import running_at_or_after
from spacemanager.errors import NotFound, PermissionDenied, ValidationFailed
from spaces.models import DisplayLink, Space
from tenants.selectors import organization_current

COOKIE = "sm_display"
BOOK_NOW_MINUTES = (15, 30, 60)
DOOR_TITLE = "Booked at the door"
# A booking made at the door starts at the next whole minute (a start in the past is refused): it counts as
# under way from then on, so the display shows the room taken at once.
ABOUT_TO_START = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _require_manager(actor: Membership) -> None:
    if not actor.is_manager:
        raise PermissionDenied("Only owners and admins manage room displays.")


@transaction.atomic
def display_link_create(*, actor: Membership, space: Space, name: str = "") -> tuple[DisplayLink, str]:
    """A new display link for the space (owners and admins). Returns it and its secret, shown once."""
    _require_manager(actor)
    if not space.is_active:
        raise ValidationFailed("This space is archived: it has no display.", field="space", code="inactive")
    name = name.strip()
    if len(name) > 80:
        raise ValidationFailed("Name the display in at most 80 characters.", field="name", code="max_length")
    secret = secrets.token_urlsafe(32)
    link = DisplayLink.objects.create(space=space, name=name, secret_hash=_hash(secret), created_by=actor.user)
    return link, secret


@transaction.atomic
def display_link_revoke(*, actor: Membership, link: DisplayLink) -> DisplayLink:
    """End a display link at once (its tablet shows "not signed in" at its next refresh). Twice is harmless."""
    _require_manager(actor)
    link = DisplayLink.objects.select_for_update().get(pk=link.pk)
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
    return link


def display_link_list(*, space: Space):
    return DisplayLink.objects.filter(space=space).select_related("created_by")


def display_link_for_secret(secret: str | None, *, space_id: int | None = None) -> DisplayLink | None:
    """The active link with this secret (of this space, when given), or None."""
    if not secret or len(secret) > 100:
        return None
    links = DisplayLink.objects.select_related("space").filter(secret_hash=_hash(secret), revoked_at__isnull=True)
    if space_id is not None:
        links = links.filter(space_id=space_id)
    link = links.first()
    if link is not None and not link.space.is_active:
        return None
    return link


def display_link_seen(link: DisplayLink, *, now: datetime) -> None:
    """Record when the tablet last asked (at most once a minute, so polling does not write every time)."""
    if link.last_seen_at is None or now - link.last_seen_at > timedelta(minutes=1):
        DisplayLink.objects.filter(pk=link.pk).update(last_seen_at=now)


def _booker(link: DisplayLink) -> Membership:
    membership = (
        Membership.objects.select_related("user", "organization")
        .filter(organization=organization_current(), user_id=link.created_by_id, user__is_active=True)
        .first()
    )
    if membership is None or not membership.is_manager:
        raise PermissionDenied(
            "The person who made this display's link is no longer an owner or admin here: make a new link."
        )
    return membership


@dataclass(frozen=True)
class DisplayState:
    space: Space
    now: datetime
    current: Reservation | None
    following: list[Reservation]
    show_titles: bool
    can_check_in: bool

    @property
    def is_free(self) -> bool:
        return self.current is None

    @property
    def free_until(self) -> datetime | None:
        return self.following[0].starts_at if self.following else None

    def book_now_choices(self) -> list[int]:
        """The "Book now" lengths that fit before the next booking (every other rule is checked on booking)."""
        if not self.is_free:
            return []
        start = _door_start(self.now)
        space = self.space
        return [
            minutes
            for minutes in BOOK_NOW_MINUTES
            if space.min_duration_minutes <= minutes <= space.max_duration_minutes
            and (self.free_until is None or start + timedelta(minutes=minutes) <= self.free_until)
        ]


def _door_start(now: datetime) -> datetime:
    return (now + timedelta(minutes=1)).replace(second=0, microsecond=0)


def display_state(*, link: DisplayLink, now: datetime | None = None) -> DisplayState:
    """What the tablet shows: the booking under way (or about to start), the next two, and what it may offer."""
    now = now or timezone.now()
    space = Space.objects.get(pk=link.space_id)
    bookings = list(
        Reservation.objects.active()
        .filter(running_at_or_after(now), space_id=space.pk, starts_at__lt=now + timedelta(hours=24))
        .order_by("starts_at")[:3]
    )
    current = bookings[0] if bookings and bookings[0].starts_at <= now + ABOUT_TO_START else None
    following = bookings[1:] if current else bookings[:2]
    can_check_in = False
    if current is not None and space.check_in_required and current.status == Reservation.Status.CONFIRMED:
        current.space = space
        opens, closes = reservation_services.check_in_window(current)
        can_check_in = current.checked_in_at is None and opens <= now < closes
    return DisplayState(
        space=space,
        now=now,
        current=current,
        following=following[:2],
        show_titles=organization_current().display_show_titles,
        can_check_in=can_check_in,
    )


def display_book_now(*, link: DisplayLink, minutes: int, now: datetime | None = None) -> Reservation:
    """Book the room from the next minute for 15, 30 or 60 minutes, as the link's maker, titled "Booked at the
    door", through the booking service (every rule: hours, closures, durations, clashes)."""
    if minutes not in BOOK_NOW_MINUTES:
        raise ValidationFailed("Book for 15, 30 or 60 minutes.", field="minutes", code="invalid_choice")
    booker = _booker(link)
    starts_at = _door_start(now or timezone.now())
    return reservation_services.reservation_create(
        actor=booker,
        space_id=link.space_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        title=DOOR_TITLE,
    )


def display_check_in(*, link: DisplayLink, reservation_id: int) -> Reservation:
    """Check in the booking under way in the display's room (only that one), as the link's maker may."""
    booker = _booker(link)
    reservation = Reservation.objects.filter(pk=reservation_id, space_id=link.space_id).select_related("space").first()
    state = display_state(link=link)
    if reservation is None or state.current is None or state.current.pk != reservation.pk:
        raise NotFound("That is not the booking under way in this room.")
    return reservation_services.reservation_check_in(actor=booker, reservation=reservation)


def space_check_in_mine(*, actor: Membership, space: Space, now: datetime | None = None) -> Reservation:
    """The QR code beside the room: check the member in to their own booking of it that is under way (or whose
    window is open). 400 `nothing_to_check_in` when they have none."""
    now = now or timezone.now()
    mine = (
        Reservation.objects.active()
        .select_related("space")
        .filter(
            running_at_or_after(now),
            space_id=space.pk,
            user_id=actor.user_id,
            starts_at__lte=now + reservation_services.CHECK_IN_OPENS_BEFORE,
        )
        .order_by("starts_at")
        .first()
    )
    if mine is None:
        raise ValidationFailed(
            f"You have no booking of {space.name} under way or about to start.", code="nothing_to_check_in"
        )
    return reservation_services.reservation_check_in(actor=actor, reservation=mine, now=now)
