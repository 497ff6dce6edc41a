"""N-way one-shot tasks scored with a model: Siamese pair scorers, encoders, or raw pixels.

A task is a query image and N candidate images (one per class, the "support"); the model gets
it right when the candidate it finds most similar to the query is the one of the query's class.
Tasks are index arrays into one image array (``query`` (T,), ``support`` (T, N), ``answer``
(T,)), as :func:`course_lib.pairs.one_shot_tasks` makes them, so each image is embedded once.

Also here: Lake et al.'s 20 official runs as such tasks (:func:`lake_run_tasks`), N-way tasks
drawn inside those runs (:func:`lake_n_way_tasks`), the held-out-alphabet split of an Omniglot
set (:func:`alphabet_split`), and a Keras callback that selects the epoch on validation tasks
(:class:`OneShotValidation`); :func:`episode_dataset` draws the training episodes of
:class:`course_lib.losses.NWayLoss`.

Introduced in notebook 06.
"""

from __future__ import annotations

import keras
import numpy as np

from course_lib import checks, distances
from course_lib.layers import EuclideanDistance, WeightedL1Similarity

__all__ = [
    "OneShotValidation",
    "alphabet_split",
    "episode_dataset",
    "lake_n_way_tasks",
    "lake_run_tasks",
    "score_lake_runs",
    "task_accuracy",
    "task_scores",
]



# --------------------------------------------------------------------------- validation


def _int_array(x, name: str, ndim: int) -> np.ndarray:
    return checks.index_array(x, name, ndim=ndim)


def _check_tasks(images, query, support, answer=None):
    """Validated ``(images, query, support, answer)``; indices must point into ``images``."""
    images = np.asarray(images)
    if images.ndim < 2 or len(images) == 0:
        raise ValueError(f"images must be a non-empty array of images, got shape {images.shape}")
    q = _int_array(query, "query", 1)
    s = _int_array(support, "support", 2)
    if len(s) != len(q):
        raise ValueError(f"support has {len(s)} tasks but query has {len(q)}")
    for arr, name in ((q, "query"), (s, "support")):
        if arr.min() < 0 or arr.max() >= len(images):
            raise ValueError(f"{name} indices must lie in [0, {len(images)}) (images), got "
                             f"{arr.min()}..{arr.max()}")
    a = None
    if answer is not None:
        a = _int_array(answer, "answer", 1)
        if len(a) != len(q):
            raise ValueError(f"answer has {len(a)} tasks but query has {len(q)}")
        if a.min() < 0 or a.max() >= s.shape[1]:
            raise ValueError(f"answer must be a candidate position in [0, {s.shape[1]}), got "
                             f"{a.min()}..{a.max()}")
    return images, q, s, a


_positive_int = checks.positive_int  # (value, name)


# --------------------------------------------------------------------------- scoring


def _siamese_parts(model: keras.Model, x: np.ndarray):
    """``(encoder, head)`` when ``model`` is one shared encoder followed by a pair head (as
    :func:`course_lib.models.siamese` builds it), else None.

    The structure is checked on the layers, then the shortcut ``head([encoder(a), encoder(b)])``
    is checked against ``model([a, b])`` on a few of the images ``x``.
    """
    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    head = model.layers[-1]
    if len(inner) != 1 or head is inner[0] or isinstance(head, keras.layers.InputLayer):
        return None
    encoder = inner[0]
    a, b = x[:4], x[::-1][:4]
    try:
        direct = np.asarray(model([a, b], training=False))
        short = np.asarray(head([encoder(a, training=False), encoder(b, training=False)],
                                training=False))
    except (ValueError, TypeError):
        return None
    if direct.shape != short.shape or not np.allclose(direct, short, rtol=1e-4, atol=1e-5):
        return None
    return encoder, head


def _head_is_distance(head) -> bool | None:
    if isinstance(head, EuclideanDistance):
        return True
    if isinstance(head, WeightedL1Similarity):
        return False
    return None


