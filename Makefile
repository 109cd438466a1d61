# Two commands for a fresh machine:
#   make demo   - create .venv, install repprofile, score the bundled simulated candidates
#   make test   - create .venv, install with [dev], run ruff, the layer check, mypy --strict and pytest
#                 (first installs the Debian packages the tests need: tools/ci-system-deps.sh)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.stamp-run
STAMP_DEV := $(VENV)/.stamp-dev

.PHONY: demo test lint typecheck pytest system-deps bench bench-web clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $@

$(STAMP_DEV): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,server]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/repprofile demo --out demo-output

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

# PostgreSQL, chromium and axe-core (npm) for the web tests; make demo does not need them
system-deps:
	tools/ci-system-deps.sh

pytest: $(STAMP_DEV) system-deps
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/bench_scoring.py

bench-web: $(STAMP_DEV) system-deps
	$(BIN)/python benchmarks/bench_web.py

clean:
	rm -rf $(VENV) build dist demo-output .pytest_cache .mypy_cache .ruff_cache node_modules
