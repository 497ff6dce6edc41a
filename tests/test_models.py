"""Encoders and Siamese builders: shapes, weight sharing, distinct weights, bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import layers, models


@pytest.mark.parametrize("build,shape", [
    (lambda: models.mlp_encoder(), (28, 28)),
    (lambda: models.small_cnn_encoder(), (28, 28)),
    (lambda: models.five_conv_encoder(), (28, 28)),
    (lambda: models.small_cnn_encoder(input_shape=(8, 8)), (8, 8)),
    (lambda: models.koch_encoder(input_size=28, embedding_dim=16, width=0.25), (28, 28)),
    (lambda: models.conv4_encoder(embedding_dim=16), (28, 28)),
])
def test_encoders_map_images_to_embeddings(build, shape):
    encoder = build()
    out = encoder(np.zeros((3, *shape), np.float32))
    assert out.shape[0] == 3 and out.shape[1] in (2, 16)


def test_koch_encoder_matches_the_paper_at_105():
    encoder = models.koch_encoder()
    convs = [layer for layer in encoder.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size[0]) for c in convs] == [(64, 10), (128, 7), (128, 4), (256, 4)]
    assert encoder.output_shape == (None, 4096)
    assert encoder.get_layer("embedding").input.shape[-1] == 6 * 6 * 256


def test_conv4_encoder_is_four_conv_bn_relu_pool_blocks():
    encoder = models.conv4_encoder()
    kinds = [type(layer).__name__ for layer in encoder.layers]
    assert kinds.count("Conv2D") == 4 and kinds.count("BatchNormalization") == 4
    assert kinds.count("MaxPooling2D") == 4 and encoder.output_shape == (None, 256)
    plain = models.conv4_encoder(batch_norm=False, filters=32)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)
    with pytest.raises(ValueError, match="too small"):
        models.conv4_encoder((8, 8))
    with pytest.raises(TypeError, match="batch_norm"):
        models.conv4_encoder(batch_norm=1)


def test_siamese_shares_one_set_of_weights():
    encoder = models.mlp_encoder(hidden=32)
    model = models.siamese(encoder)
    assert {id(v) for v in model.trainable_variables} == {id(v) for v in encoder.trainable_variables}
    assert model.count_params() == encoder.count_params()


def test_pseudo_siamese_has_two_sets_of_weights():
    a, b = models.mlp_encoder(hidden=32, name="a"), models.mlp_encoder(hidden=32, name="b")
    model = models.pseudo_siamese(a, b)
    assert model.count_params() == 2 * a.count_params()
    mixed = models.pseudo_siamese(models.mlp_encoder((28, 28), hidden=32),
                                  models.mlp_encoder((8, 8), hidden=16, name="small"))
    out = mixed([np.zeros((2, 28, 28), np.float32), np.zeros((2, 8, 8), np.float32)])
    assert out.shape == (2, 1)


def test_shared_gradient_is_the_sum_of_both_branches():
    keras.utils.set_random_seed(1)
    encoder = models.mlp_encoder(hidden=16)
    model = models.siamese(encoder, head=layers.EuclideanDistance(squared=True))
    rng = np.random.default_rng(0)
    a, b = (rng.random((4, 28, 28)).astype("float32") for _ in range(2))
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(model([a, b]))
    shared = tape.gradient(total, encoder.trainable_variables)
    ea, eb = encoder(a), encoder(b)
    # d(loss)/dW through branch a only: treat eb as a constant, and vice versa.
    with tf.GradientTape() as ta:
        la = tf.reduce_sum(tf.square(encoder(a) - tf.stop_gradient(eb)))
    with tf.GradientTape() as tb:
        lb = tf.reduce_sum(tf.square(tf.stop_gradient(ea) - encoder(b)))
    g_a, g_b = ta.gradient(la, encoder.trainable_variables), tb.gradient(lb, encoder.trainable_variables)
    for s, x, y in zip(shared, g_a, g_b):
        np.testing.assert_allclose(s.numpy(), (x + y).numpy(), rtol=1e-4, atol=1e-6)
        assert np.abs(x.numpy()).sum() > 0 and np.abs(y.numpy()).sum() > 0


def test_builders_reject_bad_input():
    with pytest.raises(ValueError, match="input_shape"):
        models.mlp_encoder(input_shape=(28, -1))
    with pytest.raises(ValueError, match="embedding_dim"):
        models.small_cnn_encoder(embedding_dim=0)
    with pytest.raises(ValueError, match="input_size"):
        models.koch_encoder(input_size=10)
    with pytest.raises(TypeError, match="encoder"):
        models.siamese("not a model")
    with pytest.raises(ValueError, match="head"):
        models.siamese(models.mlp_encoder(hidden=8), head="cosine?")
    enc = models.mlp_encoder(hidden=8)
    with pytest.raises(ValueError, match="siamese"):
        models.pseudo_siamese(enc, enc)
    with pytest.raises(ValueError, match="one size"):
        models.pseudo_siamese(models.mlp_encoder(hidden=8, embedding_dim=2),
                              models.mlp_encoder(hidden=8, embedding_dim=3, name="b"))
