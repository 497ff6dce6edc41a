"""One validation policy across the library: every module checks its arguments with
``course_lib.checks``, so the same mistake gets the same exception everywhere (TypeError for a
wrong type, ValueError for a wrong value) and a message naming the argument."""

import numpy as np
import pytest

from course_lib import (
    augment,
    config,
    distribute,
    evaluate,
    layers,
    losses,
    models,
    oneshot,
    pairs,
    plots,
    training,
)

_Y = np.repeat(np.arange(4), 5)
_X = np.random.default_rng(0).random((20, 3)).astype(np.float32)
_E = np.random.default_rng(1).random((20, 2))

# (name of the argument, call taking that argument's value)
SEEDS = [
    ("seed", lambda v: pairs.pair_dataset(_X, _Y, seed=v)),
    ("seed", lambda v: pairs.pair_indices(_Y, 4, seed=v)),
    ("seed", lambda v: oneshot.one_shot_tasks(_Y, 2, 3, seed=v)),
    ("seed", lambda v: augment.RandomAffine(seed=v)),
    ("seed", lambda v: evaluate.silhouette(_E, _Y, sample_size=10, seed=v)),
    ("seed", lambda v: config.seed_everything(v)),
    ("seed", lambda v: training.train_contrastive(_X, _Y, "sgd", 0.1, seed=v, steps=1,
                                                  chunks=1, verbose=False)),
]
POSITIVE_INTS = [
    ("batch_size", lambda v: pairs.pair_dataset(_X, _Y, batch_size=v)),
    ("n", lambda v: pairs.pair_indices(_Y, v)),
    ("n_way", lambda v: oneshot.one_shot_tasks(_Y, v, 3)),
    ("k", lambda v: evaluate.knn_accuracy(_E, _Y, _E, _Y, k=v)),
    ("max_points", lambda v: plots.plot_embedding(_E, _Y, max_points=v)),
    ("embedding_dim", lambda v: models.small_cnn_encoder(embedding_dim=v)),
    ("per_replica", lambda v: distribute.global_batch_size(v)),
    ("views", lambda v: layers.ViewMean(v)),
    ("max_shift", lambda v: models.shift_averaged(models.mlp_encoder(hidden=4), max_shift=v)),
    ("batch_size", lambda v: oneshot.task_scores(None, _X, [0], [[1, 2]], batch_size=v)),
]
POSITIVE_NUMBERS = [
    ("margin", lambda v: losses.ContrastiveLoss(margin=v)),
    ("margin", lambda v: losses.triplet_loss([1.0], [2.0], margin=v)),
    ("learning_rate", lambda v: training.make_optimizer("sgd", v)),
    ("width", lambda v: models.koch_encoder(input_size=28, width=v)),
]


@pytest.mark.parametrize("name,call", SEEDS + POSITIVE_INTS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(SEEDS + POSITIVE_INTS)])
def test_integer_arguments_share_one_policy(name, call):
    with pytest.raises(TypeError, match=f"{name} must be an int, got float 1.5"):
        call(1.5)
    with pytest.raises(TypeError, match=name):
        call(True)
    with pytest.raises(ValueError, match=f"{name} must be an int >= "):
        call(-1)


@pytest.mark.parametrize("name,call", POSITIVE_NUMBERS,
                         ids=[n for n, _ in POSITIVE_NUMBERS])
def test_positive_numbers_share_one_policy(name, call):
    with pytest.raises(TypeError, match=f"{name} must be a number"):
        call("1")
    with pytest.raises(ValueError, match=f"{name} must be a finite number > 0"):
        call(0.0)
    with pytest.raises(ValueError, match=name):
        call(float("inf"))


def test_layers_reject_by_the_same_policy():
    with pytest.raises(TypeError, match="epsilon must be a number"):
        layers.EuclideanDistance(epsilon="0")
    with pytest.raises(ValueError, match="epsilon must be a finite number >= 0"):
        layers.EuclideanDistance(epsilon=-1e-3)
