"""How notebook 06 should compare the recipe's embeddings, chosen on validation.

The recipe's nets are trained with squared Euclidean logits, and notebook 06 ranks candidates
by Euclidean distance. The few-shot literature also ranks by the angle (cosine), and
SimpleShot (Wang et al. 2019, arXiv:1911.04623) first centres every embedding on
the mean embedding of the training images, then normalises ("CL2N"). A task's own candidates
give another origin: their mean, which is known before any query is seen (each query is still
classified on its own). This script scores every scoring of :data:`SCORINGS` on validation
tasks and chooses one by :data:`RULE`, fixed (and committed with this script) before any of
its validation scores was seen. Only then are the test tasks scored: Lake's 20 runs and the
MNIST test tasks of ``06_recipe.json``, with the baseline (which must equal that file's
outcomes: the training is deterministic) and the chosen scoring.

- Lake-style tasks: the three-net recipe of seed 0 of each of the five folds
  (:data:`FOLD_CANDIDATE`, loaded from ``--save-dir`` or trained there; ``scripts/confirm_06
  --test ensemble3_box20_way80_seed0 --save-dir DIR`` trains and keeps them; their baseline
  outcomes are checked against its result file, :data:`FOLD_FILE`, with a warning if they
  differ), on each fold's 400 Lake-style tasks of its
  held-out alphabet, pooled (2,000 tasks), compared clustered by the query's character.
- MNIST: the full recipe trained on all five alphabets (``scripts/recipe_06``'s ``recipe``),
  on the 1,000 10-way one-shot tasks of MNIST's training split that ``scripts/mnist_06``
  chose the digits' scale on (the digits as given), paired but not clustered, as there.

Usage (heavy: wrap it in the machine lock; about 45 minutes on 2 cores when nothing is saved,
a few minutes when every net is in ``--save-dir``):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.scoring_06 --save-dir DIR
Writes notebooks/results/06_scoring.json atomically, which notebooks 06 and 06b read through
``course_lib.results.read_scoring``; prints a table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras
import numpy as np

from benchmarks import common
from benchmarks import oneshot_variants as ov
from course_lib import oneshot, results, training
from scripts import confirm_06, mnist_06, recipe_06, select_06

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "results" / "06_scoring.json"
# name: how task_scores compares embeddings. The first is notebook 06's (the baseline).
SCORINGS = {
    "euclidean": dict(metric="euclidean", centre=None),
    "cosine": dict(metric="cosine", centre=None),
    "centred on the training mean, cosine": dict(metric="cosine", centre="training mean"),
    "centred on the task's candidates, cosine": dict(metric="cosine", centre="support"),
}
BASELINE = next(iter(SCORINGS))
FOLDS = ("Early_Aramaic", "Balinese", "Greek", "Korean", "Latin")
# The fold nets are those of confirm_06's seed-0 test; its file holds their outcomes.
FOLD_TEST = confirm_06.TESTS["ensemble3_box20_way80_seed0"]
FOLD_CANDIDATE, FOLD_SEED, FOLD_FILE = FOLD_TEST.candidate, FOLD_TEST.seed, FOLD_TEST.file
# The rule (course_lib.results.choose_scoring, which notebook 06b re-runs on the file).
RULE = ("evaluate.choose_cheapest over the scorings in their listed order, all at cost 1 (so "
        "an earlier scoring stays unless a later one beats it detectably; the first is notebook "
        "06's Euclidean ranking), alpha 0.05, Holm over the 6 comparisons, paired; Lake-style "
        "tasks pooled over the five folds and clustered by the query's character, MNIST tasks "
        "not clustered")


def score_all(encoder, images, tasks, training_mean, names=None) -> dict:
    """``{scoring: ScoredTasks}`` of ``encoder`` on ``tasks`` (query, support, answer) for each
    scoring of ``names`` (default: all); ``training_mean``: the mean embedding of the images the
    encoder was trained on."""
    q, s, a = tasks
    out = {}
    for name in names or SCORINGS:
        how = SCORINGS[name]
        centre = training_mean if how["centre"] == "training mean" else how["centre"]
        right = oneshot.task_accuracy(
            oneshot.task_scores(encoder, images, q, s, metric=how["metric"], centre=centre), a)
        out[name] = results.ScoredTasks(float(right.mean()), np.asarray(right, bool))
    return out


def _fold_encoder(fold: str, save_dir: Path) -> keras.Model:
    """The fold's saved ensemble, trained first (and saved) when missing."""
    path = save_dir / f"{FOLD_CANDIDATE}_{FOLD_SEED}_{fold}.keras"
    if not path.exists():
        select_06.train(FOLD_CANDIDATE, FOLD_SEED, 500, held_out=fold, save_dir=save_dir)
    return keras.saving.load_model(path)


