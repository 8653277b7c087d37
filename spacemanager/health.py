import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# A probe must answer fast even when Redis is gone: fail after half a second rather than hang.
BROKER_TIMEOUT_SECONDS = 0.5


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        return "unavailable"


def broker_status() -> str:
    """Redis carries every background task (emails, reminders): without it they wait or are lost."""
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL,
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
        socket_timeout=BROKER_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
        return "ok"
    except (redis.RedisError, OSError):
        return "unavailable"
    finally:
        client.close()


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_status(), "broker": broker_status()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503)


class HealthCheckMiddleware:
    """Answer /health before tenant routing, so the probe works on every host and even with the database down."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/health":
            return health(request)
        return self.get_response(request)
