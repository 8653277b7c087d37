"""API keys for integrators: creating, revoking, and the one check every request with a key goes through.

A key is `sm_` plus 43 random URL-safe characters. It is shown once, when it is made; only its SHA-256 is
stored (a random 256-bit secret needs no slow hash: nobody can guess it from the digest). A key acts as its
creator with the creator's role at the time of the request, limited by its scopes: `read` allows only safe
methods, `write` everything the role allows.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiKey, Membership
from spacemanager.errors import PermissionDenied, ValidationFailed
from tenants.models import Organization

KEY_PREFIX = "sm_"
SHOWN_PREFIX_LENGTH = 10  # "sm_" and 7 random characters: enough to tell keys apart, useless to an attacker
# last_used_at is written at most this often per key: reading it needs no write on every request.
LAST_USED_PRECISION = timedelta(minutes=1)
SCOPE_SETS = {(ApiKey.Scope.READ,), (ApiKey.Scope.READ, ApiKey.Scope.WRITE)}


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    key: str


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX)


def _require_manager(actor: Membership) -> None:
    if not actor.is_manager:
        raise PermissionDenied("Only owners and admins manage API keys.")


def _scopes(scopes: list[str]) -> list[str]:
    chosen = tuple(sorted(set(scopes), key=[ApiKey.Scope.READ, ApiKey.Scope.WRITE].index))
    if any(scope not in ApiKey.Scope.values for scope in scopes) or chosen not in SCOPE_SETS:
        raise ValidationFailed('Choose ["read"] or ["read", "write"].', field="scopes")
    return list(chosen)


@transaction.atomic
def api_key_create(
    *,
    actor: Membership,
    organization: Organization,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> IssuedKey:
    """A new key for `actor` (owners and admins); the answer holds the key, which is never shown again."""
    _require_manager(actor)
    name = name.strip()
    if not name:
        raise ValidationFailed("Give the key a name that says who uses it.", field="name")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("The expiry must be in the future.", field="expires_at")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        organization=organization,
        created_by=actor.user,
        name=name,
        scopes=_scopes(scopes),
        prefix=key[:SHOWN_PREFIX_LENGTH],
        key_hash=key_hash(key),
        expires_at=expires_at,
    )
    return IssuedKey(api_key=api_key, key=key)


@transaction.atomic
def api_key_revoke(*, actor: Membership, api_key: ApiKey) -> ApiKey:
    """The key stops working at once. Revoking twice changes nothing."""
    _require_manager(actor)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, key: str, organization: Organization | None) -> tuple[ApiKey, Membership] | None:
    """The key and its creator's live membership on this host, or None when the key does not work here
    (unknown, revoked, expired, another organization's, or its creator left or was deactivated)."""
    if organization is None or organization.is_public:
        return None
    now = timezone.now()
    api_key = (
        ApiKey.objects.filter(key_hash=key_hash(key), organization=organization, revoked_at=None)
        .filter(Q(expires_at=None) | Q(expires_at__gt=now))
        .first()
    )
    if api_key is None:
        return None
    membership = (
        Membership.objects.select_related("user")
        .filter(user_id=api_key.created_by_id, organization=organization, user__is_active=True)
        .first()
    )
    if membership is None:
        return None
    membership.organization = organization
    if api_key.last_used_at is None or api_key.last_used_at <= now - LAST_USED_PRECISION:
        # Conditional, so that concurrent requests write it once.
        ApiKey.objects.filter(pk=api_key.pk).filter(
            Q(last_used_at=None) | Q(last_used_at__lte=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key, membership
