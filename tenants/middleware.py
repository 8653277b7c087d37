import copy
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import remove_www

from spacemanager.responses import no_organization_response
from tenants.models import Domain, Organization

# hostname -> (expires at on the monotonic clock, the active organization). Per process: every request on an
# organization's host needs it, and looking it up costs a query plus a `SET search_path` round trip.
_organizations_by_host: dict[str, tuple[float, Organization]] = {}
_clock = time.monotonic


def host_normalise(host: str) -> str:
    """`Alpha.LocalHost.:8000` -> `alpha.localhost`: the form Domain rows are stored in.

    Django's ALLOWED_HOSTS check already accepts any case and a trailing dot (RFC 1034 absolute names), so
    routing must too, or those hosts would get the "no organization here" 404. IPv6 literals keep brackets.
    """
    domain, _port = split_domain_port(host)
    return remove_www(domain)


def organization_for_host(hostname: str) -> Organization:
    """The active organization served at `hostname`; raises Domain.DoesNotExist for unknown or inactive ones.

    Found organizations are remembered for TENANT_CACHE_SECONDS in this process. Saving or deleting an
    organization or a domain empties this process's cache at once (tenants.signals); other processes notice
    within TENANT_CACHE_SECONDS, which bounds how long a deactivated organization's host keeps answering.
    Each caller gets its own copy, so a request that changes its `request.tenant` never changes another's.
    """
    ttl = settings.TENANT_CACHE_SECONDS
    now = _clock()
    cached = _organizations_by_host.get(hostname)
    if cached is not None and cached[0] > now:
        return copy.copy(cached[1])
    domain = Domain.objects.select_related("tenant").get(domain=hostname)
    if not domain.tenant.is_active:
        _organizations_by_host.pop(hostname, None)
        raise Domain.DoesNotExist
    if ttl > 0:
        _organizations_by_host[hostname] = (now + ttl, copy.copy(domain.tenant))
    return domain.tenant


def forget_organization_hosts() -> None:
    """Empty this process's host cache (an organization or domain changed)."""
    _organizations_by_host.clear()


class OrganizationMiddleware(TenantMainMiddleware):
    """Route by host; an unknown or deactivated organization's host gets a clean 404 (JSON under /api/)."""

    @staticmethod
    def hostname_from_request(request: HttpRequest) -> str:
        return host_normalise(request.get_host())

    def get_tenant(self, domain_model, hostname):
        return organization_for_host(hostname)

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        return no_organization_response(request)
