"""Invitations: the one way a person joins an organization someone else runs. Every rule about them is here.

An owner or admin invites an address with a role (only owners invite owners). The person gets an emailed
link to `<organization's site>/invitations/<token>/`; a new person sets their name and password there, a
person with an account confirms with it. Nothing about an existing account is shown to the organization
before the person accepts, and the answer to an invitation is the same whether or not the address has an
account.

The token is random and only its SHA-256 is stored. It reaches the email task as an argument (the broker
holds it until the email is sent), because nothing stored can rebuild it.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Membership, User
from accounts.services import _require_can_manage, password_check, user_create
from integrations.events import member_changed
from spacemanager.celery import enqueue_on_commit
from spacemanager.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from spacemanager.mail import build_email, send_once
from tenants.idempotency import OnceKey
from tenants.models import Organization

TENANT_URLCONF = "spacemanager.urls_tenant"
EMAIL_KIND = "invitation_email"


class InvitationGone(DomainError):
    """The link was valid once but cannot be used any more: accepted, revoked or expired (410)."""

    http_status = 410


@dataclass(frozen=True)
class IssuedInvitation:
    """An invitation with the token of its link, known only at the moment it is made."""

    invitation: Invitation
    token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def _expiry(now: datetime) -> datetime:
    return now + timedelta(days=settings.INVITATION_EXPIRY_DAYS)


def invitation_link(*, organization: Organization, token: str) -> str:
    """The emailed link, on the organization's own site (Organization.url: the host emails link to)."""
    path = reverse("accounts:invitation_accept", urlconf=TENANT_URLCONF, kwargs={"token": token})
    return organization.url().rstrip("/") + path


def _normalized(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def _queue_email(invitation: Invitation, token: str) -> None:
    from accounts import tasks

    enqueue_on_commit(tasks.invitation_email_send, invitation.pk, invitation.send_count, token)


@transaction.atomic
def invitation_create(*, actor: Membership, organization: Organization, email: str, role: str) -> IssuedInvitation:
    """Invite an address with a role and email the link once committed.

    The same for a new address and an existing account (nothing about the account is looked at beyond
    "already a member here", which the members list shows anyway). An expired invitation to the address is
    replaced; a pending one is a conflict (resend it instead).
    """
    _require_can_manage(actor, target_role=role)
    if role not in Membership.Role.values:
        raise ValidationFailed(f"Choose one of: {', '.join(Membership.Role.values)}.", field="role")
    email = _normalized(email)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member of {organization.name}.", code="already_member", field="email")
    now = timezone.now()
    open_invitations = Invitation.objects.select_for_update().filter(
        organization=organization, email__iexact=email, accepted_at=None, revoked_at=None
    )
    for existing in open_invitations:
        if existing.expires_at > now:
            raise Conflict(
                f"An invitation to {email} is already pending; resend it from the list of invitations.",
                code="already_invited",
                field="email",
            )
        existing.delete()
    token, digest = _new_token()
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                organization=organization,
                email=email,
                role=role,
                token_hash=digest,
                invited_by=actor.user,
                sent_at=now,
                expires_at=_expiry(now),
            )
    except IntegrityError as exc:  # a concurrent invitation to the same address won the race
        raise Conflict(f"An invitation to {email} is already pending.", code="already_invited", field="email") from exc
    _queue_email(invitation, token)
    return IssuedInvitation(invitation=invitation, token=token)


def _locked_open(invitation: Invitation) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was already accepted.", code="invitation_accepted")
    if invitation.revoked_at is not None:
        raise Conflict("This invitation was revoked.", code="invitation_revoked")
    return invitation


@transaction.atomic
def invitation_resend(*, actor: Membership, invitation: Invitation) -> IssuedInvitation:
    """Email a new link (the previous one stops working) with a fresh expiry; also revives an expired one."""
    _require_can_manage(actor, target_role=invitation.role)
    invitation = _locked_open(invitation)
    token, invitation.token_hash = _new_token()
    now = timezone.now()
    invitation.sent_at = now
    invitation.expires_at = _expiry(now)
    invitation.send_count += 1
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at", "send_count"])
    _queue_email(invitation, token)
    return IssuedInvitation(invitation=invitation, token=token)


