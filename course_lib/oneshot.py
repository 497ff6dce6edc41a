"""N-way one-shot tasks: drawing them, and scoring them with a model (Siamese pair scorers,
encoders, or raw pixels).

A task is a query image and N candidate images (one per class, the "support"); the model gets
it right when the candidate it finds most similar to the query is the one of the query's class.
Tasks are index arrays into one image array (``query`` (T,), ``support`` (T, N), ``answer``
(T,)), as :func:`one_shot_tasks` draws them, so each image is embedded once;
:func:`task_scores` scores them and :func:`task_accuracy` counts the right answers.

For k-shot scoring, :func:`class_prototypes` averages each class's k support embeddings into
its prototype and :func:`nearest_prototype` answers each query with the nearest one;
:func:`k_shot_tasks` draws N-way k-shot tasks and :func:`k_shot_accuracy` scores embeddings on
them that way (notebook 09).

Lake et al.'s 20 official runs are such tasks too (:func:`lake_run_tasks`,
:func:`score_lake_runs`; per query, :func:`score_lake_queries`), and :func:`lake_n_way_tasks` draws N-way tasks inside those runs.
Elsewhere: the training episodes of :class:`course_lib.losses.NWayLoss` are drawn by
:func:`course_lib.pairs.episode_dataset`, the Keras callback that selects the epoch on
validation tasks is :class:`course_lib.callbacks.OneShotValidation`, and the held-out-alphabet
split is :func:`course_lib.splits.held_out_split`.

Introduced in notebook 06.
"""

from __future__ import annotations

import keras
import numpy as np

from course_lib import checks, distances
from course_lib.data import LakeRun
from course_lib.layers import EuclideanDistance, WeightedL1Similarity
from course_lib.sampling import ClassTable

__all__ = [
    "check_tasks",
    "class_prototypes",
    "k_shot_accuracy",
    "k_shot_tasks",
    "lake_accuracy_against_n",
    "lake_n_way_tasks",
    "lake_run_tasks",
    "nearest_prototype",
    "one_shot_tasks",
    "score_lake_queries",
    "score_lake_runs",
    "task_accuracy",
    "task_scores",
]


# --------------------------------------------------------------------------- tasks


def check_tasks(images, query, support, answer=None):
    """Validate a task set: indices that point into ``images``, one row of candidates per query.

    Args:
        images: the image array every index points into (N, ...), non-empty.
        query: one query index per task (T,).
        support: the candidate indices of each task (T, n_way).
        answer: the true candidate position of each task (T,), or None.

    Returns:
        ``(images, query, support, answer)`` as NumPy arrays (``answer`` None when not given).

    Raises:
        TypeError: non-integer indices.
        ValueError: wrong dimensions, indices out of range, task counts that differ.
    """
    images = np.asarray(images)
    if images.ndim < 2 or len(images) == 0:
        raise ValueError(f"images must be a non-empty array of images, got shape {images.shape}")
    q = checks.index_array(query, "query (indices into images)", ndim=1, size=len(images))
    s = checks.index_array(support, "support (indices into images)", ndim=2, size=len(images))
    if len(s) != len(q):
        raise ValueError(f"support has {len(s)} tasks but query has {len(q)}")
    a = None
    if answer is not None:
        a = checks.index_array(answer, "answer (a candidate position)", ndim=1,
                               size=s.shape[1])
        if len(a) != len(q):
            raise ValueError(f"answer has {len(a)} tasks but query has {len(q)}")
    return images, q, s, a


