import signal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command


@pytest.fixture
def keep_signal_handlers():
    # honcho installs its own SIGINT/SIGTERM handlers; give pytest its own back.
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_run_dev_hands_the_resolved_servers_to_every_process(
    tmp_path, settings, monkeypatch, capsys, keep_signal_handlers
):
    prepared = []
    monkeypatch.setattr(
        "tenants.management.commands.run_dev.call_command", lambda name, **options: prepared.append(name)
    )
    procfile = tmp_path / "Procfile.dev"
    # One process: honcho stops the others as soon as one exits.
    procfile.write_text(
        "web: python -c \"import os; print(*map(os.environ.get, ['DATABASE_URL', 'REDIS_URL', 'PORT']))\"\n"
    )

    with pytest.raises(SystemExit) as exit_:
        call_command("run_dev", port="8123", procfile=str(procfile))

    output = capsys.readouterr().out
    assert exit_.value.code == 0
    assert prepared == ["migrate_schemas", "ensure_demo"]
    assert f"web    | {settings.DATABASE_URL} {settings.REDIS_URL} 8123" in output


def test_run_dev_refuses_production(settings):
    settings.IS_PRODUCTION = True

    with pytest.raises(CommandError, match="development"):
        call_command("run_dev")


@pytest.mark.parametrize(("options", "expected"), [({}, "127.0.0.1"), ({"bind": "0.0.0.0"}, "0.0.0.0")])  # noqa: S104
def test_run_dev_serves_on_loopback_unless_told_otherwise(
    tmp_path, monkeypatch, capsys, keep_signal_handlers, options, expected
):
    monkeypatch.setattr("tenants.management.commands.run_dev.call_command", lambda name, **options: None)
    procfile = tmp_path / "Procfile.dev"
    procfile.write_text("web: python -c \"import os; print('bind', os.environ['BIND_ADDRESS'])\"\n")

    with pytest.raises(SystemExit):
        call_command("run_dev", port="8123", procfile=str(procfile), **options)

    assert f"web    | bind {expected}" in capsys.readouterr().out


def test_the_development_procfile_serves_on_the_address_run_dev_hands_over():
    procfile = (settings.BASE_DIR / "Procfile.dev").read_text()

    assert "runserver ${BIND_ADDRESS:-127.0.0.1}:$PORT" in procfile
    assert "0.0.0.0" not in procfile  # noqa: S104


def test_run_dev_points_email_links_at_its_own_port_unless_site_url_is_set(
    tmp_path, monkeypatch, capsys, keep_signal_handlers
):
    monkeypatch.setattr("tenants.management.commands.run_dev.call_command", lambda name, **options: None)
    monkeypatch.delenv("SITE_URL", raising=False)
    procfile = tmp_path / "Procfile.dev"
    procfile.write_text("web: python -c \"import os; print('site', os.environ['SITE_URL'])\"\n")

    with pytest.raises(SystemExit):
        call_command("run_dev", port="8123", procfile=str(procfile))

    assert "web    | site http://localhost:8123" in capsys.readouterr().out
