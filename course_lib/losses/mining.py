"""Triplet losses with online mining inside a batch: batch-all, batch-hard and semi-hard
(notebook 07).

Each loss takes ``(labels, embeddings)`` of one batch (best a P x K batch from
:mod:`course_lib.pk_sampling`), builds the batch's pairwise distance matrix with ``keras.ops``
and forms its triplets (anchor ``a``, positive ``p`` of the same class, negative ``n`` of
another class) from it, so no triplet is sampled offline:

- **batch-all** (Hermans, Beyer and Leibe 2017, "In Defense of the Triplet Loss for Person
  Re-Identification"): every valid triplet, ``max(d(a,p) - d(a,n) + margin, 0)``, averaged
  over the triplets that are still active (loss > 0; the variant the paper calls BA≠0) or over
  all valid triplets.
- **batch-hard** (same paper): per anchor, its farthest positive against its nearest negative;
  averaged over anchors.
- **semi-hard** (Schroff, Kalenichenko and Philbin 2015, "FaceNet", sec. 3.2): per
  anchor-positive pair, the nearest negative that is still farther than the positive (so the
  triplet is not yet violated but may lie within the margin); when no negative is farther, the
  farthest negative is used. Averaged over anchor-positive pairs.
- **all-pairs contrastive** (the contrastive loss of Hadsell, Chopra and LeCun 2006 on every pair
  of the batch, the way Musgrave, Belongie and Lim 2020 fed every loss the same batches): the
  mean over the same-class pairs of ``d^2 / 2`` plus the mean over the different-class pairs of
  ``max(margin - d, 0)^2 / 2``. Each kind is averaged on its own, so the few same-class pairs
  of a P x K batch are not outweighed by its many different-class pairs.

Distances are Euclidean, ``sqrt(d^2 + epsilon)`` (epsilon keeps the gradient finite when two
embeddings coincide, as in :class:`course_lib.layers.EuclideanDistance`), or squared Euclidean
with ``squared=True`` (FaceNet's choice). Compile a model that outputs embeddings with one of the
losses; ``y_true`` is the batch's class ids.

As Keras's own losses do, each function returns one value per example of the batch (per
anchor), and the Keras loss averages them. The losses couple the examples of a batch, so an
anchor's value is its *share* of the paper's batch loss: the sum of its terms (its triplets, its
hardest triplet, its anchor-positive pairs) divided by the number of terms the paper averages
over, times the batch size. The mean of the shares over the batch is exactly the paper's
average. ``sample_weight`` (rarely wanted here) weights each anchor's share.

Introduced in notebook 07.
"""

from __future__ import annotations

import keras
from keras import ops

from course_lib import PACKAGE, checks, distances
from course_lib.losses._common import FunctionLoss, check_margin

__all__ = [
    "ActiveTripletFraction",
    "BatchAllTripletLoss",
    "BatchContrastiveLoss",
    "BatchHardTripletLoss",
    "SemiHardTripletLoss",
    "active_triplet_fraction",
    "batch_all_triplet_loss",
    "batch_contrastive_loss",
    "batch_hard_triplet_loss",
    "semi_hard_triplet_loss",
]

_AVERAGES = ("active", "all")
_METRIC_INPUTS = ("embeddings", "distances")


# --------------------------------------------------------------------------- distances and masks


def _embeddings(embeddings):
    e = ops.convert_to_tensor(embeddings)
    if len(e.shape) != 2:
        raise ValueError(f"embeddings must be 2-D (batch, dim), got shape {tuple(e.shape)}")
    if keras.backend.standardize_dtype(e.dtype) != "float32":
        e = ops.cast(e, "float32")          # float16 squares overflow; ints need a float type
    return e


def _options(margin, squared, epsilon) -> tuple[float, bool, float]:
    return (check_margin(margin), checks.boolean(squared, "squared"),
            checks.number(epsilon, "epsilon", low=0.0))


