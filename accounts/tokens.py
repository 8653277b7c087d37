"""JWTs bound to one organization: every token carries the organization's id in the `org` claim.

Refresh tokens are single-use: `refresh_token_rotate` spends one and issues the next pair atomically, so of
two requests racing with the same refresh token exactly one gets a new pair.
"""

import math
from datetime import datetime

from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import Membership

ORGANIZATION_CLAIM = "org"


class _IssuedAtInMilliseconds:
    """`iat` with milliseconds (RFC 7519 allows a non-integer NumericDate). A person's tokens issued before their
    `tokens_valid_after` are refused; whole seconds would either spare the token being logged out or refuse
    the one issued by a login in the same second."""

    def set_iat(self, claim: str = "iat", at_time: datetime | None = None) -> None:
        at_time = at_time or self.current_time
        self.payload[claim] = math.floor(at_time.timestamp() * 1000) / 1000


class OrganizationAccessToken(_IssuedAtInMilliseconds, AccessToken):
    pass


class OrganizationRefreshToken(_IssuedAtInMilliseconds, RefreshToken):
    access_token_class = OrganizationAccessToken


def token_issued_at(token) -> datetime | None:
    issued_at = token.get("iat")
    return datetime_from_epoch(issued_at) if isinstance(issued_at, int | float) else None


def tokens_for_membership(membership: Membership) -> dict[str, str]:
    refresh = OrganizationRefreshToken.for_user(membership.user)
    refresh[ORGANIZATION_CLAIM] = membership.organization_id
    # simplejwt copies custom claims from the refresh token into the access token it derives.
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


@transaction.atomic
def refresh_token_rotate(*, refresh: OrganizationRefreshToken, membership: Membership) -> dict[str, str]:
    """Spend `refresh` (already verified: signature, expiry, organization, membership) and issue the next pair.

    The spend is one insert into the blacklist, whose one-to-one key on the outstanding token serialises
    racing requests in PostgreSQL: the first commits, every other one finds the row and is refused with
    TokenError (a 401), never a second pair and never a 500.
    """
    jti = refresh["jti"]
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=jti,
        defaults={
            "user": membership.user,
            "created_at": token_issued_at(refresh),
            "token": str(refresh),
            "expires_at": datetime_from_epoch(refresh["exp"]),
        },
    )
    _, spent_now = BlacklistedToken.objects.get_or_create(token=outstanding)
    if not spent_now:
        raise TokenError("Token is blacklisted")
    return tokens_for_membership(membership)
