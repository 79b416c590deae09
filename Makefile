# One-command workflows. Every target creates .venv from the pinned requirements first, so a
# fresh clone needs nothing but python3 (3.10+) and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
export DO_NOT_TRACK := 1
# The SDK CLI runs `pipreqs` from PATH; make the venv's tools visible to every recipe.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: venv test lint format demo bench package deploy clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(STAMP)

## lint: black and flake8, the same checks CI enforces
lint: venv
	$(BIN)/black --check --quiet .
	$(BIN)/flake8

## format: rewrite the code with black
format: venv
	$(BIN)/black --quiet .

## test: lint, then the whole test suite (unit, simulator, integration, property tests)
test: venv
	@status=0; \
	$(BIN)/black --check --quiet . || status=1; \
	$(BIN)/flake8 || status=1; \
	$(BIN)/pytest $(PYTEST_ARGS) || status=1; \
	exit $$status

## demo: start the simulator, run `fivetran debug` against it, print the table counts
demo: venv
	$(BIN)/python tools/demo.py

## bench: measure requests, time and memory of a sync against the simulator
bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache
