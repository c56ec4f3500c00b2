PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export CATALOGUE_DATABASE_URL ?= sqlite:///var/catalogue.db

.PHONY: run test install install-dev migrate seed lint format schemas bench bench-history clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# compileall: the byte code written once, where the environment tells Python not to write
# it (PYTHONDONTWRITEBYTECODE): else every server and command started compiles the app anew
install: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/python -m compileall -q app seed migrations > /dev/null

install-dev: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m compileall -q app seed migrations bench tests > /dev/null

migrate: install
	mkdir -p var
	$(BIN)/catalogue migrate

seed: migrate
	$(BIN)/catalogue seed

run: seed
	$(BIN)/catalogue serve --host 127.0.0.1 --port 8000

# every core (one worker per core; a module's tests stay on one worker, the browser tests
# share one: tests/conftest.py); `make test PYTEST_ARGS=` runs in one process
PYTEST_ARGS ?= -n auto --dist loadfile

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check app tests bench seed migrations
	$(BIN)/ruff format --check app tests bench seed migrations

format: install-dev
	$(BIN)/ruff format app tests bench seed migrations
	$(BIN)/ruff check --fix app tests bench seed migrations

schemas: install
	$(BIN)/catalogue schemas

bench: install-dev
	$(BIN)/python bench/read.py

bench-history: install-dev
	$(BIN)/python bench/history.py

clean:
	rm -rf $(VENV) var
