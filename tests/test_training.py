"""course_lib.training: seeded runs repeat exactly, scores use validation for the threshold only,
step losses keep NaN, and bad arguments raise naming the argument."""

import keras
import numpy as np
import pytest

from course_lib import callbacks as course_callbacks
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


# --------------------------------------------------------------------------- the one-shot recipe


@pytest.fixture
def tiny_alphabets():
    """2 alphabets x 4 characters x 3 drawings of 16x16 noise, each character its own pattern."""
    rng = np.random.default_rng(0)
    base = rng.random((8, 16, 16)).astype(np.float32)
    x = np.repeat(base, 3, axis=0) + 0.1 * rng.random((24, 16, 16)).astype(np.float32)
    character = np.repeat(np.arange(8), 3)
    alphabet = character // 4
    return x, character, alphabet


TINY = dict(n_way=3, episodes=1, embedding_dim=8, filters=4)


def _weights(net):
    return [w.copy() for w in net.get_weights()]


def test_the_recipe_is_what_its_copies_trained(tiny_alphabets):
    """The refactor keeps the behaviour: a net built and trained as notebook 06 and
    scripts/select_06.py did by hand (seeded conv4 net, Adam cosine-decayed over the steps,
    NWayLoss, one fit on the seeded episode stream) ends with the same weights as the recipe's
    call; epochs of fewer steps continue one stream, so they change nothing either."""
    x, character, alphabet = tiny_alphabets
    keras.utils.set_random_seed(5)
    net = models.conv4_encoder((16, 16), 8, filters=4, batch_norm=False, name="member_0")
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=6)
    net.compile(optimizer=keras.optimizers.Adam(schedule), loss=losses.NWayLoss(3))
    stream = pairs.episode_dataset(x, character, alphabet, 3, 1, seed=5, rotations=True,
                                   max_shift=2, repeat=True)
    by_hand = net.fit(stream, steps_per_epoch=6, epochs=1, verbose=0).history["loss"]
    one_epoch = training.train_one_shot_recipe(x, character, alphabet, steps=6, seed=5,
                                               steps_per_epoch=6, verbose=0, **TINY)
    np.testing.assert_allclose(one_epoch.loss[0], by_hand, rtol=1e-6)
    three_epochs = training.train_one_shot_recipe(x, character, alphabet, steps=6, seed=5,
                                                  steps_per_epoch=2, verbose=0, **TINY)
    assert three_epochs.loss.shape == (1, 3)
    for w_hand, w_one, w_three in zip(_weights(net), _weights(one_epoch.members[0]),
                                      _weights(three_epochs.members[0]), strict=True):
        np.testing.assert_allclose(w_one, w_hand, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(w_three, w_hand, rtol=1e-5, atol=1e-7)
    assert one_epoch.encoder is one_epoch.members[0] and one_epoch.seeds == (5,)


def test_same_seed_same_recipe_and_members_side_by_side(tiny_alphabets):
    x, character, alphabet = tiny_alphabets
    runs = [training.train_one_shot_recipe(x, character, alphabet, steps=4, members=2, seed=1,
                                           steps_per_epoch=2, verbose=0, **TINY)
            for _ in range(2)]
    np.testing.assert_array_equal(runs[0].loss, runs[1].loss)
    assert runs[0].loss.shape == (2, 2) and runs[0].seeds == (2, 3)
    assert runs[0].total_steps == 8 and len(runs[0].seconds) == 2
    assert runs[0].encoder.output_shape == (None, 16)                 # 2 members x 8
    probe = x[:5]
    side_by_side = np.concatenate([m.predict(probe, verbose=0) for m in runs[0].members], axis=1)
    np.testing.assert_allclose(runs[0].encoder.predict(probe, verbose=0), side_by_side,
                               rtol=1e-5, atol=1e-6)
    other = training.train_one_shot_recipe(x, character, alphabet, steps=4, members=2, seed=2,
                                           steps_per_epoch=2, verbose=0, **TINY)
    assert not np.array_equal(other.loss, runs[0].loss)
    shifted = training.train_one_shot_recipe(x, character, alphabet, steps=2, seed=0,
                                             steps_per_epoch=2, test_time_shifts=True,
                                             verbose=0, **TINY)
    assert shifted.encoder.name == "shift_averaged" and shifted.encoder.output_shape == (None, 8)


def test_the_recipe_gives_each_member_its_callbacks(tiny_alphabets):
    x, character, alphabet = tiny_alphabets
    timers = []

    def fresh(i):
        timers.append(course_callbacks.EpochTimer())
        return [timers[-1]]

    run = training.train_one_shot_recipe(x, character, alphabet, steps=4, members=2,
                                         steps_per_epoch=1, callbacks=fresh, verbose=0, **TINY)
    assert [len(t.times) for t in timers] == [4, 4]
    assert run.loss.shape == (2, 4)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(steps=5, steps_per_epoch=2), ValueError, "multiple of steps_per_epoch"),
    (dict(steps=0), ValueError, "steps"),
    (dict(steps=2, members=0), ValueError, "members"),
    (dict(steps=2, seed=-1), ValueError, "seed"),
    (dict(steps=2, test_time_shifts=1), TypeError, "test_time_shifts"),
    (dict(steps=2, callbacks=[]), TypeError, "callbacks"),
    (dict(steps=2, callbacks=lambda i: None), TypeError, r"callbacks\(0\)"),
    (dict(steps=2, name="x"), TypeError, "'name'"),
    (dict(steps=2, learning_rate=0.0), ValueError, "learning_rate"),
    (dict(steps=2, affine="yes"), TypeError, "affine"),
])
def test_bad_recipe_arguments_raise_naming_them(tiny_alphabets, kwargs, error, match):
    x, character, alphabet = tiny_alphabets
    settings = {**TINY, "steps_per_epoch": 2, "verbose": 0, **kwargs}
    with pytest.raises(error, match=match):
        training.train_one_shot_recipe(x, character, alphabet, **settings)
