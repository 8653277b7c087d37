"""Reads about organizations: links to their sites and the operators' overview with usage counts."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, F, FilteredRelation, Func, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest

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


# Operators' overview: every organization with its usage, in one query (tenants.models.OrganizationUsage).

# Tenant tables counted per organization, by label, for the statistics' estimates and the recount
# (tenants.services.organization_usage_recount). They may not exist yet (an app not migrated yet, or a
# schema whose migrations failed), so each schema is checked first and a missing table counts 0.
COUNTED_TENANT_TABLES: dict[str, str] = {"spaces": "spaces_space", "reservations": "reservations_reservation"}


@dataclass(frozen=True)
class TenantTableCounts:
    spaces: int = 0
    reservations: int = 0


@dataclass(frozen=True)
class UsageCounts:
    members: int
    spaces: int
    reservations: int


@dataclass(frozen=True)
class OrganizationSummary:
    """What the operators' overview shows of an organization. Plain values, not model instances: at
    thousands of organizations, building the ORM's rows cost more than the query."""

    slug: str
    name: str
    schema_name: str
    created_at: datetime
    is_active: bool


@dataclass(frozen=True)
class OrganizationOverview:
    organization: OrganizationSummary
    members: int
    spaces: int
    reservations: int


def organization_list() -> QuerySet[Organization]:
    """Every organization (never the public site's row), with `primary_domain` annotated.

    No usage counts here: a join would follow this queryset into the admin's date hierarchy, its filters and
    both of its COUNTs. `organization_usage_counts` reads them for the rows actually shown.
    """
    primary_domain = Domain.objects.filter(tenant=OuterRef("pk"), is_primary=True).values("domain")[:1]
    return _organizations().annotate(primary_domain=Subquery(primary_domain))


def _organizations() -> QuerySet[Organization]:
    return Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).order_by("slug")


class _CurrentTransactionId(Func):
    """This transaction's id if it has written anything, else NULL (and then it has no uncommitted change)."""

    template = "txid_current_if_assigned()"
    output_field = BigIntegerField()


def with_usage(organizations: QuerySet[Organization]) -> QuerySet[Organization]:
    """`organizations` with `member_count`, `space_count` and `reservation_count`: the committed counters plus
    this transaction's own changes not committed yet (one row at most per organization, usually none)."""
    own = FilteredRelation(
        "uncommitted_usage_changes", condition=Q(uncommitted_usage_changes__transaction_id=_CurrentTransactionId())
    )
    counts = {}
    for name, field in [("member_count", "members"), ("space_count", "spaces"), ("reservation_count", "reservations")]:
        counts[name] = Coalesce(F(f"usage__{field}"), 0) + Coalesce(F(f"own_usage_changes__{field}"), 0)
    return organizations.annotate(own_usage_changes=own, **counts)


_COUNT_COLUMNS = ("member_count", "space_count", "reservation_count")  # with_usage's annotations
_SUMMARY_COLUMNS = ("slug", "name", "schema_name", "created_at", "is_active")


def organization_usage_counts(*, organization_ids: Collection[int]) -> dict[int, UsageCounts]:
    """Members, spaces and reservations of these organizations (the admin's page of rows), in one query."""
    if not organization_ids:
        return {}
    rows = with_usage(Organization.objects.filter(pk__in=list(organization_ids)).order_by())
    return {
        pk: UsageCounts(members=members, spaces=spaces, reservations=reservations)
        for pk, members, spaces, reservations in rows.values_list("pk", *_COUNT_COLUMNS)
    }


def organization_get_by_slug(*, slug: str) -> Organization:
    organization = Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).filter(slug=slug).first()
    if organization is None:
        raise NotFound(f"No organization has the slug “{slug}”.", field="slug")
    return organization


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
    """Every organization with its members, spaces and reservations, from the usage counters: one query
    however many organizations. With `estimate`, spaces and reservations come from the statistics instead
    (tenant_table_estimates, one more query), as before the counters existed."""
    # Only the columns the overview shows, as plain values (OrganizationSummary).
    width = len(_SUMMARY_COLUMNS)
    rows = [
        (OrganizationSummary(*row[:width]), row[width:])
        for row in with_usage(_organizations()).values_list(*_SUMMARY_COLUMNS, *_COUNT_COLUMNS)
    ]
    estimates = tenant_table_estimates(schema_names=[summary.schema_name for summary, _ in rows]) if estimate else {}
    overview = []
    for summary, (members, spaces, reservations) in rows:
        if estimate:
            spaces, reservations = estimates[summary.schema_name].spaces, estimates[summary.schema_name].reservations
        overview.append(
            OrganizationOverview(organization=summary, members=members, spaces=spaces, reservations=reservations)
        )
    return overview


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
