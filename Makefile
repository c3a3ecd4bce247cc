# The two commands of the README: `make run` and `make test`. Everything else is their parts.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install install-dev lint generate check-generated

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"

## Install and start the service on its embedded defaults (SQLite, in-process jobs, offline providers).
run: install
	$(BIN)/writer-service serve

## Regenerate generated/ from protos/.
generate: install-dev
	$(BIN)/python scripts/generate_protos.py

check-generated:
	$(BIN)/python scripts/generate_protos.py --check

lint:
	$(BIN)/buf lint
	$(BIN)/ruff check writer_service tests scripts bench server.py
	$(BIN)/mypy writer_service tests

## Install and run the whole test suite: contract lint, generated-code drift, style and types, tests.
test: install-dev
	$(MAKE) --no-print-directory lint check-generated
	$(BIN)/python -m pytest -q -ra
