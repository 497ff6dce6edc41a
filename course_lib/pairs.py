"""Pairs, triplets and N-way one-shot tasks, sampled on the fly as seeded, vectorised ``tf.data``.

No pair is ever materialised up front and no Python loop runs per pair: each batch is drawn
by a few tensor ops from the example indices sorted by class. Batch ``k`` of seed ``s`` is the
same on every run (stateless random ops keyed by ``(s, k)``), whatever the parallelism.

Introduced in notebook 01.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from course_lib import checks

__all__ = [
    "ClassIndex",
    "check_examples",
    "cross_pair_dataset",
    "one_shot_tasks",
    "pair_dataset",
    "pair_indices",
    "seeded_batches",
    "triplet_dataset",
]

AUTOTUNE = tf.data.AUTOTUNE


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


class ClassIndex:
    """Example indices grouped by class, for drawing same-class and other-class partners fast.

    Args:
        y: integer class ids (N,).
        need_positive: require two examples per class (for positive pairs).
        need_negative: require two classes (for negative pairs).

    Raises:
        ValueError: a class with a single example, or a single class, when required.
    """

    def __init__(self, y: np.ndarray, need_positive: bool = True, need_negative: bool = True):
        order = np.argsort(y, kind="stable")
        classes, starts, counts = np.unique(y[order], return_index=True, return_counts=True)
        if need_positive and counts.min() < 2:
            lonely = classes[counts < 2].tolist()
            raise ValueError(f"classes {lonely} have a single example: a positive pair needs two")
        if need_negative and len(classes) < 2:
            raise ValueError("a negative pair needs at least two classes in y")
        self.classes = classes
        self.num_classes = len(classes)
        class_pos = np.repeat(np.arange(len(classes)), counts)
        self._order = tf.constant(order, tf.int64)
        self._class_of = tf.constant(class_pos, tf.int64)
        self._start = tf.constant(starts, tf.int64)
        self._count = tf.constant(counts, tf.int64)
        self.size = len(y)

    @staticmethod
    def _randint(seed, shape, low, high):
        """Uniform ints in [low, high) elementwise (high may be a tensor)."""
        u = tf.random.stateless_uniform(shape, seed=seed, dtype=tf.float64)
        span = tf.cast(high - low, tf.float64)
        return low + tf.minimum(tf.cast(tf.floor(u * span), tf.int64), tf.cast(high - low - 1, tf.int64))

    def anchors(self, seed, n):
        """``n`` positions (into the class-sorted order) drawn uniformly over examples."""
        return self._randint(seed, [n], tf.constant(0, tf.int64), tf.constant(self.size, tf.int64))

    def positives(self, seed, pos):
        """For each sorted position, another example of the same class (never itself)."""
        c = tf.gather(self._class_of, pos)
        start, count = tf.gather(self._start, c), tf.gather(self._count, c)
        step = self._randint(seed, tf.shape(pos), tf.ones_like(count), count)
        return start + (pos - start + step) % count

    def negatives(self, seed, pos):
        """For each sorted position, an example of a different class (classes drawn uniformly)."""
        seeds = tf.random.experimental.stateless_split(seed, 2)
        c = tf.gather(self._class_of, pos)
        shift = self._randint(seeds[0], tf.shape(pos), tf.constant(1, tf.int64),
                              tf.constant(self.num_classes, tf.int64))
        other = (c + shift) % self.num_classes
        start, count = tf.gather(self._start, other), tf.gather(self._count, other)
        return start + self._randint(seeds[1], tf.shape(pos), tf.zeros_like(count), count)

    def of_classes(self, seed, class_ids):
        """A random sorted position of each given class id (ids absent here raise at build)."""
        slot = tf.searchsorted(tf.constant(self.classes), class_ids, out_type=tf.int64)
        start, count = tf.gather(self._start, slot), tf.gather(self._count, slot)
        return start + self._randint(seed, tf.shape(class_ids), tf.zeros_like(count), count)

    def to_example(self, pos):
        """Map class-sorted positions back to indices into the original arrays."""
        return tf.gather(self._order, pos)

    def pairs(self, seed, n, n_positive):
        """``n`` index pairs, the first ``n_positive`` same-class; labels 1 = same, 0 = different."""
        s = tf.random.experimental.stateless_split(seed, 3)
        anchor = self.anchors(s[0], n)
        is_pos = tf.range(n) < n_positive
        partner = tf.where(is_pos, self.positives(s[1], anchor), self.negatives(s[2], anchor))
        return self.to_example(anchor), self.to_example(partner), tf.cast(is_pos, tf.float32)


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




def pair_dataset(x, y, batch_size: int = 128, positive_fraction: float = 0.5, seed: int = 0,
                 steps: int | None = None, classes=None, augment=None,
                 repeat: bool = False) -> tf.data.Dataset:
    """Batches of ``((left, right), label)``: label 1.0 for a same-class pair, 0.0 otherwise.

    Each batch holds exactly ``round(batch_size * positive_fraction)`` positive pairs, drawn by a
    few tensor ops from a stateless seed. By default the dataset is one epoch of about
    ``len(x)`` pairs, so ``model.fit(pair_dataset(x, y), epochs=5)`` works as with any finite
    dataset, with new pairs in every epoch; ``steps`` fixes the number of batches instead, and
    ``repeat=True`` makes the stream endless (``fit`` then needs ``steps_per_epoch``).

    Args:
        x: images (N, ...), numeric and finite.
        y: integer class ids (N,); a positive pair needs two examples of its class.
        batch_size: pairs per batch, an int >= 1.
        positive_fraction: share of same-class pairs in each batch, in [0, 1].
        seed: an int >= 0; same seed, same batches.
        steps: the number of batches, an int >= 1; None (the default): one epoch of about
            ``len(x)`` pairs, ``ceil(len(x) / batch_size)`` batches, new ones on every pass.
        repeat: True for an endless stream (then ``fit`` needs ``steps_per_epoch``); its first
            ``steps`` batches are those of ``steps=steps``.
        classes: restrict sampling to these class ids (e.g. hold classes out), or None.
        augment: maps a batch of images to a batch of images, applied to both sides on the fly
            (e.g. :class:`course_lib.augment.RandomAffine`), or None.

    Returns:
        A ``tf.data.Dataset`` of ``((left, right), labels)``.

    Raises:
        TypeError: arguments of the wrong type (see :mod:`course_lib.checks`).
        ValueError: values out of range, bad data, ``steps`` together with ``repeat=True``.
    """
    batch_size = checks.positive_int(batch_size, "batch_size")
    positive_fraction = checks.probability(positive_fraction, "positive_fraction")
    x, y = check_examples(x, y, classes)
    n_pos = int(round(batch_size * positive_fraction))
    index = ClassIndex(y, need_positive=n_pos > 0, need_negative=n_pos < batch_size)
    images = tf.constant(x)
    seed = checks.seed(seed)

    def make_batch(batch_seed):
        left, right, labels = index.pairs(batch_seed, batch_size, n_pos)
        a, b = tf.gather(images, left), tf.gather(images, right)
        if augment is not None:
            a, b = augment(a), augment(b)
        return (a, b), labels

    return seeded_batches(steps, seed, make_batch, -(-len(y) // batch_size), repeat)


def cross_pair_dataset(x_left, y_left, x_right, y_right, batch_size: int = 128,
                       positive_fraction: float = 0.5, seed: int = 0,
                       steps: int | None = None, repeat: bool = False) -> tf.data.Dataset:
    """Pairs across two datasets: left from ``(x_left, y_left)``, right from ``(x_right, y_right)``.

    For two kinds of input with shared labels (say 28x28 and 8x8 digits): label 1.0 when the
    two have the same class. Both datasets must hold the same set of classes.

    Args:
        x_left: left images (N, ...).
        y_left: their integer class ids (N,).
        x_right: right images (M, ...), maybe of another shape.
        y_right: their integer class ids (M,), the same set of classes.
        batch_size: pairs per batch, an int >= 1.
        positive_fraction: share of same-class pairs in each batch, in [0, 1].
        seed: an int >= 0.
        steps: the number of batches, an int >= 1; None (the default): one epoch of about
            ``len(x_left)`` pairs, ``ceil(len(x_left) / batch_size)`` batches, new ones on every pass.
        repeat: True for an endless stream (then ``fit`` needs ``steps_per_epoch``); its first
            ``steps`` batches are those of ``steps=steps``.

    Returns:
        A ``tf.data.Dataset`` of ``((left, right), labels)``.

    Raises:
        TypeError: arguments of the wrong type.
        ValueError: values out of range, bad data, class sets that differ.
    """
    batch_size = checks.positive_int(batch_size, "batch_size")
    positive_fraction = checks.probability(positive_fraction, "positive_fraction")
    x_left, y_left = check_examples(x_left, y_left)
    x_right, y_right = check_examples(x_right, y_right)
    if not np.array_equal(np.unique(y_left), np.unique(y_right)):
        raise ValueError("y_left and y_right must hold the same set of classes, got "
                         f"{np.unique(y_left).tolist()} and {np.unique(y_right).tolist()}")
    n_pos = int(round(batch_size * positive_fraction))
    left_index = ClassIndex(y_left, need_positive=False, need_negative=False)
    right_index = ClassIndex(y_right, need_positive=False, need_negative=n_pos < batch_size)
    labels_left = tf.constant(y_left, tf.int64)
    images_left, images_right = tf.constant(x_left), tf.constant(x_right)
    k = right_index.num_classes

    def make_batch(batch_seed):
        s = tf.random.experimental.stateless_split(batch_seed, 3)
        left = left_index.to_example(left_index.anchors(s[0], batch_size))
        cls = tf.gather(labels_left, left)
        slot = tf.searchsorted(tf.constant(right_index.classes), cls, out_type=tf.int64)
        shift = ClassIndex._randint(s[1], [batch_size], tf.constant(1, tf.int64),
                                    tf.constant(max(k, 2), tf.int64))
        is_pos = tf.range(batch_size) < n_pos
        partner_slot = tf.where(is_pos, slot, (slot + shift) % k)
        partner_cls = tf.gather(tf.constant(right_index.classes), partner_slot)
        right = right_index.to_example(right_index.of_classes(s[2], partner_cls))
        return ((tf.gather(images_left, left), tf.gather(images_right, right)),
                tf.cast(is_pos, tf.float32))

    return seeded_batches(steps, checks.seed(seed), make_batch, -(-len(y_left) // batch_size), repeat)


def pair_indices(y, n: int, positive_fraction: float = 0.5, seed: int = 0):
    """A fixed set of ``n`` pairs as NumPy index arrays, for evaluation.

    Embed each example once, then look the pairs up: cheaper than embedding pair images.

    Args:
        y: integer class ids (N,).
        n: the number of pairs, an int >= 1.
        positive_fraction: share of same-class pairs, in [0, 1].
        seed: an int >= 0.

    Returns:
        ``(left, right, labels)``: int64 indices into ``y`` and float32 labels (1 = same).

    Raises:
        TypeError: arguments of the wrong type. ValueError: values out of range, bad labels.
    """
    y = np.asarray(y)
    _, y = check_examples(np.zeros((len(y), 1), np.float32), y)
    n = checks.positive_int(n, "n")
    positive_fraction = checks.probability(positive_fraction, "positive_fraction")
    n_pos = int(round(n * positive_fraction))
    index = ClassIndex(y, need_positive=n_pos > 0, need_negative=n_pos < n)
    left, right, labels = index.pairs(tf.constant([checks.seed(seed), 0], tf.int64), n, n_pos)
    return left.numpy(), right.numpy(), labels.numpy()


def triplet_dataset(x, y, batch_size: int = 128, seed: int = 0, steps: int | None = None,
                    classes=None, repeat: bool = False) -> tf.data.Dataset:
    """Batches of ``((anchor, positive, negative), zeros)``, triplets drawn uniformly over anchors.

    Args:
        x: images (N, ...).
        y: integer class ids (N,), two examples per class at least, two classes at least.
        batch_size: triplets per batch, an int >= 1.
        seed: an int >= 0.
        steps: the number of batches, an int >= 1; None (the default): one epoch of about
            ``len(x)`` triplets, ``ceil(len(x) / batch_size)`` batches, new ones on every pass.
        repeat: True for an endless stream (then ``fit`` needs ``steps_per_epoch``); its first
            ``steps`` batches are those of ``steps=steps``.
        classes: restrict sampling to these class ids, or None.

    Returns:
        A ``tf.data.Dataset`` of ``((anchor, positive, negative), zeros)``.

    Raises:
        TypeError: arguments of the wrong type.
        ValueError: values out of range, bad data, ``steps`` together with ``repeat=True``.
    """
    batch_size = checks.positive_int(batch_size, "batch_size")
    x, y = check_examples(x, y, classes)
    index = ClassIndex(y)
    images = tf.constant(x)

    def make_batch(batch_seed):
        s = tf.random.experimental.stateless_split(batch_seed, 3)
        anchor = index.anchors(s[0], batch_size)
        trio = [index.to_example(p) for p in
                (anchor, index.positives(s[1], anchor), index.negatives(s[2], anchor))]
        return tuple(tf.gather(images, t) for t in trio), tf.zeros([batch_size])

    return seeded_batches(steps, checks.seed(seed), make_batch, -(-len(y) // batch_size), repeat)


def one_shot_tasks(y, n_way: int, num_tasks: int, seed: int = 0, classes=None, groups=None):
    """N-way one-shot tasks as index arrays ``(query, support, answer)``.

    Each task draws ``n_way`` distinct classes and one support example of each
    (``support``: (tasks, n_way) indices into ``y``), and a query: another example of the
    class at position ``answer`` (tasks,). ``groups`` maps each example to a group (e.g. its
    alphabet): then every task draws its classes from one group, as in Lake et al.'s
    within-alphabet runs.

    Args:
        y: integer class ids (N,).
        n_way: candidates per task, an int >= 1.
        num_tasks: tasks to draw, an int >= 1.
        seed: an int >= 0.
        classes: restrict tasks to these class ids, or None.
        groups: a group id per example (N,), or None.

    Returns:
        ``(query, support, answer)``: int arrays (T,), (T, n_way), (T,).

    Raises:
        TypeError: arguments of the wrong type.
        ValueError: ``n_way`` larger than the classes (of every group), a class with a single
            example, ``groups`` of another shape.
    """
    y = np.asarray(y)
    _, _ = check_examples(np.zeros((len(y), 1), np.float32), y)
    n_way = checks.positive_int(n_way, "n_way")
    num_tasks = checks.positive_int(num_tasks, "num_tasks")
    rng = np.random.default_rng(checks.seed(seed))
    keep = np.isin(y, classes) if classes is not None else np.ones(len(y), bool)
    order = np.flatnonzero(keep)[np.argsort(y[keep], kind="stable")]
    cls, starts, counts = np.unique(y[order], return_index=True, return_counts=True)
    if n_way > len(cls):
        raise ValueError(f"n_way={n_way} is larger than the number of classes ({len(cls)})")
    if counts.min() < 2:
        raise ValueError(f"classes {cls[counts < 2].tolist()} have a single example: "
                         "a task needs a support and a different query example")

    keys = rng.random((num_tasks, len(cls)))
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != y.shape:
            raise ValueError(f"groups must have the shape of y {y.shape}, got {groups.shape}")
        class_group = groups[order[starts]]
        names, sizes = np.unique(class_group, return_counts=True)
        eligible = names[sizes >= n_way]
        if not eligible.size:
            raise ValueError(f"n_way={n_way} is larger than the number of classes in every group")
        task_group = rng.choice(eligible, num_tasks)
        keys += class_group[None, :] != task_group[:, None]  # other groups sort last
    chosen = np.argsort(keys, axis=1)[:, :n_way]                  # (tasks, n_way) class slots
    within = np.floor(rng.random(chosen.shape) * counts[chosen]).astype(np.int64)
    support = order[starts[chosen] + within]
    answer = rng.integers(0, n_way, num_tasks)
    rows = np.arange(num_tasks)
    c, w = chosen[rows, answer], within[rows, answer]
    step = 1 + np.floor(rng.random(num_tasks) * (counts[c] - 1)).astype(np.int64)
    query = order[starts[c] + (w + step) % counts[c]]
    return query, support, answer
