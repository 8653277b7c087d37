"""The beat schedule, read by settings (`CELERY_BEAT_SCHEDULE`). Imports no models: settings load it.

Periodic work that concerns organizations is one entry per job, sent to `tenants.tasks.organizations_fan_out`,
which queues the job once per active organization inside its schema (`every_organization`). Add entries to
`beat_schedule()`.
"""

from datetime import timedelta
from typing import Any

from celery.schedules import crontab

FAN_OUT_TASK = "tenants.tasks.organizations_fan_out"
SWEEPS_TASK = "tenants.tasks.sweeps_fan_out"
# Per-organization tasks whose bodies each sweep batch runs, in this order, inside each organization.
# Each runs in an organization only when its due probe finds work there (tenants.sweeps).
SWEEP_JOBS = (
    "reservations.tasks.reservation_reminders_queue",
    # Before the completion: a booking nobody checked in is a no-show, not completed.
    "reservations.tasks.reservations_release_no_shows",
    # The steps of reservations.tasks.reservations_sweep, in its order (RESERVATIONS_SWEEP_STEPS there).
    "reservations.tasks.reservations_expire_pending",
    "reservations.tasks.reservations_complete_ended",
    "reservations.tasks.reservations_notices_catch_up",
    "reservations.tasks.approval_reminders_queue",
    "reservations.tasks.waitlist_expire_started",
    # Webhook retries longer than 10 minutes, and first attempts Redis missed (integrations.services).
    "integrations.tasks.webhook_deliveries_queue_due",
)
# The no-show release also runs on its own, faster tick (NO_SHOW_SWEEP_SECONDS, at most 60): the issue frees a
# booking nobody checked in within a minute after its grace ends. It stays in SWEEP_JOBS too, so the slower tick
# still releases before it completes ended bookings. Same fan-out and batches; it does not move `swept_at`.
NO_SHOW_JOBS = ("reservations.tasks.reservations_release_no_shows",)


def every_organization(
    task: str, schedule: timedelta | crontab, *, args: tuple = (), expires: timedelta | None = None
) -> dict[str, Any]:
    """A beat entry that runs `task(*args)` once per active organization, inside its schema.

    `expires` drops runs that could not start in time (Redis or the worker down for a while) instead of
    letting them pile up; a sweep's next run does the same work anyway. It defaults to the interval.
    """
    if expires is None and isinstance(schedule, timedelta):
        expires = schedule
    options = {"expires": expires.total_seconds()} if expires is not None else {}
    return {
        "task": FAN_OUT_TASK,
        "schedule": schedule,
        "args": (task, list(args), options),
        "options": options,
    }


def beat_schedule(
    *, sweep_seconds: int = 300, relay_seconds: float = 2, no_show_seconds: int = 60, spare_schemas_seconds: int = 60
) -> dict[str, dict[str, Any]]:
    """`sweep_seconds` is REMINDER_SWEEP_SECONDS: how late a reminder or an expiry may be at most;
    `relay_seconds` is OUTBOX_RELAY_SECONDS: how long a booking's email waits in the outbox at most;
    `no_show_seconds` is NO_SHOW_SWEEP_SECONDS: how late a no-show is released at most;
    `spare_schemas_seconds` is SPARE_SCHEMAS_REFILL_SECONDS: how often the sign-up pool is topped up."""
    sweep = timedelta(seconds=sweep_seconds)
    no_show = timedelta(seconds=no_show_seconds)
    return {
        # Public schema: one relay for every organization; a missed run is made up by the next one.
        "outbox-relay": {
            "task": "tenants.tasks.outbox_relay",
            "schedule": timedelta(seconds=relay_seconds),
            "options": {"expires": relay_seconds},
        },
        # Reminders and expiries: batches of organizations on the "sweeps" queue, so emails never wait
        # behind them, longest-waiting organizations first (tenants.tasks.sweeps_fan_out).
        "sweeps": {
            "task": SWEEPS_TASK,
            "schedule": sweep,
            "args": (list(SWEEP_JOBS), sweep.total_seconds()),
            "options": {"expires": sweep.total_seconds(), "queue": "sweeps"},
        },
        # No-shows: the same batches on the same queue, every NO_SHOW_SWEEP_SECONDS (60).
        "no-show-release": {
            "task": SWEEPS_TASK,
            "schedule": no_show,
            "args": (list(NO_SHOW_JOBS), no_show.total_seconds()),
            "kwargs": {"record": False},
            "options": {"expires": no_show.total_seconds(), "queue": "sweeps"},
        },
        # The month ends at a different instant in every time zone (UTC-12 to UTC+14): hourly on the 1st and
        # 2nd (UTC), each organization's job makes the report once its own month is over, then does nothing.
        "monthly-reports": every_organization(
            "reports.tasks.monthly_report_previous_month",
            crontab(minute=20, day_of_month="1,2"),
            expires=timedelta(hours=1),
        ),
        # Last month's draft invoices per booker, the same way: hourly on the 1st and 2nd through the per-
        # organization fan-out, each organization's job acting once its month is over (billing.services),
        # and finding its drafts made on every later run.
        "monthly-invoices": every_organization(
            "billing.tasks.invoices_generate_previous_month",
            crontab(minute=25, day_of_month="1,2"),
            expires=timedelta(hours=1),
        ),
        # Public schema: spare schemas for sign-up (tenants/spare_schemas.py). Each sign-up that takes one asks
        # for a refill itself; this catches up when that message was lost or a migration changed the state.
        "spare-schemas-refill": {
            "task": "tenants.tasks.spare_schemas_refill",
            "schedule": timedelta(seconds=spare_schemas_seconds),
            "options": {"expires": spare_schemas_seconds, "queue": "sweeps"},
        },
        # Public schema: expired sessions and tokens, and claims kept long past any retry or redelivery
        # window, deleted in batches every hour so no run has much to do.
        "public-tables-prune": {
            "task": "tenants.tasks.public_tables_prune",
            "schedule": crontab(minute=17),
            "options": {"expires": 3600, "queue": "sweeps"},
        },
    }
