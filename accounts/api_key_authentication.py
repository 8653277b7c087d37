"""`Authorization: Bearer sm_…`: API keys, beside the JWT and session classes of accounts.authentication.

Listed before the JWT class, which would otherwise try (and fail) to decode a key as a token. Anything that
is not a key is left to the next class.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS

from accounts.access import set_request_membership
from accounts.api_keys import api_key_authenticate, looks_like_key


class InvalidApiKey(exceptions.AuthenticationFailed):
    default_detail = _(
        "This API key does not work here: it is unknown, revoked or expired, belongs to another organization, "
        "or its creator is no longer an active member."
    )
    default_code = "api_key_invalid"


class ReadOnlyApiKey(exceptions.PermissionDenied):
    default_detail = _("This API key is read-only: it can only read (GET, HEAD, OPTIONS).")
    default_code = "api_key_read_only"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword:
            return None
        try:
            credential = parts[1].decode()
        except UnicodeDecodeError:
            return None
        if not looks_like_key(credential):
            return None  # a JWT: the next class's business
        result = api_key_authenticate(key=credential, organization=getattr(request._request, "tenant", None))
        if result is None:
            raise InvalidApiKey()
        api_key, membership = result
        # Scopes limit the creator's role: a read-only key is refused every write, whatever the endpoint.
        if not api_key.can_write and request.method not in SAFE_METHODS:
            raise ReadOnlyApiKey()
        set_request_membership(request._request, membership)
        return membership.user, api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
