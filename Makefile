# Two commands for a newcomer: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint format pytest install system-deps fuzz bench-client bench-client-instructions bench-collector bench-queries bench-scale clean

# Create the virtual environment and install the project with every extra; redone when
# pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[server,clickhouse,demo,audit,dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests and benchmarks use: headless Chromium for the dashboard test, wrk
# for the collector benchmark, strace, curl and nodejs for the audit's tests, a ClickHouse
# server (18.16 in Debian) and ZooKeeper for the ClickHouse store's tests. Installed only when
# missing and when we may (root).
SYSTEM_COMMANDS := chromium wrk strace node curl clickhouse-server clickhouse-client
SYSTEM_PACKAGES := chromium wrk strace curl nodejs clickhouse-server clickhouse-client zookeeper
system-deps:
	@missing=0; for command in $(SYSTEM_COMMANDS); do command -v $$command >/dev/null || missing=1; done; \
	test -f /usr/share/java/zookeeper.jar || missing=1; \
	if [ $$missing = 0 ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	else \
		echo "system-deps: run as root, or install Debian's $(SYSTEM_PACKAGES) yourself"; \
	fi

# The main job: a collector on this machine, the demo CLI reporting to it, the dashboard.
run: install
	$(PY) scripts/demo.py

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/cog --check -I scripts README.md src/candor/client/recording.py

format: install
	$(BIN)/ruff check --fix src tests bench scripts
	$(BIN)/ruff format src tests bench scripts

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint pytest

# The two fuzzers (atheris over the app, schemathesis over a running collector) for longer than
# the few tens of seconds `make test` gives each: FUZZ_SECONDS apiece.
FUZZ_SECONDS ?= 600
fuzz: install
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/pytest -s tests/server/test_fuzz_app.py tests/e2e/test_fuzz_http.py

bench-client: install
	$(PY) bench/client_overhead.py

# The same states counted in instructions (valgrind's callgrind): stable on a loaded machine.
bench-client-instructions: install
	$(PY) bench/client_overhead.py --instructions

bench-collector: install system-deps
	$(PY) bench/collector.py

bench-queries: install
	$(PY) bench/queries.py

bench-audit: install system-deps
	$(PY) bench/audit.py

bench-scale: install system-deps
	$(PY) bench/scale.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