def _predict(fn, arrays, batch_size: int) -> np.ndarray:
    """``fn`` over batches of the aligned ``arrays``, concatenated as one NumPy array."""
    n = len(arrays[0])
    out = [np.asarray(fn(*[a[i:i + batch_size] for a in arrays])) for i in range(0, n, batch_size)]
    return np.concatenate(out).reshape(n, -1)


def task_scores(model, images, query, support, output: str | None = None,
                metric: str = "euclidean", batch_size: int = 256) -> np.ndarray:
    """Similarity of each task's query to each of its N candidates, (T, N): higher = more alike.

    ``model`` may be:

    - ``None``: raw pixels, minus the Euclidean distance of the flattened images (the 1-nearest-
      neighbour baseline of Lake et al. and Koch et al.);
    - a one-input Keras model (an encoder): minus the ``metric`` distance of the embeddings
      (:func:`course_lib.distances.paired`; cosine: ``cos - 1``);
    - a two-input Keras model (a Siamese net): its output on each (query, candidate) pair.
      ``output`` says whether that output is a ``"similarity"`` (e.g. Koch's sigmoid head) or a
      ``"distance"`` (negated); it is found from the head when the model ends in
      ``WeightedL1Similarity`` or ``EuclideanDistance``. A model built by
      :func:`course_lib.models.siamese` embeds each image once and applies its head to the
      embeddings, which is much cheaper than running every pair through both branches.

    Args:
        model: None, an encoder or a Siamese ``keras.Model`` (see above).
        images: the image array every index points into (N, ...).
        query: one query index per task (T,).
        support: the N candidate indices of each task (T, N).
        output: ``None``, ``"similarity"`` or ``"distance"`` (two-input models only).
        metric: one of ``distances.METRICS`` (pixels and encoders).
        batch_size: images per forward pass, an int >= 1.

    Returns:
        Scores (T, N), float64.

    Raises:
        TypeError: a model of another kind, non-integer indices or batch size.
        ValueError: indices out of range, mismatched task counts, an unknown metric or output,
            a head whose kind cannot be told, a model output of more than one number per pair.
    """
    images, q, s, _ = _check_tasks(images, query, support)
    batch_size = _positive_int(batch_size, "batch_size")
    distances.check_metric(metric)
    if output not in (None, "similarity", "distance"):
        raise ValueError(f"output must be None, 'similarity' or 'distance', got {output!r}")
    used, inverse = np.unique(np.concatenate([q, s.ravel()]), return_inverse=True)
    q_pos, s_pos = inverse[:len(q)], inverse[len(q):].reshape(s.shape)
    x = images[used].astype(np.float32)

    if model is None or (isinstance(model, keras.Model) and len(model.inputs) == 1):
        if model is None:
            emb = x.reshape(len(x), -1)
        else:
            emb = _predict(lambda b: model(b, training=False), [x], batch_size)
        return -distances.paired(emb[q_pos][:, None, :], emb[s_pos], metric,
                                 names=("query embeddings", "support embeddings"))

    if not isinstance(model, keras.Model) or len(model.inputs) != 2:
        raise TypeError("model must be None (pixels), a one-input keras.Model (an encoder) or a "
                        f"two-input keras.Model (a Siamese net), got {type(model).__name__}")
    parts = _siamese_parts(model, x)
    if output is None:
        is_distance = _head_is_distance(model.layers[-1])
        if is_distance is None:
            raise ValueError("cannot tell whether the model outputs a similarity or a distance: "
                             "pass output='similarity' or output='distance'")
    else:
        is_distance = output == "distance"
    left = np.repeat(q_pos, s.shape[1])
    right = s_pos.ravel()
    if parts is not None:
        encoder, head = parts
        emb = _predict(lambda b: encoder(b, training=False), [x], batch_size)
        pair_batch = max(batch_size, 4096)
        raw = _predict(lambda a, b: head([a, b], training=False),
                       [emb[left], emb[right]], pair_batch)
    else:
        raw = _predict(lambda a, b: model([a, b], training=False), [x[left], x[right]],
                       batch_size)
    if raw.shape[1] != 1:
        raise ValueError(f"a Siamese model must output one number per pair, got {raw.shape[1]}")
    scores = raw.reshape(s.shape).astype(np.float64)
    return -scores if is_distance else scores


