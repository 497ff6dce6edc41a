"""Contrastive and triplet losses as registered Keras losses, with the label convention explicit.

Introduced in notebook 01.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from course_lib import checks
from course_lib.layers import PACKAGE

__all__ = ["ContrastiveLoss", "TripletLoss", "contrastive_loss", "triplet_loss"]


def _check_margin(margin) -> float:
    return checks.number(margin, "margin", 0.0, low_open=True)


def _known_values(x) -> np.ndarray | None:
    """``x`` as a NumPy array when its values exist now (NumPy data, Python numbers or an eager
    tensor); None for a symbolic tensor (inside ``tf.function``, ``fit``, XLA)."""
    if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
        return np.asarray(x)
    if tf.is_tensor(x) and tf.executing_eagerly() and hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return None


def contrastive_loss(labels, distances, margin: float = 1.0, similar_label: int = 1):
    """Per-pair loss of Hadsell, Chopra and LeCun (2006), on distances (not on similarities).

    Similar pairs pay ``d^2``; dissimilar pairs pay ``max(margin - d, 0)^2``.

    Labels other than 0 and 1 (class ids fed by mistake, say) are rejected when their values are
    known at call time: NumPy data, Python numbers or eager tensors. Inside a traced graph
    (``fit``, ``tf.function``) this check cannot run here; :class:`ContrastiveLoss` then checks
    with a graph assertion, which XLA (``jit_compile=True``) drops.

    Args:
        labels: pair labels, 0 or 1, one per pair (any shape with as many entries as
            ``distances``).
        distances: pair distances (not similarities), e.g. a ``(batch, 1)`` model output.
        margin: the distance beyond which a dissimilar pair costs nothing; a number > 0.
        similar_label: which label means "same class": 1 in this course, 0 in Hadsell et
            al.'s paper.

    Returns:
        One loss per pair, shape ``(batch,)``, half of each term as in the paper; in float32
        when the distances come in float16 or bfloat16 (mixed precision).

    Raises:
        TypeError: ``margin`` is not a number, ``similar_label`` not an int, or ``labels`` not
            numeric.
        ValueError: ``margin <= 0``, ``similar_label`` not 0 or 1, or (eagerly) a label other
            than 0 and 1.
    """
    checks.integer(similar_label, "similar_label", 0, 1)
    margin = _check_margin(margin)
    _check_known_labels(labels, "labels")
    return _contrastive(labels, distances, margin, similar_label)


def _check_known_labels(labels, name: str) -> bool:
    """Raise unless the labels are all 0 or 1, when known now; True when they were checked."""
    known = _known_values(labels)
    if known is None:
        return False
    if known.size:
        checks.binary_labels(known.reshape(-1), name, "0 and 1 (pair labels, not class ids)")
    return True


def _contrastive(labels, distances, margin: float, similar_label: int):
    distances = ops.convert_to_tensor(distances)
    if keras.backend.standardize_dtype(distances.dtype) in ("float16", "bfloat16"):
        distances = ops.cast(distances, "float32")       # d^2 overflows float16 past d = 256
    labels = ops.cast(ops.reshape(labels, ops.shape(distances)), distances.dtype)
    similar = labels if similar_label == 1 else 1.0 - labels
    per_pair = 0.5 * (similar * ops.square(distances)
                      + (1.0 - similar) * ops.square(ops.relu(margin - distances)))
    return ops.reshape(per_pair, (-1,))


@keras.saving.register_keras_serializable(package=PACKAGE)
class ContrastiveLoss(keras.losses.Loss):
    """Keras loss wrapping :func:`contrastive_loss`; ``y_pred`` must be a distance, ``y_true`` 0/1.

    With ``check_labels=True`` (the default) labels other than 0 and 1, the symptom of mixing
    up label conventions or feeding class ids instead of pair labels, fail loudly: a ValueError
    when the labels are known at call time (eager), a graph assertion
    (``InvalidArgumentError``) inside ``fit``; XLA (``jit_compile=True``) drops that assertion.

    Args:
        margin: a number > 0 (see :func:`contrastive_loss`).
        similar_label: 1 (this course) or 0 (Hadsell et al.) for "same class".
        check_labels: check that the labels are 0 or 1.
        name: the loss's name.
        **kwargs: passed to ``keras.losses.Loss`` (e.g. ``reduction``).

    Raises:
        TypeError: ``margin`` not a number or ``similar_label`` not an int.
        ValueError: ``margin`` <= 0 or ``similar_label`` not 0/1.
    """

    def __init__(self, margin: float = 1.0, similar_label: int = 1, check_labels: bool = True,
                 name: str = "contrastive_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = _check_margin(margin)
        checks.integer(similar_label, "similar_label", 0, 1)
        self.similar_label = int(similar_label)
        self.check_labels = bool(check_labels)

    def call(self, y_true, y_pred):
        if self.check_labels and not _check_known_labels(y_true, "y_true"):
            y = tf.cast(y_true, tf.float32)
            tf.debugging.assert_equal(
                tf.reduce_all((y == 0.0) | (y == 1.0)), True,
                message="y_true (pair labels) must be 0 or 1")
        return _contrastive(y_true, y_pred, self.margin, self.similar_label)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin,
                "similar_label": self.similar_label, "check_labels": self.check_labels}


def triplet_loss(anchor_positive, anchor_negative, margin: float = 1.0):
    """Per-triplet ``max(d(a, p) - d(a, n) + margin, 0)`` of Schroff et al. (2015), on distances.

    Args:
        anchor_positive: distances anchor-positive, shape (batch,).
        anchor_negative: distances anchor-negative, same shape.
        margin: a number > 0.

    Returns:
        One loss per triplet, shape (batch,).

    Raises:
        TypeError: ``margin`` not a number. ValueError: ``margin`` <= 0.
    """
    margin = _check_margin(margin)
    return ops.relu(ops.convert_to_tensor(anchor_positive) - anchor_negative + margin)


@keras.saving.register_keras_serializable(package=PACKAGE)
class TripletLoss(keras.losses.Loss):
    """Keras loss for a model whose output stacks ``[d(a, p), d(a, n)]`` on the last axis.

    ``y_true`` is ignored (a triplet carries its own supervision); pass zeros.

    Args:
        margin: a number > 0 (see :func:`triplet_loss`).
        name: the loss's name.
        **kwargs: passed to ``keras.losses.Loss``.

    Raises:
        TypeError: ``margin`` not a number. ValueError: ``margin`` <= 0.
    """

    def __init__(self, margin: float = 1.0, name: str = "triplet_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = _check_margin(margin)

    def call(self, y_true, y_pred):
        return triplet_loss(y_pred[..., 0], y_pred[..., 1], self.margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}
