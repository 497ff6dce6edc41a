"""The batch-softmax losses (InfoNCE, SupCon, CosFace with its cosine head) against NumPy
references written from the papers' formulas, their gradients at equal embeddings, their
serialisation and their errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import losses


def _np_unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _np_log_softmax_without_self(sim, i):
    others = [j for j in range(len(sim)) if j != i]
    row = sim[i, others]
    top = row.max()
    lse = top + np.log(np.exp(row - top).sum())
    return {j: sim[i, j] - lse for j in others}


def np_info_nce(emb, t):
    u = _np_unit(emb)
    sim = u @ u.T / t
    n2 = len(emb)
    return np.array([-_np_log_softmax_without_self(sim, i)[(i + n2 // 2) % n2]
                     for i in range(n2)])


def np_supcon(y, emb, t):
    u = _np_unit(emb)
    sim = u @ u.T / t
    out = []
    for i in range(len(y)):
        lp = _np_log_softmax_without_self(sim, i)
        pos = [j for j in lp if y[j] == y[i]]
        out.append(-np.mean([lp[j] for j in pos]) if pos else 0.0)
    return np.array(out)


def np_cosface(y, cos, s, m):
    logits = s * (cos - m * np.eye(cos.shape[1])[y])
    logits = logits - logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(y)), y]


RNG = np.random.default_rng(0)
EMB = RNG.normal(size=(8, 5)).astype("float32")
Y = np.array([0, 0, 1, 1, 1, 2, 2, 3])


@pytest.mark.parametrize("t", [0.05, 0.1, 0.5, 1.0])
def test_info_nce_matches_numpy(t):
    got = keras.ops.convert_to_numpy(losses.info_nce_loss(EMB, t))
    np.testing.assert_allclose(got, np_info_nce(EMB.astype("float64"), t), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("t", [0.07, 0.3, 1.0])
def test_supcon_matches_numpy_including_a_row_without_positive(t):
    got = keras.ops.convert_to_numpy(losses.supcon_loss(Y, EMB, t))
    want = np_supcon(Y, EMB.astype("float64"), t)
    assert want[-1] == 0.0 and got[-1] == 0.0  # class 3 has a single row
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_supcon_with_one_example_per_class_pair_is_info_nce():
    y = np.concatenate([np.arange(4), np.arange(4)])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(losses.supcon_loss(y, EMB, 0.2)),
                               keras.ops.convert_to_numpy(losses.info_nce_loss(EMB, 0.2)),
                               rtol=1e-5, atol=1e-6)


def test_cosine_head_and_cosface_match_numpy():
    head = losses.CosineClassifier(4)
    cos = keras.ops.convert_to_numpy(head(EMB))
    centres = keras.ops.convert_to_numpy(head.centres)
    want_cos = _np_unit(EMB) @ _np_unit(centres.T).T
    np.testing.assert_allclose(cos, want_cos, rtol=1e-5, atol=1e-6)
    assert np.all(np.abs(cos) <= 1 + 1e-6)
    for s, m in [(30.0, 0.35), (10.0, 0.0), (64.0, 0.2)]:
        got = keras.ops.convert_to_numpy(losses.cosface_loss(Y, cos, s, m))
        np.testing.assert_allclose(got, np_cosface(Y, cos.astype("float64"), s, m),
                                   rtol=1e-4, atol=1e-4)


def test_the_margin_raises_the_loss():
    cos = keras.ops.convert_to_numpy(losses.CosineClassifier(4)(EMB))
    plain = keras.ops.convert_to_numpy(losses.cosface_loss(Y, cos, 30.0, 0.0))
    margin = keras.ops.convert_to_numpy(losses.cosface_loss(Y, cos, 30.0, 0.35))
    assert np.all(margin > plain)


def _grad(fn, x):
    x = tf.Variable(x)
    with tf.GradientTape() as tape:
        value = tf.reduce_mean(fn(x))
    return value.numpy(), tape.gradient(value, x).numpy()


@pytest.mark.parametrize("rows", [np.ones((8, 5)), np.zeros((8, 5))], ids=["equal", "zero"])
def test_finite_gradients_at_equal_embeddings(rows):
    rows = rows.astype("float32")
    head = losses.CosineClassifier(4)
    head.build(rows.shape)
    for fn in (lambda x: losses.info_nce_loss(x, 0.1), lambda x: losses.supcon_loss(Y, x, 0.1),
               lambda x: losses.cosface_loss(Y, head(x))):
        value, grad = _grad(fn, rows)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
    # all rows equal: every candidate is equally likely, loss = log(2N - 1)
    if rows.any():
        value, _ = _grad(lambda x: losses.info_nce_loss(x, 0.1), rows)
        assert value == pytest.approx(np.log(7), rel=1e-4)


def test_training_lowers_supcon_and_infonce():
    x = tf.Variable(RNG.normal(size=(8, 5)).astype("float32"))
    opt = keras.optimizers.SGD(0.5)
    for fn in (lambda v: losses.supcon_loss(Y, v, 0.5), lambda v: losses.info_nce_loss(v, 0.5)):
        first = None
        for _ in range(30):
            with tf.GradientTape() as tape:
                value = tf.reduce_mean(fn(x))
            opt.apply_gradients([(tape.gradient(value, x), x)])
            first = value.numpy() if first is None else first
        assert value.numpy() < first - 0.1


@pytest.mark.parametrize("name,cls,kwargs", [
    ("info_nce", losses.InfoNCELoss, {"temperature": 0.2}),
    ("supcon", losses.SupConLoss, {"temperature": 0.07}),
    ("cosface", losses.CosFaceLoss, {"scale": 16.0, "margin": 0.1}),
])
def test_get_and_config_round_trip(name, cls, kwargs):
    loss = losses.get(name, **kwargs)
    assert isinstance(loss, cls)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, cls)
    for key, value in kwargs.items():
        assert getattr(again, key) == value


def test_cosine_head_in_a_saved_model(tmp_path):
    inp = keras.Input((5,))
    model = keras.Model(inp, losses.CosineClassifier(4)(keras.layers.Dense(5)(inp)))
    model.compile(optimizer="adam", loss=losses.CosFaceLoss())
    model.fit(EMB, Y % 4, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(EMB, verbose=0), model.predict(EMB, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_supcon_trains_inside_fit():
    inp = keras.Input((5,))
    model = keras.Model(inp, keras.layers.Dense(3)(inp))
    model.compile(optimizer="adam", loss=losses.SupConLoss(0.5))
    history = model.fit(EMB, Y, epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize("make", [
    lambda: losses.InfoNCELoss(temperature=0.0),
    lambda: losses.SupConLoss(temperature=-1.0),
    lambda: losses.info_nce_loss(EMB, 0),
    lambda: losses.info_nce_loss(EMB[:7], 0.1),
    lambda: losses.info_nce_loss(EMB[0], 0.1),
    lambda: losses.supcon_loss(np.zeros(8), EMB, 0.1),
    lambda: losses.supcon_loss(np.arange(8), EMB, 0.1),
    lambda: losses.supcon_loss(Y[:6], EMB, 0.1),
    lambda: losses.CosFaceLoss(scale=0.0),
    lambda: losses.CosFaceLoss(margin=-0.1),
    lambda: losses.CosineClassifier(1),
])
def test_bad_values_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


def test_error_messages_name_the_argument():
    with pytest.raises(ValueError, match="temperature"):
        losses.SupConLoss(temperature=0)
    with pytest.raises(ValueError, match="2 classes"):
        losses.supcon_loss(np.zeros(8), EMB, 0.1)
    with pytest.raises(TypeError, match="temperature"):
        losses.InfoNCELoss(temperature="0.1")
    with pytest.raises(TypeError, match="num_classes"):
        losses.CosineClassifier(2.5)


def test_cosface_refuses_labels_outside_the_heads_classes_or_of_another_length():
    cos = np.zeros((4, 3), "float32")
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\).*from 0 to 3"):
        losses.cosface_loss(np.array([0, 1, 2, 3]), cos)
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        losses.cosface_loss(np.array([0, -1, 2, 1]), cos)
    with pytest.raises(ValueError, match="one label per row of cosines \\(4\\), got 3"):
        losses.cosface_loss(np.array([0, 1, 2]), cos)
    assert np.isfinite(keras.ops.convert_to_numpy(losses.cosface_loss(np.arange(4) % 3, cos))).all()


def _traced(fn):
    """``fn(labels, x)`` inside a tf.function whose batch size is unknown when traced, as in
    ``fit``: the labels have no values to check, only the graph can."""
    sig = [tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.float32)]
    return tf.function(lambda lab, x: fn(lab, x), input_signature=sig, reduce_retracing=True)


GRAPH_CASES = [   # (loss of (labels, x), good labels, x, bad labels, what is wrong)
    ("supcon", lambda lab, x: losses.supcon_loss(lab, x, 0.1), Y, EMB,
     np.zeros(8), "a single class"),
    ("supcon", lambda lab, x: losses.supcon_loss(lab, x, 0.1), Y, EMB,
     np.arange(8), "no class with 2 rows"),
    ("supcon", lambda lab, x: losses.supcon_loss(lab, x, 0.1), Y, EMB,
     Y[:1], "one label for 8 rows"),
    ("cosface", lambda lab, x: losses.cosface_loss(lab, x, 16.0, 0.2), np.arange(8) % 3,
     np.tanh(EMB[:, :3]), np.array([0, 1, 2, 3, 0, 1, 2, 0]), "a class id past the head"),
    ("cosface", lambda lab, x: losses.cosface_loss(lab, x, 16.0, 0.2), np.arange(8) % 3,
     np.tanh(EMB[:, :3]), np.array([0, -1, 2, 1, 0, 1, 2, 0]), "a negative class id"),
    ("cosface", lambda lab, x: losses.cosface_loss(lab, x, 16.0, 0.2), np.arange(8) % 3,
     np.tanh(EMB[:, :3]), np.array([1]), "one label for 8 rows"),
    ("prototypical", lambda lab, x: losses.prototypical_loss(lab, x, 2), np.repeat([0, 1], 4),
     EMB, np.array([0, 0, 0, 0, 0, 1, 1, 1]), "shots=2 leaves class 1 one query"),
    ("prototypical", lambda lab, x: losses.prototypical_loss(lab, x, 2),
     np.repeat([0, 1], 4), EMB, np.array([0, 0, 0, 0, 0, 0, 1, 1]),
     "shots=2 leaves class 1 no query"),
    ("prototypical", lambda lab, x: losses.prototypical_loss(lab, x, 1),
     np.repeat([0, 1], 4), EMB, np.zeros(8), "a single class"),
]


@pytest.mark.parametrize(("name", "fn", "good", "x", "bad", "why"), GRAPH_CASES,
                         ids=[f"{c[0]}-{c[5]}" for c in GRAPH_CASES])
def test_label_checks_hold_inside_a_traced_graph(name, fn, good, x, bad, why):
    x = x.astype("float32")
    if why != "shots=2 leaves class 1 one query":         # eagerly each is a ValueError
        with pytest.raises(ValueError, match="labels|class|rows|shots"):
            fn(np.asarray(bad), x)
    traced = _traced(fn)
    want = keras.ops.convert_to_numpy(fn(np.asarray(good), x))
    got = traced(tf.constant(good, tf.int32), tf.constant(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)     # good labels: unchanged
    assert np.isfinite(got).all()
    marked = traced(tf.constant(bad, tf.int32), tf.constant(x)).numpy()
    if why == "shots=2 leaves class 1 one query":          # a valid batch: a finite loss
        assert np.isfinite(marked).all()
    else:
        assert marked.size and np.isnan(marked).all(), (why, marked)


def test_bad_labels_turn_fit_loss_nan_and_good_ones_do_not():
    def fit(labels):
        keras.utils.set_random_seed(0)
        inp = keras.Input((5,))
        out = losses.CosineClassifier(3)(keras.layers.Dense(4)(inp))
        model = keras.Model(inp, out)
        model.compile(optimizer="adam", loss=losses.CosFaceLoss(16.0, 0.2))
        return model.fit(EMB, labels, epochs=1, batch_size=8, verbose=0).history["loss"][0]

    assert np.isfinite(fit(Y % 3))
    assert np.isnan(fit(np.where(Y % 3 == 2, 3, Y % 3)))   # class id 3 of a 3-class head


def test_cosine_head_keeps_its_centres_initializer_through_its_config():
    shorter = keras.initializers.VarianceScaling(0.01, "fan_avg", "uniform")   # Glorot / 10
    head = losses.CosineClassifier(6, shorter)
    head.build((None, 4))
    again = losses.CosineClassifier.from_config(head.get_config())
    again.build((None, 4))
    default = losses.CosineClassifier(6)
    default.build((None, 4))
    limit = np.sqrt(6 / (4 + 6))                      # Glorot-uniform's bound for 4 x 6
    for layer, bound in ((head, limit / 10), (again, limit / 10), (default, limit)):
        centres = keras.ops.convert_to_numpy(layer.centres)
        assert np.abs(centres).max() <= bound and np.abs(centres).max() > bound / 2
    with pytest.raises(ValueError, match="initializer"):
        losses.CosineClassifier(6, "no such initializer")
