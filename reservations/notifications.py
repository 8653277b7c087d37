"""The emails about reservations: what the booker reads after a change, and the reminder before the start.

Builders only: `reservations.services` decides when to send and sends once. Times are shown in the
organization's time zone; the `.ics` parts carry UTC (spacemanager.mail).
"""

from datetime import datetime
from email.mime.base import MIMEBase
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from accounts.models import User
from reservations.models import Reservation, Series
from reservations.recurrence import recurrence_expand, recurrence_for_calendar
from spacemanager.mail import (
    CalendarMethod,
    build_email,
    calendar_invitation,
    calendar_location,
    calendar_uid,
    format_local_interval,
)
from spacemanager.money import money_format
from tenants.models import Organization
from tenants.selectors import organization_current

NOTICE_KIND = "reservation_notice"
SERIES_NOTICE_KIND = "series_notice"
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
    ("declined", Status.DECLINED): ("Booking request declined", "Your booking request was declined"),
    ("no_show", Status.NO_SHOW): ("Booking released", "Nobody checked in, so your booking was released"),
}


def event_for_state(*, status: str, sequence: int) -> str:
    """The event that most likely produced this state, for a notice queued by the catch-up sweep."""
    if status in (Status.CANCELLED, Status.EXPIRED, Status.DECLINED, Status.NO_SHOW):
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
        rows.append(("Price", money_format(reservation.price, organization.currency)))
    rows.append(("Status", reservation.get_status_display()))
    return rows


