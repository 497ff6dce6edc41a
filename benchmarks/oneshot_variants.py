"""The one-shot recipes of notebook 06, step by step, trained for a wall-clock budget and scored on
20-way within-alphabet tasks of the held-out validation alphabet (never on Lake's 20 runs).

Shared by ``scripts/ablation_06.py`` (the ablation table the notebook plots) and
``benchmarks/bench_oneshot.py`` (time to reach a validation accuracy). Tooling, not part of the
installed package.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from course_lib import callbacks, config, data, models, oneshot, pairs, splits, training
from course_lib.augment import RandomAffine

SPLIT = "background_small1"
VALIDATION = ["Early_Aramaic"]
N_WAY = 20
EPISODES = 4          # 20-way episodes per step: 4 x 2 x 20 = 160 images
PAIR_BATCH = 80       # pairs per step for the pair-loss rows: 2 x 80 = 160 images, as an episode
#                       step (the within-alphabet row: EPISODES // 2 episodes give 80 pairs too)
LEARNING_RATE = 1e-3
BN_REFRESH_IMAGES = 512   # training images the batch-norm statistics are re-estimated from

# name: (what it adds, settings). Each row changes one thing from the row above it (the last
# three: from the recipe, "shifts"). "augment" is Koch's affine distortions ("affine") or the
# recipe's random shifts of up to 2 pixels ("shifts").
VARIANTS: dict[str, dict] = {
    "koch": dict(label="Koch et al.'s net (weighted L1, BCE, affine)", encoder="koch",
                 head="koch", sampling="random", augment="affine", size=28),
    "conv4": dict(label="4-block conv net, no batch norm", encoder="conv4", bn=False,
                  head="koch", sampling="random", augment="affine", size=28),
    "conv4_bn": dict(label="+ batch norm", encoder="conv4", bn=True, head="koch",
                     sampling="random", augment="affine", size=28),
    "within": dict(label="+ negatives from the anchor's alphabet", encoder="conv4", bn=True,
                   head="koch", sampling="within", augment="affine", size=28),
    "n_way": dict(label="+ N-way comparison loss", encoder="conv4", bn=True, head="n_way",
                  sampling="episodes", augment="affine", size=28),
    "rotations": dict(label="+ rotations as new classes", encoder="conv4", bn=True,
                      head="n_way", sampling="episodes", rotations=True, augment="affine",
                      size=28),
    "shifts": dict(label="+ shifts instead of affine distortions (the recipe)", encoder="conv4",
                   bn=True, head="n_way", sampling="episodes", rotations=True, augment="shifts",
                   size=28),
    "width32": dict(label="recipe, 32 filters instead of 64", encoder="conv4", bn=True,
                    filters=32, head="n_way", sampling="episodes", rotations=True,
                    augment="shifts", size=28),
    "size35": dict(label="recipe, 35x35 input instead of 28x28", encoder="conv4", bn=True,
                   head="n_way", sampling="episodes", rotations=True, augment="shifts", size=35),
    "no_bn": dict(label="recipe without batch norm", encoder="conv4", bn=False,
                  head="n_way", sampling="episodes", rotations=True, augment="shifts", size=28),
}


@dataclass
class Setup:
    """Training images and the fixed validation tasks of one image size."""

    images: np.ndarray
    character: np.ndarray
    alphabet: np.ndarray
    val_images: np.ndarray
    val_query: np.ndarray
    val_support: np.ndarray
    val_answer: np.ndarray
    val_character: tuple = ()   # the character name ("Alphabet/characterNN") of each task's query


_SETUPS: dict[tuple, Setup] = {}


# How the validation tasks are built: "lake" as Lake et al.'s runs (candidates by one drawer, the
# query by another, distinct queries); "random" (the tasks of the older study runs): any
# drawers, queries may recur.
TASKS = "lake"


def setup(size: int = 28, val_tasks: int = 400, split: str = SPLIT,
          validation=tuple(VALIDATION), tasks: str = TASKS, box: int | None = None) -> Setup:
    """The split at ``size``, its validation alphabets held out whole, and fixed 20-way tasks
    built as ``tasks`` says (see :data:`TASKS`). With ``box``, every drawing is fitted to a
    ``box`` x ``box`` square in its ``size`` x ``size`` frame (``data.fit_to_box`` on the
    105x105 drawings); the tasks are the same."""
    key = (size, val_tasks, split, tuple(validation), tasks, box)
    if key not in _SETUPS:
        om = data.load_omniglot(split, size, box=box)
        train, val = splits.held_out_split(om.alphabet, om.alphabet_names, list(validation),
                                           what="alphabet")
        drawers = {"lake": om.drawer[val], "random": None}[tasks]
        q, s, a = oneshot.one_shot_tasks(om.character[val], N_WAY, val_tasks, seed=12345,
                                         groups=om.alphabet[val], drawers=drawers)
        names = tuple(om.character_names[c] for c in om.character[val][q])
        _SETUPS[key] = Setup(om.images[train], om.character[train], om.alphabet[train],
                             om.images[val], q, s, a, names)
    return _SETUPS[key]


def _episode_pairs(images, labels):
    """Within-alphabet pairs from a batch of episodes: (anchor i, candidate i) is a same pair,
    (anchor i, candidate i+1 of the same episode) a different one; half and half."""
    x = tf.reshape(images, [-1, 2, N_WAY, *images.shape[1:]])
    anchors, candidates = x[:, 0], x[:, 1]
    other = tf.roll(candidates, shift=-1, axis=1)
    flat = (-1, *images.shape[1:])
    left = tf.reshape(tf.concat([anchors, anchors], axis=1), flat)
    right = tf.reshape(tf.concat([candidates, other], axis=1), flat)
    same = tf.tile(tf.concat([tf.ones([N_WAY]), tf.zeros([N_WAY])], 0), [tf.shape(x)[0]])
    return (left, right), same


def build(name: str, data_: Setup, seed: int):
    """``(model to fit, model to score, dataset, encoder)`` of one variant, seeded."""
    v = VARIANTS[name]
    keras.utils.set_random_seed(seed)
    size = v["size"]
    if v["head"] == "n_way":  # notebook 06's recipe net, at a constant learning rate
        shifts = v["augment"] == "shifts"    # else Koch's affine distortions, as the pair rows
        model, ds = training.build_one_shot_recipe(
            data_.images, data_.character, data_.alphabet, seed=seed, n_way=N_WAY,
            episodes=EPISODES, embedding_dim=256, filters=v.get("filters", 64),
            batch_norm=v["bn"], learning_rate=LEARNING_RATE,
            rotations=v.get("rotations", False), max_shift=2 if shifts else 0,
            affine=not shifts)
        return model, model, ds, model
    if v["encoder"] == "koch":
        encoder = models.koch_encoder(size, 512, width=0.5)
    else:
        encoder = models.conv4_encoder((size, size), 256, filters=v.get("filters", 64),
                                       batch_norm=v["bn"])
    model = models.siamese(encoder, head="koch")
    model.compile(keras.optimizers.Adam(LEARNING_RATE), "binary_crossentropy")
    if v["sampling"] == "random":
        ds = pairs.pair_dataset(data_.images, data_.character, PAIR_BATCH, seed=seed,
                                augment=RandomAffine(seed=seed), repeat=True)
    else:
        distort = RandomAffine(seed=seed)
        ds = (pairs.episode_dataset(data_.images, data_.character, data_.alphabet, N_WAY,
                                    EPISODES // 2, seed=seed, repeat=True)
              .map(_episode_pairs)
              .map(lambda lr, y: ((distort(lr[0]), distort(lr[1])), y)))
    return model, model, ds, encoder


def validation_outcomes(scorer, data_: Setup) -> np.ndarray:
    """Right (True) or wrong on each validation task (ties wrong)."""
    scores = oneshot.task_scores(scorer, data_.val_images, data_.val_query, data_.val_support)
    return oneshot.task_accuracy(scores, data_.val_answer)


def validation_accuracy(scorer, data_: Setup) -> float:
    """20-way accuracy on the validation tasks (ties wrong)."""
    return float(validation_outcomes(scorer, data_).mean())


def run(name: str, seed: int, seconds: float, check_every: int | None = None,
        val_tasks: int = 400, stop_at: float | None = None) -> dict:
    """Train ``name`` for ``seconds`` of training time (after one untimed step that traces the
    model); score the validation tasks every
    ``check_every`` steps (and at the end). ``stop_at``: stop early once reached.

    Before each scoring, the batch-norm statistics (if any) are re-estimated from the training
    images (:func:`course_lib.models.refresh_batch_norm`): a short run's moving averages still
    hold much of their initial values. At the end the net is also scored with the statistics
    as training left them (``accuracy_stale``; equal to ``accuracy`` without batch norm).

    Returns ``{"variant", "seed", "steps", "seconds", "accuracy", "accuracy_stale",
    "outcomes", "curve": [(s, steps, acc)]}``; ``outcomes``: right or wrong on each validation
    task, at the end, with refreshed statistics.
    """
    data_ = setup(VARIANTS[name]["size"], val_tasks)
    model, scorer, ds, encoder = build(name, data_, seed)
    model.fit(ds, steps_per_epoch=1, epochs=1, verbose=0)  # trace and compile, not charged
    budget = callbacks.TimeBudget(seconds)
    curve = []
    chunk = check_every or 10**9
    wall = time.perf_counter()
    while True:
        model.fit(ds, steps_per_epoch=min(chunk, 10**6), epochs=1, verbose=0,
                  callbacks=[budget])
        stale = validation_accuracy(scorer, data_)
        models.refresh_batch_norm(encoder, data_.images, BN_REFRESH_IMAGES, seed)
        right = validation_outcomes(scorer, data_)
        acc = float(right.mean())
        curve.append((round(budget.seconds, 2), budget.steps, acc))
        if budget.seconds >= budget.budget or (stop_at is not None and acc >= stop_at):
            break
    return {"variant": name, "seed": seed, "steps": budget.steps,
            "seconds": round(budget.seconds, 2), "wall": round(time.perf_counter() - wall, 2),
            "accuracy": acc, "accuracy_stale": stale, "outcomes": right.tolist(),
            "curve": curve, "fast_mode": config.fast_mode()}
