# The two commands of the README are the contract: `make run` and `make test`.
# Everything else here is a step they call.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_WORKERS ?= 2

.PHONY: setup run test lint typecheck unit bench bench-web clean

setup: $(STAMP)

# Reinstall whenever the declared dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Idempotent: a second `make run` keeps the demo it built (GMP records are never deleted; remove
# var/opencdmo.sqlite3 to start afresh), plans it again and prints new passwords for the demo users.
# demo-quality takes a few batches through execution, QC and release before the plan is made (so the plan
# knows), and before demo-users: it signs as the demo staff with passwords it keeps in memory only, and
# demo-users then hands out the ones to sign in with. The last step serves in the foreground until Ctrl-C.
run: setup
	$(BIN)/opencdmo init
	$(BIN)/opencdmo demo --if-empty
	$(BIN)/opencdmo status
	$(BIN)/opencdmo demo-quality
	$(BIN)/opencdmo schedule --gantt var/schedule.html
	$(BIN)/opencdmo demo-users
	$(BIN)/opencdmo serve --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy

# Two workers (pytest-xdist): each test has its own database (an SQLite file, or a PostgreSQL schema) and the
# browser tests start one server per worker, so tests never share state.
test: lint typecheck
	$(BIN)/pytest -n $(TEST_WORKERS)

bench: setup
	$(BIN)/python bench/bench_demo_scale.py

# Load on the web app: 50 concurrent clients for 20 s against a demo served on a free local port.
bench-web: setup
	$(BIN)/python bench/bench_web_load.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
