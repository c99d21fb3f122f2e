# The front door. `make dev` runs the service, `make test` runs the suite; both set everything up.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint fmt bench chaos migrate token services venv clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

services:
	scripts/ensure-services.sh filmassets

dev: $(STAMP)
	scripts/dev.sh

migrate: $(STAMP) services
	$(BIN)/alembic upgrade head

test: $(STAMP) services
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) services
	$(BIN)/python -m bench

# Workers SIGKILLed and Redis restarted under running jobs; prints lost / duplicated / recovery.
chaos: $(STAMP) services
	$(BIN)/python -m tests.chaos

token: $(STAMP)
	@$(BIN)/python -m shared.cli token $(if $(SUB),--sub $(SUB),)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
