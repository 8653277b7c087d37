"""Rate limits for HTML views, sharing the API throttles' scopes, rates and counters.

The API uses DRF's ScopedRateThrottle (`throttle_scope = "login"`); pages call `rate_limit_refusal`. Both
count in the same cache entry per scope and client address, so alternating between the login page and the
login API gains an attacker nothing. Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
(THROTTLE_RATE_* variables).

Logins are also counted per account (`login_account`, keyed on the submitted email, normalised and hashed):
guessing one person's password from many addresses still meets a limit. The API adds `LoginAccountThrottle`;
login pages (and the admin login) pass the submitted email to `rate_limit_refusal`, which counts both.
"""

import hashlib
import math

from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import SimpleRateThrottle

from spacemanager.responses import error_response

LOGIN_ACCOUNT_SCOPE = "login_account"


class ScopeThrottle(SimpleRateThrottle):
    """ScopedRateThrottle's counting for one named scope, keyed by client address (anonymous pages) or `ident`."""

    def __init__(self, scope: str, ident: str | None = None) -> None:
        self.scope = scope
        self.ident = ident
        super().__init__()

    def get_cache_key(self, request, view) -> str:
        # By address: the same key ScopedRateThrottle uses for anonymous API requests.
        return self.cache_format % {"scope": self.scope, "ident": self.ident or self.get_ident(request)}


def account_ident(email: object, request: HttpRequest) -> str | None:
    """The counter key of an account on this host: the email as the login would match it, with the host's
    organization, hashed (no addresses in Redis). Per organization, so that failing logins for someone on
    another organization's host can't lock them out of their own."""
    if not isinstance(email, str) or not email.strip():
        return None
    tenant = getattr(request, "tenant", None)
    scope = tenant.schema_name if tenant is not None else ""
    return "account-" + hashlib.sha256(f"{scope}:{email.strip().lower()}".encode()).hexdigest()[:40]


class LoginAccountThrottle(SimpleRateThrottle):
    """DRF throttle for the login API: attempts per submitted email, whatever the address."""

    scope = LOGIN_ACCOUNT_SCOPE

    def get_cache_key(self, request, view) -> str | None:
        data = request.data
        ident = account_ident(data.get("email"), request._request) if hasattr(data, "get") else None
        # Without an email the request fails validation; the per-address limit still counts it.
        return None if ident is None else self.cache_format % {"scope": self.scope, "ident": ident}


def rate_limit_check(request: HttpRequest, *, scope: str, ident: str | None = None) -> int | None:
    """Count one attempt; None when allowed, otherwise the seconds to wait before trying again."""
    throttle = ScopeThrottle(scope, ident)
    if throttle.allow_request(request, None):
        return None
    return max(1, math.ceil(throttle.wait() or 1))


def login_rate_limit_check(request: HttpRequest, *, email: object) -> int | None:
    """A login attempt from a page: counted per address (`login`) and per account (`login_account`)."""
    retry_after = rate_limit_check(request, scope="login")
    ident = account_ident(email, request)
    if retry_after is None and ident is not None:
        retry_after = rate_limit_check(request, scope=LOGIN_ACCOUNT_SCOPE, ident=ident)
    return retry_after


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


def rate_limit_refusal(request: HttpRequest, *, scope: str, email: object = None) -> HttpResponse | None:
    """For pages that accept credentials (login, sign-up, password reset, admin login): call once, before
    looking at them. None lets the request through; otherwise a 429 page with Retry-After. Login pages pass
    the submitted email so that the per-account limit counts too."""
    if scope == "login":
        retry_after = login_rate_limit_check(request, email=email)
    else:
        retry_after = rate_limit_check(request, scope=scope)
    return None if retry_after is None else rate_limited_response(request, retry_after)
