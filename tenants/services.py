"""Writes that concern organizations: provisioning, registration and the public site's own row."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils.timezone import now as timezone_now
from psycopg import sql

from accounts.models import Membership, User
from accounts.services import password_check, user_create
from spacemanager.errors import PermissionDenied, ValidationFailed
from tenants.models import Domain, Organization, OrganizationUsage, schema_name_for_slug
from tenants.schema import tenant_schema_create
from tenants.selectors import COUNTED_TENANT_TABLES, organization_list, organization_slug_taken
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


# Recounting the usage counters (tenants.models.OrganizationUsage), which the database keeps on every write:
# this only repairs what went around the triggers.

# Schemas recounted per transaction. A transaction holds a lock on every table it reads and on their indexes
# until it ends, in a lock table shared by the whole server (max_locks_per_transaction x max_connections):
# one UNION ALL over 700 schemas once ran out of it and broke other sessions. 50 schemas hold about 600.
RECOUNT_BATCH_SCHEMAS = 50


@dataclass(frozen=True)
class UsageCorrection:
    organization: Organization
    counter: str
    counted_before: int
    counted_now: int


def organization_usage_recount(*, organizations: list[Organization] | None = None) -> list[UsageCorrection]:
    """Count members, spaces and reservations again (every organization by default) and set the counters to
    what the tables hold; returns the counts that were off.

    50 schemas per transaction, each locking its tables (and the memberships) in SHARE mode before counting:
    writes to them wait for the count, so a booking committing meanwhile is neither missed nor counted twice;
    reads go on. A schema dropped meanwhile (an organization deleted) makes its batch start again once.
    """
    chosen = list(organization_list() if organizations is None else organizations)
    corrections: list[UsageCorrection] = []
    for start in range(0, len(chosen), RECOUNT_BATCH_SCHEMAS):
        batch = chosen[start : start + RECOUNT_BATCH_SCHEMAS]
        for attempt in range(2):
            try:
                corrections.extend(_usage_recount_batch(batch))
                break
            except ProgrammingError:
                if attempt:
                    raise
    return corrections


@transaction.atomic
def _usage_recount_batch(organizations: list[Organization]) -> list[UsageCorrection]:
    by_schema = {organization.schema_name: organization for organization in organizations}
    tables = sorted(_existing_tenant_tables(by_schema))
    locked = [sql.Identifier("public", Membership._meta.db_table)]
    locked += [sql.Identifier(schema, table) for schema, table in tables]
    labels = {table: label for label, table in COUNTED_TENANT_TABLES.items()}
    counted = {organization.pk: dict.fromkeys(["members", *COUNTED_TENANT_TABLES], 0) for organization in organizations}
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(sql.SQL(", ").join(locked)).as_string(cursor))
        if tables:
            counts = sql.SQL(" UNION ALL ").join(
                sql.SQL("SELECT {}, {}, count(*) FROM {}").format(
                    sql.Literal(schema), sql.Literal(labels[table]), sql.Identifier(schema, table)
                )
                for schema, table in tables
            )
            cursor.execute(counts.as_string(cursor))
            for schema, label, count in cursor.fetchall():
                counted[by_schema[schema].pk][label] = count
        cursor.execute(
            "SELECT organization_id, count(*) FROM accounts_membership WHERE organization_id = ANY(%s) GROUP BY 1",
            [list(counted)],
        )
        for organization_id, count in cursor.fetchall():
            counted[organization_id]["members"] = count
        # This transaction's own writes not committed yet are in the count now: they must not be added again.
        cursor.execute(
            "DELETE FROM tenants_organizationusagechange "
            "WHERE transaction_id = txid_current_if_assigned() AND organization_id = ANY(%s)",
            [list(counted)],
        )
    before = {usage.pk: usage for usage in OrganizationUsage.objects.filter(pk__in=list(counted))}
    now = timezone_now()
    OrganizationUsage.objects.bulk_create(
        [OrganizationUsage(organization_id=pk, recounted_at=now, **values) for pk, values in counted.items()],
        update_conflicts=True,
        unique_fields=["organization"],
        update_fields=["members", *COUNTED_TENANT_TABLES, "recounted_at"],
    )
    return [
        UsageCorrection(
            organization=organization,
            counter=counter,
            counted_before=getattr(before.get(organization.pk), counter, 0),
            counted_now=value,
        )
        for organization in organizations
        for counter, value in counted[organization.pk].items()
        if getattr(before.get(organization.pk), counter, 0) != value
    ]


def _existing_tenant_tables(schema_names) -> set[tuple[str, str]]:
    # pg_catalog rather than information_schema: the latter checks privileges row by row and is slow with
    # thousands of schemas.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s) AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p')",
            [list(schema_names), list(COUNTED_TENANT_TABLES.values())],
        )
        return {(schema, table) for schema, table in cursor.fetchall()}


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
