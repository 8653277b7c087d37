"""Writes that concern organizations: provisioning, registration and the public site's own row."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from accounts.models import Membership, User
from accounts.services import password_check, user_create
from spacemanager.errors import PermissionDenied, ValidationFailed
from tenants.models import Domain, Organization, schema_name_for_slug
from tenants.schema import tenant_schema_create
from tenants.selectors import organization_slug_taken
from tenants.spare_schemas import spare_schema_take, spare_schemas_refill_soon
from tenants.validators import validate_currency_code, validate_timezone_name

SLUG_TAKEN_MESSAGE = "This address is already taken; please choose another."


def slug_taken_error() -> ValidationFailed:
    """The one answer to a taken address: sign-up API and page, inline check and create_organization."""
    return ValidationFailed(SLUG_TAKEN_MESSAGE, field="organization_slug", code="slug_taken")


@dataclass(frozen=True)
class Registration:
    organization: Organization
    owner: User
    membership: Membership


def public_tenant_ensure() -> Organization:
    """The public site's tenant row and its Domain for BASE_DOMAIN (django-tenants routes by it).

    Idempotent; runs after every migration of the public schema, so changing BASE_DOMAIN only needs a migrate.
    """
    public, _ = Organization.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME,
        defaults={"name": "SpaceManager", "slug": settings.PUBLIC_SCHEMA_NAME},
    )
    Domain.objects.filter(tenant=public).exclude(domain=settings.BASE_DOMAIN).update(is_primary=False)
    Domain.objects.update_or_create(domain=settings.BASE_DOMAIN, defaults={"tenant": public, "is_primary": True})
    return public


@transaction.atomic
def organization_provision(*, name: str, slug: str, timezone: str = "UTC", currency: str = "EUR") -> Organization:
    """Create the organization row, its schema (with every tenant migration) and its domain.

    The schema is a spare renamed (tenants/spare_schemas.py) when one is ready, else built. Everything
    happens in one transaction: PostgreSQL's DDL is transactional, so a failure at any step leaves no
    schema, row or domain behind, and a spare taken is back in the pool.
    """
    organization = Organization(
        name=name.strip(),
        slug=slug,
        schema_name=schema_name_for_slug(slug),
        timezone=timezone,
        currency=currency,
    )
    organization.full_clean()
    try:
        with transaction.atomic():
            organization.save()
            Domain.objects.create(domain=organization.host, tenant=organization, is_primary=True)
    except IntegrityError as exc:
        # Lost a race with a concurrent registration of the same slug.
        raise slug_taken_error() from exc
    if spare_schema_take(schema_name=organization.schema_name):
        spare_schemas_refill_soon()
    else:
        tenant_schema_create(organization.schema_name)
    return organization


def registration_problems(
    *,
    organization_slug: str | None,
    owner_email: str | None,
    owner_password: str | None,
    owner_full_name: str = "",
    allow_existing_owner: bool = False,
) -> list[ValidationFailed]:
    """Every reason sign-up would refuse these values, all at once (the sign-up page shows them together).

    A value that is None (missing, or already refused by the form) is not checked. organization_register runs
    the same checks; the database's unique constraints stay the last word in a race.
    """
    problems = []
    if organization_slug and organization_slug_taken(slug=organization_slug):
        problems.append(slug_taken_error())
    owner_exists = bool(owner_email) and User.objects.with_email(owner_email).exists()
    if owner_exists and not allow_existing_owner:
        problems.append(
            ValidationFailed(
                "An account with this email already exists; log in to your organization instead.",
                field="email",
                code="email_taken",
            )
        )
    if owner_password is not None and not (owner_exists and allow_existing_owner):
        try:
            password_check(password=owner_password, email=owner_email or "", full_name=owner_full_name)
        except ValidationFailed as exc:
            problems.append(exc)
    return problems


@transaction.atomic
def organization_register(
    *,
    organization_name: str,
    organization_slug: str,
    owner_email: str,
    owner_password: str | None,
    owner_full_name: str = "",
    timezone: str = "UTC",
    currency: str = "EUR",
    allow_existing_owner: bool = False,
) -> Registration:
    """Sign-up: a new organization with its owner, all or nothing.

    The public sign-up refuses an email that already has an account; operators (create_organization) may
    make an existing person the owner of a further organization.
    """
    problems = registration_problems(
        organization_slug=organization_slug,
        owner_email=owner_email,
        owner_password=owner_password,
        owner_full_name=owner_full_name,
        allow_existing_owner=allow_existing_owner,
    )
    if problems:
        raise problems[0]
    owner = User.objects.with_email(owner_email).first()
    if owner is not None:
        organization = organization_provision(
            name=organization_name, slug=organization_slug, timezone=timezone, currency=currency
        )
    else:
        # Hashing (argon2id, ~25 ms; argon2-cffi releases the GIL) overlaps the schema's creation, which
        # takes most of sign-up's 0.3 s budget.
        with ThreadPoolExecutor(max_workers=1) as pool:
            password_hash = pool.submit(make_password, owner_password) if owner_password is not None else None
            organization = organization_provision(
                name=organization_name, slug=organization_slug, timezone=timezone, currency=currency
            )
            owner = user_create(
                email=owner_email, password=owner_password, full_name=owner_full_name, password_hash=password_hash
            )
    membership = Membership.objects.create(user=owner, organization=organization, role=Membership.Role.OWNER)
    return Registration(organization=organization, owner=owner, membership=membership)


# Operations: deactivating, reactivating and deleting organizations (management commands and the admin).


def _refuse_public(organization: Organization, action: str) -> None:
    if organization.is_public:
        raise ValidationFailed(f"The public site is not an organization and cannot be {action}.", code="public_site")


def organization_deactivate(*, organization: Organization) -> Organization:
    """Take the organization offline: its host answers 404 and its tokens stop working; data stays."""
    _refuse_public(organization, "deactivated")
    if organization.is_active:
        organization.is_active = False
        organization.save(update_fields=["is_active"])
    return organization


def organization_reactivate(*, organization: Organization) -> Organization:
    _refuse_public(organization, "reactivated")
    if not organization.is_active:
        organization.is_active = True
        organization.save(update_fields=["is_active"])
    return organization


@transaction.atomic
def organization_delete(*, organization: Organization) -> None:
    """Delete the organization for good: its schema (every space and reservation), domains and memberships.

    People stay (they may belong elsewhere; users are never deleted). The schema is dropped inside the
    transaction, so a failure keeps everything. btree_gist lives in the public schema (migration
    tenants.0002), so dropping a schema never takes other organizations' exclusion constraints with it.
    """
    _refuse_public(organization, "deleted")
    # django-tenants refuses to drop a schema from inside another tenant's schema.
    connection.set_schema_to_public()
    organization.delete(force_drop=True)


@transaction.atomic
def organization_booking_limits_set(
    *,
    actor: Membership,
    organization: Organization,
    max_upcoming_per_member: int | None,
    max_hours_per_week_per_member: int | None,
) -> Organization:
    """Set the organization's default booking limits per member (None: no limit), for spaces without their
    own. The rule itself lives with the booking rules (reservations.services)."""
    if not actor.is_manager or actor.organization_id != organization.pk:
        raise PermissionDenied("Only the organization's owners and admins change its settings.")
    organization.default_max_upcoming_per_member = max_upcoming_per_member
    organization.default_max_hours_per_week_per_member = max_hours_per_week_per_member
    try:
        organization.full_clean(exclude=["schema_name", "slug"], validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ValidationFailed(" ".join(messages), field=field) from exc
    organization.save(update_fields=["default_max_upcoming_per_member", "default_max_hours_per_week_per_member"])
    return organization


@transaction.atomic
def organization_check_in_defaults_set(
    *,
    actor: Membership,
    organization: Organization,
    check_in_required: bool,
    check_in_grace_minutes: int,
    display_show_titles: bool | None = None,
) -> Organization:
    """Set what new spaces start with: whether bookers check in, and the grace after the start (at least one
    minute). Existing spaces keep their own settings. The rule itself lives with the booking rules."""
    if not actor.is_manager or actor.organization_id != organization.pk:
        raise PermissionDenied("Only the organization's owners and admins change its settings.")
    organization.default_check_in_required = check_in_required
    organization.default_check_in_grace_minutes = check_in_grace_minutes
    if display_show_titles is not None:  # room displays (spaces.displays); None leaves it as it is
        organization.display_show_titles = display_show_titles
    try:
        organization.full_clean(exclude=["schema_name", "slug"], validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ValidationFailed(" ".join(messages), field=field) from exc
    organization.save(
        update_fields=["default_check_in_required", "default_check_in_grace_minutes", "display_show_titles"]
    )
    return organization


@transaction.atomic
def organization_update(
    *,
    actor: Membership,
    organization: Organization,
    name: str | None = None,
    timezone: str | None = None,
    currency: str | None = None,
) -> Organization:
    """Change an organization's name, time zone or currency (owners and admins). The slug never changes:
    it is the organization's address and schema name."""
    if not actor.is_manager or actor.organization_id != organization.pk:
        raise PermissionDenied("Only the organization's owners and admins change its settings.")
    changes: dict[str, str] = {}
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationFailed("Enter the organization's name.", field="name", code="required")
        changes["name"] = name
    checks = {"timezone": (timezone, validate_timezone_name), "currency": (currency, validate_currency_code)}
    for field, (value, validate) in checks.items():
        if value is None:
            continue
        try:
            validate(value)
        except ValidationError as exc:
            raise ValidationFailed(" ".join(exc.messages), field=field, code=exc.code or "invalid") from exc
        changes[field] = value
    if not changes:
        return organization
    for field, value in changes.items():
        setattr(organization, field, value)
    try:
        organization.full_clean(exclude=["schema_name", "slug"], validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ValidationFailed(" ".join(messages), field=field) from exc
    organization.save(update_fields=list(changes))
    return organization
