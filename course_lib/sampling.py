"""The sampling engine behind every sampler of the course: one class table, one seeded stream.

- :class:`ClassTable` sorts the examples by class once and validates what every sampler needs
  to know about them, in one place and one wording: the labels, the classes asked for, the
  group of each class (a class must lie in one group), classes with too few examples, and
  groups with too few classes. Its one policy for groups too small for a sampler: they are
  skipped with one warning that names them, and only when no group is left is it an error.
- :func:`seeded_batches` turns a function of a stateless seed into the ``tf.data`` stream that
  ``fit`` reads, with the course's three lengths (a number of steps, an endless stream, or one
  epoch that is new on every pass).
- :func:`check_examples` validates the ``(x, y)`` arrays a sampler draws from.

:mod:`course_lib.pairs` (pairs, triplets, N-way episodes), :mod:`course_lib.pk_sampling`
(P x K batches), :func:`course_lib.oneshot.one_shot_tasks` (one-shot test tasks) and
:func:`course_lib.folders.path_pk_dataset` (batches from image files) are built on it.

Introduced in notebook 01.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import tensorflow as tf

from course_lib import checks

__all__ = ["ClassTable", "check_examples", "seeded_batches"]

AUTOTUNE = tf.data.AUTOTUNE
_LISTED = 10  # ids named in a message before it stops listing


@dataclasses.dataclass(frozen=True)
class ClassTable:
    """The examples of a labelled set, sorted by class, with each class's group.

    Build it with :meth:`build`; the arrays are read-only views a sampler indexes.

    Attributes:
        order: (M,) indices into the original ``y`` of the examples kept, sorted by class (a
            stable sort: within a class, in their original order).
        classes: (C,) the class ids, sorted.
        starts: (C,) where each class begins in ``order``.
        counts: (C,) how many examples each class has.
        class_group: (C,) the group id of each class, or None without groups.
    """

    order: np.ndarray
    classes: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    class_group: np.ndarray | None = None

    @classmethod
    def build(cls, y, classes=None, groups=None) -> ClassTable:
        """Sort ``y`` by class once, keeping ``classes`` only, and check ``groups``.

        Args:
            y: 1-D integer class ids, one per example.
            classes: the class ids to keep, or None for all of ``y``'s.
            groups: 1-D integer group ids, one per example (e.g. the alphabet), or None.

        Returns:
            The table.

        Raises:
            TypeError: ``y``, ``classes`` or ``groups`` not integers.
            ValueError: ``classes`` naming ids absent from ``y``, nothing left, ``groups`` of
                another length, or a class with examples in more than one group.
        """
        y = checks.class_labels(y, "y")
        keep = np.ones(len(y), bool)
        if classes is not None:
            classes = checks.class_labels(classes, "classes")
            missing = np.setdiff1d(classes, y)
            if missing.size:
                raise ValueError(f"classes {missing[:_LISTED].tolist()} are not present in y")
            keep = np.isin(y, classes)
        if not keep.any():
            raise ValueError("no examples to sample from (y is empty after selecting classes)")
        order = np.flatnonzero(keep)[np.argsort(y[keep], kind="stable")]
        ids, starts, counts = np.unique(y[order], return_index=True, return_counts=True)
        class_group = None
        if groups is not None:
            groups = checks.class_labels(groups, "groups")
            checks.same_length(groups, "groups", y, "y")
            sorted_groups = groups[order]
            class_group = sorted_groups[starts]
            spread = np.repeat(class_group, counts) != sorted_groups
            if spread.any():
                bad = np.unique(y[order][spread])
                raise ValueError(f"classes {bad[:_LISTED].tolist()} have examples in more than "
                                 "one group: each class must belong to a single group")
        return cls(order, ids, starts, counts, class_group)

    @property
    def num_classes(self) -> int:
        """The number of classes in the table."""
        return len(self.classes)

    def require_examples(self, minimum: int, need: str, remedy: str = "") -> None:
        """Raise unless every class has at least ``minimum`` examples.

        Args:
            minimum: the examples a class needs.
            need: what needs them, for the message (``"k=4 examples per class"``).
            remedy: what the caller can do about it, appended to the message, or ``""``.

        Raises:
            ValueError: some classes have fewer; the message names them and their sizes.
        """
        small = self.counts < minimum
        if small.any():
            n = int(small.sum())
            ids = self.classes[small][:_LISTED].tolist()
            sizes = self.counts[small][:_LISTED].tolist()
            what = "a single example" if max(sizes) == 1 else f"fewer than {minimum}"
            have = "class has" if n == 1 else "classes have"
            raise ValueError(f"{need}, but {n} {have} {what} (e.g. classes {ids} with {sizes} "
                             f"examples)" + (f": {remedy}" if remedy else ""))

    def require_classes(self, minimum: int, reason: str) -> None:
        """Raise unless the table holds at least ``minimum`` classes.

        Args:
            minimum: the classes a sampler needs.
            reason: what needs them, for the message (``"p=8 classes per batch"``).

        Raises:
            ValueError: fewer classes.
        """
        if self.num_classes < minimum:
            raise ValueError(f"{reason}, but y holds only {self.num_classes} classes")

    def eligible_groups(self, minimum: int, reason: str, stacklevel: int = 3) -> np.ndarray:
        """The groups with at least ``minimum`` classes; the others are skipped, said once.

        The one policy of the course's samplers for groups too small to draw from: one
        ``UserWarning`` names them and their classes are never drawn; an error only when no
        group is big enough.

        Args:
            minimum: the classes a group needs (``n_way``, ``p``).
            reason: the setting that needs them, for the messages (``"n_way=20"``).
            stacklevel: passed to ``warnings.warn`` so the warning points at the caller.

        Returns:
            The sorted ids of the eligible groups.

        Raises:
            ValueError: the table has no groups, or no group has ``minimum`` classes.
        """
        if self.class_group is None:
            raise ValueError("this table was built without groups")
        names, sizes = np.unique(self.class_group, return_counts=True)
        if sizes.max() < minimum:
            raise ValueError(f"{reason} needs {minimum} classes from one group, but the largest "
                             f"group holds only {sizes.max()} classes")
        small = names[sizes < minimum]
        if small.size:
            warnings.warn(f"groups {small[:_LISTED].tolist()} have fewer than {reason} classes "
                          "and are skipped: their classes are never drawn", stacklevel=stacklevel)
        return names[sizes >= minimum]


def check_examples(x, y, classes=None) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``(x, y)`` and keep only the examples of ``classes``.

    Args:
        x: examples (N, ...) with at least one feature axis, numeric and finite.
        y: integer class ids (N,).
        classes: the class ids to keep, or None for all.

    Returns:
        ``(x, y)`` as NumPy arrays, y as int64, restricted to ``classes``.

    Raises:
        TypeError: non-numeric x or non-integer y.
        ValueError: wrong dimensions, lengths that differ, NaN/inf, classes absent from y, or
            nothing left to sample from.
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"x must have a leading example axis and at least one feature axis, "
                         f"got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"x must be a numeric array, got dtype {x.dtype}")
    if not np.isfinite(x).all():
        raise ValueError("x contains non-finite values (NaN or inf)")
    y = checks.class_labels(y, "y")
    checks.same_length(x, "x", y, "y")
    if classes is not None:
        classes = np.asarray(classes)
        missing = np.setdiff1d(classes, y)
        if missing.size:
            raise ValueError(f"classes {missing.tolist()} are not present in y")
        keep = np.isin(y, classes)
        x, y = x[keep], y[keep]
    if len(y) == 0:
        raise ValueError("no examples to sample from (x is empty after selecting classes)")
    return x, y


def seeded_batches(steps, seed: int, make_batch, epoch_batches: int,
                   repeat: bool = False) -> tf.data.Dataset:
    """The batches of one sampler as ``tf.data``: ``make_batch(batch_seed)`` for a seed each.

    Every sampler of the course (pairs, triplets, P x K batches in memory or from files) is a
    function from a stateless seed (a shape-(2,) int64 tensor) to one batch; this turns it into
    the dataset ``fit`` reads, with the course's three lengths:

    - ``steps`` given: exactly ``steps`` batches, batch ``k`` drawn with seed ``(seed, k)``;
    - ``repeat=True``: the same sequence, endless (pass ``steps_per_epoch`` to ``fit``);
    - neither: one epoch of ``epoch_batches`` batches. Each pass over the dataset (each Keras
      epoch) draws new batches, keyed by a number ``tf.data`` draws from ``seed`` anew for every
      pass: the n-th pass is the same on every run.

    tf.data's autotuning is switched off: with it, ending a ``fit`` call waited up to ~10 s
    for its background thread (``make bench``), and a batch costs ~1 ms, far below a step.

    Args:
        steps: a number of batches (int >= 1), or None.
        seed: the sampler's seed, an int >= 0.
        make_batch: a function of a batch seed returning one batch (tensors or a nest of them).
        epoch_batches: the batches of one default epoch (used when ``steps`` is None and
            ``repeat`` is False).
        repeat: the endless stream.

    Returns:
        A ``tf.data.Dataset`` of the batches ``make_batch`` returns.

    Raises:
        TypeError: ``repeat`` not a bool, ``make_batch`` not callable. ValueError: ``steps``
        or ``epoch_batches`` < 1, a negative ``seed``, or both ``steps`` and ``repeat=True``.
    """
    repeat = checks.boolean(repeat, "repeat")
    checks.callable_value(make_batch, "make_batch")
    seed = checks.seed(seed)
    epoch_batches = checks.positive_int(epoch_batches, "epoch_batches")
    if steps is not None:
        steps = checks.positive_int(steps, "steps")
        if repeat:
            raise ValueError("pass either steps (a finite number of batches) or repeat=True "
                             "(endless), not both")
    key = tf.constant(seed, tf.int64)
    if repeat or steps is not None:
        count = tf.data.Dataset.counter() if repeat else tf.data.Dataset.range(steps)
        seeds = count.map(lambda k: tf.stack([key, k]))
    else:
        salt = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
        seeds = salt.flat_map(
            lambda s: tf.data.Dataset.range(epoch_batches).map(lambda k: tf.stack([s, k]))
        ).apply(tf.data.experimental.assert_cardinality(epoch_batches))
    options = tf.data.Options()
    options.autotune.enabled = False
    return (seeds.map(make_batch, num_parallel_calls=AUTOTUNE, deterministic=True)
            .prefetch(AUTOTUNE)
            .with_options(options))