def lake_validation(save_dir: Path) -> tuple[dict, list]:
    """Every scoring on the five folds' Lake-style tasks, pooled, and each task's cluster."""
    selection = results.read_selection(f"results/{FOLD_FILE}")
    pooled, clusters = {k: [] for k in SCORINGS}, []
    for fold in FOLDS:
        d = ov.setup(28, validation=(fold,), box=select_06.CANDIDATES[FOLD_CANDIDATE].get("box"))
        encoder = _fold_encoder(fold, save_dir)
        mean = training.encode(encoder, d.images).mean(axis=0)
        scored = score_all(encoder, d.val_images, (d.val_query, d.val_support, d.val_answer),
                           mean)
        saved = selection.outcomes(FOLD_CANDIDATE, "plain", [fold], seed=FOLD_SEED)
        same = int((saved == scored[BASELINE].outcomes).sum())
        print(f"{fold}: " + ", ".join(f"{k} {v.accuracy:.3f}" for k, v in scored.items())
              + f"; the baseline agrees with {FOLD_FILE} on {same} of {saved.size}")
        if same != saved.size:
            print(f"warning: {fold}'s nets in {save_dir} do not score as {FOLD_FILE} records "
                  f"({saved.size - same} tasks differ): they are not the nets of that file")
        for k, v in scored.items():
            pooled[k].append(v.outcomes)
        clusters += [f"{fold}/{c}" for c in d.val_character]
    return ({k: results.ScoredTasks(float(np.concatenate(v).mean()), np.concatenate(v))
             for k, v in pooled.items()}, clusters)


def main(argv=None) -> results.ScoringStudy:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--save-dir", type=Path, required=True,
                        help="where the trained nets are (or are saved when missing)")
    args = parser.parse_args(argv)
    args.save_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    lake_val, lake_clusters = lake_validation(args.save_dir)
    lake_choice = results.choose_scoring({k: v.outcomes for k, v in lake_val.items()},
                                         np.array(lake_clusters))

    omniglot = recipe_06.load_omniglot()
    encoder = mnist_06.recipe_encoder(omniglot, args.save_dir)
    mean = training.encode(encoder, omniglot.images).mean(axis=0)
    x_val, val_tasks = mnist_06.validation_tasks()
    mnist_val = score_all(encoder, x_val, val_tasks, mean)
    mnist_choice = results.choose_scoring({k: v.outcomes for k, v in mnist_val.items()})
    print(lake_choice)
    print(mnist_choice)

    # Scored once, after both choices: the baseline and the chosen scoring only.
    images, query, support, answer, _ = oneshot.lake_run_tasks(
        recipe_06.load_lake_runs())
    names = list(dict.fromkeys([BASELINE, lake_choice.chosen]))
    lake_test = score_all(encoder, images, (query, support, answer), mean, names)
    x_test, test_tasks = recipe_06.mnist_tasks(recipe_06.IMAGE_SIZE)
    names = list(dict.fromkeys([BASELINE, mnist_choice.chosen]))
    mnist_test = score_all(encoder, x_test, test_tasks, mean, names)
    file_run = results.read_recipe().run("recipe")
    for key, test in (("lake_plain", lake_test), ("mnist_plain", mnist_test)):
        if not np.array_equal(file_run.scores[key].outcomes, test[BASELINE].outcomes):
            print(f"warning: the baseline does not score as 06_recipe.json's {key} "
                  f"({test[BASELINE].accuracy:.2%} vs {file_run.scores[key].accuracy:.2%})")

    study = results.ScoringStudy(
        recipe=recipe_06.RUNS["recipe"]["label"], split=recipe_06.SPLIT,
        image_size=recipe_06.IMAGE_SIZE, seed=recipe_06.SEED, scorings=SCORINGS, rule=RULE,
        lake=results.ScoringChoice(
            "20-way Lake-style tasks of each held-out background alphabet, seed 0's three-net "
            "recipe of each of the five folds, pooled", lake_val, tuple(lake_clusters),
            lake_choice.chosen, lake_test),
        mnist=results.ScoringChoice(
            "10-way one-shot tasks of MNIST's training split (digits as given), the full "
            "recipe", mnist_val, None, mnist_choice.chosen, mnist_test),
        machine=common.study_machine(),
        total_minutes=round((time.perf_counter() - started) / 60, 1),
        date=time.strftime("%Y-%m-%d"))
    results.write_study(args.out, study)
    for family, val, test in (("Lake", lake_val, lake_test), ("MNIST", mnist_val, mnist_test)):
        for k, v in val.items():
            print(f"{family} {k:>42}: validation {v.accuracy:.2%}" + (
                f", test {test[k].accuracy:.2%}" if k in test else ""))
    print(f"wrote {args.out} in {study.total_minutes} min")
    return study


if __name__ == "__main__":
    main()
