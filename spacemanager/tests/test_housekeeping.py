from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from spacemanager.housekeeping import sessions_prune, tokens_prune
from tenants.tasks import public_tables_prune

pytestmark = pytest.mark.django_db


def make_sessions(count: int, *, expired: bool) -> None:
    for _ in range(count):
        session = SessionStore()
        session["x"] = 1
        session.create()
        if expired:
            Session.objects.filter(pk=session.session_key).update(expire_date=timezone.now() - timedelta(days=1))


def make_token(jti: str, *, expired: bool, blacklisted: bool) -> OutstandingToken:
    token = OutstandingToken.objects.create(
        jti=jti, token="t", expires_at=timezone.now() + timedelta(days=-1 if expired else 1)
    )
    if blacklisted:
        BlacklistedToken.objects.create(token=token)
    return token


def test_expired_sessions_go_in_batches_and_live_ones_stay():
    make_sessions(5, expired=True)
    make_sessions(2, expired=False)

    with CaptureQueriesContext(connection) as queries:
        assert sessions_prune(batch_size=2) == 5

    assert Session.objects.count() == 2
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 2 + 2 + 1: no statement deletes more than a batch


def test_expired_tokens_go_with_their_blacklist_entries_and_valid_ones_stay():
    make_token("old-1", expired=True, blacklisted=True)
    make_token("old-2", expired=True, blacklisted=False)
    live = make_token("live", expired=False, blacklisted=True)

    assert tokens_prune(batch_size=1) == 2

    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == ["live"]
    assert list(BlacklistedToken.objects.values_list("token_id", flat=True)) == [live.pk]


def test_the_expiry_of_tokens_is_indexed():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'token_blacklist_outstandingtoken' "
            "AND indexname = 'accounts_outstanding_token_expires'"
        )
        assert "(expires_at)" in cursor.fetchone()[0]


def test_the_beat_job_prunes_every_growing_table():
    make_sessions(1, expired=True)
    make_token("old", expired=True, blacklisted=True)

    assert public_tables_prune.run() == {"sessions": 1, "tokens": 1, "idempotency_keys": 0}
