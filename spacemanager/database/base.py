"""The database backend: django-tenants' PostgreSQL backend, minus two round trips per request.

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
"""

import select

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from psycopg.pq import ConnStatus


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs):
        self._session_search_path: list[str] | None = None
        super().__init__(*args, **kwargs)

    def get_new_connection(self, conn_params):
        self._session_search_path = None
        return super().get_new_connection(conn_params)

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
