"""The database backend (spacemanager/database): no `SELECT 1` per request, and `SET search_path` only when the
session does not have that path yet, with the same recovery as before when the server goes away."""

import select
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from psycopg.pq import TransactionStatus

from accounts.models import User
from spacemanager.database.base import _may_change_schema
from spaces.models import Space


@pytest.fixture
def second_connection(db):
    """A connection of its own (not the test's transaction), closed afterwards."""
    other = connections["default"].copy()
    other.ensure_connection()
    yield other
    other.close()


def test_a_healthy_idle_connection_passes_the_health_check_without_a_query(second_connection):
    def refuse(*args, **kwargs):
        raise AssertionError("the health check ran a query")

    pgconn_cursor = second_connection.connection.cursor
    second_connection.connection.cursor = refuse
    try:
        assert second_connection.is_usable()
    finally:
        second_connection.connection.cursor = pgconn_cursor


def test_a_connection_the_server_ended_is_replaced_by_the_health_check(second_connection):
    pid = second_connection.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])  # what a restart does to every session
    # Wait (bounded) for the server's goodbye to arrive on the socket, as it has by the next request.
    select.select([second_connection.connection.pgconn.socket], [], [], 10)

    assert not second_connection.is_usable()
    second_connection.health_check_enabled, second_connection.health_check_done = True, False
    second_connection.close_if_health_check_failed()  # what Django does at a request's first query
    with second_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def _set_statements(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SET")]


def test_search_path_is_sent_only_when_the_session_lacks_it(org):
    connection.set_tenant(org.organization)
    Space.objects.count()
    with CaptureQueriesContext(connection) as queries:
        # A request's routing goes through the public schema, then back to the same organization.
        connection.set_schema_to_public()
        connection.set_tenant(org.organization)
        Space.objects.count()
    assert _set_statements(queries) == []

    with CaptureQueriesContext(connection) as queries:
        connection.set_schema_to_public()
        connection.set_tenant(org.organization)
        try:
            with transaction.atomic():
                # The public path, set inside a rolled-back savepoint, is undone by PostgreSQL: sent again after.
                connection.set_schema_to_public()
                User.objects.count()
                raise RuntimeError
        except RuntimeError:
            pass
        connection.set_tenant(org.organization)
        Space.objects.count()
    assert _set_statements(queries) == [
        'SET search_path = "public"',
        f'SET search_path = "{org.organization.schema_name}","public"',
    ]
    connection.set_schema_to_public()


PROBE = "SELECT %s::int AS prepared_probe"


@contextmanager
def rolled_back(other):
    """A transaction on `other` that ends in a rollback, as `atomic` ends one that raised."""
    other.set_autocommit(False)
    try:
        yield other.connection
    finally:
        other.rollback()
        other.set_autocommit(True)


def _prepared_probes(other) -> int:
    """How many prepared statements the session holds for PROBE (asked with a statement that is not PROBE)."""
    with other.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%prepared_probe%"])
        return cursor.fetchone()[0]


def _run_probe(other, times: int = 2) -> None:
    with other.cursor() as cursor:
        for _ in range(times):  # prepared from its second execution (prepare_threshold 1)
            cursor.execute(PROBE, [1])
            assert cursor.fetchone() == (1,)


def test_a_rollback_of_row_work_keeps_the_prepared_statements(second_connection):
    # A refused booking rolls back; psycopg alone would forget every prepared statement (DEALLOCATE ALL) and
    # PostgreSQL would plan the next requests' statements again.
    _run_probe(second_connection)
    assert _prepared_probes(second_connection) == 1
    with rolled_back(second_connection) as session:
        with second_connection.cursor() as cursor:
            cursor.execute("SELECT id FROM accounts_user WHERE id = %s FOR UPDATE", [1])
            cursor.execute("UPDATE accounts_user SET full_name = full_name WHERE id = %s", [-1])
        _run_probe(second_connection)
        assert session.info.transaction_status == TransactionStatus.INTRANS
    assert session.info.transaction_status == TransactionStatus.IDLE
    assert _prepared_probes(second_connection) == 1
    _run_probe(second_connection)  # still answers, from the kept statement


def test_a_rollback_after_a_failed_statement_keeps_them_and_the_session_works(second_connection):
    _run_probe(second_connection)
    with rolled_back(second_connection) as session:
        with pytest.raises(DatabaseError), second_connection.cursor() as cursor:
            cursor.execute("SELECT 1 / %s", [0])
        assert session.info.transaction_status == TransactionStatus.INERROR
    assert _prepared_probes(second_connection) == 1
    _run_probe(second_connection)


def test_a_rollback_of_a_schema_change_forgets_them_so_a_recreated_table_answers_its_new_columns(second_connection):
    second_connection.set_schema_to_public()
    statement = "SELECT * FROM rollback_probe WHERE %s::int = 1"
    with rolled_back(second_connection), second_connection.cursor() as cursor:
        cursor.execute("CREATE TABLE rollback_probe (a int)")
        for _ in range(2):
            cursor.execute(statement, [1])
    with rolled_back(second_connection), second_connection.cursor() as cursor:
        cursor.execute("CREATE TABLE rollback_probe (a int, b text)")
        cursor.execute("INSERT INTO rollback_probe VALUES (1, 'two columns')")
        # A statement kept from the undone table would fail here: "cached plan must not change result type".
        cursor.execute(statement, [1])
        assert cursor.fetchall() == [(1, "two columns")]


def test_a_schema_change_is_told_from_row_work_by_the_statement():
    assert not any(
        map(
            _may_change_schema,
            ["SELECT 1", "  with x as (select 1) select * from x", "INSERT INTO t VALUES (1)", "SET search_path = a"],
        )
    )
    assert all(
        map(
            _may_change_schema,
            ["CREATE TABLE t (a int)", "DO $$ BEGIN END $$", "-- a comment\nSELECT 1", "ALTER TABLE t", b"SELECT 1"],
        )
    )


def test_a_rollback_on_a_connection_the_server_ended_raises_a_database_error(second_connection):
    second_connection.set_autocommit(False)
    with second_connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    pid = second_connection.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    select.select([second_connection.connection.pgconn.socket], [], [], 10)
    with pytest.raises(DatabaseError):
        second_connection.rollback()
    assert not second_connection.is_usable()
