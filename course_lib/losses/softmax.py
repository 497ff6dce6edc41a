"""The losses that compare one embedding with the whole batch at once through a softmax over
similarities: InfoNCE / NT-Xent of two views (:class:`InfoNCELoss`), supervised contrastive
(:class:`SupConLoss`), and the margin softmax over class centres on the sphere (a
:class:`CosineClassifier` head read by :class:`CosFaceLoss`)."""

from __future__ import annotations

import keras
from keras import ops

from course_lib import PACKAGE, checks
from course_lib.losses._common import (
    FunctionLoss,
    concrete_values,
    labelled_batch,
    labelled_batch_ok,
    nan_unless,
)

__all__ = [
    "CosFaceLoss",
    "CosineClassifier",
    "InfoNCELoss",
    "SupConLoss",
    "cosface_loss",
    "info_nce_loss",
    "supcon_loss",
]

_EPS = 1e-12
_NEG = -1e9


def _check_temperature(temperature) -> float:
    return checks.number(temperature, "temperature", 0.0, low_open=True)


def _unit(x):
    """Rows of ``x`` scaled to unit length; the epsilon keeps the gradient finite at zero."""
    return x / ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True) + _EPS)


def _embeddings(embeddings):
    emb = ops.convert_to_tensor(embeddings)
    if len(emb.shape) != 2:
        raise ValueError(f"embeddings must be 2-D (batch, dim), got shape {tuple(emb.shape)}")
    return emb


def _self_masked_logits(emb, temperature: float):
    """Cosine similarities of the batch over ``temperature``, each row's own entry pushed to
    ``-1e9`` (an example is never its own candidate); also returns the boolean self mask."""
    unit = _unit(emb)
    logits = ops.matmul(unit, ops.transpose(unit)) / temperature
    n = ops.shape(emb)[0]
    eye = ops.eye(n, dtype="bool")
    return ops.where(eye, ops.cast(_NEG, logits.dtype), logits), eye


def info_nce_loss(embeddings, temperature: float = 0.1):
    """Per-row InfoNCE (NT-Xent) loss of a batch of two views (see :class:`InfoNCELoss`).

    Args:
        embeddings: (2N, D) embeddings, the N first views then the N second views (row ``i``
            and row ``i + N`` are two views of one example).
        temperature: the softmax temperature, a number > 0.

    Returns:
        The loss of each row, (2N,): cross-entropy of row ``i`` over the other 2N - 1 rows,
        logits the cosine similarities over ``temperature``, target its other view.

    Raises:
        TypeError: ``temperature`` is not a number.
        ValueError: ``temperature`` <= 0, embeddings that are not 2-D, an odd batch.
    """
    temperature = _check_temperature(temperature)
    emb = _embeddings(embeddings)
    batch = emb.shape[0]
    if batch is not None and (batch % 2 or batch < 2):
        raise ValueError(f"two views need an even batch of at least 2 rows (first views then "
                         f"second views), got {batch} rows")
    logits, _ = _self_masked_logits(emb, temperature)
    n2 = ops.shape(emb)[0]
    half = n2 // 2
    partner = (ops.arange(n2) + half) % n2
    log_p = ops.log_softmax(logits, axis=1)
    return -ops.take_along_axis(log_p, partner[:, None], axis=1)[:, 0]


def supcon_loss(labels, embeddings, temperature: float = 0.1):
    """Per-row supervised contrastive loss (Khosla et al. 2020, "L_out"; see :class:`SupConLoss`).

    Args:
        labels: (B,) integer class labels.
        embeddings: (B, D) embeddings.
        temperature: the softmax temperature, a number > 0.

    Returns:
        The loss of each row, (B,): minus the mean, over the row's positives (other rows of its
        class), of the log-softmax of the row's cosine similarities over ``temperature`` (the
        softmax runs over all other rows). A row with no positive in the batch has loss 0.
        Inside a traced graph (``tf.function``, ``fit``, XLA), where the labels have no values
        to raise on, a batch that the ValueError below would refuse gets NaN in every row.

    Raises:
        TypeError: ``temperature`` is not a number.
        ValueError: ``temperature`` <= 0, embeddings that are not 2-D, labels whose length is
            not the batch's, or (when the labels have values) a batch of a single class or one
            in which no class has two rows.
    """
    temperature = _check_temperature(temperature)
    lab, emb, found = labelled_batch(labels, embeddings, "a SupCon batch")
    if found is not None:
        classes, counts = found
        if counts.max() < 2:
            raise ValueError("a SupCon batch needs a class with at least 2 rows (no positive "
                             "pair otherwise)")
    logits, eye = _self_masked_logits(emb, temperature)
    log_p = ops.log_softmax(logits, axis=1)
    same = ops.logical_and(ops.equal(lab[:, None], lab[None, :]), ops.logical_not(eye))
    pos = ops.cast(same, log_p.dtype)
    n_pos = ops.sum(pos, axis=1)
    summed = ops.sum(ops.where(same, log_p, ops.zeros_like(log_p)), axis=1)
    per_row = -summed / ops.maximum(n_pos, 1.0)
    if found is None:                    # traced: a bad batch is marked, not refused
        per_row = nan_unless(per_row, ops.logical_and(labelled_batch_ok(lab, emb),
                                                      ops.any(same)))
    return per_row


