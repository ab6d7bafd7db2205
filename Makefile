# hpf — two commands: `make demo` and `make test`. Everything installs itself into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint pytest bench serve clean

$(BIN)/python:
	$(PYTHON) scripts/bootstrap_venv.py $(VENV)

$(VENV)/.installed: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock
	$(BIN)/python -m pip install -q -r requirements-dev.lock
	touch $@

## demo: create/migrate the embedded SQLite database and serve http://127.0.0.1:8000
demo: $(VENV)/.installed
	$(BIN)/hpf db upgrade
	$(BIN)/hpf org seed
	$(BIN)/hpf serve --host 127.0.0.1 --port 8000

serve: $(VENV)/.installed
	$(BIN)/hpf serve

## test: lint, type-check, then the whole test suite on SQLite and PostgreSQL
test: lint pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy src/hpf
	$(BIN)/lint-imports

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -n 2 --dist loadfile -m "not slow"

## bench: benchmarks against raw-database baselines (long; not part of make test)
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/ledger_verify.py --postings 1000000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
