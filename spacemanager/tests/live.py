"""A real web server (spacemanager.serve: granian, as in production) on loopback, against the test database.

For the tests that talk HTTP to the API from another process (schemathesis, a generated client): the
test commits its data (`transactional_db`), the server reads it through its own connections.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from spacemanager.testing import subprocess_database_url

BASE_DIR = Path(settings.BASE_DIR)
STARTUP_SECONDS = 30


@dataclass
class LiveServer:
    url: str
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1):  # noqa: S310 - our own loopback server
            return True
    except urllib.error.HTTPError:
        return True  # it answered, whatever it thinks of its dependencies
    except OSError:
        return False


@contextmanager
def live_server(
    *, log: Path, port: int | None = None, workers: int = 2, extra_environment: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """The production web server on 127.0.0.1:`port` (LIVE_SERVER_PORT, or a free one), stopped when the block
    ends; `extra_environment` sets more of its (GRANIAN_*) settings."""
    port = port or int(os.environ.get("LIVE_SERVER_PORT") or 0) or free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": subprocess_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PORT": str(port),
        "GRANIAN_HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(workers),
        "WEB_THREADS": "2",
        "LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
        **(extra_environment or {}),
    }
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "spacemanager.serve"],
            cwd=BASE_DIR,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while not _answers(url):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"The server did not start:\n{log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.2)
            yield LiveServer(url=url, log=log)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