def one_shot_tasks(y, n_way: int, num_tasks: int, seed: int = 0, classes=None, groups=None,
                   drawers=None):
    """N-way one-shot tasks as index arrays ``(query, support, answer)``.

    Each task draws ``n_way`` distinct classes and one support example of each
    (``support``: (tasks, n_way) indices into ``y``), and a query: another example of the
    class at position ``answer`` (tasks,). ``groups`` maps each example to a group (e.g. its
    alphabet): then every task draws its classes from one group, as in Lake et al.'s
    within-alphabet runs.

    ``drawers`` (who drew each example) builds the tasks as Lake et al. built their runs: all
    candidates of a task by one drawer, the query by another, and no query used twice. Without
    it a distractor may share the query's drawer (a cue that has nothing to do with the
    character) and a query may recur. With ``drawers``, a class needs its examples by both of
    the task's drawers; tasks whose drawers leave fewer than ``n_way`` such classes are
    drawn again.

    Args:
        y: integer class ids (N,).
        n_way: candidates per task, an int >= 1.
        num_tasks: tasks to draw, an int >= 1.
        seed: an int >= 0.
        classes: restrict tasks to these class ids, or None.
        groups: a group id per example (N,), or None.
        drawers: a drawer id per example (N,), or None (see above).

    Returns:
        ``(query, support, answer)``: int arrays (T,), (T, n_way), (T,).

    Raises:
        TypeError: arguments of the wrong type.
        ValueError: ``n_way`` larger than the classes (of every group), a class with a single
            example, ``groups`` or ``drawers`` of another length, a class in two groups, more
            tasks than there are distinct queries to give them (with ``drawers``).

    Warns:
        UserWarning: groups with fewer than ``n_way`` classes (they are skipped).
    """
    n_way = checks.positive_int(n_way, "n_way")
    num_tasks = checks.positive_int(num_tasks, "num_tasks")
    rng = np.random.default_rng(checks.seed(seed))
    table = ClassTable.build(y, classes=classes, groups=groups)
    order, starts, counts = table.order, table.starts, table.counts
    table.require_classes(n_way, f"n_way={n_way} candidates per task")
    table.require_examples(2, "a task needs a support and a different query example "
                                  "of its class")

    if drawers is not None:
        return _drawer_tasks(y, table, checks.class_labels(drawers, "drawers"), n_way, num_tasks,
                             rng)
    keys = rng.random((num_tasks, table.num_classes))
    if groups is not None:
        class_group = table.class_group
        eligible = table.eligible_groups(n_way, f"n_way={n_way}")
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


def _drawer_tasks(y, table: ClassTable, drawers: np.ndarray, n_way: int, num_tasks: int,
                  rng: np.random.Generator):
    """Tasks built like Lake's runs (see :func:`one_shot_tasks`): a group, two drawers, the
    candidates by the first, a query by the second that no earlier task used."""
    checks.same_length(drawers, "drawers", y, "y")
    example = {}                                   # (class slot, drawer) -> example index
    for slot in range(table.num_classes):
        rows = table.order[table.starts[slot]:table.starts[slot] + table.counts[slot]]
        for i in rows:
            example.setdefault((slot, int(drawers[i])), int(i))
    group_of = (table.class_group if table.class_group is not None
                else np.zeros(table.num_classes, np.int64))
    slots_of = {g: np.flatnonzero(group_of == g) for g in np.unique(group_of)}
    drawers_of = {g: sorted({d for (s, d) in example if group_of[s] == g}) for g in slots_of}
    possible = len(example)
    if num_tasks > possible:
        raise ValueError(f"num_tasks={num_tasks} is more than the {possible} distinct queries "
                         "(class, drawer) there are: with drawers, no query is used twice")
    used, tasks, tries = set(), [], 0
    groups = [g for g in slots_of if len(slots_of[g]) >= n_way and len(drawers_of[g]) >= 2]
    if not groups:
        raise ValueError(f"no group has {n_way} classes drawn by 2 drawers")
    while len(tasks) < num_tasks:
        tries += 1
        if tries > 1000 * num_tasks:
            raise ValueError(f"could only build {len(tasks)} of {num_tasks} tasks with distinct "
                             "queries: ask for fewer")
        g = groups[rng.integers(len(groups))]
        first, second = rng.choice(drawers_of[g], 2, replace=False)
        both = [s for s in slots_of[g] if (s, first) in example and (s, second) in example]
        if len(both) < n_way:
            continue
        chosen = rng.choice(both, n_way, replace=False)
        answer = int(rng.integers(n_way))
        query = example[(int(chosen[answer]), int(second))]
        if query in used:
            continue
        used.add(query)
        tasks.append((query, [example[(int(s), int(first))] for s in chosen], answer))
    query = np.array([t[0] for t in tasks], np.int64)
    support = np.array([t[1] for t in tasks], np.int64)
    answer = np.array([t[2] for t in tasks], np.int64)
    return query, support, answer


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


