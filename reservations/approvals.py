"""Approvals that reach the approvers: who approves a space, the email about a new request, the reminder
before it expires. Deciding (confirm, decline) is a booking rule and stays in reservations.services.

A space's approvers are the owners and admins it names; a space naming none is approved by every owner and
admin. Each email goes once per version of the request (send_once), to all its approvers together.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from reservations.models import Reservation, SpaceApprover
from spacemanager.errors import PermissionDenied, ValidationFailed
from spacemanager.mail import build_email, format_local_interval, send_once
from spaces.models import Space
from tenants.idempotency import OnceKey, keys_done
from tenants.models import Organization
from tenants.selectors import organization_current

logger = logging.getLogger(__name__)
REQUEST_KIND = "approval_request"
REMINDER_KIND = "approval_reminder"
TENANT_URLCONF = "spacemanager.urls_tenant"
MANAGER_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


def _managers(organization: Organization):
    return Membership.objects.filter(organization=organization, role__in=MANAGER_ROLES, user__is_active=True)


def approver_candidates(*, organization: Organization) -> list[User]:
    """Who may be named a space's approver: the organization's active owners and admins, by name."""
    return list(User.objects.filter(pk__in=_managers(organization).values("user_id")).order_by("full_name", "email"))


def space_approver_ids(*, space: Space) -> list[int]:
    return list(SpaceApprover.objects.filter(space=space).values_list("user_id", flat=True))


@transaction.atomic
def space_approvers_set(*, actor: Membership, space: Space, user_ids: Iterable[int]) -> list[int]:
    """Name the people who approve the space's requests (owners and admins of this organization); an empty
    list means every owner and admin."""
    if not actor.is_manager:
        raise PermissionDenied("Only owners and admins choose approvers.")
    wanted = set(user_ids)
    allowed = set(_managers(actor.organization).filter(user_id__in=wanted).values_list("user_id", flat=True))
    if wanted - allowed:
        unknown = ", ".join(str(pk) for pk in sorted(wanted - allowed))
        raise ValidationFailed(
            f"Approvers must be owners or admins of this organization (not: {unknown}).", field="user_ids"
        )
    SpaceApprover.objects.filter(space=space).exclude(user_id__in=wanted).delete()
    existing = set(space_approver_ids(space=space))
    SpaceApprover.objects.bulk_create([SpaceApprover(space=space, user_id=pk) for pk in sorted(wanted - existing)])
    return sorted(wanted)


def approvers_of(reservation: Reservation, organization: Organization) -> list[User]:
    """Who is asked to decide: the space's named approvers still owners or admins here, else every one."""
    managers = _managers(organization)
    named = space_approver_ids(space=reservation.space)
    if named:
        chosen = managers.filter(user_id__in=named)
        if chosen.exists():
            managers = chosen
    people = User.objects.filter(pk__in=managers.values("user_id"), email_approval_requests=True)
    return list(people.order_by("email"))


def expires_at(*, created_at: datetime, starts_at: datetime) -> datetime:
    """When an unapproved request expires (reservations_expire_pending): its deadline, or its start."""
    return min(created_at + timedelta(minutes=settings.PENDING_EXPIRY_MINUTES), starts_at)


def _local(moment: datetime, timezone_name: str) -> str:
    local = moment.astimezone(ZoneInfo(timezone_name))
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M} ({timezone_name})"


def _link(organization: Organization, name: str, reservation: Reservation) -> str:
    path = reverse(name, urlconf=TENANT_URLCONF, kwargs={"pk": reservation.pk})
    return organization.url().rstrip("/") + path


def _message(*, reservation: Reservation, approvers: list[User], reminder: bool):
    organization = organization_current()
    booker = User.objects.filter(pk=reservation.user_id).first()
    who = booker.get_full_name() if booker else "Someone"
    when = format_local_interval(reservation.starts_at, reservation.ends_at, organization.timezone)
    deadline = expires_at(created_at=reservation.created_at, starts_at=reservation.starts_at)
    details = [("Requested by", f"{who} ({booker.email})" if booker else who), ("Space", reservation.space.name)]
    details.append(("When", when))
    if reservation.title:
        details.append(("Title", reservation.title))
    details.append(("Attendees", str(reservation.attendees)))
    heading = f"{who} asks to book {reservation.space.name}"
    if reminder:
        heading = f"Still waiting for approval: {reservation.space.name}"
    return build_email(
        to=[approver.email for approver in approvers],
        subject=f"{'Reminder: approval' if reminder else 'Approval'} needed: {reservation.space.name}, {when}",
        template="reservations/email/approval",
        context={
            "organization_name": organization.name,
            "heading": heading,
            "details": details,
            "deadline": _local(deadline, organization.timezone),
            "approve_url": _link(organization, "reservations:detail", reservation),
            "decline_url": _link(organization, "reservations:decline", reservation),
        },
    )


def _pending(reservation_id: int) -> Reservation | None:
    reservation = Reservation.objects.select_related("space").filter(pk=reservation_id).first()
    return reservation if reservation is not None and reservation.status == Reservation.Status.PENDING else None


def approval_request_send(*, reservation_id: int, sequence: int) -> bool:
    """Email the approvers about one version of a pending request, once; True when sent now."""
    reservation = _pending(reservation_id)
    if reservation is None or reservation.sequence != sequence:
        return False
    approvers = approvers_of(reservation, organization_current())
    if not approvers:
        logger.warning("Reservation %s waits for approval, but nobody can approve it.", reservation_id)
        return False
    message = _message(reservation=reservation, approvers=approvers, reminder=False)
    return send_once(message, key=OnceKey(REQUEST_KIND, reservation.pk, version=str(sequence)))


def approval_reminder_send(*, reservation_id: int, sequence: int) -> bool:
    reservation = _pending(reservation_id)
    if reservation is None or reservation.sequence != sequence:
        return False
    approvers = approvers_of(reservation, organization_current())
    if not approvers:
        return False
    message = _message(reservation=reservation, approvers=approvers, reminder=True)
    return send_once(message, key=OnceKey(REMINDER_KIND, reservation.pk, version=str(sequence)))


def approval_reminder_candidates(*, now: datetime) -> QuerySet[Reservation]:
    """Pending requests that expire within APPROVAL_REMINDER_MINUTES (a superset of those whose approvers are
    still to be reminded: `approval_reminders_due` refines it)."""
    lead = timedelta(minutes=settings.APPROVAL_REMINDER_MINUTES)
    expiry = timedelta(minutes=settings.PENDING_EXPIRY_MINUTES)
    return Reservation.objects.filter(
        status=Reservation.Status.PENDING, starts_at__gt=now, created_at__gt=now - expiry
    ).filter(Q(created_at__lte=now + lead - expiry) | Q(starts_at__lte=now + lead))


def approval_reminders_due(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """(id, sequence) of pending requests expiring within APPROVAL_REMINDER_MINUTES whose approvers were not
    reminded yet. A request made inside that window is not reminded: its first email is news enough.
    Run by the sweep; safe to repeat (send_once)."""
    now = now or timezone.now()
    lead = timedelta(minutes=settings.APPROVAL_REMINDER_MINUTES)
    rows = approval_reminder_candidates(now=now).values_list("pk", "sequence", "created_at", "starts_at")
    candidates = [
        (pk, sequence)
        for pk, sequence, created_at, starts_at in rows
        if created_at < expires_at(created_at=created_at, starts_at=starts_at) - lead
    ]
    done = keys_done(kind=REMINDER_KIND, object_ids=[pk for pk, _ in candidates])
    return [(pk, sequence) for pk, sequence in candidates if (str(pk), str(sequence)) not in done]
