# The README's commands. Each one creates .venv on first use and installs the pinned versions.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: course test lab lint bench bench-sampling store sync clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

## Execute every notebook headless into build/ and print the results table (COURSE_FAST=1: fast).
course: $(STAMP)
	$(PY) -m tools.runner

## Unit tests, then every notebook under nbval, in fast mode.
test: $(STAMP)
	COURSE_FAST=1 COURSE_BUILD_DIR=build/test $(PY) -m pytest tests benchmarks tools
	COURSE_FAST=1 COURSE_BUILD_DIR=build/test $(PY) -m pytest --nbval-lax notebooks

## Open the course in JupyterLab: the notebooks folder, the kernel of .venv.
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

lint: $(STAMP)
	$(PY) -m ruff check course_lib tests benchmarks tools scripts notebooks

## Time to accuracy (course vs the keras.io way, MNIST verification, 3 seeds): writes
## build/time_to_accuracy.{json,md}. About 15 minutes on 2 CPU cores; BENCH_ARGS=--quick checks
## that it runs in about one.
bench: $(STAMP)
	$(PY) -m benchmarks.time_to_accuracy $(BENCH_ARGS)

## Sampling speed, training throughput, memory and knobs: build/bench.{json,md}. About 10 minutes.
bench-sampling: $(STAMP)
	$(PY) -m benchmarks.bench $(BENCH_ARGS)

## Maintainers: full-mode run of the notebook sources (notebooks/NN_name.py) named in NB
## (default all) into notebooks/NN_name.ipynb, outputs stored.
store: $(STAMP)
	$(PY) -m tools.runner --store $(NB)

## Maintainers: copy a text-only edit of the sources named in NB (default all) into the stored
## .ipynb, keeping its outputs. Any change to code needs `make store` instead.
sync: $(STAMP)
	for f in $(if $(NB),$(foreach n,$(NB),notebooks/$(n)_*.py),notebooks/[0-9][0-9]_*.py); do \
	  $(VENV)/bin/jupytext --quiet --update --to ipynb "$$f" || exit 1; done

clean:
	rm -rf build

## Gallery search cost: brute-force query latency and memory for 10^3..10^6 embeddings,
## into build/bench_search.json and build/bench_search.md (about 2 minutes on 2 CPU cores).
.PHONY: bench-search
bench-search: $(STAMP)
	$(PY) -m benchmarks.bench_search $(BENCH_ARGS)

## One-shot time to accuracy (notebook 06): Koch et al.'s net against the N-way recipe, time to
## a validation 20-way accuracy of 50/70/85%, 3 seeds, into build/bench_oneshot.{json,md}.
## About 20 minutes on 2 CPU cores; BENCH_ARGS=--quick: one seed, about 5.
.PHONY: bench-oneshot
bench-oneshot: $(STAMP)
	$(PY) -m benchmarks.bench_oneshot $(BENCH_ARGS)
