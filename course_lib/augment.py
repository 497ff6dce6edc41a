"""Random affine distortions of images, as Koch, Zemel and Salakhutdinov (2015) used on Omniglot.

Koch et al. enlarged their training pairs with small random affine transforms: a rotation of
up to 10 degrees, a shear of up to 0.3, a scale between 0.8 and 1.2 on each axis and a
translation of up to 2 pixels (of 105), each component switched on with probability 1/2.
:class:`RandomAffine` draws such a transform per image, on the fly, inside a ``tf.data``
pipeline (pass it as ``augment=`` to :func:`course_lib.pairs.pair_dataset`).

Reproducible without a random state: the transforms of a batch are drawn with stateless random
ops keyed by the layer's ``seed`` and a fingerprint of the batch's pixels. Same seed, same batch
in, same distorted batch out, whatever the parallelism of the pipeline; different batches (and
so the same drawing met again in another batch) get different distortions. A stateful random
generator would instead force ``tf.data`` to run the map serially once op determinism is on.

Introduced in notebook 06.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from course_lib import PACKAGE, checks

__all__ = ["RandomAffine", "affine_matrices", "warp"]


def affine_matrices(params, height: int, width: int) -> tf.Tensor:
    """Forward 3x3 affine maps (B, 3, 3) about the image centre, in pixel coordinates (x, y).

    ``params`` (B, 7) holds per image: rotation (radians), shear x, shear y, scale x, scale y,
    shift x, shift y (pixels). The map is ``shift * rotate * shear * scale``, applied about the
    centre, so a pure rotation or scale keeps the centre in place.

    Args:
        params: (B, 7) transform parameters.
        height: image height in pixels.
        width: image width in pixels.

    Returns:
        A float32 tensor (B, 3, 3) mapping input pixel coordinates to output ones.
    """
    params = tf.convert_to_tensor(params, tf.float32)
    theta, shx, shy, sx, sy, tx, ty = tf.unstack(params, axis=-1)
    one, zero = tf.ones_like(theta), tf.zeros_like(theta)

    def matrix(rows):
        return tf.stack([tf.stack(r, axis=-1) for r in rows], axis=-2)

    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    cos, sin = tf.cos(theta), tf.sin(theta)
    to_centre = matrix([[one, zero, -cx * one], [zero, one, -cy * one], [zero, zero, one]])
    scale = matrix([[sx, zero, zero], [zero, sy, zero], [zero, zero, one]])
    shear = matrix([[one, shx, zero], [shy, one, zero], [zero, zero, one]])
    rotate = matrix([[cos, -sin, zero], [sin, cos, zero], [zero, zero, one]])
    back = matrix([[one, zero, cx + tx], [zero, one, cy + ty], [zero, zero, one]])
    return back @ rotate @ shear @ scale @ to_centre


def warp(images, params) -> tf.Tensor:
    """Apply the affine maps of ``params`` (see :func:`affine_matrices`) to a batch of images.

    Bilinear sampling with ``keras.ops.image.affine_transform``; zeros (no ink) where the
    source falls outside the image.

    Args:
        images: a batch (B, H, W, C), channels last.
        params: (B, 7) transform parameters, one row per image.

    Returns:
        The warped batch, same shape and dtype as ``images``.
    """
    images = tf.convert_to_tensor(images)
    height, width = images.shape[1], images.shape[2]
    forward = affine_matrices(params, height, width)
    # affine_transform maps each *output* pixel (x, y) to where it samples the input from, as
    # [a0, a1, a2, b0, b1, b2, c0, c1]: the inverse map, normalised so its last entry is 1.
    inverse = tf.linalg.inv(forward)
    inverse = inverse / inverse[:, 2:3, 2:3]
    transforms = tf.reshape(inverse, [-1, 9])[:, :8]
    out = keras.ops.image.affine_transform(
        tf.cast(images, tf.float32), transforms, interpolation="bilinear",
        fill_mode="constant", fill_value=0.0, data_format="channels_last")
    return tf.cast(out, images.dtype)


@keras.saving.register_keras_serializable(package=PACKAGE)
class RandomAffine(keras.layers.Layer):
    """Koch et al.'s random affine distortion of a batch of images (B, H, W) or (B, H, W, C).

    Per image and per component, with probability ``probability``: rotation uniform in
    +-``rotation`` degrees; shear uniform in +-``shear`` on each axis; scale uniform in
    1 +- ``scale`` on each axis; translation uniform in +-``translation`` times the image side on
    each axis. The defaults are the paper's (translation 2 px of 105). Pixels moved in from
    outside the image are 0 (no ink). ``strength`` multiplies every range at once (0 = identity).

    Called with ``seed`` (an int or a shape-(2,) int tensor) it uses that seed; otherwise the seed
    is ``(self.seed, fingerprint of the batch)``: deterministic, stateless, parallel-safe.
    Like Keras's own random layers it distorts only in training: inside a model, ``predict``
    and ``training=False`` pass the images through unchanged; called alone it distorts.

    Args:
        rotation: largest rotation in degrees, in [0, 180].
        shear: largest shear factor, >= 0.
        scale: largest relative scale change, in [0, 0.99].
        translation: largest shift as a fraction of the image side, in [0, 1].
        probability: chance that each component is switched on, in [0, 1].
        strength: multiplies every range, >= 0 (``strength * scale`` must stay < 1).
        seed: an int >= 0.
        **kwargs: passed to ``keras.layers.Layer``.

    Raises:
        TypeError: a non-numeric range or a non-int seed.
        ValueError: a value outside its range; at call time, images that are not a batch
            (B, H, W) or (B, H, W, C) with a static height and width.
    """

    def __init__(self, rotation: float = 10.0, shear: float = 0.3, scale: float = 0.2,
                 translation: float = 2 / 105, probability: float = 0.5, strength: float = 1.0,
                 seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.rotation = checks.number(rotation, "rotation", 0.0, 180.0)
        self.shear = checks.number(shear, "shear", 0.0)
        self.scale = checks.number(scale, "scale", 0.0, 0.99)
        self.translation = checks.number(translation, "translation", 0.0, 1.0)
        self.probability = checks.probability(probability, "probability")
        self.strength = checks.number(strength, "strength", 0.0)
        if self.strength * self.scale >= 1.0:
            raise ValueError(f"strength * scale must be < 1 (a scale factor must stay positive), "
                             f"got {self.strength} * {self.scale}")
        self.seed = checks.seed(seed)

    def sample_params(self, seed, batch: int, height: int, width: int) -> tf.Tensor:
        """The (B, 7) transform parameters (see :func:`affine_matrices`) for one stateless seed."""
        seeds = tf.random.experimental.stateless_split(seed, 2)
        u = tf.random.stateless_uniform([batch, 7], seeds[0], -1.0, 1.0)
        on = tf.random.stateless_uniform([batch, 4], seeds[1]) < self.probability
        on = tf.cast(tf.gather(on, [0, 1, 1, 2, 2, 3, 3], axis=1), tf.float32)  # 4 components
        s = self.strength
        ranges = tf.constant([math.radians(self.rotation) * s, self.shear * s, self.shear * s,
                              self.scale * s, self.scale * s,
                              self.translation * s * width, self.translation * s * height])
        base = tf.constant([0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
        return base + on * u * ranges

    def _batch_seed(self, images):
        """``(self.seed, fingerprint of the batch's bytes)`` as a stateless seed."""
        raw = tf.reshape(tf.bitcast(tf.cast(images, tf.float32), tf.uint8), [1, -1])
        digest = tf.bitcast(tf.fingerprint(raw)[0], tf.int64)
        return tf.stack([tf.constant(self.seed, tf.int64), digest])

    def call(self, images, training=True, seed=None):
        images = tf.convert_to_tensor(images)
        if not training:
            return images
        if images.shape.rank not in (3, 4):
            raise ValueError(f"images must be a batch (B, H, W) or (B, H, W, C), got shape "
                             f"{images.shape}")
        squeeze = images.shape.rank == 3
        x = images[..., None] if squeeze else images
        shape = tf.shape(x)
        batch, height, width = shape[0], x.shape[1], x.shape[2]
        if height is None or width is None:
            raise ValueError("images must have a static height and width")
        if seed is None:
            seed = self._batch_seed(images)
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seed = tf.constant([self.seed, int(seed)], tf.int64)
        out = warp(x, self.sample_params(seed, batch, height, width))
        return out[..., 0] if squeeze else out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation": self.rotation, "shear": self.shear,
                "scale": self.scale, "translation": self.translation,
                "probability": self.probability, "strength": self.strength, "seed": self.seed}
