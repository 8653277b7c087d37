from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
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
