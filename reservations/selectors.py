"""Reads of reservations: who sees which, and which reservations clash with an interval."""

from datetime import datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import REMINDER_LEAD_CHOICES, Membership
from reservations.models import LONGEST_RESERVATION, BlockedRange, Reservation, Series, WaitlistEntry
from spacemanager.errors import NotFound

LONGEST_REMINDER_LEAD = timedelta(minutes=max(minutes for minutes, _ in REMINDER_LEAD_CHOICES))


def reservation_list(*, actor: Membership, everyone: bool = False) -> QuerySet[Reservation]:
    """The actor's own reservations; with `everyone`, owners and admins see the whole organization's."""
    queryset = Reservation.objects.select_related("space", "user")
    if everyone and actor.is_manager:
        return queryset
    return queryset.filter(user_id=actor.user_id)


def running_at_or_after(moment: datetime) -> Q:
    """Reservations still running at `moment` or later (ends_at > moment), written so that PostgreSQL walks
    the starts_at indexes from `moment - LONGEST_RESERVATION` instead of from the first reservation ever."""
    return Q(ends_at__gt=moment, starts_at__gt=moment - LONGEST_RESERVATION)


def reservation_get(*, actor: Membership, reservation_id: int) -> Reservation:
    """One reservation the actor may see; someone else's is "not found" to a member, never "forbidden"."""
    reservation = (
        reservation_list(actor=actor, everyone=True).select_related("created_by").filter(pk=reservation_id).first()
    )
    if reservation is None or not (actor.is_manager or reservation.user_id == actor.user_id):
        raise NotFound("No such reservation here.")
    return reservation


def reservation_overlapping(
    *,
    space_id: int,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None = None,
    buffer_before_minutes: int = 0,
    buffer_after_minutes: int = 0,
) -> QuerySet[Reservation]:
    """Active reservations of the space that a booking of [starts_at, ends_at) with these buffers would clash
    with: their blocked slots (buffers included) overlap its own. Touching ones do not overlap.

    Written with the exclusion constraint's own expression and condition so that PostgreSQL answers it from
    the constraint's GiST index (space = … AND tstzrange(blocked start, blocked end, '[)') && …).
    """
    blocked = (starts_at - timedelta(minutes=buffer_before_minutes), ends_at + timedelta(minutes=buffer_after_minutes))
    queryset = (
        Reservation.objects.active()
        .alias(blocked=BlockedRange())
        .filter(space_id=space_id, blocked__overlap=blocked)
        .order_by("starts_at")
    )
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    return queryset


def reservations_reminder_candidates(*, now: datetime, lead: timedelta) -> QuerySet[Reservation]:
    """Confirmed reservations not reminded yet that start within the longest lead anyone can choose (or
    `lead`, if longer): a superset of those due, from the partial index `reservations_remind_due`."""
    return Reservation.objects.filter(
        status=Reservation.Status.CONFIRMED,
        reminder_sent_at__isnull=True,
        starts_at__gt=now,
        starts_at__lte=now + max(LONGEST_REMINDER_LEAD, lead),
    )


def reservation_ids_reminder_due(*, now: datetime, lead: timedelta) -> list[int]:
    """Ids of confirmed reservations not reminded yet that start within their booker's own lead time (the
    profile's choice; `lead` for people who never chose; none for those who turned reminders off).

    Not "starting in exactly the lead": a reservation booked inside the window is still due, and a late sweep
    still catches what an earlier one missed. The candidates (within the longest lead anyone can choose) come
    from the partial index `reservations_remind_due`; the booker's choice is read through the public user.
    """
    rows = (
        reservations_reminder_candidates(now=now, lead=lead)
        .order_by("starts_at")
        .values_list("pk", "starts_at", "user__reminder_lead_minutes")
    )
    due = []
    for pk, starts_at, chosen in rows:
        booker_lead = lead if chosen is None else timedelta(minutes=chosen)
        if booker_lead and starts_at <= now + booker_lead:
            due.append(pk)
    return due


def reservation_list_upcoming(*, actor: Membership, now: datetime) -> QuerySet[Reservation]:
    """The actor's pending or confirmed reservations that have not ended yet, soonest first."""
    return reservation_list(actor=actor).active().filter(ends_at__gt=now).order_by("starts_at", "id")


