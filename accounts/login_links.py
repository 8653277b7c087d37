"""One-time login links: how a new owner crosses from the public sign-up page to their organization's host.

Sessions are per host, so the public site cannot log anyone into `<slug>.BASE_DOMAIN` directly. Sign-up
hands the browser a short-lived signed token instead; the organization's host checks the signature, the age,
the organization and the membership, burns the token in the cache (single use), then logs the person in.
"""

import secrets

from django.conf import settings
from django.core import signing
from django.core.cache import cache

from accounts.models import Membership, User
from accounts.selectors import membership_get
from tenants.models import Organization

SALT = "accounts.login-link"


def login_link_token_create(*, membership: Membership) -> str:
    payload = {"user": membership.user_id, "org": membership.organization_id, "nonce": secrets.token_urlsafe(16)}
    return signing.dumps(payload, salt=SALT, compress=True)


def login_link_token_use(*, token: str, organization: Organization) -> User | None:
    """The member the token logs in, or None when it is forged, expired, already used or for elsewhere."""
    max_age = settings.SIGNUP_LOGIN_MAX_AGE
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.BadSignature:  # also covers SignatureExpired
        return None
    if not isinstance(payload, dict) or payload.get("org") != organization.pk:
        return None
    # cache.add is atomic: of two requests with the same token, only one gets True.
    if not cache.add(f"login-link:{payload.get('nonce')}", True, timeout=max_age + 60):
        return None
    user = User.objects.filter(pk=payload.get("user")).first()
    if user is None or membership_get(user=user, organization=organization) is None:
        return None
    return user
