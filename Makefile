# cippusers — every target creates .venv with python3 (3.11 or newer) and installs what it needs first,
# so each one works on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
ARGS ?=
TEST_ARGS ?=

.PHONY: run test bench verify lint venv clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v=sys.version_info; sys.exit(0 if v >= (3, 11) else "cippusers needs Python 3.11 or newer; python3 here is %d.%d. Install a newer Python or run make PYTHON=python3.12 ..." % v[:2])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

# ARGS go to rundemo (e.g. make run ARGS=--reseed). exec: rundemo replaces the recipe's shell, so the
# SIGTERM make forwards to its child reaches rundemo, which stops everything it started.
run: $(STAMP)
	PORT=$(PORT) exec $(PY) manage.py rundemo --port $(PORT) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(TEST_ARGS)

# The bench extra (msgraph-sdk, the sync benchmark's peer) is installed for `make bench` only.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m bench $(ARGS)

# The reliability and security proof (issue 8): prints one figure per line, fails when one misses its bound.
verify: $(STAMP)
	$(PY) -m verify $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) var staticfiles
