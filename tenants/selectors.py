from django.http import HttpRequest

from tenants.models import Organization


def organization_url_for_request(organization: Organization, request: HttpRequest | None) -> str:
    """The organization's site seen from the current request: same scheme, same port (e.g. :8000 locally)."""
    if request is None:
        return organization.url()
    host = request.get_host()
    port = host.rpartition(":")[2] if ":" in host else None
    return organization.url(scheme=request.scheme, port=port)
