# The README's two commands are `make demo` and `make test`; the rest are helpers.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv chromium demo test lint schemas bench-store neo4j-start neo4j-stop neo4j-status clean

venv: $(STAMP)

# Re-installs only when pyproject.toml changes, so a current venv is reused.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: venv
	$(VENV)/bin/graphmem demo

test: venv chromium
	$(PY) -m pytest

# The browser test of the Dagster UI needs Chromium. It is installed with apt-get where that works (root on
# Debian); elsewhere the test is skipped and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium with apt-get (for the browser test)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
	      || echo "could not install chromium: the browser test will be skipped"; \
	  else \
	    echo "chromium is missing and apt-get is not usable here: the browser test will be skipped"; \
	  fi; }

lint: venv
	$(VENV)/bin/ruff check .

schemas: venv
	$(PY) -m graphmem.schemas --write schemas

bench-store: venv
	$(PY) -m graphmem.bench.store_write --nodes 100000 --edges 200000

neo4j-start:
	bash docker/neo4j-local/neo4j-local.sh start

neo4j-stop:
	bash docker/neo4j-local/neo4j-local.sh stop

neo4j-status:
	bash docker/neo4j-local/neo4j-local.sh status

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