def _info_nce_of_batch(y_true, y_pred, temperature: float):
    """:func:`info_nce_loss` of the embeddings ``y_pred``; ``y_true`` is not read."""
    return info_nce_loss(y_pred, temperature)


def _supcon_of_batch(y_true, y_pred, temperature: float):
    """:func:`supcon_loss` of the labels ``y_true`` and the embeddings ``y_pred``."""
    return supcon_loss(y_true, y_pred, temperature)


@keras.saving.register_keras_serializable(package=PACKAGE)
class InfoNCELoss(FunctionLoss):
    """InfoNCE of two views, the NT-Xent loss of SimCLR (Chen et al. 2020; van den Oord et al.
    2018 named InfoNCE): each row against every other row of the batch, softmax over cosine
    similarities divided by a temperature, cross-entropy with the row's other view.

    ``y_pred`` is a batch of 2N embeddings, the N first views then the N second views;
    ``y_true`` is ignored. The other 2N - 2 rows are the negatives. Embeddings are scaled to
    unit length inside the loss (with a small epsilon, so the gradient is finite even at zero).

    Args:
        temperature: the softmax temperature, a number > 0 (small: sharper, the hardest
            negatives dominate).
        reduction: how Keras reduces the per-row losses (default: the mean).
        name: the loss's name.
        dtype: the dtype of the loss's computations (None: Keras's float type).

    Raises:
        TypeError: ``temperature`` is not a number.
        ValueError: ``temperature`` <= 0; at call time, an odd batch or embeddings not 2-D.
    """

    def __init__(self, temperature: float = 0.1, reduction="sum_over_batch_size",
                 name: str = "info_nce_loss", dtype=None):
        temperature = _check_temperature(temperature)
        super().__init__(_info_nce_of_batch, reduction=reduction, name=name, dtype=dtype,
                         temperature=temperature)
        self.temperature = temperature


@keras.saving.register_keras_serializable(package=PACKAGE)
class SupConLoss(FunctionLoss):
    """Supervised contrastive loss (Khosla et al. 2020, eq. 2, "L_out"): InfoNCE in which every
    other row of the anchor's class is a positive.

    ``y_true`` holds the (B,) class labels, ``y_pred`` the (B, D) embeddings (scaled to unit
    length inside the loss). For anchor ``i`` the softmax runs over all other rows, and its loss
    is minus the mean log-probability of its positives.

    Args:
        temperature: the softmax temperature, a number > 0.
        reduction: how Keras reduces the per-row losses (default: the mean).
        name: the loss's name.
        dtype: the dtype of the loss's computations (None: Keras's float type).

    Raises:
        TypeError: ``temperature`` is not a number.
        ValueError: ``temperature`` <= 0; at call time, see :func:`supcon_loss`.
    """

    def __init__(self, temperature: float = 0.1, reduction="sum_over_batch_size",
                 name: str = "supcon_loss", dtype=None):
        temperature = _check_temperature(temperature)
        super().__init__(_supcon_of_batch, reduction=reduction, name=name, dtype=dtype,
                         temperature=temperature)
        self.temperature = temperature


@keras.saving.register_keras_serializable(package=PACKAGE)
class CosineClassifier(keras.layers.Layer):
    """The head of the margin-softmax losses: cosine of each embedding with each class centre.

    Its weights are ``num_classes`` class centres; both they and the embeddings are scaled to
    unit length, so the output (B, C) is the cosine of the angle to each centre, in [-1, 1].
    Train it with :class:`CosFaceLoss`; afterwards the encoder alone is read by nearest
    neighbour.

    The centres' initial length sets how fast they learn under Adam: Adam moves each weight
    by about its learning rate per step whatever the gradient's size, and only a centre's
    direction counts, so a centre ten times shorter turns about ten times faster, as with a
    learning rate ten times larger for the centres alone (until its length grows).

    Args:
        num_classes: number of training classes, an int >= 2.
        centres_initializer: the initializer of the centres (a Keras initializer or its
            name), ``"glorot_uniform"`` by default.
        **kwargs: Keras layer arguments (``name``, ``dtype``, ...).

    Raises:
        TypeError: a non-int ``num_classes``.
        ValueError: ``num_classes`` < 2, an unknown initializer.
    """

    def __init__(self, num_classes: int, centres_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.num_classes = checks.integer(num_classes, "num_classes", minimum=2)
        self.centres_initializer = keras.initializers.get(centres_initializer)

    def build(self, input_shape):
        self.centres = self.add_weight(name="centres", shape=(input_shape[-1], self.num_classes),
                                       initializer=self.centres_initializer)

    def call(self, inputs):
        centres = self.centres / ops.sqrt(ops.sum(ops.square(self.centres), axis=0,
                                                  keepdims=True) + _EPS)
        return ops.matmul(_unit(inputs), centres)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "centres_initializer": keras.initializers.serialize(self.centres_initializer)}


