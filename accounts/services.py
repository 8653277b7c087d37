"""Writes that concern people and their memberships. The last-owner rule lives here and only here."""

from concurrent.futures import Future

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Membership, User
from integrations.events import member_changed
from spacemanager.errors import Conflict, PermissionDenied, ValidationFailed
from tenants.models import Organization

Role = Membership.Role


def password_check(*, password: str, email: str, full_name: str = "") -> None:
    """Django's password validators, as a field error (they compare the password with the email and name)."""
    try:
        validate_password(password, user=User(email=email, full_name=full_name))
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field="password", code="weak_password") from exc


def user_create(
    *, email: str, password: str | None, full_name: str = "", password_hash: Future[str] | None = None
) -> User:
    """A new person. Without a password the account gets an unusable one until it is reset by email.

    `password_hash` is the already validated password being hashed elsewhere (see organization_register).
    """
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.with_email(email).exists():
        raise ValidationFailed("An account with this email already exists.", field="email", code="email_taken")
    if password is not None and password_hash is None:
        password_check(password=password, email=email, full_name=full_name)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=None if password_hash else password, full_name=full_name.strip()
            )
            if password_hash is not None:
                user.password = password_hash.result()
                user.save(update_fields=["password"])
            return user
    except IntegrityError as exc:
        raise ValidationFailed("An account with this email already exists.", field="email", code="email_taken") from exc
    except ValidationError as exc:
        # full_clean checks the case-insensitive email constraint too: another request created the account
        # between our check above and this one (two identical sign-ups or adds at once).
        if User.objects.with_email(email).exists():
            raise ValidationFailed(
                "An account with this email already exists.", field="email", code="email_taken"
            ) from exc
        raise ValidationFailed(" ".join(exc.messages), field="email") from exc


def _require_can_manage(actor: Membership, *, target_role: str, new_role: str | None = None) -> None:
    if not actor.is_manager:
        raise PermissionDenied("Only owners and admins manage members.")
    touches_owner = target_role == Role.OWNER or new_role == Role.OWNER
    if touches_owner and not actor.is_owner:
        raise PermissionDenied("Only owners can add, change or remove owners.")


def _lock_owners(organization: Organization) -> int:
    """Count owners while holding row locks, so two concurrent demotions cannot both pass the check."""
    owners = Membership.objects.select_for_update().filter(organization=organization, role=Role.OWNER)
    return len(list(owners.values_list("id", flat=True)))


@transaction.atomic
def member_change_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    _require_can_manage(actor, target_role=membership.role, new_role=role)
    if role not in Role.values:
        raise ValidationFailed(f"Choose one of: {', '.join(Role.values)}.", field="role")
    if membership.role == Role.OWNER and role != Role.OWNER and _lock_owners(membership.organization) <= 1:
        raise Conflict("This is the organization's last owner; make someone else an owner first.", code="last_owner")
    membership.role = role
    membership.save(update_fields=["role"])
    member_changed(membership, "updated")  # webhooks
    return membership


@transaction.atomic
def member_remove(*, actor: Membership, membership: Membership) -> None:
    _require_can_manage(actor, target_role=membership.role)
    if membership.role == Role.OWNER and _lock_owners(membership.organization) <= 1:
        raise Conflict("This is the organization's last owner; make someone else an owner first.", code="last_owner")
    member_changed(membership, "left")  # webhooks, while the membership still has its id
    membership.delete()


def user_deactivate(*, user: User) -> User:
    """People are deactivated, never deleted: tenant tables keep pointing at them (see TENANCY.md). Their API
    tokens end too, so that reactivating them later does not bring old tokens back."""
    user.is_active = False
    user.tokens_valid_after = timezone.now()
    user.save(update_fields=["is_active", "tokens_valid_after"])
    return user


def user_tokens_end(*, user_id: int) -> None:
    """Logging out of the API: every access and refresh token the person holds stops working now, on every
    device (one per-person time, checked on the membership lookup each request makes anyway)."""
    User.objects.filter(pk=user_id).update(tokens_valid_after=timezone.now())
