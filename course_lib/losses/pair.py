"""The contrastive loss of a pair (Hadsell, Chopra and LeCun 2006), with its label convention
explicit: a function giving one loss per pair and :class:`ContrastiveLoss`, its registered Keras
loss (notebooks 01 and 03)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from course_lib import PACKAGE, checks
from course_lib.losses._common import FunctionLoss, check_margin

__all__ = ["ContrastiveLoss", "contrastive_loss"]


def _known_values(x) -> np.ndarray | None:
    """``x`` as a NumPy array when its values exist now (NumPy data, Python numbers or an eager
    tensor); None for a symbolic tensor (inside ``tf.function``, ``fit``, XLA)."""
    if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
        return np.asarray(x)
    if tf.is_tensor(x) and tf.executing_eagerly() and hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return None


def _labels_checked_now(labels) -> bool:
    """Raise unless the labels are all 0 or 1, when their values are known now; True when they
    were checked, False when they are symbolic."""
    known = _known_values(labels)
    if known is None:
        return False
    if known.size:
        checks.binary_labels(known.reshape(-1), "labels", "0 and 1 (pair labels, not class ids)")
    return True


def contrastive_loss(labels, distances, margin: float = 1.0, similar_label: int = 1,
                     check_labels: bool = True):
    """Per-pair loss of Hadsell, Chopra and LeCun (2006), on distances (not on similarities).

    Similar pairs pay ``d^2``; dissimilar pairs pay ``max(margin - d, 0)^2``.

    With ``check_labels=True``, labels other than 0 and 1 (class ids fed by mistake, say) fail
    loudly. When their values are known at call time (NumPy data, Python numbers, eager
    tensors) that is a ValueError. Inside a traced graph (``fit``, ``tf.function``, XLA) no
    Python error can be raised on values, so the loss of such a pair is NaN instead: the
    training log shows ``nan`` from the first step (``keras.callbacks.TerminateOnNaN`` stops
    there). That marking is plain ``keras.ops`` and survives ``jit_compile=True``; it leaves the
    loss and its gradient unchanged for labels that are 0 or 1.

    Args:
        labels: pair labels, 0 or 1, one per pair (any shape with as many entries as
            ``distances``).
        distances: pair distances (not similarities), e.g. a ``(batch, 1)`` model output.
        margin: the distance beyond which a dissimilar pair costs nothing; a number > 0.
        similar_label: which label means "same class": 1 in this course, 0 in Hadsell et
            al.'s paper.
        check_labels: check that the labels are 0 or 1, as above. With False, a label other
            than ``similar_label`` counts as "not similar".

    Returns:
        One loss per pair, shape ``(batch,)``, half of each term as in the paper; in float32
        when the distances come in float16 or bfloat16 (mixed precision).

    Raises:
        TypeError: ``margin`` is not a number, ``similar_label`` not an int, or ``labels`` not
            numeric.
        ValueError: ``margin <= 0``, ``similar_label`` not 0 or 1, or (when the labels are
            known) a label other than 0 and 1.
    """
    checks.integer(similar_label, "similar_label", 0, 1)
    margin = check_margin(margin)
    symbolic = checks.boolean(check_labels, "check_labels") and not _labels_checked_now(labels)
    distances = ops.convert_to_tensor(distances)
    if keras.backend.standardize_dtype(distances.dtype) in ("float16", "bfloat16"):
        distances = ops.cast(distances, "float32")       # d^2 overflows float16 past d = 256
    labels = ops.cast(ops.reshape(labels, ops.shape(distances)), distances.dtype)
    similar = labels if similar_label == 1 else 1.0 - labels
    per_pair = 0.5 * (similar * ops.square(distances)
                      + (1.0 - similar) * ops.square(ops.relu(margin - distances)))
    if symbolic:
        binary = ops.logical_or(ops.equal(labels, 0.0), ops.equal(labels, 1.0))
        per_pair = ops.where(binary, per_pair, float("nan"))
    return ops.reshape(per_pair, (-1,))


@keras.saving.register_keras_serializable(package=PACKAGE)
class ContrastiveLoss(FunctionLoss):
    """Keras loss of :func:`contrastive_loss`: ``y_pred`` must be a distance, ``y_true`` 0/1.

    The labels are checked as :func:`contrastive_loss` describes: a ValueError when they are
    known at call time, a NaN loss inside ``fit``.

    Args:
        margin: a number > 0 (see :func:`contrastive_loss`).
        similar_label: 1 (this course) or 0 (Hadsell et al.) for "same class".
        check_labels: check that the labels are 0 or 1.
        reduction: how Keras reduces the per-pair losses (``"sum_over_batch_size"``: the mean).
        name: the loss's name.
        dtype: the dtype of the loss's computations (None: Keras's float type).

    Raises:
        TypeError: ``margin`` not a number or ``similar_label`` not an int.
        ValueError: ``margin`` <= 0 or ``similar_label`` not 0/1.
    """

    def __init__(self, margin: float = 1.0, similar_label: int = 1, check_labels: bool = True,
                 reduction="sum_over_batch_size", name: str = "contrastive_loss", dtype=None):
        margin = check_margin(margin)
        similar_label = checks.integer(similar_label, "similar_label", 0, 1)
        check_labels = checks.boolean(check_labels, "check_labels")
        super().__init__(contrastive_loss, reduction=reduction, name=name, dtype=dtype,
                         margin=margin, similar_label=similar_label, check_labels=check_labels)
        self.margin, self.similar_label, self.check_labels = margin, similar_label, check_labels