def _origin(centre, candidates: np.ndarray) -> np.ndarray:
    """The origin ``centre`` asks for, broadcastable against ``candidates`` (T, N, D)."""
    if isinstance(centre, str):
        if centre != "support":
            raise ValueError(f"centre must be None, 'support' or a vector, got {centre!r}")
        return candidates.mean(axis=1, keepdims=True)
    vector = checks.float_array(centre, "centre", ndim=1)
    if vector.shape[0] != candidates.shape[-1]:
        raise ValueError(f"centre must be a finite vector of the embedding's size "
                         f"{candidates.shape[-1]}, got shape {vector.shape}")
    return vector


def task_scores(model, images, query, support, output: str | None = None,
                metric: str = "euclidean", centre=None, batch_size: int = 256) -> np.ndarray:
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

    With pixels and encoders, ``centre`` moves the origin before the distance: ``"support"``
    subtracts the mean of each task's candidate embeddings (from the query and the candidates
    of that task), a vector subtracts itself from every embedding (e.g. the mean embedding of
    the training images). Euclidean distances do not change; cosine distances do: centring
    then normalising is SimpleShot's CL2N (Wang et al. 2019).

    Args:
        model: None, an encoder or a Siamese ``keras.Model`` (see above).
        images: the image array every index points into (N, ...).
        query: one query index per task (T,).
        support: the N candidate indices of each task (T, N).
        output: ``None``, ``"similarity"`` or ``"distance"`` (two-input models only).
        metric: one of ``distances.METRICS`` (pixels and encoders).
        centre: None, ``"support"`` or a finite vector of the embedding's size (pixels and
            encoders; see above).
        batch_size: images per forward pass, an int >= 1.

    Returns:
        Scores (T, N), float64.

    Raises:
        TypeError: a model of another kind, non-integer indices or batch size.
        ValueError: indices out of range, mismatched task counts, an unknown metric or output,
            a head whose kind cannot be told, a model output of more than one number per pair,
            a ``centre`` that is not ``"support"`` or a finite vector of the embedding's size,
            or any ``centre`` with a two-input model.
    """
    images, q, s, _ = check_tasks(images, query, support)
    batch_size = checks.positive_int(batch_size, "batch_size")
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
        queries, candidates = emb[q_pos][:, None, :], emb[s_pos]
        if centre is not None:
            origin = _origin(centre, candidates)
            queries, candidates = queries - origin, candidates - origin
        return -distances.paired(queries, candidates, metric,
                                 names=("query embeddings", "support embeddings"))
    if centre is not None:
        raise ValueError("centre applies to embeddings: pass model=None (pixels) or an encoder, "
                         "not a two-input Siamese model")

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
    a = checks.index_array(answer, "answer", ndim=1, size=scores.shape[1])
    if len(a) != len(scores):
        raise ValueError(f"answer has {len(a)} tasks but scores has {len(scores)}")
    best = scores.max(axis=1)
    rows = np.arange(len(a))
    unique_best = (scores == best[:, None]).sum(axis=1) == 1
    return (scores[rows, a] == best) & unique_best


# --------------------------------------------------------------------------- Lake's runs


def _check_runs(runs) -> list:
    if not isinstance(runs, (list, tuple)) or isinstance(runs, LakeRun):
        raise TypeError("runs must be a non-empty list of LakeRun (see data.load_lake_runs), "
                        f"got {type(runs).__name__}")
    if not runs:
        raise ValueError("runs must be a non-empty list of LakeRun (see data.load_lake_runs), "
                         "got an empty one")
    for i, run in enumerate(runs):
        if not isinstance(run, (list, tuple)) or len(run) != 3:
            raise TypeError(f"runs[{i}] must be a LakeRun (train_images, test_images, answers), "
                            f"got {type(run).__name__}")
        train, test = np.asarray(run[0]), np.asarray(run[1])
        if train.ndim != 3 or test.ndim != 3 or train.shape[1:] != test.shape[1:]:
            raise ValueError(f"runs[{i}] must hold image stacks (n, H, W) of one size")
        answers = checks.index_array(run[2], f"runs[{i}].answers", ndim=1, size=len(train))
        if answers.shape != (len(test),):
            raise ValueError(f"runs[{i}].answers must give a training index per test image, "
                             f"got {answers.shape[0]} for {len(test)} test images")
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
        TypeError: ``runs`` not a list of LakeRun, non-integer answers.
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


def score_lake_queries(model, runs, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """The model's outcome on every query of Lake's runs, and its picks.

    Args:
        model: as in :func:`task_scores` (``None``: 1-NN on pixels).
        runs: a non-empty list of :class:`course_lib.data.LakeRun`.
        **kwargs: passed to :func:`task_scores`.

    Returns:
        ``(right, picks)``: right (True) or wrong on each query, run by run (R * n_test,), a
        tie counted as wrong as :func:`task_accuracy` counts it; and the picked candidate of
        each query (R, n_test), the first of the tied ones on a tie.

    Raises:
        TypeError, ValueError: as :func:`lake_run_tasks` and :func:`task_scores`.
    """
    images, query, support, answer, _ = lake_run_tasks(runs)
    scores = task_scores(model, images, query, support, **kwargs)
    return task_accuracy(scores, answer), scores.argmax(axis=1).reshape(len(runs), -1)


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
    right, picks = score_lake_queries(model, runs, **kwargs)
    return right.reshape(len(runs), -1).mean(axis=1), picks


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
        TypeError: ``runs`` not a list of LakeRun, a non-int ``n_way``, ``num_tasks`` or
            ``seed``.
        ValueError: malformed runs, a value out of range.
    """
    runs = _check_runs(runs)
    images = lake_run_tasks(runs)[0]
    n_way = checks.positive_int(n_way, "n_way")
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
        num_tasks = checks.positive_int(num_tasks, "num_tasks")
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


