"""Reminders and notices as each person chose them on their profile page (accounts.models.User).

Tenant reservations point at public users; the join reaches the public schema through the search path.
"""

from datetime import datetime, timedelta

from accounts.models import REMINDER_LEAD_CHOICES
from reservations.models import Reservation

LONGEST_LEAD = timedelta(minutes=max(minutes for minutes, _ in REMINDER_LEAD_CHOICES))


def reservation_ids_reminder_due_for_bookers(*, now: datetime, default_lead: timedelta) -> list[int]:
    """Confirmed reservations not reminded yet that start within their booker's own lead time (none for
    people who turned reminders off; `default_lead` for those who never chose)."""
    longest = max(LONGEST_LEAD, default_lead)
    rows = (
        Reservation.objects.filter(
            status=Reservation.Status.CONFIRMED,
            reminder_sent_at__isnull=True,
            starts_at__gt=now,
            starts_at__lte=now + longest,
        )
        .order_by("starts_at")
        .values_list("pk", "starts_at", "user__reminder_lead_minutes")
    )
    due = []
    for pk, starts_at, chosen in rows:
        lead = default_lead if chosen is None else timedelta(minutes=chosen)
        if lead and starts_at <= now + lead:
            due.append(pk)
    return due