@transaction.atomic
def invitation_revoke(*, actor: Membership, invitation: Invitation) -> Invitation:
    """The link stops working at once. Revoking twice changes nothing; an accepted one cannot be revoked."""
    _require_can_manage(actor, target_role=invitation.role)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was already accepted; remove the member instead.", code="invitation_accepted")
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    return invitation


def invitation_get_by_token(*, token: str, organization: Organization) -> Invitation:
    """The invitation of a link on this organization's host, whatever its state; NotFound otherwise."""
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(token_hash=token_hash(token), organization=organization)
        .first()
    )
    if invitation is None:
        raise NotFound(
            "This invitation link is not valid here. Check that you opened the latest link you were sent.",
            code="invitation_invalid",
        )
    return invitation


def invitation_check_usable(invitation: Invitation, *, now: datetime | None = None) -> None:
    """Raise the clear reason an invitation cannot be accepted any more (accepted, revoked or expired)."""
    status = invitation.status_at(now or timezone.now())
    if status == Invitation.Status.ACCEPTED:
        raise InvitationGone(
            "This invitation was already accepted. Log in to open the organization.", code="invitation_accepted"
        )
    if status == Invitation.Status.REVOKED:
        raise InvitationGone(
            "This invitation was withdrawn. Ask the person who invited you for a new one.", code="invitation_revoked"
        )
    if status == Invitation.Status.EXPIRED:
        raise InvitationGone(
            "This invitation has expired. Ask the person who invited you to send it again.", code="invitation_expired"
        )


def invitation_account_exists(invitation: Invitation) -> bool:
    """Whether the invited address has an account (shown only to the holder of the link, i.e. the person)."""
    return User.objects.with_email(invitation.email).exists()


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    organization: Organization,
    user: User | None = None,
    full_name: str = "",
    password: str | None = None,
) -> Membership:
    """Join the organization through an invitation link; returns the new membership.

    `user` is the account already proven (logged in, or its password checked by the caller); it must be the
    invited address's. Without one, the address must have no account yet: `full_name` and `password` create
    it. Accepting twice, an expired or revoked link, or the wrong account each raise, and change nothing.
    """
    invitation = invitation_get_by_token(token=token, organization=organization)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    invitation_check_usable(invitation)
    existing = User.objects.with_email(invitation.email).first()
    if user is not None:
        if not user.is_active or existing is None or existing.pk != user.pk:
            raise PermissionDenied(
                f"This invitation is for {invitation.email}, and you are signed in as {user.email}. "
                "Log out, then open the link again.",
                code="invitation_wrong_account",
            )
    elif existing is not None:
        raise PermissionDenied(
            f"{invitation.email} already has an account: sign in with it to accept.", code="login_required"
        )
    else:
        if not full_name.strip():
            raise ValidationFailed("Tell us your name.", field="full_name")
        if not password:
            raise ValidationFailed("Choose a password.", field="password")
        password_check(password=password, email=invitation.email, full_name=full_name)
        user = user_create(email=invitation.email, password=password, full_name=full_name)
    if Membership.objects.filter(user=user, organization=organization).exists():
        raise Conflict(f"You are already a member of {organization.name}.", code="already_member")
    membership = Membership.objects.create(user=user, organization=organization, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    membership.organization = organization
    member_changed(membership, "joined")  # webhooks
    return membership


def invitation_email_send(*, invitation_id: int, send_count: int, token: str) -> bool:
    """Email one sending of an invitation, once; True when sent now. A resent or closed one is skipped."""
    invitation = Invitation.objects.select_related("organization", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.send_count != send_count or invitation.status != Invitation.Status.PENDING:
        return False
    if invitation.token_hash != token_hash(token):
        return False
    organization = invitation.organization
    inviter = invitation.invited_by.get_full_name() if invitation.invited_by else "Someone"
    message = build_email(
        to=[invitation.email],
        subject=f"{inviter} invited you to {organization.name} on SpaceManager",
        template="accounts/email/invitation",
        context={
            "organization_name": organization.name,
            "inviter": inviter,
            "role": invitation.get_role_display(),
            "link": invitation_link(organization=organization, token=token),
            "expires_at": timezone.localtime(invitation.expires_at, timezone=ZoneInfo(organization.timezone)),
            "timezone_name": organization.timezone,
        },
    )
    return send_once(message, key=OnceKey(EMAIL_KIND, invitation.pk, version=str(send_count)))