# --------------------------------------------------------------------------- prototypes


def lake_accuracy_against_n(models, runs, ns, seed: int = 0) -> tuple[dict, dict]:
    """One-shot accuracy of several models on Lake's runs at several N, with Wilson intervals.

    For each N, :func:`lake_n_way_tasks` makes one task per query (its true character and
    N - 1 others of the same run, drawn with seed ``seed + N``); every model faces the same
    tasks. The result feeds :func:`course_lib.plots.plot_accuracy_vs_n` as it is.

    Args:
        models: ``{name: model}``, each model as in :func:`task_scores` (``None``: pixels).
        runs: a non-empty list of :class:`course_lib.data.LakeRun`.
        ns: the N to score, ints in [2, candidates per run].
        seed: an int >= 0.

    Returns:
        ``(curves, errors)``: ``{name: [accuracy per N]}`` and ``{name: ([low per N],
        [high per N])}``, 95% Wilson intervals over the tasks (not clustered).

    Raises:
        TypeError: ``models`` not a mapping; as :func:`lake_n_way_tasks` and
            :func:`task_scores`.
        ValueError: no models or no N; as :func:`lake_n_way_tasks`.
    """
    from course_lib import evaluate

    if not isinstance(models, dict):
        raise TypeError(f"models must be a mapping from a name to a model, got "
                        f"{type(models).__name__}")
    ns = [checks.integer(n, "ns", minimum=2) for n in ns]
    if not models or not ns:
        raise ValueError("models and ns must not be empty")
    seed = checks.seed(seed)
    curves = {name: [] for name in models}
    errors = {name: ([], []) for name in models}
    for n in ns:
        images, query, support, answer, _ = lake_n_way_tasks(runs, n, seed=seed + n)
        for name, model in models.items():
            mean, low, high = evaluate.n_way_accuracy(
                task_accuracy(task_scores(model, images, query, support), answer))
            curves[name].append(mean)
            errors[name][0].append(low)
            errors[name][1].append(high)
    return curves, errors


