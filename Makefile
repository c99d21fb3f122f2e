# The front door. `make dev` runs the service, `make test` runs the suite; both set everything up.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint fmt bench chaos migrate token services venv clean client client-check

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

# The typed TypeScript client (client/): its types are generated from the app's OpenAPI document.
CLIENT_STAMP := client/node_modules/.package-lock.json
# A field with a default is optional in a request body: by default openapi-typescript makes it required.
OPENAPI_TS := npx --no-install openapi-typescript --default-non-nullable false

$(CLIENT_STAMP): client/package.json client/package-lock.json
	cd client && npm ci --no-audit --no-fund
	touch $(CLIENT_STAMP)

# Regenerate client/src/schema.d.ts after changing a route or a schema; commit the result.
client: $(STAMP) $(CLIENT_STAMP)
	$(BIN)/python scripts/dump_openapi.py var/openapi.json
	cd client && $(OPENAPI_TS) ../var/openapi.json -o src/schema.d.ts

# CI: fail if the committed client is stale, and type-check the example that uses it.
client-check: $(STAMP) $(CLIENT_STAMP)
	$(BIN)/python scripts/dump_openapi.py var/openapi.json
	cd client && $(OPENAPI_TS) ../var/openapi.json -o ../var/schema.check.d.ts
	@diff -u client/src/schema.d.ts var/schema.check.d.ts \
	  || { echo "client/src/schema.d.ts is stale: run 'make client' and commit it" >&2; exit 1; }
	cd client && npx --no-install tsc --noEmit -p .

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache client/node_modules
