"""Pairs, triplets and N-way training episodes, sampled on the fly as seeded, vectorised ``tf.data``.

No pair is ever materialised up front and no Python loop runs per pair: each batch is drawn
by a few tensor ops from the example indices sorted by class. Batch ``k`` of seed ``s`` is the
same on every run (stateless random ops keyed by ``(s, k)``), whatever the parallelism.
:func:`episode_dataset` draws the N-way episodes of :class:`course_lib.losses.NWayLoss`
(notebook 06); the one-shot *test* tasks are drawn by :func:`course_lib.oneshot.one_shot_tasks`.

Introduced in notebook 01.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from course_lib import checks
from course_lib.sampling import ClassTable, check_examples, seeded_batches

__all__ = [
    "ClassIndex",
    "cross_pair_dataset",
    "episode_dataset",
    "pair_dataset",
    "pair_indices",
    "triplet_dataset",
]

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
        table = ClassTable.build(y)
        if need_positive:
            table.require_examples(2, "a positive pair needs two examples of a class")
        if need_negative:
            table.require_classes(2, "a negative pair needs two classes")
        order, classes, starts, counts = table.order, table.classes, table.starts, table.counts
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


def _shift_each(images, offsets, views_down, views_right):
    """Each image moved by its own whole-pixel offset: ``offsets`` (B, 2) ints in ``[0, 2m]``
    pick row and column of ``views_down`` / ``views_right`` (:class:`ShiftedViews` over the
    ``2m + 1`` moves ``m, ..., -m`` down and right); ink moved in from outside is 0."""
    batch = tf.shape(images, out_type=tf.int64)[0]
    rows = tf.cast(offsets, tf.int64) * batch + tf.range(batch)[:, None]
    moved = tf.gather(views_down(images), rows[:, 0])
    return tf.gather(views_right(moved), rows[:, 1])


def episode_dataset(x, y, groups, n_way: int = 20, episodes: int = 4, seed: int = 0,
                    rotations: bool = False, max_shift: int = 0, steps: int | None = None,
                    repeat: bool = False, rotated_groups: bool = True) -> tf.data.Dataset:
    """Batches of N-way training episodes for :class:`course_lib.losses.NWayLoss`, seeded ``tf.data``.

    Each episode picks a group (e.g. an alphabet) uniformly among those with at least ``n_way``
    classes, ``n_way`` distinct classes of that group, and two different examples of each: the
    anchors, then the candidates, in the same class order. A batch is ``episodes`` episodes,
    ``2 * n_way * episodes`` images, with the labels ``0..n_way-1`` of each row's class inside its
    episode (the loss ignores them). With ``rotations=True`` every class also appears rotated by
    90, 180 and 270 degrees as three new classes (of a new group each: a rotated alphabet is
    another alphabet), as in Santoro et al. (2016) and Vinyals et al. (2016); with
    ``rotated_groups=False`` the rotated classes stay in their class's own group instead, so a
    group offers four times its classes and an episode can hold a class beside its rotations
    (then ``n_way`` can be up to four times a group's classes); ``max_shift``
    moves every image by its own random whole-pixel offset in ``[-max_shift, max_shift]`` on
    each axis (with :class:`course_lib.layers.ShiftedViews`, ink moved in from outside is 0).
    Batch ``k`` of seed ``s`` is the same on every run. Finite by default: one epoch of about
    ``len(x)`` images; ``repeat=True`` for an endless stream (then ``fit`` needs
    ``steps_per_epoch``).

    Args:
        x: square images (N, H, H), numeric and finite.
        y: integer class ids (N,); every class needs two examples.
        groups: the group of each example (N,), constant within a class.
        n_way: classes per episode, an int >= 2.
        episodes: episodes per batch, an int >= 1.
        seed: an int >= 0.
        rotations: add the three rotations of every class as new classes.
        rotated_groups: with ``rotations``, put each rotation of a group in a new group
            (True) or keep the rotated classes in their own group (False).
        max_shift: largest shift in pixels, an int >= 0 (0: none), smaller than ``H``.
        steps: the number of batches, or None (see above).
        repeat: True for an endless stream.

    Returns:
        A ``tf.data.Dataset`` of ``(images (B, H, H), labels (B,))``, B = 2 * n_way * episodes.

    Raises:
        TypeError: arguments of the wrong type (``rotations`` not a bool, ...).
        ValueError: images that are not square, a class with a single example or in two groups,
            ``n_way`` larger than the classes of every group, ``max_shift`` >= ``H``, ``steps``
            with ``repeat=True``.

    Warns:
        UserWarning: some groups have fewer than ``n_way`` classes (they are skipped).
    """
    from course_lib.layers import ShiftedViews

    x, y = check_examples(x, y)
    x = x.astype(np.float32)
    if x.ndim != 3 or x.shape[1] != x.shape[2]:
        raise ValueError(f"x must be square images (N, H, H), got shape {x.shape}")
    n_way = checks.integer(n_way, "n_way", minimum=2)
    episodes = checks.positive_int(episodes, "episodes")
    seed = checks.seed(seed)
    max_shift = checks.integer(max_shift, "max_shift", minimum=0)
    if max_shift >= x.shape[1]:
        raise ValueError(f"max_shift must be smaller than the image side {x.shape[1]}, got "
                         f"{max_shift}")
    rotations = checks.boolean(rotations, "rotations")
    rotated_groups = checks.boolean(rotated_groups, "rotated_groups")

    table = ClassTable.build(y, groups=groups)
    table.require_examples(2, "an episode needs two drawings of each class")
    n_rot = 4 if rotations else 1
    pooled = rotations and not rotated_groups     # a group's rotations are classes of the group
    table.eligible_groups(-(-n_way // n_rot) if pooled else n_way,  # warns of (or refuses)
                          f"n_way={n_way}" + (" (with its rotations, a class counts 4 times)"
                                              if pooled else ""))   # small groups
    order, starts, counts, class_group = table.order, table.starts, table.counts, table.class_group
    # Virtual classes: (class, rotation); their group: (group, rotation), or the class's group.
    v_class = np.repeat(np.arange(table.num_classes), n_rot)
    v_rot = np.tile(np.arange(n_rot), table.num_classes)
    v_group = class_group[v_class] if pooled else class_group[v_class] * n_rot + v_rot
    group_order = np.argsort(v_group, kind="stable")
    _, g_start, g_count = np.unique(v_group[group_order], return_index=True, return_counts=True)
    eligible = tf.constant(np.flatnonzero(g_count >= n_way), tf.int64)
    widest = int(g_count.max())
    t = {name: tf.constant(value, tf.int64) for name, value in dict(
        order=order, starts=starts, counts=counts, group_order=group_order, g_start=g_start,
        g_count=g_count, v_class=v_class, v_rot=v_rot).items()}
    images = tf.constant(x)
    labels = tf.tile(tf.range(n_way, dtype=tf.int32), [2 * episodes])
    moves = range(max_shift, -max_shift - 1, -1)          # offset k moves by max_shift - k
    views_down = ShiftedViews([(d, 0) for d in moves], dtype="float32")
    views_right = ShiftedViews([(0, d) for d in moves], dtype="float32")

    def make_batch(batch_seed):
        s = tf.random.experimental.stateless_split(batch_seed, 6)
        pick = tf.random.stateless_uniform([episodes], s[0], 0, tf.size(eligible, tf.int64),
                                           dtype=tf.int64)
        group = tf.gather(eligible, pick)
        size = tf.gather(t["g_count"], group)                                  # (E,)
        keys = tf.random.stateless_uniform([episodes, widest], s[1])
        keys += tf.cast(tf.range(widest, dtype=tf.int64)[None] >= size[:, None], tf.float32)
        slot = tf.math.top_k(-keys, n_way).indices                            # (E, N)
        virtual = tf.gather(t["group_order"],
                            tf.gather(t["g_start"], group)[:, None] + tf.cast(slot, tf.int64))
        cls, rot = tf.gather(t["v_class"], virtual), tf.gather(t["v_rot"], virtual)
        start, count = tf.gather(t["starts"], cls), tf.gather(t["counts"], cls)
        u = tf.random.stateless_uniform([2, episodes, n_way], s[2], dtype=tf.float64)
        first = tf.cast(u[0] * tf.cast(count, tf.float64), tf.int64)
        second = (first + 1 + tf.cast(u[1] * tf.cast(count - 1, tf.float64), tf.int64)) % count
        pos = tf.stack([start + first, start + second], axis=1)             # (E, 2, N)
        batch = tf.gather(images, tf.gather(t["order"], tf.reshape(pos, [-1])))
        if rotations:
            k = tf.reshape(tf.tile(rot[:, None], [1, 2, 1]), [-1])
            turned = tf.stack([tf.image.rot90(batch[..., None], i)[..., 0] for i in range(4)])
            batch = tf.gather(tf.transpose(turned, [1, 0, 2, 3]), k, axis=1, batch_dims=1)
        if max_shift:
            offsets = tf.random.stateless_uniform([tf.shape(batch)[0], 2], s[3], 0,
                                                  2 * max_shift + 1, dtype=tf.int32)
            batch = _shift_each(batch, offsets, views_down, views_right)
        return batch, labels

    epoch_batches = max(1, len(y) // (2 * n_way * episodes))
    return seeded_batches(steps, seed, make_batch, epoch_batches, repeat)
