"""Rate limits for HTML views, sharing the API throttles' scopes, rates and counters.

The API uses DRF's ScopedRateThrottle (`throttle_scope = "register"`); pages call `rate_limit_refusal`. Both
count in the same cache entry per scope and client address, so alternating between a page and the API gains an
attacker nothing. Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (THROTTLE_RATE_* variables).

Logins are limited differently, by counting failures (accounts/login_limits.py); `rate_limited_response` is
their 429 page too.
"""

import math

from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import SimpleRateThrottle

from spacemanager.responses import error_response


class ScopeThrottle(SimpleRateThrottle):
    """ScopedRateThrottle's counting for one named scope, keyed by client address (anonymous pages) or `ident`."""

    def __init__(self, scope: str, ident: str | None = None) -> None:
        self.scope = scope
        self.ident = ident
        super().__init__()

    def get_cache_key(self, request, view) -> str:
        # By address: the same key ScopedRateThrottle uses for anonymous API requests.
        return self.cache_format % {"scope": self.scope, "ident": self.ident or self.get_ident(request)}


def rate_limit_check(request: HttpRequest, *, scope: str, ident: str | None = None) -> int | None:
    """Count one attempt; None when allowed, otherwise the seconds to wait before trying again."""
    throttle = ScopeThrottle(scope, ident)
    if throttle.allow_request(request, None):
        return None
    return max(1, math.ceil(throttle.wait() or 1))


def wait_in_words(retry_after: int) -> str:
    return f"{retry_after} seconds" if retry_after < 120 else f"{math.ceil(retry_after / 60)} minutes"


def rate_limited_response(request: HttpRequest, retry_after: int, *, what: str = "attempts") -> HttpResponse:
    response = error_response(
        request,
        status=429,
        detail=f"Too many {what}. Please try again in {wait_in_words(retry_after)}.",
        code="throttled",
        template="429.html",
    )
    response["Retry-After"] = str(retry_after)
    return response


def rate_limit_refusal(request: HttpRequest, *, scope: str) -> HttpResponse | None:
    """For pages that accept input worth guessing (sign-up, password reset): call once, before looking at it.
    None lets the request through; otherwise a 429 page with Retry-After."""
    retry_after = rate_limit_check(request, scope=scope)
    return None if retry_after is None else rate_limited_response(request, retry_after)
