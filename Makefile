# Two entry points: `make run` and `make test`. Both create or refresh the local venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint typecheck unit clean venv chromium screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/moderation up

lint: $(TEST_STAMP)
	$(BIN)/ruff check moderation classifiers workers tests benchmarks
	$(BIN)/ruff format --check moderation classifiers workers tests benchmarks

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# The dashboard's browser tests drive Debian's chromium; Playwright never downloads a browser here.
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

test: $(TEST_STAMP) chromium lint typecheck
	$(BIN)/pytest

# Re-takes docs/screenshots/*.png from the browser tests.
screenshots: $(TEST_STAMP) chromium
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/browser

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
