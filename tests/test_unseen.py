"""The comparison harness of notebooks 07 and 09 (course_lib.unseen), on a tiny synthetic
protocol: every sampler trains, a head trains with the encoder, the log has every chunk, the
same seed gives the same run, scores are well formed, and bad arguments are rejected."""

import keras
import numpy as np
import pytest

from course_lib import data, losses, unseen


def _images(n_classes, per_class, seed):
    """16x16 images whose class is a bright square at a class-specific place, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), per_class)
    x = 0.2 * rng.random((len(y), 16, 16)).astype("float32")
    for c in range(n_classes):
        r, col = divmod(c, 4)
        x[y == c, 4 * r:4 * r + 4, 4 * col:4 * col + 4] += 1.0
    return x, y


@pytest.fixture(scope="module")
def protocol():
    x_train, y_train = _images(8, 6, 0)
    x_val, y_val = _images(4, 5, 1)
    x_test, y_test = _images(4, 5, 2)
    xr, yr = _images(4, 2, 3)
    run = data.LakeRun(xr[::2], xr[1::2], np.arange(4))
    return unseen.Protocol(x_train, y_train, y_train // 4, x_val, y_val, x_test, y_test, [run])


SMALL = {"p": 4, "k": 2, "embedding_dim": 8, "learning_rate": 1e-2}


@pytest.mark.parametrize("sampler, loss, extra", [
    ("pk", losses.BatchHardTripletLoss(0.2), {}),
    ("pk", losses.BatchContrastiveLoss(0.5), {}),
    ("pairs", losses.ContrastiveLoss(0.5), {}),
    ("triplets", losses.TripletLoss(0.2), {"metrics": [losses.ActiveTripletFraction(0.2, inputs="distances")]}),
    ("episodes", losses.NWayLoss(4), {"n_way": 4, "normalise": False}),
])
def test_every_sampler_trains_and_logs_each_chunk(protocol, sampler, loss, extra):
    seen = []
    run = unseen.train_embedding(loss, protocol, steps=4, chunks=2, sampler=sampler,
                                 on_chunk=lambda m: {"n": len(seen.append(1) or seen)},
                                 **SMALL, **extra)
    assert [row["step"] for row in run.log] == [0, 2, 4]
    assert [row["n"] for row in run.log] == [1, 2, 3]
    assert all(np.isfinite(row["loss"]) for row in run.log[1:])
    if "metrics" in extra:
        assert all(0.0 <= row["active_triplets"] <= 1.0 for row in run.log[1:])
    assert run.embed.output_shape == (None, 8) and run.steps == 4 and run.seconds > 0


def test_same_seed_same_start_and_same_run(protocol):
    a = unseen.embedding_model((16, 16), 8, seed=3)
    b = unseen.embedding_model((16, 16), 8, seed=3)
    c = unseen.embedding_model((16, 16), 8, seed=4)
    wa, wb, wc = (m.get_weights()[0] for m in (a, b, c))
    assert np.array_equal(wa, wb) and not np.array_equal(wa, wc)
    loss = losses.BatchAllTripletLoss(0.2)
    r1 = unseen.train_embedding(loss, protocol, steps=3, seed=1, **SMALL)
    r2 = unseen.train_embedding(loss, protocol, steps=3, seed=1, **SMALL)
    np.testing.assert_allclose(r1.embed.predict(protocol.x_test, verbose=0),
                               r2.embed.predict(protocol.x_test, verbose=0), atol=1e-5)


def test_a_head_trains_with_the_encoder(protocol):
    head = keras.layers.Dense(8, name="class_centres")
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    run = unseen.train_embedding(loss, protocol, steps=4, head=head, **SMALL)
    assert run.head is head and head.built
    before = unseen.embedding_model((16, 16), 8, seed=0).get_weights()[0]
    assert not np.allclose(before, run.embed.get_weights()[0])


def test_warm_start_trains_the_given_model(protocol):
    first = unseen.train_embedding(losses.BatchAllTripletLoss(0.2), protocol, steps=2, **SMALL)
    weights = first.embed.get_weights()[0].copy()
    second = unseen.train_embedding(losses.BatchHardTripletLoss(0.2), protocol, steps=2,
                                    model=first.embed, **SMALL)
    assert second.embed is first.embed
    assert not np.allclose(weights, second.embed.get_weights()[0])


def test_scores(protocol):
    run = unseen.train_embedding(losses.BatchHardTripletLoss(0.2), protocol, steps=2, **SMALL)
    scores = unseen.score_embedding(run.embed, protocol, ks=(1, 2))
    assert set(scores) == {"recall@1", "recall@2", "map@r", "spread", "one-shot 20-way"}
    assert all(0.0 <= scores[m] <= 1.0 for m in ("recall@1", "recall@2", "map@r",
                                                 "one-shot 20-way"))
    assert scores["recall@1"] <= scores["recall@2"] and scores["spread"] > 0


def test_within_alphabet_batches_draw_their_classes_from_one_alphabet(protocol):
    def one_alphabet_or_nan(y_true, y_pred):
        # the fixture's alphabets are y // 4; a batch mixing two gets a NaN loss
        group = keras.ops.cast(y_true, "int32") // 4
        mixed = keras.ops.any(keras.ops.not_equal(group, group[:1]))
        per_row = keras.ops.mean(keras.ops.square(y_pred), axis=1)
        return keras.ops.where(mixed, float("nan"), per_row)

    within = unseen.train_embedding(one_alphabet_or_nan, protocol, steps=6, seed=0,
                                    within_alphabet=True, **SMALL)
    mixed = unseen.train_embedding(one_alphabet_or_nan, protocol, steps=6, seed=0, **SMALL)
    assert np.isfinite(within.log[-1]["loss"]) and np.isnan(mixed.log[-1]["loss"])
    with pytest.raises(ValueError, match="within_alphabet needs sampler 'pk'"):
        unseen.train_embedding(losses.ContrastiveLoss(), protocol, steps=2, sampler="pairs",
                               within_alphabet=True)
    with pytest.raises(ValueError, match="p=6 needs 6 classes from one group"):
        unseen.train_embedding(one_alphabet_or_nan, protocol, steps=2, within_alphabet=True,
                               p=6, k=2)


def test_bad_arguments(protocol):
    loss = losses.BatchHardTripletLoss(0.2)
    with pytest.raises(ValueError, match="sampler"):
        unseen.train_embedding(loss, protocol, steps=2, sampler="random")
    with pytest.raises(ValueError, match="multiple of chunks"):
        unseen.train_embedding(loss, protocol, steps=3, chunks=2)
    with pytest.raises(TypeError, match="steps"):
        unseen.train_embedding(loss, protocol, steps=2.0)
    with pytest.raises(TypeError, match="loss"):
        unseen.train_embedding("batch_hard", protocol, steps=2)
    with pytest.raises(ValueError, match="head needs sampler 'pk'"):
        unseen.train_embedding(losses.ContrastiveLoss(), protocol, steps=2, sampler="pairs",
                               head=keras.layers.Dense(3))
    with pytest.raises(ValueError, match="n_way"):
        unseen.train_embedding(losses.NWayLoss(5), protocol, steps=2, sampler="episodes",
                               n_way=5, p=4, k=2)
    with pytest.raises(TypeError, match="model"):
        unseen.train_embedding(loss, protocol, steps=2, model="embedding")
    with pytest.raises(TypeError, match="embed"):
        unseen.score_embedding(None, protocol)
    with pytest.raises(ValueError, match="share no alphabet"):
        unseen.omniglot_protocol(validation=["Greek"], test=["Greek"])
