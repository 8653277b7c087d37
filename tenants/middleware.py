from django.http import HttpRequest, HttpResponse
from django_tenants.middleware.main import TenantMainMiddleware

from spacemanager.responses import not_found_response


class OrganizationMiddleware(TenantMainMiddleware):
    """Route by host; an unknown or deactivated organization's host gets a clean 404 (JSON under /api/)."""

    def get_tenant(self, domain_model, hostname):
        domain = domain_model.objects.select_related("tenant").get(domain=hostname)
        if not domain.tenant.is_active:
            raise domain_model.DoesNotExist
        return domain.tenant

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        return not_found_response(request, "No organization lives at this address.")
