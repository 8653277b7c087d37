"""Private calendar feeds (`/feeds/<secret>.ics`): who may read one, what it shows, and its version.

A feed answers only while its person is active and still a member here; an organization feed only while
they are an owner or admin. Titles and names appear in a person's own feed and in managers' feeds; a member's
feed of a space shows its busy times only. Calendar clients poll every few minutes: `feed_version` is one
aggregate query over the rows the feed covers, cancelled ones included (a cancellation changes `updated_at`),
so an unchanged feed is a 304 without rendering anything.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from icalendar import Calendar, Event, Timezone

from accounts.models import Membership, User
from integrations.models import CalendarFeed
from integrations.selectors import calendar_feed_by_secret
from reservations.models import Reservation
from spacemanager.mail import calendar_uid
from tenants.models import Organization

PRODUCT_ID = "-//SpaceManager//Calendar feed//EN"
# Past bookings stay in the feed this long; calendar clients keep what they saw before.
HISTORY = timedelta(days=90)
SHOWN_STATUSES = (Reservation.Status.PENDING, Reservation.Status.CONFIRMED, Reservation.Status.COMPLETED)
REFRESH_INTERVAL = "PT15M"


@dataclass(frozen=True)
class FeedAccess:
    feed: CalendarFeed
    viewer: Membership
    organization: Organization

    @property
    def shows_details(self) -> bool:
        return self.feed.kind == CalendarFeed.Kind.PERSONAL or self.viewer.is_manager


@dataclass(frozen=True)
class FeedVersion:
    etag: str
    last_modified: datetime


def feed_access(*, secret: str, organization: Organization) -> FeedAccess | None:
    """The feed behind `secret` if it may still answer here, else None (the caller answers 404)."""
    feed = calendar_feed_by_secret(secret=secret)
    if feed is None:
        return None
    viewer = (
        Membership.objects.select_related("user", "organization")
        .filter(user_id=feed.user_id, organization=organization, user__is_active=True)
        .first()
    )
    if viewer is None:
        return None
    if feed.kind == CalendarFeed.Kind.ORGANIZATION and not viewer.is_manager:
        return None
    return FeedAccess(feed=feed, viewer=viewer, organization=organization)


def _window_start(now: datetime) -> datetime:
    # Whole days, so the window (and the version) moves once a day, not at every poll.
    return (now - HISTORY).replace(hour=0, minute=0, second=0, microsecond=0)


def _scope(access: FeedAccess, now: datetime) -> QuerySet[Reservation]:
    rows = Reservation.objects.filter(ends_at__gt=_window_start(now))
    if access.feed.kind == CalendarFeed.Kind.PERSONAL:
        return rows.filter(user_id=access.feed.user_id)
    if access.feed.kind == CalendarFeed.Kind.SPACE:
        return rows.filter(space_id=access.feed.space_id)
    return rows


def feed_version(access: FeedAccess, *, now: datetime | None = None) -> FeedVersion:
    now = now or timezone.now()
    figures = _scope(access, now).aggregate(
        changed=Max("updated_at"), rows=Count("id"), space_changed=Max("space__updated_at")
    )
    stamps = [stamp for stamp in (figures["changed"], figures["space_changed"]) if stamp is not None]
    if access.feed.space is not None:
        stamps.append(access.feed.space.updated_at)
    last_modified = max(stamps, default=access.feed.created_at)
    parts = (
        access.feed.secret,
        access.feed.kind,
        access.shows_details,
        access.organization.timezone,
        access.organization.name,
        _window_start(now).date().isoformat(),
        figures["rows"],
        *(stamp.isoformat() for stamp in stamps),
    )
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]
    return FeedVersion(etag=f'"{digest}"', last_modified=last_modified)


def _name(access: FeedAccess) -> str:
    organization = access.organization.name
    if access.feed.kind == CalendarFeed.Kind.PERSONAL:
        return f"My bookings · {organization}"
    if access.feed.kind == CalendarFeed.Kind.SPACE:
        return f"{access.feed.space.name} · {organization}"
    return f"All bookings · {organization}"


def _summary(access: FeedAccess, reservation: Reservation, booker: User | None) -> str:
    if not access.shows_details:
        return "Busy"
    kind = access.feed.kind
    what = reservation.title or ("Booking" if kind == CalendarFeed.Kind.SPACE else reservation.space.name)
    if kind == CalendarFeed.Kind.ORGANIZATION and reservation.title:
        what = f"{reservation.space.name}: {reservation.title}"
    if kind != CalendarFeed.Kind.PERSONAL and booker is not None:
        what += f" ({booker.full_name or booker.email})"
    if reservation.status == Reservation.Status.PENDING:
        what += " [awaiting approval]"
    return what


def feed_render(access: FeedAccess, *, now: datetime | None = None) -> bytes:
    """The feed as RFC 5545 text: times in the organization's zone with its VTIMEZONE, one VEVENT per booking
    (its UID is the one the booker's email invitations carry, SEQUENCE its version); cancelled, expired and
    other released bookings are left out, so clients drop them on the next poll."""
    now = now or timezone.now()
    zone = ZoneInfo(access.organization.timezone)
    reservations = list(
        _scope(access, now).filter(status__in=SHOWN_STATUSES).select_related("space").order_by("starts_at", "id")
    )
    bookers = {}
    if access.shows_details and access.feed.kind != CalendarFeed.Kind.PERSONAL:
        bookers = User.objects.in_bulk({r.user_id for r in reservations})
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", _name(access))
    calendar.add("x-wr-calname", _name(access))
    calendar.add("x-wr-timezone", zone.key)
    calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH_INTERVAL)
    # The zone's rules from the window's start to a few years ahead: enough for every booking shown.
    start = _window_start(now).date()
    calendar.add_component(
        Timezone.from_tzinfo(zone, tzid=zone.key, first_date=start, last_date=date(start.year + 6, 1, 1))
    )
    host = access.organization.host
    for reservation in reservations:
        event = Event()
        event.add("uid", calendar_uid(kind="reservation", object_id=reservation.pk, organization_host=host))
        event.add("sequence", reservation.sequence)
        event.add("dtstamp", reservation.updated_at.astimezone(ZoneInfo("UTC")))
        event.add("created", reservation.created_at.astimezone(ZoneInfo("UTC")))
        event.add("last-modified", reservation.updated_at.astimezone(ZoneInfo("UTC")))
        event.add("dtstart", reservation.starts_at.astimezone(zone))
        event.add("dtend", reservation.ends_at.astimezone(zone))
        event.add("summary", _summary(access, reservation, bookers.get(reservation.user_id)))
        event.add("status", "TENTATIVE" if reservation.status == Reservation.Status.PENDING else "CONFIRMED")
        event.add("transp", "OPAQUE")
        if access.feed.kind != CalendarFeed.Kind.SPACE:
            event.add("location", ", ".join(filter(None, [reservation.space.name, reservation.space.location])))
        if access.shows_details and reservation.notes:
            event.add("description", reservation.notes)
        calendar.add_component(event)
    return calendar.to_ical()


def feed_links(feed: CalendarFeed, *, site_url: str) -> dict:
    """What a person needs to subscribe: a label, the https:// (or http://) URL and the webcal:// one.

    `site_url` is the organization's site with a trailing slash (tenants.selectors.organization_url_for_request).
    """
    url = f"{site_url}feeds/{feed.secret}.ics"
    labels = {
        CalendarFeed.Kind.PERSONAL: "My bookings",
        CalendarFeed.Kind.ORGANIZATION: "All bookings of the organization",
    }
    return {
        "id": feed.pk,
        "kind": feed.kind,
        "space": {"id": feed.space.pk, "name": feed.space.name} if feed.space else None,
        "name": labels.get(feed.kind) or f"{feed.space.name} (busy times)",
        "url": url,
        "webcal_url": "webcal://" + url.split("://", 1)[1],
    }
