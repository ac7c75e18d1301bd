# ML portfolio monorepo. `make help` lists every target.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= quick
PIP_VERSION := 26.3
PROJECT_DIRS := $(sort $(dir $(wildcard projects/*/pyproject.toml)))
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

# The team's read-only dataset mirror beside the repository, unless the caller chose one.
ifneq ($(wildcard ../shared/data/SHA256SUMS),)
export PORTFOLIO_DATA_MIRROR ?= $(abspath ../shared/data)
endif

.PHONY: help
help: ## List every target with a one-line description
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Variables: PROFILE=quick|full (make run), PYTEST_ARGS='...' (make test), VENV=$(VENV)"

$(STAMP): requirements.lock shared/pyproject.toml $(addsuffix pyproject.toml,$(PROJECT_DIRS))
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip==$(PIP_VERSION)"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e shared $(addprefix -e ,$(PROJECT_DIRS))
	@touch $@

.PHONY: setup
setup: $(STAMP) ## Create .venv (if missing) and install every package at the locked versions

.PHONY: run
run: setup ## The main job: every project's pipeline (PROFILE=quick by default, PROFILE=full for README numbers) and a summary table
	$(BIN)/portfolio pipeline --profile $(PROFILE)

.PHONY: system-deps
system-deps: ## Install the Debian packages tests and benchmarks use (chromium for browser tests, wrk for load tests)
	./scripts/system-deps.sh

.PHONY: test
test: setup system-deps ## Set up and run the whole test suite (code, data, model, API, app, browser, repository checks)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: setup ## Tests without the slow, browser and live-server ones
	$(BIN)/python -m pytest -m "not slow and not browser and not live" $(PYTEST_ARGS)

.PHONY: lint
lint: setup ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/src $(addsuffix src,$(PROJECT_DIRS))

.PHONY: format
format: setup ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: lock
lock: setup ## Rewrite requirements.lock after a dependency change, keeping existing pins (UPGRADE=1 re-resolves all)
	$(BIN)/python scripts/lock.py $(if $(UPGRADE),--upgrade)

.PHONY: data
data: setup ## Show every dataset and whether its files are verified
	$(BIN)/portfolio data list

.PHONY: readme
readme: setup ## Rewrite README results tables from reports/metrics.json
	$(BIN)/portfolio readme sync

.PHONY: repro
repro: setup ## dvc repro of every project (full profile), then dvc metrics show
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro $(wildcard $(addsuffix dvc.yaml,$(PROJECT_DIRS)))
	$(BIN)/dvc metrics show

.PHONY: bench
bench: setup system-deps ## Serving and inference benchmarks (churn-api: wrk against the API; sentiment-bert: CPU variants)
	$(BIN)/churn-api bench
	$(BIN)/sentiment-bert bench

.PHONY: docker-check
docker-check: setup ## Validate Dockerfiles (hadolint) and docker-compose.yml (compose spec) without a Docker engine
	$(BIN)/hadolint projects/*/Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

.PHONY: mlflow-ui
mlflow-ui: setup ## Browse the local MLflow store on http://127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlruns/mlflow.db --default-artifact-root $(CURDIR)/mlruns/artifacts

.PHONY: clean
clean: ## Remove caches and quick-profile outputs (keeps .venv, models and the MLflow store)
	rm -rf .pytest_cache .mypy_cache .ruff_cache projects/*/artifacts
	find . -name __pycache__ -type d -prune -not -path "./.venv/*" -exec rm -rf {} +