def cosface_loss(labels, cosines, scale: float = 30.0, margin: float = 0.35):
    """Per-row CosFace loss (Wang et al. 2018, large margin cosine loss; see :class:`CosFaceLoss`).

    Args:
        labels: (B,) integer class labels in ``[0, C)``.
        cosines: (B, C) cosines to the class centres, as :class:`CosineClassifier` gives them.
        scale: the logit scale ``s``, a number > 0.
        margin: the cosine margin ``m``, a number >= 0 (0: the normalised softmax).

    Returns:
        The loss of each row, (B,): cross-entropy of the logits ``s * (cos - m * onehot)``.
        Inside a traced graph (``tf.function``, ``fit``, XLA), where the labels have no values
        to raise on, labels that the ValueError below would refuse give NaN in every row.

    Raises:
        TypeError: ``scale`` or ``margin`` not a number.
        ValueError: ``scale`` <= 0, ``margin`` < 0, ``cosines`` not 2-D; when the labels have
            values (an eager call, not inside a compiled ``fit``): not one label per row, or a
            label outside ``[0, C)`` (one-hot would silently give it a loss of 0).
    """
    scale = checks.number(scale, "scale", 0.0, low_open=True)
    margin = checks.number(margin, "margin", 0.0)
    cos = ops.convert_to_tensor(cosines)
    if len(cos.shape) != 2:
        raise ValueError(f"cosines must be 2-D (batch, classes), got shape {tuple(cos.shape)}")
    values = concrete_values(labels)
    if values is not None:
        values = values.reshape(-1)
        rows, classes = cos.shape
        if rows is not None and values.size != rows:
            raise ValueError(f"labels must give one label per row of cosines ({rows}), got "
                             f"{values.size}")
        if classes is not None and values.size and (values.min() < 0 or values.max() >= classes):
            raise ValueError(f"labels must be class ids in [0, {classes}) (the head's classes), "
                             f"got values from {values.min()} to {values.max()}")
    lab = ops.cast(ops.reshape(ops.convert_to_tensor(labels), (-1,)), "int32")
    n_classes = ops.shape(cos)[1]
    onehot = ops.one_hot(lab, n_classes, dtype=cos.dtype)
    logits = scale * (cos - margin * onehot)
    per_row = -ops.sum(onehot * ops.log_softmax(logits, axis=1), axis=1)
    if values is None:                   # traced: bad labels are marked, not refused
        ok = ops.logical_and(ops.equal(ops.size(lab), ops.shape(cos)[0]),
                             ops.logical_and(ops.all(lab >= 0), ops.all(lab < n_classes)))
        per_row = nan_unless(per_row, ok)
    return per_row


def _cosface_of_batch(y_true, y_pred, scale: float, margin: float):
    """:func:`cosface_loss` of the labels ``y_true`` and the cosines ``y_pred``."""
    return cosface_loss(y_true, y_pred, scale, margin)


@keras.saving.register_keras_serializable(package=PACKAGE)
class CosFaceLoss(FunctionLoss):
    """CosFace, the large margin cosine loss (Wang et al. 2018): a softmax over the cosines to
    the class centres on the sphere, the true class's cosine lowered by a margin ``m`` and all
    multiplied by a scale ``s``.

    ``y_true`` holds the (B,) class labels, ``y_pred`` the (B, C) cosines of a
    :class:`CosineClassifier` head. With ``margin=0`` it is the normalised softmax.

    Args:
        scale: the logit scale ``s``, a number > 0.
        margin: the cosine margin ``m``, a number >= 0.
        reduction: how Keras reduces the per-row losses (default: the mean).
        name: the loss's name.
        dtype: the dtype of the loss's computations (None: Keras's float type).

    Raises:
        TypeError: ``scale`` or ``margin`` not a number.
        ValueError: ``scale`` <= 0 or ``margin`` < 0.
    """

    def __init__(self, scale: float = 30.0, margin: float = 0.35,
                 reduction="sum_over_batch_size", name: str = "cosface_loss", dtype=None):
        scale = checks.number(scale, "scale", 0.0, low_open=True)
        margin = checks.number(margin, "margin", 0.0)
        super().__init__(_cosface_of_batch, reduction=reduction, name=name, dtype=dtype,
                         scale=scale, margin=margin)
        self.scale = scale
        self.margin = margin
