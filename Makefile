# Two commands do everything on a fresh machine:
#   make run    install, migrate and serve on the embedded defaults (SQLite file, in-process MQTT broker)
#   make test   install, check the services, lint, type-check and run every test
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: run test lint install system-deps-run system-deps-test services bench bench-deps screenshots

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

system-deps-run:
	scripts/system-deps.sh run

system-deps-test:
	scripts/system-deps.sh test

services:
	scripts/ensure-services.sh

run: install system-deps-run
	$(BIN)/cylinder-trace serve

lint: install
	$(BIN)/ruff check src firmware_sim tests bench migrations
	$(BIN)/mypy

# pytest exits 5 when it ran no test: that is a failure here, never a pass
test: install system-deps-test services lint
	@rc=0; $(BIN)/pytest -q $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: no tests ran" >&2; exit 1; fi; exit $$rc

# the README's screenshots of the desk, taken by the browser test in real Chromium
screenshots: install system-deps-test
	CT_SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -q tests/e2e/test_desk_browser.py -k screenshots

bench-deps: install
	$(BIN)/pip install -q -e '.[dev,bench]'

bench: install services
	$(BIN)/python bench/bench_store.py
