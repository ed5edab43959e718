# tthc-pipeline: the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast test-prod test-wordpress prod-local prod-local-down lint bench clean constraints

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11); set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## Run the DAGs end to end on SQLite + the bundled sandbox; prints a summary table.
demo: $(STAMP)
	$(BIN)/tthc demo

## The whole test suite (SQLite and PostgreSQL; PostgreSQL from the system or the embedded wheel).
test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not e2e and not prod and not wordpress"

## The CMS channel against a real WordPress (Debian: wordpress mariadb-server php-cli php-mysql).
test-wordpress: $(STAMP)
	$(BIN)/python -m pytest -m wordpress

## Only the production-topology test: CeleryExecutor, two workers, PostgreSQL, Redis, REST-triggered.
test-prod: $(STAMP)
	$(BIN)/python -m pytest -m prod

## Start the production topology natively (api-server, scheduler, dag-processor, triggerer, 2 Celery
## workers, sandbox); `make prod-local-down` stops it.
prod-local: $(STAMP)
	$(BIN)/tthc prod-local up

prod-local-down: $(STAMP)
	$(BIN)/tthc prod-local down

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m tthc_dev.bench

## Re-freeze constraints.txt from the current venv (after changing requirements.txt).
constraints:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^tthc-pipeline' > constraints.txt

clean:
	rm -rf var .pytest_cache .ruff_cache
