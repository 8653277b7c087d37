from datetime import time

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from spaces.images import upload_to

AMENITY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,29}$"


class Location(models.Model):
    """A place spaces and equipment are in: a building, or one floor of it (floor plans hang off it)."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    # A floor plan (JPEG, PNG or WebP, checked and cleaned by spaces.images); spaces sit on it at plan_x/plan_y.
    floor_plan = models.ImageField(
        upload_to=upload_to, blank=True, width_field="floor_plan_width", height_field="floor_plan_height"
    )
    floor_plan_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    floor_plan_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Space(models.Model):
    """Something people book: a room, a desk, a hall. Archived (is_active false), never deleted."""

    class Kind(models.TextChoices):
        MEETING_ROOM = "meeting_room", "Meeting room"
        DESK = "desk", "Desk"
        OFFICE = "office", "Office"
        STUDIO = "studio", "Studio"
        EVENT_HALL = "event_hall", "Event hall"
        OTHER = "other", "Other"

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.MEETING_ROOM)
    capacity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(100_000)])
    location = models.CharField(max_length=200, blank=True, help_text="Building, floor, directions.")
    # The Location (building or floor) it is in, and where on that location's floor plan, as fractions of the
    # plan's width and height from its top-left corner (so a plan replaced by a bigger scan keeps them).
    site = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="spaces", verbose_name="location"
    )
    plan_x = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)])
    plan_y = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)])
    amenities = ArrayField(
        models.CharField(
            max_length=30,
            validators=[
                RegexValidator(
                    AMENITY_PATTERN,
                    "Use short lowercase tags: letters, digits, hyphens or underscores (at most 30 characters).",
                )
            ],
        ),
        default=list,
        blank=True,
        size=30,
    )
    hourly_rate = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="In the organization's currency; empty means free.",
    )
    # Block rates (reservations/pricing.py says how a booking is priced): a half day is up to
    # HALF_DAY_HOURS within one local day, a day is the whole of one local day.
    half_day_rate = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Up to 4 hours within one day; empty means no half-day rate.",
    )
    day_rate = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Any length within one day; empty means no day rate.",
    )
    is_active = models.BooleanField(default=True)
    min_duration_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(60 * 24 * 31)]
    )
    max_duration_minutes = models.PositiveIntegerField(
        default=12 * 60, validators=[MinValueValidator(1), MaxValueValidator(60 * 24 * 31)]
    )
    max_days_ahead = models.PositiveIntegerField(
        default=365, validators=[MinValueValidator(0), MaxValueValidator(3650)]
    )
    requires_approval = models.BooleanField(default=False)
    # Setup before and cleanup after each booking, kept free of other bookings; frozen on each reservation.
    buffer_before_minutes = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(24 * 60)], help_text="Setup time kept free before each booking."
    )
    buffer_after_minutes = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(24 * 60)], help_text="Cleanup time kept free after each booking."
    )
    # Booking limits per member (owners and admins are exempt); empty means no limit.
    max_upcoming_per_member = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(10_000)],
        help_text="The most bookings not ended yet one member may hold here; empty: the organization's default.",
    )
    max_hours_per_week_per_member = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(168)],
        help_text="The most hours one member may book here per week (Monday to Sunday); empty: the default.",
    )
    # Check-in: a confirmed booking nobody checks in by the end of the grace is released (status no_show).
    check_in_required = models.BooleanField(
        default=False, help_text="Bookers check in from 15 minutes before the start until the grace ends."
    )
    check_in_grace_minutes = models.PositiveIntegerField(
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="Minutes after the start a booker has to check in before the booking is released.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [GinIndex(fields=["amenities"], name="spaces_space_amenities_gin")]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="spaces_space_capacity_positive"),
            models.CheckConstraint(
                condition=Q(min_duration_minutes__gte=1) & Q(max_duration_minutes__gte=F("min_duration_minutes")),
                name="spaces_space_durations_ordered",
            ),
            models.CheckConstraint(
                condition=Q(hourly_rate__isnull=True) | Q(hourly_rate__gte=0), name="spaces_space_rate_not_negative"
            ),
            models.CheckConstraint(
                condition=(Q(half_day_rate__isnull=True) | Q(half_day_rate__gte=0))
                & (Q(day_rate__isnull=True) | Q(day_rate__gte=0)),
                name="spaces_space_block_rates_not_negative",
            ),
            models.CheckConstraint(condition=Q(check_in_grace_minutes__gte=1), name="spaces_space_grace_positive"),
            models.CheckConstraint(
                condition=(Q(plan_x__isnull=True) & Q(plan_y__isnull=True))
                | (Q(plan_x__gte=0, plan_x__lte=1, plan_y__gte=0, plan_y__lte=1) & Q(site__isnull=False)),
                name="spaces_space_plan_position_on_plan",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    """One open interval of a weekday, in the organization's local time.

    A space without rows is bookable at any time. Once a space has rows, a weekday without rows is closed.
    `closes_at` 00:00 means midnight at the end of the day; an interval never runs past midnight (open late
    on Friday night: Friday 20:00-00:00 plus Saturday 00:00-02:00, and bookings may span both).
    """

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    # No index of its own: spaces_openinghours_unique_start leads with it.
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="opening_hours", db_index=False)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["space", "weekday", "opens_at"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="spaces_openinghours_weekday_range"),
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")) | Q(closes_at=time(0)),
                name="spaces_openinghours_closes_after_opens",
            ),
            models.UniqueConstraint(fields=["space", "weekday", "opens_at"], name="spaces_openinghours_unique_start"),
        ]

    def __str__(self) -> str:
        closes = "24:00" if self.closes_at == time(0) else f"{self.closes_at:%H:%M}"
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{closes}"


class AvailabilityVersion(models.Model):
    """How many times the availability of a space has changed: bumped in the transaction of every write to its
    reservations, opening hours or state (spaces.availability_cache), read first by every availability answer."""

    space = models.OneToOneField(Space, on_delete=models.CASCADE, primary_key=True, related_name="+")
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.space_id} v{self.version}"


class Closure(models.Model):
    """A period nobody may book (a holiday, maintenance): of the chosen spaces, or of all when none is chosen."""

    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, help_text="Shown to bookers, e.g. “Public holiday”.")
    spaces = models.ManyToManyField(Space, blank=True, related_name="closures", help_text="None means every space.")
    # Users live in the public schema: no database constraint, no cascade, no reverse accessor (TENANCY.md).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["ends_at", "starts_at"], name="spaces_closure_ends_starts")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="spaces_closure_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M})"


class SpacePhoto(models.Model):
    """A photo of a space, cleaned of metadata (spaces.images), in the order managers choose; one is the cover."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="photos", db_index=False)
    image = models.ImageField(upload_to=upload_to, width_field="width", height_field="height")
    # Small photos are cleaned (metadata removed) and get their thumbnail in the request. A large one is kept as
    # uploaded, never given a URL, until a worker has done both (spaces.tasks.photo_process) and set `processed`.
    thumbnail = models.ImageField(upload_to=upload_to, blank=True)
    processed = models.BooleanField(default=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    size = models.PositiveIntegerField(editable=False)
    position = models.PositiveIntegerField(default=0)
    is_cover = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["space", "position", "id"]
        indexes = [models.Index(fields=["space", "position", "id"], name="spaces_photo_space_order")]
        constraints = [
            models.UniqueConstraint(
                fields=["space"], condition=Q(is_cover=True), name="spaces_spacephoto_one_cover_per_space"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.space_id} photo {self.pk}"


class DisplayLink(models.Model):
    """A tablet beside a room signs in with this: a revocable secret per space (only its hash is kept). It opens
    that space's display and nothing else (spaces.displays)."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="display_links")
    name = models.CharField(max_length=80, blank=True, help_text="Which tablet, e.g. 'Door of the Blue room'.")
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)  # sha256 of the secret, hex
    # Bookings made at the door are made as this owner or admin (they count as theirs, created_by says so).
    # Users live in the public schema: no database constraint across schemas (TENANCY.md); never deleted.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or f"Display of {self.space_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
