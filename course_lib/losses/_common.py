"""What the losses of the package share: the margin check and the function + wrapper base class."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from course_lib import checks


def check_margin(margin) -> float:
    """``margin`` as a float, when it is a finite number > 0.

    Raises:
        TypeError: ``margin`` is not a number.
        ValueError: ``margin`` <= 0 or not finite.
    """
    return checks.number(margin, "margin", 0.0, low_open=True)


class FunctionLoss(keras.losses.Loss):
    """A Keras loss computed by a plain per-example function, Keras's own pattern for its losses.

    Keras builds its losses (``keras.losses.MeanSquaredError``, ``keras.losses.Circle``, ...) as
    a function of ``(y_true, y_pred, **options)`` giving one loss per example and a
    ``LossFunctionWrapper`` subclass that stores the options and leaves the reduction to
    ``keras.losses.Loss``. That wrapper is not part of Keras's public API (3.15 keeps it in
    ``keras.src``), so this base class does the same job. A subclass passes its function and
    options to ``__init__``; ``get_config`` returns the options beside Keras's own entries
    (without ``fn``: the registered class already names it), so ``from_config`` rebuilds it.

    Args:
        fn: ``fn(y_true, y_pred, **options)``, one loss per example.
        reduction: how Keras reduces the per-example losses.
        name: the loss's name.
        dtype: the dtype of the loss's computations (None: Keras's float type).
        **options: passed to ``fn`` on every call.
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **options):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._options = options

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._options)

    def get_config(self):
        return {**super().get_config(), **self._options}


def concrete_values(x):
    """``x`` as a NumPy array when it has values (eager calls), else None (a symbolic tensor
    inside a compiled ``fit``): what lets a loss check its labels where it can."""
    try:
        return np.asarray(ops.convert_to_numpy(x))
    except Exception:  # noqa: BLE001 - symbolic tensors have no value to read
        return None


def nan_unless(per_row, ok):
    """``per_row`` where ``ok`` holds, NaN everywhere when it does not: how a loss marks a bad
    batch inside a traced graph (``tf.function``, ``fit``, XLA), where no Python error can be
    raised on values. The training log shows ``nan`` from that step on
    (``keras.callbacks.TerminateOnNaN`` stops there); plain ``keras.ops``, so XLA keeps it, and
    the loss and its gradient are unchanged when ``ok`` holds.

    Args:
        per_row: the loss of each row, a float tensor.
        ok: a boolean scalar tensor, True for a good batch.

    Returns:
        ``per_row``, or a tensor of its shape full of NaN.
    """
    return ops.where(ok, per_row, ops.cast(float("nan"), per_row.dtype))


def labelled_batch_ok(labels, embeddings):
    """The traced-graph form of :func:`labelled_batch`'s checks: a boolean scalar tensor, True
    when there is one label per embedding row and at least 2 classes.

    Args:
        labels: (B,) integer class labels, a tensor.
        embeddings: (B, D) embeddings, a tensor.

    Returns:
        A boolean scalar tensor.
    """
    one_each = ops.equal(ops.size(labels), ops.shape(embeddings)[0])
    two_classes = ops.any(ops.not_equal(labels, labels[:1]))
    return ops.logical_and(one_each, two_classes)


def labelled_batch(labels, embeddings, what: str):
    """The checked ``(labels (B,), embeddings (B, D), class counts or None)`` of a loss of a
    labelled batch: 2-D embeddings, one label per row, and (when the labels have values, i.e.
    outside a compiled ``fit``) at least 2 classes.

    Args:
        labels: (B,) integer class labels.
        embeddings: (B, D) embeddings.
        what: the batch's name in messages (``"a SupCon batch"``).

    Returns:
        ``(labels, embeddings, counts)``: tensors, and ``(classes, counts)`` from
        ``np.unique`` when the labels have values, else None (a traced graph: the loss then
        checks the batch with :func:`labelled_batch_ok` and marks a bad one by
        :func:`nan_unless`).

    Raises:
        ValueError: embeddings not 2-D, labels of another length, a single class.
    """
    emb = ops.convert_to_tensor(embeddings)
    if len(emb.shape) != 2:
        raise ValueError(f"embeddings must be 2-D (batch, dim), got shape {tuple(emb.shape)}")
    lab = ops.reshape(ops.convert_to_tensor(labels), (-1,))
    if lab.shape[0] is not None and emb.shape[0] is not None and lab.shape[0] != emb.shape[0]:
        raise ValueError(f"labels must give one label per embedding row: {lab.shape[0]} labels "
                         f"for {emb.shape[0]} rows")
    values = concrete_values(lab)
    if values is None:
        return lab, emb, None
    classes, counts = np.unique(values, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"{what} needs at least 2 classes, got only class {classes.tolist()}")
    return lab, emb, (classes, counts)