def task_accuracy(scores, answer) -> np.ndarray:
    """Per task, True when the highest-scoring candidate is the answer (ties count as wrong).

    Args:
        scores: (T, N) scores, higher = more alike (e.g. from :func:`task_scores`).
        answer: the true candidate position of each task (T,).

    Returns:
        Booleans (T,).

    Raises:
        TypeError: non-integer answers.
        ValueError: wrong dimensions, mismatched task counts, an answer outside [0, N).
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (tasks, candidates), got shape {scores.shape}")
    a = _int_array(answer, "answer", 1)
    if len(a) != len(scores):
        raise ValueError(f"answer has {len(a)} tasks but scores has {len(scores)}")
    if a.min() < 0 or a.max() >= scores.shape[1]:
        raise ValueError(f"answer must lie in [0, {scores.shape[1]}), got {a.min()}..{a.max()}")
    best = scores.max(axis=1)
    rows = np.arange(len(a))
    unique_best = (scores == best[:, None]).sum(axis=1) == 1
    return (scores[rows, a] == best) & unique_best


# --------------------------------------------------------------------------- Lake's runs


def _check_runs(runs) -> list:
    if not isinstance(runs, (list, tuple)) or not runs:
        raise ValueError("runs must be a non-empty list of LakeRun (see data.load_lake_runs)")
    for i, run in enumerate(runs):
        train, test, answers = (np.asarray(a) for a in run)
        if train.ndim != 3 or test.ndim != 3 or train.shape[1:] != test.shape[1:]:
            raise ValueError(f"runs[{i}] must hold image stacks (n, H, W) of one size")
        if answers.shape != (len(test),) or answers.min() < 0 or answers.max() >= len(train):
            raise ValueError(f"runs[{i}].answers must give a training index per test image")
    return list(runs)


def lake_run_tasks(runs):
    """Lake et al.'s runs as one task set: ``(images, query, support, answer, run)``.

    ``images`` stacks each run's training images then its test images; task t matches test image
    ``query[t]`` against all the training images of its run (``support[t]``, in file order), and
    ``answer[t]`` is the true one; ``run[t]`` is the run index. 20 runs of 20: 400 tasks, 20-way.

    Args:
        runs: a non-empty list of :class:`course_lib.data.LakeRun`.

    Returns:
        ``(images, query, support, answer, run)`` as NumPy arrays.

    Raises:
        ValueError: no runs, malformed runs, runs of different sizes.
    """
    runs = _check_runs(runs)
    images, query, support, answer, run_of = [], [], [], [], []
    offset = 0
    for r, (train, test, answers) in enumerate(runs):
        n_train, n_test = len(train), len(test)
        images += [np.asarray(train), np.asarray(test)]
        query.append(offset + n_train + np.arange(n_test))
        support.append(np.tile(offset + np.arange(n_train), (n_test, 1)))
        answer.append(np.asarray(answers))
        run_of.append(np.full(n_test, r))
        offset += n_train + n_test
    ways = {s.shape[1] for s in support}
    if len(ways) != 1:
        raise ValueError(f"runs must all have the same number of training images, got {ways}")
    return (np.concatenate(images), np.concatenate(query), np.concatenate(support),
            np.concatenate(answer).astype(np.int64), np.concatenate(run_of).astype(np.int64))


def score_lake_runs(model, runs, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy of each run and the model's pick for each test image.

    Args:
        model: as in :func:`task_scores` (``None``: 1-NN on pixels).
        runs: a non-empty list of :class:`course_lib.data.LakeRun`.
        **kwargs: passed to :func:`task_scores`.

    Returns:
        ``(per_run, picks)``: accuracies (R,) and picked candidates (R, n_test).

    Raises:
        TypeError, ValueError: as :func:`lake_run_tasks` and :func:`task_scores`.
    """
    images, query, support, answer, run = lake_run_tasks(runs)
    scores = task_scores(model, images, query, support, **kwargs)
    correct = task_accuracy(scores, answer)
    picks = scores.argmax(axis=1).reshape(len(runs), -1)
    per_run = np.array([correct[run == r].mean() for r in range(len(runs))])
    return per_run, picks