def _invitation(reservation: Reservation, organization: Organization, booker: User, method: CalendarMethod) -> MIMEBase:
    """The booking's calendar entry; an occurrence of a series is that occurrence of the series' entry."""
    in_series = reservation.series_id is not None
    return calendar_invitation(
        method=method,
        uid=calendar_uid(
            kind="series" if in_series else "reservation",
            object_id=reservation.series_id if in_series else reservation.pk,
            organization_host=organization.host,
        ),
        recurrence_id=reservation.series_starts_at if in_series else None,
        sequence=reservation.sequence,
        summary=reservation.title or f"{reservation.space.name} ({organization.name})",
        starts_at=reservation.starts_at,
        ends_at=reservation.ends_at,
        timezone_name=organization.timezone,
        attendee_email=booker.email,
        attendee_name=booker.full_name,
        location=calendar_location(space_name=reservation.space.name, location=reservation.space.location),
        organizer_name=organization.name,
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
    if event == "no_show":
        return [
            "Nobody checked in by the end of the grace, so the rest of its time is free for others.",
            "The attached invitation removes it from your calendar.",
        ]
    if event == "declined":
        return ["The slot is free again. You can book another time."]
    if event == "cancelled":
        return ["The slot is free again. The attached invitation removes it from your calendar."]
    return ["The attached invitation adds it to your calendar."]


def _page(organization: Organization, name: str, pk: int) -> str:
    """An absolute link to a page on the organization's site (SITE_URL's scheme and port, never a request's)."""
    return organization.link(reverse(name, kwargs={"pk": pk}, urlconf=settings.ROOT_URLCONF))


def reservation_links(
    reservation: Reservation, organization: Organization, *, check_in: bool = False
) -> list[tuple[str, str]]:
    """The email's links: check in (the signed one-click link, where asked for and the space requires it),
    see the booking, and change or cancel it while it is pending or confirmed."""
    links = []
    if check_in and reservation.space.check_in_required and reservation.status == Status.CONFIRMED:
        from reservations.check_in_links import check_in_link  # it reads services, which import this module

        links.append(("Check in", check_in_link(reservation=reservation, organization=organization)))
    links.append(("See your booking", _page(organization, "reservations:detail", reservation.pk)))
    if reservation.status in Reservation.ACTIVE_STATUSES:
        links.append(("Change it", _page(organization, "reservations:edit", reservation.pk)))
        links.append(("Cancel it", _page(organization, "reservations:cancel", reservation.pk)))
    return links


def _message(
    *,
    reservation: Reservation,
    booker: User,
    organization: Organization,
    subject: str,
    heading: str,
    lines: list[str],
    attachments: list[MIMEBase] | None = None,
    check_in: bool = False,
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
            "links": reservation_links(reservation, organization, check_in=check_in),
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
    elif reservation.status in (Status.CANCELLED, Status.NO_SHOW):
        attachments.append(_invitation(reservation, organization, booker, CalendarMethod.CANCEL))
    lines = _explanation(event, reservation.status)
    if reservation.status == Status.DECLINED:  # no .ics: the calendar never received an invitation
        lines.insert(0, f"Reason: {reservation.decline_reason}" if reservation.decline_reason else "No reason given.")
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
    lines = ["Cannot make it? Cancel the booking so that someone else can use the space."]
    if reservation.space.check_in_required:
        lines.insert(0, "This space needs a check-in: use the link below when you arrive, or the booking is released.")
    return _message(
        reservation=reservation,
        booker=booker,
        organization=organization_current(),
        subject=f"Reminder (in {minutes} min)",
        heading=f"Your booking starts in {minutes} minutes",
        lines=lines,
        check_in=True,
    )


_SERIES_NOTICES = {
    "created": ("Series booked", "Your recurring booking is confirmed"),
    "changed": ("Series changed", "Your recurring booking has been changed"),
    "cancelled": ("Series cancelled", "Your recurring booking has been cancelled"),
}


def _series_links(series: Series, organization: Organization, *, cancelled: bool) -> list[tuple[str, str]]:
    links = [("See your bookings", organization.link(reverse("reservations:mine", urlconf=settings.ROOT_URLCONF)))]
    if not cancelled:
        links.append(("Change the series", _page(organization, "reservations:series-edit", series.pk)))
        links.append(("Cancel the series", _page(organization, "reservations:series-cancel", series.pk)))
    return links


def series_message(*, series: Series, event: str, booker: User) -> EmailMultiAlternatives:
    """One email for a whole series: its dates, the ones left out, and one VEVENT with RRULE and EXDATE."""
    organization = organization_current()
    subject, heading = _SERIES_NOTICES.get(event, ("Series update", "Your recurring booking"))
    occurrences = list(series.occurrences.order_by("series_starts_at").values_list("series_starts_at", "status"))
    taking_place = {start for start, status in occurrences if status in Reservation.ACTIVE_STATUSES}
    scheduled = recurrence_expand(
        rule=series.recurrence, starts_at=series.starts_at, ends_at=series.ends_at, tz=ZoneInfo(series.timezone)
    )
    left_out = [occurrence.starts_at for occurrence in scheduled if occurrence.starts_at not in taking_place]
    first = format_local_interval(series.starts_at, series.ends_at, organization.timezone)
    details = [
        ("Space", series.space.name),
        ("Repeats", series.recurrence),
        ("First", first),
        ("Occurrences", f"{len(taking_place)} of {len(scheduled)}"),
    ]
    if series.title:
        details.append(("Title", series.title))
    if left_out:
        details.append(
            (
                "Not taking place",
                ", ".join(f"{d.astimezone(ZoneInfo(organization.timezone)):%a %d %b %Y}" for d in left_out),
            )
        )
    cancelled = not taking_place
    invitation = calendar_invitation(
        method=CalendarMethod.CANCEL if cancelled else CalendarMethod.REQUEST,
        uid=calendar_uid(kind="series", object_id=series.pk, organization_host=organization.host),
        sequence=series.sequence,
        summary=series.title or f"{series.space.name} ({organization.name})",
        starts_at=series.starts_at,
        ends_at=series.ends_at,
        timezone_name=series.timezone,
        attendee_email=booker.email,
        attendee_name=booker.full_name,
        location=calendar_location(space_name=series.space.name, location=series.space.location),
        organizer_name=organization.name,
        rrule=recurrence_for_calendar(rule=series.recurrence, tz=ZoneInfo(series.timezone)),
        exdates=left_out,
    )
    lines = (
        ["The slots are free again. The attached invitation removes the series from your calendar."]
        if cancelled
        else ["The attached invitation adds the whole series to your calendar."]
    )
    return build_email(
        to=[booker.email],
        subject=f"{subject}: {series.space.name}, {len(taking_place)} times from {first}",
        template="reservations/email/notice",
        context={
            "organization_name": organization.name,
            "booker_name": booker.full_name,
            "heading": heading,
            "details": details,
            "lines": lines,
            "links": _series_links(series, organization, cancelled=cancelled),
        },
        attachments=[invitation],
    )
