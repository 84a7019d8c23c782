# AgentWorks — run `make help` for the list of targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_FROM_PATH := $(shell command -v uv 2>/dev/null)
UV ?= $(if $(UV_FROM_PATH),$(UV_FROM_PATH),$(CURDIR)/.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
# Python caches compiled modules in __pycache__ (ignored by git) even where the environment asks it not to: without
# the cache every process the tests start (a dev fleet is six) compiles the whole stack again, seconds of CPU each.
unexport PYTHONDONTWRITEBYTECODE
RUN := $(UV) run --frozen --no-sync
# pytest's options: by default two workers (pytest-xdist, CI's two cores), a module the unit of work and the fleet
# modules one unit, run first (conftest.py). PYTEST_ARGS= runs one process; PYTEST_ARGS="-n 3 ..." more workers
# (faster, but see conftest.py on three).
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: help install dev web conformance-node browser-tools sandbox-tools test deploy-tools lint typecheck isolation check contracts contracts-check bench clean postgres-tools

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(CURDIR)/.tools/bin/uv:
	@echo "uv not found: installing it into .tools/ from PyPI"
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check uv

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml infra/localstack/pyproject.toml)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: .venv/.synced ## Install uv (if missing) and every Python dependency into .venv

WEB := services/gateway/web
$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

CONFORMANCE_NODE := services/provider-router/conformance-node
$(CONFORMANCE_NODE)/node_modules/.installed: $(CONFORMANCE_NODE)/package.json $(CONFORMANCE_NODE)/package-lock.json
	cd $(CONFORMANCE_NODE) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

conformance-node: $(CONFORMANCE_NODE)/node_modules/.installed ## Install the official OpenAI Node SDK for the router's conformance suite

web: $(WEB)/node_modules/.installed ## Build the web app (type-check, then Vite) into services/gateway/web/dist
	cd $(WEB) && npm run --silent build

browser-tools: ## Install Debian's chromium for the browser tests when it is missing
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

sandbox-tools: ## Install Debian's bubblewrap (the sandbox agents' commands run in) when it is missing
	@if ! command -v bwrap >/dev/null 2>&1; then \
		echo "installing bubblewrap for the command sandbox"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null \
			|| echo "could not install bubblewrap: agents' commands stay disabled and the sandbox tests skip"; \
	fi

dev: install web sandbox-tools ## Run the whole fleet on the embedded defaults (web app at http://localhost:8080)
	$(RUN) agentworks-dev

postgres-tools: ## Install Debian's PostgreSQL when no server is reachable and none is installed
	@if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing PostgreSQL for the test suite"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

CHECKOV_VERSION := 3.3.30
.tools/checkov/bin/checkov:
	$(UV) venv --quiet --python $(PYTHON) $(CURDIR)/.tools/checkov
	VIRTUAL_ENV=$(CURDIR)/.tools/checkov $(UV) pip install --quiet "checkov==$(CHECKOV_VERSION)"

deploy-tools: .tools/checkov/bin/checkov ## Install checkov in its own environment (the Terraform and Dockerfile scan)

test: install postgres-tools deploy-tools web conformance-node browser-tools sandbox-tools ## Build the web app and run every test: Vitest, then pytest (SQLite, PostgreSQL, Chromium, Schemathesis)
	cd $(WEB) && npm test --silent
	$(RUN) pytest $(PYTEST_ARGS)

lint: install ## Ruff lint and format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: install ## Mypy (strict) over libs, services and infra
	$(RUN) mypy

PACKAGES := $(notdir $(wildcard libs/*)) localstack gateway core orchestrator provider-router log-stream billing
isolation: install ## Import every package in an environment holding only its declared dependencies
	@for pkg in $(PACKAGES); do \
		module=agentworks_$$(echo $$pkg | tr - _); \
		[ -f services/$$pkg/pyproject.toml ] && module=$$module.app; \
		echo "isolated import: agentworks-$$pkg -> $$module"; \
		$(UV) run --frozen --isolated --no-dev --package agentworks-$$pkg python -c "import $$module" || exit 1; \
	done

check: lint typecheck isolation test ## Everything CI runs

contracts: install $(WEB)/node_modules/.installed ## Regenerate contracts/events (JSON Schema), contracts/openapi and the web app's types from them
	$(RUN) python infra/scripts/contracts.py

contracts-check: install $(WEB)/node_modules/.installed ## Fail on a stale contract or web type, a board JSON that is not its BoardDetail, or an internal route off its contract
	$(RUN) python infra/scripts/contracts.py --check

bench: install web browser-tools ## Run the benchmarks against the budgets in DESIGN §9 (PARTS="router billing" for some; not part of `make test`)
	$(RUN) python -m bench $(PARTS)

clean: ## Remove local state (.dev databases, keys) and caches
	rm -rf .dev .mypy_cache .ruff_cache .pytest_cache test-artifacts $(WEB)/dist
