from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils import timezone


class UserQuerySet(models.QuerySet["User"]):
    def with_email(self, email: str) -> "UserQuerySet":
        """The person with this address, whatever its case: the one home of email lookups.

        Compiles to `lower(email) = lower(%s)`, which the unique index `accounts_user_email_ci_unique` answers
        with an index scan. `email__iexact` compiles to `UPPER(email) = UPPER(%s)`, which no index serves: a
        scan of every person (1.85 s at a million people).
        """
        return self.filter(Exact(Lower("email"), Lower(Value(email.strip()))))


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)  # None gives an unusable password: the person resets it by email.
        user.full_clean(exclude=["password"], validate_unique=False)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser needs is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.with_email(username or "").get()


REMINDER_LEAD_CHOICES = [(0, "Off"), (15, "15 minutes"), (30, "30 minutes"), (60, "1 hour"), (120, "2 hours")]


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Lives in the public schema; organizations reach people through Membership.

    Users are deactivated, never deleted: tenant tables point at them without a database constraint.
    """

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log into the platform's Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    # API tokens issued before this moment are refused (accounts.authentication): set by logging out, a new
    # password and deactivation. Read by the membership lookup every API request already makes.
    tokens_valid_after = models.DateTimeField(null=True, blank=True, editable=False)
    # The person's own notification choices (the profile page). No lead chosen: REMINDER_LEAD_MINUTES.
    reminder_lead_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=REMINDER_LEAD_CHOICES, help_text="Minutes before a booking; 0 is off."
    )
    email_booking_updates = models.BooleanField(
        default=True, help_text="Emails when one of my bookings is made, approved, changed, declined or cancelled."
    )
    email_approval_requests = models.BooleanField(
        default=True, help_text="Owners and admins: emails about requests waiting for approval."
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs) -> None:
        # set_password() on an existing account is a password change (Django's own test, which hash upgrades
        # on login skip): it ends every API token issued before it, on every interface (reset, admin, shell).
        if self._password is not None and self.pk is not None:
            self.tokens_valid_after = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "tokens_valid_after"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def reminder_lead(self) -> int:
        """Minutes before a booking starts that this person is reminded; 0 means never."""
        if self.reminder_lead_minutes is None:
            return settings.REMINDER_LEAD_MINUTES
        return self.reminder_lead_minutes


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    # Neither key has an index of its own: the unique (user, organization) constraint leads with the user
    # (login, the token check), membership_org_created with the organization (the members page).
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="accounts_membership_user_org_unique"),
        ]
        indexes = [
            # An organization's members in order, one page at a time; also counts members per organization.
            models.Index(fields=["organization", "created_at", "id"], name="membership_org_created"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.organization}"

    @property
    def is_manager(self) -> bool:
        """Owners and admins manage spaces, reservations and members."""
        return self.role in {self.Role.OWNER, self.Role.ADMIN}

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self, *, now=None) -> "InvitationQuerySet":
        """Neither accepted nor revoked, and not expired yet."""
        return self.filter(accepted_at=None, revoked_at=None, expires_at__gt=now or timezone.now())


class Invitation(models.Model):
    """An emailed offer to join an organization with a role. Public schema, like the memberships it creates.

    Only a hash of the link's token is stored: reading the table gives nobody a working link. Resending makes
    a new token (the old link stops working) and a new expiry.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(default=timezone.now)
    send_count = models.PositiveIntegerField(default=1)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open invitation per address and organization; an accepted or revoked one does not count.
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=models.Q(accepted_at=None, revoked_at=None),
                name="accounts_invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.role}) to {self.organization}"

    def status_at(self, now) -> str:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= now:
            return self.Status.EXPIRED
        return self.Status.PENDING

    @property
    def status(self) -> str:
        return self.status_at(timezone.now())


class ApiKey(models.Model):
    """A named key an integrator sends as `Authorization: Bearer sm_…` on its organization's host.

    It acts as its creator, with the creator's current role, limited by its scopes; it dies when revoked,
    expired, or when the creator leaves the organization or is deactivated. Only a hash of the key is stored.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="api_keys")
    created_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    scopes = ArrayField(models.CharField(max_length=10, choices=Scope.choices), default=list)
    # The first characters of the key, shown in lists so that people can tell their keys apart.
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) in {self.organization}"

    @property
    def can_write(self) -> bool:
        return self.Scope.WRITE in self.scopes

    def status_at(self, now) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class SsoProvider(models.Model):
    """An OpenID Connect provider an organization's owners configured ("Sign in with <name>").

    A first sign-in from one of `allowed_domains` creates the account and a membership with `role`. The client
    secret is stored encrypted (accounts.sso), never in clear.
    """

    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="sso_providers")
    name = models.CharField(max_length=60, help_text="Shown on the login page: “Sign in with <name>”.")
    issuer = models.URLField(max_length=300)
    client_id = models.CharField(max_length=255)
    client_secret_encrypted = models.TextField()
    allowed_domains = ArrayField(models.CharField(max_length=253), default=list)
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "single sign-on provider"

    def __str__(self) -> str:
        return f"{self.name} for {self.organization}"


class SsoPolicy(models.Model):
    """Per organization: whether everyone but the owners must sign in through single sign-on."""

    organization = models.OneToOneField(
        "tenants.Organization", on_delete=models.CASCADE, primary_key=True, related_name="sso_policy"
    )
    sso_required = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"SSO {'required' if self.sso_required else 'optional'} in {self.organization}"
