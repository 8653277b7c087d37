from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import DateTimeField, F, Func, Q

from spaces.models import Space

NO_OVERLAP_CONSTRAINT = "reservations_no_overlap"
# No reservation lasts longer (a space's longest duration is capped at 31 days, and a constraint holds it):
# "still running at T" can then be read from the starts_at index, from T minus this on.
LONGEST_RESERVATION = timedelta(days=31)


class TsTzRange(Func):
    """`tstzrange(starts_at, ends_at, '[)')`: the exclusion constraint's expression. Queries repeat it word for
    word so that PostgreSQL can answer overlap questions from the constraint's GiST index."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()

    def __init__(self, start="starts_at", end="ends_at", **extra):
        super().__init__(start, end, RangeBoundary(), **extra)


class ShiftedByMinutes(Func):
    """`instant - minutes` (or `+` with `later`), written with IMMUTABLE functions only: PostgreSQL refuses
    `timestamptz ± interval` (STABLE, it depends on the session's time zone) in an index or constraint, while
    the same arithmetic on the UTC wall clock is immutable and, for whole minutes, gives the same instant."""

    output_field = DateTimeField()

    def __init__(self, instant, minutes, *, later: bool = False, **extra):
        self.later = later
        super().__init__(instant, minutes, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        instant_sql, instant_params = compiler.compile(self.source_expressions[0])
        minutes_sql, minutes_params = compiler.compile(self.source_expressions[1])
        sign = "+" if self.later else "-"
        sql = f"timezone('UTC', timezone('UTC', {instant_sql}) {sign} make_interval(mins => {minutes_sql}))"
        return sql, [*instant_params, *minutes_params]


class BlockedRange(TsTzRange):
    """What a reservation keeps from others: its time widened by its frozen setup and cleanup buffers. The
    exclusion constraint's expression; overlap queries repeat it word for word to use its GiST index."""

    def __init__(self, **extra):
        super().__init__(
            ShiftedByMinutes("starts_at", "buffer_before_minutes"),
            ShiftedByMinutes("ends_at", "buffer_after_minutes", later=True),
            **extra,
        )


class ReservationQuerySet(models.QuerySet):
    def active(self) -> "ReservationQuerySet":
        """Pending or confirmed: the reservations that hold their slot."""
        return self.filter(status__in=Reservation.ACTIVE_STATUSES)


class Series(models.Model):
    """A recurring booking: one request that booked many occurrences, each an ordinary Reservation pointing
    here. The rule (RFC 5545 RRULE) runs in the organization's time zone from the first occurrence's local
    start, so a weekly 09:00 stays 09:00 local across daylight-saving changes."""

    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="series")
    # Users live in the public schema: no database constraint, no cascade, no reverse accessor (TENANCY.md).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    recurrence = models.CharField(max_length=500, help_text="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10.")
    starts_at = models.DateTimeField(help_text="The first occurrence's start.")
    ends_at = models.DateTimeField(help_text="The first occurrence's end.")
    timezone = models.CharField(max_length=64, help_text="The zone the rule runs in (the organization's).")
    title = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The .ics SEQUENCE of the series' invitation and the version of its send-once key.
    sequence = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name_plural = "series"
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="reservations_series_ends_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.recurrence} from {self.starts_at:%Y-%m-%d %H:%M}"


