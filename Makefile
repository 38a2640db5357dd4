# One entry point for the README's commands. Everything a fresh machine needs (Python >= 3.10 and
# Java 17+ aside) is installed here: a virtualenv, the Python dependencies, Spark's JVM packages.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/fitlake jars
	touch $(STAMP)

setup: $(STAMP)

## The main job: the pipeline demo end to end on local Spark + Delta (set 1, batch run, test, set 2,
## batch run, test, the gold tables).
demo: setup
	$(BIN)/fitlake demo

## The tests: unit and integration, plus the linter.
test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

## The benchmark: fitlake beside its anchors (session start, a plain Spark pass, DuckDB recomputing every table),
## medians of BENCH_REPEAT runs. Prints figures and writes JSON; asserts nothing (timings never go in tests), but
## stops when DuckDB's tables differ from fitlake's. The bench extra (DuckDB) is installed here only.
BENCH_SIZE   ?= small
BENCH_REPEAT ?= 3
BENCH_STAMP  := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $(BENCH_STAMP)

bench: setup $(BENCH_STAMP)
	$(BIN)/python benchmarks/bench.py --size $(BENCH_SIZE) --repeat $(BENCH_REPEAT)

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf .fitlake
