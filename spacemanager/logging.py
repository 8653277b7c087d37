"""Log context: every record carries the request id, the tenant (schema) and the user, when known.

The request id comes from django-guid (X-Request-ID, taken from the proxy when valid, generated otherwise).
The tenant is the connection's schema, right in requests, Celery tasks and commands alike. The user is
read from the current request without ever triggering a query from inside a log call.
"""

import logging
from collections.abc import Callable
from contextvars import ContextVar

from django.core.signals import request_finished
from django.db import connection
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty
from django_guid import get_guid

_current_request: ContextVar[HttpRequest | None] = ContextVar("spacemanager_current_request", default=None)


def _user_id(request: HttpRequest | None) -> int | None:
    if request is None:
        return None
    # DRF stores the user it authenticated (JWT) on the Django request too, so API requests are covered.
    user = request.__dict__.get("user")
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    return user.pk if user.is_authenticated else None


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_guid()
        record.tenant = getattr(connection, "schema_name", None)
        record.user_id = _user_id(_current_request.get())
        return True


class RequestContextMiddleware:
    """Remember the request for the log filter until the response is finished.

    Not reset when the middleware returns: Django logs 4xx/5xx responses (django.request) after the
    middleware chain, and those records need the user too. request_finished clears it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _current_request.set(request)
        return self.get_response(request)


@receiver(request_finished, dispatch_uid="spacemanager.logging.forget_request")
def _forget_request(**kwargs) -> None:
    _current_request.set(None)
