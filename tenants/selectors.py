from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest

from tenants.models import Organization


def organization_url_for_request(organization: Organization, request: HttpRequest | None) -> str:
    """The organization's site seen from the current request: same scheme, same port (e.g. :8000 locally)."""
    if request is None:
        return organization.url()
    host = request.get_host()
    port = host.rpartition(":")[2] if ":" in host else None
    return organization.url(scheme=request.scheme, port=port)


def organization_list_active() -> QuerySet[Organization]:
    """Organizations that get periodic work: active ones, never the public site or a template schema."""
    excluded = {settings.PUBLIC_SCHEMA_NAME}
    template_schema = getattr(settings, "TENANT_BASE_SCHEMA", None)
    if template_schema:
        excluded.add(template_schema)
    return Organization.objects.filter(is_active=True).exclude(schema_name__in=excluded).order_by("schema_name")


def organization_current() -> Organization:
    """The organization whose schema the connection is in (a task's, a request's); the worker sets a full
    tenant, `schema_context` only a stand-in, so then ask the database."""
    tenant = connection.tenant
    if isinstance(tenant, Organization):
        return tenant
    return Organization.objects.get(schema_name=connection.schema_name)
