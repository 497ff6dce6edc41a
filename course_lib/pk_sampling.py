"""Class-balanced P x K batches: P classes, K examples of each, drawn on the fly as ``tf.data``.

The batches online triplet mining needs (Hermans, Beyer and Leibe 2017, "In Defense of the
Triplet Loss for Person Re-Identification"): every anchor has K - 1 positives and
(P - 1) K negatives in its own batch. Each batch is drawn by a few vectorised tensor ops from
the example indices sorted by class, seeded like :mod:`course_lib.pairs`: batch ``b`` of seed
``s`` is the same on every run. Within a batch the P classes are distinct and the K examples of
a class are distinct (drawn without replacement); the batch is laid out class by class.

Classes with fewer than K examples (the long tail of a real folder) do not stop the sampler: by
default (``small_classes="repeat"``) a class with 2 .. K-1 examples gives all of them, in a
random order, then repeats them in that order up to K; a class with a single example (no
positive pair) is left out of the batches; one printed line says how many classes are
concerned. ``small_classes="error"`` raises instead.

A group constraint (say, every class of a batch from one alphabet) makes the negatives harder:
pass ``groups``, one group id per example.

:class:`PKSampler` draws the indices; :func:`pk_dataset` gathers in-memory arrays with them, and
:func:`course_lib.folders.path_pk_dataset` decodes image files with the same sampler.

Introduced in notebook 07.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from course_lib import checks
from course_lib.sampling import ClassTable, seeded_batches

__all__ = ["PKSampler", "epoch_batches", "pk_dataset", "pk_indices"]


class PKSampler:
    """Draws P x K batches of example indices from class labels (and optional groups).

    Args:
        y: 1-D integer class labels, one per example.
        p: classes per batch, >= 2 (a triplet needs a negative class).
        k: examples per class in a batch, >= 2 (a triplet needs a positive).
        groups: optional 1-D integer group ids, one per example (e.g. the alphabet); then the
            P classes of a batch all come from one group. A class must lie in a single group.
        classes: optional class ids to sample from (all classes of ``y`` when None).
        small_classes: what to do with classes of fewer than ``k`` examples: ``"repeat"``
            (default: 2 .. k-1 examples are drawn all, then repeated up to k; single-example
            classes are left out; said in one printed line) or ``"error"`` (raise).
        verbose: print that line, a bool (False: nothing is printed; the counts are in
            ``small_classes_line``).

    Raises:
        TypeError: ``y``/``groups`` not integers, ``p``/``k`` not ints.
        ValueError: ``p`` or ``k`` < 2, fewer than ``p`` classes (or no group with ``p``
            classes), a class with fewer than ``k`` examples (with ``small_classes="error"``),
            a class spread over two groups, ``classes`` naming ids absent from ``y``, ``groups``
            of another length, an unknown ``small_classes``.

    Attributes:
        p, k: the batch layout; ``batch_size`` = p * k.
        classes: the class ids sampled from, sorted.
        labels: ``y`` as validated, an int64 array (the one check of ``y`` on the path of
            :func:`pk_dataset` and ``folders.path_pk_dataset``).
        epoch_batches: the batches of one default epoch (see :func:`epoch_batches`).
    """

    def __init__(self, y, p: int, k: int, groups=None, classes=None,
                 small_classes: str = "repeat", verbose: bool = True):
        verbose = checks.boolean(verbose, "verbose")
        self.p = checks.integer(p, "p", minimum=2)
        self.k = checks.integer(k, "k", minimum=2)
        self.batch_size = self.p * self.k
        checks.one_of(small_classes, "small_classes", ("repeat", "error"))
        self.small_classes_line = ""
        table = ClassTable.build(y, classes=classes, groups=groups)     # checks y, once
        self.labels = np.asarray(y).astype(np.int64)
        if small_classes == "error":
            table.require_examples(self.k, f"k={self.k} examples per class",
                                   "lower k or leave those classes out with classes=...")
        else:
            table, self.small_classes_line = _tail_table(table, y, self.k, groups)
            if verbose and self.small_classes_line:
                print(self.small_classes_line)
        order, starts, counts = table.order, table.starts, table.counts
        self.epoch_batches = _epoch_length(int(counts.sum()), self.batch_size)
        table.require_classes(self.p, f"p={self.p} classes per batch")
        self.classes = table.classes
        self._eligible = np.arange(table.num_classes)   # class slots a batch can start from
        self._class_group = None
        if groups is not None:
            eligible = table.eligible_groups(self.p, f"p={self.p}", stacklevel=3)
            self._eligible = np.flatnonzero(np.isin(table.class_group, eligible))
            self._class_group = tf.constant(table.class_group, tf.int64)
        self._order = tf.constant(order, tf.int64)
        self._start = tf.constant(starts, tf.int64)
        self._count = tf.constant(counts, tf.int64)
        self._max_count = int(counts.max())
        self._width = max(self._max_count, self.k)     # the draw's width; == max_count as before

    @staticmethod
    def _randint(seed, high):
        """One uniform int in [0, high) for a Python int ``high``."""
        return tf.random.stateless_uniform([], seed=seed, minval=0, maxval=high, dtype=tf.int64)

    def batch(self, seed) -> tf.Tensor:
        """The indices (into ``y``) of one batch, shape (p * k,), class by class.

        Args:
            seed: a shape-(2,) int tensor, the stateless seed of this batch.

        Returns:
            An int64 tensor of ``p * k`` example indices.
        """
        s = tf.random.experimental.stateless_split(seed, 3)
        num_classes = len(self.classes)
        keys = tf.random.stateless_uniform([num_classes], seed=s[0])
        if self._class_group is not None:
            first = tf.gather(tf.constant(self._eligible, tf.int64),
                              self._randint(s[2], len(self._eligible)))
            group = tf.gather(self._class_group, first)
            keys += 2.0 * tf.cast(self._class_group != group, tf.float32)  # other groups last
        chosen = tf.math.top_k(-keys, self.p).indices                   # p smallest keys
        count, start = tf.gather(self._count, chosen), tf.gather(self._start, chosen)
        u = tf.random.stateless_uniform([self.p, self._width], seed=s[1])
        inside = tf.range(self._width, dtype=tf.int64)[None, :] < count[:, None]
        u = tf.where(inside, u, 2.0)                                     # padding sorts last
        within = tf.cast(tf.math.top_k(-u, self.k).indices, tf.int64)   # k distinct per class
        # A class of count < k: its count distinct draws come first, then repeat in that order.
        cycle = tf.range(self.k, dtype=tf.int64)[None, :] % count[:, None]
        within = tf.gather(within, cycle, batch_dims=1)
        return tf.gather(self._order, tf.reshape(start[:, None] + within, [-1]))


def _tail_table(table: ClassTable, y, k: int, groups) -> tuple[ClassTable, str]:
    """``table`` without its single-example classes, and the one line on the small classes
    ("" when there are none)."""
    small, single = table.counts < k, table.counts < 2
    if not small.any():
        return table, ""
    kept = table.classes[~single]
    parts = []
    if (small & ~single).any():
        parts.append(f"{int((small & ~single).sum())} with 2..{k - 1} examples are drawn with "
                     f"repetition up to k={k}")
    if single.any():
        parts.append(f"{int(single.sum())} with a single example are left out of the batches "
                     f"(keep them for a gallery or a test), e.g. class "
                     f"{table.classes[single][0]}")
    line = (f"P x K sampling: {int(small.sum())} of {table.num_classes} classes have fewer than "
            f"k={k} examples: " + "; ".join(parts))
    if not len(kept):
        raise ValueError(f"k={k} examples per class, but every class has a single example: "
                         "a triplet needs two images of a class")
    return (ClassTable.build(y, classes=kept, groups=groups) if single.any() else table), line


def pk_indices(y, p: int, k: int, num_batches: int, seed: int = 0, groups=None,
               classes=None, small_classes: str = "repeat", verbose: bool = True) -> np.ndarray:
    """The example indices of the first ``num_batches`` batches of :func:`pk_dataset`.

    Args:
        y, p, k, groups, classes, small_classes, verbose: as for :class:`PKSampler`.
        num_batches: how many batches, >= 1.
        seed: the seed, an int >= 0; the same seed gives the batches of ``pk_dataset``.

    Returns:
        An int64 array of shape (num_batches, p * k).

    Raises:
        TypeError, ValueError: as for :class:`PKSampler`; bad ``num_batches`` or ``seed``.
    """
    sampler = PKSampler(y, p, k, groups=groups, classes=classes, small_classes=small_classes,
                        verbose=verbose)
    seed = checks.seed(seed)
    num_batches = checks.positive_int(num_batches, "num_batches")
    return np.stack([sampler.batch(tf.constant([seed, b], tf.int64)).numpy()
                     for b in range(num_batches)])


def epoch_batches(y, p: int, k: int, classes=None) -> int:
    """How many P x K batches make one default epoch: about one look at each example.

    Args:
        y: 1-D integer class labels.
        p: classes per batch.
        k: examples per class.
        classes: optional class ids sampled from (None: all of ``y``).

    Returns:
        ``ceil(n / (p * k))``, ``n`` the number of examples of the sampled classes.
    """
    y = checks.class_labels(y, "y")
    n = len(y) if classes is None else int(np.isin(y, np.asarray(classes)).sum())
    return _epoch_length(n, checks.positive_int(p, "p") * checks.positive_int(k, "k"))


def _epoch_length(n: int, batch_size: int) -> int:
    """``ceil(n / batch_size)`` batches, at least 1."""
    return max(1, -(-n // batch_size))


def pk_dataset(x, y, p: int, k: int, seed: int = 0, steps: int | None = None, groups=None,
               classes=None, augment=None, repeat: bool = False,
               small_classes: str = "repeat", verbose: bool = True) -> tf.data.Dataset:
    """Batches of ``(images, labels)``: p classes x k examples each, labels the class ids of ``y``.

    Feed a model whose output is the embedding, compiled with a loss of
    :mod:`course_lib.losses.mining` (``y_true`` = class ids, ``y_pred`` = embeddings).

    Args:
        x: examples, shape (N, ...), any numeric dtype (held as one in-memory constant; for image
            files that do not fit in memory use ``folders.path_pk_dataset``).
        y: 1-D integer class labels, length N.
        p: classes per batch (>= 2).
        k: examples per class (>= 2).
        seed: an int >= 0; batch ``b`` is the same on every run.
        steps: exactly this many batches (batch ``b`` drawn with seed ``(seed, b)``, the
            batches of :func:`pk_indices`), or None for one epoch of :func:`epoch_batches`
            batches, new ones on every pass (as ``pairs.pair_dataset``).
        groups: optional group id per example: the classes of a batch then share one group.
        classes: optional class ids to sample from (e.g. the training classes).
        augment: optional function mapping a batch of examples to a batch of examples.
        repeat: True for the endless stream whose first ``N`` batches are those of
            ``steps=N`` (then pass ``steps_per_epoch`` to ``fit``).
        small_classes: classes of fewer than ``k`` examples, as for :class:`PKSampler`
            (``"repeat"``, the default, or ``"error"``).
        verbose: print the sampler's line on small classes, a bool.

    Returns:
        A ``tf.data.Dataset`` of ``(x_batch, y_batch)``, shapes (p*k, ...) and (p*k,) int32.

    Raises:
        TypeError, ValueError: as for :class:`PKSampler`; ``x`` not numeric, holding NaN or inf,
        or of another length than ``y``; ``augment`` not callable.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"x must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim < 1:
        raise ValueError(f"x must have a leading example axis, got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1))
        raise ValueError(f"x contains non-finite values (NaN or inf) in {len(bad)} example(s), "
                         f"e.g. x[{bad[0]}]")
    if augment is not None:
        checks.callable_value(augment, "augment")
    sampler = PKSampler(y, p, k, groups=groups, classes=classes,    # the one check of y
                        small_classes=small_classes, verbose=verbose)
    checks.same_length(arr, "x", sampler.labels, "y")
    images = tf.constant(arr)
    labels = tf.constant(sampler.labels.astype(np.int32))

    def make_batch(batch_seed):
        idx = sampler.batch(batch_seed)
        batch = tf.gather(images, idx)
        if augment is not None:
            batch = augment(batch)
        return batch, tf.gather(labels, idx)

    return seeded_batches(steps, checks.seed(seed), make_batch, sampler.epoch_batches, repeat)
