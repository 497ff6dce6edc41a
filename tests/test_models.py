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


def test_kerasio_sigmoid_siamese_shares_its_encoder_and_outputs_a_probability():
    encoder, model = models.kerasio_sigmoid_siamese()
    assert encoder.output_shape == (None, 10)
    x = np.random.default_rng(0).random((4, 28, 28)).astype("float32")
    s = np.asarray(model([x, x[::-1]]))
    assert s.shape == (4, 1) and np.all((s > 0) & (s < 1))
    # one encoder: the model's weights are the encoder's plus two batch norm and one dense head
    assert len(model.trainable_weights) == len(encoder.trainable_weights) + 4
    with pytest.raises(ValueError, match="input_shape"):
        models.kerasio_sigmoid_siamese(input_shape=(28, 0))


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


def _one_dot(row, col, size=7):
    image = np.zeros((1, size, size), np.float32)
    image[0, row, col] = 1.0
    return image


def test_shifted_views_move_the_content_and_view_mean_undoes_the_stacking():
    views = layers.ShiftedViews([(0, 0), (1, 0), (0, -2)])(_one_dot(3, 3))
    assert views.shape == (3, 7, 7)
    dots = [tuple(int(i) for i in np.argwhere(np.asarray(v))[0]) for v in views]
    assert dots == [(3, 3), (4, 3), (3, 1)]           # down one row; left two columns
    gone = layers.ShiftedViews([(0, 1)])(_one_dot(3, 6))
    assert float(np.asarray(gone).sum()) == 0.0        # moved out of the image: zeros come in
    x = np.arange(12, dtype=np.float32).reshape(6, 2)  # 3 views of a batch of 2
    np.testing.assert_allclose(layers.ViewMean(3)(x), [[4, 5], [6, 7]])


def test_shift_averaged_is_the_mean_embedding_over_the_five_views():
    encoder = models.mlp_encoder((7, 7), embedding_dim=3, hidden=8)
    x = np.random.default_rng(0).random((4, 7, 7)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    moved = [padded[:, 1 - dy:8 - dy, 1 - dx:8 - dx] for dy, dx in
             [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]]
    expected = np.mean([np.asarray(encoder(m)) for m in moved], axis=0)
    averaged = models.shift_averaged(encoder)
    np.testing.assert_allclose(averaged(x), expected, rtol=1e-5, atol=1e-6)
    assert averaged.output_shape == encoder.output_shape
    assert len(models.shift_averaged(encoder, max_shift=2).get_layer("shifted_views").offsets) == 9


def test_ensemble_puts_the_embeddings_side_by_side(tmp_path):
    a = models.mlp_encoder((7, 7), embedding_dim=3, hidden=8, name="a")
    b = models.mlp_encoder((7, 7), embedding_dim=2, hidden=8, name="b")
    both = models.ensemble([a, b])
    x = np.random.default_rng(1).random((5, 7, 7)).astype(np.float32)
    np.testing.assert_allclose(both(x), np.hstack([a(x), b(x)]), rtol=1e-6)
    d2 = lambda e: ((np.asarray(e)[0] - np.asarray(e)[1]) ** 2).sum()  # noqa: E731
    np.testing.assert_allclose(d2(both(x)), d2(a(x)) + d2(b(x)), rtol=1e-5)
    path = tmp_path / "ensemble.keras"
    models.shift_averaged(both).save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(reloaded(x), models.shift_averaged(both)(x), rtol=1e-6)


def test_ensemble_and_shift_averaged_reject_bad_input():
    a = models.mlp_encoder((7, 7), hidden=8, name="a")
    with pytest.raises(TypeError, match="encoders must be a list"):
        models.ensemble(a)
    with pytest.raises(ValueError, match="at least two"):
        models.ensemble([a])
    with pytest.raises(ValueError, match="same model twice"):
        models.ensemble([a, a])
    with pytest.raises(ValueError, match="distinct names"):
        models.ensemble([a, models.mlp_encoder((7, 7), hidden=8, name="a")])
    with pytest.raises(ValueError, match="one input shape"):
        models.ensemble([a, models.mlp_encoder((8, 8), hidden=8, name="b")])
    with pytest.raises(TypeError, match="encoders\\[1\\]"):
        models.ensemble([a, "b"])
    with pytest.raises(TypeError, match="encoder must be a one-input"):
        models.shift_averaged(models.siamese(a))
    with pytest.raises(ValueError, match="offsets must be distinct"):
        layers.ShiftedViews([(0, 0), (0, 0)])
    with pytest.raises(ValueError, match="offsets\\[1\\] must be a"):
        layers.ShiftedViews([(0, 0), (1, 2, 3)])
    with pytest.raises(ValueError, match="nothing would remain"):
        layers.ShiftedViews([(0, 7)])(_one_dot(3, 3))


# --- pretrained_encoder / set_backbone_trainable (weights=None: no download in tests) ---------


def test_pretrained_encoder_builds_embeds_and_keeps_the_backbone_frozen_until_asked():
    keras.utils.set_random_seed(0)
    enc = models.pretrained_encoder((32, 32, 3), embedding_dim=8, weights=None)
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    assert tuple(enc(x).shape) == (2, 8)
    np.testing.assert_allclose(np.linalg.norm(enc(x).numpy(), axis=1), 1.0, rtol=1e-5)
    raw = models.pretrained_encoder((32, 32, 3), embedding_dim=8, weights=None, normalize=False)
    assert not np.allclose(np.linalg.norm(raw(x).numpy(), axis=1), 1.0)
    backbone = enc.get_layer(models.BACKBONE_LAYER)
    assert not backbone.trainable_weights
    # only the embedding layer learns in the frozen phase
    assert {w.path.split("/")[0] for w in enc.trainable_weights} == {"embedding"}
    n_all = models.set_backbone_trainable(enc, True)
    n_last = models.set_backbone_trainable(enc, True, last=5)
    assert 0 < n_last < n_all
    # batch-norm layers stay frozen even when the backbone is fine-tuned
    bns = [la for la in backbone.layers if isinstance(la, keras.layers.BatchNormalization)]
    assert bns and not any(la.trainable for la in bns)
    assert models.set_backbone_trainable(enc, False) == 0


def test_pretrained_encoder_accepts_grayscale_and_fine_tuning_changes_backbone_weights():
    keras.utils.set_random_seed(0)
    enc = models.pretrained_encoder((32, 32), embedding_dim=4, weights=None)
    x = np.random.default_rng(1).uniform(size=(8, 32, 32)).astype("float32")
    y = np.random.default_rng(2).normal(size=(8, 4)).astype("float32")
    backbone = enc.get_layer(models.BACKBONE_LAYER)
    frozen_before = [w.numpy().copy() for w in backbone.weights]
    enc.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    enc.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(frozen_before, backbone.weights))
    models.set_backbone_trainable(enc, True)
    enc.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    enc.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert not all(np.array_equal(a, w.numpy()) for a, w in zip(frozen_before, backbone.weights))


def test_pretrained_encoder_offline_names_what_failed_and_how_to_proceed(monkeypatch):
    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/x.h5")
    monkeypatch.setattr(keras.applications, "MobileNetV3Small", no_network)
    with pytest.raises(RuntimeError, match=r"MobileNetV3Small.*URL fetch failure.*weights=None"):
        models.pretrained_encoder((32, 32, 3), weights="imagenet")


@pytest.mark.parametrize("kwargs,error", [
    ({"input_shape": (16, 16, 3)}, ValueError),
    ({"input_shape": (32, 32, 2)}, ValueError),
    ({"input_shape": 32}, TypeError),
    ({"backbone": "ResNet50"}, ValueError),
    ({"weights": "cifar"}, ValueError),
    ({"trainable": "yes"}, TypeError),
    ({"embedding_dim": 0}, ValueError),
    ({"normalize": 1}, TypeError),
])
def test_pretrained_encoder_rejects_bad_arguments(kwargs, error):
    args = {"input_shape": (32, 32, 3), "weights": None, **kwargs}
    with pytest.raises(error):
        models.pretrained_encoder(**args)


def test_set_backbone_trainable_rejects_models_without_a_backbone():
    with pytest.raises(ValueError, match="no layer named 'backbone'"):
        models.set_backbone_trainable(models.mlp_encoder((4,), 2), True)
    with pytest.raises(TypeError):
        models.set_backbone_trainable("model", True)


def test_pretrained_encoder_does_not_show_the_224_warning(monkeypatch):
    # Keras warns that a 64x64 input gets the weights trained at 224x224 (expected: not shown)
    import warnings

    real = keras.applications.MobileNetV3Small

    def warns_like_keras(**kwargs):
        warnings.warn("`input_shape` is undefined or non-square, or `rows` is not 224. Weights "
                      "for input shape (224, 224) will be loaded as the default.", UserWarning, stacklevel=2)
        return real(**{**kwargs, "weights": None})
    monkeypatch.setattr(keras.applications, "MobileNetV3Small", warns_like_keras)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        enc = models.pretrained_encoder((64, 64, 3), embedding_dim=4, weights="imagenet")
    assert enc.output_shape == (None, 4)
    assert not [w for w in seen if "non-square" in str(w.message)]
