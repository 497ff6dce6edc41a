"""Seeded "train for S steps, then score" runs, so that a notebook compares models, not plumbing.

:func:`train_on_pairs` builds a model from fixed initial weights and trains it for a fixed
number of steps on a fixed stream of pairs: two runs with the same seed differ only in what the
caller changed (the loss, the head, the margin). :func:`verification_scores` embeds the
validation and test images and scores verification with a threshold chosen on validation pairs
only. :func:`step_losses` trains one batch at a time and keeps every step's loss, ``NaN``
included, where ``fit`` would only report means.

Introduced in notebook 03.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import keras
import numpy as np

from course_lib import checks, distribute, evaluate, pairs

__all__ = ["PairRun", "encode", "step_losses", "train_on_pairs", "verification_scores"]

_OPTIMIZERS = ("adam", "rmsprop", "sgd")


@dataclass(frozen=True)
class PairRun:
    """One training run of :func:`train_on_pairs`.

    Attributes:
        encoder: the trained encoder (one image to its embedding).
        model: the trained two-input model.
        steps: the step count at the end of each logged chunk, shape (chunks,).
        loss: the mean training loss over each chunk, shape (chunks,).
    """

    encoder: keras.Model
    model: keras.Model
    steps: np.ndarray
    loss: np.ndarray


def _built(pair) -> tuple[keras.Model, keras.Model]:
    if (not isinstance(pair, tuple) or len(pair) != 2
            or not all(isinstance(m, keras.Model) for m in pair)):
        raise TypeError("build must return a tuple (encoder, model) of two keras.Model, got "
                        f"{type(pair).__name__}")
    return pair


def train_on_pairs(build: Callable, loss, x, y, *, steps: int, seed: int = 0,
                   batch_size: int = 128, chunks: int = 4, optimizer: str = "adam",
                   learning_rate: float = 1e-3, strategy=None, verbose: int = 2) -> PairRun:
    """Build a model from seed-fixed weights and train it for ``steps`` steps of seeded pairs.

    ``build()`` is called after ``keras.utils.set_random_seed(seed)`` and inside the
    strategy's scope, so every run with the same seed starts from the same weights (as far as
    the models share layers) and sees the same batches of :func:`course_lib.pairs.pair_dataset`
    (half same-class pairs, label 1 = same). Training runs as ``chunks`` "epochs" of
    ``steps // chunks`` steps each, one log line per chunk with ``verbose=2``.

    Args:
        build: a callable with no arguments returning ``(encoder, model)``: the encoder and the
            two-input model that uses it.
        loss: the loss to compile the model with (a ``keras.losses.Loss`` or a callable).
        x: training images (N, ...).
        y: integer class ids (N,).
        steps: the number of training steps, an int >= 1, a multiple of ``chunks``.
        seed: an int >= 0, for the initial weights and the pair stream.
        batch_size: pairs per step and replica, an int >= 1 (multiplied by the number of
            replicas of ``strategy``).
        chunks: how many chunks (logged "epochs") the steps are split into, an int >= 1.
        optimizer: ``"adam"``, ``"rmsprop"`` or ``"sgd"``.
        learning_rate: the optimizer's learning rate, a number > 0.
        strategy: a ``tf.distribute.Strategy``, or None for
            :func:`course_lib.distribute.get_strategy`.
        verbose: passed to ``fit``: 0 silent, 2 one line per chunk.

    Returns:
        A :class:`PairRun`.

    Raises:
        TypeError: ``build`` not callable or not returning two models, ``loss`` not callable,
            arguments of the wrong type.
        ValueError: ``steps`` not a positive multiple of ``chunks``, an unknown ``optimizer``,
            a learning rate <= 0, bad data (see :func:`course_lib.pairs.pair_dataset`).
    """
    checks.callable_value(build, "build")
    checks.callable_value(loss, "loss")
    steps = checks.positive_int(steps, "steps")
    chunks = checks.positive_int(chunks, "chunks")
    if steps % chunks:
        raise ValueError(f"steps must be a multiple of chunks={chunks}, got {steps}")
    seed = checks.seed(seed)
    batch_size = checks.positive_int(batch_size, "batch_size")
    checks.one_of(optimizer, "optimizer", _OPTIMIZERS)
    learning_rate = checks.number(learning_rate, "learning_rate", 0.0, low_open=True)
    verbose = checks.one_of(verbose, "verbose", (0, 1, 2))
    strategy = distribute.get_strategy() if strategy is None else strategy
    stream = pairs.pair_dataset(x, y, batch_size=distribute.global_batch_size(batch_size, strategy),
                                seed=seed, repeat=True)
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        encoder, model = _built(build())
        model.compile(optimizer=keras.optimizers.get(
            {"class_name": optimizer, "config": {"learning_rate": learning_rate}}), loss=loss)
    per_chunk = steps // chunks
    history = model.fit(stream, steps_per_epoch=per_chunk, epochs=chunks, verbose=verbose)
    return PairRun(encoder=encoder, model=model,
                   steps=per_chunk * np.arange(1, chunks + 1),
                   loss=np.asarray(history.history["loss"], dtype=np.float64))


def encode(encoder: keras.Model, x, batch_size: int = 5000) -> np.ndarray:
    """The embeddings of ``x`` in inference mode, as a NumPy array.

    Args:
        encoder: a one-input ``keras.Model``.
        x: images (N, ...) the encoder accepts.
        batch_size: images per forward pass, an int >= 1.

    Returns:
        The embeddings, shape (N, D).

    Raises:
        TypeError: ``encoder`` not a Model, a non-int ``batch_size``.
        ValueError: ``batch_size`` < 1.
    """
    if not isinstance(encoder, keras.Model):
        raise TypeError(f"encoder must be a keras.Model, got {type(encoder).__name__}")
    batch_size = checks.positive_int(batch_size, "batch_size")
    return np.asarray(encoder.predict(x, batch_size=batch_size, verbose=0))


def _split(value, name: str):
    if not isinstance(value, tuple) or len(value) != 2:
        raise TypeError(f"{name} must be a tuple (images, (left, right, labels)), got "
                        f"{type(value).__name__}")
    images, index = value
    if not isinstance(index, tuple) or len(index) != 3:
        raise TypeError(f"{name}[1] must be (left, right, labels) as pairs.pair_indices returns")
    return images, index


def verification_scores(encoder: keras.Model, val, test,
                        batch_size: int = 5000) -> evaluate.VerificationReport:
    """Verification by embedding distance: threshold on validation pairs, scores on test pairs.

    Args:
        encoder: a one-input ``keras.Model``.
        val: ``(images, (left, right, labels))``: validation images and pair indices into them,
            as :func:`course_lib.pairs.pair_indices` returns (label 1 = same).
        test: the test images and pairs, in the same form.
        batch_size: images per forward pass, an int >= 1.

    Returns:
        An :class:`course_lib.evaluate.VerificationReport` on the test pairs.

    Raises:
        TypeError: ``val`` or ``test`` not in the form above, ``encoder`` not a Model.
        ValueError: bad pair indices or labels (see
            :func:`course_lib.evaluate.verification_report`).
    """
    x_val, (val_left, val_right, val_labels) = _split(val, "val")
    x_test, (test_left, test_right, test_labels) = _split(test, "test")
    emb_val = encode(encoder, x_val, batch_size)
    emb_test = encode(encoder, x_test, batch_size)
    return evaluate.verification_report(
        evaluate.pair_distances(emb_val, val_left, val_right), val_labels,
        evaluate.pair_distances(emb_test, test_left, test_right), test_labels)


def step_losses(model: keras.Model, batches: Iterable) -> np.ndarray:
    """Train ``model`` one batch at a time and return every step's loss, ``NaN`` included.

    Args:
        model: a compiled two-input ``keras.Model``.
        batches: an iterable of ``((left, right), labels)`` NumPy batches.

    Returns:
        The loss of each step, shape (steps,), float64.

    Raises:
        TypeError: ``model`` not a Model, a batch not of the form above.
        ValueError: no batch at all.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    out = []
    for i, batch in enumerate(batches):
        try:
            (left, right), labels = batch
        except (TypeError, ValueError) as err:
            raise TypeError(f"batches[{i}] must be ((left, right), labels)") from err
        out.append(float(model.train_on_batch([left, right], labels)))
    if not out:
        raise ValueError("batches must hold at least one batch, got none")
    return np.asarray(out, dtype=np.float64)
