"""Distance layers and losses: values, gradients at d = 0, label checks, .keras round trips."""

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
        with pytest.raises(ValueError, match="y_true must contain only 0 and 1"):
            losses.ContrastiveLoss()(labels, d)
    with pytest.raises(TypeError, match="labels"):
        losses.contrastive_loss(np.array(["0", "1"]), d)
    # check_labels=False switches the check off: label 2 then counts as "not similar" terms.
    assert np.isfinite(losses.ContrastiveLoss(check_labels=False)([0.0, 2.0], d).numpy())
    # Inside a graph the values are unknown at call time: the function cannot check them (the
    # documented limit) while the Keras loss still fails through a graph assertion.
    traced = tf.function(lambda y: losses.contrastive_loss(y, d))
    assert traced(tf.constant([0.0, 3.0])).shape == (2,)
    with pytest.raises(tf.errors.InvalidArgumentError, match="0 or 1"):
        tf.function(lambda y: losses.ContrastiveLoss()(y, d))(tf.constant([0.0, 3.0]))


def test_triplet_loss():
    out = losses.triplet_loss(np.array([0.5, 2.0]), np.array([1.0, 1.0]), margin=1.0).numpy()
    np.testing.assert_allclose(out, [0.5, 2.0])
    stacked = np.array([[0.5, 1.0], [2.0, 1.0]], np.float32)
    assert losses.TripletLoss(margin=1.0)(np.zeros(2), stacked).numpy() == pytest.approx(1.25)


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
