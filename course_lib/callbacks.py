"""Keras callbacks that watch training: wall-clock time per epoch, a wall-clock budget, embedding
snapshots per epoch, and one-shot accuracy or retrieval recall@k on validation classes, each
keeping the best epoch.

List an :class:`EpochTimer` *before* any callback that does work at the end of an epoch (such
as :class:`EmbeddingSnapshots`): callbacks run in list order, so the timer then stops before
that work starts and measures training alone.

Introduced in notebook 05.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from course_lib import checks, evaluate, oneshot

__all__ = [
    "BestEpochValidation",
    "EmbeddingSnapshots",
    "EpochTimer",
    "OneShotValidation",
    "RetrievalValidation",
    "TimeBudget",
]


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of each training epoch in ``times`` (one float per epoch).

    The list keeps growing across several ``fit`` calls, so training in stages is timed whole.
    """

    def __init__(self):
        super().__init__()
        self.times: list[float] = []
        self._start: float | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self._start is not None:
            self.times.append(time.perf_counter() - self._start)
            self._start = None


class TimeBudget(keras.callbacks.Callback):
    """Stops training once ``seconds`` of wall-clock time have been spent in training batches.

    Only the time inside ``fit``'s training steps counts (from the start of each epoch to the
    end of its last finished batch), so work done at the end of an epoch by callbacks listed
    after this one (e.g. validation scoring) is not charged to the budget. ``steps`` counts the
    batches trained and ``seconds`` the time charged, across several ``fit`` calls.

    Args:
        seconds: the budget, a number > 0.

    Raises:
        TypeError: a non-numeric budget. ValueError: a budget <= 0.
    """

    def __init__(self, seconds: float):
        super().__init__()
        self.budget = checks.number(seconds, "seconds", 0.0, low_open=True)
        self.seconds = 0.0
        self.steps = 0
        self._mark: float | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self._mark = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self._mark is not None:
            self.seconds += now - self._mark
        self._mark = now
        self.steps += 1
        if self.seconds >= self.budget:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self._mark = None


def _check_epochs(epochs) -> frozenset[int] | None:
    if epochs is None:
        return None
    try:
        values = list(epochs)
    except TypeError as err:
        raise TypeError(f"epochs must be an iterable of ints or None, got {epochs!r}") from err
    return frozenset(checks.integer(e, f"epochs[{i}] (0 = before training)", minimum=0)
                     for i, e in enumerate(values))


class EmbeddingSnapshots(keras.callbacks.Callback):
    """Embeds ``x`` with ``encoder`` before training and after chosen epochs.

    ``snapshots`` maps the number of epochs completed (0 = before training) to the embeddings,
    an array (len(x), embedding_dim). ``epochs`` lists the epoch counts to keep (None: every
    epoch, and the start). Epochs are counted as Keras counts them, so ``fit(...,
    initial_epoch=k)`` continues the numbering. The encoder may be a sub-model of the model
    being trained (the shared encoder of a Siamese net, the trunk of a classifier).

    Args:
        encoder: the ``keras.Model`` whose embeddings are recorded.
        x: the inputs to embed, a non-empty batch.
        epochs: epoch counts to keep (ints >= 0), or None for all.
        batch_size: inputs embedded per call, an int >= 1.

    Raises:
        TypeError: ``encoder`` not a Model, ``epochs`` not an iterable of ints, ``batch_size``
            not an int. ValueError: empty ``x``, a negative epoch, ``batch_size`` < 1.
    """

    def __init__(self, encoder: keras.Model, x, epochs=None, batch_size: int = 1024):
        super().__init__()
        if not isinstance(encoder, keras.Model):
            raise TypeError(f"encoder must be a keras.Model, got {type(encoder).__name__}")
        x = np.asarray(x)
        if x.ndim < 2 or len(x) == 0:
            raise ValueError(f"x must be a non-empty batch of inputs, got shape {x.shape}")
        batch_size = checks.positive_int(batch_size, "batch_size")
        self.encoder = encoder
        self.x = x
        self.epochs = _check_epochs(epochs)
        self.batch_size = batch_size
        self.snapshots: dict[int, np.ndarray] = {}

    def _wanted(self, count: int) -> bool:
        return self.epochs is None or count in self.epochs

    def take(self, count: int) -> np.ndarray:
        """Embed ``x`` now and store it as the snapshot after ``count`` epochs."""
        # A direct call per batch: no predict function to trace, so cheap even every epoch.
        parts = [np.asarray(self.encoder(self.x[i:i + self.batch_size], training=False))
                 for i in range(0, len(self.x), self.batch_size)]
        emb = np.concatenate(parts)
        self.snapshots[int(count)] = emb
        return emb

    def on_train_begin(self, logs=None):
        if 0 not in self.snapshots and self._wanted(0):
            self.take(0)

    def on_epoch_end(self, epoch, logs=None):
        if self._wanted(epoch + 1):
            self.take(epoch + 1)


