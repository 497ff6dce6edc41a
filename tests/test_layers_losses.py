"""Distance layers and the pair, triplet and N-way losses: values against NumPy references,
gradients at d = 0, label checks, ``losses.get``, .keras round trips."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import layers, losses, models


def test_euclidean_distance_values_and_epsilon():
    a = np.array([[0.0, 0.0], [1.0, 1.0]], np.float32)
    b = np.array([[3.0, 4.0], [1.0, 1.0]], np.float32)
    d = layers.EuclideanDistance(epsilon=0.0)([a, b]).numpy()
    np.testing.assert_allclose(d[:, 0], [5.0, 0.0])
    d_fixed = layers.EuclideanDistance(epsilon=1e-6)([a, b]).numpy()
    np.testing.assert_allclose(d_fixed[:, 0], [np.sqrt(25 + 1e-6), 1e-3], rtol=1e-5)
    squared = layers.EuclideanDistance(squared=True)([a, b]).numpy()
    np.testing.assert_allclose(squared[:, 0], [25.0, 0.0])


def _grad_at_coincident_points(epsilon):
    a = tf.Variable([[0.5, -0.5]])
    b = tf.constant([[0.5, -0.5]])
    with tf.GradientTape() as tape:
        d = layers.EuclideanDistance(epsilon=epsilon)([a, b])
        loss = losses.contrastive_loss(tf.constant([0.0]), d, margin=1.0)
    return tape.gradient(loss, a).numpy()


def test_naive_distance_gives_nan_gradient_and_fix_is_finite():
    assert np.isnan(_grad_at_coincident_points(0.0)).all()
    assert np.isfinite(_grad_at_coincident_points(1e-6)).all()


def test_contrastive_loss_terms_and_label_conventions():
    d = np.array([0.2, 0.2, 1.5, 1.5], np.float32)
    similar_is_one = np.array([1, 0, 1, 0], np.float32)
    out = losses.contrastive_loss(similar_is_one, d, margin=1.0).numpy()
    np.testing.assert_allclose(out, [0.5 * 0.04, 0.5 * 0.64, 0.5 * 2.25, 0.0], rtol=1e-6)
    hadsell = losses.contrastive_loss(1 - similar_is_one, d, margin=1.0, similar_label=0).numpy()
    np.testing.assert_allclose(hadsell, out, rtol=1e-6)
    keras_loss = losses.ContrastiveLoss(margin=1.0)(similar_is_one, d[:, None]).numpy()
    assert keras_loss == pytest.approx(out.mean(), rel=1e-6)


@pytest.mark.parametrize("bad", [dict(margin=0), dict(margin=-1.0), dict(similar_label=2)])
def test_contrastive_loss_rejects_bad_arguments(bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        losses.ContrastiveLoss(**bad)
    with pytest.raises(ValueError, match=name):
        losses.contrastive_loss([1.0], [0.5], **bad)


def test_contrastive_loss_rejects_class_ids_as_labels():
    d = np.array([[0.1], [0.2]], np.float32)
    for labels in (np.array([0.0, 3.0]), [1, 2], tf.constant([0.0, -1.0])):
        with pytest.raises(ValueError, match="labels must contain only 0 and 1"):
            losses.contrastive_loss(labels, d)
        with pytest.raises(ValueError, match="labels must contain only 0 and 1"):
            losses.ContrastiveLoss()(labels, d)
    with pytest.raises(TypeError, match="labels"):
        losses.contrastive_loss(np.array(["0", "1"]), d)
    # check_labels=False switches the check off: label 2 then counts as "not similar" terms.
    assert np.isfinite(losses.ContrastiveLoss(check_labels=False)([0.0, 2.0], d).numpy())
    # Inside a graph the values are unknown at call time: the pair with label 3 costs NaN (with
    # or without XLA), the other pair its usual loss; check_labels=False turns that off.
    eager = losses.contrastive_loss([0.0, 1.0], d).numpy()
    for jit in (False, True):
        traced = tf.function(lambda y: losses.contrastive_loss(y, d), jit_compile=jit)
        out = traced(tf.constant([0.0, 3.0])).numpy()
        assert out.shape == (2,) and out[0] == eager[0] and np.isnan(out[1]), (jit, out)
        keras_loss = tf.function(lambda y: losses.ContrastiveLoss()(y, d), jit_compile=jit)
        assert np.isnan(keras_loss(tf.constant([0.0, 3.0])).numpy()), jit
        np.testing.assert_allclose(keras_loss(tf.constant([0.0, 1.0])).numpy(), eager.mean(),
                                   rtol=1e-6)
    unchecked = tf.function(lambda y: losses.contrastive_loss(y, d, check_labels=False))
    assert np.isfinite(unchecked(tf.constant([0.0, 3.0])).numpy()).all()


def test_contrastive_label_marking_leaves_the_gradient_unchanged():
    labels = tf.constant([1.0, 0.0, 0.0])
    d = tf.Variable([[0.3], [0.4], [2.0]])

    def grad(check):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.function(
                lambda y: losses.contrastive_loss(y, d, margin=1.0, check_labels=check))(labels))
        return tape.gradient(loss, d).numpy()

    # NumPy reference: d(0.5 d^2)/dd = d (similar); d(0.5 (m - d)^2)/dd = d - m below the margin
    want = np.array([[0.3], [0.4 - 1.0], [0.0]]) / 3
    np.testing.assert_allclose(grad(True), want, rtol=1e-6)
    np.testing.assert_array_equal(grad(True), grad(False))


def test_triplet_loss():
    out = losses.triplet_loss(np.array([0.5, 2.0]), np.array([1.0, 1.0]), margin=1.0).numpy()
    np.testing.assert_allclose(out, [0.5, 2.0])
    stacked = np.array([[0.5, 1.0], [2.0, 1.0]], np.float32)
    assert losses.TripletLoss(margin=1.0)(np.zeros(2), stacked).numpy() == pytest.approx(1.25)


def test_get_makes_each_loss_by_name_and_lists_the_names_on_a_mistake():
    made = {name: losses.get(name) for name in
            ("contrastive", "triplet", "batch_all", "batch_hard", "semi_hard", "n_way")}
    assert [type(obj).__name__ for obj in made.values()] == [
        "ContrastiveLoss", "TripletLoss", "BatchAllTripletLoss", "BatchHardTripletLoss",
        "SemiHardTripletLoss", "NWayLoss"]
    assert losses.get("batch_hard", margin=0.2, squared=True).get_config() == \
        losses.BatchHardTripletLoss(margin=0.2, squared=True).get_config()
    assert losses.get("n_way", n_way=5).n_way == 5
    with pytest.raises(ValueError, match=r"name must be one of .*'contrastive'.*'n_way'.*'hard'"):
        losses.get("hard")
    with pytest.raises(TypeError, match="name must be a str"):
        losses.get(losses.ContrastiveLoss)
    with pytest.raises(TypeError, match="n_way"):
        losses.get("contrastive", n_way=3)
    with pytest.raises(ValueError, match="margin"):
        losses.get("triplet", margin=0.0)


def test_weighted_l1_similarity_holds_its_weights_and_matches_numpy():
    layer = layers.WeightedL1Similarity()
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 6)).astype(np.float32), rng.normal(size=(4, 6)).astype(np.float32)
    out = layer([a, b]).numpy()
    assert not layer._layers, "WeightedL1Similarity must not create sublayers"
    assert [w.name for w in layer.weights] == ["alpha", "bias"]
    assert layer.alpha.shape == (6, 1) and np.all(layer.bias.numpy() == 0)
    alpha, bias = (w.numpy() for w in layer.weights)
    want = 1 / (1 + np.exp(-(np.abs(a - b) @ alpha + bias)))
    np.testing.assert_allclose(out, want, rtol=1e-6)


def test_distance_layers_reject_a_single_input():
    with pytest.raises(TypeError, match="inputs"):
        layers.EuclideanDistance()(tf.zeros((2, 3)))
    with pytest.raises(ValueError, match="inputs"):
        layers.EuclideanDistance()([tf.zeros((2, 3))] * 3)
    with pytest.raises(TypeError, match="epsilon"):
        layers.EuclideanDistance(epsilon="small")
    with pytest.raises(ValueError, match="epsilon"):
        layers.EuclideanDistance(epsilon=-1)


@pytest.mark.parametrize("head,loss", [("euclidean", losses.ContrastiveLoss(margin=2.0)),
                                       ("koch", "binary_crossentropy")])
@pytest.mark.slow
def test_keras_file_round_trip(tmp_path, head, loss):
    keras.utils.set_random_seed(0)
    model = models.siamese(models.small_cnn_encoder(embedding_dim=8), head=head)
    model.compile(optimizer="adam", loss=loss)
    x = np.random.default_rng(0).random((16, 28, 28)).astype("float32")
    model.fit([x, x[::-1]], np.arange(16) % 2, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict([x, x[::-1]], verbose=0),
                               model.predict([x, x[::-1]], verbose=0), rtol=1e-5, atol=1e-6)
    if head == "euclidean":
        assert loaded.loss.margin == 2.0


def test_l2_normalize_is_a_deprecated_alias_of_unit_normalization():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], np.float32)
    with pytest.warns(DeprecationWarning, match="UnitNormalization"):
        layer = layers.L2Normalize()
    assert isinstance(layer, keras.layers.UnitNormalization)
    out = layer(x).numpy()
    np.testing.assert_allclose(out, keras.layers.UnitNormalization()(x).numpy())
    np.testing.assert_allclose(out[0], [0.6, 0.8], rtol=1e-6)
    assert np.isfinite(out).all()
    # an old config (with epsilon) still builds the layer
    with pytest.warns(DeprecationWarning):
        again = layers.L2Normalize.from_config({**layer.get_config(), "epsilon": 1e-12})
    np.testing.assert_allclose(again(x).numpy(), out)


# --------------------------------------------------------------------------- N-way loss


def _reference_n_way_loss(emb, n_way):
    """The loss in plain NumPy, one episode and one row at a time."""
    out = []
    for episode in emb.reshape(-1, 2, n_way, emb.shape[1]):
        anchors, candidates = episode
        logits = -((anchors[:, None, :] - candidates[None, :, :]) ** 2).sum(axis=2)
        row = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        col = logits - np.log(np.exp(logits).sum(axis=0, keepdims=True))
        out.append(np.concatenate([-np.diag(row), -np.diag(col)]))
    return np.concatenate(out)


def test_n_way_loss_agrees_with_a_numpy_reference():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(3 * 2 * 5, 4)).astype(np.float32)
    expected = _reference_n_way_loss(emb.astype(np.float64), 5)
    np.testing.assert_allclose(np.asarray(losses.n_way_loss(emb, 5)), expected, rtol=1e-5)
    loss = losses.NWayLoss(n_way=5)
    np.testing.assert_allclose(float(loss(np.zeros(30), emb)), expected.mean(), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(losses.NWayLoss(5, reduction=None)(np.zeros(30), emb)),
                               expected, rtol=1e-5)
    # n_way=None: the whole batch is one 15-way episode
    np.testing.assert_allclose(float(losses.NWayLoss()(np.zeros(30), emb)),
                               _reference_n_way_loss(emb.astype(np.float64), 15).mean(),
                               rtol=1e-5)


def test_n_way_loss_is_log_n_at_equal_embeddings_with_a_finite_gradient():
    emb = tf.Variable(np.ones((2 * 2 * 4, 3), np.float32))
    with tf.GradientTape() as tape:
        value = losses.NWayLoss(n_way=4)(np.zeros(16), emb)
    grad = tape.gradient(value, emb)
    np.testing.assert_allclose(float(value), np.log(4), rtol=1e-6)
    assert np.isfinite(grad.numpy()).all()


def test_n_way_loss_refuses_a_batch_of_broken_episodes():
    with pytest.raises(ValueError, match="2 \\* n_way"):
        losses.n_way_loss(np.zeros((10, 3), np.float32), 4)
    with pytest.raises(ValueError, match="n_way"):
        losses.NWayLoss(n_way=1)
    with pytest.raises(TypeError, match="n_way"):
        losses.NWayLoss(n_way=2.0)
    with pytest.raises(ValueError, match="2-D"):
        losses.n_way_loss(np.zeros((4,), np.float32), 2)
