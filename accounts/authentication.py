"""API authentication that never lets one organization's credentials work on another's host."""

import threading
from functools import cache

from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.access import request_membership, set_request_membership
from accounts.models import Membership, User
from accounts.tokens import ORGANIZATION_CLAIM, token_issued_at
from spacemanager import rawsql


class WrongOrganization(exceptions.AuthenticationFailed):
    default_detail = _("This token belongs to another organization; log in on this organization's host.")
    default_code = "token_wrong_organization"


class NotAMember(exceptions.AuthenticationFailed):
    default_detail = _("This account is inactive or no longer a member of this organization.")
    default_code = "not_a_member"


class TokenEnded(exceptions.AuthenticationFailed):
    default_detail = _("This token was ended by a logout, a new password or a deactivation; log in again.")
    default_code = "token_ended"


def membership_for_token(token, organization) -> Membership:
    """Check the token's organization claim against the host and load the live membership in one query; a token
    issued before the person's `tokens_valid_after` is refused."""
    if organization is None or organization.is_public or token.get(ORGANIZATION_CLAIM) != organization.pk:
        raise WrongOrganization()
    # Every request, never cached: removing a member or deactivating a person takes effect at once.
    user_id = token.get(api_settings.USER_ID_CLAIM)
    if not isinstance(user_id, int) and not (isinstance(user_id, str) and user_id.isdigit()):
        raise NotAMember()
    with connection.cursor() as cursor:
        cursor.execute(_membership_sql(), [int(user_id), organization.pk])
        row = cursor.fetchone()
    if row is None:
        raise NotAMember()
    split = rawsql.width(Membership)
    membership = rawsql.build(Membership, row[:split])
    membership.user = rawsql.build(User, row[split:])
    # A column of the row just read: ending a person's tokens costs no query on any request.
    valid_after = membership.user.tokens_valid_after
    if valid_after is not None:
        issued_at = token_issued_at(token)
        if issued_at is None or issued_at < valid_after:
            raise TokenEnded()
    membership.organization = organization  # the host's organization: no join for a row we already hold
    return membership


@cache
def _membership_sql() -> str:
    """The membership with its user, as `select_related("user")` reads it: fixed SQL, compiled by nobody."""
    return (
        f"SELECT {rawsql.columns(Membership, 'm')}, {rawsql.columns(User, 'u')} "  # noqa: S608 - names from the models
        f'FROM "{Membership._meta.db_table}" m JOIN "{User._meta.db_table}" u ON u."id" = m."user_id" '
        'WHERE m."user_id" = %s AND m."organization_id" = %s AND u."is_active"'
    )


# Raw access token -> its payload, once its signature and claims were verified (per process, bounded). Decoding a
# JWT (PyJWT's alphabet check, base64 and JSON of each segment) was about a tenth of a cached availability
# request's CPU, and an integration sends the same token for its whole life. The signature is a pure function
# of the token's bytes and the signing key, so it is checked once; the claims that change with time (expiry)
# are checked on every use, and whether the person may still use it (membership, tokens_valid_after) is read
# from the database on every request, as before.
VERIFIED_TOKENS_MAX = 4096
_verified_payloads: dict[bytes, dict] = {}
_verified_payloads_lock = threading.Lock()


@receiver(setting_changed)
def forget_verified_tokens(*, setting: str = "SIMPLE_JWT", **kwargs) -> None:
    """A new signing key or token settings (tests change them) make every earlier verification moot."""
    if setting in ("SIMPLE_JWT", "SECRET_KEY"):
        with _verified_payloads_lock:
            _verified_payloads.clear()


class OrganizationJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> AccessToken:
        """simplejwt's validation, run once per token: later uses rebuild the token from the verified payload
        and check it again (expiry, id and type claims, exactly as simplejwt's `verify`). Anything that fails
        there is validated afresh by simplejwt, so errors answer exactly as before."""
        payload = _verified_payloads.get(raw_token)
        if payload is not None:
            token = AccessToken.__new__(AccessToken)
            token.token, token.current_time, token.payload = raw_token, aware_utcnow(), dict(payload)
            try:
                token.verify()
                return token
            except TokenError:
                with _verified_payloads_lock:
                    _verified_payloads.pop(raw_token, None)
        token = super().get_validated_token(raw_token)
        if isinstance(token, AccessToken):
            with _verified_payloads_lock:
                if len(_verified_payloads) >= VERIFIED_TOKENS_MAX:
                    del _verified_payloads[next(iter(_verified_payloads))]  # the oldest
                _verified_payloads[raw_token] = dict(token.payload)
        return token

    def authenticate(self, request):
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        token = self.get_validated_token(raw_token)
        membership = membership_for_token(token, getattr(request._request, "tenant", None))
        set_request_membership(request._request, membership)
        return membership.user, token


class OrganizationSessionAuthentication(SessionAuthentication):
    """Session login (the web pages, the browsable API), accepted only for members of this host's organization."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        if request_membership(request._request) is None:
            return None
        return result


class TokenChallengeOnly(BaseAuthentication):
    """For the login/refresh/logout endpoints: ignores credentials, but lets failures answer 401 with a
    `WWW-Authenticate: Bearer` challenge (DRF turns 401 into 403 when no authenticator gives a header)."""

    def authenticate(self, request):
        return None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