class BestEpochValidation(keras.callbacks.Callback):
    """Base of the validation callbacks: score at the end of each epoch, keep the best epoch.

    A subclass sets ``name`` and defines :meth:`score` (higher is better). Each epoch's score is
    added to the epoch logs as ``logs[name]`` (so it shows in ``fit``'s progress line and
    history) and kept in ``history``; with ``restore_best=True`` the model ends training with
    the weights of its best epoch (the first best on ties): model selection on validation data
    only, never on the test set.

    Args:
        name: the key added to the epoch logs.
        restore_best: end training with the best epoch's weights, a bool.
        verbose: print one line per epoch, and one when the best weights are restored, a bool.

    Raises:
        TypeError: ``restore_best`` or ``verbose`` not a bool.
    """

    def __init__(self, name: str, restore_best: bool = True, verbose: bool = False):
        super().__init__()
        self.name = str(name)
        self.restore_best = checks.boolean(restore_best, "restore_best")
        self.verbose = checks.boolean(verbose, "verbose")
        self.history: list[float] = []
        self.best_epoch: int | None = None
        self.best: float = -np.inf
        self._best_weights = None

    def score(self) -> float:
        """The validation score of ``self.model`` now (higher is better)."""
        raise NotImplementedError(f"{type(self).__name__} must define score()")

    def on_epoch_end(self, epoch, logs=None):
        value = self.score()
        self.history.append(value)
        if logs is not None:
            logs[self.name] = value
        improved = value > self.best
        if improved:
            self.best, self.best_epoch = value, epoch
            if self.restore_best:
                self._best_weights = self.model.get_weights()
        if self.verbose:
            mark = (" (best so far)" if improved else
                    f" (best {self.best:.4f} at epoch {self.best_epoch + 1})")
            print(f"epoch {epoch + 1}: {self.name} = {value:.4f}{mark}")

    def on_train_end(self, logs=None):
        if self.restore_best and self._best_weights is not None:
            self.model.set_weights(self._best_weights)
            if self.verbose:
                print(f"restored the weights of epoch {self.best_epoch + 1} "
                      f"({self.name} = {self.best:.4f})")


class OneShotValidation(BestEpochValidation):
    """Score fixed validation tasks at the end of each epoch; keep the best epoch's weights.

    Adds ``logs[name]`` (the accuracy), so it shows in ``fit``'s progress line and history. With
    ``restore_best=True`` the model ends training with the weights of its best epoch (first best
    on ties), which is model selection on validation tasks only. Tasks are drawn by
    :func:`course_lib.oneshot.one_shot_tasks` and scored by
    :func:`course_lib.oneshot.task_scores`.

    Args:
        images: the image array every index points into (N, ...).
        query: one query index per task (T,).
        support: the N candidate indices of each task (T, N).
        answer: the true candidate position of each task (T,).
        name: the key added to the epoch logs.
        restore_best: end training with the best epoch's weights, a bool.
        verbose: print one line per epoch, a bool (off: ``fit`` shows ``logs[name]``).
        **score_kwargs: passed to :func:`course_lib.oneshot.task_scores` (``output``,
            ``metric``, ``batch_size``).

    Raises:
        TypeError: non-integer indices, ``restore_best`` or ``verbose`` not a bool.
        ValueError: indices out of range, mismatched counts, no ``answer``.
    """

    def __init__(self, images, query, support, answer, name: str = "val_one_shot",
                 restore_best: bool = True, verbose: bool = False, **score_kwargs):
        super().__init__(name, restore_best, verbose)
        if answer is None:
            raise ValueError("answer is required to score validation tasks")
        self.images, self.query, self.support, self.answer = oneshot.check_tasks(
            images, query, support, answer)
        self.score_kwargs = score_kwargs

    def score(self) -> float:
        """Accuracy of ``self.model`` on the validation tasks now."""
        scores = oneshot.task_scores(self.model, self.images, self.query, self.support,
                                     **self.score_kwargs)
        return float(oneshot.task_accuracy(scores, self.answer).mean())


