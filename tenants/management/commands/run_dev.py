import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

INTERRUPTED = 130  # honcho's return code after SIGINT


class Command(BaseCommand):
    help = (
        "Development: migrate, ensure the demo organization, then run web, worker and beat (Procfile.dev) "
        "together until Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000")
        # Loopback unless asked: development runs with DEBUG on and a published SECRET_KEY.
        parser.add_argument(
            "--bind", default="127.0.0.1", help="Address the web server listens on (0.0.0.0 exposes it to the network)."
        )
        parser.add_argument("--procfile", default=str(settings.BASE_DIR / "Procfile.dev"))

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("run_dev is for development; run web, worker and beat as separate services.")
        try:
            from honcho.environ import parse_procfile
            from honcho.manager import Manager
        except ImportError as exc:
            raise CommandError("run_dev needs honcho: pip install -r requirements-dev.txt") from exc
        procfile = Path(options["procfile"])
        if not procfile.is_file():
            raise CommandError(f"No Procfile at {procfile}.")
        port = str(options["port"])

        # Loading settings started (or joined) the embedded PostgreSQL and Redis when no URLs were given; this
        # process holds them for the whole session, so migrate, the demo step and the three processes share
        # one server each, and they stop when this process exits, after its children (embedded.py).
        call_command("migrate_schemas", executor="standard", interactive=False, verbosity=0)
        call_command("ensure_demo", port=port)
        mail_dir = settings.EMAIL_FILE_PATH or "(EMAIL_URL backend)"
        self.stdout.write(f"  Emails:        {mail_dir}\n  Ctrl-C stops web, worker and beat.\n")
        connections.close_all()  # the children must not inherit this process's database connections
        self.stdout.flush()

        manager = Manager()
        for name, command in parse_procfile(procfile.read_text()).processes.items():
            manager.add_process(
                name, command, env=self._child_environment(port, options["bind"]), cwd=str(settings.BASE_DIR)
            )
        manager.loop()
        # Ctrl-C is how a developer stops it, not a failure.
        sys.exit(0 if manager.returncode == INTERRUPTED else manager.returncode)

    @staticmethod
    def _child_environment(port: str, bind: str) -> dict[str, str]:
        """The resolved URLs, so children use the servers held here instead of starting their own."""
        bin_dir = str(Path(sys.executable).parent)
        return {
            **os.environ,
            "DATABASE_URL": settings.DATABASE_URL,
            "REDIS_URL": settings.REDIS_URL,
            "PORT": port,
            "BIND_ADDRESS": bind,
            # Links in emails point at this server unless SITE_URL is configured (environment or .env).
            "SITE_URL": os.environ.get("SITE_URL") or f"http://{settings.BASE_DOMAIN}:{port}",
            "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
            "PYTHONUNBUFFERED": "1",
        }