def class_prototypes(embeddings, labels, k_shot: int | None = None, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Each class's prototype, the mean of its support embeddings (Snell et al. 2017).

    Args:
        embeddings: (M, D) float array of support embeddings.
        labels: (M,) integer class labels of the rows.
        k_shot: support rows per class, an int >= 1 drawn without replacement (seeded); None:
            all rows of each class.
        seed: seed of the draw of the ``k_shot`` rows.

    Returns:
        ``(classes, prototypes)``: the sorted class labels (C,) and their prototypes (C, D).

    Raises:
        TypeError: non-numeric embeddings, non-integer labels or ``k_shot``.
        ValueError: embeddings not 2-D or with NaN/inf, labels of another length, ``k_shot``
            < 1 or larger than a class (the message names the class).
    """
    emb = checks.float_array(embeddings, "embeddings", ndim=2)
    y = checks.class_labels(labels, "labels")
    checks.same_length(emb, "embeddings", y, "labels")
    seed = checks.seed(seed)
    classes, counts = np.unique(y, return_counts=True)
    if k_shot is not None:
        k_shot = checks.integer(k_shot, "k_shot", minimum=1)
        small = counts < k_shot
        if small.any():
            raise ValueError(f"k_shot={k_shot} is larger than class {classes[small][0]}, which "
                             f"has {counts[small][0]} rows")
    rng = np.random.default_rng(seed)
    protos = np.empty((len(classes), emb.shape[1]), emb.dtype)
    for i, c in enumerate(classes):
        rows = np.flatnonzero(y == c)
        if k_shot is not None:
            rows = rng.choice(rows, size=k_shot, replace=False)
        protos[i] = emb[rows].mean(axis=0)
    return classes, protos


def nearest_prototype(queries, classes, prototypes) -> np.ndarray:
    """The class of the nearest prototype (Euclidean distance) of each query.

    Args:
        queries: (Q, D) float array of query embeddings.
        classes: (C,) class labels of the prototypes, as :func:`class_prototypes` returns them.
        prototypes: (C, D) float array of prototypes.

    Returns:
        (Q,) the predicted class of each query (ties: the first prototype).

    Raises:
        TypeError, ValueError: bad arrays, ``classes`` not one label per prototype, different
            dimensions.
    """
    classes = checks.class_labels(classes, "classes")
    protos = checks.float_array(prototypes, "prototypes", ndim=2)
    checks.same_length(classes, "classes", protos, "prototypes")
    index, _ = distances.nearest(queries, protos, k=1)
    return classes[index[:, 0]]


def k_shot_tasks(y, n_way: int, k_shot: int, num_tasks: int, seed: int = 0, groups=None,
                 queries: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """N-way k-shot tasks as index arrays: per task ``n_way`` distinct classes, ``k_shot``
    support examples of each and ``queries`` other examples of each as queries.

    Args:
        y: integer class ids (N,).
        n_way: classes per task, an int >= 2.
        k_shot: support examples per class, an int >= 1.
        num_tasks: tasks to draw, an int >= 1.
        seed: an int >= 0.
        groups: a group id per example (N,) (e.g. its alphabet), or None: with it every task
            draws its classes from one group.
        queries: query examples per class, an int >= 1 (disjoint from the support).

    Returns:
        ``(support, query)``: int arrays (T, n_way, k_shot) and (T, n_way, queries) of indices
        into ``y``; ``support[t, c]`` and ``query[t, c]`` belong to the same class, so the
        answer of ``query[t, c, :]`` is position ``c``.

    Raises:
        TypeError: arguments of the wrong type.
        ValueError: ``n_way`` larger than the classes (of every group), a class with fewer
            than ``k_shot + queries`` examples (the message names ``k_shot``), ``groups`` of
            another length or a class in two groups.
    """
    n_way = checks.integer(n_way, "n_way", minimum=2)
    k_shot = checks.positive_int(k_shot, "k_shot")
    queries = checks.positive_int(queries, "queries")
    num_tasks = checks.positive_int(num_tasks, "num_tasks")
    rng = np.random.default_rng(checks.seed(seed))
    table = ClassTable.build(y, groups=groups)
    table.require_classes(n_way, f"n_way={n_way} classes per task")
    table.require_examples(k_shot + queries, f"k_shot={k_shot} support and queries={queries} "
                                             "query examples per class",
                           "lower k_shot or queries")
    group_of = (table.class_group if groups is not None
                else np.zeros(table.num_classes, np.int64))
    eligible = (table.eligible_groups(n_way, f"n_way={n_way}") if groups is not None
                else np.zeros(1, np.int64))
    slots_of = {g: np.flatnonzero(group_of == g) for g in eligible}
    need = k_shot + queries
    support = np.empty((num_tasks, n_way, k_shot), np.int64)
    query = np.empty((num_tasks, n_way, queries), np.int64)
    for t in range(num_tasks):
        chosen = rng.choice(slots_of[eligible[rng.integers(len(eligible))]], n_way,
                            replace=False)
        for c, slot in enumerate(chosen):
            rows = table.order[table.starts[slot]:table.starts[slot] + table.counts[slot]]
            picked = rng.choice(rows, need, replace=False)
            support[t, c], query[t, c] = picked[:k_shot], picked[k_shot:]
    return support, query


def k_shot_accuracy(embeddings, support, query) -> np.ndarray:
    """Each task's accuracy by nearest prototype: every query is answered with the class whose
    prototype (the mean of its support embeddings, Snell et al. 2017) is nearest in Euclidean
    distance.

    Args:
        embeddings: (N, D) float array, the embeddings the task indices point into.
        support: (T, n_way, k) support indices, as :func:`k_shot_tasks` returns them.
        query: (T, n_way, q) query indices of the same classes.

    Returns:
        (T,) the share of each task's queries answered right.

    Raises:
        TypeError: non-numeric embeddings or non-integer indices.
        ValueError: embeddings not 2-D or not finite, index arrays not 3-D, of different tasks
            or classes, or out of range.
    """
    emb = checks.float_array(embeddings, "embeddings", ndim=2)
    support = checks.index_array(support, "support (indices into embeddings)", ndim=3,
                                 size=len(emb))
    query = checks.index_array(query, "query (indices into embeddings)", ndim=3, size=len(emb))
    if support.shape[:2] != query.shape[:2]:
        raise ValueError(f"support and query must have the same tasks and classes, got shapes "
                         f"{support.shape} and {query.shape}")
    protos = emb[support].mean(axis=2)                                     # (T, N, D)
    q = emb[query]                                                         # (T, N, Q, D)
    d = np.sum((q[:, :, :, None, :] - protos[:, None, None, :, :]) ** 2, axis=-1)   # (T,N,Q,N)
    right = d.argmin(axis=-1) == np.arange(support.shape[1])[None, :, None]
    return right.reshape(len(support), -1).mean(axis=1)
