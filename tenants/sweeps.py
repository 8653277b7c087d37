"""Which sweep jobs an organization has work for, asked in one statement before any job runs.

A sweep job (spacemanager.beat.SWEEP_JOBS) is a per-organization task body: reminders, no-shows, expiries,
webhook retries. Most organizations have nothing due for most of them on most ticks, yet each job's body
costs a handful of statements, a transaction or two, and the Python that builds them (about 11 ms of CPU and
10 statements an organization, measured). So each job registers its *due probe*: the querysets of its own
candidates, taken from the services it calls (a superset of what it will act on, never less). The sweep
compiles them, once per batch, into one `SELECT EXISTS (…) OR EXISTS (…), …` and runs it in each
organization's schema (the SQL names no schema: the search path picks it); only the jobs it answers true for
run there.

A job without a probe always runs. A probe must never miss work its job would do: the tests check each one
against its job (tenants/tests/test_sweeps.py).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import QuerySet

DueProbe = Callable[[datetime], Iterable[QuerySet]]

_probes: dict[str, DueProbe] = {}


def sweep_due_probe(task_name: str) -> Callable[[DueProbe], DueProbe]:
    """Register the decorated `probe(now)` for the sweep job `task_name` (in the job's tasks module)."""

    def register(probe: DueProbe) -> DueProbe:
        _probes[task_name] = probe
        return probe

    return register


def sweep_probe_of(task_name: str) -> DueProbe | None:
    return _probes.get(task_name)


@dataclass(frozen=True)
class SweepProbe:
    """One compiled statement answering, per job, "is anything due?" in the connection's current schema."""

    jobs: tuple[str, ...]  # the jobs that have a probe, in the statement's column order
    unprobed: tuple[str, ...]  # the jobs that always run
    sql: str
    params: tuple

    def jobs_due(self) -> set[str]:
        due = set(self.unprobed)
        if self.jobs:
            with connection.cursor() as cursor:
                cursor.execute(self.sql, self.params)
                answers = cursor.fetchone()
            due.update(job for job, answer in zip(self.jobs, answers, strict=True) if answer)
        return due


def _exists_sql(queryset: QuerySet) -> tuple[str, tuple]:
    query = queryset.query.exists(limit=True)
    sql, params = query.get_compiler(using=queryset.db or DEFAULT_DB_ALIAS).as_sql()
    return f"EXISTS ({sql})", tuple(params)


def sweep_probe_build(jobs: Sequence[str], *, now: datetime) -> SweepProbe:
    """The probe of `jobs` at `now`: their querysets compiled once, to be run in each organization."""
    probed, unprobed, columns, params = [], [], [], []
    for job in jobs:
        probe = _probes.get(job)
        if probe is None:
            unprobed.append(job)
            continue
        parts = [_exists_sql(queryset) for queryset in probe(now)]
        probed.append(job)
        columns.append(" OR ".join(sql for sql, _ in parts) if parts else "FALSE")
        params.extend(param for _, part_params in parts for param in part_params)
    sql = "SELECT " + ", ".join(columns) if columns else ""
    return SweepProbe(jobs=tuple(probed), unprobed=tuple(unprobed), sql=sql, params=tuple(params))
