from django.conf import settings
from django.http import HttpRequest

from tenants.models import Organization


def organization_url_for_request(organization: Organization, request: HttpRequest | None) -> str:
    """The organization's site seen from the current request: same scheme, same port (e.g. :8000 locally)."""
    if request is None:
        return organization.url()
    host = request.get_host()
    port = host.rpartition(":")[2] if ":" in host else None
    return organization.url(scheme=request.scheme, port=port)


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
