# The README's two commands are `make demo` and `make test`; the rest are helpers.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint schemas bench-store neo4j-start neo4j-stop neo4j-status clean

venv: $(STAMP)

# Re-installs only when pyproject.toml changes, so a current venv is reused.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: venv
	$(VENV)/bin/graphmem demo

test: venv
	$(PY) -m pytest

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
