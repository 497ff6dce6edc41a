"""Layers of course_lib, registered so ``.keras`` files load without ``Lambda``: the distance and
similarity heads of Siamese nets, and the two layers of a shift-averaged encoder (test-time
augmentation, :func:`course_lib.models.shift_averaged`).

Introduced in notebook 01.
"""

from __future__ import annotations

import warnings

import keras
from keras import ops

from course_lib import PACKAGE, checks

__all__ = ["EuclideanDistance", "L2Normalize", "ShiftedViews", "ViewMean",
           "WeightedL1Similarity"]


def _float32_by_default(kwargs: dict) -> dict:
    """Distances and norms compute in float32 even under a mixed-precision policy: a sum of
    squares overflows float16 past 65,504 and a small epsilon underflows to 0."""
    kwargs.setdefault("dtype", "float32")
    return kwargs


def _check_pair(inputs, layer_name: str):
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"{layer_name} expects inputs=[a, b], a list of two tensors, got "
                        f"{type(inputs).__name__}")
    if len(inputs) != 2:
        raise ValueError(f"{layer_name} expects inputs=[a, b], a list of two tensors, got {inputs!r}")
    return inputs


@keras.saving.register_keras_serializable(package=PACKAGE)
class EuclideanDistance(keras.layers.Layer):
    """Distance ``sqrt(sum((a - b)^2) + epsilon)`` between two embeddings, shape (batch, 1).

    ``epsilon > 0`` keeps the gradient finite when ``a == b``: the derivative of a plain
    square root there is 0/0 (notebook 03). ``epsilon=0`` gives the naive, NaN-prone form.
    Called on ``[a, b]``, two tensors (batch, D); computes in float32 by default.

    Args:
        epsilon: added under the square root, a number >= 0.
        squared: return the squared distance (no square root, no epsilon) instead.
        **kwargs: passed to ``keras.layers.Layer``.

    Raises:
        TypeError: ``epsilon`` not a number, ``squared`` not a bool; at call time, inputs not a
            list/tuple.
        ValueError: ``epsilon`` < 0; at call time, not exactly two inputs.
    """

    def __init__(self, epsilon: float = 1e-6, squared: bool = False, **kwargs):
        super().__init__(**_float32_by_default(kwargs))
        self.epsilon = checks.number(epsilon, "epsilon", 0.0)
        self.squared = checks.boolean(squared, "squared")

    def call(self, inputs):
        a, b = _check_pair(inputs, "EuclideanDistance")
        squared = ops.sum(ops.square(a - b), axis=-1, keepdims=True)
        if self.squared:
            return squared
        return ops.sqrt(squared + self.epsilon)

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], 1)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "squared": self.squared}


@keras.saving.register_keras_serializable(package=PACKAGE)
class WeightedL1Similarity(keras.layers.Layer):
    """Koch et al. (2015) head: ``sigmoid(sum_j alpha_j |a_j - b_j| + bias)``, a same-class probability.

    Called on ``[a, b]``, two tensors (batch, D); returns (batch, 1); computes in float32 by
    default. Its weights are ``alpha`` (D, 1), Glorot-uniform at the start as in a Dense layer,
    and ``bias`` (1,), zero at the start.

    Args:
        **kwargs: passed to ``keras.layers.Layer``.
    """

    def __init__(self, **kwargs):
        super().__init__(**_float32_by_default(kwargs))

    def build(self, input_shape):
        dim = input_shape[0][-1]
        self.alpha = self.add_weight(shape=(dim, 1), initializer="glorot_uniform", name="alpha")
        self.bias = self.add_weight(shape=(1,), initializer="zeros", name="bias")

    def call(self, inputs):
        a, b = _check_pair(inputs, "WeightedL1Similarity")
        return ops.sigmoid(ops.add(ops.matmul(ops.abs(a - b), self.alpha), self.bias))

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], 1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class L2Normalize(keras.layers.UnitNormalization):
    """Deprecated alias of ``keras.layers.UnitNormalization(dtype="float32")``; use that.

    Kept so that older code and saved ``.keras`` files that name it still work. It scales
    each embedding to unit length along the last axis, computing in float32 by default.

    Args:
        epsilon: ignored, accepted for older configs (Keras uses 1e-12).
        **kwargs: passed to ``keras.layers.UnitNormalization``.
    """

    def __init__(self, epsilon: float = 1e-12, **kwargs):
        warnings.warn("course_lib.layers.L2Normalize is deprecated: use "
                      "keras.layers.UnitNormalization (dtype='float32' under mixed precision)",
                      DeprecationWarning, stacklevel=2)
        kwargs.pop("axis", None)
        super().__init__(axis=-1, **_float32_by_default(kwargs))


