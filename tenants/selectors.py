"""Reads about organizations: links to their sites and the operators' overview with usage counts."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import ProgrammingError, connection, transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from psycopg import sql

from spacemanager.errors import NotFound
from tenants.models import Domain, Organization


def organization_url_for_request(organization: Organization, request: HttpRequest | None) -> str:
    """The organization's site seen from the current request: same scheme, same port (e.g. :8000 locally)."""
    if request is None:
        return organization.url()
    host = request.get_host()
    port = host.rpartition(":")[2] if ":" in host else ""
    return organization.url(scheme=request.scheme, port=port)


def organization_list_active() -> QuerySet[Organization]:
    """Organizations that get periodic work: active ones, never the public site or a template schema."""
    excluded = {settings.PUBLIC_SCHEMA_NAME}
    template_schema = getattr(settings, "TENANT_BASE_SCHEMA", None)
    if template_schema:
        excluded.add(template_schema)
    return Organization.objects.filter(is_active=True).exclude(schema_name__in=excluded).order_by("schema_name")


# Operators' overview: every organization with its usage, in a fixed number of queries.

# Tenant tables counted per organization, by label. They may not exist yet (an app not migrated yet, or a
# schema whose migrations failed), so each schema is checked first and a missing table counts 0.
COUNTED_TENANT_TABLES: dict[str, str] = {"spaces": "spaces_space", "reservations": "reservations_reservation"}


@dataclass(frozen=True)
class TenantTableCounts:
    spaces: int = 0
    reservations: int = 0


@dataclass(frozen=True)
class OrganizationOverview:
    organization: Organization
    members: int
    spaces: int
    reservations: int


def organization_list() -> QuerySet[Organization]:
    """Every organization (never the public site's row), with `member_count` and `primary_domain` annotated."""
    primary_domain = Domain.objects.filter(tenant=OuterRef("pk"), is_primary=True).values("domain")[:1]
    return (
        Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .annotate(member_count=Count("memberships", distinct=True), primary_domain=Subquery(primary_domain))
        .order_by("slug")
    )


def organization_get_by_slug(*, slug: str) -> Organization:
    organization = Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).filter(slug=slug).first()
    if organization is None:
        raise NotFound(f"No organization has the slug “{slug}”.", field="slug")
    return organization


def _existing_tenant_tables(schema_names: Collection[str]) -> set[tuple[str, str]]:
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


def _count_query(tables: Iterable[tuple[str, str]]) -> sql.Composed:
    labels = {table: label for label, table in COUNTED_TENANT_TABLES.items()}
    return sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {schema}, {label}, count(*) FROM {table}").format(
            schema=sql.Literal(schema),
            label=sql.Literal(labels[table]),
            table=sql.Identifier(schema, table),  # quoted and escaped by psycopg
        )
        for schema, table in sorted(tables)
    )


def tenant_table_counts(*, schema_names: Collection[str]) -> dict[str, TenantTableCounts]:
    """Spaces and reservations per schema in at most two queries, whatever the number of schemas.

    One query finds which schemas have the tables; one UNION ALL counts them all. A schema dropped between
    the two (an organization deleted meanwhile) makes the count fail: it is retried once with a fresh check.
    """
    counts: dict[str, dict[str, int]] = {schema: {} for schema in schema_names}
    if not counts:
        return {}
    for attempt in range(2):
        tables = _existing_tenant_tables(counts)
        if not tables:
            break
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_count_query(tables).as_string(connection.connection))
                rows = cursor.fetchall()
        except ProgrammingError:
            if attempt:
                raise
            continue
        for schema, label, count in rows:
            counts[schema][label] = count
        break
    return {schema: TenantTableCounts(**values) for schema, values in counts.items()}


def organization_overview_list() -> list[OrganizationOverview]:
    """Every organization with its members, spaces and reservations: three queries in all."""
    organizations = list(organization_list())
    table_counts = tenant_table_counts(schema_names=[organization.schema_name for organization in organizations])
    return [
        OrganizationOverview(
            organization=organization,
            members=organization.member_count,
            spaces=table_counts[organization.schema_name].spaces,
            reservations=table_counts[organization.schema_name].reservations,
        )
        for organization in organizations
    ]


def organization_find(*, slug: str) -> Organization | None:
    """An active organization by its slug (what people type to find their site); never the public site."""
    return (
        Organization.objects.filter(slug=slug.strip().lower(), is_active=True)
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .first()
    )


def organization_slug_taken(*, slug: str) -> bool:
    """Whether an organization (active or not) already uses this address: a hint for forms; the unique
    constraint and organization_register remain the last word."""
    return Organization.objects.filter(slug=slug).exists()


def organization_current() -> Organization:
    """The organization whose schema the connection is in (a task's, a request's); the worker sets a full
    tenant, `schema_context` only a stand-in, so then ask the database."""
    tenant = connection.tenant
    if isinstance(tenant, Organization):
        return tenant
    return Organization.objects.get(schema_name=connection.schema_name)
