# The two commands a newcomer needs: `make run` and `make test`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DATA_DIR ?= ./mcc-data
ARGS ?=

.PHONY: run test clean

$(INSTALLED): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[test]' --config-settings editable_mode=compat
	touch $@

## Start mcc with its embedded defaults (creates the first admin on first start).
run: $(INSTALLED)
	$(BIN)/twistd --nodaemon --pidfile= mcc --data-dir $(DATA_DIR) $(ARGS)

## Run the whole test suite.
test: $(INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
