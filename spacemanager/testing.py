"""Helpers for tests that run `manage.py` in a subprocess, as an operator would."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def subprocess_database_url() -> str:
    """The database pytest is using (test_<name>), as a DATABASE_URL a subprocess can use."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or db.get("OPTIONS", {}).get("host") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    if host.startswith("/"):  # a Unix socket directory (the embedded server)
        return f"postgres://{credentials}@/{db['NAME']}?host={quote(host)}"
    return f"postgres://{credentials}@{host}{port}/{db['NAME']}"


def manage_py(
    *args: str, env: dict[str, str | None] | None = None, stdin_text: str | None = None, timeout: int = 120
) -> subprocess.CompletedProcess:
    """Run `python manage.py ARGS` against the test database; `env` replaces, adds or (None) removes variables."""
    environment = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": subprocess_database_url(),
        # The parent's Redis (machine or embedded), so a subprocess never starts a second embedded server.
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONDONTWRITEBYTECODE": "1",
        **(env or {}),
    }
    environment = {key: value for key, value in environment.items() if value is not None}
    return subprocess.run(  # noqa: S603 - fixed interpreter and script, arguments from tests
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        cwd=BASE_DIR,
        env=environment,
        input=stdin_text,
        stdin=None if stdin_text is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def logged_in_client(client, *, host: str, user):
    """Django's test client logged in as `user` (a session, as the admin uses) on `host`."""
    client.force_login(user)
    client.defaults["HTTP_HOST"] = host
    return client


def explain(queryset, **planner: bool) -> str:
    """PostgreSQL's plan for the queryset, as text.

    Test tables are tiny and unanalysed, so the planner's own choice says little. Switching plan types off
    (`enable_seqscan=False`, `enable_sort=False`, ...) shows what an index makes possible: with sorts off, an
    ordered Index Scan appears only if some index yields the rows in that order.
    """
    from django.db import transaction

    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        for name, enabled in planner.items():
            if not name.startswith("enable_"):
                raise ValueError(f"Not a planner switch: {name}")
            cursor.execute(f"SET LOCAL {name} = {'on' if enabled else 'off'}")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        for name in planner:
            cursor.execute(f"SET LOCAL {name} = on")
    return plan
