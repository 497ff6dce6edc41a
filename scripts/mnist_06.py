"""How notebook 06's Omniglot net should be shown MNIST digits, chosen on validation.

MNIST digits are taller and thicker than Omniglot characters at the same 28x28 size
(``course_lib.data.ink_statistics``). Every stage below scores 10-way one-shot tasks drawn from
MNIST's *training* split (the net never trains on MNIST) with the full recipe (trained exactly
as ``scripts/recipe_06.py`` trains it, or loaded from ``--save-dir``), chooses by its rule, and
only then scores the test tasks of ``06_recipe.json``: "as given" (which must equal the recipe
file's outcomes: the training is deterministic) and the chosen variant. A variant is a zoom-out
scale (``course_lib.data.zoom_out``) and the metric the embeddings are compared with.

- ``scale`` (``06_mnist.json``): the digits as given and zoomed out to 90%, 80% and 70%,
  Euclidean, on 1,000 tasks (seed 1). Rule: the best variant if it beats "as given"
  detectably (paired, Holm over the three), else "as given". It kept the digits as given.
- ``explore`` (``06_mnist_explore.json``): an exploratory grid, every scale with Euclidean and
  with cosine distance, on 1,000 other tasks (seed 2). Its rule adopts nothing (it keeps "as
  given"), but the confirm stage's candidate was picked by looking at it.
- ``confirm`` (``06_mnist_confirm.json``): one pre-stated comparison on 2,000 tasks (seed 3)
  built only from training digits that neither earlier stage's tasks use: digits zoomed out to
  80% (Omniglot's ink share) compared by cosine distance against the digits as given compared
  by Euclidean distance. Rule (committed with this script before the stage was run): take it
  if it is detectably better (paired, alpha 0.05, one comparison), else "as given".

Usage (heavy: wrap it in the machine lock; about 8 minutes on 2 cores to train the recipe, a
minute when ``--save-dir`` holds it):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.mnist_06 --stage confirm \
        --save-dir DIR
Writes the stage's file in notebooks/results/ atomically, which notebook 06 reads through
``course_lib.results.read_mnist_transfer``; prints a table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras
import numpy as np

from benchmarks import common
from course_lib import data, evaluate, oneshot, results
from scripts import recipe_06

RESULTS = Path(__file__).resolve().parents[1] / "notebooks" / "results"
OUT = RESULTS / "06_mnist.json"
RUN = "recipe"                      # recipe_06.RUNS: the full recipe
SCALES = {"as given": 1.0, "zoomed out to 90%": 0.9, "zoomed out to 80%": 0.8,
          "zoomed out to 70%": 0.7}
BASE = "as given"
VAL_TASKS = 1000                    # the scale stage's 10-way one-shot tasks (training split)
VAL_SEED = 1
ALPHA = 0.05
RULE = ("the variant with the highest validation accuracy if it beats 'as given' detectably "
        "(paired, Holm-corrected over the variants, alpha 0.05), else 'as given'")
CONFIRMED = "zoomed out to 80%, cosine"
# stage: its file, tasks (count, seed, the stages whose digits it must not use), variants
# (name: (scale, metric)) and rule.
STAGES = {
    "scale": dict(out=OUT, tasks=VAL_TASKS, seed=VAL_SEED, disjoint_from=(), rule=RULE,
                  variants={k: (v, "euclidean") for k, v in SCALES.items()}),
    "explore": dict(
        out=RESULTS / "06_mnist_explore.json", tasks=1000, seed=2, disjoint_from=(),
        rule="exploratory: nothing is chosen on these tasks ('as given' is kept)",
        variants={BASE: (1.0, "euclidean")} | {
            f"{k}, {m}": (v, m) for m in ("euclidean", "cosine") for k, v in SCALES.items()
            if (k, m) != (BASE, "euclidean")}),
    "confirm": dict(
        out=RESULTS / "06_mnist_confirm.json", tasks=2000, seed=3,
        disjoint_from=("scale", "explore"),
        rule=(f"'{CONFIRMED}' if it beats 'as given' (Euclidean) detectably (paired, one "
              "comparison, alpha 0.05), else 'as given'; the candidate came from the explore "
              "stage's tasks, and these tasks use none of the digits of the earlier stages"),
        variants={BASE: (1.0, "euclidean"), CONFIRMED: (0.8, "cosine")}),
}


def choose(validation: dict, stage: str = "scale") -> str:
    """The variant ``stage``'s rule chooses from ``{variant: outcomes}`` (booleans, same
    tasks): the best one if it beats "as given" detectably (Holm over the others), else "as
    given"; the explore stage always keeps "as given"."""
    if stage == "explore":
        return BASE
    others = [k for k in validation if k != BASE]
    found = evaluate.compare_many(validation, [(k, BASE) for k in others], paired=True,
                                  alpha=ALPHA)
    best = max(validation, key=lambda k: np.mean(validation[k]))
    return best if best != BASE and found[(best, BASE)].detectable else BASE


