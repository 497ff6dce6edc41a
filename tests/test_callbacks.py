"""EpochTimer and EmbeddingSnapshots on a tiny model: one entry per epoch, the right epochs kept."""

import keras
import numpy as np
import pytest

from course_lib import models
from course_lib.callbacks import (
    EmbeddingSnapshots,
    EpochTimer,
    OneShotValidation,
    RetrievalValidation,
    TimeBudget,
)


def _tiny():
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="embedding")])
    model = keras.Sequential([encoder, keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    return encoder, model, x, x.sum(axis=1, keepdims=True)


def test_epoch_timer_records_one_positive_time_per_epoch_across_fits():
    _, model, x, y = _tiny()
    timer = EpochTimer()
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[timer])
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[timer])
    assert len(timer.times) == 5
    assert all(t > 0 for t in timer.times)


def test_snapshots_keep_the_start_and_the_chosen_epochs_and_track_training():
    encoder, model, x, y = _tiny()
    snaps = EmbeddingSnapshots(encoder, x[:10], epochs=[0, 1, 3], batch_size=4)
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[snaps])
    assert sorted(snaps.snapshots) == [0, 1, 3]
    assert snaps.snapshots[0].shape == (10, 2)
    # the last snapshot is what the trained encoder gives now; the first one is not
    np.testing.assert_allclose(snaps.snapshots[3], encoder(x[:10]).numpy(), rtol=1e-5)
    assert not np.allclose(snaps.snapshots[0], snaps.snapshots[3])


def test_snapshots_every_epoch_by_default_and_continue_numbering_with_initial_epoch():
    encoder, model, x, y = _tiny()
    snaps = EmbeddingSnapshots(encoder, x)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[snaps])
    model.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, verbose=0, callbacks=[snaps])
    assert sorted(snaps.snapshots) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("kwargs,error", [
    ({"encoder": "not a model"}, TypeError),
    ({"x": np.zeros((0, 4))}, ValueError),
    ({"x": np.zeros(4)}, ValueError),
    ({"epochs": 5}, TypeError),
    ({"epochs": [1, -1]}, ValueError),
    ({"epochs": [1.5]}, TypeError),
    ({"batch_size": 0}, ValueError),
    ({"batch_size": 2.0}, TypeError),
])
def test_snapshots_reject_bad_input(kwargs, error):
    encoder, _, x, _ = _tiny()
    args = {"encoder": encoder, "x": x, **kwargs}
    with pytest.raises(error):
        EmbeddingSnapshots(**args)


def test_time_budget_stops_training_once_spent():
    _, model, x, y = _tiny()
    budget = TimeBudget(1e-9)  # spent by the first batch
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[budget])
    assert len(history.history["loss"]) == 1 and budget.steps == 1 and budget.seconds > 0
    roomy = TimeBudget(3600)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[roomy])
    assert roomy.steps == 8 and 0 < roomy.seconds < 3600
    with pytest.raises(ValueError, match="seconds"):
        TimeBudget(0)
    with pytest.raises(TypeError, match="seconds"):
        TimeBudget("1")


def _prototypes():
    """Five very different 6x6 images, then a noisy copy of each."""
    rng = np.random.default_rng(0)
    protos = rng.random((5, 6, 6)).astype(np.float32)
    copies = protos + 0.05 * rng.standard_normal(protos.shape)
    return np.concatenate([protos, copies]).astype(np.float32)


def test_validation_callback_keeps_the_best_epoch():
    images = _prototypes()
    query, support, answer = np.arange(5, 10), np.tile(np.arange(5), (5, 1)), np.arange(5)
    keras.utils.set_random_seed(0)
    encoder = models.small_cnn_encoder((6, 6), 4, filters=(4,), dense=8)
    net = models.siamese(encoder, head="euclidean")
    net.compile(keras.optimizers.SGD(0.5), "mse")  # a large step: weights and scores jump
    check = OneShotValidation(images, query, support, answer)
    rng = np.random.default_rng(0)
    x = [rng.random((16, 6, 6)).astype(np.float32) for _ in range(2)]
    history = net.fit(x, rng.random(16), epochs=4, verbose=0, callbacks=[check])
    assert len(check.history) == 4
    assert history.history["val_one_shot"] == check.history
    assert check.best == max(check.history)
    assert check.history[check.best_epoch] == check.best
    assert check.score() == check.best  # the best epoch's weights are back in the model


def test_validation_callback_rejects_bad_tasks():
    images = _prototypes()
    with pytest.raises(ValueError, match="answer"):
        OneShotValidation(images, [0], [[1, 2]], [5])
    with pytest.raises(ValueError, match="answer is required"):
        OneShotValidation(images, [0], [[1, 2]], None)
    with pytest.raises(TypeError, match="query"):
        OneShotValidation(images, [0.5], [[1, 2]], [0])
    with pytest.raises(TypeError, match="restore_best must be a bool"):
        OneShotValidation(images, [0], [[1, 2]], [0], restore_best=1)



def _clusters():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 5)
    centres = rng.normal(size=(4, 4)) * 3
    return (centres[labels] + rng.normal(size=(20, 4)) * 0.1).astype("float32"), labels


