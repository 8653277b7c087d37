"""django-csp's middleware, with the site's policy built once per process instead of on every response.

Building the header (copying and joining every directive) was about 6% of a cached availability request's
CPU, and nearly every response carries the same two strings. A response or request that changes the policy
(the `csp_update`/`csp_replace`/`csp_exempt` decorators, a nonce) and the cases the library treats specially
(EXCLUDE_URL_PREFIXES, the debug pages) are left to django-csp itself, so they answer exactly as before.
"""

from functools import cache

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# Set by django-csp's decorators on a response that changes or drops the policy.
_POLICY_CHANGING_ATTRIBUTES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)


@cache
def site_policies() -> tuple[str, str]:
    """The enforced and the report-only header of the site's policy ("" for none), as django-csp builds them."""
    return build_policy(), build_policy(report_only=True)


@cache
def _excludes_prefixes() -> bool:
    policies = (settings.CONTENT_SECURITY_POLICY, settings.CONTENT_SECURITY_POLICY_REPORT_ONLY)
    return any((policy or {}).get("EXCLUDE_URL_PREFIXES") for policy in policies)


@receiver(setting_changed)
def forget_site_policies(*, setting: str = "CONTENT_SECURITY_POLICY", **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY") or setting == "DEBUG":
        site_policies.cache_clear()
        _excludes_prefixes.cache_clear()


class CSPMiddleware(LibraryCSPMiddleware):
    def process_response(self, request, response):
        if (
            (settings.DEBUG and response.status_code in (404, 500))
            or getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _POLICY_CHANGING_ATTRIBUTES)
            or _excludes_prefixes()
        ):
            return super().process_response(request, response)
        enforced, report_only = site_policies()
        if enforced and HEADER not in response:
            response[HEADER] = enforced
        if report_only and HEADER_REPORT_ONLY not in response:
            response[HEADER_REPORT_ONLY] = report_only
        # As django-csp does: a nonce asked for after the header was written is an error, not a silent gap.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