def _digits_used(stage: str) -> np.ndarray:
    """Indices into MNIST's training split of the digits ``stage``'s tasks use."""
    q, s, _ = _task_indices(stage)
    return np.unique(np.concatenate([q, s.ravel()]))


def _task_indices(stage: str):
    """``stage``'s tasks (query, support, answer) as indices into MNIST's training split."""
    c = STAGES[stage]
    (_, y_train), _ = data.load_mnist()
    pool = np.arange(y_train.size)
    for other in c["disjoint_from"]:
        pool = np.setdiff1d(pool, _digits_used(other))
    q, s, a = oneshot.one_shot_tasks(y_train[pool], 10, c["tasks"], seed=c["seed"])
    return pool[q], pool[s], a


def validation_tasks(stage: str = "scale"):
    """The digits of MNIST's training split that ``stage``'s validation tasks use, and the
    tasks (query, support, answer) indexing into them."""
    (x_train, _), _ = data.load_mnist()
    q, s, a = _task_indices(stage)
    used = np.unique(np.concatenate([q, s.ravel()]))       # only the digits the tasks use
    return x_train[used], (np.searchsorted(used, q), np.searchsorted(used, s), a)


def _scored(encoder, images, tasks, metric: str = "euclidean") -> results.ScoredTasks:
    q, s, a = tasks
    right = np.asarray(oneshot.task_accuracy(
        oneshot.task_scores(encoder, images, q, s, metric=metric), a), bool)
    return results.ScoredTasks(float(right.mean()), right)


def recipe_encoder(omniglot, save_dir: Path | None = None) -> keras.Model:
    """The full recipe's encoder: trained on ``omniglot``, or loaded from
    ``save_dir/recipe_<seed>.keras`` (saved there when missing)."""
    if save_dir is None:
        return recipe_06.fit(RUN, omniglot).encoder
    path = recipe_06.saved_encoder_path(save_dir, RUN)
    if not path.exists():
        recipe_06.save_encoder(recipe_06.fit(RUN, omniglot).encoder, save_dir, RUN)
    return keras.saving.load_model(path)


def main(argv=None) -> results.MnistTransferStudy:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=list(STAGES), default="scale")
    parser.add_argument("--out", type=Path, default=None,
                        help="the file to write (default: the stage's own)")
    parser.add_argument("--save-dir", type=Path, default=None,
                        help="where the trained recipe is (or is saved when missing)")
    args = parser.parse_args(argv)
    c = STAGES[args.stage]
    out = args.out or c["out"]
    if args.save_dir is not None:
        args.save_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    omniglot = recipe_06.load_omniglot()
    x_val, val_tasks = validation_tasks(args.stage)
    x_test, test_tasks = recipe_06.mnist_tasks(recipe_06.IMAGE_SIZE)

    encoder = recipe_encoder(omniglot, args.save_dir)
    variants = c["variants"]
    validation = {k: _scored(encoder, data.zoom_out(x_val, z), val_tasks, m)
                  for k, (z, m) in variants.items()}
    chosen = choose({k: v.outcomes for k, v in validation.items()}, args.stage)
    test = {k: _scored(encoder, data.zoom_out(x_test, variants[k][0]), test_tasks,
                       variants[k][1])
            for k in dict.fromkeys([BASE, chosen])}          # scored once, after the choice
    file_base = results.read_recipe().run(RUN)
    if not np.array_equal(file_base.scores["mnist_plain"].outcomes, test[BASE].outcomes):
        print("warning: the digits as given do not score as in 06_recipe.json "
              f"({test[BASE].accuracy:.2%} vs {file_base.scores['mnist_plain'].accuracy:.2%})")
    scales = {k: z for k, (z, _) in variants.items()}
    # The scale stage's file was written before studies recorded a metric (all Euclidean).
    metrics = {k: m for k, (_, m) in variants.items()} if args.stage != "scale" else {}
    ink = {"omniglot": data.ink_statistics(omniglot.images)}
    ink |= {k: data.ink_statistics(data.zoom_out(x_val, z)) for k, z in scales.items()}
    study = results.MnistTransferStudy(
        recipe=recipe_06.RUNS[RUN]["label"], split=recipe_06.SPLIT,
        image_size=recipe_06.IMAGE_SIZE, seed=recipe_06.SEED, scales=scales,
        ink={k: {m: round(v, 4) for m, v in d.items()} for k, d in ink.items()},
        val_tasks=c["tasks"], val_seed=c["seed"], validation=validation, rule=c["rule"],
        chosen=chosen, test_tasks=recipe_06.MNIST_TASKS, test_seed=recipe_06.MNIST_SEED,
        test=test, machine=common.study_machine(),
        total_minutes=round((time.perf_counter() - started) / 60, 1),
        date=time.strftime("%Y-%m-%d"), metrics=metrics)
    results.write_study(out, study)
    for k, v in validation.items():
        print(f"{k:>30}: validation {v.accuracy:.2%}" + (
            f", test {test[k].accuracy:.2%}" if k in test else ""))
    print(f"chosen: {chosen}; wrote {out} in {study.total_minutes} min")
    return study


if __name__ == "__main__":
    main()