def _check_offsets(offsets) -> tuple[tuple[int, int], ...]:
    """Distinct ``(dy, dx)`` int pairs: a wrong type is a TypeError, a wrong value ValueError."""
    if not isinstance(offsets, (list, tuple)):
        raise TypeError(f"offsets must be a list of (dy, dx) pairs of ints, got "
                        f"{type(offsets).__name__} {offsets!r}")
    if not offsets:
        raise ValueError("offsets must be a non-empty list of (dy, dx) pairs of ints, got []")
    out = []
    for i, pair in enumerate(offsets):
        if not isinstance(pair, (list, tuple)):
            raise TypeError(f"offsets[{i}] must be a (dy, dx) pair of ints, got "
                            f"{type(pair).__name__} {pair!r}")
        if len(pair) != 2:
            raise ValueError(f"offsets[{i}] must be a (dy, dx) pair of ints, got {pair!r}")
        out.append((checks.integer(pair[0], f"offsets[{i}][0]"),
                    checks.integer(pair[1], f"offsets[{i}][1]")))
    if len(set(out)) != len(out):
        raise ValueError(f"offsets must be distinct, got {out}")
    return tuple(out)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ShiftedViews(keras.layers.Layer):
    """Copies of each image with its content moved by whole-pixel offsets, the gap filled with 0.

    Called on images (batch, H, W) or (batch, H, W, C); returns (V * batch, ...), the V views
    one after another (all images moved by ``offsets[0]``, then by ``offsets[1]``, ...), so that
    :class:`ViewMean` can average the V embeddings of each image.

    Args:
        offsets: distinct ``(dy, dx)`` pairs of ints: the content moves down by ``dy`` rows and
            right by ``dx`` columns; ``(0, 0)`` is the image itself.
        **kwargs: passed to ``keras.layers.Layer``.

    Raises:
        TypeError: ``offsets`` not a list or tuple of pairs, or a pair not of ints.
        ValueError: offsets that are empty, pairs that are not of two values, or repeated
            offsets; at call time, images of fewer than 3 dimensions or moved by a whole side or
            more.
    """

    def __init__(self, offsets=((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)), **kwargs):
        super().__init__(**kwargs)
        self.offsets = _check_offsets(offsets)
        self.margin = max(max(abs(dy), abs(dx)) for dy, dx in self.offsets)

    def call(self, images):
        if len(images.shape) < 3:
            raise ValueError(f"ShiftedViews expects images (batch, H, W[, C]), got shape "
                             f"{tuple(images.shape)}")
        h, w, m = images.shape[1], images.shape[2], self.margin
        if m >= min(h, w):
            raise ValueError(f"offsets move images of {h}x{w} by {m} pixels: nothing would remain")
        pad = [[0, 0], [m, m], [m, m]] + [[0, 0]] * (len(images.shape) - 3)
        padded = ops.pad(images, pad)
        views = [padded[:, m - dy:m - dy + h, m - dx:m - dx + w] for dy, dx in self.offsets]
        return ops.concatenate(views, axis=0)

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else len(self.offsets) * input_shape[0]
        return (batch, *input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "offsets": [list(o) for o in self.offsets]}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ViewMean(keras.layers.Layer):
    """The mean over ``views`` consecutive blocks of a batch, the inverse of :class:`ShiftedViews`.

    Called on (views * batch, ...) ordered view after view; returns (batch, ...).

    Args:
        views: the number of views, an int >= 1 (5: :class:`ShiftedViews`'s default).
        **kwargs: passed to ``keras.layers.Layer``.

    Raises:
        TypeError: a non-int ``views``.
        ValueError: ``views`` < 1.
    """

    def __init__(self, views: int = 5, **kwargs):
        super().__init__(**kwargs)
        self.views = checks.positive_int(views, "views")

    def call(self, x):
        blocks = ops.reshape(x, (self.views, -1, *x.shape[1:]))
        return ops.mean(blocks, axis=0)

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] // self.views
        return (batch, *input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "views": self.views}
