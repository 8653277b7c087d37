"""The web process's settings (spacemanager.serve): granian's, from the platform's variables and defaults."""

from spacemanager.serve import DEFAULTS, granian_environment


def test_the_platforms_variables_become_granians():
    environment = granian_environment({"PORT": "9000", "WEB_CONCURRENCY": "3", "WEB_THREADS": "6"})

    assert environment["GRANIAN_PORT"] == "9000"
    assert environment["GRANIAN_WORKERS"] == "3"
    assert environment["GRANIAN_BLOCKING_THREADS"] == "6"
    assert environment["GRANIAN_INTERFACE"] == "wsgi"
    assert environment["GRANIAN_HOST"] == "0.0.0.0"  # noqa: S104 - what a container must listen on
    assert environment["GRANIAN_RESPAWN_FAILED_WORKERS"] == "true"


def test_without_variables_it_listens_on_8000_with_a_worker_per_core_and_four_threads(monkeypatch):
    monkeypatch.setattr("multiprocessing.cpu_count", lambda: 2)

    environment = granian_environment({})

    assert (environment["GRANIAN_PORT"], environment["GRANIAN_WORKERS"], environment["GRANIAN_BLOCKING_THREADS"]) == (
        "8000",
        "2",
        "4",
    )


def test_the_operators_granian_variables_win_over_every_default():
    chosen = {name: f"operator's {name}" for name in DEFAULTS}
    chosen |= {"GRANIAN_PORT": "7000", "GRANIAN_WORKERS": "5", "PORT": "9000", "WEB_CONCURRENCY": "3"}

    environment = granian_environment(chosen)

    assert {name: environment[name] for name in chosen} == chosen
