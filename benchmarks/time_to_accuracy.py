"""Time to accuracy on MNIST verification: the course's way against the keras.io way (``make bench``).

What a learner feels is not how fast pairs are sampled but how soon the model is good. Both
ways train a Siamese network on the same 30,000 MNIST training images and are scored on the
same fixed pairs: a distance (or score) threshold is chosen on 4,000 validation pairs (images
30,000-59,999 of the training set) and the accuracy is measured on 10,000 balanced test pairs
(from the 10,000 test images). The clock runs from the start of data preparation (loading
included) through training; it stops while the model is being scored, so checking progress
costs nothing. Reported: the wall time until the test pair accuracy first reaches 97% and 99%
(or "not reached" within the cap on training time), the ratio of the two ways, and the peak
resident memory of each run (each in its own process).

- **course**: ``pairs.pair_dataset`` (pairs drawn on the fly), ``models.small_cnn_encoder``
  (16-D), ``EuclideanDistance``, ``ContrastiveLoss`` (margin 1), Adam 1e-3, batch 128.
- **keras.io**: re-implemented from the description of the keras.io example
  "Image similarity estimation using a Siamese Network with a contrastive loss" (Mehdi, 2021,
  https://keras.io/examples/vision/siamese_contrastive/): pairs materialised up front by a
  Python loop (for every training image one same-class and one other-class partner picked with
  ``random``: 60,000 pairs of raw 0-255 pixels), its model (batch norm, conv 4@5x5 tanh,
  average pooling, conv 16@5x5 tanh, average pooling, batch norm, dense 10 tanh; Euclidean
  distance, batch norm, dense 1 sigmoid), its loss (a contrastive loss on the sigmoid output,
  label 1 = same), RMSprop and its batch size of 16.

Runs alternate between the two ways seed by seed (interleaved), so the load of a shared machine
hits both alike. No test asserts a timing. Tooling, not part of ``course_lib``; run from the
repository root: ``python -m benchmarks.time_to_accuracy`` (``--quick`` to check that it runs).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import common

RESULT_MARK = "TTA_RESULT "
METHODS = ("course", "keras_io")
TARGETS = (0.97, 0.99)


# --------------------------------------------------------------------------- the keras.io way


def keras_io_pairs(x: np.ndarray, y: np.ndarray, rng: random.Random):
    """The keras.io example's pairs: for every image, a same-class and an other-class partner.

    A Python loop, partners picked with ``random`` (the same-class partner may be the image
    itself, as there), appended to lists and turned into one array.

    Args:
        x: images (N, ...).
        y: integer class ids (N,), classes 0..K-1.
        rng: the ``random.Random`` that picks partners.

    Returns:
        ``(pairs, labels)``: (2N, 2, ...) float32 and (2N,) float32, 1 = same class.
    """
    num_classes = int(max(y)) + 1
    by_class = [np.flatnonzero(y == c) for c in range(num_classes)]
    pairs, labels = [], []
    for i in range(len(x)):
        same = rng.choice(by_class[y[i]])
        pairs.append([x[i], x[same]])
        labels.append(1.0)
        other = rng.randint(0, num_classes - 1)
        while other == y[i]:
            other = rng.randint(0, num_classes - 1)
        pairs.append([x[i], x[rng.choice(by_class[other])]])
        labels.append(0.0)
    return np.array(pairs, dtype=np.float32), np.array(labels, dtype=np.float32)


def keras_io_model():
    """The keras.io example's Siamese model (its ``Lambda`` distance as our registered layer).

    Returns:
        ``(siamese, score)``: the two-input model and a function mapping two image batches to
        its sigmoid output (higher = more alike).
    """
    import keras
    from keras import layers

    from course_lib.layers import EuclideanDistance

    image = keras.Input((28, 28, 1))
    h = layers.BatchNormalization()(image)
    h = layers.Conv2D(4, 5, activation="tanh")(h)
    h = layers.AveragePooling2D(2)(h)
    h = layers.Conv2D(16, 5, activation="tanh")(h)
    h = layers.AveragePooling2D(2)(h)
    h = layers.Flatten()(h)
    h = layers.BatchNormalization()(h)
    embedding = keras.Model(image, layers.Dense(10, activation="tanh")(h))
    a, b = keras.Input((28, 28, 1)), keras.Input((28, 28, 1))
    d = EuclideanDistance(epsilon=1e-7)([embedding(a), embedding(b)])
    out = layers.Dense(1, activation="sigmoid")(layers.BatchNormalization()(d))
    siamese = keras.Model([a, b], out)
    return siamese, lambda u, v: siamese([u, v], training=False)


def keras_io_loss(y_true, y_pred):
    """The example's contrastive loss on its sigmoid output, label 1 = same class (margin 1).

    Args:
        y_true: pair labels, 1 = same.
        y_pred: the model's output in [0, 1].

    Returns:
        The mean loss.
    """
    from keras import ops

    y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)), y_pred.dtype)
    return ops.mean((1 - y_true) * ops.square(y_pred)
                    + y_true * ops.square(ops.maximum(1.0 - y_pred, 0.0)))


# --------------------------------------------------------------------------- one run


class Clock:
    """Wall time since the run started, minus the time spent scoring (paused)."""

    def __init__(self):
        self._start = time.perf_counter()
        self._paused = 0.0
        self._pause_start: float | None = None

    def pause(self) -> None:
        self._pause_start = time.perf_counter()

    def resume(self) -> None:
        self._paused += time.perf_counter() - self._pause_start
        self._pause_start = None

    def now(self) -> float:
        return time.perf_counter() - self._start - self._paused


def first_crossing(curve: list[dict], target: float) -> float | None:
    """Clock time of the first checkpoint whose test accuracy reaches ``target``, else None.

    Args:
        curve: checkpoints ``{"seconds": ..., "test_accuracy": ...}`` in time order.
        target: the accuracy to reach.

    Returns:
        Seconds, or None when never reached.
    """
    for point in curve:
        if point["test_accuracy"] >= target:
            return point["seconds"]
    return None


def run(method: str, seed: int, cap: float, eval_every: float, quick: bool) -> dict:
    """Train one way with one seed until 99% test pair accuracy or ``cap`` seconds of training.

    Args:
        method: ``"course"`` or ``"keras_io"``.
        seed: seeds weights, pairs and (for keras.io) the ``random`` partner picks.
        cap: training seconds at most (on the clock, data preparation excluded).
        eval_every: training seconds between two scorings.
        quick: small sizes, to check that everything runs.

    Returns:
        A dict: the accuracy curve, times to the targets, peak memory, preparation time.
    """
    clock = Clock()
    import keras

    from course_lib import config, data, evaluate, losses, models, pairs

    config.seed_everything(seed, deterministic=False)
    (x_all, y_all), (x_test, y_test) = data.load_mnist()
    n_train = 2000 if quick else 30_000
    x_train, y_train = x_all[:n_train], y_all[:n_train]

    clock.pause()  # the fixed scoring pairs are the benchmark's, not either way's: untimed
    x_val, y_val = x_all[30_000:], y_all[30_000:]
    val = pairs.pair_indices(y_val, 400 if quick else 4_000, seed=100)
    test = pairs.pair_indices(y_test, 1_000 if quick else 10_000, seed=200)
    clock.resume()

    if method == "course":
        train_data = pairs.pair_dataset(x_train, y_train, batch_size=128, seed=seed, repeat=True)
        encoder = models.small_cnn_encoder(embedding_dim=16)
        model = models.siamese(encoder)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=losses.ContrastiveLoss())
        fit_kwargs = {"x": train_data, "steps_per_epoch": 10**6, "epochs": 1}

        def distances(images, split):
            emb = np.concatenate([np.asarray(encoder(images[i:i + 2048], training=False))
                                  for i in range(0, len(images), 2048)])
            left, right, _ = split
            return evaluate.pair_distances(emb, left, right)
    elif method == "keras_io":
        pair_images, labels = keras_io_pairs(x_train[..., None] * 255.0, y_train,
                                             random.Random(seed))
        left_images, right_images = pair_images[:, 0], pair_images[:, 1]
        model, score = keras_io_model()
        model.compile(optimizer="rmsprop", loss=keras_io_loss)
        fit_kwargs = {"x": [left_images, right_images], "y": labels, "batch_size": 16,
                      "epochs": 1000, "shuffle": True}

        def distances(images, split):
            left, right, _ = split
            images = images[..., None] * 255.0
            out = [np.asarray(score(images[left[i:i + 1024]], images[right[i:i + 1024]]))
                   for i in range(0, len(left), 1024)]
            return -np.concatenate(out).ravel()     # higher score = more alike
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    prepared = clock.now()
    curve: list[dict] = []

    class Checkpoints(keras.callbacks.Callback):
        last = prepared

        def on_train_batch_end(self, batch, logs=None):
            now = clock.now()
            if now - self.last < eval_every:
                return
            clock.pause()
            threshold = evaluate.choose_threshold(distances(x_val, val), val[2])
            accuracy = evaluate.threshold_accuracy(distances(x_test, test), test[2], threshold)
            curve.append({"seconds": round(now, 2), "training_s": round(now - prepared, 2),
                          "test_accuracy": accuracy})
            self.last = now
            if accuracy >= max(TARGETS) or now - prepared >= cap:
                self.model.stop_training = True
            clock.resume()

    model.fit(**fit_kwargs, verbose=0, callbacks=[Checkpoints()])
    return {
        "method": method, "seed": seed, "prepare_s": round(prepared, 2), "curve": curve,
        "to_target_s": {f"{t:.2f}": first_crossing(curve, t) for t in TARGETS},
        "final_accuracy": curve[-1]["test_accuracy"] if curve else None,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_worker(cfg: dict, timeout: int = 1800) -> dict:
    """One run in a fresh Python process (its own peak memory); returns its result or the error.

    Args:
        cfg: the keyword arguments of :func:`run`.
        timeout: seconds before the process is killed.

    Returns:
        The run's result, with ``load`` (1-minute load average before and after).
    """
    run = common.run_worker("benchmarks.time_to_accuracy", cfg, RESULT_MARK, timeout,
                            tf_log_level="3")
    if run["error"] is not None:
        return {**cfg, "error": run["error"]}
    return {**run["result"], "load": run["load"]}


# --------------------------------------------------------------------------- the report


def _median(values):
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def summarize(runs: list[dict], cap: float) -> dict:
    """Per way and target: the seeds' times (None = not reached), their median, and the ratio.

    Args:
        runs: results of :func:`run`.
        cap: the cap on training seconds the runs had.

    Returns:
        A JSON-ready dict.
    """
    out = {"cap_training_s": cap, "methods": {}, "ratio_keras_io_over_course": {}}
    for method in METHODS:
        mine = [r for r in runs if r.get("method") == method and "error" not in r]
        out["methods"][method] = {
            "seeds": [r["seed"] for r in mine],
            "to_target_s": {k: [r["to_target_s"][k] for r in mine] for k in
                            (f"{t:.2f}" for t in TARGETS)},
            "final_accuracy": [r["final_accuracy"] for r in mine],
            "prepare_s": [r["prepare_s"] for r in mine],
            "peak_rss_mib": [round(r["peak_rss_mib"]) for r in mine],
        }
        for key, values in list(out["methods"][method]["to_target_s"].items()):
            out["methods"][method][f"median_to_{key}"] = (
                _median(values) if all(v is not None for v in values) else None)
    for t in TARGETS:
        key = f"{t:.2f}"
        ratios = []
        for seed in {r["seed"] for r in runs}:
            pair = {r["method"]: r for r in runs if r.get("seed") == seed and "error" not in r}
            if len(pair) == 2 and None not in (pair["course"]["to_target_s"][key],
                                               pair["keras_io"]["to_target_s"][key]):
                ratios.append(pair["keras_io"]["to_target_s"][key]
                              / pair["course"]["to_target_s"][key])
        out["ratio_keras_io_over_course"][key] = sorted(ratios)
    return out


def _time_text(values) -> str:
    return ", ".join("not reached" if v is None else f"{v:.0f} s" for v in values)


def markdown(report: dict) -> str:
    """The report as markdown tables.

    Args:
        report: ``{"machine": ..., "summary": summarize(...), "errors": [...]}``.

    Returns:
        Markdown text.
    """
    s = report["summary"]
    cap = s["cap_training_s"]
    lines = ["# Time to accuracy: MNIST verification", "",
             f"Machine: {report['machine']}. Cap: {cap:.0f} s of training per run. Wall time "
             "includes loading and pair preparation, excludes scoring.", "",
             "| way | seeds | to 97% (each seed) | to 99% (each seed) | test accuracy at the end "
             "| prepare | peak memory |", "| --- | --- | --- | --- | --- | --- | --- |"]
    names = {"course": "course (`pair_dataset`, small CNN, batch 128)",
             "keras_io": "keras.io (loop pairs, its model, batch 16)"}
    for method, m in s["methods"].items():
        lines.append(
            f"| {names[method]} | {len(m['seeds'])} | {_time_text(m['to_target_s']['0.97'])} "
            f"| {_time_text(m['to_target_s']['0.99'])} "
            f"| {', '.join(f'{a:.2%}' for a in m['final_accuracy'] if a is not None)} "
            f"| {', '.join(f'{p:.1f} s' for p in m['prepare_s'])} "
            f"| {', '.join(f'{p:,} MiB' for p in m['peak_rss_mib'])} |")
    lines += ["", "Ratio keras.io time / course time, per seed where both reached the target:"]
    for key, ratios in s["ratio_keras_io_over_course"].items():
        shown = ", ".join(f"{r:.1f}x" for r in ratios) or "no seed where both reached it"
        lines.append(f"- {float(key):.0%}: {shown}")
    if report.get("errors"):
        lines += ["", "Failed runs:"] + [f"- {e}" for e in report["errors"]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    """Run the benchmark and write ``build/time_to_accuracy.{json,md}``.

    Args:
        argv: command-line arguments (None: ``sys.argv``).

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cap", type=float, default=100.0, help="training seconds per run")
    parser.add_argument("--eval-every", type=float, default=4.0, help="training seconds")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that it runs")
    parser.add_argument("--out", default=None, help="folder for the report (default build/)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(RESULT_MARK + json.dumps(run(**json.loads(args.worker))), flush=True)
        return 0
    from course_lib.config import build_dir

    cap = 6.0 if args.quick else args.cap
    runs = []
    for seed in range(args.seeds):
        order = METHODS if seed % 2 == 0 else METHODS[::-1]        # interleaved, alternating
        for method in order:
            cfg = {"method": method, "seed": seed, "cap": cap,
                   "eval_every": 2.0 if args.quick else args.eval_every, "quick": args.quick}
            print(f"{method} seed {seed} ...", flush=True)
            result = run_worker(cfg)
            runs.append(result)
            print("    " + ("ERROR " + result["error"][-300:] if "error" in result else
                            f"97%: {result['to_target_s']['0.97']} s, 99%: "
                            f"{result['to_target_s']['0.99']} s, final "
                            f"{result['final_accuracy']:.4f}, peak {result['peak_rss_mib']:.0f} MiB, "
                            f"load {result['load']}"), flush=True)
    machine = common.describe(common.machine()) + " (at the end)"
    report = {"machine": machine, "summary": summarize(runs, cap), "runs": runs,
              "errors": [f"{r['method']} seed {r['seed']}: {r['error'][-200:]}"
                         for r in runs if "error" in r]}
    out = Path(args.out) if args.out else build_dir()
    text = markdown(report)
    common.write_report(out, "time_to_accuracy", report, text)
    print("\n" + text)
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
