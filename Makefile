# One entry point for the README's commands. Everything a fresh machine needs (Python >= 3.10 and
# Java 17+ aside) is installed here: a virtualenv, the Python dependencies, Spark's JVM packages.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup test-tools demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/fitlake jars
	touch $(STAMP)

# The driver JVM's class data sharing archive (fitlake/local/cds.py; its training run, fitlake/local/cds_training.py), in the virtualenv: fitlake jars trains it
# once (about a minute) when it is missing, as in a virtualenv made before the archive existed.
CDS_STAMP := $(VENV)/.cds

$(CDS_STAMP): $(STAMP)
	$(BIN)/fitlake jars
	touch $(CDS_STAMP)

setup: $(STAMP) $(CDS_STAMP)

## The main job: the integration-test job definition run task by task on local Spark + Delta (set 1, batch run,
## test, set 2, batch run, test), then the gold tables.
demo: setup
	$(BIN)/fitlake demo

## What some tests need besides Python and Java, as command:Debian-package pairs: mvn for the mvn-path tests,
## unshare and ip for the offline-session test (which also needs root, for `unshare -n`), unshare and mount for the
## full-disk test (root too: a small tmpfs in a mount namespace of its own), chromium for the test that
## renders a run page in a real browser. Installed from Debian's packages where missing, when apt-get can (as root);
## otherwise those tests skip, and .ci/run fails on a skip.
TEST_TOOLS ?= mvn:maven unshare:util-linux mount:mount ip:iproute2 chromium:chromium
test-tools:
	@missing=""; \
	for pair in $(TEST_TOOLS); do command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing what the tests need:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "Not installed:$$missing (Debian packages; install them as root). The tests that need them will skip." >&2; \
	fi

## The tests: unit and integration, plus the linter. TEST_WORKERS pytest processes (pytest-xdist) share them a
## module at a time (--dist loadfile: a module's fixtures, such as the crash harness's reference lake, are built
## once, in one worker), in the order pytest collects them (--no-loadscope-reorder): the integration modules, a few
## tests of minutes each, start first and the unit modules' many short tests fill the end. xdist's default (most
## tests first) starts the crash harness (11 minutes of a worker) 42nd of 56 modules and the other minutes-long
## modules last (one run each: 17:42 in collection order, 19:14 in xdist's; docs/testing.md).
## Most of a test's time is a pipeline run in a child process whose driver leaves a core idle, or a continuous run
## waiting for its trigger, so two workers on two cores finish sooner.
## TEST_WORKERS=0 runs them in this one process.
TEST_WORKERS ?= 2
test: setup test-tools
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

## The benchmark: fitlake beside its anchors (session start, a plain Spark pass, DuckDB recomputing every table),
## medians of BENCH_REPEAT runs. Prints figures and writes JSON; asserts nothing (timings never go in tests), but
## stops when DuckDB's tables differ from fitlake's. The bench extra (DuckDB) is installed here only.
BENCH_SIZE   ?= small
BENCH_REPEAT ?= 3
BENCH_LANDINGS ?=
BENCH_STAMP  := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $(BENCH_STAMP)

bench: setup $(BENCH_STAMP)
	$(BIN)/python benchmarks/bench.py --size $(BENCH_SIZE) --repeat $(BENCH_REPEAT) $(if $(BENCH_LANDINGS),--landings $(BENCH_LANDINGS))

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf .fitlake
