from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Func, Q

from spaces.models import Space

NO_OVERLAP_CONSTRAINT = "reservations_no_overlap"


class TsTzRange(Func):
    """`tstzrange(starts_at, ends_at, '[)')`: the exclusion constraint's expression. Queries repeat it word for
    word so that PostgreSQL can answer overlap questions from the constraint's GiST index."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()

    def __init__(self, start="starts_at", end="ends_at", **extra):
        super().__init__(start, end, RangeBoundary(), **extra)


class ReservationQuerySet(models.QuerySet):
    def active(self) -> "ReservationQuerySet":
        """Pending or confirmed: the reservations that hold their slot."""
        return self.filter(status__in=Reservation.ACTIVE_STATUSES)


class Reservation(models.Model):
    """A booking of a space by a person, from `starts_at` (included) to `ends_at` (excluded), stored in UTC."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        CONFIRMED = "confirmed", "Confirmed"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed"
        EXPIRED = "expired", "Expired"

    ACTIVE_STATUSES = (Status.PENDING, Status.CONFIRMED)

    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="reservations")
    # Users live in the public schema: no database constraint, no cascade, no reverse accessor (TENANCY.md).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
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
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="Rate x duration, frozen at booking."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Grows with every change the booker is told about: the .ics SEQUENCE, and the version of the notice's
    # send-once key (one email per version, docs/background.md).
    sequence = models.PositiveIntegerField(default=0, editable=False)
    reminder_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ReservationQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["user", "starts_at"], name="reservations_user_starts"),
            models.Index(fields=["space", "starts_at"], name="reservations_space_starts"),
            # The sweeps' questions, each answered from a small partial index whatever the table's size.
            models.Index(
                fields=["starts_at"],
                name="reservations_remind_due",
                condition=Q(status="confirmed", reminder_sent_at__isnull=True),
            ),
            models.Index(fields=["ends_at"], name="reservations_confirmed_ends", condition=Q(status="confirmed")),
            models.Index(fields=["created_at"], name="reservations_pending_created", condition=Q(status="pending")),
            models.Index(fields=["updated_at"], name="reservations_updated"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="reservations_ends_after_start"),
            models.CheckConstraint(condition=Q(attendees__gte=1), name="reservations_attendees_positive"),
            # The last word on double booking: two active reservations of a space never overlap.
            ExclusionConstraint(
                name=NO_OVERLAP_CONSTRAINT,
                index_type="gist",
                expressions=[
                    ("space", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=["pending", "confirmed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.space_id} {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%H:%M} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES
