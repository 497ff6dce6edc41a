"""Notebook 06's default-setting sweep: Koch nets of a few input sizes and widths, each trained
for the same wall-clock budget on background_small1 minus its validation alphabet, scored on
20-way within-alphabet one-shot tasks of that held-out alphabet only (never on Lake's runs).

Usage (heavy: wrap it in the machine lock):
    flock /tmp/course_heavy.lock .venv/bin/python scripts/sweep_06.py --minutes 3
    flock /tmp/course_heavy.lock .venv/bin/python scripts/sweep_06.py --probe
The first compares sizes at equal time; the second, learning rate and L2 penalty of the best
size at an equal 400 steps. Prints a markdown table and writes build/sweep_06.json.
"""

from __future__ import annotations

import argparse
import json
import time

import keras

from course_lib import config, data, models, oneshot, pairs
from course_lib.augment import RandomAffine

SPLIT = "background_small1"
VALIDATION = ["Early_Aramaic"]
CONFIGS = [  # (image size, width, embedding size, Adam learning rate, L2 penalty)
    (35, 1.0, 1024, 3e-4, 2e-4),
    (35, 0.5, 512, 3e-4, 2e-4),
    (52, 0.5, 512, 3e-4, 2e-4),
    (35, 1.0, 1024, 1e-4, 2e-4),
]
PROBES = [
    (35, 0.5, 512, 1e-3, 2e-4),
    (35, 0.5, 512, 3e-3, 2e-4),
    (35, 0.5, 512, 1e-3, 0.0),
    (35, 0.5, 512, 1e-3, 2e-5),
]


class Budget(keras.callbacks.Callback):
    """Stop training once ``seconds`` of wall-clock time have passed (checked per epoch)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.start = seconds, None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def run(size, width, dim, lr, l2, seconds, max_epochs=1000, steps_per_epoch=100, seed=0):
    config.seed_everything(seed)
    om = data.load_omniglot(SPLIT, size)
    train, val = oneshot.alphabet_split(om.alphabet, om.alphabet_names, VALIDATION)
    q, s, a = pairs.one_shot_tasks(om.character[val], 20, 400, seed=1, groups=om.alphabet[val])
    net = models.siamese(models.koch_encoder(size, dim, width, l2=l2), head="koch")
    net.compile(keras.optimizers.Adam(lr), "binary_crossentropy")
    train_ds = pairs.pair_dataset(om.images[train], om.character[train], batch_size=128,
                                  seed=seed, augment=RandomAffine(seed=seed), repeat=True)
    check = oneshot.OneShotValidation(om.images[val], q, s, a)
    start = time.perf_counter()
    net.fit(train_ds, steps_per_epoch=steps_per_epoch, epochs=max_epochs, verbose=0,
            callbacks=[check, Budget(seconds)])
    elapsed = time.perf_counter() - start
    return {"image_size": size, "width": width, "embedding_dim": dim, "learning_rate": lr,
            "l2": l2, "steps": steps_per_epoch * len(check.history), "seconds": round(elapsed),
            "best_val_20way": check.best, "best_step": steps_per_epoch * (check.best_epoch + 1),
            "val_history": check.history}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--probe", action="store_true", help="the 400-step PROBES instead")
    args = parser.parse_args()
    if args.probe:
        rows = [run(*c, seconds=float("inf"), max_epochs=4) for c in PROBES]
    else:
        rows = [run(*c, seconds=60 * args.minutes) for c in CONFIGS]
    out = config.build_dir() / ("probe_06.json" if args.probe else "sweep_06.json")
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print("| size | width | embedding | Adam lr | L2 | steps | best val 20-way (step) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['image_size']} | {r['width']} | {r['embedding_dim']} | {r['learning_rate']} "
              f"| {r['l2']} | {r['steps']} | {r['best_val_20way']:.3f} ({r['best_step']}) |")


if __name__ == "__main__":
    main()
