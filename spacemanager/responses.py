"""Error pages and their JSON twins: /api/ callers get JSON, people get a page."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path == "/health"


def error_response(request: HttpRequest, *, status: int, detail: str, code: str, template: str) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": detail, "code": code}, status=status)
    body = loader.render_to_string(template, {"detail": detail}, request=None)
    return HttpResponse(body, status=status)


def not_found_response(request: HttpRequest, detail: str = "Not found.") -> HttpResponse:
    return error_response(request, status=404, detail=detail, code="not_found", template="404.html")


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


def handler500(request: HttpRequest) -> HttpResponse:
    return error_response(
        request,
        status=500,
        detail="Something went wrong on our side; it has been logged. Please try again.",
        code="server_error",
        template="500.html",
    )


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, status=400, detail="Bad request.", code="bad_request", template="400.html")
