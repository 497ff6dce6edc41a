"""Distance layers for Siamese heads, registered so ``.keras`` files load without ``Lambda``."""

from __future__ import annotations

import warnings

import keras
from keras import ops

from course_lib import checks

__all__ = ["PACKAGE", "EuclideanDistance", "L2Normalize", "WeightedL1Similarity"]

PACKAGE = "course_lib"


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
        TypeError: ``epsilon`` not a number; at call time, inputs not a list/tuple.
        ValueError: ``epsilon`` < 0; at call time, not exactly two inputs.
    """

    def __init__(self, epsilon: float = 1e-6, squared: bool = False, **kwargs):
        super().__init__(**_float32_by_default(kwargs))
        self.epsilon = checks.number(epsilon, "epsilon", 0.0)
        self.squared = bool(squared)

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
    default.

    Args:
        **kwargs: passed to ``keras.layers.Layer``.
    """

    def __init__(self, **kwargs):
        super().__init__(**_float32_by_default(kwargs))

    def build(self, input_shape):
        dim = input_shape[0][-1]
        self.dense = keras.layers.Dense(1, activation="sigmoid", name="alpha",
                                        dtype=self.dtype_policy)
        self.dense.build((None, dim))

    def call(self, inputs):
        a, b = _check_pair(inputs, "WeightedL1Similarity")
        return self.dense(ops.abs(a - b))

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