def reservation_list_past(*, actor: Membership, now: datetime) -> QuerySet[Reservation]:
    """The actor's other reservations (ended, cancelled, expired), latest first."""
    upcoming = Q(status__in=Reservation.ACTIVE_STATUSES, ends_at__gt=now)
    return reservation_list(actor=actor).exclude(upcoming).order_by("-starts_at", "-id")


def reservation_list_overlapping(*, actor: Membership, starts_at: datetime, ends_at: datetime) -> QuerySet[Reservation]:
    """Everyone's pending or confirmed reservations overlapping [starts_at, ends_at), e.g. today's bookings
    (owners and admins; others get their own)."""
    return (
        reservation_list(actor=actor, everyone=True)
        .active()
        # The same interval twice: the plain comparisons let the planner walk reservations_active_starts.
        .filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
        .order_by("starts_at", "space__name", "id")
    )


def reservation_list_pending(*, actor: Membership, now: datetime) -> QuerySet[Reservation]:
    """Reservations waiting for approval that have not ended yet, soonest first (owners and admins; others get
    their own)."""
    return (
        reservation_list(actor=actor, everyone=True)
        .filter(running_at_or_after(now), status=Reservation.Status.PENDING)
        .order_by("starts_at", "id")
    )


SEARCH_COLUMNS = (
    *("id", "title", "attendees", "starts_at", "ends_at", "status", "space", "user", "created_by"),
    *("space__name", "user__full_name", "user__email", "created_by__full_name", "created_by__email"),
)


def reservation_search(
    *,
    actor: Membership,
    space_id: int | None = None,
    status: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> QuerySet[Reservation]:
    """Everyone's reservations (owners and admins) filtered like the API's list: by space, status, and those
    overlapping [starts_at, ends_at) when given; soonest first. Only the columns the list shows are read
    (the space's description and the people's password hashes are not: a third of each row's width)."""
    queryset = (
        reservation_list(actor=actor, everyone=True)
        .select_related("created_by")  # "booked by X for Y"
        .only(*SEARCH_COLUMNS)
    )
    if space_id is not None:
        queryset = queryset.filter(space_id=space_id)
    if status:
        queryset = queryset.filter(status=status)
    if starts_at is not None:
        queryset = queryset.filter(running_at_or_after(starts_at))
    if ends_at is not None:
        queryset = queryset.filter(starts_at__lt=ends_at)
    return queryset.order_by("starts_at", "id")


def reservation_count_upcoming(*, space_id: int, now: datetime) -> int:
    """How many reservations archiving the space would cancel (`reservations_cancel_upcoming`'s rule)."""
    return Reservation.objects.active().filter(space_id=space_id, starts_at__gt=now).count()


def series_list(*, actor: Membership) -> QuerySet[Series]:
    """The actor's series (everyone's for owners and admins) with their space and occurrences, in a fixed
    number of queries whatever the page size; soonest first."""
    from equipment.models import Allocation  # equipment's models point at reservations'

    occurrences = (
        Reservation.objects.select_related("space", "user")
        .prefetch_related(Prefetch("equipment_allocations", queryset=Allocation.objects.select_related("item")))
        .order_by("series_starts_at", "pk")
    )
    queryset = Series.objects.select_related("space").prefetch_related(Prefetch("occurrences", queryset=occurrences))
    if not actor.is_manager:
        queryset = queryset.filter(user_id=actor.user_id)
    return queryset.order_by("starts_at", "id")


def series_get(*, actor: Membership, series_id: int) -> Series:
    """One series the actor may see; someone else's is "not found" to a member."""
    series = series_list(actor=actor).filter(pk=series_id).first()
    if series is None:
        raise NotFound("No such series here.")
    return series


def waitlist_list(*, actor: Membership) -> QuerySet[WaitlistEntry]:
    """The actor's waitlist entries; every entry for owners and admins."""
    entries = WaitlistEntry.objects.select_related("space")
    return entries if actor.is_manager else entries.filter(user_id=actor.user_id)


def waitlist_entry_get(*, actor: Membership, entry_id: int) -> WaitlistEntry:
    """One entry the actor may see; someone else's is "not found" to a member."""
    entry = waitlist_list(actor=actor).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound("No such waitlist entry here.")
    return entry
