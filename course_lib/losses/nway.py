"""The N-way comparison loss of one-shot training episodes (notebook 06): a function giving the
loss of each row of a batch of episodes and :class:`NWayLoss`, its registered Keras loss. The
episodes themselves are drawn by :func:`course_lib.pairs.episode_dataset`. Its k-shot
generalisation on labelled P x K batches, the prototypical network's loss, is
:class:`PrototypicalLoss` (notebook 09)."""

from __future__ import annotations

import keras
from keras import ops

from course_lib import PACKAGE, checks
from course_lib.losses._common import FunctionLoss, labelled_batch, labelled_batch_ok, nan_unless

__all__ = ["NWayLoss", "PrototypicalLoss", "n_way_loss", "prototypical_loss"]


def n_way_loss(embeddings, n_way: int | None = None):
    """Per-row N-way comparison loss of a batch of episodes (see :class:`NWayLoss`).

    Args:
        embeddings: (B, D) embeddings, each episode ``n_way`` anchors then ``n_way`` candidates.
        n_way: classes per episode, an int >= 2, or None for one episode of B / 2 classes.

    Returns:
        The loss of each row, (B,): cross-entropy of anchor ``i`` over the candidates (and of
        candidate ``i`` over the anchors) with logits minus the squared distances.

    Raises:
        TypeError: a non-int ``n_way``.
        ValueError: embeddings that are not 2-D, a batch that is not a whole number of episodes.
    """
    emb = ops.convert_to_tensor(embeddings)
    if len(emb.shape) != 2:
        raise ValueError(f"embeddings must be 2-D (batch, dim), got shape {tuple(emb.shape)}")
    batch, dim = emb.shape
    if n_way is None:
        if batch is not None and batch % 2:
            raise ValueError(f"one episode needs an even batch (anchors then candidates), got "
                             f"{batch} rows")
        n = ops.shape(emb)[0] // 2
    else:
        n = checks.integer(n_way, "n_way", minimum=2)
        if batch is not None and batch % (2 * n):
            raise ValueError(f"a batch of episodes has a multiple of 2 * n_way = {2 * n} rows, "
                             f"got {batch}")
    pairs = ops.reshape(emb, (-1, 2, n, dim))
    anchors, candidates = pairs[:, 0], pairs[:, 1]                             # (E, N, D)
    diff = anchors[:, :, None, :] - candidates[:, None, :, :]
    logits = -ops.sum(ops.square(diff), axis=-1)                               # (E, N, N)
    # the diagonal holds the true pairs: anchor i over the candidates j, candidate j over anchors i
    a_to_c = -ops.diagonal(ops.log_softmax(logits, axis=2), axis1=1, axis2=2)
    c_to_a = -ops.diagonal(ops.log_softmax(logits, axis=1), axis1=1, axis2=2)
    return ops.reshape(ops.stack([a_to_c, c_to_a], axis=1), (-1,))


def _n_way_loss_of_batch(y_true, y_pred, n_way: int | None):
    """:func:`n_way_loss` of the embeddings ``y_pred``; ``y_true`` is not read."""
    return n_way_loss(y_pred, n_way)


@keras.saving.register_keras_serializable(package=PACKAGE)
class NWayLoss(FunctionLoss):
    """The N-way comparison loss: each anchor against N candidates at once, softmax over negative
    squared distances, cross-entropy with the true candidate, in both directions.

    ``y_pred`` is a batch of embeddings laid out episode by episode, each episode ``N`` anchors
    then their ``N`` candidates (anchor ``i`` and candidate ``i`` are two drawings of one class),
    as :func:`course_lib.pairs.episode_dataset` yields them; ``y_true`` is ignored. For anchor
    ``i`` the logits are ``-||a_i - c_j||^2`` over ``j``, and its loss is the cross-entropy with
    ``j = i``; likewise each candidate against the anchors. In one direction this is the loss
    of a 1-shot prototypical network (Snell et al. 2017: each prototype is one drawing, logits
    minus squared Euclidean distances); averaging both directions makes it symmetric, as the
    contrastive loss of CLIP (Radford et al. 2021) is. It is an N-pair-style objective, not the
    multi-class N-pair loss of Sohn (2016), which uses inner products and one direction. The
    training task is the one-shot test. The loss per row (B,) is
    computed by :func:`n_way_loss`, so Keras's mean is the average of both directions over all
    episodes. The squared distance has a finite gradient even when two embeddings are equal.

    Args:
        n_way: classes per episode, an int >= 2; None: the whole batch is one episode
            (N = batch / 2).
        reduction: how Keras reduces the per-row losses (default: the mean).
        name: the loss's name.
        dtype: the dtype of the loss's computations (None: Keras's float type).

    Raises:
        TypeError: a non-int ``n_way``.
        ValueError: ``n_way`` < 2; at call time, a batch that is not a whole number of episodes
            of ``2 * n_way`` rows, or embeddings that are not 2-D.
    """

    def __init__(self, n_way: int | None = None, reduction="sum_over_batch_size",
                 name: str = "n_way_loss", dtype=None):
        n_way = None if n_way is None else checks.integer(n_way, "n_way", minimum=2)
        super().__init__(_n_way_loss_of_batch, reduction=reduction, name=name, dtype=dtype,
                         n_way=n_way)
        self.n_way = n_way


