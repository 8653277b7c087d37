"""Who may do what: the checks every interface (API, pages, admin) shares.

`request.membership` is the caller's Membership in the organization of the current host, or None. It is set
lazily for session users (first call) and by the API's authentication classes for token users.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

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


# Pages: one rule for who may open what, shared by every HTML view through the decorators and mixins below.

MEMBERS_ONLY = "Your account is not a member of this organization. Log out and log in with another account."
MANAGERS_ONLY = "Only the organization's owners and admins can open this page."


def forbidden_page(request: HttpRequest, detail: str) -> HttpResponse:
    """The friendly 403 page, inside the usual layout (navigation and user menu stay available)."""
    return render(request, "403.html", {"detail": detail}, status=403)


def page_access_refusal(request: HttpRequest, *, managers_only: bool = False) -> HttpResponse | None:
    """None when the caller may open the page; otherwise the login redirect (anonymous) or a 403 page.

    An authenticated person who is not a member gets a 403 rather than the login form, which would otherwise
    send them straight back here.
    """
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    membership = request_membership(request)
    if membership is None:
        return forbidden_page(request, MEMBERS_ONLY)
    if managers_only and not membership.is_manager:
        return forbidden_page(request, MANAGERS_ONLY)
    return None


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Page for members of this organization (any role)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return page_access_refusal(request) or view(request, *args, **kwargs)

    return wrapped


def manager_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Page for the organization's owners and admins; members get a 403 page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return page_access_refusal(request, managers_only=True) or view(request, *args, **kwargs)

    return wrapped


class MemberRequiredMixin:
    """Class-based twin of `member_required`."""

    managers_only = False

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        refusal = page_access_refusal(request, managers_only=self.managers_only)
        return refusal or super().dispatch(request, *args, **kwargs)


class ManagerRequiredMixin(MemberRequiredMixin):
    """Class-based twin of `manager_required`."""

    managers_only = True
