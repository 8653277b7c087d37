from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from tenants.validators import validate_currency_code, validate_organization_slug, validate_timezone_name


def schema_name_for_slug(slug: str) -> str:
    """Schema names cannot contain hyphens and must not start with `pg_`; the prefix keeps both true."""
    return "org_" + slug.replace("-", "_")


class Organization(TenantMixin):
    """A tenant: one organization, one PostgreSQL schema, one subdomain.

    The row with schema `public` stands for the public site itself and is never shown as an organization.
    """

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=40, unique=True, validators=[validate_organization_slug])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone_name])
    currency = models.CharField(max_length=3, default="EUR", validators=[validate_currency_code])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the periodic sweeps last finished for it: the next tick starts with the longest-waiting ones.
    swept_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Booking limits per member (owners and admins are exempt); empty means no limit.
    default_max_upcoming_per_member = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(10_000)],
        help_text="The most bookings not ended yet one member may hold in a space, for spaces without their own.",
    )
    default_max_hours_per_week_per_member = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(168)],
        help_text="The most hours one member may book in a space per week, for spaces without their own limit.",
    )
    # Check-in: what a new space starts with (each space then keeps its own setting).
    default_check_in_required = models.BooleanField(
        default=False, help_text="New spaces require check-in: bookings nobody checks in are released."
    )
    default_check_in_grace_minutes = models.PositiveIntegerField(
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="For new spaces: minutes after the start a booker has to check in.",
    )
    # Room displays (spaces.displays): whether the tablet beside a room shows its bookings' titles.
    display_show_titles = models.BooleanField(
        default=False, help_text="Room displays show the titles of bookings (otherwise only 'Booked')."
    )

    # Provisioning creates the schema explicitly inside its transaction (tenants.services).
    auto_create_schema = False
    auto_drop_schema = True

    class Meta:
        ordering = ["name"]
        indexes = [
            # The platform admin's list, a page at a time in its default order (name, then id).
            models.Index(fields=["name", "id"], name="organization_name_id"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.schema_name == settings.PUBLIC_SCHEMA_NAME

    @property
    def host(self) -> str:
        return f"{self.slug}.{settings.BASE_DOMAIN}"

    def url(self, *, scheme: str | None = None, port: str | int | None = None) -> str:
        """The organization's site. By default with SITE_URL's scheme and port: what emails and commands link to.

        Only answers to the caller's own request (the API's `url`, redirects) pass the request's scheme and port.
        """
        if scheme is None or port is None:
            site = urlsplit(settings.SITE_URL)
            scheme = scheme or site.scheme
            port = site.port if port is None else port
        suffix = f":{port}" if port and str(port) not in {"80", "443"} else ""
        return f"{scheme}://{self.host}{suffix}/"

    def link(self, path: str) -> str:
        """An absolute link to `path` on the organization's site, for emails (see `url`)."""
        return self.url().rstrip("/") + path


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class IdempotencyKey(models.Model):
    """A side effect (an email, a reminder) done at most once: one row per (schema, kind, object, version).

    Lives in the public schema so one unique constraint covers every organization and one job prunes it.
    `tenants.idempotency` claims a row before the side effect and marks it done afterwards.

    Requests use the same ledger (spacemanager.idempotent_requests): an API POST with an `Idempotency-Key`
    or a page form's one-time token is a row per (schema, kind, principal, hashed key) that remembers a
    hash of the request and, once done, the answer to replay.
    """

    class State(models.TextChoices):
        CLAIMED = "claimed", "Claimed"
        DONE = "done", "Done"

    schema_name = models.CharField(max_length=63)
    kind = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    version = models.CharField(max_length=64, blank=True, default="")
    state = models.CharField(max_length=16, choices=State.choices, default=State.CLAIMED)
    claimed_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    request_hash = models.CharField(max_length=64, blank=True, default="")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.BinaryField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["schema_name", "kind", "object_id", "version"], name="idempotency_key_unique"
            ),
        ]
        indexes = [models.Index(fields=["claimed_at"], name="idempotency_key_claimed_at")]

    def __str__(self) -> str:
        return f"{self.schema_name}:{self.kind}:{self.object_id}:{self.version} ({self.state})"


class OutboxMessage(models.Model):
    """A task to queue, written in the transaction of the change that asks for it (`tenants.outbox`).

    The request never talks to the broker: the message commits or rolls back with the change, and the relay
    (a periodic task) queues it and deletes it. Public schema, so one relay serves every organization.
    """

    schema_name = models.CharField(max_length=63)
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="outbox_created")]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)} in {self.schema_name}"


class OrganizationUsage(models.Model):
    """What an organization holds, for the operators' lists: members, spaces and reservations (every row, as
    counting the tables would say), kept by the database itself.

    Triggers count each write statement on `accounts_membership` and on every schema's `spaces_space` and
    `reservations_reservation` (tenants migration 0010, spaces migration 0011), so no code path can forget
    them: services, bulk inserts, cascades, raw SQL. The counts reach this row when the writing transaction
    commits, through `OrganizationUsageChange`, so a booking never holds this row's lock while it runs.
    `manage.py recount_organization_usage` counts the tables again where something went around the triggers
    (a schema restored with triggers disabled, a hand-made fix).
    """

    organization = models.OneToOneField(Organization, primary_key=True, on_delete=models.CASCADE, related_name="usage")
    members = models.IntegerField(default=0, db_default=0)
    spaces = models.IntegerField(default=0, db_default=0)
    reservations = models.BigIntegerField(default=0, db_default=0)
    # When recount_organization_usage last counted the tables (None: counted by the triggers alone).
    recounted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.members} members, {self.spaces} spaces, {self.reservations} reservations"


class OrganizationUsageChange(models.Model):
    """A change to an organization's usage counts that its transaction has not committed yet.

    The triggers add each write statement's change here, one row per (transaction, organization), with no lock
    on the shared counter row; a deferred trigger moves the row into `OrganizationUsage` when the transaction
    commits, and deletes it. Other sessions therefore never see a row here; a transaction sees its own, so
    the counts it reads (`tenants.selectors.organization_usage_counts`) include its own writes.
    """

    transaction_id = models.BigIntegerField()
    # No constraint: the organization may be deleted in the same transaction (the row then applies to nothing).
    organization = models.ForeignKey(
        Organization,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="uncommitted_usage_changes",
    )
    members = models.BigIntegerField(default=0, db_default=0)
    spaces = models.BigIntegerField(default=0, db_default=0)
    reservations = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transaction_id", "organization"], name="usage_change_unique"),
        ]

    def __str__(self) -> str:
        return f"transaction {self.transaction_id}, organization {self.organization_id}"
