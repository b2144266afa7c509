# Two entry points: `make run` and `make test`. Both create or refresh the local venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
AUDIT_STAMP := $(VENV)/.installed-audit

.PHONY: run test lint typecheck unit clean venv chromium promtool screenshots chaos audit bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

$(AUDIT_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[audit]'
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

# One pytest worker per core (TEST_PROCESSES=0 runs the suite in this one process); each worker has its
# own Redis database and PostgreSQL schemas, and one quick-trained model serves them all.
TEST_PROCESSES ?= 2

# promtool checks the Prometheus alert rules (tests/test_scale_out.py): taken out of Debian's prometheus
# package into the venv, without installing (or starting) Prometheus itself. Without it the test says so
# and is skipped.
promtool: $(BIN)/promtool

$(BIN)/promtool: $(BIN)/python
	@d=$$(mktemp -d) && cd $$d && ( apt-get download prometheus >/dev/null 2>&1 || \
	  (apt-get update >/dev/null 2>&1 && apt-get download prometheus >/dev/null 2>&1) ) && \
	  dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xO ./usr/bin/promtool > $(CURDIR)/$@.part && \
	  chmod +x $(CURDIR)/$@.part && mv $(CURDIR)/$@.part $(CURDIR)/$@ || \
	  (rm -f $(CURDIR)/$@.part; echo "NOTICE: promtool not installed (Debian package prometheus unreachable)"); \
	  rm -rf $$d

test: $(TEST_STAMP) chromium promtool lint typecheck
	$(BIN)/pytest -n $(TEST_PROCESSES)

# bandit over the product code and pip-audit over the dependencies (not part of `make test` or .ci/run:
# pip-audit needs its advisory service; where that cannot be reached the audit fails and says so).
audit: $(AUDIT_STAMP)
	$(BIN)/python scripts/audit.py

# 5,000 comments while workers, Redis, PostgreSQL and the API are killed (docs/reliability.md); own Redis
# and PostgreSQL on free ports; the run takes at most 5 minutes (a first run trains a quick model into
# var/chaos-models once, before it starts).
chaos: $(TEST_STAMP)
	timeout 600 $(BIN)/python benchmarks/chaos.py --comments 5000

# Throughput and latency through the real stack (own Redis and PostgreSQL on free ports, and SQLite) in
# both scoring profiles, beside the model alone and the naive design; prints one table
# (docs/performance.md). A first run trains the default model into var/bench-home once (a few minutes).
bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/run.py

# Re-takes docs/screenshots/*.png from the browser tests.
screenshots: $(TEST_STAMP) chromium
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/browser

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
