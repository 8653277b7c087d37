"""The database backend (spacemanager/database): no `SELECT 1` per request, and `SET search_path` only when the
session does not have that path yet, with the same recovery as before when the server goes away."""

import select

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
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