def lake_n_way_tasks(runs, n_way: int, num_tasks: int | None = None, seed: int = 0):
    """N-way tasks drawn inside Lake's runs: ``(images, query, support, answer, run)``.

    Each task picks a run, ``n_way`` of its classes, and one of them as the answer: the query is
    that class's test image and the candidates are the chosen classes' training images, so the
    roles (and drawers) of the official task are kept and all N classes share one alphabet.
    With ``num_tasks=None`` (the default) there is one task per official query (400 for the 20
    runs), so the tasks are as many as the distinct queries and an interval over them is honest;
    with ``n_way`` equal to the run size these are then the official tasks, candidates shuffled.
    With a number, tasks (and queries) are drawn at random, with repetition.

    Args:
        runs: a non-empty list of :class:`course_lib.data.LakeRun`.
        n_way: candidates per task, an int in [1, classes per run].
        num_tasks: tasks to draw, an int >= 1, or None for one per official query.
        seed: an int >= 0.

    Returns:
        ``(images, query, support, answer, run)`` as in :func:`lake_run_tasks`.

    Raises:
        TypeError: a non-int ``n_way``, ``num_tasks`` or ``seed``.
        ValueError: malformed runs, a value out of range.
    """
    runs = _check_runs(runs)
    images = lake_run_tasks(runs)[0]
    n_way = _positive_int(n_way, "n_way")
    seed = checks.seed(seed)
    n_train = len(runs[0].train_images)
    if n_way > n_train:
        raise ValueError(f"n_way={n_way} is larger than the number of classes per run ({n_train})")
    rng = np.random.default_rng(int(seed))
    sizes = np.array([len(r.train_images) + len(r.test_images) for r in runs])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    if num_tasks is None:  # one task per official query: its true class plus n_way - 1 others
        task_run = np.concatenate([np.full(len(r.answers), i) for i, r in enumerate(runs)])
        truth = np.concatenate([np.asarray(r.answers) for r in runs])
        num_tasks = len(truth)
        keys = rng.random((num_tasks, n_train))
        keys[np.arange(num_tasks), truth] = -1.0  # the true class is always chosen
        classes = np.argsort(keys, axis=1)[:, :n_way]
        classes = np.take_along_axis(classes, np.argsort(rng.random(classes.shape), axis=1), 1)
        answer = np.argmax(classes == truth[:, None], axis=1)
    else:
        num_tasks = _positive_int(num_tasks, "num_tasks")
        task_run = rng.integers(0, len(runs), num_tasks)
        classes = np.argsort(rng.random((num_tasks, n_train)), axis=1)[:, :n_way]
        answer = rng.integers(0, n_way, num_tasks)
    support = starts[task_run][:, None] + classes
    true_class = classes[np.arange(num_tasks), answer]
    # The test image whose answer is that class: invert each run's answer table.
    query = np.empty(num_tasks, np.int64)
    for r in np.unique(task_run):
        test_of_class = np.empty(n_train, np.int64)
        test_of_class[np.asarray(runs[r].answers)] = np.arange(len(runs[r].answers))
        rows = task_run == r
        query[rows] = starts[r] + n_train + test_of_class[true_class[rows]]
    return images, query, support.astype(np.int64), answer.astype(np.int64), task_run


# --------------------------------------------------------------------------- Omniglot splits


