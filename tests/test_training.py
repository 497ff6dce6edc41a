"""course_lib.training: seeded runs repeat exactly, scores use validation for the threshold only,
step losses keep NaN, and bad arguments raise naming the argument."""

import keras
import numpy as np
import pytest

from course_lib import evaluate, layers, losses, models, pairs, training


def _build(epsilon=1e-6, hidden=8):
    def build():
        encoder = models.mlp_encoder(input_shape=(4, 4), embedding_dim=2, hidden=hidden)
        return encoder, models.siamese(encoder, head=layers.EuclideanDistance(epsilon=epsilon))
    return build


@pytest.fixture
def toy(class_coded_images):
    x, y = class_coded_images(n=300, n_classes=4, shape=(4, 4))
    return x, y


def test_same_seed_same_run_and_the_loss_falls(toy):
    x, y = toy
    runs = [training.train_on_pairs(_build(), losses.ContrastiveLoss(), x, y, steps=40, seed=3,
                                    batch_size=32, chunks=4, verbose=0) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].loss, runs[1].loss)
    np.testing.assert_array_equal(runs[0].steps, [10, 20, 30, 40])
    for w0, w1 in zip(runs[0].model.get_weights(), runs[1].model.get_weights(), strict=True):
        np.testing.assert_array_equal(w0, w1)
    assert runs[0].loss[-1] < runs[0].loss[0]
    other = training.train_on_pairs(_build(), losses.ContrastiveLoss(), x, y, steps=40, seed=4,
                                    batch_size=32, verbose=0)
    assert not np.array_equal(other.loss, runs[0].loss)


def test_the_optimizer_is_the_one_asked_for(toy):
    x, y = toy
    run = training.train_on_pairs(_build(), losses.ContrastiveLoss(), x, y, steps=4, chunks=1,
                                  optimizer="rmsprop", learning_rate=0.01, batch_size=8,
                                  verbose=0)
    assert isinstance(run.model.optimizer, keras.optimizers.RMSprop)
    assert float(run.model.optimizer.learning_rate) == pytest.approx(0.01)


def test_verification_scores_match_a_report_made_by_hand(toy):
    x, y = toy
    run = training.train_on_pairs(_build(), losses.ContrastiveLoss(), x, y, steps=20,
                                  batch_size=32, verbose=0)
    val, test = pairs.pair_indices(y[:150], 200, seed=1), pairs.pair_indices(y[150:], 200, seed=2)
    report = training.verification_scores(run.encoder, (x[:150], val), (x[150:], test))
    emb_val = np.asarray(run.encoder(x[:150]))
    emb_test = np.asarray(run.encoder(x[150:]))
    expected = evaluate.verification_report(
        evaluate.pair_distances(emb_val, val[0], val[1]), val[2],
        evaluate.pair_distances(emb_test, test[0], test[1]), test[2])
    assert report.threshold == pytest.approx(expected.threshold, rel=1e-5)
    assert report.roc_auc == pytest.approx(expected.roc_auc, abs=1e-6)
    np.testing.assert_allclose(training.encode(run.encoder, x[:7], batch_size=3), emb_val[:7],
                               rtol=1e-5, atol=1e-6)


def test_step_losses_keep_every_step_and_the_nan(toy):
    x, y = toy
    batches = list(pairs.pair_dataset(x, y, batch_size=16, seed=0, steps=6).as_numpy_iterator())
    (left, right), labels = batches[2]
    right, labels = right.copy(), labels.copy()
    right[0], labels[0] = left[0], 0.0                  # an image with itself, "different"
    batches[2] = (left, right), labels
    curves = {}
    for epsilon in (0.0, 1e-6):
        keras.utils.set_random_seed(0)
        _, model = _build(epsilon, hidden=64)()   # wide: no ReLU layer dies on its own
        model.compile(optimizer="adam", loss=losses.ContrastiveLoss())
        curves[epsilon] = training.step_losses(model, batches)
    assert curves[0.0].shape == (6,)
    assert np.isfinite(curves[0.0][:3]).all() and np.isnan(curves[0.0][3:]).all()
    assert np.isfinite(curves[1e-6]).all()


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"build": "model"}, TypeError, "build"),
    ({"build": lambda: "model"}, TypeError, "build"),
    ({"loss": 1.0}, TypeError, "loss"),
    ({"steps": 0}, ValueError, "steps"),
    ({"steps": 10, "chunks": 4}, ValueError, "steps"),
    ({"steps": 4.0}, TypeError, "steps"),
    ({"optimizer": "lion"}, ValueError, "optimizer"),
    ({"learning_rate": 0.0}, ValueError, "learning_rate"),
    ({"seed": -1}, ValueError, "seed"),
])
def test_bad_training_arguments_raise_naming_them(toy, kwargs, error, match):
    x, y = toy
    args = {"build": _build(), "loss": losses.ContrastiveLoss(), "x": x, "y": y, "steps": 4,
            "chunks": 1, "verbose": 0, **kwargs}
    with pytest.raises(error, match=match):
        training.train_on_pairs(**args)


def test_bad_scoring_arguments_raise_naming_them(toy):
    x, y = toy
    encoder, model = _build()()
    index = pairs.pair_indices(y, 20, seed=0)
    with pytest.raises(TypeError, match="val"):
        training.verification_scores(encoder, x, (x, index))
    with pytest.raises(TypeError, match="test"):
        training.verification_scores(encoder, (x, index), (x, index[:2]))
    with pytest.raises(TypeError, match="encoder"):
        training.encode("encoder", x)
    with pytest.raises(ValueError, match="batch_size"):
        training.encode(encoder, x, batch_size=0)
    with pytest.raises(TypeError, match="model"):
        training.step_losses(encoder.name, [])
    model.compile(optimizer="adam", loss=losses.ContrastiveLoss())
    with pytest.raises(ValueError, match="batches"):
        training.step_losses(model, [])
    with pytest.raises(TypeError, match=r"batches\[0\]"):
        training.step_losses(model, [x[:2]])
