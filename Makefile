# The README's commands. Each one creates .venv on first use and installs the pinned versions.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: course test lint bench store clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

## Execute every notebook headless into build/ and print the results table (COURSE_FAST=1: fast).
course: $(STAMP)
	$(PY) -m course_lib.runner

## Unit tests, then every notebook under nbval, in fast mode.
test: $(STAMP)
	COURSE_FAST=1 COURSE_BUILD_DIR=build/test $(PY) -m pytest tests
	COURSE_FAST=1 COURSE_BUILD_DIR=build/test $(PY) -m pytest --nbval-lax notebooks

lint: $(STAMP)
	$(PY) -m ruff check course_lib tests notebooks

## Speed and memory benchmark: writes build/bench.json and build/bench.md, prints the tables.
## About 10 minutes on 2 CPU cores; BENCH_ARGS=--quick checks that it runs in about 3.
bench: $(STAMP)
	$(PY) -m course_lib.bench $(BENCH_ARGS)

## Maintainers: full-mode run of the notebooks named in NB (default all), outputs stored in place.
store: $(STAMP)
	$(PY) -m course_lib.runner --store $(NB)

clean:
	rm -rf build
