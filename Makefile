# The two commands of the README are the contract: `make run` and `make test`.
# Everything else here is a step they call.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint typecheck unit bench clean

setup: $(STAMP)

# Reinstall whenever the declared dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/opencdmo init
	$(BIN)/opencdmo demo --replace
	$(BIN)/opencdmo status
	$(BIN)/opencdmo schedule --gantt var/schedule.html

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/bench_demo_scale.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
