"""Error pages and their JSON twins: /api/ callers get JSON, people get a page."""

import sys

from django.db import DatabaseError, InterfaceError, OperationalError, ProgrammingError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

# How long a client should wait before trying again while PostgreSQL is unreachable: Django reconnects on the
# next request (CONN_HEALTH_CHECKS), so a restart is picked up by whichever request comes first.
DATABASE_RETRY_AFTER_SECONDS = 5
# SQLSTATE classes of a database that cannot be reached: 08 connection exception, 57P01-57P03 shutdown or
# not accepting connections yet. A failed connection attempt carries none. Deadlocks (40P01) and statement
# timeouts (57014) are OperationalErrors too, but the server is there: they stay 500s.
_UNREACHABLE_SQLSTATE_PREFIXES = ("08", "57P")
# A tenant table or schema that vanished under a request: the organization was deleted meanwhile.
_GONE_SQLSTATES = {"42P01", "3F000"}  # undefined_table, invalid_schema_name


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path == "/health"


def error_response(
    request: HttpRequest, *, status: int, detail: str, code: str, template: str, context: dict | None = None
) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": detail, "code": code}, status=status)
    body = loader.render_to_string(template, {"detail": detail, **(context or {})}, request=None)
    return HttpResponse(body, status=status)


def not_found_response(request: HttpRequest, detail: str = "Not found.") -> HttpResponse:
    return error_response(request, status=404, detail=detail, code="not_found", template="404.html")


def no_organization_response(request: HttpRequest) -> HttpResponse:
    """An unknown, deactivated or deleted organization's host: the way out is the public site, not this host."""
    from tenants.selectors import public_site_url_for_request

    context = {"home_url": public_site_url_for_request(request), "home_label": "Go to SpaceManager's home page"}
    return error_response(
        request,
        status=404,
        detail="No organization lives at this address.",
        code="not_found",
        template="404.html",
        context=context,
    )


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return not_found_response(request, "The page or object you asked for does not exist here.")


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(
        request,
        status=403,
        detail="You do not have permission to open this page.",
        code="permission_denied",
        template="403.html",
    )


def database_unreachable(error: BaseException | None) -> bool:
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(_UNREACHABLE_SQLSTATE_PREFIXES)


def organization_vanished(request: HttpRequest, error: BaseException | None) -> bool:
    """The request's organization (or its schema) was deleted while the request was running."""
    if not isinstance(error, ProgrammingError) or getattr(error.__cause__, "sqlstate", None) not in _GONE_SQLSTATES:
        return False
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_public:
        return False
    from django_tenants.utils import schema_exists

    from tenants.models import Organization

    try:
        connection.set_schema_to_public()
        still_there = Organization.objects.filter(pk=tenant.pk, is_active=True).exists()
        return not (still_there and schema_exists(tenant.schema_name))
    except DatabaseError:
        return False


def service_unavailable_response(request: HttpRequest) -> HttpResponse:
    response = error_response(
        request,
        status=503,
        detail="The service is briefly unavailable. Please try again in a few seconds.",
        code="service_unavailable",
        template="503.html",
    )
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def handler500(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception, so it is still the current one.
    error = sys.exc_info()[1]
    if database_unreachable(error):
        return service_unavailable_response(request)
    if organization_vanished(request, error):
        return no_organization_response(request)
    return error_response(
        request,
        status=500,
        detail="Something went wrong on our side; it has been logged. Please try again.",
        code="server_error",
        template="500.html",
    )


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, status=400, detail="Bad request.", code="bad_request", template="400.html")