def _masks(labels, embeddings):
    """(same-class pairs without the diagonal, different-class pairs), float32 (batch, batch)."""
    labels = ops.reshape(ops.convert_to_tensor(labels), (-1,))
    n_labels, n_emb = labels.shape[0], embeddings.shape[0]
    if n_labels is not None and n_emb is not None and n_labels != n_emb:
        raise ValueError(f"labels has {n_labels} entries but embeddings has {n_emb} rows")
    same = ops.cast(ops.equal(ops.expand_dims(labels, 1), ops.expand_dims(labels, 0)), "float32")
    positive = same * (1.0 - ops.eye(ops.shape(embeddings)[0], dtype="float32"))
    return positive, 1.0 - same


def _batch_geometry(labels, embeddings, squared, epsilon):
    """The batch's distance matrix and its (positive, negative) masks, each (batch, batch)."""
    e = _embeddings(embeddings)
    return (distances.keras_pairwise(e, squared, epsilon), *_masks(labels, e))


def _triplet_terms(labels, embeddings, margin, squared, epsilon):
    """Loss of every (a, p, n) and its validity mask, both (batch, batch, batch)."""
    d, positive, negative = _batch_geometry(labels, embeddings, squared, epsilon)
    loss = ops.relu(ops.expand_dims(d, 2) - ops.expand_dims(d, 1) + margin)
    valid = ops.expand_dims(positive, 2) * ops.expand_dims(negative, 1)
    return loss * valid, valid


def _safe_mean(total, count):
    return total / ops.maximum(count, 1.0)


def _shares(per_anchor, count):
    """Each anchor's share of the batch loss ``sum(per_anchor) / count`` (0 when count is 0):
    ``per_anchor / count * batch``, so that the mean over the batch is the batch loss.

    Divided first and multiplied second, so the gradient of the mean of the shares is
    ``1 / count`` per term, the gradient of the batch loss itself, whenever
    ``(1 / batch) * batch`` rounds to 1 in float32 (every batch size that is a power of two
    times 1, 3 or 5, among others: 48 and 64 included).
    """
    batch = ops.cast(ops.shape(per_anchor)[0], "float32")
    return per_anchor / ops.maximum(count, 1.0) * batch


# --------------------------------------------------------------------------- the losses


def batch_all_triplet_loss(labels, embeddings, margin: float = 1.0, squared: bool = False,
                           epsilon: float = 1e-6, average: str = "active"):
    """Mean triplet loss over every valid triplet of the batch (Hermans et al. 2017, batch all).

    Args:
        labels: class ids, shape (batch,) or (batch, 1) (any numeric dtype; compared exactly).
        embeddings: (batch, dim).
        margin: the triplet margin, > 0.
        squared: use squared Euclidean distances.
        epsilon: added under the square root (see :func:`course_lib.distances.keras_pairwise`).
        average: ``"active"`` averages over the triplets with a positive loss (0 when none is);
            ``"all"`` over all valid triplets.

    Returns:
        Each anchor's share, a float32 tensor (batch,): the sum of its triplets' losses over the
        number of triplets averaged over, times the batch size; its mean is the batch loss.

    Raises:
        TypeError: ``margin`` or ``epsilon`` not a number, ``squared`` not a bool.
        ValueError: bad shapes, ``margin`` <= 0, ``average`` not "active" or "all".
    """
    margin, squared, epsilon = _options(margin, squared, epsilon)
    checks.one_of(average, "average", _AVERAGES)
    loss, valid = _triplet_terms(labels, embeddings, margin, squared, epsilon)
    count = ops.sum(ops.cast(loss > 0, "float32")) if average == "active" else ops.sum(valid)
    return _shares(ops.sum(loss, axis=(1, 2)), count)


def batch_hard_triplet_loss(labels, embeddings, margin: float = 1.0, squared: bool = False,
                            epsilon: float = 1e-6):
    """Per anchor, farthest positive against nearest negative, averaged (Hermans et al. 2017).

    Anchors without a positive or without a negative in the batch are left out of the mean.

    Args:
        labels, embeddings, margin, squared, epsilon: as for :func:`batch_all_triplet_loss`.

    Returns:
        Each anchor's share, a float32 tensor (batch,): its hardest triplet's loss over the
        number of anchors that have a positive and a negative, times the batch size (0 for an
        anchor without); its mean is the batch loss.

    Raises:
        TypeError: ``margin`` or ``epsilon`` not a number, ``squared`` not a bool.
        ValueError: bad shapes or ``margin`` <= 0.
    """
    margin, squared, epsilon = _options(margin, squared, epsilon)
    d, positive, negative = _batch_geometry(labels, embeddings, squared, epsilon)
    hardest_positive = ops.max(d * positive, axis=1)                  # d >= 0: masked -> 0
    far = ops.stop_gradient(ops.max(d)) + 1.0
    hardest_negative = ops.min(d + (1.0 - negative) * far, axis=1)    # masked -> beyond any d
    valid = ops.cast((ops.sum(positive, 1) > 0) & (ops.sum(negative, 1) > 0), "float32")
    per_anchor = ops.relu(hardest_positive - hardest_negative + margin) * valid
    return _shares(per_anchor, ops.sum(valid))


