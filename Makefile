# Two entry points that do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test check lint typecheck unit fast bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

test: $(STAMP) lint typecheck unit

# While you work: lint, types and the tests that need no database file or server.
check: $(STAMP) lint typecheck fast

lint: $(STAMP)
	$(BIN)/ruff check ledger jobs cli api tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy ledger jobs cli api

unit: $(STAMP)
	$(BIN)/python -m pytest

fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit tests/cli

bench: $(STAMP)
	$(BIN)/python benchmarks/append_and_verify.py
	$(BIN)/python benchmarks/report_queries.py
	$(BIN)/python benchmarks/proofs.py
	$(BIN)/python benchmarks/integrity_at_scale.py --sizes 10000
	$(BIN)/python benchmarks/key_rotation.py --sizes 10000
	$(BIN)/python benchmarks/retention_plan.py --sizes 200,2000
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/api_load.py --requests 1000 --seconds 10

clean:
	rm -rf $(VENV) demo-data .pytest_cache .mypy_cache .ruff_cache
