"""Who may do what: the checks every interface (API, pages, admin) shares.

`request.membership` is the caller's Membership in the organization of the current host, or None. It is set
lazily for session users (first call) and by the API's authentication classes for token users.
"""

from django.http import HttpRequest

from accounts.models import Membership
from accounts.selectors import membership_get


def request_membership(request: HttpRequest) -> Membership | None:
    if not hasattr(request, "_cached_membership"):
        tenant = getattr(request, "tenant", None)
        user = getattr(request, "user", None)
        request._cached_membership = (
            membership_get(user=user, organization=tenant) if tenant is not None and user is not None else None
        )
    return request._cached_membership


def set_request_membership(request: HttpRequest, membership: Membership | None) -> None:
    request._cached_membership = membership


def is_manager(membership: Membership | None) -> bool:
    return membership is not None and membership.is_manager
