"""Online triplet mining (course_lib.losses.mining): each loss against a NumPy brute force over
all triplets of a batch, anchor by anchor."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import distances, losses, pk_sampling

FUNCTIONS = {
    "batch_all": losses.batch_all_triplet_loss,
    "batch_hard": losses.batch_hard_triplet_loss,
    "semi_hard": losses.semi_hard_triplet_loss,
}


def _batch_loss(fn):
    """The batch loss of a mining function: the mean of its per-anchor shares."""
    return lambda *args, **kwargs: keras.ops.mean(fn(*args, **kwargs))


LOSSES = {name: _batch_loss(fn) for name, fn in FUNCTIONS.items()}


def brute_force(labels, emb, margin, squared=False, eps=1e-6):
    """Every loss and the active fraction by explicit loops over (a, p, n) in float64."""
    d2 = ((emb[:, None, :].astype(float) - emb[None, :, :]) ** 2).sum(-1)
    d = d2 if squared else np.sqrt(d2 + eps)
    n = len(labels)
    terms, hard, semi = [], [], []
    sums = {"batch_all": np.zeros(n), "batch_hard": np.zeros(n), "semi_hard": np.zeros(n)}
    for a in range(n):
        pos = [p for p in range(n) if p != a and labels[p] == labels[a]]
        neg = [q for q in range(n) if labels[q] != labels[a]]
        for p, q in itertools.product(pos, neg):
            terms.append(max(d[a, p] - d[a, q] + margin, 0.0))
            sums["batch_all"][a] += terms[-1]
        if pos and neg:
            hard.append(max(max(d[a, pos]) - min(d[a, neg]) + margin, 0.0))
            sums["batch_hard"][a] = hard[-1]
            for p in pos:
                farther = [d[a, q] for q in neg if d[a, q] > d[a, p]]
                chosen = min(farther) if farther else max(d[a, neg])
                semi.append(max(d[a, p] - chosen + margin, 0.0))
                sums["semi_hard"][a] += semi[-1]
    terms = np.array(terms)
    active = terms[terms > 0]
    counts = {"batch_all": max(active.size, 1), "batch_hard": len(hard), "semi_hard": len(semi)}
    return {
        "shares": {name: sums[name] / counts[name] * n for name in sums},
        "batch_all": active.mean() if active.size else 0.0,
        "batch_all_mean": terms.mean(),
        "batch_hard": np.mean(hard),
        "semi_hard": np.mean(semi),
        "fraction": (terms > 0).mean(),
    }


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4])  # class 3: an anchor with no positive
    emb = rng.normal(size=(12, 3)).astype(np.float32)
    return labels, emb


@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("margin", [0.3, 1.0, 2.0])
def test_losses_match_brute_force(batch, margin, squared):
    labels, emb = batch
    want = brute_force(labels, emb, margin, squared)
    assert 0 < want["fraction"] < 1, "the fixture should mix active and inactive triplets"
    for name, fn in LOSSES.items():
        got = float(fn(labels, emb, margin=margin, squared=squared))
        np.testing.assert_allclose(got, want[name], rtol=2e-4, err_msg=name)
        # the function's values: each anchor's share (its terms / the batch's count * batch)
        shares = np.asarray(FUNCTIONS[name](labels, emb, margin=margin, squared=squared))
        assert shares.shape == (len(labels),)
        np.testing.assert_allclose(shares, want["shares"][name], rtol=2e-4, atol=1e-6,
                                   err_msg=name)
        # the Keras loss (default reduction: the mean) gives the paper's batch loss
        keras_loss = losses.get(name, margin=margin, squared=squared)
        np.testing.assert_allclose(float(keras_loss(labels, emb)), want[name], rtol=2e-4)
    got_all = float(keras.ops.mean(
        losses.batch_all_triplet_loss(labels, emb, margin, squared, average="all")))
    np.testing.assert_allclose(got_all, want["batch_all_mean"], rtol=2e-4)
    frac = float(losses.active_triplet_fraction(labels, emb, margin, squared))
    np.testing.assert_allclose(frac, want["fraction"], rtol=1e-6)


def test_semi_hard_picks_the_nearest_farther_negative():
    # 1-D: anchor 0 at 0, positive at 1; negatives at 0.5 (harder), 1.5 and 2.5 (semi-hard: 1.5).
    labels = np.array([0, 0, 1, 1, 1])
    emb = np.array([[0.0], [1.0], [0.5], [1.5], [2.5]], np.float32)
    loss = LOSSES["semi_hard"](labels, emb, margin=1.0, epsilon=0.0)
    # anchor 0 / pos 1: 1 - 1.5 + 1 = 0.5; anchor 1 / pos 0 (d=1): negatives at 0.5, 0.5, 1.5 ->
    # nearest farther is 1.5: 1 - 1.5 + 1 = 0.5; negatives as anchors count too.
    want = brute_force(labels, emb, 1.0, eps=0.0)["semi_hard"]
    np.testing.assert_allclose(float(loss), want, rtol=1e-6)
    assert float(LOSSES["batch_hard"](labels, emb, 1.0, epsilon=0.0)) > float(loss)


def test_semi_hard_falls_back_to_the_farthest_negative():
    # 1-D: class 0 at 0 and 3, class 1 at 1 and 2. For the class-0 pairs (d = 3) no negative is
    # farther, so the farthest (d = 2) is used: loss 3 - 2 + 1 = 2; class-1 pairs (d = 1) find a
    # semi-hard negative at d = 2: loss 0. Mean over the 4 pairs: 1.0.
    labels = np.array([0, 0, 1, 1])
    emb = np.array([[0.0], [3.0], [1.0], [2.0]], np.float32)
    loss = float(LOSSES["semi_hard"](labels, emb, margin=1.0, epsilon=0.0))
    assert loss == pytest.approx(1.0, rel=1e-6)
    assert loss == pytest.approx(brute_force(labels, emb, 1.0, eps=0.0)["semi_hard"], rel=1e-6)


def test_the_losses_read_the_one_keras_pairwise_distance(batch, monkeypatch):
    """No second name for the differentiable distance (it is distances.keras_pairwise), and the
    mining losses call that one."""
    assert not hasattr(losses, "pairwise_distances")
    assert not hasattr(losses.mining, "pairwise_distances")
    labels, emb = batch
    calls = []
    original = distances.keras_pairwise

    def counted(*args, **kwargs):
        calls.append(args[1:])
        return original(*args, **kwargs)

    monkeypatch.setattr(distances, "keras_pairwise", counted)
    for fn in FUNCTIONS.values():
        fn(labels, emb, squared=True, epsilon=0.5)
    assert calls == [(True, 0.5)] * len(FUNCTIONS)


def test_no_active_triplet_gives_zero_loss_not_nan():
    labels = np.array([0, 0, 1, 1])
    emb = np.array([[0.0, 0], [0, 0.01], [10, 0], [10, 0.01]], np.float32)
    for name, fn in LOSSES.items():
        assert float(fn(labels, emb, margin=1.0)) == 0.0, name
    assert float(losses.active_triplet_fraction(labels, emb)) == 0.0


@pytest.mark.parametrize("squared", [False, True])
def test_gradients_finite_when_embeddings_coincide(squared):
    labels = tf.constant([0, 0, 1, 1, 2, 2])
    for fill in (0.0, 1.0):
        emb = tf.Variable(tf.fill([6, 4], fill))
        for name, fn in LOSSES.items():
            with tf.GradientTape() as tape:
                loss = fn(labels, emb, margin=0.5, squared=squared)
            grad = tape.gradient(loss, emb).numpy()
            assert np.isfinite(float(loss)) and np.isfinite(grad).all(), (name, fill)
            np.testing.assert_allclose(float(loss), 0.5, rtol=1e-2)  # collapsed: d_ap = d_an


@pytest.mark.slow
def test_keras_losses_serialize_and_train_and_reload(tmp_path):
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(6), 8)
    x = (rng.normal(size=(48, 5)) + y[:, None]).astype(np.float32)
    data = pk_sampling.pk_dataset(x, y, p=3, k=4, seed=0, steps=3)
    objects = [losses.BatchAllTripletLoss(margin=0.2, average="all"),
               losses.BatchHardTripletLoss(margin=0.3, squared=True),
               losses.SemiHardTripletLoss(margin=0.4, epsilon=1e-4)]
    for loss in objects:
        copy = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(copy) is type(loss) and copy.get_config() == loss.get_config()
        inputs = keras.Input((5,))
        model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
        model.compile("sgd", loss=loss, metrics=[losses.ActiveTripletFraction(loss.margin,
                                                                              loss.squared)])
        hist = model.fit(data, epochs=1, verbose=0)
        assert np.isfinite(hist.history["loss"][0])
        assert 0 <= hist.history["active_triplets"][0] <= 1
        path = tmp_path / f"{loss.name}.keras"
        model.save(path)
        back = keras.models.load_model(path)
        assert back.loss.get_config() == loss.get_config()
        xb, yb = next(iter(data))
        np.testing.assert_allclose(float(back.loss(yb, back(xb))),
                                   float(loss(yb, model(xb))), rtol=1e-6)


def test_metric_tracks_the_fraction(batch):
    labels, emb = batch
    metric = losses.ActiveTripletFraction(margin=1.0)
    metric.update_state(labels, emb)
    metric.update_state(labels, emb * 100)      # spread out: fewer active triplets
    want = (brute_force(labels, emb, 1.0)["fraction"]
            + brute_force(labels, emb * 100, 1.0)["fraction"]) / 2
    np.testing.assert_allclose(float(metric.result()), want, rtol=1e-5)
    config = losses.ActiveTripletFraction.from_config(metric.get_config()).get_config()
    assert config == metric.get_config()


def test_bad_input(batch):
    labels, emb = batch
    for fn in LOSSES.values():
        with pytest.raises(ValueError, match="margin must be a finite number > 0"):
            fn(labels, emb, margin=0)
        with pytest.raises(TypeError, match="margin must be a number"):
            fn(labels, emb, margin="1")
        with pytest.raises(TypeError, match="squared must be a bool"):
            fn(labels, emb, squared=1)
        with pytest.raises(ValueError, match="epsilon must be a finite number >= 0"):
            fn(labels, emb, epsilon=-1.0)
        with pytest.raises(ValueError, match=r"embeddings must be 2-D \(batch, dim\)"):
            fn(labels, emb[None])
        with pytest.raises(ValueError, match="labels has 5 entries but embeddings has 12"):
            fn(labels[:5], emb)
    with pytest.raises(ValueError, match="average must be one of"):
        losses.batch_all_triplet_loss(labels, emb, average="mean")
    with pytest.raises(ValueError, match="average must be one of"):
        losses.BatchAllTripletLoss(average="sum")
    with pytest.raises(ValueError, match="margin must be"):
        losses.SemiHardTripletLoss(margin=-1)
    with pytest.raises(ValueError, match="takes no sample_weight"):
        losses.ActiveTripletFraction().update_state(labels, emb, sample_weight=np.ones(12))


def _batch_contrastive_brute_force(labels, emb, margin, average="all"):
    pull, push = [], []
    for i in range(len(labels)):
        for j in range(len(labels)):
            if i == j:
                continue
            d = np.sqrt(((emb[i] - emb[j]) ** 2).sum() + 1e-6)
            if labels[i] == labels[j]:
                pull.append(0.5 * d * d)
            else:
                push.append(0.5 * max(margin - d, 0.0) ** 2)
    if average == "active":
        pull, push = [v for v in pull if v > 0], [v for v in push if v > 0]
    return np.mean(pull) + (np.mean(push) if push else 0.0)


def test_batch_contrastive_matches_brute_force():
    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(4), 3)
    emb = rng.normal(size=(12, 5)).astype("float32") * 0.4
    for margin in (0.5, 2.0):
        for average in ("all", "active"):
            got = float(losses.get("batch_contrastive", margin=margin, average=average)(
                labels, emb))
            want = _batch_contrastive_brute_force(labels, emb, margin, average)
            np.testing.assert_allclose(got, want, rtol=1e-5)
    active = float(losses.BatchContrastiveLoss(0.5, average="active")(labels, emb))
    assert active > float(losses.BatchContrastiveLoss(0.5)(labels, emb))   # fewer, same sum
    again = losses.BatchContrastiveLoss.from_config(
        losses.BatchContrastiveLoss(0.5, average="active").get_config())
    assert again.average == "active"
    with pytest.raises(ValueError, match="average must be one of"):
        losses.BatchContrastiveLoss(average="mean")


def test_batch_contrastive_finite_gradient_at_equal_embeddings():
    labels = np.array([0, 0, 1, 1])
    emb = tf.Variable(np.zeros((4, 3), "float32"))
    with tf.GradientTape() as tape:
        value = losses.BatchContrastiveLoss(1.0)(labels, emb)
    grad = tape.gradient(value, emb).numpy()
    assert np.isfinite(float(value)) and np.isfinite(grad).all()
    with pytest.raises(ValueError, match="margin"):
        losses.BatchContrastiveLoss(0.0)


def test_active_fraction_metric_on_given_triplets():
    metric = losses.ActiveTripletFraction(margin=0.5, inputs="distances")
    metric.update_state(None, np.array([[1.0, 2.0], [1.0, 1.2], [2.0, 1.0], [0.1, 3.0]]))
    assert float(metric.result()) == pytest.approx(0.5)
    again = losses.ActiveTripletFraction.from_config(metric.get_config())
    assert again.inputs == "distances"
    with pytest.raises(ValueError, match="margin"):
        losses.ActiveTripletFraction(margin=-1.0, inputs="distances")
    with pytest.raises(ValueError, match="inputs must be one of"):
        losses.ActiveTripletFraction(inputs="pairs")
