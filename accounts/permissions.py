from rest_framework.permissions import BasePermission

from accounts.access import is_manager, request_membership


class IsOrganizationMember(BasePermission):
    """Authenticated and a member of the organization whose host serves the request."""

    message = "You are not a member of this organization."

    def has_permission(self, request, view) -> bool:
        return request.user.is_authenticated and request_membership(request._request) is not None


class IsOrganizationManager(IsOrganizationMember):
    """Owners and admins."""

    message = "Only owners and admins of this organization can do this."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and is_manager(request_membership(request._request))