def semi_hard_triplet_loss(labels, embeddings, margin: float = 1.0, squared: bool = False,
                           epsilon: float = 1e-6):
    """Per anchor-positive pair, the nearest negative farther than the positive (Schroff et al.).

    When no negative of the anchor is farther than the positive, the farthest negative is used.
    Pairs whose anchor has no negative in the batch are left out of the mean.

    Args:
        labels, embeddings, margin, squared, epsilon: as for :func:`batch_all_triplet_loss`.

    Returns:
        Each anchor's share, a float32 tensor (batch,): the sum of its anchor-positive pairs'
        losses over the number of such pairs in the batch, times the batch size; its mean is
        the batch loss.

    Raises:
        TypeError: ``margin`` or ``epsilon`` not a number, ``squared`` not a bool.
        ValueError: bad shapes or ``margin`` <= 0.
    """
    margin, squared, epsilon = _options(margin, squared, epsilon)
    d, positive, negative = _batch_geometry(labels, embeddings, squared, epsilon)
    d_ap = ops.expand_dims(d, 2)                       # (a, p, 1)
    d_an = ops.expand_dims(d, 1)                       # (a, 1, n)
    neg = ops.expand_dims(negative, 1)
    farther = neg * ops.cast(d_an > d_ap, "float32")   # (a, p, n): semi-hard candidates
    far = ops.stop_gradient(ops.max(d)) + 1.0
    nearest_farther = ops.min(d_an + (1.0 - farther) * far, axis=2)
    farthest = ops.max(d_an * neg, axis=2)
    chosen = ops.where(ops.sum(farther, axis=2) > 0, nearest_farther, farthest)
    valid = positive * ops.cast(ops.sum(negative, 1, keepdims=True) > 0, "float32")
    per_pair = ops.relu(d - chosen + margin) * valid
    return _shares(ops.sum(per_pair, axis=1), ops.sum(valid))


def batch_contrastive_loss(labels, embeddings, margin: float = 1.0, squared: bool = False,
                           epsilon: float = 1e-6, average: str = "all"):
    """The contrastive loss on every pair of the batch: same-class and different-class pairs
    averaged separately, then added.

    Args:
        labels, embeddings, margin, squared, epsilon: as for :func:`batch_all_triplet_loss`
            (``squared`` compares squared distances with the margin, as the others do).
        average: ``"all"`` averages each kind over all its pairs; ``"active"`` over its pairs
            with a positive loss only (as batch-all's default, and as the contrastive loss
            of Musgrave et al. 2020 averages its non-zero terms), so that the many
            different-class pairs already beyond the margin do not dilute the others.

    Returns:
        Each anchor's share, a float32 tensor (batch,): its same-class terms over the number
        of same-class pairs averaged over plus its different-class terms over the number of
        different-class pairs averaged over, times the batch size; its mean is the batch loss.
        A batch without such pairs contributes 0 for that kind.

    Raises:
        TypeError: ``margin`` or ``epsilon`` not a number, ``squared`` not a bool.
        ValueError: bad shapes, ``margin`` <= 0, ``average`` not "active" or "all".
    """
    margin, squared, epsilon = _options(margin, squared, epsilon)
    checks.one_of(average, "average", _AVERAGES)
    d, positive, negative = _batch_geometry(labels, embeddings, squared, epsilon)
    pull = 0.5 * ops.square(d) * positive
    push = 0.5 * ops.square(ops.relu(margin - d)) * negative
    if average == "active":
        n_pull, n_push = ops.sum(ops.cast(pull > 0, "float32")), ops.sum(ops.cast(push > 0,
                                                                                  "float32"))
    else:
        n_pull, n_push = ops.sum(positive), ops.sum(negative)
    return (_shares(ops.sum(pull, axis=1), n_pull) + _shares(ops.sum(push, axis=1), n_push))


