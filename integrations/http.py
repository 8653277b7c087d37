"""Posting to integrators' URLs without letting them reach our own network (SSRF).

A webhook URL is chosen by a customer, and the worker that calls it sits inside our network. Unless
`WEBHOOKS_ALLOW_PRIVATE_ADDRESSES` is on (development and tests, so a receiver on loopback works), every
address the host resolves to must be a public one: loopback, private, link-local (which holds the clouds'
metadata service, 169.254.169.254), shared, reserved and multicast addresses are refused. The connection then
goes to the address that was checked, never to a second lookup (a DNS answer can change in between), and
redirects are never followed: a 3xx is a failed delivery.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

USER_AGENT = "SpaceManager-Webhooks/1.0"
RESPONSE_SNIPPET_BYTES = 500


class UnsafeURL(Exception):
    """The URL may not be called: wrong scheme, no host, or an address inside a private network."""


@dataclass(frozen=True)
class PostResult:
    status: int | None
    duration_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def url_check(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL we may call; raises UnsafeURL with a message a person can act on."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise UnsafeURL("Use an http:// or https:// URL.")
    if not parts.hostname:
        raise UnsafeURL("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeURL("Put no user name or password in the URL; verify the signature instead.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURL("The URL's port is not a number between 0 and 65535.") from exc
    return parts.scheme, parts.hostname, port


def resolve(host: str, port: int) -> list[str]:
    """The addresses to connect to, checked; raises UnsafeURL."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"The host {host} could not be resolved.") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        refused = [a for a in addresses if not _is_public(ipaddress.ip_address(a.split("%")[0]))]
        if refused:
            raise UnsafeURL(f"{host} resolves to an address inside a private network ({refused[0]}); use a public URL.")
    return addresses


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
    """POST `body` to `url`; never raises for network trouble: the result says what happened."""
    started = time.monotonic()

    def result(status: int | None, error: str = "") -> PostResult:
        return PostResult(status=status, duration_ms=round((time.monotonic() - started) * 1000), error=error)

    try:
        scheme, host, port = url_check(url)
        address = resolve(host, port)[0]
    except UnsafeURL as exc:
        return result(None, str(exc))
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if scheme == "https" else 80
    all_headers = {
        **headers,
        "Host": host if port == default_port else f"{host}:{port}",
        "User-Agent": USER_AGENT,
    }
    options = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False, "maxsize": 1}
    if scheme == "https":
        # Connect to the checked address, but verify the certificate against the host name.
        pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=host, assert_hostname=host, **options)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **options)
    try:
        response = pool.urlopen(
            "POST",
            target,
            body=body,
            headers=all_headers,
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            response.read(RESPONSE_SNIPPET_BYTES)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        return result(None, f"Could not deliver: {reason}"[:500])
    finally:
        pool.close()
    if 300 <= response.status < 400:
        return result(response.status, "Redirects are not followed; register the final URL.")
    if not 200 <= response.status < 300:
        return result(response.status, f"The receiver answered {response.status}.")
    return result(response.status)
