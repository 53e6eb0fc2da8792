# The two commands a newcomer needs: `make run` and `make test`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DATA_DIR ?= ./mcc-data
ARGS ?=

.PHONY: run test clean

$(INSTALLED): setup.py setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[test]' --config-settings editable_mode=compat
	touch $@

## Start mcc with its embedded defaults (creates the first admin on first start).
run: $(INSTALLED)
	$(BIN)/twistd --nodaemon --pidfile= mcc --data-dir $(DATA_DIR) $(ARGS)

## Check the code with ruff, then run the whole test suite.
test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info

# Benchmarks: programs that print figures, never part of `make test` (see bench/).
BENCH_ARGS ?=

.PHONY: bench bench-smoke bench-tools

## mcc against Prosody under tsung (200 and 1,000 users), idle and detached
## resumable sessions' memory and where mcc's time goes; then mcc's chat round
## trip (100 and 1,000 chats), its message archive's price and Prosody+BOSH at
## 100 chats, and 10,000 idle visitors, with the host beside each section.
## Prints the tables and writes them to bench/results/latest.txt (about 10
## minutes; within 15 on a busy 2-core host).
bench: bench-tools $(INSTALLED)
	$(BIN)/python -m bench --profile $(BENCH_ARGS)

## The same, small (20 users, 10 chats, a few seconds each): under a minute.
bench-smoke: bench-tools $(INSTALLED)
	$(BIN)/python -m bench --smoke $(BENCH_ARGS)

# tsung and prosody from Debian when absent (as root, like CI).
bench-tools:
	@command -v tsung >/dev/null && command -v prosody >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends tsung prosody >/dev/null; }