def active_triplet_fraction(labels, embeddings, margin: float = 1.0, squared: bool = False,
                            epsilon: float = 1e-6):
    """Fraction of the batch's valid triplets whose loss is still positive (0 when none is valid).

    Near 0 means almost every triplet is already satisfied by the margin: batch-all's average
    over all triplets then shrinks and its gradient with it.

    Args:
        labels, embeddings, margin, squared, epsilon: as for :func:`batch_all_triplet_loss`.

    Returns:
        A scalar float32 tensor in [0, 1].

    Raises:
        TypeError: ``margin`` or ``epsilon`` not a number, ``squared`` not a bool.
        ValueError: bad shapes or ``margin`` <= 0.
    """
    margin, squared, epsilon = _options(margin, squared, epsilon)
    loss, valid = _triplet_terms(labels, embeddings, margin, squared, epsilon)
    return _safe_mean(ops.sum(ops.cast(loss > 0, "float32")), ops.sum(valid))


# --------------------------------------------------------------------------- Keras objects


class _MiningLoss(FunctionLoss):
    """A mining function as a Keras loss (``y_true`` = class ids): the mean of the anchors'
    shares. Each subclass names its function in ``_function``; the options are documented once,
    on ``__init__``."""

    _function = None        # the mining function of a subclass, as a staticmethod

    def __init__(self, margin: float = 1.0, squared: bool = False, epsilon: float = 1e-6,
                 reduction="sum_over_batch_size", name: str | None = None, dtype=None,
                 **fn_kwargs):
        """The options every mining loss takes.

        Args:
            margin: the margin of the hinge, > 0.
            squared: True to compare squared Euclidean distances.
            epsilon: added under the square root, so the gradient is finite at equal
                embeddings.
            reduction: how Keras reduces the shares (default: their mean, the batch loss).
            name: the loss's name in ``fit``'s logs (None: the function's name, e.g.
                ``"batch_hard_triplet_loss"``).
            dtype: the dtype of the loss's computations (None: Keras's float type).
            **fn_kwargs: further options of the function (batch-all's ``average``).

        Raises:
            TypeError: ``margin`` or ``epsilon`` not a number, ``squared`` not a bool.
            ValueError: ``margin`` <= 0 or ``epsilon`` < 0.
        """
        margin, squared, epsilon = _options(margin, squared, epsilon)
        fn = type(self)._function
        super().__init__(fn, reduction=reduction, name=fn.__name__ if name is None else name,
                         dtype=dtype, margin=margin, squared=squared, epsilon=epsilon,
                         **fn_kwargs)
        self.margin, self.squared, self.epsilon = margin, squared, epsilon


@keras.saving.register_keras_serializable(package=PACKAGE)
class BatchAllTripletLoss(_MiningLoss):
    """Keras loss of :func:`batch_all_triplet_loss`: the mean of the anchors' shares.

    Args:
        margin, squared, epsilon, reduction, name, dtype: the options of every mining loss
            (``_MiningLoss.__init__``, shown by ``help(BatchHardTripletLoss)``).
        average: how the active triplets' losses are averaged, as in the function.

    Raises:
        TypeError, ValueError: as for every mining loss; ``average`` not "active" or "all".
    """

    _function = staticmethod(batch_all_triplet_loss)

    def __init__(self, margin: float = 1.0, squared: bool = False, epsilon: float = 1e-6,
                 average: str = "active", reduction="sum_over_batch_size",
                 name: str = "batch_all_triplet_loss", dtype=None):
        average = checks.one_of(average, "average", _AVERAGES)
        super().__init__(margin, squared, epsilon, reduction, name, dtype, average=average)
        self.average = average


