# Developer and CI entry points. `make help` lists the targets.

SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
SCALE ?= 0.1
SEED ?= 1
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2
BENCH_ARGS ?=

# pytest-xdist: PYTEST_WORKERS processes, whole files to one worker (module fixtures such as a
# served app are built once per worker that needs them).
PYTEST = $(VENV)/bin/pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)
STAMP = $(VENV)/.installed

.PHONY: help install demo test test-sqlite test-postgres bench clean distclean

help: ## list the targets
	@echo "Targets (variables: VENV=$(VENV) PYTHON=$(PYTHON) SCALE=$(SCALE) SEED=$(SEED) PYTEST_WORKERS=$(PYTEST_WORKERS) PYTEST_ARGS BENCH_ARGS):"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  \1\t/' | expand -t 18

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP) ## create the virtualenv and install the project with dev extras

demo: export CASELOAD_DEBUG = 1
demo: install ## create the database, generate demo data (SCALE, SEED), load policy, manual, curriculum, demo users; serve on 127.0.0.1:8000 (development mode)
	$(VENV)/bin/caseload init
	$(VENV)/bin/caseload generate --scale $(SCALE) --seed $(SEED) --replace
	$(VENV)/bin/caseload tasks refresh
	$(VENV)/bin/caseload policy reclassify
	$(VENV)/bin/caseload workload weights --save
	$(VENV)/bin/caseload manual import --sample
	$(VENV)/bin/caseload training import --sample
	$(VENV)/bin/caseload users demo
	$(VENV)/bin/caseload snapshot take --history
	$(VENV)/bin/caseload serve --host 127.0.0.1 --port 8000

# The two runs go side by side (a line of each is prefixed [sqlite] or [postgresql]): each
# waits in places (a served page, a started process) where the other can use the CPU. Both always
# run to the end; the target fails if either fails (including pytest's exit code 5, "no tests
# collected"). `make test-sqlite` and `make test-postgres` run one of them alone.
test: install ## run the tests on SQLite and on a throwaway PostgreSQL, side by side (PYTEST_ARGS)
	@set -o pipefail; rc=0; \
	echo "=== tests on SQLite [sqlite] and on PostgreSQL [postgresql], side by side ==="; \
	env -u CASELOAD_DATABASE_URL $(PYTEST) 2>&1 | sed -u 's/^/[sqlite] /' & sqlite=$$!; \
	$(VENV)/bin/python scripts/with_postgres.py -- $(PYTEST) 2>&1 | sed -u 's/^/[postgresql] /' & postgresql=$$!; \
	wait $$sqlite || rc=$$?; \
	wait $$postgresql || { s=$$?; [ $$rc -ne 0 ] || rc=$$s; }; \
	if [ $$rc -ne 0 ]; then echo "make test: FAILED (exit $$rc)" >&2; else echo "make test: both runs passed"; fi; \
	exit $$rc

test-sqlite: install ## run the tests on SQLite only
	env -u CASELOAD_DATABASE_URL $(PYTEST)

test-postgres: install ## run the tests on a throwaway PostgreSQL server only
	$(VENV)/bin/python scripts/with_postgres.py -- $(PYTEST)

bench: export CASELOAD_DEBUG = 1
bench: install ## run the benchmarks against SQLite and a throwaway PostgreSQL (BENCH_ARGS, e.g. --scale 0.1)
	$(VENV)/bin/python scripts/with_postgres.py -- $(VENV)/bin/python -m benchmarks.run $(BENCH_ARGS)

clean: ## remove var/ and build artefacts (keeps the virtualenv)
	rm -rf var build dist .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print -exec rm -rf {} +

distclean: clean ## also remove the virtualenv
	rm -rf $(VENV)
