"""The person's own settings (name, notification choices), their organizations, and "find my organization".

Everything here acts on the signed-in person only; nobody else's account is ever read or written.
"""

import hashlib

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import REMINDER_LEAD_CHOICES, Membership, User
from spacemanager.celery import enqueue_on_commit
from spacemanager.errors import ValidationFailed
from spacemanager.mail import build_email, send_once
from tenants.idempotency import OnceKey

FIND_KIND = "find_organizations"
LEAD_VALUES = {minutes for minutes, _ in REMINDER_LEAD_CHOICES}


@transaction.atomic
def profile_update(
    *,
    user: User,
    full_name: str,
    reminder_lead_minutes: int,
    email_booking_updates: bool,
    email_approval_requests: bool,
) -> User:
    full_name = full_name.strip()
    if not full_name:
        raise ValidationFailed("Tell us your name.", field="full_name")
    if reminder_lead_minutes not in LEAD_VALUES:
        choices = ", ".join(str(value) for value in sorted(LEAD_VALUES))
        raise ValidationFailed(f"Choose one of: {choices} minutes (0 is off).", field="reminder_lead_minutes")
    user.full_name = full_name
    user.reminder_lead_minutes = reminder_lead_minutes
    user.email_booking_updates = email_booking_updates
    user.email_approval_requests = email_approval_requests
    user.save(update_fields=["full_name", "reminder_lead_minutes", "email_booking_updates", "email_approval_requests"])
    return user


def memberships_of(*, user: User):
    """The person's memberships in active organizations, by organization name (the "My organizations" list)."""
    return (
        Membership.objects.select_related("organization")
        .filter(user=user, user__is_active=True, organization__is_active=True)
        .exclude(organization__schema_name=settings.PUBLIC_SCHEMA_NAME)
        .order_by("organization__name", "organization__slug")
    )


def _email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]


def find_organizations_request(*, email: str) -> None:
    """Email the address the sites of its organizations, from a worker. The caller answers the same whether
    or not the address is known: the task decides, and sends nothing to an unknown one."""
    from accounts import tasks

    enqueue_on_commit(tasks.find_organizations_send, email.strip().lower())


def find_organizations_send(*, email: str) -> bool:
    """At most one email per address per hour, however often the form is sent (no mail-bombing)."""
    user = User.objects.with_email(email).filter(is_active=True).first()
    if user is None:
        return False
    memberships = list(memberships_of(user=user))
    if not memberships:
        return False
    message = build_email(
        to=[user.email],
        subject="Your organizations on SpaceManager",
        template="accounts/email/find_organizations",
        context={
            "name": user.get_short_name(),
            "sites": [(m.organization.name, m.organization.url() + "login/") for m in memberships],
        },
    )
    hour = timezone.now().strftime("%Y-%m-%dT%H")
    return send_once(message, key=OnceKey(FIND_KIND, _email_digest(email), version=hour))
