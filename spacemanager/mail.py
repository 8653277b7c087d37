"""Email: multipart messages from templates, calendar invitations, and sending exactly once from a task.

A task that emails someone:

    @app.task(base=EmailTask, bind=True)
    def reservation_confirmation_send(self, reservation_id: int, version: str) -> None:
        reservation = ...  # look it up; return quietly when it is gone
        message = build_email(to=[...], subject=..., template="reservations/confirmation", context={...},
                              attachments=[calendar_invitation(...)])
        send_once(message, key=OnceKey("reservation_confirmation", reservation_id, version=version))

`EmailTask` retries SMTP and network failures with exponential backoff; `send_once` makes a retried or
duplicated task send nothing twice (tenants.idempotency explains the one remaining window).
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.mime.base import MIMEBase
from email.mime.text import MIMEText
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vRecur

from spacemanager.celery import Task
from tenants.idempotency import ClaimBusy, OnceKey, claim_once, complete, release

PRODUCT_ID = "-//SpaceManager//Reservations//EN"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


def build_email(
    *,
    to: Sequence[str],
    subject: str,
    template: str,
    context: dict[str, Any],
    attachments: Sequence[Attachment | MIMEBase] = (),
    reply_to: Sequence[str] = (),
) -> EmailMultiAlternatives:
    """Plain text from `templates/<template>.txt`, HTML from `templates/<template>.html`, plus attachments."""
    message = EmailMultiAlternatives(
        # Header injection is impossible: a subject is one line whatever the data in it.
        subject=" ".join(subject.split()),
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        reply_to=list(reply_to),
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    for attachment in attachments:
        if isinstance(attachment, MIMEBase):
            message.attach(attachment)
        else:
            message.attach(attachment.filename, attachment.content, attachment.mimetype)
    return message


class CalendarMethod(StrEnum):
    """RFC 5546: REQUEST adds or updates the event in the booker's calendar, CANCEL removes it."""

    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


def calendar_uid(*, kind: str, object_id: int | str, organization_host: str) -> str:
    """Stable per object and organization, so an update or a cancellation replaces the same calendar entry."""
    return f"{kind}-{object_id}@{organization_host}"


def format_local_interval(starts_at: datetime, ends_at: datetime, timezone_name: str) -> str:
    """`Tue 3 Mar 2026, 10:00-11:00 (Europe/Paris)`: what people read; the data itself stays in UTC."""
    zone = ZoneInfo(timezone_name)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    day = f"{start:%a} {start.day} {start:%b %Y}"
    if start.date() == end.date():
        return f"{day}, {start:%H:%M}-{end:%H:%M} ({timezone_name})"
    return f"{day} {start:%H:%M} - {end:%a} {end.day} {end:%b %Y} {end:%H:%M} ({timezone_name})"


def calendar_invitation(
    *,
    method: CalendarMethod,
    uid: str,
    sequence: int,
    summary: str,
    starts_at: datetime,
    ends_at: datetime,
    timezone_name: str,
    attendee_email: str,
    attendee_name: str = "",
    location: str = "",
    description: str = "",
    url: str = "",
    rrule: str = "",
    exdates: Sequence[datetime] = (),
    recurrence_id: datetime | None = None,
    organizer_name: str = "",
) -> MIMEBase:
    """An `.ics` attachment (text/calendar with its METHOD), times in UTC, local times in the description.

    `sequence` must grow with every change of the event (RFC 5546), e.g. a version counter or the
    modification time in seconds; calendars ignore an update whose sequence is not higher.

    A recurring event (`rrule`, with `exdates` for the occurrences that do not take place) carries its times
    in `timezone_name` with a VTIMEZONE, so that calendars repeat the local time across daylight-saving
    changes. `recurrence_id` (where the series put it) makes the event one occurrence of the series `uid`.

    The ORGANIZER is `organizer_name` (the organization, as CN) at the address emails come from (RFC 5545
    3.8.4.3: a cal-address, the CN parameter its display name).
    """
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", method.value)

    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", timezone.now().astimezone(ZoneInfo("UTC")))
    zone = ZoneInfo(timezone_name) if rrule or recurrence_id is not None else ZoneInfo("UTC")
    event.add("dtstart", starts_at.astimezone(zone))
    event.add("dtend", ends_at.astimezone(zone))
    if rrule:
        event.add("rrule", vRecur.from_ical(rrule))
        for exdate in exdates:
            event.add("exdate", exdate.astimezone(zone))
    if recurrence_id is not None:
        event.add("recurrence-id", recurrence_id.astimezone(zone))
    event.add("summary", summary)
    event.add("status", "CANCELLED" if method is CalendarMethod.CANCEL else "CONFIRMED")
    local_times = format_local_interval(starts_at, ends_at, timezone_name)
    event.add("description", f"{local_times}\n{description}".strip())
    if location:
        event.add("location", location)
    if url:
        event.add("url", url)
    organizer = vCalAddress(f"mailto:{_address_of(settings.DEFAULT_FROM_EMAIL)}")
    if organizer_name:
        organizer.params["cn"] = organizer_name
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{attendee_email}")
    if attendee_name:
        attendee.params["cn"] = attendee_name
    attendee.params["role"] = "REQ-PARTICIPANT"
    attendee.params["partstat"] = "ACCEPTED" if method is CalendarMethod.REQUEST else "DECLINED"
    event.add("attendee", attendee)
    calendar.add_component(event)
    if zone.key != "UTC":
        calendar.add_missing_timezones()

    part = MIMEText(calendar.to_ical().decode(), "calendar", "utf-8")
    part.set_param("method", method.value)
    filename = "cancel.ics" if method is CalendarMethod.CANCEL else "invite.ics"
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def calendar_location(*, space_name: str, location: str = "") -> str:
    """What a calendar shows as the event's place: the space, then where it is (`Blue room, 2nd floor`)."""
    return ", ".join(part for part in (space_name, location) if part)


def _address_of(from_email: str) -> str:
    """`SpaceManager <no-reply@example.com>` -> `no-reply@example.com`."""
    return from_email.rpartition("<")[2].rstrip(">").strip()


def send_once(message: EmailMultiAlternatives, *, key: OnceKey) -> bool:
    """Send `message` unless `key` was sent already; True when it was sent now.

    A failed send gives the claim back (and re-raises), so the task's retry sends it. Raises `ClaimBusy`
    while another run is sending the same key; `EmailTask` turns that into a retry.
    """
    if not claim_once(key):
        return False
    try:
        message.send(fail_silently=False)
    except BaseException:
        release(key)
        raise
    complete(key)
    return True


class EmailTask(Task):
    """Base for tasks that send email: retry SMTP and network failures with exponential backoff.

    Waits are about 1, 2, 4 … s with full jitter, capped at 10 minutes; after `max_retries` the task fails
    and is logged with its arguments (the ids), and nothing is marked sent.
    """

    abstract = True
    autoretry_for = (smtplib.SMTPException, OSError)
    retry_backoff = True
    retry_backoff_max = 600
    retry_jitter = True
    max_retries = 8

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except ClaimBusy as exc:
            # Someone else is sending this very email; look again when their claim has expired.
            raise self.retry(exc=exc, countdown=exc.retry_after) from exc