class RetrievalValidation(BestEpochValidation):
    """Recall@k or MAP@R on validation classes after each epoch; keep the best epoch's weights.

    Every validation image is embedded by ``encoder`` (in batches) and used as a query against
    all the others (leave-one-out, :func:`course_lib.evaluate.recall_at_k` or
    :func:`course_lib.evaluate.map_at_r` with ``exclude_self=True``). Recall@1 saturates early
    on easy data (every image's nearest neighbour is right long before the classes are well
    separated), and then cannot tell epochs apart; MAP@R (``score="map@r"``), which asks that
    *all* of a class's images rank first, keeps moving. The score is added to the epoch logs as ``logs[name]``, kept in
    ``history``, and printed as one line per epoch when ``verbose``; non-finite embeddings (a
    diverged run) score 0. With ``restore_best=True``
    the trained model ends with the weights of its best epoch (the first best on ties): model
    selection on validation classes only, never on the test set.

    Args:
        encoder: the ``keras.Model`` that embeds one image (usually part of the trained model).
        images: validation images, an array (N, ...) or a ``tf.data.Dataset`` of image batches
            (images only, in the order of ``labels``), so images read from files need not be
            decoded whole into memory.
        labels: their integer class labels (N,); classes absent from training.
        k: neighbours looked at for recall@k, an int >= 1.
        metric: one of ``distances.METRICS``.
        score: ``"recall@k"`` (default) or ``"map@r"``.
        name: the key added to the epoch logs; default ``"val_recall@{k}"`` or ``"val_map@r"``.
        restore_best: end training with the best epoch's weights, a bool.
        verbose: print one line per epoch, a bool.
        batch_size: images per embedding batch for an array, an int >= 1.

    Raises:
        TypeError: ``encoder`` not a Keras model, non-integer labels, non-bool flags.
        ValueError: empty images, a label count that differs from the image count, ``k`` >= N,
            an unknown ``score``.
    """

    SCORES = ("recall@k", "map@r")

    def __init__(self, encoder, images, labels, k: int = 1, metric: str = "euclidean",
                 name: str | None = None, restore_best: bool = True, verbose: bool = True,
                 batch_size: int = 256, score: str = "recall@k"):
        self.measure = checks.one_of(score, "score", self.SCORES)
        default = f"val_recall@{k}" if self.measure == "recall@k" else "val_map@r"
        super().__init__(default if name is None else name, restore_best, verbose)
        if not isinstance(encoder, keras.Model):
            raise TypeError(f"encoder must be a keras.Model, got {type(encoder).__name__}")
        self.encoder = encoder
        self.labels = checks.class_labels(labels, "labels")
        self.k = checks.positive_int(k, "k")
        if self.k >= len(self.labels):
            raise ValueError(f"k must be below the number of validation images "
                             f"({len(self.labels)}), got {self.k}")
        self.metric = metric
        self.batch_size = checks.positive_int(batch_size, "batch_size")
        if isinstance(images, tf.data.Dataset):
            self.images = images
        else:
            self.images = checks.float_array(images, "images")
            checks.same_length(self.images, "images", self.labels, "labels")

    def embed(self) -> np.ndarray:
        """Embeddings of the validation images by the encoder now, (N, D)."""
        if isinstance(self.images, tf.data.Dataset):
            emb = np.concatenate([np.asarray(self.encoder(b, training=False))
                                  for b in self.images])
        else:
            emb = np.concatenate([
                np.asarray(self.encoder(self.images[i:i + self.batch_size], training=False))
                for i in range(0, len(self.images), self.batch_size)])
        if len(emb) != len(self.labels):
            raise ValueError(f"images gave {len(emb)} embeddings but labels has "
                             f"{len(self.labels)} entries")
        return emb

    def score(self) -> float:
        """Leave-one-out recall@k (or MAP@R) of the validation images now (0.0 when training
        diverged and the embeddings are not finite)."""
        emb = self.embed()
        if not np.isfinite(emb).all():
            return 0.0
        if self.measure == "map@r":
            return evaluate.map_at_r(emb, self.labels, metric=self.metric)
        return evaluate.recall_at_k(emb, self.labels, emb, self.labels, k=self.k,
                                    exclude_self=True, metric=self.metric)
