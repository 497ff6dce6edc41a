"""Notebook 06's final models, trained on every alphabet of ``background_small1`` and scored
once on Lake's 20 runs and on 10-way one-shot MNIST: the lesson's setting (one net, the
notebook trains it live too) and the full recipe chosen in notebook 06b (three nets side by
side), each scored as it is and with test-time shifts.

The full recipe takes about 7 minutes of training on 2 recent CPU cores (several times that on
older ones), more than a lesson may spend on one model, so this script
trains it and notebook 06 reads ``notebooks/results/06_recipe.json`` through
``course_lib.results.read_recipe``. Every model is the one call
``course_lib.training.train_one_shot_recipe`` with :data:`SETTINGS`; nothing is chosen here
(the choices were made on validation alphabets, ``scripts/select_06.py``), so the file records
which Lake queries and MNIST tasks each model got right, for paired comparisons.

Usage (heavy: wrap it in the machine lock):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.recipe_06
    .venv/bin/python -m scripts.recipe_06 --runs lesson      # only the one-net run
    .venv/bin/python -m scripts.recipe_06 --save-dir DIR   # keep the nets for mnist_06
    .venv/bin/python -m scripts.recipe_06 --runs recipe --image-size 35 \
        --out notebooks/results/06_recipe_35px.json     # Koch et al.'s MNIST input size
    .venv/bin/python -m scripts.recipe_06 --split background_small2 \
        --out notebooks/results/06_recipe_small2.json   # Lake's other minimal split
    .venv/bin/python -m scripts.recipe_06 --runs recipe --seed 1 \
        --out notebooks/results/06_recipe_seed1.json    # a second training run
Writes the file atomically after each run (a re-run of a name replaces it) and prints a table.
At another ``--image-size`` the Omniglot images and Lake's runs are fitted to a box of the same
share of the frame (:func:`box_for`) and the MNIST digits bilinearly resized from 28x28 to it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks import common
from course_lib import config, data, models, oneshot, results, training

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "results" / "06_recipe.json"
SPLIT = "background_small1"
SPLITS = ("background_small1", "background_small2")     # Lake's two minimal background splits
IMAGE_SIZE = 28
# The recipe (notebook 06b, select_06's ``ensemble3_box20_way80``): one 80-way episode of one
# alphabet per step, rotations as new characters of their own alphabet, shifts of up to 2
# pixels, a 64-filter conv4 net without batch norm, a 256-d embedding, Adam at 1e-3
# cosine-decayed to 0 over each net's steps; every drawing (training images and Lake's runs)
# fitted to a BOX x BOX square in its 28x28 frame (data.fit_to_box).
SETTINGS = dict(n_way=80, episodes=1, embedding_dim=256, filters=64, batch_norm=False,
                learning_rate=1e-3, rotations=True, max_shift=2, rotated_groups=False)
BOX = 20
# name: (label, nets, steps per net). "lesson" is what notebook 06 trains live.
RUNS = {
    "lesson": dict(label="one net, 1,200 steps (the lesson's live run)", members=1, steps=1200),
    "recipe": dict(label="the full recipe: 3 nets of 2,300 steps side by side", members=3,
                   steps=2300),
}
SEED = 0
STEPS_PER_EPOCH = 100
MNIST_TASKS = 400          # 10-way one-shot tasks on the MNIST test set, seed MNIST_SEED
MNIST_SEED = 0


def box_for(image_size: int = IMAGE_SIZE) -> int:
    """The side of the square drawings are fitted to in an ``image_size`` frame: :data:`BOX`
    at 28x28, the same share of the frame at other sizes."""
    return round(BOX * image_size / IMAGE_SIZE)


def load_omniglot(split: str = SPLIT, image_size: int = IMAGE_SIZE):
    """``split``'s images as the recipe trains on them (fitted to :func:`box_for`'s box)."""
    return data.load_omniglot(split, image_size, box=box_for(image_size))


def load_lake_runs(image_size: int = IMAGE_SIZE):
    """Lake's 20 runs as the recipe is scored on them (fitted to :func:`box_for`'s box)."""
    return data.load_lake_runs(image_size, box=box_for(image_size))


def mnist_tasks(image_size: int = IMAGE_SIZE):
    """The MNIST test images (resized to ``image_size``) and the 10-way one-shot tasks every
    model is scored on."""
    _, (x, y) = data.load_mnist()
    if image_size != x.shape[1]:
        import tensorflow as tf

        x = tf.image.resize(x[..., None], (image_size, image_size), "bilinear").numpy()[..., 0]
    return x, oneshot.one_shot_tasks(y, 10, MNIST_TASKS, seed=MNIST_SEED)


def score(encoder, runs, mnist) -> dict:
    """``{"lake_plain", "lake_shifts", "mnist_plain", "mnist_shifts": ScoredTasks}``."""
    x, (q, s, a) = mnist
    out = {}
    for scoring, model in (("plain", encoder), ("shifts", models.shift_averaged(encoder))):
        for task, right in (
                ("lake", oneshot.score_lake_queries(model, runs)[0]),
                ("mnist", oneshot.task_accuracy(oneshot.task_scores(model, x, q, s), a))):
            right = np.asarray(right, bool)
            out[f"{task}_{scoring}"] = results.ScoredTasks(float(right.mean()), right)
    return out


def fit(name: str, omniglot, seed: int = SEED):
    """Run ``name`` of :data:`RUNS` trained on every image of ``omniglot`` with ``seed``
    (:func:`course_lib.training.train_one_shot_recipe`'s result)."""
    r = RUNS[name]
    return training.train_one_shot_recipe(
        omniglot.images, omniglot.character, omniglot.alphabet, steps=r["steps"],
        members=r["members"], seed=seed, steps_per_epoch=STEPS_PER_EPOCH, verbose=2,
        **SETTINGS)


def saved_encoder_path(save_dir: Path, name: str, seed: int = SEED) -> Path:
    """Where ``--save-dir`` keeps run ``name``'s encoder of ``seed`` (``scripts/mnist_06.py``
    reads seed :data:`SEED`'s)."""
    return Path(save_dir) / f"{name}_{seed}.keras"


def save_encoder(encoder, save_dir: Path, name: str, seed: int = SEED) -> Path:
    """Save run ``name``'s trained ``encoder`` of ``seed`` in ``save_dir`` (atomically); its
    path."""
    path = saved_encoder_path(save_dir, name, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with config.atomic_file(path) as tmp:
        encoder.save(tmp)
    return path


def train(name: str, omniglot, runs, mnist, save_dir: Path | None = None,
          seed: int = SEED) -> results.RecipeScore:
    """Train run ``name`` of :data:`RUNS` on every image of ``omniglot`` with ``seed`` and
    score it (and save its encoder in ``save_dir`` unless it is None)."""
    r = RUNS[name]
    run = fit(name, omniglot, seed)
    if save_dir is not None:
        save_encoder(run.encoder, save_dir, name, seed)
    scores = score(run.encoder, runs, mnist)
    print(f"{name}: {run.minutes:.1f} min; " + ", ".join(
        f"{k} {v.accuracy:.2%}" for k, v in scores.items()), flush=True)
    return results.RecipeScore(name=name, label=r["label"], members=r["members"],
                               steps=r["steps"], seconds=tuple(round(s, 1) for s in run.seconds),
                               scores=scores)


def save(out: Path, done: dict, started: float, image_size: int = IMAGE_SIZE,
         split: str = SPLIT, seed: int = SEED) -> results.RecipeStudy:
    """Write the runs in ``done`` (name -> RecipeScore), trained on ``split`` with ``seed``,
    to ``out``."""
    study = results.RecipeStudy(
        split=split, image_size=image_size, seed=seed, settings=dict(SETTINGS),
        box=box_for(image_size),
        mnist_tasks=MNIST_TASKS, mnist_seed=MNIST_SEED, runs=tuple(done.values()),
        machine=common.study_machine(),
        total_minutes=round((time.perf_counter() - started) / 60, 1),
        date=time.strftime("%Y-%m-%d"))
    results.write_study(out, study)
    return study


def main(argv=None) -> results.RecipeStudy:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--image-size", type=int, default=IMAGE_SIZE,
                        help="side of the training and test images (Koch et al.'s MNIST net: 35)")
    parser.add_argument("--split", default=SPLIT, choices=list(SPLITS),
                        help="the background split to train on (Lake's two minimal ones)")
    parser.add_argument("--seed", type=int, default=SEED,
                        help="the training seed (member i of a run of m nets: seed * m + i)")
    parser.add_argument("--save-dir", type=Path, default=None,
                        help="also save each run's encoder there as <run>_<seed>.keras")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    done = {}
    if args.out.exists():                      # keep the runs this invocation does not redo
        old = results.RecipeStudy.from_json(json.loads(args.out.read_text()), str(args.out))
        if (old.image_size, old.split, old.seed) != (args.image_size, args.split, args.seed):
            parser.error(f"--out {args.out} holds runs of {old.split} at image size "
                         f"{old.image_size} with seed {old.seed}, not {args.split} at "
                         f"{args.image_size} with seed {args.seed}: choose another --out")
        done = {r.name: r for r in old.runs}
    omniglot = load_omniglot(args.split, args.image_size)
    runs, mnist = load_lake_runs(args.image_size), mnist_tasks(args.image_size)
    study = None
    for name in args.runs:
        done[name] = train(name, omniglot, runs, mnist, args.save_dir, args.seed)
        study = save(args.out, {k: done[k] for k in RUNS if k in done}, started,
                     args.image_size, args.split, args.seed)
    for r in study.runs:
        print(f"{r.name:>8}: {r.members} x {r.steps} steps, {sum(r.seconds) / 60:5.1f} min; "
              + ", ".join(f"{k} {v.accuracy:.2%}" for k, v in r.scores.items()))
    print(f"wrote {args.out} in {study.total_minutes} min")
    return study


if __name__ == "__main__":
    main()