class Reservation(models.Model):
    """A booking of a space by a person, from `starts_at` (included) to `ends_at` (excluded), stored in UTC."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed"
        EXPIRED = "expired", "Expired"
        DECLINED = "declined", "Declined"
        NO_SHOW = "no_show", "No-show"

    ACTIVE_STATUSES = (Status.PENDING, Status.CONFIRMED)

    # No index of their own: reservations_space_starts and reservations_user_starts lead with them.
    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="reservations", db_index=False)
    # Users live in the public schema: no database constraint, no cascade, no reverse accessor (TENANCY.md).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    # Who made the booking, when it is not the booker (an owner or admin booking on a member's behalf); empty
    # for bookings people made for themselves. A public user, like `user`.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        null=True,
        blank=True,
    )
    title = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    attendees = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CONFIRMED)
    price = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The total of its price lines (space and equipment), frozen when booked or moved.",
    )
    # The space's price lines when booked or last moved (reservations.pricing.PriceLine.as_dict each); the
    # equipment's lines are frozen on its allocations. Null for rows bulk writers inserted without it.
    space_price_lines = models.JSONField(default=list, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Grows with every change the booker is told about: the .ics SEQUENCE, and the version of the notice's
    # send-once key (one email per version, docs/background.md).
    sequence = models.PositiveIntegerField(default=0, editable=False)
    reminder_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # db_default: raw inserts (the demo seeder's COPY, the benchmarks) leave the column out.
    decline_reason = models.TextField(
        blank=True, default="", db_default="", help_text="Why an approver declined the request (told to the booker)."
    )
    # The space's setup and cleanup buffers when booked (or last moved): a later change of the space's buffers
    # never makes an existing row clash. The slot blocked is [starts_at - before, ends_at + after). Database
    # defaults too, so that bulk writers (COPY, raw INSERT) that leave them out get no buffer.
    buffer_before_minutes = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    buffer_after_minutes = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    # Why the organization cancelled it (a closure, a changed space), told to the booker in the notice.
    cancel_reason = models.CharField(max_length=300, blank=True, default="", db_default="", editable=False)
    # An occurrence of a series, and where the series' rule put it (its RECURRENCE-ID): an occurrence moved on
    # its own starts elsewhere but keeps this.
    # No index of its own: reservations_series_starts leads with it (one index fewer to write per booking).
    series = models.ForeignKey(
        Series,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="occurrences",
        editable=False,
        db_index=False,
    )
    series_starts_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the booker (or an owner/admin) checked in, for spaces that require it (reservation_check_in).
    checked_in_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ReservationQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        # Each index answers named queries; the foreign keys have none of their own (the composites lead with
        # them), and the exclusion constraint's GiST index serves the overlap checks of one space.
        indexes = [
            # Everyone's reservations in order, page after page by cursor (API ?scope=all, the "all" page).
            # ends_at last: "still running from day X" (running_at_or_after) walks the starts_at range from X
            # minus the longest booking, and ends_at > X is then checked in the index, not on each row (the
            # all page's default view read 57,000 rows for 21 at design size: 114 ms, now 1.6 ms).
            models.Index(fields=["starts_at", "id", "ends_at"], name="reservations_starts_id"),
            # My reservations (API, my pages, the "next" panel); a space's bookings, upcoming counts, the PROTECT
            # check on deleting a space.
            models.Index(fields=["user", "starts_at", "id"], name="reservations_user_starts"),
            models.Index(fields=["space", "starts_at"], name="reservations_space_starts"),
            # "Today" across every space (dashboard panel): active reservations starting before the day ends,
            # i.e. today's and the few past ones the sweep has not completed yet; later ones are not read.
            models.Index(
                fields=["starts_at"],
                name="reservations_active_starts",
                condition=Q(status__in=["pending", "confirmed"]),
            ),
            # The sweeps' questions, each answered from a small partial index whatever the table's size.
            models.Index(
                fields=["starts_at"],
                name="reservations_remind_due",
                condition=Q(status="confirmed", reminder_sent_at__isnull=True),
            ),
            models.Index(fields=["ends_at"], name="reservations_confirmed_ends", condition=Q(status="confirmed")),
            models.Index(fields=["created_at"], name="reservations_pending_created", condition=Q(status="pending")),
            # The no-show sweep: confirmed bookings nobody checked in, by start.
            models.Index(
                fields=["starts_at"],
                name="reservations_check_in_due",
                condition=Q(status="confirmed", checked_in_at__isnull=True),
            ),
            # Requests waiting for approval, soonest first (the dashboard's panel): only pending rows are read.
            models.Index(fields=["starts_at", "id"], name="reservations_pending_starts", condition=Q(status="pending")),
            models.Index(fields=["updated_at"], name="reservations_updated"),
            models.Index(fields=["series", "series_starts_at"], name="reservations_series_starts"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="reservations_ends_after_start"),
            models.CheckConstraint(condition=Q(attendees__gte=1), name="reservations_attendees_positive"),
            models.CheckConstraint(
                condition=Q(ends_at__lte=F("starts_at") + LONGEST_RESERVATION), name="reservations_at_most_31_days"
            ),
            # The last word on double booking: two active reservations of a space never overlap, buffers
            # included. Rows from before buffers existed have 0 minutes: their blocked range is their time.
            ExclusionConstraint(
                name=NO_OVERLAP_CONSTRAINT,
                index_type="gist",
                expressions=[
                    ("space", RangeOperators.EQUAL),
                    (BlockedRange(), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=["pending", "confirmed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.space_id} {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%H:%M} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def blocked_from(self) -> datetime:
        return self.starts_at - timedelta(minutes=self.buffer_before_minutes)

    @property
    def blocked_until(self) -> datetime:
        return self.ends_at + timedelta(minutes=self.buffer_after_minutes)


class SpaceApprover(models.Model):
    """An owner or admin who approves a space's requests. A space without any: every owner and admin does."""

    # No index of its own: the unique (space, user) leads with it.
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="approvers", db_index=False)
    # A public user, as in Reservation.user (TENANCY.md).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    class Meta:
        ordering = ["space", "id"]
        constraints = [models.UniqueConstraint(fields=["space", "user"], name="reservations_space_approver_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} approves {self.space_id}"


class WaitlistEntry(models.Model):
    """A member waiting for a taken slot: when it frees, the earliest entry whose whole interval is free and
    which passes every booking rule becomes a reservation of its member (reservations.services)."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        BOOKED = "booked", "Booked"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn"

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="waitlist_entries", db_index=False)
    # A public user, as in Reservation.user (TENANCY.md).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    attendees = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    title = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    reservation = models.ForeignKey(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waitlist entries"
        indexes = [
            # Who waits for a freed slot of a space, first come first served: only waiting rows are read.
            models.Index(
                fields=["space", "starts_at"], name="reservations_waiting_space", condition=Q(status="waiting")
            ),
            models.Index(fields=["user", "created_at"], name="reservations_waitlist_user"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="reservations_waitlist_ends_after"),
            models.UniqueConstraint(
                fields=["space", "user", "starts_at", "ends_at"],
                condition=Q(status="waiting"),
                name="reservations_waitlist_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} waits for {self.space_id} {self.starts_at:%Y-%m-%d %H:%M} ({self.status})"
