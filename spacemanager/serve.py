"""The web process: granian's WSGI server in front of `spacemanager.wsgi`, tuned as measured.

    python -m spacemanager.serve

Environment: PORT (default 8000; binds 0.0.0.0), WEB_CONCURRENCY (worker processes, default one per core),
WEB_THREADS (threads per worker that run Django, default 4). Any other granian setting through its own
variables (GRANIAN_LOG_ACCESS_ENABLED=true for an access log, GRANIAN_WORKERS_MAX_RSS, ...): the defaults
below are set only where the variable is not, so the operator's value always wins. Every thread holds its
own database connection: plan max_connections for workers x threads per host (docs/operations.md).

Why granian and not gunicorn (which served until December 2026): with the same 2 processes x 4 threads on
two cores, `bench/run.py` measured granian's request handling (HTTP parsing and the WSGI environment built in
Rust) cheaper per request in every run on a quiet machine. CPU per request against the FastAPI yardstick,
higher is cheaper, two runs each, same code, 3 December 2026: availability from the cache 1.22 and 1.23
against gunicorn's 0.89 and 0.99, availability computed 0.48 and 0.45 against 0.36 and 0.41, booking 0.53 and
0.55 against 0.52 and 0.55 (there the database's work dominates). Earlier pairs on a machine loaded by other
jobs were mixed; those on a quiet one were not.

What gunicorn's settings did, and what does it now: workers are respawned if they die; a stopping worker gets
30 s to finish its requests. gunicorn's 30 s `timeout` never bounded a request with threaded workers (it
watches the worker's main loop), so nothing is lost there. gunicorn also replaced each worker after about
10,000 requests; granian can (GRANIAN_WORKERS_LIFETIME=6h or GRANIAN_WORKERS_MAX_RSS, in MiB), but without
the kernel's `net.ipv4.tcp_migrate_req=1` a replaced worker's queued connections are reset, so it is off
unless asked for (docs/operations.md).
"""

import multiprocessing
import os
import sys

# Granian's own variables, set only where the environment does not set them.
DEFAULTS = {
    "GRANIAN_INTERFACE": "wsgi",
    "GRANIAN_HOST": "0.0.0.0",  # noqa: S104 - a container's web process listens on every interface
    "GRANIAN_HTTP": "1",  # behind a proxy that speaks HTTP/1.1; HTTP/2 would add a surface and nothing else
    "GRANIAN_WEBSOCKETS": "false",
    "GRANIAN_RESPAWN_FAILED_WORKERS": "true",
    "GRANIAN_WORKERS_KILL_TIMEOUT": "30",
    "GRANIAN_LOG_LEVEL": "warning",  # Django logs requests' problems itself, with the request id
}


def granian_environment(environ: dict[str, str]) -> dict[str, str]:
    """`environ` with granian's settings filled in from PORT, WEB_CONCURRENCY, WEB_THREADS and the defaults."""
    derived = {
        "GRANIAN_PORT": environ.get("PORT", "8000"),
        "GRANIAN_WORKERS": environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count())),
        # One process per core x 4 threads measured best on two cores (a request waits on PostgreSQL for a
        # good part of its time, which other threads use).
        "GRANIAN_BLOCKING_THREADS": environ.get("WEB_THREADS", "4"),
    }
    return {**DEFAULTS, **derived, **environ}


def main() -> None:
    environment = granian_environment(dict(os.environ))
    command = [sys.executable, "-m", "granian", "spacemanager.wsgi:application"]
    os.execve(sys.executable, command, environment)  # noqa: S606 - our interpreter, a fixed module


if __name__ == "__main__":
    main()
