"""Reservation emails and sweeps, run by the worker inside the organization's schema.

Tasks take ids, call a service and are safe to run twice (docs/background.md). The periodic ones are queued
once per organization by beat's fan-out (spacemanager/beat.py).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from reservations import approvals, services
from reservations.selectors import reservation_ids_reminder_due, reservations_reminder_candidates
from spacemanager.celery import app
from spacemanager.mail import EmailTask
from tenants.sweeps import sweep_due_probe

logger = logging.getLogger(__name__)


@app.task(base=EmailTask, bind=True, name="reservations.tasks.reservation_notice_send")
def reservation_notice_send(self, reservation_id: int, event: str, sequence: int) -> bool:
    """Tell the booker about a change (queued after the commit of the change, or by the catch-up sweep)."""
    return services.reservation_notify(reservation_id=reservation_id, event=event, sequence=sequence)


@app.task(base=EmailTask, bind=True, name="reservations.tasks.reservation_reminder_send")
def reservation_reminder_send(self, reservation_id: int) -> bool:
    return services.reservation_remind(reservation_id=reservation_id)


@app.task(base=EmailTask, bind=True, name="reservations.tasks.approval_request_send")
def approval_request_send(self, reservation_id: int, sequence: int) -> bool:
    """Ask the approvers to decide on a new or changed request (queued after its commit)."""
    return approvals.approval_request_send(reservation_id=reservation_id, sequence=sequence)


@app.task(base=EmailTask, bind=True, name="reservations.tasks.approval_reminder_send")
def approval_reminder_send(self, reservation_id: int, sequence: int) -> bool:
    return approvals.approval_reminder_send(reservation_id=reservation_id, sequence=sequence)


@app.task(name="reservations.tasks.reservation_reminders_queue")
def reservation_reminders_queue() -> int:
    """Periodic, per organization: queue one reminder task per confirmed reservation starting within the lead.

    Two overlapping runs may queue the same reservation twice; the email still goes out once (send_once).
    """
    # Each booker's own lead time (their profile); REMINDER_LEAD_MINUTES for those who never chose.
    ids = list(reservation_ids_reminder_due(now=timezone.now(), lead=timedelta(minutes=settings.REMINDER_LEAD_MINUTES)))
    for reservation_id in ids:
        reservation_reminder_send.delay(reservation_id)
    return len(ids)


@sweep_due_probe("reservations.tasks.reservation_reminders_queue")
def _reminders_due(now):
    return [reservations_reminder_candidates(now=now, lead=timedelta(minutes=settings.REMINDER_LEAD_MINUTES))]


@app.task(name="reservations.tasks.reservations_release_no_shows")
def reservations_release_no_shows() -> int:
    """Periodic, per organization: release confirmed bookings of check-in spaces nobody checked in by the end
    of their grace (status no_show), telling each booker. Safe to overlap with itself (SKIP LOCKED)."""
    released = services.reservations_release_no_shows(now=timezone.now())
    if released:
        logger.info("Released %d no-shows: %s.", len(released), released)
    return len(released)


@sweep_due_probe("reservations.tasks.reservations_release_no_shows")
def _no_shows_due(now):
    return [services.reservations_no_show_due(now=now)]


# The reservations sweep's steps, each a job of its own so that a tick runs only the steps with work due
# (tenants.sweeps): an organization with one ended booking completes it without the other four steps' reads.


@app.task(name="reservations.tasks.reservations_expire_pending")
def reservations_expire_pending() -> int:
    """Periodic, per organization: pending requests nobody approved in time expire, freeing their slot."""
    return services.reservations_expire_pending(now=timezone.now())


@sweep_due_probe("reservations.tasks.reservations_expire_pending")
def _overdue_requests(now):
    return [services.reservations_pending_overdue(now=now)]


@app.task(name="reservations.tasks.reservations_complete_ended")
def reservations_complete_ended() -> int:
    """Periodic, per organization: confirmed bookings that ended become completed."""
    return services.reservations_complete_ended(now=timezone.now())


@sweep_due_probe("reservations.tasks.reservations_complete_ended")
def _ended_bookings(now):
    return [services.reservations_ended_to_complete(now=now)]


@app.task(name="reservations.tasks.reservations_notices_catch_up")
def reservations_notices_catch_up() -> int:
    """Periodic, per organization: queue the notices of recent changes whose email was never sent."""
    return len(services.reservations_notices_catch_up(now=timezone.now()))


@sweep_due_probe("reservations.tasks.reservations_notices_catch_up")
def _notice_candidates(now):
    return [services.reservations_notice_candidates(now=now)]


@app.task(name="reservations.tasks.approval_reminders_queue")
def approval_reminders_queue() -> int:
    """Periodic, per organization: remind the approvers of requests about to expire."""
    due = approvals.approval_reminders_due(now=timezone.now())
    for reservation_id, sequence in due:
        approval_reminder_send.delay(reservation_id, sequence)
    return len(due)


@sweep_due_probe("reservations.tasks.approval_reminders_queue")
def _approval_reminder_candidates(now):
    return [approvals.approval_reminder_candidates(now=now)]


@app.task(name="reservations.tasks.waitlist_expire_started")
def waitlist_expire_started() -> int:
    """Periodic, per organization: waitlist entries whose start has passed expire."""
    return services.waitlist_expire_started(now=timezone.now())


@sweep_due_probe("reservations.tasks.waitlist_expire_started")
def _started_entries(now):
    return [services.waitlist_entries_started(now=now)]


RESERVATIONS_SWEEP_STEPS = (
    "reservations.tasks.reservations_expire_pending",
    "reservations.tasks.reservations_complete_ended",
    "reservations.tasks.reservations_notices_catch_up",
    "reservations.tasks.approval_reminders_queue",
    "reservations.tasks.waitlist_expire_started",
)


@app.task(name="reservations.tasks.reservations_sweep")
def reservations_sweep() -> dict[str, int]:
    """Per organization, every step at once (beat runs the steps as separate sweep jobs): expire unapproved
    requests, complete ended bookings, catch up on notices, remind approvers, expire started waitlist entries."""
    result = {
        "expired": reservations_expire_pending(),
        "completed": reservations_complete_ended(),
        "notices_caught_up": reservations_notices_catch_up(),
        "approval_reminders": approval_reminders_queue(),
        "waitlist_expired": waitlist_expire_started(),
    }
    if any(result.values()):
        logger.info("Reservations sweep: %s", result)
    return result


@app.task(base=EmailTask, bind=True, name="reservations.tasks.series_notice_send")
def series_notice_send(self, series_id: int, event: str, sequence: int) -> bool:
    """Tell the booker about a series: one email for all its occurrences."""
    return services.series_notify(series_id=series_id, event=event, sequence=sequence)
