"""Every variable settings.py reads is documented in .env.example and reaches the containers in Compose."""

import re

import yaml
from django.conf import settings

BASE_DIR = settings.BASE_DIR
SETTINGS_SOURCE = (BASE_DIR / "spacemanager" / "settings.py").read_text()
# env.str("NAME", ...), env.int("NAME"...), env.email_url("NAME"...), _required_in_production("NAME")
READ = re.compile(r'(?:env\.\w+|_required_in_production)\(\s*"([A-Z][A-Z0-9_]*)"')
# Development switches that production ignores.
NOT_FOR_CONTAINERS = {"DEBUG"}


def variables_read_by_settings() -> set[str]:
    return set(READ.findall(SETTINGS_SOURCE))


def test_the_settings_read_the_variables_this_test_knows_about():
    # Guards the pattern above: if settings change how they read the environment, this test must follow.
    assert {"SECRET_KEY", "DATABASE_URL", "EMAIL_URL", "THROTTLE_RATE_REFRESH", "SENTRY_DSN"} <= (
        variables_read_by_settings()
    )


def test_env_example_documents_every_variable():
    example = (BASE_DIR / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))

    assert variables_read_by_settings() - documented == set()


def test_compose_passes_every_variable_to_the_containers():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    environment = set(compose["x-app"]["environment"])

    assert variables_read_by_settings() - NOT_FOR_CONTAINERS - environment == set()


def test_compose_runs_the_celery_app_the_project_defines():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    worker, beat = compose["services"]["worker"]["command"], compose["services"]["beat"]["command"]

    assert worker[:4] == ["celery", "-A", "spacemanager", "worker"]
    assert beat[:4] == ["celery", "-A", "spacemanager", "beat"]
    # The image's app directory is not writable by the app user: the schedule goes to the prepared volume.
    schedule = beat[beat.index("--schedule") + 1]
    assert schedule.startswith("/var/lib/celery/")
    assert "beat-data:/var/lib/celery" in compose["services"]["beat"]["volumes"]
    assert "install -d -o app -g app /var/lib/celery" in (BASE_DIR / "Dockerfile").read_text()


def test_compose_has_no_default_secret_key_and_asks_the_operator_for_one():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    secret_key = compose["x-app"]["environment"]["SECRET_KEY"]

    assert secret_key.startswith("${SECRET_KEY:?")
    assert secret_key.endswith("}")
