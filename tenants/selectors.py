"""Reads about organizations: links to their sites and the operators' overview with usage counts."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import ProgrammingError, connection, transaction
from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from psycopg import sql

from accounts.models import Membership
from spacemanager.errors import NotFound
from tenants.models import Domain, Organization


def organization_url_for_request(organization: Organization, request: HttpRequest | None) -> str:
    """The organization's site seen from the current request: same scheme, same port (e.g. :8000 locally)."""
    if request is None:
        return organization.url()
    host = request.get_host()
    port = host.rpartition(":")[2] if ":" in host else ""
    return organization.url(scheme=request.scheme, port=port)


def public_site_url_for_request(request: HttpRequest) -> str:
    """The public site (BASE_DOMAIN) seen from the current request: same scheme and port, whatever the host."""
    host = request.get_host()
    port = host.rpartition(":")[2] if ":" in host and not host.endswith("]") else ""
    suffix = f":{port}" if port and port not in {"80", "443"} else ""
    return f"{request.scheme}://{settings.BASE_DOMAIN}{suffix}/"


def organization_list_active() -> QuerySet[Organization]:
    """Organizations that get periodic work: active ones, never the public site or a template schema."""
    excluded = {settings.PUBLIC_SCHEMA_NAME}
    template_schema = getattr(settings, "TENANT_BASE_SCHEMA", None)
    if template_schema:
        excluded.add(template_schema)
    return Organization.objects.filter(is_active=True).exclude(schema_name__in=excluded).order_by("schema_name")


def organization_list_sweep_order() -> list[str]:
    """Schemas of the active organizations, the longest since their last sweep (or never swept) first."""
    return list(
        organization_list_active()
        .order_by(F("swept_at").asc(nulls_first=True), "schema_name")
        .values_list("schema_name", flat=True)
    )


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
    """Every organization (never the public site's row), with `primary_domain` annotated.

    No member count here: a join of every membership (a million at 1,000 organizations) would follow this
    queryset into the admin's date hierarchy, its filters and both of its COUNTs. `member_counts` counts the
    rows actually shown.
    """
    primary_domain = Domain.objects.filter(tenant=OuterRef("pk"), is_primary=True).values("domain")[:1]
    return (
        Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .annotate(primary_domain=Subquery(primary_domain))
        .order_by("slug")
    )


def member_counts(*, organization_ids: Collection[int]) -> dict[int, int]:
    """Members per organization, in one query from the index on (organization, created_at, id)."""
    if not organization_ids:
        return {}
    rows = (
        Membership.objects.filter(organization_id__in=list(organization_ids))
        .order_by()
        .values("organization_id")
        .annotate(count=Count("*"))
        .values_list("organization_id", "count")
    )
    counts = dict.fromkeys(organization_ids, 0)
    counts.update(rows)
    return counts


def organizations_with_counts(organizations: Iterable[Organization]) -> list[Organization]:
    """The organizations with `member_count` and `table_counts` set: three queries per batch of schemas."""
    organizations = list(organizations)
    members = member_counts(organization_ids=[organization.pk for organization in organizations])
    tables = tenant_table_counts(schema_names=[organization.schema_name for organization in organizations])
    for organization in organizations:
        organization.member_count = members[organization.pk]
        organization.table_counts = tables[organization.schema_name]
    return organizations


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


# Schemas counted per statement. A statement locks every table it reads and each of their indexes until the
# transaction ends, in a lock table shared by the whole server (max_locks_per_transaction x max_connections):
# one UNION ALL over 700 schemas ran out of it and broke other sessions. 50 schemas hold about 600 locks.
COUNT_BATCH_SCHEMAS = 50


def tenant_table_counts(*, schema_names: Collection[str]) -> dict[str, TenantTableCounts]:
    """Spaces and reservations per schema: one query to find the tables, then one per 50 schemas.

    Each batch runs in its own transaction, so its locks are released before the next. A schema dropped
    meanwhile (an organization deleted) makes its batch fail: it is retried once with a fresh check.
    """
    counts: dict[str, dict[str, int]] = {schema: {} for schema in schema_names}
    if not counts:
        return {}
    existing = sorted(_existing_tenant_tables(counts))
    schemas = sorted({schema for schema, _ in existing})
    for start in range(0, len(schemas), COUNT_BATCH_SCHEMAS):
        batch_schemas = set(schemas[start : start + COUNT_BATCH_SCHEMAS])
        batch = [(schema, table) for schema, table in existing if schema in batch_schemas]
        for schema, label, count in _count_batch(batch):
            counts[schema][label] = count
    return {schema: TenantTableCounts(**values) for schema, values in counts.items()}


def _count_batch(tables: list[tuple[str, str]]) -> list[tuple[str, str, int]]:
    for attempt in range(2):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_count_query(tables).as_string(connection.connection))
                return cursor.fetchall()
        except ProgrammingError:
            if attempt:
                raise
            tables = sorted(set(tables) & _existing_tenant_tables({schema for schema, _ in tables}))
            if not tables:
                return []
    return []


def tenant_table_estimates(*, schema_names: Collection[str]) -> dict[str, TenantTableCounts]:
    """Spaces and reservations per schema as PostgreSQL's statistics estimate them (pg_class.reltuples, kept
    by autovacuum's ANALYZE): one catalog query, no lock on and no catalog loading of any tenant table, so
    it costs the same at 10,000 organizations as at 10. A table never analysed yet counts 0."""
    counts: dict[str, dict[str, int]] = {schema: {} for schema in schema_names}
    if not counts:
        return {}
    labels = {table: label for label, table in COUNTED_TENANT_TABLES.items()}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, c.relname, greatest(c.reltuples, 0)::bigint FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s) AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p')",
            [list(counts), list(labels)],
        )
        for schema, table, estimate in cursor.fetchall():
            counts[schema][labels[table]] = estimate
    return {schema: TenantTableCounts(**values) for schema, values in counts.items()}


def organization_overview_list(*, estimate: bool = False) -> list[OrganizationOverview]:
    """Every organization with its members, spaces and reservations: 3 queries, plus one per 50 schemas; with
    `estimate`, 3 queries in all (spaces and reservations from the statistics, see tenant_table_estimates)."""
    organizations = list(organization_list())
    members = member_counts(organization_ids=[organization.pk for organization in organizations])
    count = tenant_table_estimates if estimate else tenant_table_counts
    tables = count(schema_names=[organization.schema_name for organization in organizations])
    return [
        OrganizationOverview(
            organization=organization,
            members=members[organization.pk],
            spaces=tables[organization.schema_name].spaces,
            reservations=tables[organization.schema_name].reservations,
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
    constraint and organization_register remain the last word (registration_problems asks it)."""
    return Organization.objects.filter(slug=slug).exists()


def organization_current() -> Organization:
    """The organization whose schema the connection is in (a task's, a request's); the worker sets a full
    tenant, `schema_context` only a stand-in, so then ask the database."""
    tenant = connection.tenant
    if isinstance(tenant, Organization):
        return tenant
    return Organization.objects.get(schema_name=connection.schema_name)
