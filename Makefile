# Two commands matter on a fresh machine (Python 3.11+ and make): `make run`, `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: install run test browser check lint format typecheck imports openapi openapi-check sdk-check migrations-check manifests-check migration bench reliability clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock $(UV)
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.installed

## Run the product: API on 127.0.0.1:8000 + worker, embedded PostgreSQL/Redis, demo data.
run: install
	$(BIN)/marketplace serve --host 127.0.0.1 --port 8000 --with-worker --seed-demo

## Run the whole test suite (real PostgreSQL and Redis; embedded unless *_URL are set),
## one pytest-xdist worker per core, each with servers (or databases) of its own.
test: install browser
	$(BIN)/pytest -n auto --dist loadfile

## The browser tests drive Debian's Chromium (Playwright's own download is not used):
## installed with apt-get when it is missing (as root, or through sudo).
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "== installing chromium (Debian) for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; \
	fi

## Lint, format, types, import rules, OpenAPI drift, a clean generated SDK, migration drift,
## Kubernetes manifests.
check: lint typecheck imports openapi-check sdk-check migrations-check manifests-check

lint: install
	$(BIN)/ruff check src tests bench reliability openapi
	$(BIN)/ruff format --check src tests bench reliability openapi

format: install
	$(BIN)/ruff check --fix src tests bench reliability openapi
	$(BIN)/ruff format src tests bench reliability openapi

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

openapi: install
	$(BIN)/marketplace openapi --output openapi/openapi.json

openapi-check: install
	@$(BIN)/marketplace openapi | diff -u openapi/openapi.json - \
		|| (echo "openapi/openapi.json is stale: run 'make openapi' and commit it" && exit 1)

## The committed contract generates the partner Python SDK (openapi-python-client, config in
## openapi/python-client.yaml) with no warning, every operation a function.
sdk-check: install
	$(BIN)/python openapi/check_sdk.py

migrations-check: install
	$(BIN)/marketplace check-migrations

## Every manifest under deploy/k8s against the Kubernetes API schemas, offline (the schemas
## ship in the kubernetes-validate package), strictly: unknown fields fail too.
manifests-check: install
	$(BIN)/kubernetes-validate --strict --quiet $(filter-out deploy/k8s/kustomization.yaml,$(wildcard deploy/k8s/*.yaml))

## Autogenerate a migration from model changes: make migration m="add listings"
migration: install
	$(BIN)/marketplace make-migration "$(m)"

## Run every benchmark under bench/ (a few minutes each; embedded servers unless *_URL set):
## search, orders, http, hot_sku, consignment; `make bench b="hot_sku"` runs some of them
## (the report keeps the others' last figures, marked with their date).
## Figures, same-run baselines and ratios go to bench/results/latest.md and latest.json.
bench: install
	$(BIN)/python -m bench.run $(b)

clean:
	rm -rf $(VENV) $(TOOLS) .data .pytest_cache .mypy_cache .ruff_cache

## Counts that must stay zero (oversell, duplicates, leaks, contract, money, faults).
## Default: the full form (20 seeds, 100 schemathesis examples per operation, ~7.5 min).
## RELIABILITY_ARGS="--seeds 3 --examples 10" for the quick form CI runs (.ci/run).
reliability: install
	$(BIN)/python -m reliability.run $(RELIABILITY_ARGS)
