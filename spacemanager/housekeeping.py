"""Pruning the public tables that would otherwise only grow: sessions, expired JWTs, the idempotency ledger.

Each runs as many short DELETEs of `batch_size` rows as needed (beat: tenants.tasks.public_tables_prune),
picked from an index on the expiry column, so no statement holds locks or bloats the WAL for long.
"""

from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


def delete_in_batches(queryset: QuerySet, *, batch_size: int) -> int:
    """Delete what `queryset` matches, `batch_size` rows per statement and transaction; returns how many."""
    model = queryset.model
    deleted = 0
    while True:
        with transaction.atomic():
            pks = list(queryset.order_by().values_list("pk", flat=True)[:batch_size])
            if not pks:
                return deleted
            model.objects.filter(pk__in=pks).delete()  # cascades (a token's blacklist entry) go along
        deleted += len(pks)
        if len(pks) < batch_size:
            return deleted


def sessions_prune(*, batch_size: int = 5_000) -> int:
    """Expired sessions (Django's `clearsessions` does it in one statement); the expire_date index finds them."""
    return delete_in_batches(Session.objects.filter(expire_date__lt=timezone.now()), batch_size=batch_size)


def tokens_prune(*, batch_size: int = 5_000) -> int:
    """Refresh tokens past their expiry, with their blacklist entries: an expired token is refused anyway.

    simplejwt's `flushexpiredtokens` deletes them all in one statement and has no index to find them; the
    index accounts_outstanding_token_expires (accounts migration) serves this query.
    """
    expired = OutstandingToken.objects.filter(expires_at__lt=timezone.now())
    return delete_in_batches(expired, batch_size=batch_size)
