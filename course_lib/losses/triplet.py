"""The triplet loss of Schroff, Kalenichenko and Philbin (2015) on given triplets: a function of
the two distances of each triplet and :class:`TripletLoss`, its registered Keras loss for a
model that outputs both distances (notebook 07); the share of them still active is
:class:`course_lib.losses.ActiveTripletFraction` with ``inputs="distances"``. Triplets mined inside a batch are in
:mod:`course_lib.losses.mining`."""

from __future__ import annotations

import keras
from keras import ops

from course_lib import PACKAGE
from course_lib.losses._common import FunctionLoss, check_margin

__all__ = ["TripletLoss", "triplet_loss"]


def triplet_loss(anchor_positive, anchor_negative, margin: float = 1.0):
    """Per-triplet ``max(d(a, p) - d(a, n) + margin, 0)`` of Schroff et al. (2015), on distances.

    Args:
        anchor_positive: distances anchor-positive, shape (batch,).
        anchor_negative: distances anchor-negative, same shape.
        margin: a number > 0.

    Returns:
        One loss per triplet, shape (batch,).

    Raises:
        TypeError: ``margin`` not a number.
        ValueError: ``margin`` <= 0.
    """
    margin = check_margin(margin)
    return ops.relu(ops.convert_to_tensor(anchor_positive) - anchor_negative + margin)


def _stacked_triplet_loss(y_true, y_pred, margin: float):
    """:func:`triplet_loss` of ``y_pred = [d(a, p), d(a, n)]`` stacked on the last axis;
    ``y_true`` is not read."""
    return triplet_loss(y_pred[..., 0], y_pred[..., 1], margin)


@keras.saving.register_keras_serializable(package=PACKAGE)
class TripletLoss(FunctionLoss):
    """Keras loss for a model whose output stacks ``[d(a, p), d(a, n)]`` on the last axis.

    ``y_true`` is ignored (a triplet carries its own supervision); pass zeros.

    Args:
        margin: a number > 0 (see :func:`triplet_loss`).
        reduction: how Keras reduces the per-triplet losses (default: the mean).
        name: the loss's name.
        dtype: the dtype of the loss's computations (None: Keras's float type).

    Raises:
        TypeError: ``margin`` not a number.
        ValueError: ``margin`` <= 0.
    """

    def __init__(self, margin: float = 1.0, reduction="sum_over_batch_size",
                 name: str = "triplet_loss", dtype=None):
        margin = check_margin(margin)
        super().__init__(_stacked_triplet_loss, reduction=reduction, name=name, dtype=dtype,
                         margin=margin)
        self.margin = margin
