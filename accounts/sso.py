"""Single sign-on with OpenID Connect, per organization. Every SSO rule lives here.

The protocol is Authlib's (authorization code flow with PKCE S256, `state` and `nonce` kept in the session,
the ID token's signature checked against the issuer's published keys, and its issuer, audience, expiry and
nonce validated). This module decides who may come in:

- only an address whose email the provider says is verified, in one of the provider's allowed domains;
- a first sign-in creates the account and a membership with the provider's role;
- an address that already has an account but is not a member here is refused (it joins by invitation):
  otherwise an owner who controls an identity provider could open anyone's account in their organization;
- a session opened through SSO stays in its organization (accounts.profile_views refuses to switch), for the
  same reason;
- with the organization's policy "SSO required", only owners may still log in with a password.
"""

import base64
import hashlib
import logging
from dataclasses import dataclass

from authlib.common.security import is_secure_transport
from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from joserfc.errors import JoseError
from requests import RequestException

from accounts.models import Membership, SsoPolicy, SsoProvider, User
from accounts.services import user_create
from integrations.events import member_changed
from spacemanager.errors import DomainError, PermissionDenied, ValidationFailed
from tenants.models import Organization

logger = logging.getLogger(__name__)
SESSION_KEY = "sso_provider_id"  # set on sessions opened through SSO
SCOPES = "openid email profile"
ROLES_BY_SSO = (Membership.Role.MEMBER, Membership.Role.ADMIN)  # owners are made by owners, never by an IdP


class SsoRefused(DomainError):
    """The provider answered, but this person may not come in this way (403)."""

    http_status = 403


class SsoFailed(DomainError):
    """The exchange with the provider failed or its answer did not verify (502 when it is unreachable)."""

    http_status = 400


# Secrets at rest


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"sso-client-secret:{settings.FIELD_ENCRYPTION_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SsoFailed(
            "This provider's client secret cannot be read (the encryption key changed). An owner must enter it again.",
            code="sso_secret_unreadable",
        ) from exc


# Configuration (owners)


def _require_owner(actor: Membership) -> None:
    if not actor.is_owner:
        raise PermissionDenied("Only owners configure single sign-on.")


def _domains(domains: list[str]) -> list[str]:
    cleaned = sorted({domain.strip().lower().lstrip("@") for domain in domains if domain.strip()})
    if not cleaned:
        raise ValidationFailed("Name at least one email domain, e.g. example.com.", field="allowed_domains")
    for domain in cleaned:
        if "." not in domain or "@" in domain or " " in domain:
            raise ValidationFailed(f"“{domain}” is not an email domain (e.g. example.com).", field="allowed_domains")
    return cleaned


def _issuer(issuer: str) -> str:
    issuer = issuer.strip().rstrip("/")
    if not is_secure_transport(issuer):
        raise ValidationFailed("The issuer must be an https:// address.", field="issuer")
    return issuer


@transaction.atomic
def sso_provider_create(
    *,
    actor: Membership,
    organization: Organization,
    name: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    allowed_domains: list[str],
    role: str = Membership.Role.MEMBER,
) -> SsoProvider:
    _require_owner(actor)
    if role not in ROLES_BY_SSO:
        raise ValidationFailed("People who join through single sign-on are members or admins.", field="role")
    for field, value in (("name", name), ("client_id", client_id), ("client_secret", client_secret)):
        if not value.strip():
            raise ValidationFailed("This field is required.", field=field)
    return SsoProvider.objects.create(
        organization=organization,
        name=name.strip(),
        issuer=_issuer(issuer),
        client_id=client_id.strip(),
        client_secret_encrypted=secret_encrypt(client_secret.strip()),
        allowed_domains=_domains(allowed_domains),
        role=role,
    )


@transaction.atomic
def sso_provider_delete(*, actor: Membership, provider: SsoProvider) -> None:
    _require_owner(actor)
    provider.delete()


@transaction.atomic
def sso_policy_set(*, actor: Membership, organization: Organization, sso_required: bool) -> SsoPolicy:
    _require_owner(actor)
    if sso_required and not SsoProvider.objects.filter(organization=organization, is_active=True).exists():
        raise ValidationFailed("Add a provider before requiring single sign-on.", field="sso_required")
    policy, _ = SsoPolicy.objects.update_or_create(organization=organization, defaults={"sso_required": sso_required})
    return policy


def sso_providers_for_login(*, organization: Organization):
    return SsoProvider.objects.filter(organization=organization, is_active=True)


def sso_required(*, organization: Organization) -> bool:
    return SsoPolicy.objects.filter(organization=organization, sso_required=True).exists()


