# The README's commands. Each one creates .venv on first use and installs the pinned versions.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# make lab: extra JupyterLab options, e.g. LAB_ARGS="--no-browser --port=8890".
LAB_ARGS ?=
# make test-floor: the lowest versions pyproject.toml allows, in a venv of their own.
FLOOR_PYTHON ?= python3.11
FLOOR_VENV   ?= .venv-floor
FLOOR_STAMP  := $(FLOOR_VENV)/.installed

.PHONY: course test lab lint bench bench-sampling store sync clean test-floor

# Stop on a Python the course was not tested with (TensorFlow has no wheels for 3.14; the pins
# of constraints.txt have none for 3.10). $(1) is the interpreter to check.
define require_python
@command -v $(1) >/dev/null || { echo "make: $(1) not found; the course needs Python 3.11 to 3.13 (e.g. make PYTHON=python3.12)" >&2; exit 1; }
@$(1) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v < (3, 14) else "make: the course needs Python 3.11 to 3.13, and $(1) is Python %d.%d. Point PYTHON at another interpreter (e.g. make PYTHON=python3.12), or delete $(VENV) if it was made with this one." % v)'
endef

$(STAMP): pyproject.toml constraints.txt
	$(call require_python,$(if $(wildcard $(PY)),$(PY),$(PYTHON)))
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

## Open the course in JupyterLab: the notebooks folder, the kernel of .venv. Jupytext's server
## extension is off here, so Lab lists each notebook once (the .py sources are hidden) and saving
## writes only the .ipynb; see docs/maintainers.md for the pair. As root, --allow-root is added.
lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) \
	  --ServerApp.jpserver_extensions="{'jupyterlab_jupytext': False}" \
	  --ContentsManager.hide_globs="['__pycache__', '*.pyc', '*.pyo', '.DS_Store', '*~', '[0-9][0-9]*_*.py']" \
	  $(LAB_ARGS) notebooks/

lint: $(STAMP)
	$(PY) -m ruff check course_lib tests benchmarks tools scripts notebooks

## The benchmark: time to accuracy (course vs the keras.io way, MNIST verification, 3 seeds),
## build/time_to_accuracy.{json,md}, 11 to 15 minutes on 2 CPU cores; then training from photos
## (images per second from 12-megapixel JPEGs: uncached, cached, in memory; the bench-images
## section), build/bench_images.{json,md}, about 3 minutes. BENCH_ARGS go to time_to_accuracy;
## the photos section gets its --quick (BENCH_ARGS=--quick checks that both run, in about two
## minutes) or IMAGES_ARGS.
IMAGES_ARGS ?= $(filter --quick,$(BENCH_ARGS))
bench: $(STAMP)
	$(PY) -m benchmarks.time_to_accuracy $(BENCH_ARGS)
	$(PY) -m benchmarks.bench_images $(IMAGES_ARGS)

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
	for f in $(if $(NB),$(foreach n,$(NB),notebooks/$(n)_*.py),notebooks/[0-9][0-9]*_*.py); do \
	  $(VENV)/bin/jupytext --quiet --update --to ipynb "$$f" || exit 1; done

clean:
	rm -rf build

## Maintainers: the unit tests (not the notebooks) at the lowest versions the ranges of
## pyproject.toml allow (constraints-floor.txt), in $(FLOOR_VENV) on $(FLOOR_PYTHON). Not in CI;
## the first run downloads about 750 MB. Result of the last run: docs/maintainers.md.
$(FLOOR_STAMP): pyproject.toml constraints-floor.txt
	$(call require_python,$(FLOOR_PYTHON))
	test -x $(FLOOR_VENV)/bin/python || $(FLOOR_PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FLOOR_VENV)/bin/python -m pip install --quiet -c constraints-floor.txt -e ".[dev]"
	touch $(FLOOR_STAMP)

test-floor: $(FLOOR_STAMP)
	$(FLOOR_VENV)/bin/python -m pip list --format=freeze | grep -iE '^(tensorflow|keras|numpy|matplotlib|pandas|scipy|scikit-learn|pillow|seaborn)=='
	COURSE_FAST=1 COURSE_BUILD_DIR=build/test-floor $(FLOOR_VENV)/bin/python -m pytest tests benchmarks tools

## Gallery search cost: brute-force query latency and memory for 10^3..10^6 embeddings,
## into build/bench_search.json and build/bench_search.md (about 2 minutes on 2 CPU cores).
.PHONY: bench-search
bench-search: $(STAMP)
	$(PY) -m benchmarks.bench_search $(BENCH_ARGS)

## Training from photos (notebook 08) alone, the second section of `make bench`: images per
## second from 12-megapixel JPEGs, uncached, cached (folders.cache_images) and in memory, into
## build/bench_images.{json,md}. About 3 minutes on 2 CPU cores; BENCH_ARGS=--quick checks that
## it runs.
.PHONY: bench-images
bench-images: $(STAMP)
	$(PY) -m benchmarks.bench_images $(BENCH_ARGS)

## One-shot training cost (notebook 06): the 3-net recipe timed net by net, and Koch et al.'s net: time to
## a validation 20-way accuracy of 50/70/85% (BENCH_ARGS="--seeds 3" for more seeds), into build/bench_oneshot.{json,md}.
## About 12 minutes on 2 recent CPU cores; BENCH_ARGS=--quick: about 3.
.PHONY: bench-oneshot
bench-oneshot: $(STAMP)
	$(PY) -m benchmarks.bench_oneshot $(BENCH_ARGS)