def test_retrieval_validation_scores_each_epoch_agrees_with_evaluate_and_restores_best(capsys):
    encoder, model, x, y = _tiny()
    images, labels = _clusters()
    cb = RetrievalValidation(encoder, images, labels, batch_size=7)
    # a learning rate that makes training diverge, so later epochs are worse than some earlier one
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[cb])
    assert len(cb.history) == 4 and history.history["val_recall@1"] == cb.history
    assert cb.best == max(cb.history) and cb.history[cb.best_epoch] == cb.best
    emb = encoder(images).numpy()
    from course_lib import evaluate
    now = evaluate.recall_at_k(emb, labels, emb, labels, k=1, exclude_self=True)
    assert now == cb.best  # the best epoch's weights are back
    out = capsys.readouterr().out
    assert sum(line.startswith("epoch ") for line in out.splitlines()) == 4 and "restored the weights of epoch 1 " in out
    assert cb.best_epoch == 0 and cb.history[1:] == [0.0, 0.0, 0.0]  # diverged: scored 0


def test_retrieval_validation_accepts_a_dataset_and_can_keep_the_last_weights():
    import tensorflow as tf
    encoder, model, x, y = _tiny()
    images, labels = _clusters()
    ds = tf.data.Dataset.from_tensor_slices(images).batch(6)
    a = RetrievalValidation(encoder, ds, labels, k=2, restore_best=False, verbose=False)
    b = RetrievalValidation(encoder, images, labels, k=2, restore_best=False, verbose=False)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[a, b])
    assert a.history == b.history and a.name == "val_recall@2"
    assert a._best_weights is None  # restore_best=False keeps no copy and restores nothing


def test_retrieval_validation_map_at_r_is_evaluate_map_at_r_and_moves_when_recall_saturates():
    from course_lib import evaluate
    encoder, model, x, y = _tiny()
    images, labels = _clusters()
    cb = RetrievalValidation(encoder, images, labels, score="map@r", restore_best=False,
                             verbose=False)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[cb])
    emb = encoder(images).numpy()
    assert cb.name == "val_map@r" and np.isclose(cb.history[0], evaluate.map_at_r(emb, labels))
    # one class split in two tight halves far apart: every nearest neighbour is right
    # (recall@1 = 1) but half of each class ranks behind other classes (MAP@R < 1)
    pts = np.array([[0, 0], [0, 0.1], [10, 0], [10, 0.1], [5, 5], [5, 5.1], [5, 5.2], [5, 5.3]],
                   "float32")
    lab = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    ident = keras.Sequential([keras.Input((2,)), keras.layers.Identity()])
    rec = RetrievalValidation(ident, pts, lab, verbose=False)
    mapr = RetrievalValidation(ident, pts, lab, score="map@r", verbose=False)
    assert rec.score() == 1.0 and mapr.score() < 0.8


@pytest.mark.parametrize("kwargs,error", [
    ({"encoder": "not a model"}, TypeError),
    ({"score": "accuracy"}, ValueError),
    ({"labels": np.zeros(19, int)}, ValueError),
    ({"labels": np.zeros(20)}, TypeError),
    ({"k": 20}, ValueError),
    ({"k": 0}, ValueError),
    ({"restore_best": 1}, TypeError),
    ({"verbose": "no"}, TypeError),
])
def test_retrieval_validation_rejects_bad_arguments(kwargs, error):
    encoder, _, _, _ = _tiny()
    images, labels = _clusters()
    args = {"encoder": encoder, "images": images, "labels": labels, **kwargs}
    with pytest.raises(error):
        RetrievalValidation(**args)


def test_best_epoch_logic_lives_once_in_the_base_class(capsys):
    # Both validation callbacks keep their best epoch through BestEpochValidation: a subclass
    # that only defines score() gets logs, history, the best epoch and the restored weights.
    from course_lib.callbacks import BestEpochValidation

    assert issubclass(OneShotValidation, BestEpochValidation)
    assert issubclass(RetrievalValidation, BestEpochValidation)
    for cls in (OneShotValidation, RetrievalValidation):
        for method in ("on_epoch_end", "on_train_end"):
            assert method not in vars(cls), (cls.__name__, method)

    scores = iter([0.2, 0.7, 0.5])

    class Scripted(BestEpochValidation):
        def score(self):
            return next(scores)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    cb = Scripted("val_scripted", verbose=True)
    x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
    weights = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights.append(self.model.get_weights()[0].copy())

    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[cb, Record()])
    assert cb.history == [0.2, 0.7, 0.5] and cb.best == 0.7 and cb.best_epoch == 1
    assert history.history["val_scripted"] == [0.2, 0.7, 0.5]
    np.testing.assert_array_equal(model.get_weights()[0], weights[1])
    out = capsys.readouterr().out
    assert "epoch 3: val_scripted = 0.5000 (best 0.7000 at epoch 2)" in out
    assert "restored the weights of epoch 2" in out
    with pytest.raises(TypeError, match="verbose"):
        Scripted("x", verbose="yes")
