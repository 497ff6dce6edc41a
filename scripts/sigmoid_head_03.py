"""Notebook 03, section 5: why keras.io's sigmoid-head recipe learns in one pipeline and not another.

keras.io's "Image similarity estimation using a Siamese Network with a contrastive loss" (Mehdi,
2021) puts ``BatchNormalization`` and ``Dense(1, sigmoid)`` after the Euclidean distance of a
tanh CNN and trains the contrastive loss on the sigmoid output. ``benchmarks/time_to_accuracy.py``
re-implements it and learns; notebook 03's first version of the same recipe, in the course's
pipeline, stayed at the constant answer. This script starts from the notebook's version and
changes one of keras.io's ingredients at a time (raw pixels, pairs fixed up front, keras.io's
2021 labels: 1 = same fed to a loss that reads 1 as dissimilar), then those three together,
plus two controls that are not keras.io's (Adam; the head's starting weight negated), and
scores each run on validation pairs only (images 50,000-59,999 of the MNIST training set):

- ``gap``: mean sigmoid output on different-digit pairs minus that on same-digit pairs, signed
  so that a positive gap is the direction the loss asks for (0 for a constant answer);
- ``auc``: the ROC AUC of the output as a score for "different".

Usage (heavy: wrap it in the machine lock; about 6 minutes on 2 CPU cores with the defaults):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.sigmoid_head_03
Writes notebooks/results/03_sigmoid_head.json (to a temporary name, then renamed) and prints a
table.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from benchmarks import common

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "results" / "03_sigmoid_head.json"

# The notebook's version: pixels in [0, 1], pairs drawn per batch, the course's loss (label
# 1 = same, so the sigmoid is pushed towards 1 on different pairs), RMSprop 1e-3, batch 16.
BASE = {"pixels": 1.0, "pairs": "per batch", "convention": "course", "optimizer": "rmsprop",
        "learning_rate": 1e-3, "batch_size": 16, "steps": 3000, "flip_head": False}
VARIANTS = {
    "notebook": {},
    "raw pixels": {"pixels": 255.0},
    "fixed pairs": {"pairs": "fixed"},
    "keras.io labels": {"convention": "keras.io"},
    "adam": {"optimizer": "adam"},
    # keras.io's three ingredients together; still not keras.io's distance sqrt(max(s, eps)),
    # its 30,000-image split or its ~37,500 steps
    "keras.io pixels, pairs, labels": {"pixels": 255.0, "pairs": "fixed", "convention": "keras.io"},
    "head sign flipped": {"flip_head": True},
}


def kerasio_loss(y_true, y_pred):
    """keras.io's loss on the sigmoid output, label 1 = same (s pushed to 1 on same pairs).

    Args:
        y_true: pair labels, 1 = same.
        y_pred: the model's output in (0, 1).

    Returns:
        The mean loss (no factor one half, as there).
    """
    from keras import ops

    y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)), y_pred.dtype)
    return ops.mean((1 - y_true) * ops.square(y_pred)
                    + y_true * ops.square(ops.maximum(1.0 - y_pred, 0.0)))


def fixed_pairs(x, y, seed: int):
    """keras.io's pairs, made once: for every image one same-class and one other-class partner.

    Args:
        x: images (N, 28, 28).
        y: class ids (N,).
        seed: seeds ``random.Random`` for the partner picks.

    Returns:
        ``(left, right, labels)`` of 2N pairs, labels 1 = same.
    """
    rng = random.Random(seed)
    by_class = [np.flatnonzero(y == c) for c in range(10)]
    left, right, labels = [], [], []
    for i in range(len(x)):
        other = rng.choice([c for c in range(10) if c != y[i]])
        for partner, label in ((rng.choice(by_class[y[i]]), 1.0),
                               (rng.choice(by_class[other]), 0.0)):
            left.append(i)
            right.append(partner)
            labels.append(label)
    return np.array(left), np.array(right), np.array(labels, dtype=np.float32)


def run(settings: dict, seed: int, data) -> dict:
    """Train one variant and score it on the validation pairs.

    Args:
        settings: ``BASE`` updated with one variant's changes.
        seed: seeds the weights and the pairs.
        data: ``(x_train, y_train, x_val, val_pairs)``.

    Returns:
        A dict with the gap, the AUC, the final training loss and the seconds taken.
    """
    import keras
    from sklearn.metrics import roc_auc_score

    from course_lib import losses, models, pairs

    x_train, y_train, x_val, (v_left, v_right, v_same) = data
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    scale = settings["pixels"]
    model = models.kerasio_sigmoid_siamese()[1]
    head = model.layers[-1]
    if settings["flip_head"]:              # the same start, the head's weight negated
        head.kernel.assign(-head.kernel)
    head_weight = float(np.asarray(head.kernel).ravel()[0])
    course = settings["convention"] == "course"
    loss = losses.ContrastiveLoss(margin=1.0) if course else kerasio_loss
    model.compile(optimizer=keras.optimizers.get(
        {"class_name": settings["optimizer"],
         "config": {"learning_rate": settings["learning_rate"]}}), loss=loss)
    batch, steps = settings["batch_size"], settings["steps"]
    if settings["pairs"] == "fixed":
        left, right, labels = fixed_pairs(x_train, y_train, seed)
        order = np.random.default_rng(seed).permutation(len(labels))
        take = np.resize(order, steps * batch)          # reshuffle-free repeat, enough batches
        history = model.fit([scale * x_train[left[take]], scale * x_train[right[take]]],
                            labels[take], batch_size=batch, epochs=1, shuffle=False, verbose=0)
    else:
        stream = pairs.pair_dataset(scale * x_train, y_train, batch_size=batch, seed=seed,
                                    repeat=True)
        history = model.fit(stream, steps_per_epoch=steps, epochs=1, verbose=0)
    s = np.asarray(model.predict([scale * x_val[v_left], scale * x_val[v_right]],
                                 batch_size=2000, verbose=0)).ravel()
    different_high = s if course else 1.0 - s      # "towards what the loss asks"
    gap = float(different_high[v_same == 0].mean() - different_high[v_same == 1].mean())
    auc = float(roc_auc_score(1 - v_same, different_high))
    return {"head_weight_at_start": head_weight, "gap": gap, "auc": auc, "final_loss": float(history.history["loss"][-1]),
            "s_std": float(s.std()), "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    from course_lib import data, pairs

    start = time.perf_counter()
    (x_all, y_all), _ = data.load_mnist()
    x_val, y_val = x_all[50_000:], y_all[50_000:]
    prepared = (x_all[:50_000], y_all[:50_000], x_val, pairs.pair_indices(y_val, 4000, seed=1))
    rows = []
    for name in args.variants:
        settings = {**BASE, **VARIANTS[name]}
        runs = [run(settings, seed, prepared) for seed in range(args.seeds)]
        row = {"variant": name, "settings": settings, "runs": runs}
        rows.append(row)
        print(f"{name:>30}: gap " + " ".join(f"{r['gap']:+.3f}" for r in runs)
              + "  AUC " + " ".join(f"{r['auc']:.3f}" for r in runs)
              + "  loss " + " ".join(f"{r['final_loss']:.4f}" for r in runs)
              + "  head weight at start " + " ".join(f"{r['head_weight_at_start']:+.3f}"
                                                     for r in runs)
              + f"  {sum(r['seconds'] for r in runs):.0f} s", flush=True)
    report = {
        "what": "keras.io's sigmoid-head recipe in notebook 03's pipeline, one ingredient "
                "changed at a time; gap = mean output on different minus same validation "
                "pairs (signed the way the loss asks), auc = ROC AUC of that output",
        "base": BASE, "validation_pairs": 4000, "seeds": args.seeds, "rows": rows,
        "machine": common.study_machine(),
        "total_minutes": round((time.perf_counter() - start) / 60, 1),
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.out} in {report['total_minutes']} min")
    return report


if __name__ == "__main__":
    main()
