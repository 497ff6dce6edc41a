"""Contrastive and triplet losses as registered Keras losses, with the label convention explicit."""

from __future__ import annotations

import keras
from keras import ops

from course_lib.layers import PACKAGE


def _check_margin(margin) -> float:
    if not isinstance(margin, (int, float)) or isinstance(margin, bool) or margin <= 0:
        raise ValueError(f"margin must be a number > 0, got {margin!r}")
    return float(margin)


def contrastive_loss(labels, distances, margin: float = 1.0, similar_label: int = 1):
    """Per-pair loss of Hadsell, Chopra and LeCun (2006), on distances (not on similarities).

    Similar pairs pay ``d^2``; dissimilar pairs pay ``max(margin - d, 0)^2``. ``similar_label``
    names which label means "same class": 1 in this course, 0 in Hadsell et al.'s paper.
    Returns one loss per pair, shape (batch,), half of each term as in the paper; in float32
    when the distances come in float16 or bfloat16 (mixed precision).
    """
    if similar_label not in (0, 1):
        raise ValueError(f"similar_label must be 0 or 1, got {similar_label!r}")
    margin = _check_margin(margin)
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

    Pass ``check_labels=True`` (the default) to fail loudly on labels other than 0 and 1, the
    symptom of mixing up label conventions or feeding class ids instead of pair labels.
    """

    def __init__(self, margin: float = 1.0, similar_label: int = 1, check_labels: bool = True,
                 name: str = "contrastive_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = _check_margin(margin)
        if similar_label not in (0, 1):
            raise ValueError(f"similar_label must be 0 or 1, got {similar_label!r}")
        self.similar_label = int(similar_label)
        self.check_labels = bool(check_labels)

    def call(self, y_true, y_pred):
        if self.check_labels:
            import tensorflow as tf

            y = tf.cast(y_true, tf.float32)
            tf.debugging.assert_equal(
                tf.reduce_all((y == 0.0) | (y == 1.0)), True,
                message="y_true (pair labels) must be 0 or 1")
        return contrastive_loss(y_true, y_pred, self.margin, self.similar_label)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin,
                "similar_label": self.similar_label, "check_labels": self.check_labels}


def triplet_loss(anchor_positive, anchor_negative, margin: float = 1.0):
    """Per-triplet ``max(d(a, p) - d(a, n) + margin, 0)`` of Schroff et al. (2015), on distances."""
    margin = _check_margin(margin)
    return ops.relu(ops.convert_to_tensor(anchor_positive) - anchor_negative + margin)


@keras.saving.register_keras_serializable(package=PACKAGE)
class TripletLoss(keras.losses.Loss):
    """Keras loss for a model whose output stacks ``[d(a, p), d(a, n)]`` on the last axis.

    ``y_true`` is ignored (a triplet carries its own supervision); pass zeros.
    """

    def __init__(self, margin: float = 1.0, name: str = "triplet_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = _check_margin(margin)

    def call(self, y_true, y_pred):
        return triplet_loss(y_pred[..., 0], y_pred[..., 1], self.margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}
