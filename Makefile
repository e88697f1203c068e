# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# What `make run` needs: the server alone (the tests' extras are ten times its size).
SERVER_STAMP := $(VENV)/.server

.PHONY: run test lint unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(SERVER_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(SERVER_STAMP)

# The tests' install holds the server's too.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $(SERVER_STAMP)

## Install the server (first time) and start it in the foreground.
run: $(SERVER_STAMP)
	@command -v bwrap >/dev/null && command -v pasta >/dev/null || echo "the sandbox needs bubblewrap and passt: apt-get install bubblewrap passt (or OPENARTS_SANDBOX=off on a single-user machine)"
	$(BIN)/openarts server

# Test processes: one more than the cores, since many tests wait on servers and tasks
# (more only adds contention on a 2-core machine).
TEST_WORKERS ?= 3

## Install what the tests need, check style, types and layers, run the whole suite.
test: $(STAMP) lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/mypy
	$(BIN)/lint-imports

## Every benchmark, each printed as it runs, then one summary table (benchmarks/run_all.py).
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
