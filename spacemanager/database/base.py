"""The database backend: django-tenants' PostgreSQL backend, minus two round trips per request and the
re-planning after a rollback.

- The connection health check (CONN_HEALTH_CHECKS, once per request) no longer sends `SELECT 1`. An idle
  connection that the server has closed (a restart or a terminated backend sends a FATAL message, then the
  socket ends) has something to read; a live idle one has nothing. Only then is the real check run, and
  Django reconnects as before. So recovery after a PostgreSQL restart is what it was, without a query on
  the hot path.
- `SET search_path` is sent only when the session does not have that path already. django-tenants forgets
  the path at every `set_tenant` (each request routes through the public schema, then the organization),
  and so sent it again on every request. Here the path the session really has is remembered, and forgotten
  whenever it may have changed without us: a rollback (a `SET` inside a rolled-back transaction is undone),
  a savepoint rollback, a new or closed connection.
- A rollback keeps the connection's prepared statements. psycopg forgets them all on every ROLLBACK (and sends
  `DEALLOCATE ALL`) in case the transaction created an object a statement was prepared against, which a later
  one of the same name could replace. A refused booking (409) or any other refusal inside a transaction
  rolls back, so PostgreSQL planned every statement of the next requests again: at the benchmark's one 409 in
  eleven bookings, 0.25-0.3 ms of PostgreSQL CPU a booking. Here the transaction's statements are watched
  (`_SchemaWatch`): when any of them was not one that reads or writes rows (DDL, a `DO` block, anything
  unrecognised), the rollback is psycopg's own and forgets them as before.
"""

import re
import select

from django.db.backends.postgresql.base import Cursor, ServerBindingCursor
from django.db.backends.utils import debug_transaction
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from psycopg import errors
from psycopg.pq import ConnStatus, ExecStatus, TransactionStatus

# Statements that read or write rows, lock them, or set session values: none changes what a prepared statement
# refers to. Anything else (CREATE, DROP, ALTER, DO, a leading comment...) counts as a possible schema change.
_ROW_STATEMENT = re.compile(
    r"\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH|VALUES|SAVEPOINT|RELEASE|SET|SHOW|LOCK|COPY)\b", re.IGNORECASE
).match


def _may_change_schema(query) -> bool:
    return not (isinstance(query, str) and _ROW_STATEMENT(query))


class _SchemaWatch:
    """psycopg cursor mixin: marks its connection when a statement may change the schema, for `_rollback`."""

    def execute(self, query, params=None, **kwargs):
        if _may_change_schema(query):
            self.connection.schema_may_have_changed = True
        return super().execute(query, params, **kwargs)

    def executemany(self, query, params_seq, **kwargs):
        if _may_change_schema(query):
            self.connection.schema_may_have_changed = True
        return super().executemany(query, params_seq, **kwargs)


class _WatchedServerBindingCursor(_SchemaWatch, ServerBindingCursor):
    pass


class _WatchedCursor(_SchemaWatch, Cursor):
    pass


_WATCHED = {ServerBindingCursor: _WatchedServerBindingCursor, Cursor: _WatchedCursor}


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs):
        self._session_search_path: list[str] | None = None
        super().__init__(*args, **kwargs)

    def get_connection_params(self):
        params = super().get_connection_params()
        params["cursor_factory"] = _WATCHED.get(params.get("cursor_factory"), params.get("cursor_factory"))
        return params

    def get_new_connection(self, conn_params):
        self._session_search_path = None
        connection = super().get_new_connection(conn_params)
        connection.schema_may_have_changed = False
        return connection

    def _commit(self):
        if self.connection is not None:
            self.connection.schema_may_have_changed = False
        return super()._commit()

    def _rollback(self):
        connection = self.connection
        if (
            connection is None
            or getattr(connection, "schema_may_have_changed", True)
            or connection.pgconn.transaction_status not in (TransactionStatus.INTRANS, TransactionStatus.INERROR)
        ):
            if connection is not None:
                connection.schema_may_have_changed = False
            return super()._rollback()
        # Only rows were read or written: end the transaction without psycopg's forgetting (libpq directly;
        # psycopg reads the transaction's state from libpq, so it sees the session idle again).
        with debug_transaction(self, "ROLLBACK"), self.wrap_database_errors, connection.lock:
            result = connection.pgconn.exec_(b"ROLLBACK")
            if result.status != ExecStatus.COMMAND_OK:
                raise errors.error_from_result(result, encoding=connection.info.encoding)

    def close(self):
        self._session_search_path = None
        super().close()

    def rollback(self):
        self._session_search_path = None
        super().rollback()

    def savepoint_rollback(self, sid):
        self._session_search_path = None
        super().savepoint_rollback(sid)

    def _handle_search_path(self, cursor=None):
        if (
            not self._setting_search_path
            and self.search_path_set_schemas is None
            and self._session_search_path is not None
            and self.schema_name
            and self._get_cursor_search_paths() == self._session_search_path
        ):
            self.search_path_set_schemas = self._session_search_path
            return
        super()._handle_search_path(cursor)
        if self.search_path_set_schemas is not None:
            self._session_search_path = list(self.search_path_set_schemas)

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        pgconn = connection.pgconn
        if pgconn.status != ConnStatus.OK:
            return False
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
        # Nothing to read on an idle connection: nothing happened to it. Something to read (a FATAL message,
        # the end of the stream, or a notice): ask the server, as Django does.
        return super().is_usable() if readable else True
