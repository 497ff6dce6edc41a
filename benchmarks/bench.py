"""The course's speed and memory benchmark (``make bench``): writes ``build/bench.json`` and
``build/bench.md`` and prints the markdown tables.

On MNIST, each measurement in a fresh Python process (so each peak memory figure is its own):

1. **Pair sampling**: pairs/s of ``pairs.pair_dataset`` (image pairs, every batch read as a
   training loop would) and ``pairs.pair_indices`` (index pairs) against a BASELINE, a Python
   loop written the way popular tutorials build pairs (:func:`tutorial_pairs`).
2. **Training throughput** of the Siamese CNN fed by ``pair_dataset``, by one cached batch (no
   input cost: is the pipeline the bottleneck?) and by NumPy arrays of pairs materialised by
   the loop (the tutorial way); same model, batch and step count.
3. **Peak resident memory** of training fed by the pipeline and by materialised pairs.
4. **Knobs**: ``jit_compile`` off/on and batch sizes 64-512: pairs/s and the test ROC AUC after
   training on the same number of pairs; mixed precision only when a GPU is present.
5. **The course**: wall time per notebook from ``build/timings_{fast,full}.json`` (``make course``).

Figures are medians of several repeats with their min-max spread. What is compared runs
interleaved in one process and the ratios are taken repeat by repeat, so that the load of a
shared machine (recorded before and after each measurement) hits both sides alike. No test
asserts a timing.

Tooling, not part of the installed ``course_lib`` package: run it from the repository root.

Usage: ``python -m benchmarks.bench`` (about 10 minutes on 2 CPU cores), ``--quick`` (small
sizes, to check that it runs), ``--only sampling training knobs``, ``--out DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import common
from course_lib.config import build_dir

RESULT_MARK = "BENCH_RESULT "
DEFAULT_BATCH = 128


# --------------------------------------------------------------------------- BASELINE (tutorial way)
# The reference sampler, written the way popular Siamese tutorials build pairs: a Python loop
# over the examples, one positive and one negative partner for each picked with ``random``,
# pairs appended to a list and turned into one big NumPy array. It is here only as the baseline
# the course's vectorised ``pairs`` module is measured against; the course never uses it.


def tutorial_pairs(x, y, num_pairs: int, seed: int = 0, images: bool = True):
    """BASELINE ONLY. ``num_pairs`` pairs, alternately same-class (label 1) and not (label 0).

    Example ``t % len(y)`` anchors pairs ``2t`` and ``2t + 1``. Returns ``(pairs, labels)``:
    ``pairs`` of shape (num_pairs, 2, *x.shape[1:]) holding the images (``images=True``, the
    tutorial way) or (num_pairs, 2) holding indices.
    """
    if not isinstance(num_pairs, int) or isinstance(num_pairs, bool) or num_pairs < 2 \
            or num_pairs % 2:
        raise ValueError(f"num_pairs must be an even int >= 2, got {num_pairs!r}")
    x, y = np.asarray(x), np.asarray(y)
    if y.ndim != 1 or len(x) != len(y):
        raise ValueError(f"y must be 1-D with one label per example of x, got shapes "
                         f"{x.shape} and {y.shape}")
    rng = random.Random(seed)
    classes = sorted(set(y.tolist()))
    if len(classes) < 2:
        raise ValueError("y must hold at least two classes")
    by_class = {c: np.flatnonzero(y == c) for c in classes}
    pairs, labels = [], []
    for t in range(num_pairs // 2):
        i = t % len(y)
        label = y[i]
        j = rng.choice(by_class[label])                          # positive partner
        other = rng.choice(classes)
        while other == label:
            other = rng.choice(classes)
        k = rng.choice(by_class[other])                          # negative partner
        pairs += [[x[i], x[j]], [x[i], x[k]]] if images else [[i, j], [i, k]]
        labels += [1, 0]
    return np.array(pairs), np.array(labels, dtype="float32")


# --------------------------------------------------------------------------- helpers


def summarize(values) -> dict:
    """Median, min, max and count of a list of numbers (the spread shown is min-max)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("values must not be empty")
    return {"median": float(np.median(values)), "min": min(values), "max": max(values),
            "n": len(values), "values": values}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (``ru_maxrss``: kB on Linux)."""
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def current_rss_mb() -> float:
    """Resident memory now, in MiB (Linux ``/proc``; falls back to the peak elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def _load(n_train: int | None, test: bool = False):
    """MNIST training images (the first ``n_train``), and the test set when ``test``."""
    from course_lib import data

    (x, y), (x_test, y_test) = data.load_mnist()
    if n_train is not None:
        x, y = x[:n_train], y[:n_train]
    return (x, y, x_test, y_test) if test else (x, y)


# --------------------------------------------------------------------------- pair sampling


SAMPLERS = ("loop_images", "loop_indices", "pair_dataset_b128", "pair_dataset_b1024",
            "pair_indices")


def _sampler(name: str, x, y, num_pairs: int):
    """``(pairs per call, call)`` for one of :data:`SAMPLERS`; ``call(seed)`` makes the pairs
    and returns ``(seconds making them, seconds of one-off setup)``.

    ``pair_dataset``'s setup is building the dataset (validating ``x``, copying it into a
    tensor, tracing the sampler): once per notebook, so it is timed apart. Its pairs are every
    batch of one pass read from a fresh iterator, as ``fit`` reads an epoch.
    """
    from course_lib import pairs

    def timed(make):
        def call(seed):
            start = time.perf_counter()
            make(seed)
            return time.perf_counter() - start, 0.0
        return call

    if name in ("loop_images", "loop_indices"):
        return num_pairs, timed(lambda seed: tutorial_pairs(x, y, num_pairs, seed,
                                                            name == "loop_images"))
    if name == "pair_indices":
        return num_pairs, timed(lambda seed: pairs.pair_indices(y, num_pairs, seed=seed))
    if name.startswith("pair_dataset_b"):
        batch = int(name.removeprefix("pair_dataset_b"))
        steps = max(1, num_pairs // batch)

        def read_all(seed):
            start = time.perf_counter()
            dataset = pairs.pair_dataset(x, y, batch, seed=seed, steps=steps)
            built = time.perf_counter()
            count = sum(len(labels) for _, labels in dataset)
            if count != steps * batch:
                raise RuntimeError(f"pair_dataset gave {count} pairs, expected {steps * batch}")
            return time.perf_counter() - built, built - start
        return steps * batch, read_all
    raise ValueError(f"sampler must be one of {SAMPLERS}, got {name!r}")


def sampling_worker(cfg: dict) -> dict:
    """Pairs/s of each sampler, ``num_pairs`` per call, interleaved repeat by repeat.

    Each repeat runs every sampler once in a rotated order after one warm-up call each, so
    the ratios compare samplers under the same load.
    """
    num_pairs, repeats = int(cfg["num_pairs"]), int(cfg.get("repeats", 5))
    x, y = _load(cfg.get("n_train"))
    samplers = {name: _sampler(name, x, y, num_pairs) for name in SAMPLERS}
    for _, call in samplers.values():
        call(1000)                                   # warm-up: tracing, caches
    rates = {name: [] for name in SAMPLERS}
    setup = {name: [] for name in SAMPLERS}
    for r in range(repeats):
        for name in SAMPLERS[r % len(SAMPLERS):] + SAMPLERS[:r % len(SAMPLERS)]:
            made, call = samplers[name]
            seconds, setup_s = call(r)
            rates[name].append(made / seconds)
            setup[name].append(setup_s)
    return {"num_pairs": num_pairs,
            **{name: {"pairs_per_s": summarize(rates[name]), "setup_s": summarize(setup[name])}
               for name in SAMPLERS}}


# --------------------------------------------------------------------------- training


def _build_model(jit):
    import keras

    from course_lib import losses, models

    keras.utils.set_random_seed(0)
    model = models.siamese(models.small_cnn_encoder((28, 28)))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=losses.ContrastiveLoss(),
                  jit_compile=jit)
    return model


def _step_timer():
    import keras

    class StepTimer(keras.callbacks.Callback):
        """Wall time of each training step (batch end to batch end)."""

        def on_train_begin(self, logs=None):
            self.times, self._last = [], time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            self.times.append(now - self._last)
            self._last = now

    return StepTimer()


def _timed_fit(model, steps: int, batch: int, *args, **kwargs) -> tuple[float, float]:
    """One ``fit`` of ``steps`` steps: (pairs/s over the whole call, median step seconds)."""
    timer = _step_timer()
    start = time.perf_counter()
    model.fit(*args, epochs=1, verbose=0, callbacks=[timer], **kwargs)
    return steps * batch / (time.perf_counter() - start), float(np.median(timer.times))


def _test_auc(model, x_test, y_test, n: int = 2000) -> float:
    import keras
    from sklearn.metrics import roc_auc_score

    from course_lib import evaluate, pairs

    encoder = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    emb = encoder.predict(x_test, batch_size=1000, verbose=0)
    left, right, labels = pairs.pair_indices(y_test, n, seed=123)
    return float(roc_auc_score(labels, -evaluate.pair_distances(emb, left, right)))


def compare_worker(cfg: dict) -> dict:
    """Throughput of one model fed three ways, interleaved repeat by repeat in this process.

    ``pipeline``: ``pair_dataset``; ``cached``: one batch of it, cached and repeated (the
    pipeline's cost removed); ``numpy``: pairs materialised by the tutorial loop, fed as arrays.
    Each repeat runs the three in a rotated order, so a burst of load hits all of them alike,
    and the ratios are taken repeat by repeat.
    """
    from course_lib import pairs

    batch, steps = int(cfg["batch"]), int(cfg["steps"])
    repeats, warmup = int(cfg.get("repeats", 3)), int(cfg.get("warmup", 3))
    x, y = _load(cfg.get("n_train"))
    model = _build_model(cfg.get("jit", "auto"))
    pipeline = pairs.pair_dataset(x, y, batch, seed=0, repeat=True)
    cached = pipeline.take(1).cache().repeat()
    pair_images, labels = tutorial_pairs(x, y, steps * batch, seed=0)
    left, right = pair_images[:, 0], pair_images[:, 1]         # as the tutorials feed them
    feeds = {
        "pipeline": lambda n: ((pipeline,), {"steps_per_epoch": n}),
        "cached": lambda n: ((cached,), {"steps_per_epoch": n}),
        "numpy": lambda n: (([left, right], labels), {"batch_size": batch, "shuffle": True,
                                                     "steps_per_epoch": n}),
    }
    for make in feeds.values():                                 # trace each input signature
        args, kwargs = make(warmup)
        model.fit(*args, epochs=1, verbose=0, **kwargs)
    rates = {name: [] for name in feeds}
    step_s = {name: [] for name in feeds}
    names = list(feeds)
    for r in range(repeats):
        for name in names[r % 3:] + names[:r % 3]:
            args, kwargs = feeds[name](steps)
            rate, step = _timed_fit(model, steps, batch, *args, **kwargs)
            rates[name].append(rate)
            step_s[name].append(step)
    out = {"batch": batch, "steps": steps, "jit_compile": bool(model.jit_compile)}
    for name in feeds:
        out[name] = {"pairs_per_s": summarize(rates[name]),
                     "step_ms": summarize([1e3 * s for s in step_s[name]])}
    out["pipeline_vs_numpy"] = summarize(
        [a / b for a, b in zip(rates["pipeline"], rates["numpy"])])
    out["pipeline_step_vs_cached_step"] = summarize(
        [a / b for a, b in zip(step_s["pipeline"], step_s["cached"])])
    return out


def memory_worker(cfg: dict) -> dict:
    """Peak memory of MNIST training fed one way (``feed``: pipeline or numpy), alone.

    The NumPy feed materialises ``epoch_pairs`` pairs (the tutorials build one epoch: two pairs
    per training image) before training; the pipeline materialises none. Then ``steps`` steps.
    """
    from course_lib import pairs

    feed, batch, steps = cfg["feed"], int(cfg["batch"]), int(cfg["steps"])
    x, y = _load(cfg.get("n_train"))
    model = _build_model(cfg.get("jit", "auto"))
    out = {"feed": feed, "batch": batch, "steps": steps, "rss_after_load_mb": current_rss_mb()}
    start = time.perf_counter()
    if feed == "pipeline":
        model.fit(pairs.pair_dataset(x, y, batch, seed=0, steps=steps), epochs=1,
                  verbose=0)
    elif feed == "numpy":
        pair_images, labels = tutorial_pairs(x, y, int(cfg["epoch_pairs"]), seed=0)
        out["make_pairs_s"] = time.perf_counter() - start
        out["materialised_mb"] = pair_images.nbytes / 2**20
        model.fit([pair_images[:, 0], pair_images[:, 1]], labels, batch_size=batch,
                  steps_per_epoch=steps, epochs=1, verbose=0)
    else:
        raise ValueError(f"feed must be 'pipeline' or 'numpy', got {feed!r}")
    out["seconds"] = time.perf_counter() - start
    return out


def knob_worker(cfg: dict) -> dict:
    """Throughput of the pipeline-fed model at one setting (``batch``, ``jit``, ``mixed``), and
    the test ROC AUC after training on ``pairs`` pairs at that setting (does speed cost accuracy?)."""
    import keras

    from course_lib import distribute, pairs

    batch, total = int(cfg["batch"]), int(cfg["pairs"])
    repeats = int(cfg.get("repeats", 3))
    x, y, x_test, y_test = _load(cfg.get("n_train"), test=True)
    if cfg.get("mixed"):
        distribute.set_mixed_precision(True)
    model = _build_model(cfg.get("jit", "auto"))
    steps = max(1, total // (batch * repeats))
    data = pairs.pair_dataset(x, y, batch, seed=0, repeat=True)
    model.fit(data, steps_per_epoch=1, epochs=1, verbose=0)     # trace and compile
    rates, step_s = [], []
    for _ in range(repeats):
        rate, step = _timed_fit(model, steps, batch, data, steps_per_epoch=steps)
        rates.append(rate)
        step_s.append(step)
    return {"batch": batch, "steps": steps, "jit_compile": bool(model.jit_compile),
            "dtype_policy": keras.mixed_precision.global_policy().name,
            "pairs_trained": (1 + steps * repeats) * batch, "pairs_per_s": summarize(rates),
            "step_ms": summarize([1e3 * s for s in step_s]),
            "test_auc": _test_auc(model, x_test, y_test)}


WORKERS = {"sampling": sampling_worker, "compare": compare_worker, "memory": memory_worker,
           "knob": knob_worker}


def run_in_process(cfg: dict) -> dict:
    """Run one measurement here (tests use this); adds peak RSS and the load average."""
    load_before = os.getloadavg()[0]
    result = WORKERS[cfg["kind"]](cfg)
    result["peak_rss_mb"] = peak_rss_mb()
    result["load_before"], result["load_after"] = load_before, os.getloadavg()[0]
    return result


def run_worker(cfg: dict, timeout: int = 1800) -> dict:
    """Run one measurement in a fresh Python process; returns its result (or the error)."""
    run = common.run_worker("benchmarks.bench", cfg, RESULT_MARK, timeout)
    if run["error"] is not None:
        return {"error": run["error"], "config": cfg}
    result = run["result"]
    result["config"], result["process_s"] = cfg, run["seconds"]
    return result


# --------------------------------------------------------------------------- the plan


SECTIONS = ("sampling", "training", "knobs")


def plan(quick: bool = False, only=None, gpu: bool = False) -> dict[str, dict]:
    """Named measurement configs, one process each. ``quick``: small sizes, to check it runs.

    ``only``: a subset of :data:`SECTIONS`; ``gpu``: add the mixed-precision knob.
    """
    if only is not None:
        unknown = sorted(set(only) - set(SECTIONS))
        if unknown or not only:
            raise ValueError(f"only must name sections among {SECTIONS}, got {list(only)!r}")
    epoch = 120_000                     # the tutorials' epoch: two pairs per MNIST training image
    repeats = 2 if quick else 5
    configs = {
        "sampling": {"kind": "sampling", "num_pairs": 20_000 if quick else epoch,
                     "repeats": repeats},
        "training/compare": {"kind": "compare", "batch": DEFAULT_BATCH,
                             "steps": 5 if quick else 50, "repeats": repeats},
    }
    for feed in ("pipeline", "numpy"):
        configs[f"training/memory_{feed}"] = {
            "kind": "memory", "feed": feed, "batch": DEFAULT_BATCH, "steps": 3 if quick else 30,
            "epoch_pairs": 2_000 if quick else epoch}
    knob_pairs = 1_536 if quick else 18_432      # divisible by 3 repeats x every batch size
    batches = (64, 128) if quick else (64, 128, 256, 512)
    settings = [("jit=off", {"jit": False}), ("jit=on", {"jit": True})]
    if gpu:
        settings.append(("mixed_float16", {"jit": "auto", "mixed": True}))
    for label, knob in settings:
        for b in batches:
            configs[f"knobs/{label}/b{b}"] = {"kind": "knob", "batch": b, "pairs": knob_pairs,
                                              "repeats": 3, **knob}
    if only is not None:
        configs = {k: v for k, v in configs.items() if k.split("/")[0] in only}
    return configs


def _has_gpu() -> bool:
    """Whether a GPU is visible, asked in a child process (keeps TensorFlow out of this one)."""
    code = "import tensorflow as tf; print(len(tf.config.list_physical_devices('GPU')))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        return int(run.stdout.strip().splitlines()[-1]) > 0
    except (ValueError, IndexError):
        return False


def machine() -> dict:
    """What the figures were measured on (:func:`benchmarks.common.machine`, with the GPU)."""
    return common.machine(gpu=_has_gpu())


def course_timings() -> dict:
    """Per-notebook wall time (s) from the runner's ``build/timings_{fast,full}.json``."""
    out = {}
    for mode in ("fast", "full"):
        path = build_dir() / f"timings_{mode}.json"
        out[mode] = json.loads(path.read_text()) if path.exists() else {}
    return out


# --------------------------------------------------------------------------- report


def _get(results: dict, *keys):
    """``results[k1][k2]...``, or None where a level is missing (a failed or skipped run)."""
    for key in keys:
        if not isinstance(results, dict) or key not in results:
            return None
        results = results[key]
    return results


def _ratio(a, b):
    return a / b if a is not None and b else None


def derive(results: dict) -> dict:
    """The comparisons the targets are about, as ratios of this run's figures."""
    rate = {name: _get(results, "sampling", name, "pairs_per_s", "median") for name in SAMPLERS}
    d = {
        "pair_dataset_b128_vs_loop": _ratio(rate["pair_dataset_b128"], rate["loop_images"]),
        "pair_dataset_b1024_vs_loop": _ratio(rate["pair_dataset_b1024"], rate["loop_images"]),
        "pair_indices_vs_loop": _ratio(rate["pair_indices"], rate["loop_indices"]),
        "training_pipeline_vs_numpy": _get(results, "training/compare", "pipeline_vs_numpy",
                                           "median"),
        "pipeline_step_vs_cached_step": _get(results, "training/compare",
                                             "pipeline_step_vs_cached_step", "median"),
    }
    # A whole tutorial epoch: build its pairs with the loop, then train on them; against the
    # pipeline, which needs no building. Both trained at the rates measured side by side.
    make_s = _get(results, "training/memory_numpy", "make_pairs_s")
    n = _get(results, "training/memory_numpy", "config", "epoch_pairs")
    pipe = _get(results, "training/compare", "pipeline", "pairs_per_s", "median")
    arrays = _get(results, "training/compare", "numpy", "pairs_per_s", "median")
    if None not in (make_s, n, pipe, arrays):
        d["epoch_with_pair_building_vs_pipeline"] = (make_s + n / arrays) / (n / pipe)
    return d


RSS_LIMIT_MB = 1.5e9 / 2**20          # 1.5 GB (10^9 bytes) in MiB, the unit of the RSS figures


def targets(results: dict, derived: dict) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) rows for the issue's targets."""
    def row(label, value, text, ok):
        verdict = "n/a (not measured)" if value is None else ("met" if ok(value) else "missed")
        return (label, "n/a" if value is None else text, verdict)

    rows = []
    for name, what in (("pair_dataset_b128", "`pair_dataset` image pairs, batch 128"),
                       ("pair_dataset_b1024", "`pair_dataset` image pairs, batch 1024"),
                       ("pair_indices", "`pair_indices` index pairs")):
        v = _get(results, "sampling", name, "pairs_per_s", "median")
        rows.append(row(f"{what}: >= 1,000,000 pairs/s", v, _fmt(v), lambda r: r >= 1e6))
    for key, what in (("pair_dataset_b128_vs_loop", "`pair_dataset` b128 vs loop (images)"),
                      ("pair_dataset_b1024_vs_loop", "`pair_dataset` b1024 vs loop (images)"),
                      ("pair_indices_vs_loop", "`pair_indices` vs loop (indices)")):
        v = derived.get(key)
        rows.append(row(f"{what}: >= 100x", v, f"{_fmt(v, 1)}x", lambda r: r >= 100))
    v = derived.get("training_pipeline_vs_numpy")
    rows.append(row("training pairs/s, pipeline vs NumPy pair arrays: >= 1.3x", v,
                    f"{_fmt(v, 2)}x", lambda r: r >= 1.3))
    v = derived.get("epoch_with_pair_building_vs_pipeline")
    rows.append(row("the same, one epoch including building the tutorial's pairs: >= 1.3x", v,
                    f"{_fmt(v, 2)}x", lambda r: r >= 1.3))
    v = derived.get("pipeline_step_vs_cached_step")
    rows.append(row("step fed by the pipeline vs by one cached batch: <= 1.05x", v,
                    f"{_fmt(v, 3)}x", lambda r: r <= 1.05))
    v = _get(results, "training/memory_pipeline", "peak_rss_mb")
    rows.append(row("peak RSS, MNIST training fed by the pipeline: <= 1.5 GB", v,
                    f"{_fmt(v)} MiB", lambda m: m <= RSS_LIMIT_MB))
    return rows


def _fmt(x, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    return f"{x:,.{digits}f}"


def _spread(s, digits: int = 0) -> str:
    """``median (min–max)`` of a :func:`summarize` dict."""
    if not s:
        return "n/a"
    return f"{_fmt(s['median'], digits)} ({_fmt(s['min'], digits)}–{_fmt(s['max'], digits)})"


def _per_step(r: dict) -> float:
    """Pairs/s of the median training step: robust to a slow start or end of a ``fit`` call."""
    return r["batch"] / (r["step_ms"]["median"] / 1e3)


def _load_text(r: dict) -> str:
    return f"{r['load_before']:.1f}→{r['load_after']:.1f}" if "load_before" in r else ""


def _failed(results: dict, name: str) -> str | None:
    """A one-line table cell for a failed run, or None when it ran."""
    if "error" not in results.get(name, {}):
        return None
    lines = str(results[name]["error"]).strip().splitlines() or ["?"]
    return f"failed: {lines[-1][:100]}"


def markdown(report: dict) -> str:
    """The report as a markdown document: machine, one table per section, the targets."""
    r, m = report["results"], report["machine"]
    lines = [f"# Benchmark ({report['date']}, {'quick' if report['quick'] else 'full'} run)", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, GPU: "
             f"{'yes' if m['gpu'] else 'no'}; Python {m['python']}, TensorFlow "
             f"{m['tensorflow']}, Keras {m['keras']}. Load average (1 min) "
             f"{report['load'][0]:.2f} at the start, {report['load'][1]:.2f} at the end; each "
             f"measurement's own is in its table. Figures: median (min–max) of the repeats; "
             f"ratios are taken repeat by repeat within one process.", ""]

    lines += ["## 1. Pair sampling (MNIST, 60,000 training images)", ""]
    if "sampling" in r:
        s, failed = r["sampling"], _failed(r, "sampling")
        lines += [f"{_fmt(s.get('num_pairs'))} pairs per call (120,000 is an epoch of the "
                  f"tutorials: two per training image); load {_load_text(s)}. `pair_dataset`: every batch read "
                  "from a fresh iterator, as `fit` reads an epoch; building the dataset (once "
                  "per notebook) is timed apart.", "",
                  "| sampler | output | pairs/s | vs the loop | setup s |",
                  "| --- | --- | --- | --- | --- |"]
        if failed:
            lines.append(f"| all | | {failed} | | |")
        else:
            loop = {"images": s["loop_images"]["pairs_per_s"]["median"],
                    "indices": s["loop_indices"]["pairs_per_s"]["median"]}
            for name, label, kind in (
                    ("loop_images", "BASELINE: tutorial loop", "images"),
                    ("loop_indices", "BASELINE: tutorial loop", "indices"),
                    ("pair_dataset_b128", "`pair_dataset`, batch 128", "images"),
                    ("pair_dataset_b1024", "`pair_dataset`, batch 1024", "images"),
                    ("pair_indices", "`pair_indices`", "indices")):
                rate = s[name]["pairs_per_s"]
                setup = s[name]["setup_s"]
                lines.append(f"| {label} | {kind} | {_spread(rate)} | "
                             f"{_fmt(_ratio(rate['median'], loop[kind]), 1)}x | "
                             f"{_spread(setup, 2) if setup['max'] else '—'} |")
    lines += ["", "## 2-3. Training the MNIST Siamese CNN (`small_cnn_encoder`, contrastive "
              "loss, Adam, batch 128)", ""]
    c = r.get("training/compare")
    if c is not None:
        lines += [f"Throughput: one model, {c.get('steps', '?')} steps per feed per repeat, "
                  f"the feeds interleaved; jit_compile={c.get('jit_compile', '?')}; load "
                  f"{_load_text(c)}.", "",
                  "| feed | pairs/s over whole `fit` calls | step ms | pairs/s at the median step |",
                  "| --- | --- | --- | --- |"]
        failed = _failed(r, "training/compare")
        if failed:
            lines.append(f"| all | {failed} | | |")
        else:
            for name, label in (("pipeline", "`pair_dataset`"),
                                ("cached", "one cached batch, repeated (no input cost)"),
                                ("numpy", "BASELINE: NumPy pair arrays from the loop")):
                lines.append(f"| {label} | {_spread(c[name]['pairs_per_s'])} | "
                             f"{_spread(c[name]['step_ms'], 1)} | "
                             f"{_fmt(_per_step({**c[name], 'batch': c['batch']}))} |")
    mem = {feed: r.get(f"training/memory_{feed}") for feed in ("pipeline", "numpy")}
    if any(mem.values()):
        lines += ["", "Peak memory: a fresh process per feed (load MNIST, build the model, "
                  "train).", "",
                  "| feed | pairs materialised | RSS after loading MiB | peak RSS MiB | load |",
                  "| --- | --- | --- | --- | --- |"]
        for feed, label in (("pipeline", "`pair_dataset`"),
                            ("numpy", "BASELINE: NumPy pair arrays from the loop")):
            t = mem[feed]
            if t is None:
                continue
            failed = _failed(r, f"training/memory_{feed}")
            if failed:
                lines.append(f"| {label} | {failed} | | | |")
                continue
            held = (f"{_fmt(t['config']['epoch_pairs'])} ({_fmt(t['materialised_mb'])} MiB, "
                    f"built in {t['make_pairs_s']:.1f} s)" if feed == "numpy" else "none")
            lines.append(f"| {label} | {held} | {_fmt(t['rss_after_load_mb'])} | "
                         f"{_fmt(t['peak_rss_mb'])} | {_load_text(t)} |")

    knobs = {k: v for k, v in r.items() if k.startswith("knobs/")}
    if knobs:
        lines += ["", "## 4. Knobs (fed by `pair_dataset`; the same number of pairs per run)",
                  "", "| setting | batch | step ms | pairs/s at the median step | pairs/s over "
                  "whole `fit` calls | pairs trained | test ROC AUC | load |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for name, t in knobs.items():
            setting, batch = name.split("/")[1], name.split("/")[2].removeprefix("b")
            failed = _failed(r, name)
            if failed:
                lines.append(f"| {setting} | {batch} | {failed} | | | | | |")
                continue
            lines.append(f"| {setting} | {batch} | {_spread(t['step_ms'], 1)} | "
                         f"{_fmt(_per_step(t))} | {_spread(t['pairs_per_s'])} | "
                         f"{_fmt(t['pairs_trained'])} | {_fmt(t['test_auc'], 3)} | "
                         f"{_load_text(t)} |")
        if not m["gpu"]:
            lines.append("| mixed_float16 | | skipped: no GPU (on a CPU float16 is emulated "
                         "and slower) | | | | | |")
        lines += ["", "Test ROC AUC: 2,000 fixed MNIST test pairs scored by embedding distance "
                  "after the run's training (one warm-up step plus the timed steps)."]

    lines += ["", "## Targets (issue 6)", "", "| target | measured | verdict |",
              "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in report["targets"]]

    lines += ["", "## 5. The course (wall time per notebook, s)", ""]
    timings = report["course"]
    names = sorted(set(timings["fast"]) | set(timings["full"]))
    if names:
        lines += ["From `build/timings_fast.json` and `build/timings_full.json`, as written by "
                  "the last `make course` in each mode (on a shared machine: inflated by other "
                  "work).", "", "| notebook | fast mode | default mode |", "| --- | --- | --- |"]
        lines += [f"| {n} | {_fmt(timings['fast'].get(n), 1)} | "
                  f"{_fmt(timings['full'].get(n), 1)} |" for n in names]
    else:
        lines.append("Not run yet: run `make course` (default mode) and `COURSE_FAST=1 make "
                     "course` (fast mode), then `make bench` again.")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks that it runs")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run these sections only")
    parser.add_argument("--out", default=None, help="folder for bench.json/bench.md (build/)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(RESULT_MARK + json.dumps(run_in_process(json.loads(args.worker))), flush=True)
        return 0
    about = machine()
    configs = plan(args.quick, args.only, gpu=about["gpu"])
    out_dir = Path(args.out) if args.out else build_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()[0]
    results = {}
    for name, cfg in configs.items():
        print(f"[bench] {name} (load {os.getloadavg()[0]:.2f}) ...", flush=True)
        results[name] = run_worker(cfg)
        if "error" in results[name]:
            print(f"    FAILED: {results[name]['error'][-500:]}", flush=True)
    derived = derive(results)
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "quick": args.quick,
              "machine": about, "load": [load_start, os.getloadavg()[0]],
              "results": results, "derived": derived, "targets": targets(results, derived),
              "course": course_timings()}
    text = markdown(report)
    common.write_report(out_dir, "bench", report, text)
    print("\n" + text)
    return 1 if any("error" in v for v in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
