"""Do a side effect at most once, even when its task runs twice or two runs overlap.

    claim_once(key) -> send -> complete(key);   on failure: release(key) and let the task retry.

A claim is a lease: a worker killed between claiming and completing leaves a stale claim that another run
takes over once the lease has expired (the lease outlasts the hard task time limit, so the first holder is
dead by then). A fresh claim held by someone else raises `ClaimBusy` with the seconds to wait, so the caller
retries later instead of dropping the work. The one window left is a crash after the email left but before
`complete()` was written: that email goes out twice. We prefer that to losing one (docs/background.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from tenants.models import IdempotencyKey


def _current_schema() -> str:
    return connection.schema_name


@dataclass(frozen=True)
class OnceKey:
    """What must happen once: e.g. `OnceKey("reservation_reminder", reservation.id, version=starts_at_iso)`.

    The schema defaults to the connection's, i.e. the organization the task runs for.
    """

    kind: str
    object_id: str | int
    version: str = ""
    schema_name: str = field(default_factory=_current_schema)

    def lookup(self) -> dict[str, str]:
        return {
            "schema_name": self.schema_name,
            "kind": self.kind,
            "object_id": str(self.object_id),
            "version": str(self.version),
        }


class ClaimBusy(Exception):
    """Another run holds a fresh claim on this key; try again after `retry_after` seconds."""

    def __init__(self, key: OnceKey, retry_after: float) -> None:
        super().__init__(f"{key} is being handled by another run; retry in {retry_after:.0f} s")
        self.key = key
        self.retry_after = retry_after


def claim_lease() -> timedelta:
    """Longer than any task may run (Celery kills it at the hard time limit), so a live holder is never robbed."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


def claim_once(key: OnceKey, *, lease: timedelta | None = None) -> bool:
    """True: the caller now owns the side effect and must `complete()` or `release()` it.

    False: it has been done already. Raises `ClaimBusy` while another run owns a fresh claim.
    Race-safe through the unique constraint; call it outside a transaction so the claim is visible at once.
    """
    lease = lease or claim_lease()
    now = timezone.now()
    entry, created = IdempotencyKey.objects.get_or_create(**key.lookup(), defaults={"claimed_at": now})
    if created:
        return True
    if entry.state == IdempotencyKey.State.DONE:
        return False
    expires_at = entry.claimed_at + lease
    if expires_at <= now:
        # A stale claim: its holder died. The conditional update lets exactly one contender take it over.
        taken_over = IdempotencyKey.objects.filter(
            pk=entry.pk, state=IdempotencyKey.State.CLAIMED, claimed_at=entry.claimed_at
        ).update(claimed_at=now)
        if taken_over:
            return True
        raise ClaimBusy(key, lease.total_seconds())
    raise ClaimBusy(key, (expires_at - now).total_seconds())


def keys_done(*, kind: str, object_ids: Iterable[str | int], schema_name: str | None = None) -> set[tuple[str, str]]:
    """The (object id, version) pairs of `kind` already done in the schema (the connection's by default)."""
    return set(
        IdempotencyKey.objects.filter(
            schema_name=schema_name or _current_schema(),
            kind=kind,
            object_id__in=[str(object_id) for object_id in object_ids],
            state=IdempotencyKey.State.DONE,
        ).values_list("object_id", "version")
    )


def complete(key: OnceKey) -> None:
    """The side effect happened: every later claim of this key answers False."""
    IdempotencyKey.objects.filter(**key.lookup(), state=IdempotencyKey.State.CLAIMED).update(
        state=IdempotencyKey.State.DONE, done_at=timezone.now()
    )


def release(key: OnceKey) -> None:
    """The side effect failed: give the claim up so a retry can claim it again."""
    IdempotencyKey.objects.filter(**key.lookup(), state=IdempotencyKey.State.CLAIMED).delete()


def idempotency_keys_prune(*, older_than: timedelta, batch_size: int = 5_000) -> int:
    """Forget keys claimed longer ago than any retry or duplicate delivery could arrive, `batch_size` rows
    per statement (from the index on claimed_at); returns how many.

    Requests' keys go after their 24-hour replay window: the answers they keep may carry tokens.
    """
    from spacemanager.housekeeping import delete_in_batches

    now = timezone.now()
    deleted = delete_in_batches(IdempotencyKey.objects.filter(claimed_at__lt=now - older_than), batch_size=batch_size)
    replays = delete_in_batches(
        IdempotencyKey.objects.filter(kind__in=REQUEST_KINDS, claimed_at__lt=now - REQUEST_REPLAY_WINDOW),
        batch_size=batch_size,
    )
    return deleted + replays


# Requests: an API POST with an `Idempotency-Key`, a page form's one-time token (spacemanager.idempotent_requests).

REQUEST_REPLAY_WINDOW = timedelta(hours=24)
API_REQUEST_KIND = "api_post"
FORM_REQUEST_KIND = "form_post"
REQUEST_KINDS = (API_REQUEST_KIND, FORM_REQUEST_KIND)


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


class RequestInProgress(Exception):
    """The same key is held by a request that is still running."""


class RequestMismatch(Exception):
    """The key was first used for another request (another body, path or query)."""


def request_claim(key: OnceKey, *, request_hash: str, lease: timedelta) -> StoredAnswer | None:
    """None: the caller runs the request and must `request_complete()` or `release()` the key.

    A StoredAnswer: the request was done within REQUEST_REPLAY_WINDOW; answer that again and do nothing.
    Raises RequestMismatch for a key first used with another request, RequestInProgress while the first
    holder runs. An older entry, or a claim whose holder died (its lease ran out), starts afresh.
    """
    now = timezone.now()
    entry, created = IdempotencyKey.objects.get_or_create(
        **key.lookup(), defaults={"claimed_at": now, "request_hash": request_hash}
    )
    if created:
        return None
    if entry.claimed_at <= now - REQUEST_REPLAY_WINDOW or (
        entry.state == IdempotencyKey.State.CLAIMED and entry.claimed_at + lease <= now
    ):
        # Forgotten or abandoned: the conditional update lets exactly one contender start over.
        restarted = IdempotencyKey.objects.filter(pk=entry.pk, claimed_at=entry.claimed_at).update(
            state=IdempotencyKey.State.CLAIMED,
            claimed_at=now,
            done_at=None,
            request_hash=request_hash,
            response_status=None,
            response_headers={},
            response_body=None,
        )
        if restarted:
            return None
        raise RequestInProgress
    if entry.request_hash != request_hash:
        raise RequestMismatch
    if entry.state == IdempotencyKey.State.CLAIMED:
        raise RequestInProgress
    return StoredAnswer(entry.response_status, entry.response_headers, bytes(entry.response_body or b""))


def request_complete(key: OnceKey, answer: StoredAnswer) -> None:
    """The request ran to an answer worth replaying: remember it."""
    IdempotencyKey.objects.filter(**key.lookup(), state=IdempotencyKey.State.CLAIMED).update(
        state=IdempotencyKey.State.DONE,
        done_at=timezone.now(),
        response_status=answer.status,
        response_headers=answer.headers,
        response_body=answer.body,
    )
