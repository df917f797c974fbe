# Stripe ⇄ ERP pipelines. `make demo`, `make test`, `make bench`; see README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help venv system-deps test demo workbench bench clean

help:
	@echo "make demo   - sandboxes + 90 days of Stripe history + Dagster UI on http://127.0.0.1:3000"
	@echo "make test   - the whole test suite (creates the venv, starts a throwaway PostgreSQL)"
	@echo "make bench  - benchmarks; each prints its figures"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# PostgreSQL 15 from Debian's packages; tests start their own throwaway cluster with it.
# Chromium from Debian's packages for the browser tests (Playwright drives /usr/bin/chromium;
# Playwright's own browser download is never used).
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		echo "installing PostgreSQL from Debian's packages"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi
	@if ! test -x /usr/bin/chromium; then \
		echo "installing Chromium from Debian's packages"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

test: system-deps venv
	$(VENV)/bin/pytest -q tests

demo: venv
	$(PY) scripts/demo.py $(DEMO_ARGS)

workbench: venv
	$(PY) -m workbench $(WORKBENCH_ARGS)

bench: venv
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf $(VENV) data .pytest_cache
