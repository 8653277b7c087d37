"""JWTs bound to one organization: every token carries the organization's id in the `org` claim."""

from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Membership

ORGANIZATION_CLAIM = "org"


def tokens_for_membership(membership: Membership) -> dict[str, str]:
    refresh = RefreshToken.for_user(membership.user)
    refresh[ORGANIZATION_CLAIM] = membership.organization_id
    # simplejwt copies custom claims from the refresh token into the access token it derives.
    return {"access": str(refresh.access_token), "refresh": str(refresh)}
