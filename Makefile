# The two commands README starts with: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# `make run` listens on loopback only (DEBUG is on); BIND=0.0.0.0 make run exposes it to the network.
BIND ?= 127.0.0.1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: bench run test fuzz lint format install migrate demo clean-data help validate-containers

help:
	@echo "make run    - install, start embedded services when none are configured, migrate, demo data, web + worker + beat"
	@echo "make test   - install and run the whole test suite"
	@echo "make fuzz   - schemathesis against a live server: the API keeps its OpenAPI schema's promises"
	@echo "make lint   - ruff format --check, ruff check and djlint (templates)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "SpaceManager needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate_schemas --executor=standard

demo: migrate
	$(BIN)/python manage.py ensure_demo --port $(PORT)

# One process holds the embedded servers (if any) while it migrates, creates the demo and runs Procfile.dev.
run: install
	$(BIN)/python manage.py run_dev --port $(PORT) --bind $(BIND)

test: install
	$(BIN)/pytest

# schemathesis against a live server (every check, a fixed seed): the API answers as its OpenAPI schema
# says. FUZZ_SEED and FUZZ_MAX_EXAMPLES change the run; LIVE_SERVER_PORT picks the server's port.
fuzz: install
	$(BIN)/pytest -m fuzz -p no:cacheprovider spacemanager/tests/test_api_contract.py

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/djlint templates --lint

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

validate-containers: install
	.ci/validate-containers

clean-data:
	rm -rf .data

# The load benchmark (not a test): Django and a FastAPI + asyncpg yardstick side by side. See bench/run.py.
bench: install
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/run.py $(BENCH_ARGS)