@keras.saving.register_keras_serializable(package=PACKAGE)
class BatchHardTripletLoss(_MiningLoss):
    """Keras loss of :func:`batch_hard_triplet_loss`: the mean of the anchors' shares.

    Takes the options of every mining loss (``margin``, ``squared``, ``epsilon``,
    ``reduction``, ``name``, ``dtype``; see ``__init__``).
    """

    _function = staticmethod(batch_hard_triplet_loss)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SemiHardTripletLoss(_MiningLoss):
    """Keras loss of :func:`semi_hard_triplet_loss`: the mean of the anchors' shares.

    Takes the options of every mining loss (``margin``, ``squared``, ``epsilon``,
    ``reduction``, ``name``, ``dtype``; see ``__init__``).
    """

    _function = staticmethod(semi_hard_triplet_loss)


@keras.saving.register_keras_serializable(package=PACKAGE)
class BatchContrastiveLoss(_MiningLoss):
    """Keras loss of :func:`batch_contrastive_loss`: the mean of the anchors' shares.

    Args:
        margin, squared, epsilon, reduction, name, dtype: the options of every mining loss
            (``_MiningLoss.__init__``, shown by ``help(BatchHardTripletLoss)``).
        average: ``"all"`` or ``"active"`` pairs of each kind averaged, as in the function.

    Raises:
        TypeError, ValueError: as for every mining loss; ``average`` not "active" or "all".
    """

    _function = staticmethod(batch_contrastive_loss)

    def __init__(self, margin: float = 1.0, squared: bool = False, epsilon: float = 1e-6,
                 average: str = "all", reduction="sum_over_batch_size",
                 name: str = "batch_contrastive_loss", dtype=None):
        average = checks.one_of(average, "average", _AVERAGES)
        super().__init__(margin, squared, epsilon, reduction, name, dtype, average=average)
        self.average = average


@keras.saving.register_keras_serializable(package=PACKAGE)
class ActiveTripletFraction(keras.metrics.Mean):
    """Metric: the fraction of a batch's triplets whose loss is still positive, averaged over
    the batches ``fit`` sees.

    Compiled beside the loss, it is computed inside ``fit``: on the training batches, with the
    encoder in training mode (batch normalisation on the batch's own statistics), so it sees
    the distances the gradient sees: the share of each batch that still teaches. Two inputs:

    - ``inputs="embeddings"``: ``(class ids, embeddings)`` of a P x K batch, compiled with a
      mining loss; every valid triplet of the batch counts (:func:`active_triplet_fraction`).
    - ``inputs="distances"``: a model whose output stacks ``[d(a, p), d(a, n)]`` on the last
      axis (compiled with :class:`course_lib.losses.TripletLoss`); each given triplet counts
      once and ``y_true`` is not read.

    Args:
        margin: the loss's margin, a number > 0.
        squared, epsilon: as for the mining loss it accompanies (``"embeddings"`` only).
        inputs: ``"embeddings"`` or ``"distances"``, as above.
        name: the metric's name in ``fit``'s logs.
        **kwargs: passed to ``keras.metrics.Mean`` (e.g. ``dtype``).

    Raises:
        TypeError: ``margin`` or ``epsilon`` not a number, ``squared`` not a bool.
        ValueError: ``margin`` <= 0 or ``epsilon`` < 0, ``inputs`` not one of the two; at
            update time, a ``sample_weight`` with ``"embeddings"`` (triplets couple the
            examples of a batch).
    """

    def __init__(self, margin: float = 1.0, squared: bool = False, epsilon: float = 1e-6,
                 inputs: str = "embeddings", name: str = "active_triplets", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin, self.squared, self.epsilon = _options(margin, squared, epsilon)
        self.inputs = checks.one_of(inputs, "inputs", _METRIC_INPUTS)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.inputs == "distances":
            y_pred = ops.convert_to_tensor(y_pred)
            active = ops.cast(y_pred[..., 0] - y_pred[..., 1] + self.margin > 0, "float32")
            return super().update_state(active, sample_weight=sample_weight)
        if sample_weight is not None:
            raise ValueError("ActiveTripletFraction takes no sample_weight with inputs="
                             "'embeddings': triplets couple the examples of a batch")
        return super().update_state(
            active_triplet_fraction(y_true, y_pred, self.margin, self.squared, self.epsilon))

    def get_config(self):
        return {**super().get_config(), "margin": self.margin, "squared": self.squared,
                "epsilon": self.epsilon, "inputs": self.inputs}
