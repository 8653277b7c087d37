"""Rate limits for HTML views, sharing the API throttles' scopes, rates and counters.

The API uses DRF's ScopedRateThrottle (`throttle_scope = "login"`); pages call `rate_limit_refusal`. Both
count in the same cache entry per scope and client address, so alternating between the login page and the
login API gains an attacker nothing. Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
(THROTTLE_RATE_* variables).
"""

import math

from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import SimpleRateThrottle

from spacemanager.responses import error_response


class ScopeThrottle(SimpleRateThrottle):
    """ScopedRateThrottle's counting for one named scope, keyed by client address (anonymous pages)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request, view) -> str:
        # The same key ScopedRateThrottle uses for anonymous API requests.
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def rate_limit_check(request: HttpRequest, *, scope: str) -> int | None:
    """Count one attempt; None when allowed, otherwise the seconds to wait before trying again."""
    throttle = ScopeThrottle(scope)
    if throttle.allow_request(request, None):
        return None
    return max(1, math.ceil(throttle.wait() or 1))


def rate_limited_response(request: HttpRequest, retry_after: int) -> HttpResponse:
    minutes = math.ceil(retry_after / 60)
    wait = f"{retry_after} seconds" if retry_after < 120 else f"{minutes} minutes"
    response = error_response(
        request,
        status=429,
        detail=f"Too many attempts. Please try again in {wait}.",
        code="throttled",
        template="429.html",
    )
    response["Retry-After"] = str(retry_after)
    return response


def rate_limit_refusal(request: HttpRequest, *, scope: str) -> HttpResponse | None:
    """For pages that accept credentials (login, sign-up, password reset, admin login): call once, before
    looking at them. None lets the request through; otherwise a 429 page with Retry-After."""
    retry_after = rate_limit_check(request, scope=scope)
    return None if retry_after is None else rate_limited_response(request, retry_after)
