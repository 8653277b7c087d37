"""Login limits for every interface that takes a password (API, login page, admin login): one policy.

Failures are counted, successes never are: colleagues who log in from one office address are not held back
however many they are. Three counters, in the default cache (Redis; it fails open, see spacemanager/cache.py):

- per account and address, tightly (`login_account_address`, 5 failures per 15 minutes): a guesser at one
  address is stopped quickly;
- per address, whatever the account (`login`, 10 failures a minute): spraying many accounts from one address;
- per account, whatever the address, with exponential backoff: after LOGIN_BACKOFF_AFTER_FAILURES failures in a
  day each further failure doubles the wait (1 s, 2 s, 4 s … up to LOGIN_BACKOFF_MAX_SECONDS) — a guess
  spread over many addresses. It does not apply at an address from which the account logged in successfully in
  the last LOGIN_TRUSTED_ADDRESS_DAYS: a stranger's failures never lock the person out at their own address.

A refused attempt is not evaluated (and not counted): the password is not even checked.
"""

import hashlib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

from accounts.models import User

T = TypeVar("T")

ACCOUNT_WINDOW_SECONDS = 24 * 3600
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class LoginThrottled(Exception):
    """Too many failed logins: try again in `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed logins; retry in {retry_after} s.")
        self.retry_after = retry_after


def parse_rate(rate: str) -> tuple[int, int]:
    """`"10/minute"` (DRF's format) or `"5/15m"` → (count, seconds)."""
    match = _RATE.match(rate)
    if match is None:
        raise ValueError(f"Not a rate: {rate!r} (e.g. 10/minute or 5/15m).")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * _UNIT_SECONDS[unit]


def _digest(*parts: str) -> str:
    # Counter keys never hold an email or an address in clear.
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:40]


def client_address(request: HttpRequest) -> str:
    """The address DRF's throttles use (REMOTE_ADDR, or X-Forwarded-For behind NUM_PROXIES proxies)."""
    return BaseThrottle().get_ident(request)


@dataclass(frozen=True)
class _Keys:
    address: str
    pair: str
    account: str
    trusted: str


def _keys(request: HttpRequest, email: str) -> _Keys:
    # Per organization host: failing logins on another organization's host cannot lock someone out here.
    tenant = getattr(request, "tenant", None)
    scope = tenant.schema_name if tenant is not None else ""
    account = _digest(scope, email.strip().lower())
    address = client_address(request)
    pair = _digest(account, address)
    return _Keys(
        address=f"login:address:{_digest(address)}",
        pair=f"login:pair:{pair}",
        account=f"login:account:{account}",
        trusted=f"login:trusted:{pair}",
    )


def _window(base: str, period: int, now: float) -> tuple[str, float]:
    """The fixed window's counter key and the moment it ends."""
    index = int(now // period)
    return f"{base}:{period}:{index}", (index + 1) * period


def _count_up(key: str, timeout: int) -> None:
    try:
        if not cache.add(key, 1, timeout):
            cache.incr(key)
    except ValueError:  # expired between add and incr, or the cache is unavailable (fails open)
        pass


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


def login_retry_after(request: HttpRequest, *, email: str) -> int | None:
    """None when a login attempt for `email` from this client may be evaluated, else the seconds to wait."""
    return _retry_after_and_counters(request, email=email)[0]


def _retry_after_and_counters(request: HttpRequest, *, email: str) -> tuple[int | None, dict]:
    """`login_retry_after`, and the counters it read (so a success need not delete one that isn't there)."""
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    keys = _keys(request, email)
    now = time.time()
    windows = []
    for base, rate in ((keys.pair, rates["login_account_address"]), (keys.address, rates["login"])):
        limit, period = parse_rate(rate)
        windows.append((limit, *_window(base, period, now)))
    # One round trip to the cache for every counter.
    values = cache.get_many([key for _, key, _ in windows] + [keys.account, f"{keys.account}:last", keys.trusted])
    waits = [ends_at - now for limit, key, ends_at in windows if values.get(key, 0) >= limit]
    failures = values.get(keys.account) or 0
    beyond = failures - settings.LOGIN_BACKOFF_AFTER_FAILURES
    if beyond >= 0 and keys.trusted not in values:
        backoff = min(settings.LOGIN_BACKOFF_MAX_SECONDS, 2**beyond)
        remaining = backoff - (now - values.get(f"{keys.account}:last", now))
        if remaining > 0:
            waits.append(remaining)
    return (_seconds(max(waits)) if waits else None), values


def login_failure_record(request: HttpRequest, *, email: str) -> None:
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    keys = _keys(request, email)
    now = time.time()
    for base, rate in ((keys.pair, rates["login_account_address"]), (keys.address, rates["login"])):
        _, period = parse_rate(rate)
        _count_up(_window(base, period, now)[0], period)
    _count_up(keys.account, ACCOUNT_WINDOW_SECONDS)
    cache.set(f"{keys.account}:last", now, ACCOUNT_WINDOW_SECONDS)


def login_success_record(request: HttpRequest, *, email: str, counters: dict | None = None) -> None:
    """Remember the address as the person's own; the account's failure count stays (the attack may go on).

    `counters`: what the attempt's check read. Its pair counter is reset, unless the check found none there
    (most logins): a round trip to Redis saved.
    """
    keys = _keys(request, email)
    cache.set(keys.trusted, 1, settings.LOGIN_TRUSTED_ADDRESS_DAYS * 86400)
    _, period = parse_rate(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login_account_address"])
    pair_window = _window(keys.pair, period, time.time())[0]
    if counters is None or counters.get(pair_window):
        cache.delete(pair_window)


def login_authenticate(
    request: HttpRequest, *, email: str, password: str, accept: Callable[[User], T | None]
) -> T | None:
    """Check a password behind the limits. `accept` turns the authenticated person into what the caller needs
    (e.g. their membership on this host) or None; None from here is a failed login, and is counted.

    Raises LoginThrottled (the API answers 429, pages the 429 page, both with Retry-After).
    """
    retry_after, counters = _retry_after_and_counters(request, email=email)
    if retry_after is not None:
        raise LoginThrottled(retry_after)
    user = authenticate(request, username=email, password=password)
    accepted = accept(user) if user is not None else None
    if accepted is None:
        login_failure_record(request, email=email)
    else:
        login_success_record(request, email=email, counters=counters)
    return accepted
