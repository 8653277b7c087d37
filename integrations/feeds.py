"""Private calendar feeds (`/feeds/<secret>.ics`): who may read one, what it shows, and its version.

A feed answers only while its person is active and still a member here; an organization feed only while
they are an owner or admin. Titles and names appear in a person's own feed and in managers' feeds; a member's
feed of a space shows its busy times only. Calendar clients poll every few minutes: `feed_version` is one
aggregate query over the rows the feed covers, cancelled ones included (a cancellation changes `updated_at`),
so an unchanged feed is a 304 without rendering anything.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from icalendar import Calendar, Event, Timezone, vRecur

from accounts.models import Membership, User
from integrations.models import CalendarFeed
from integrations.selectors import calendar_feed_by_secret
from reservations.models import Reservation, Series
from reservations.recurrence import Occurrence, recurrence_expand, recurrence_for_calendar
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


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


def _look(access: FeedAccess, reservation: Reservation, booker: User | None) -> dict:
    """What a VEVENT says of a booking besides its times: the same for every occurrence a RRULE stands for."""
    look = {
        "summary": _summary(access, reservation, booker),
        "status": "TENTATIVE" if reservation.status == Reservation.Status.PENDING else "CONFIRMED",
        "transp": "OPAQUE",
    }
    if access.feed.kind != CalendarFeed.Kind.SPACE:
        look["location"] = ", ".join(filter(None, [reservation.space.name, reservation.space.location]))
    if access.shows_details and reservation.notes:
        look["description"] = reservation.notes
    return look


def _event(*, uid: str, sequence: int, created: datetime, modified: datetime, look: dict) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", modified.astimezone(UTC))
    event.add("created", created.astimezone(UTC))
    event.add("last-modified", modified.astimezone(UTC))
    for name, value in look.items():
        event.add(name, value)
    return event


def _booking_event(access: FeedAccess, reservation: Reservation, booker: User | None, zone: ZoneInfo) -> Event:
    host = access.organization.host
    event = _event(
        uid=calendar_uid(kind="reservation", object_id=reservation.pk, organization_host=host),
        sequence=reservation.sequence,
        created=reservation.created_at,
        modified=reservation.updated_at,
        look=_look(access, reservation, booker),
    )
    event.add("dtstart", _local(reservation.starts_at, zone))
    event.add("dtend", _local(reservation.ends_at, zone))
    return event


def _scheduled(series: Series) -> dict[datetime, Occurrence]:
    """Where the series' rule puts each occurrence, by its start (an occurrence's `series_starts_at`)."""
    zone = ZoneInfo(series.timezone)
    expansion = recurrence_expand(rule=series.recurrence, starts_at=series.starts_at, ends_at=series.ends_at, tz=zone)
    return {occurrence.starts_at: occurrence for occurrence in expansion}


def _in_scope(access: FeedAccess, reservation: Reservation) -> bool:
    if access.feed.kind == CalendarFeed.Kind.PERSONAL:
        return reservation.user_id == access.feed.user_id
    if access.feed.kind == CalendarFeed.Kind.SPACE:
        return reservation.space_id == access.feed.space_id
    return True


def _series_events(
    access: FeedAccess,
    series: Series,
    scheduled: dict[datetime, Occurrence],
    live: list[Reservation],
    occurrences: list[Reservation],
    bookers: dict[int, User],
) -> list[Event]:
    """One series as a client expects it (RFC 5545 3.8.5): a master VEVENT whose RRULE (in the series' zone)
    generates the scheduled occurrences, an EXDATE for each one that does not take place in this feed (cancelled,
    released, never booked, moved to another space's feed), and an override VEVENT with the same UID and a
    RECURRENCE-ID for each one that differs from what the rule and the master say (moved, retitled, pending).
    The master's look is that of the first occurrence kept as scheduled, so most need no override."""
    zone = ZoneInfo(series.timezone)
    as_scheduled = [o for o in live if (o.starts_at, o.ends_at) == _times(scheduled[o.series_starts_at])]
    template = (as_scheduled or live)[0]
    master_look = _look(access, template, bookers.get(template.user_id))
    uid = calendar_uid(kind="series", object_id=series.pk, organization_host=access.organization.host)
    modified = max([series.updated_at, *(o.updated_at for o in occurrences)])
    sequence = max([series.sequence, *(o.sequence for o in occurrences)])
    master = _event(uid=uid, sequence=sequence, created=series.created_at, modified=modified, look=master_look)
    master.add("dtstart", _local(series.starts_at, zone))
    master.add("dtend", _local(series.ends_at, zone))
    master.add("rrule", vRecur.from_ical(recurrence_for_calendar(rule=series.recurrence, tz=zone)))
    taking_place = {o.series_starts_at for o in live}
    for start in sorted(set(scheduled) - taking_place):
        master.add("exdate", scheduled[start].starts_at)
    events = [master]
    for occurrence in live:
        look = _look(access, occurrence, bookers.get(occurrence.user_id))
        if occurrence in as_scheduled and look == master_look:
            continue
        override = _event(
            uid=uid, sequence=sequence, created=occurrence.created_at, modified=occurrence.updated_at, look=look
        )
        override.add("recurrence-id", _local(occurrence.series_starts_at, zone))
        override.add("dtstart", _local(occurrence.starts_at, zone))
        override.add("dtend", _local(occurrence.ends_at, zone))
        events.append(override)
    return events


def _times(occurrence) -> tuple[datetime, datetime]:
    return occurrence.starts_at, occurrence.ends_at


def feed_render(access: FeedAccess, *, now: datetime | None = None) -> bytes:
    """The feed as RFC 5545 text: times in the organization's zone with its VTIMEZONE, one VEVENT per booking
    (its UID is the one the booker's email invitations carry, SEQUENCE its version) and one recurring VEVENT
    per series (`_series_events`); cancelled, expired and other released bookings are left out, so clients
    drop them on the next poll. At most four queries whatever the number of bookings and series."""
    now = now or timezone.now()
    zone = ZoneInfo(access.organization.timezone)
    reservations = list(
        _scope(access, now).filter(status__in=SHOWN_STATUSES).select_related("space").order_by("starts_at", "id")
    )
    series_ids = {r.series_id for r in reservations if r.series_id is not None}
    series = Series.objects.in_bulk(series_ids)
    # Every occurrence of those series, older ones and those outside this feed too: the EXDATEs need them all.
    occurrences: dict[int, list[Reservation]] = {pk: [] for pk in series_ids}
    if series_ids:
        for occurrence in (
            Reservation.objects.filter(series_id__in=series_ids)
            .select_related("space")
            .order_by("series_starts_at", "id")
        ):
            occurrences[occurrence.series_id].append(occurrence)
    scheduled = {pk: _scheduled(one) for pk, one in series.items()}
    # What each series' VEVENTs stand for: its occurrences this feed shows, where its rule put them.
    live = {
        pk: [
            o
            for o in rows
            if o.status in SHOWN_STATUSES and _in_scope(access, o) and o.series_starts_at in scheduled[pk]
        ]
        for pk, rows in occurrences.items()
    }
    covered = {o.pk for rows in live.values() for o in rows}
    bookers = {}
    if access.shows_details and access.feed.kind != CalendarFeed.Kind.PERSONAL:
        people = {r.user_id for r in reservations} | {o.user_id for rows in occurrences.values() for o in rows}
        bookers = User.objects.in_bulk(people)
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
    first = min([start, *(s.starts_at.date() for s in series.values())])
    calendar.add_component(
        Timezone.from_tzinfo(zone, tzid=zone.key, first_date=first, last_date=date(start.year + 6, 1, 1))
    )
    for reservation in reservations:
        if reservation.pk not in covered:
            calendar.add_component(_booking_event(access, reservation, bookers.get(reservation.user_id), zone))
    for pk in sorted(pk for pk in series_ids if live[pk]):
        for event in _series_events(access, series[pk], scheduled[pk], live[pk], occurrences[pk], bookers):
            calendar.add_component(event)
    calendar.add_missing_timezones()  # a series that runs in another zone than the organization's today
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
