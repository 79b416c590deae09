# One-command workflows. Every target creates .venv from the pinned requirements first, so a
# fresh clone needs nothing but python3 (3.11+: datetime.fromisoformat reads 'Z') and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
export DO_NOT_TRACK := 1
# The SDK CLI runs `pipreqs` from PATH; make the venv's tools visible to every recipe.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: venv test lint format docs demo bench package deploy clean venv-dbt venv-dbt-engines models

# dbt (the package in dbt/) gets its own environment: dbt-core and the SDK pin conflicting
# versions of pathspec. uv installs it (pinned files, as pip would, several times faster: the
# other warehouses' adapters alone take 40 s with pip, 6 s with uv). DBT_ENGINES_STAMP adds
# those adapters, fakesnow and sqlglot (requirements-dbt-engines.txt) for the tests.
DBT_VENV := .venv-dbt
DBT_STAMP := $(DBT_VENV)/.requirements-installed
DBT_ENGINES_STAMP := $(DBT_VENV)/.engines-installed
UV_REQUIREMENT := uv==0.13.8
DBT_UV := $(DBT_VENV)/bin/uv pip install --quiet --python $(DBT_VENV)/bin/python

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(STAMP)

$(DBT_STAMP): requirements-dbt.txt
	$(PYTHON) -m venv $(DBT_VENV)
	$(DBT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(UV_REQUIREMENT)
	$(DBT_UV) -r requirements-dbt.txt
	touch $@

venv-dbt: $(DBT_STAMP)

$(DBT_ENGINES_STAMP): $(DBT_STAMP) requirements-dbt-engines.txt
	@# an environment made before uv was used gets it here
	test -x $(DBT_VENV)/bin/uv || $(DBT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(UV_REQUIREMENT)
	$(DBT_UV) -r requirements-dbt-engines.txt
	touch $@

venv-dbt-engines: $(DBT_ENGINES_STAMP)

## lint: black and flake8 (with bugbear and the cognitive-complexity rule), as CI enforces
lint: venv
	$(BIN)/black --check --quiet .
	$(BIN)/flake8

## format: rewrite the code with black
format: venv
	$(BIN)/black --quiet .

# The suite runs on one worker process per core (pytest-xdist), a test file on one worker: the
# connector, the SDK's runner and the simulator share one interpreter, so one process keeps one
# core busy. PYTEST_WORKERS=0 runs it in this process.
PYTEST_WORKERS ?= auto

## test: lint, then the whole test suite (unit, simulator, integration, property tests, and
##       the dbt package on DuckDB, PostgreSQL, fakesnow, BigQuery and Redshift: tests/dbt)
test: venv venv-dbt-engines
	@status=0; \
	$(BIN)/black --check --quiet . || status=1; \
	$(BIN)/flake8 || status=1; \
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS) || status=1; \
	exit $$status

## docs: regenerate the README's configuration table and docs/tables.md from the code
docs: venv
	$(BIN)/python tools/generate_docs.py

## demo: start the simulator, run `fivetran debug` on the staged connector, show its
##       progress, the table counts and the data-quality report (full log in files/)
demo: venv
	$(BIN)/python tools/demo.py

## bench: measure requests, time and memory of a sync against the simulator
bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

## models: after a sync, dbt build (models, snapshot, tests) on files/warehouse.db into
##         files/xurrent_dbt.duckdb, then the tests that warned or failed and a summary
models: venv-dbt
	@$(DBT_VENV)/bin/python tools/models.py $(MODELS_ARGS)

## package: build the deploy zip offline from a clean copy of only the production files
##          (connector.py, xurrent_connector/, requirements.txt in build/package/) and list it
package: venv
	$(BIN)/python tools/package.py

# Deploy settings: pass them on the command line or in the environment. Relative paths to the
# configuration are taken from the repository root (the SDK would resolve them against the
# staging directory, so we make them absolute). DEPLOY_FLAGS may add --non-interactive (create
# only: an update is then refused) or --yes (create or update without asking).
DEPLOY_CONFIGURATION ?= configuration.json
DEPLOY_PYTHON_VERSION ?= 3.11
DEPLOY_FLAGS ?=

## deploy: stage like `package`, then `fivetran deploy`; needs FIVETRAN_API_KEY,
##         FIVETRAN_DESTINATION, FIVETRAN_CONNECTION (DEPLOY_CONFIGURATION, DEPLOY_FLAGS optional)
deploy: venv
	$(if $(FIVETRAN_API_KEY),,$(error FIVETRAN_API_KEY is not set: pass your base64 Fivetran API key, e.g. make deploy FIVETRAN_API_KEY=...))
	$(if $(FIVETRAN_DESTINATION),,$(error FIVETRAN_DESTINATION is not set: pass the destination (group) name))
	$(if $(FIVETRAN_CONNECTION),,$(error FIVETRAN_CONNECTION is not set: pass the connection name (lower case letters, digits, _)))
	$(if $(wildcard $(DEPLOY_CONFIGURATION)),,$(error DEPLOY_CONFIGURATION=$(DEPLOY_CONFIGURATION) does not exist: create it or point DEPLOY_CONFIGURATION at your configuration file))
	@echo "deploying build/package as $(FIVETRAN_CONNECTION) to $(FIVETRAN_DESTINATION) (API key not shown)"
	@$(BIN)/python tools/package.py --deploy -- \
		--api-key "$(FIVETRAN_API_KEY)" \
		--destination "$(FIVETRAN_DESTINATION)" \
		--connection "$(FIVETRAN_CONNECTION)" \
		--configuration "$(abspath $(DEPLOY_CONFIGURATION))" \
		--python-version $(DEPLOY_PYTHON_VERSION) $(DEPLOY_FLAGS)

clean:
	rm -rf $(VENV) $(DBT_VENV) build .pytest_cache