def prototypical_loss(labels, embeddings, shots: int = 1):
    """Per-query loss of a prototypical network (Snell et al. 2017) on a labelled P x K batch.

    In each class of the batch the first ``shots`` rows (in batch order) are the support and the
    others the queries. A class's prototype is the mean of its support embeddings; each query
    is scored against every prototype of the batch with logits minus the squared Euclidean
    distance, and its loss is the cross-entropy with its own class. With ``shots=1`` and one
    query per class this is one direction of :func:`n_way_loss`.

    Args:
        labels: (B,) integer class labels.
        embeddings: (B, D) embeddings.
        shots: support rows per class, an int >= 1.

    Returns:
        The loss of each row, (B,): the query's cross-entropy, 0 for a support row (Keras's
        mean over the batch is then the mean over queries times the share of queries).
        Inside a traced graph (``tf.function``, ``fit``, XLA), where the labels have no values
        to raise on, a batch that the ValueError below would refuse gets NaN in every row.

    Raises:
        TypeError: a non-int ``shots``.
        ValueError: embeddings that are not 2-D, labels whose length is not the batch's, or
            (when the labels have values) fewer than 2 classes, or a class with no query
            (``shots`` rows or fewer).
    """
    shots = checks.integer(shots, "shots", minimum=1)
    lab, emb, found = labelled_batch(labels, embeddings, "a prototypical batch")
    if found is not None:
        classes, counts = found
        if counts.min() <= shots:
            raise ValueError(f"shots={shots} leaves class {classes[counts.argmin()]} with no "
                             f"query: it has {counts.min()} rows; every class needs more than "
                             f"shots rows")
    n = ops.shape(emb)[0]
    same = ops.cast(ops.equal(lab[:, None], lab[None, :]), emb.dtype)            # (B, B)
    earlier = ops.cast(ops.tril(ops.ones((n, n)), k=-1), emb.dtype)             # j < i
    rank = ops.sum(same * earlier, axis=1)                                       # (B,)
    support = ops.cast(rank < shots, emb.dtype)
    first = ops.cast(rank < 0.5, emb.dtype)          # one row per class stands for its prototype
    weights = same * support[None, :]                                            # (B, B)
    prototypes = ops.matmul(weights, emb) / ops.sum(weights, axis=1, keepdims=True)
    sq = (ops.sum(ops.square(emb), axis=1)[:, None] - 2.0 * ops.matmul(emb, ops.transpose(
        prototypes)) + ops.sum(ops.square(prototypes), axis=1)[None, :])         # (B, B)
    logits = ops.where(first[None, :] > 0, -sq, ops.cast(-1e9, emb.dtype))
    log_p = ops.log_softmax(logits, axis=1)
    own = ops.sum(ops.where((same * first[None, :]) > 0, log_p, ops.zeros_like(log_p)), axis=1)
    per_row = -own * (1.0 - support)
    if found is None:                    # traced: a bad batch is marked, not refused
        has_query = ops.min(ops.sum(same, axis=1)) > shots
        per_row = nan_unless(per_row, ops.logical_and(labelled_batch_ok(lab, emb), has_query))
    return per_row


def _prototypical_of_batch(y_true, y_pred, shots: int):
    """:func:`prototypical_loss` of the labels ``y_true`` and the embeddings ``y_pred``."""
    return prototypical_loss(y_true, y_pred, shots)


@keras.saving.register_keras_serializable(package=PACKAGE)
class PrototypicalLoss(FunctionLoss):
    """The loss of a prototypical network (Snell et al. 2017) on P x K batches: the first
    ``shots`` rows of each class are its support, their mean its prototype, and every other row
    is a query classified among the batch's prototypes by minus the squared Euclidean distance.

    A P x K batch (:func:`course_lib.pk_sampling.pk_dataset`) with K = ``shots`` + queries is a
    P-way ``shots``-shot training episode. ``y_true`` holds the (B,) class labels, ``y_pred``
    the (B, D) embeddings. Support rows contribute 0 to the per-row loss, so Keras's mean is the
    mean query loss times the share of queries in the batch (a constant for fixed P and K).

    Args:
        shots: support rows per class, an int >= 1 (each class of a batch needs more rows).
        reduction: how Keras reduces the per-row losses (default: the mean).
        name: the loss's name.
        dtype: the dtype of the loss's computations (None: Keras's float type).

    Raises:
        TypeError: a non-int ``shots``.
        ValueError: ``shots`` < 1; at call time, see :func:`prototypical_loss`.
    """

    def __init__(self, shots: int = 1, reduction="sum_over_batch_size",
                 name: str = "prototypical_loss", dtype=None):
        shots = checks.integer(shots, "shots", minimum=1)
        super().__init__(_prototypical_of_batch, reduction=reduction, name=name, dtype=dtype,
                         shots=shots)
        self.shots = shots
