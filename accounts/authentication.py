"""API authentication that never lets one organization's credentials work on another's host."""

from functools import cache

from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

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


class OrganizationJWTAuthentication(JWTAuthentication):
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
