"""The sweeps' due probe: one statement per organization says which jobs have work there, and it never misses
work a job would do (tenants.sweeps)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations import tasks as integration_tasks
from integrations.models import WebhookDelivery, WebhookEndpoint
from reservations.models import Reservation, WaitlistEntry
from reservations.tests.factories import ReservationFactory
from spacemanager.beat import NO_SHOW_JOBS, SWEEP_JOBS
from spacemanager.celery import app
from spaces.tests.factories import SpaceFactory
from tenants.models import Organization
from tenants.sweeps import sweep_probe_build, sweep_probe_of
from tenants.tasks import sweep_batch

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
REMINDERS = "reservations.tasks.reservation_reminders_queue"
NO_SHOWS = "reservations.tasks.reservations_release_no_shows"
EXPIRE = "reservations.tasks.reservations_expire_pending"
COMPLETE = "reservations.tasks.reservations_complete_ended"
NOTICES = "reservations.tasks.reservations_notices_catch_up"
APPROVAL_REMINDERS = "reservations.tasks.approval_reminders_queue"
WAITLIST = "reservations.tasks.waitlist_expire_started"
WEBHOOKS = "integrations.tasks.webhook_deliveries_queue_due"


@pytest.fixture(autouse=True)
def _at_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def queued_deliveries(monkeypatch):
    """Webhook attempts the sweep queues, recorded instead of sent."""
    queued = []
    monkeypatch.setattr(integration_tasks.webhook_delivery_attempt, "delay", queued.append)
    return queued


def _jobs_due(organization, jobs=SWEEP_JOBS) -> set[str]:
    probe = sweep_probe_build(list(jobs), now=NOW)
    connection.set_tenant(organization)
    try:
        return probe.jobs_due()
    finally:
        connection.set_schema_to_public()


def _sweep(test_org) -> dict[str, int]:
    app.loader.import_default_modules()
    return sweep_batch.run(list(SWEEP_JOBS), [test_org.organization.schema_name])


# Each scene is what exactly one job has to do, written straight to the tables of alpha's schema.


def _reminder_due(test_org):
    return ReservationFactory(user=test_org.member, starts_at=NOW + timedelta(minutes=30))


def _no_show(test_org):
    space = SpaceFactory(check_in_required=True, check_in_grace_minutes=15)
    return ReservationFactory(space=space, user=test_org.member, starts_at=NOW - timedelta(minutes=30))


def _pending_too_long(test_org):
    reservation = ReservationFactory(
        user=test_org.member, status=Reservation.Status.PENDING, starts_at=NOW + timedelta(days=3)
    )
    Reservation.objects.filter(pk=reservation.pk).update(created_at=NOW - timedelta(days=2))
    return reservation


def _ended(test_org):
    return ReservationFactory(user=test_org.member, starts_at=NOW - timedelta(hours=2))


def _notice_never_sent(test_org):
    reservation = ReservationFactory(user=test_org.member, starts_at=NOW + timedelta(days=3))
    Reservation.objects.filter(pk=reservation.pk).update(updated_at=NOW - timedelta(minutes=10))
    return reservation


def _approval_reminder_due(test_org):
    # A request that expires in an hour (it starts then): its approvers get a reminder.
    return ReservationFactory(
        user=test_org.member, status=Reservation.Status.PENDING, starts_at=NOW + timedelta(hours=1)
    )


def _waitlist_started(test_org):
    space = SpaceFactory()
    return WaitlistEntry.objects.create(
        space=space, user_id=test_org.member.pk, starts_at=NOW - timedelta(minutes=5), ends_at=NOW + timedelta(hours=1)
    )


def _webhook_retry_due(test_org):
    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example.com/in", events=["reservation.created"], secret="whsec_x"
    )
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id="msg_1",
        event_type="reservation.created",
        payload={},
        attempts=1,
        next_attempt_at=NOW - timedelta(minutes=1),
    )


def _reloaded(row):
    return type(row).objects.get(pk=row.pk)


SCENES = [
    # scene, the one job due, what that job did once the sweep ran
    (_reminder_due, REMINDERS, lambda row, queued: _reloaded(row).reminder_sent_at is not None),
    (_no_show, NO_SHOWS, lambda row, queued: _reloaded(row).status == Reservation.Status.NO_SHOW),
    (_pending_too_long, EXPIRE, lambda row, queued: _reloaded(row).status == Reservation.Status.EXPIRED),
    (_ended, COMPLETE, lambda row, queued: _reloaded(row).status == Reservation.Status.COMPLETED),
    (_notice_never_sent, NOTICES, None),
    (_approval_reminder_due, APPROVAL_REMINDERS, None),
    (_waitlist_started, WAITLIST, lambda row, queued: _reloaded(row).status == WaitlistEntry.Status.EXPIRED),
    (_webhook_retry_due, WEBHOOKS, lambda row, queued: queued == [row.pk]),
]


def test_every_sweep_job_has_a_due_probe():
    app.loader.import_default_modules()
    assert [job for job in SWEEP_JOBS if sweep_probe_of(job) is None] == []
    assert set(NO_SHOW_JOBS) <= set(SWEEP_JOBS)


def test_beat_runs_every_step_of_the_reservations_sweep_in_its_order():
    from reservations.tasks import RESERVATIONS_SWEEP_STEPS

    start = SWEEP_JOBS.index(RESERVATIONS_SWEEP_STEPS[0])
    assert SWEEP_JOBS[start : start + len(RESERVATIONS_SWEEP_STEPS)] == RESERVATIONS_SWEEP_STEPS


def test_an_organization_with_nothing_due_runs_no_job_and_every_job_agrees_there_is_nothing(org, queued_deliveries):
    app.loader.import_default_modules()
    connection.set_tenant(org.organization)
    ReservationFactory(user=org.member, starts_at=NOW + timedelta(days=5))  # booked days ahead: nothing due yet
    Reservation.objects.update(updated_at=NOW - timedelta(days=2))
    connection.set_schema_to_public()

    assert _jobs_due(org.organization) == set()
    connection.set_tenant(org.organization)
    # Each job's own body, run anyway, finds nothing: the probe skipped no work.
    assert [app.tasks[job].run() for job in SWEEP_JOBS] == [0] * len(SWEEP_JOBS)


@pytest.mark.parametrize(("scene", "job", "done"), SCENES, ids=[scene.__name__.strip("_") for scene, _, _ in SCENES])
def test_the_probe_finds_each_kind_of_due_work_for_its_job_alone(
    org, other_org, scene, job, done, queued_deliveries, celery_eager
):
    connection.set_tenant(org.organization)
    row = scene(org)
    connection.set_schema_to_public()

    assert _jobs_due(org.organization) == {job}
    assert _jobs_due(other_org.organization) == set()  # another organization's schema has its own answer

    assert _sweep(org)["swept"] == 1
    connection.set_tenant(org.organization)
    if done is not None:
        assert done(row, queued_deliveries)


def test_the_sweep_runs_only_the_jobs_whose_work_is_due(org, monkeypatch, queued_deliveries):
    app.loader.import_default_modules()
    ran = []
    for job in SWEEP_JOBS:
        task = app.tasks[job]
        monkeypatch.setattr(task, "run", lambda job=job: ran.append(job))
    connection.set_tenant(org.organization)
    _webhook_retry_due(org)
    connection.set_schema_to_public()

    assert _sweep(org) == {"swept": 1, "failed": 0, "skipped": 0}
    assert ran == [WEBHOOKS]


def test_a_batch_of_idle_organizations_costs_one_statement_each(org, other_org, django_db_blocker):
    app.loader.import_default_modules()
    schemas = [org.organization.schema_name, other_org.organization.schema_name]

    with CaptureQueriesContext(connection) as two:
        assert sweep_batch.run(list(SWEEP_JOBS), schemas)["swept"] == 2
    probes = [query for query in two.captured_queries if query["sql"].startswith("SELECT EXISTS")]
    statements = [query["sql"] for query in two.captured_queries if not query["sql"].startswith("SET search_path")]
    # The active organizations, one probe each, the swept_at update: nothing else (besides each schema switch).
    assert len(probes) == 2
    assert len(statements) == 4, statements
    assert Organization.objects.filter(schema_name__in=schemas, swept_at=NOW).count() == 2


def test_a_schema_the_probe_cannot_read_counts_as_failed_and_the_others_are_swept(org, other_org, monkeypatch):
    app.loader.import_default_modules()
    from tenants import sweeps

    real = sweeps.SweepProbe.jobs_due

    def broken_for_alpha(self):
        if connection.schema_name == org.organization.schema_name:
            raise RuntimeError("alpha's tables are gone")
        return real(self)

    monkeypatch.setattr(sweeps.SweepProbe, "jobs_due", broken_for_alpha)
    result = sweep_batch.run(list(SWEEP_JOBS), [org.organization.schema_name, other_org.organization.schema_name])

    assert result == {"swept": 1, "failed": 1, "skipped": 0}
    swept = Organization.objects.filter(swept_at__isnull=False).values_list("schema_name", flat=True)
    assert list(swept) == [other_org.organization.schema_name]
