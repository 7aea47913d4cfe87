# Everything a fresh machine needs, from Python 3.11+ and make alone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format bench schema schema-release lock clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/gateway migrate
	$(BIN)/gateway seed
	$(BIN)/gateway serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/pytest

schema: install
	$(BIN)/gateway export-schema --output schema.graphql

# The released schema, which `make test` checks for breaking changes: move it on when releasing
# (or when a break is meant and announced), never to quiet the check.
schema-release: schema
	cp schema.graphql schema.baseline.graphql

# The image's dependencies, pinned with hashes for Python 3.11 on any platform, resolved from
# PyPI (hatchling too: the image builds the wheel without fetching anything unpinned), with the
# otel extra, so that OTEL_EXPORTER_OTLP_ENDPOINT turns traces on in the image as well.
lock: install
	printf 'hatchling>=1.25\n' | $(BIN)/uv pip compile pyproject.toml - --extra otel --universal \
		--python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
		--quiet --output-file requirements.lock

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
