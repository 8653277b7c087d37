from datetime import timedelta

from django.conf import settings

from spacemanager.beat import FAN_OUT_TASK, beat_schedule, every_organization
from spacemanager.celery import app


def test_every_beat_entry_names_a_task_the_worker_knows():
    app.loader.import_default_modules()

    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
        if entry["task"] == FAN_OUT_TASK:
            assert entry["args"][0] in app.tasks, name


def test_settings_use_the_schedule_built_in_beat_py():
    assert settings.CELERY_BEAT_SCHEDULE.keys() == beat_schedule().keys()
    assert app.conf.beat_schedule.keys() == beat_schedule().keys()


def test_a_per_organization_job_goes_through_the_fan_out_and_expires_with_its_interval():
    entry = every_organization("reservations.tasks.reminders_send", timedelta(minutes=5))

    assert entry["task"] == "tenants.tasks.organizations_fan_out"
    assert entry["schedule"] == timedelta(minutes=5)
    assert entry["args"] == ("reservations.tasks.reminders_send", [], {"expires": 300.0})
    assert entry["options"] == {"expires": 300.0}


def test_reminders_and_sweeps_run_every_reminder_sweep_seconds_and_reports_hourly_on_the_first_two_days():
    schedule = beat_schedule(sweep_seconds=120)

    sweeps = schedule["sweeps"]
    assert sweeps["task"] == "tenants.tasks.sweeps_fan_out"
    assert sweeps["schedule"] == timedelta(seconds=120)
    assert sweeps["args"] == (
        [
            "reservations.tasks.reservation_reminders_queue",
            "reservations.tasks.reservations_release_no_shows",
            "reservations.tasks.reservations_expire_pending",
            "reservations.tasks.reservations_complete_ended",
            "reservations.tasks.reservations_notices_catch_up",
            "reservations.tasks.approval_reminders_queue",
            "reservations.tasks.waitlist_expire_started",
            "integrations.tasks.webhook_deliveries_queue_due",
        ],
        120.0,
    )
    assert sweeps["options"] == {"expires": 120.0, "queue": "sweeps"}
    app.loader.import_default_modules()
    assert all(job in app.tasks for job in sweeps["args"][0])
    monthly = schedule["monthly-reports"]
    assert monthly["args"][0] == "reports.tasks.monthly_report_previous_month"
    assert monthly["schedule"].day_of_month == {1, 2}
    assert monthly["schedule"].hour == set(range(24))
    assert monthly["options"] == {"expires": 3600.0}
    assert settings.CELERY_BEAT_SCHEDULE["sweeps"]["schedule"] == timedelta(seconds=settings.REMINDER_SWEEP_SECONDS)


def test_the_no_show_release_has_its_own_tick_of_at_most_a_minute_through_the_same_batched_fan_out():
    schedule = beat_schedule(sweep_seconds=300)

    entry = schedule["no-show-release"]
    assert entry["task"] == "tenants.tasks.sweeps_fan_out"
    assert entry["schedule"] == timedelta(seconds=60)
    assert entry["args"] == (["reservations.tasks.reservations_release_no_shows"], 60.0)
    assert entry["kwargs"] == {"record": False}
    assert entry["options"] == {"expires": 60.0, "queue": "sweeps"}
    assert settings.NO_SHOW_SWEEP_SECONDS <= 60
    assert settings.CELERY_BEAT_SCHEDULE["no-show-release"]["schedule"] == timedelta(
        seconds=settings.NO_SHOW_SWEEP_SECONDS
    )
