# Patchbay: `make run` starts the gateway, `make test` runs the checks and the whole test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test check lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/patchbay serve $(if $(CONFIG),--config $(CONFIG),)

# the structure checks: layering contracts, types, lint (pinned in pyproject's `lint` extra)
check: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/ruff check src tests bench

test: check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: check

bench: $(STAMP)
	bash bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache
