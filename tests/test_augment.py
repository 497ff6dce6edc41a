"""Koch's random affine distortions: geometry, ranges, reproducibility, serialisation, bad input."""

import math

import keras
import numpy as np
import pytest

from course_lib.augment import RandomAffine, warp


def _params(theta=0.0, shx=0.0, shy=0.0, sx=1.0, sy=1.0, tx=0.0, ty=0.0):
    return np.array([[theta, shx, shy, sx, sy, tx, ty]], np.float32)


@pytest.fixture
def stroke():
    """A 9x9 image with an L-shaped stroke, not symmetric under rotation or shift."""
    img = np.zeros((1, 9, 9), np.float32)
    img[0, 2:7, 3] = 1.0
    img[0, 6, 3:6] = 1.0
    return img


def test_identity_and_integer_shift(stroke):
    np.testing.assert_allclose(warp(stroke[..., None], _params()).numpy()[..., 0], stroke,
                               atol=1e-6)
    moved = warp(stroke[..., None], _params(tx=2.0, ty=-1.0)).numpy()[0, ..., 0]
    expected = np.zeros((9, 9), np.float32)
    expected[1:6, 5] = 1.0
    expected[5, 5:8] = 1.0
    np.testing.assert_allclose(moved, expected, atol=1e-6)


def test_quarter_turn_about_the_centre(stroke):
    turned = warp(stroke[..., None], _params(theta=math.pi / 2)).numpy()[0, ..., 0]
    # x' = -y, y' = x about the centre (x to the right, y down): np.rot90 clockwise.
    np.testing.assert_allclose(turned, np.rot90(stroke[0], k=-1), atol=1e-5)


def test_no_distortion_when_switched_off(stroke):
    for layer in (RandomAffine(strength=0.0), RandomAffine(probability=0.0)):
        np.testing.assert_allclose(layer(stroke).numpy(), stroke, atol=1e-6)


def test_parameters_stay_in_the_paper_ranges():
    layer = RandomAffine()
    p = layer.sample_params(np.array([0, 1]), 4000, 105, 105).numpy()
    assert np.abs(p[:, 0]).max() <= math.radians(10) + 1e-6
    assert np.abs(p[:, 1:3]).max() <= 0.3 + 1e-6
    assert np.abs(p[:, 3:5] - 1).max() <= 0.2 + 1e-6
    assert np.abs(p[:, 5:7]).max() <= 2.0 + 1e-5  # pixels of 105
    on = np.stack([p[:, 0] != 0, p[:, 1] != 0, p[:, 3] != 1, p[:, 5] != 0], axis=1)
    assert 0.45 < on.mean() < 0.55  # each component switched on with probability 1/2
    np.testing.assert_array_equal(p[:, 1] != 0, p[:, 2] != 0)  # shear x and y go together


def test_reproducible_per_batch_and_seed():
    rng = np.random.default_rng(0)
    batch = rng.random((6, 20, 20)).astype(np.float32)
    other = rng.random((6, 20, 20)).astype(np.float32)
    layer = RandomAffine(probability=1.0, seed=3)
    first = layer(batch).numpy()
    np.testing.assert_array_equal(first, RandomAffine(probability=1.0, seed=3)(batch).numpy())
    assert not np.allclose(first, RandomAffine(probability=1.0, seed=4)(batch).numpy())
    assert not np.allclose(first, batch)
    # The same image met in another batch gets another distortion.
    mixed = np.concatenate([batch[:1], other[1:]])
    assert not np.allclose(layer(mixed).numpy()[0], first[0])
    assert layer(batch[..., None]).shape == (6, 20, 20, 1)


def test_config_round_trip():
    layer = RandomAffine(rotation=5.0, shear=0.1, scale=0.1, translation=0.05, probability=0.7,
                         strength=1.5, seed=2)
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(clone, RandomAffine)
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"rotation": -1}, ValueError, "rotation"),
    ({"shear": "big"}, TypeError, "shear"),
    ({"scale": 1.0}, ValueError, "scale"),
    ({"probability": 1.5}, ValueError, "probability"),
    ({"strength": float("nan")}, ValueError, "strength"),
    ({"scale": 0.5, "strength": 2.0}, ValueError, "strength \\* scale"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 0.5}, TypeError, "seed"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        RandomAffine(**kwargs)


def test_bad_image_shape():
    with pytest.raises(ValueError, match="images"):
        RandomAffine()(np.zeros((20, 20), np.float32))


def test_public_affine_transform_matches_the_raw_op_it_replaced():
    # warp now calls keras.ops.image.affine_transform; TensorFlow's own projective transform
    # (what it called before) must give the same pixels for the same matrices, on mixed maps.
    import tensorflow as tf

    from course_lib.augment import affine_matrices

    rng = np.random.default_rng(0)
    images = rng.random((5, 17, 13, 1)).astype(np.float32)
    params = np.column_stack([rng.uniform(-0.5, 0.5, 5), rng.uniform(-0.3, 0.3, (5, 2)),
                              rng.uniform(0.8, 1.2, (5, 2)), rng.uniform(-2.5, 2.5, (5, 2))])
    inverse = tf.linalg.inv(affine_matrices(params, 17, 13))
    inverse = inverse / inverse[:, 2:3, 2:3]
    raw = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=tf.reshape(inverse, [-1, 9])[:, :8],
        output_shape=tf.constant([17, 13], tf.int32), fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT")
    np.testing.assert_allclose(warp(images, params).numpy(), raw.numpy(), atol=1e-5)


def test_identity_at_inference_inside_a_model(stroke):
    # Keras convention: a random augmentation layer distorts in training only, so a model that
    # contains it predicts on the images as they are.
    layer = RandomAffine(probability=1.0, seed=1)
    inputs = keras.Input((9, 9))
    model = keras.Model(inputs, layer(inputs))
    np.testing.assert_array_equal(model.predict(stroke, verbose=0), stroke)
    np.testing.assert_array_equal(model(stroke, training=False).numpy(), stroke)
    assert not np.allclose(model(stroke, training=True).numpy(), stroke)
    assert not np.allclose(layer(stroke).numpy(), stroke)  # called alone: distorts (default)


def test_distorts_inside_a_pair_pipeline_reproducibly():
    from course_lib import pairs

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 6)
    x = rng.random((24, 12, 12)).astype(np.float32)

    def batches():
        data = pairs.pair_dataset(x, y, batch_size=8, seed=0, steps=2,
                                  augment=RandomAffine(probability=1.0, seed=5))
        return [b for (b, _), _ in data.as_numpy_iterator()]

    first = batches()
    plain = [a for (a, _), _ in pairs.pair_dataset(x, y, batch_size=8, seed=0,
                                                   steps=2).as_numpy_iterator()]
    assert len(first) == 2 and first[0].shape == (8, 12, 12)
    np.testing.assert_array_equal(first[0], batches()[0])
    assert not np.allclose(first[0], plain[0])