def password_login_refusal(membership: Membership) -> str | None:
    """Why this member may not log in with a password here (SSO required and not an owner), or None."""
    if membership.is_owner or not sso_required(organization=membership.organization):
        return None
    names = ", ".join(provider.name for provider in sso_providers_for_login(organization=membership.organization))
    return f"{membership.organization.name} requires single sign-on: use “Sign in with {names}”."


# The flow


def sso_client(provider: SsoProvider) -> DjangoOAuth2App:
    """Authlib's client for this provider; it reads the issuer's discovery document for its endpoints."""
    return OAuth().register(
        name=f"sso-{provider.pk}",
        client_id=provider.client_id,
        client_secret=secret_decrypt(provider.client_secret_encrypted),
        server_metadata_url=f"{provider.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPES, "code_challenge_method": "S256", "timeout": 10},
    )


def sso_authorize_redirect(*, provider: SsoProvider, request, redirect_uri: str):
    """The redirect to the provider; Authlib keeps state, nonce and the PKCE verifier in the session."""
    try:
        return sso_client(provider).authorize_redirect(request, redirect_uri)
    except (RequestException, OAuthError, ValueError, KeyError) as exc:
        logger.warning("SSO start with provider %s failed: %s", provider.pk, exc)
        raise SsoFailed(
            f"{provider.name} cannot be reached right now. Try again in a moment.", code="sso_unreachable"
        ) from exc


@dataclass(frozen=True)
class SsoIdentity:
    email: str
    email_verified: bool
    full_name: str


def sso_identity_from_callback(*, provider: SsoProvider, request) -> SsoIdentity:
    """Finish the code flow: check the state, trade the code (with the PKCE verifier), verify the ID token.

    The email comes from the verified ID token, or from the userinfo endpoint when the token leaves it out.
    """
    client = sso_client(provider)
    try:
        token = client.authorize_access_token(request)
        claims = dict(token.get("userinfo") or {})
        if not claims:
            raise SsoFailed(f"{provider.name} sent no ID token.", code="sso_no_id_token")
        if "email" not in claims:
            userinfo = client.userinfo(token=token)
            if userinfo.get("sub") != claims.get("sub"):
                raise SsoFailed(f"{provider.name} described another person.", code="sso_subject_mismatch")
            claims.update(userinfo)
    except OAuthError as exc:
        if exc.error == "mismatching_state":
            raise SsoFailed(
                "This sign-in was not started here or has already been used. Start again from the login page.",
                code="sso_state_mismatch",
            ) from exc
        raise SsoFailed(f"{provider.name} refused the sign-in ({exc.error}).", code="sso_provider_error") from exc
    except JoseError as exc:
        logger.warning("SSO ID token from provider %s did not verify: %s", provider.pk, exc)
        raise SsoFailed(f"{provider.name}'s answer did not verify.", code="sso_invalid_id_token") from exc
    except RequestException as exc:
        raise SsoFailed(f"{provider.name} cannot be reached right now.", code="sso_unreachable") from exc
    return SsoIdentity(
        email=str(claims.get("email") or "").strip().lower(),
        email_verified=claims.get("email_verified") is True,
        full_name=str(claims.get("name") or "").strip()[:150],
    )


@transaction.atomic
def sso_sign_in(*, provider: SsoProvider, identity: SsoIdentity) -> Membership:
    """The membership a verified identity signs in to: an existing one, or a new account and membership."""
    organization = provider.organization
    if not identity.email or not identity.email_verified:
        raise SsoRefused(f"{provider.name} did not confirm your email address.", code="sso_email_unverified")
    domain = identity.email.rpartition("@")[2]
    if domain not in provider.allowed_domains:
        raise SsoRefused(
            f"Addresses at {domain} cannot join {organization.name} through {provider.name}. "
            "Ask an owner or admin for an invitation.",
            code="sso_domain_not_allowed",
        )
    user = User.objects.with_email(identity.email).first()
    if user is not None:
        if not user.is_active:
            raise SsoRefused("This account is deactivated.", code="sso_account_inactive")
        membership = Membership.objects.filter(user=user, organization=organization).first()
        if membership is None:
            raise SsoRefused(
                f"{identity.email} already has a SpaceManager account. To join {organization.name}, ask an "
                "owner or admin for an invitation; after that you can sign in here with "
                f"{provider.name}.",
                code="sso_existing_account",
            )
        return membership
    user = user_create(email=identity.email, password=None, full_name=identity.full_name)
    membership = Membership.objects.create(user=user, organization=organization, role=provider.role)
    member_changed(membership, "joined")  # webhooks
    return membership
