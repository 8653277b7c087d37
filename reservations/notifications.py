"""The emails about reservations: what the booker reads after a change, and the reminder before the start.

Builders only: `reservations.services` decides when to send and sends once. Times are shown in the
organization's time zone; the `.ics` parts carry UTC (spacemanager.mail).
"""

from datetime import datetime
from email.mime.base import MIMEBase

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from accounts.models import User
from reservations.models import Reservation
from spacemanager.mail import CalendarMethod, build_email, calendar_invitation, calendar_uid, format_local_interval
from tenants.models import Organization
from tenants.selectors import organization_current

NOTICE_KIND = "reservation_notice"
REMINDER_KIND = "reservation_reminder"

Status = Reservation.Status

# (event, status the reservation has after it) -> subject prefix and heading.
_NOTICES = {
    ("created", Status.CONFIRMED): ("Booking confirmed", "Your booking is confirmed"),
    ("created", Status.PENDING): ("Booking request received", "Your booking awaits approval"),
    ("confirmed", Status.CONFIRMED): ("Booking approved", "Your booking has been approved"),
    ("changed", Status.CONFIRMED): ("Booking changed", "Your booking has been changed"),
    ("changed", Status.PENDING): ("Booking changed", "Your changed booking awaits approval"),
    ("cancelled", Status.CANCELLED): ("Booking cancelled", "Your booking has been cancelled"),
    ("expired", Status.EXPIRED): ("Booking request expired", "Your booking request has expired"),
}


def event_for_state(*, status: str, sequence: int) -> str:
    """The event that most likely produced this state, for a notice queued by the catch-up sweep."""
    if status in (Status.CANCELLED, Status.EXPIRED):
        return str(status)
    if sequence == 0:
        return "created"
    return "confirmed" if status == Status.CONFIRMED else "changed"


def _details(reservation: Reservation, organization: Organization) -> list[tuple[str, str]]:
    space = reservation.space
    rows = [
        ("Space", space.name),
        ("When", format_local_interval(reservation.starts_at, reservation.ends_at, organization.timezone)),
    ]
    if space.location:
        rows.append(("Where", space.location))
    if reservation.title:
        rows.append(("Title", reservation.title))
    rows.append(("Attendees", str(reservation.attendees)))
    if reservation.price is not None:
        rows.append(("Price", f"{reservation.price} {organization.currency}"))
    rows.append(("Status", reservation.get_status_display()))
    return rows


def _invitation(reservation: Reservation, organization: Organization, booker: User, method: CalendarMethod) -> MIMEBase:
    return calendar_invitation(
        method=method,
        uid=calendar_uid(kind="reservation", object_id=reservation.pk, organization_host=organization.host),
        sequence=reservation.sequence,
        summary=reservation.title or f"{reservation.space.name} ({organization.name})",
        starts_at=reservation.starts_at,
        ends_at=reservation.ends_at,
        timezone_name=organization.timezone,
        attendee_email=booker.email,
        attendee_name=booker.full_name,
        location=reservation.space.location or reservation.space.name,
    )


def _explanation(event: str, status: str) -> list[str]:
    if status == Status.PENDING:
        hours = settings.PENDING_EXPIRY_MINUTES / 60
        return [
            "An owner or admin needs to approve it; you will get another email when they do.",
            f"A request not approved within {hours:g} hours, or by its start, expires and frees the slot.",
        ]
    if event == "expired":
        return ["Nobody approved it in time, so the slot is free again. You can book another time."]
    if event == "cancelled":
        return ["The slot is free again. The attached invitation removes it from your calendar."]
    return ["The attached invitation adds it to your calendar."]


def _message(
    *,
    reservation: Reservation,
    booker: User,
    organization: Organization,
    subject: str,
    heading: str,
    lines: list[str],
    attachments: list[MIMEBase] | None = None,
) -> EmailMultiAlternatives:
    """One layout for every reservation email: subject `<subject>: <space>, <local times>`, then the details."""
    when = format_local_interval(reservation.starts_at, reservation.ends_at, organization.timezone)
    return build_email(
        to=[booker.email],
        subject=f"{subject}: {reservation.space.name}, {when}",
        template="reservations/email/notice",
        context={
            "organization_name": organization.name,
            "booker_name": booker.full_name,
            "heading": heading,
            "details": _details(reservation, organization),
            "lines": lines,
        },
        attachments=attachments or [],
    )


def notice_message(*, reservation: Reservation, event: str, booker: User) -> EmailMultiAlternatives:
    """The email after a change of the reservation (`event`), describing its state now."""
    organization = organization_current()
    subject, heading = _NOTICES.get((event, reservation.status), ("Booking update", "Your booking"))
    attachments = []
    if reservation.status == Status.CONFIRMED:
        attachments.append(_invitation(reservation, organization, booker, CalendarMethod.REQUEST))
    elif reservation.status == Status.CANCELLED:
        attachments.append(_invitation(reservation, organization, booker, CalendarMethod.CANCEL))
    lines = _explanation(event, reservation.status)
    if reservation.status == Status.CANCELLED and reservation.cancel_reason:
        lines.insert(0, f"{organization.name} cancelled it: {reservation.cancel_reason}")
    return _message(
        reservation=reservation,
        booker=booker,
        organization=organization,
        subject=subject,
        heading=heading,
        lines=lines,
        attachments=attachments,
    )


def reminder_message(*, reservation: Reservation, booker: User, now: datetime) -> EmailMultiAlternatives:
    """The reminder shortly before a confirmed reservation starts."""
    minutes = max(1, round((reservation.starts_at - now).total_seconds() / 60))
    return _message(
        reservation=reservation,
        booker=booker,
        organization=organization_current(),
        subject=f"Reminder (in {minutes} min)",
        heading=f"Your booking starts in {minutes} minutes",
        lines=["Cannot make it? Cancel the booking so that someone else can use the space."],
    )