def alphabet_split(alphabet, alphabet_names, held_out) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over examples: the ``held_out`` alphabets (names) form the validation set,
    whole, and every other alphabet the training set.

    Omniglot's name for :func:`course_lib.splits.held_out_split`; for a seeded split of any
    labelled data by fractions see :func:`course_lib.splits.class_disjoint_split`.

    Args:
        alphabet: each example's alphabet id (N,), e.g. ``OmniglotSet.alphabet``.
        alphabet_names: the names the ids index.
        held_out: a non-empty list of alphabet names.

    Returns:
        ``(train, validation)``, two boolean masks (N,).

    Raises:
        TypeError: non-integer alphabet ids.
        ValueError: an empty or unknown ``held_out``, or one that holds every alphabet.
    """
    from course_lib.splits import held_out_split

    return held_out_split(alphabet, alphabet_names, held_out, what="alphabet")


# --------------------------------------------------------------------------- model selection


class OneShotValidation(keras.callbacks.Callback):
    """Score fixed validation tasks at the end of each epoch; keep the best epoch's weights.

    Adds ``logs[name]`` (the accuracy), so it shows in ``fit``'s progress line and history. With
    ``restore_best=True`` the model ends training with the weights of its best epoch (first best
    on ties), which is model selection on validation tasks only.

    Args:
        images: the image array every index points into (N, ...).
        query: one query index per task (T,).
        support: the N candidate indices of each task (T, N).
        answer: the true candidate position of each task (T,).
        name: the key added to the epoch logs.
        restore_best: end training with the best epoch's weights.
        **score_kwargs: passed to :func:`task_scores` (``output``, ``metric``, ``batch_size``).

    Raises:
        TypeError: non-integer indices. ValueError: indices out of range, mismatched counts.
    """

    def __init__(self, images, query, support, answer, name: str = "val_one_shot",
                 restore_best: bool = True, **score_kwargs):
        super().__init__()
        self.images, self.query, self.support, self.answer = _check_tasks(
            images, query, support, answer)
        if answer is None:
            raise ValueError("answer is required to score validation tasks")
        self.name = str(name)
        self.restore_best = bool(restore_best)
        self.score_kwargs = score_kwargs
        self.history: list[float] = []
        self.best_epoch: int | None = None
        self.best: float = -np.inf
        self._best_weights = None

    def score(self) -> float:
        """Accuracy of ``self.model`` on the validation tasks now."""
        scores = task_scores(self.model, self.images, self.query, self.support,
                             **self.score_kwargs)
        return float(task_accuracy(scores, self.answer).mean())

    def on_epoch_end(self, epoch, logs=None):
        acc = self.score()
        self.history.append(acc)
        if logs is not None:
            logs[self.name] = acc
        if acc > self.best:
            self.best, self.best_epoch = acc, epoch
            if self.restore_best:
                self._best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.restore_best and self._best_weights is not None:
            self.model.set_weights(self._best_weights)


# --------------------------------------------------------------------------- training episodes


def _shift(images, seed, max_shift: int):
    """Each image moved by its own whole-pixel offset in [-max_shift, max_shift] on each axis
    (ink moved in from outside is 0)."""
    import tensorflow as tf

    size_h, size_w = images.shape[1], images.shape[2]
    padded = tf.pad(images, [[0, 0], [max_shift, max_shift], [max_shift, max_shift]])
    offsets = tf.random.stateless_uniform([tf.shape(images)[0], 2], seed, 0, 2 * max_shift + 1,
                                          dtype=tf.int32)
    rows = offsets[:, :1] + tf.range(size_h)[None]
    cols = offsets[:, 1:] + tf.range(size_w)[None]
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(out, cols, axis=2, batch_dims=1)


def episode_dataset(x, y, groups, n_way: int = 20, episodes: int = 4, seed: int = 0,
                    rotations: bool = False, max_shift: int = 0, steps: int | None = None,
                    repeat: bool = False):
    """Batches of N-way training episodes for :class:`course_lib.losses.NWayLoss`, seeded ``tf.data``.

    Each episode picks a group (e.g. an alphabet) uniformly among those with at least ``n_way``
    classes, ``n_way`` distinct classes of that group, and two different examples of each: the
    anchors, then the candidates, in the same class order. A batch is ``episodes`` episodes,
    ``2 * n_way * episodes`` images, with the labels ``0..n_way-1`` of each row's class inside its
    episode (the loss ignores them). With ``rotations=True`` every class also appears rotated by
    90, 180 and 270 degrees as three new classes (of a new group each: a rotated alphabet is
    another alphabet), as in Santoro et al. (2016) and Vinyals et al. (2016); ``max_shift``
    moves every image by a random whole-pixel offset. Batch ``k`` of seed ``s`` is the same on
    every run. Finite by default: one epoch of about ``len(x)`` images; ``repeat=True`` for an
    endless stream (then ``fit`` needs ``steps_per_epoch``).

    Args:
        x: square images (N, H, H), numeric and finite.
        y: integer class ids (N,); every class needs two examples.
        groups: the group of each example (N,), constant within a class.
        n_way: classes per episode, an int >= 2.
        episodes: episodes per batch, an int >= 1.
        seed: an int >= 0.
        rotations: add the three rotations of every class as new classes.
        max_shift: largest shift in pixels, an int >= 0 (0: none).
        steps: the number of batches, or None (see above).
        repeat: True for an endless stream.

    Returns:
        A ``tf.data.Dataset`` of ``(images (B, H, H), labels (B,))``, B = 2 * n_way * episodes.

    Raises:
        TypeError: arguments of the wrong type.
        ValueError: images that are not square, a class with a single example or in two groups,
            ``n_way`` larger than the classes of every group, ``steps`` with ``repeat=True``.

    Warns:
        UserWarning: some groups have fewer than ``n_way`` classes (they are skipped).
    """

    import tensorflow as tf

    from course_lib.sampling import ClassTable, check_examples, seeded_batches

    x, y = check_examples(x, y)
    x = x.astype(np.float32)
    if x.ndim != 3 or x.shape[1] != x.shape[2]:
        raise ValueError(f"x must be square images (N, H, H), got shape {x.shape}")
    n_way = checks.integer(n_way, "n_way", minimum=2)
    episodes = _positive_int(episodes, "episodes")
    seed = checks.seed(seed)
    max_shift = checks.integer(max_shift, "max_shift", minimum=0)
    if not isinstance(rotations, bool):
        raise TypeError(f"rotations must be a bool, got {type(rotations).__name__}")

    table = ClassTable.build(y, groups=groups)
    table.require_examples(2, "an episode needs two drawings of each class")
    table.eligible_groups(n_way, f"n_way={n_way}")       # warns of (or refuses) small groups
    order, starts, counts, class_group = table.order, table.starts, table.counts, table.class_group
    classes = table.classes
    n_rot = 4 if rotations else 1
    # Virtual classes: (class, rotation); their group: (group, rotation).
    v_class = np.repeat(np.arange(len(classes)), n_rot)
    v_rot = np.tile(np.arange(n_rot), len(classes))
    v_group = class_group[v_class] * n_rot + v_rot
    group_order = np.argsort(v_group, kind="stable")
    names, g_start, g_count = np.unique(v_group[group_order], return_index=True,
                                        return_counts=True)
    eligible = tf.constant(np.flatnonzero(g_count >= n_way), tf.int64)
    widest = int(g_count.max())
    t = {name: tf.constant(value, tf.int64) for name, value in dict(
        order=order, starts=starts, counts=counts, group_order=group_order, g_start=g_start,
        g_count=g_count, v_class=v_class, v_rot=v_rot).items()}
    images = tf.constant(x)
    labels = tf.tile(tf.range(n_way, dtype=tf.int32), [2 * episodes])

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
            batch = _shift(batch, s[3], max_shift)
        return batch, labels

    epoch_batches = max(1, len(y) // (2 * n_way * episodes))
    return seeded_batches(steps, seed, make_batch, epoch_batches, repeat)
