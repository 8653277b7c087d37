import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections

from tenants.idempotency import ClaimBusy, OnceKey, claim_once, complete, release
from tenants.models import IdempotencyKey

KEY = OnceKey("reservation_reminder", 42, version="2026-03-03T09:00:00+00:00", schema_name="org_alpha")


@pytest.mark.django_db
def test_the_first_claim_wins_and_a_completed_key_is_never_claimed_again():
    assert claim_once(KEY) is True
    complete(KEY)

    assert claim_once(KEY) is False
    assert claim_once(KEY) is False
    assert IdempotencyKey.objects.get().state == IdempotencyKey.State.DONE


@pytest.mark.django_db
def test_keys_differ_by_organization_kind_object_and_version():
    claim_once(KEY)
    complete(KEY)

    assert claim_once(OnceKey(KEY.kind, KEY.object_id, version=KEY.version, schema_name="org_beta")) is True
    assert claim_once(OnceKey("reservation_confirmation", 42, version=KEY.version, schema_name="org_alpha")) is True
    assert claim_once(OnceKey(KEY.kind, 43, version=KEY.version, schema_name="org_alpha")) is True
    assert claim_once(OnceKey(KEY.kind, 42, version="2026-03-04T09:00:00+00:00", schema_name="org_alpha")) is True


@pytest.mark.django_db
def test_the_schema_defaults_to_the_organization_the_code_runs_for(in_tenant):
    assert OnceKey("reservation_reminder", 1).schema_name == "org_alpha"


@pytest.mark.django_db
def test_a_fresh_claim_held_by_another_run_asks_to_retry_when_it_expires():
    with time_machine.travel("2026-03-03 09:00Z", tick=False):
        claim_once(KEY, lease=timedelta(minutes=6))
    with time_machine.travel("2026-03-03 09:04Z", tick=False), pytest.raises(ClaimBusy) as busy:
        claim_once(KEY, lease=timedelta(minutes=6))

    assert busy.value.retry_after == 120


@pytest.mark.django_db
def test_a_stale_claim_of_a_killed_worker_is_taken_over_so_the_email_is_not_lost():
    with time_machine.travel("2026-03-03 09:00Z", tick=False):
        claim_once(KEY, lease=timedelta(minutes=6))

    with time_machine.travel("2026-03-03 09:07Z", tick=False):
        assert claim_once(KEY, lease=timedelta(minutes=6)) is True
        with pytest.raises(ClaimBusy):
            claim_once(KEY, lease=timedelta(minutes=6))


@pytest.mark.django_db
def test_a_released_claim_can_be_claimed_again_by_the_retry():
    claim_once(KEY)
    release(KEY)

    assert claim_once(KEY) is True


@pytest.mark.django_db
def test_release_never_undoes_a_completed_key():
    claim_once(KEY)
    complete(KEY)
    release(KEY)

    assert claim_once(KEY) is False


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_have_exactly_one_winner():
    contenders = 8
    barrier = threading.Barrier(contenders)
    outcomes: list[str] = []

    def contend() -> None:
        try:
            barrier.wait()
            outcomes.append("won" if claim_once(KEY) else "done")
        except ClaimBusy:
            outcomes.append("busy")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=contend) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["busy"] * (contenders - 1) + ["won"]
    assert IdempotencyKey.objects.count() == 1
    assert connection.schema_name == "public"
