"""Seeded "train for S steps, then score" runs, so that a notebook compares models, not plumbing.

:func:`train_on_pairs` builds a model from fixed initial weights and trains it for a fixed
number of steps on a fixed stream of pairs: two runs with the same seed differ only in what the
caller changed (the loss, the head, the margin, the optimizer of :func:`make_optimizer`). It can
track the spread of a probe's embeddings after every chunk (a spread falling to zero is the
signature of collapse). :func:`train_contrastive` is the run notebook 04 compares optimizers
with (an MLP to 2-D, the contrastive loss, stopped at the first NaN); :func:`early_warning`,
:func:`dead_units` and :func:`run_metrics` diagnose and measure such a run.
:func:`verification_scores` embeds the validation and test images and scores verification with
a threshold chosen on validation pairs only. :func:`step_losses` trains one batch at a time and
keeps every step's loss, ``NaN`` included, where ``fit`` would only report means.

Notebook 06's one-shot recipe lives here once: :func:`build_one_shot_recipe` makes one seeded,
compiled net and its stream of training episodes, and :func:`train_one_shot_recipe` trains one
net or several (an ensemble) for a budget in steps and returns a :class:`RecipeRun`.

Introduced in notebook 03.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import keras
import numpy as np

from course_lib import callbacks as course_callbacks
from course_lib import checks, distribute, evaluate, losses, models, pairs
from course_lib.augment import RandomAffine

__all__ = [
    "OPTIMIZERS",
    "PairRun",
    "RecipeRun",
    "build_one_shot_recipe",
    "dead_units",
    "early_warning",
    "encode",
    "make_optimizer",
    "run_metrics",
    "step_losses",
    "train_contrastive",
    "train_on_pairs",
    "train_one_shot_recipe",
    "verification_scores",
]

#: The optimizers :func:`make_optimizer` builds; ``"momentum"`` is SGD with heavy-ball momentum.
OPTIMIZERS = ("adam", "momentum", "rmsprop", "sgd")


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.9):
    """A fresh Keras optimizer: ``"adam"``, ``"rmsprop"``, ``"sgd"`` (plain gradient descent) or
    ``"momentum"``, each with Keras's defaults but for the learning rate.

    ``"momentum"`` is SGD with (heavy-ball) ``momentum``; the others ignore it.

    Args:
        name: one of ``OPTIMIZERS``.
        learning_rate: a finite number > 0.
        momentum: in [0, 1), for ``"momentum"`` only.

    Returns:
        A ``keras.optimizers.Optimizer``.

    Raises:
        TypeError: a non-numeric learning rate or momentum.
        ValueError: an unknown name or a value out of range.
    """
    checks.one_of(name, "name", OPTIMIZERS)
    learning_rate = checks.number(learning_rate, "learning_rate", 0.0, low_open=True)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    momentum = checks.number(momentum, "momentum", 0.0, 1.0, high_open=True)
    return keras.optimizers.SGD(learning_rate, momentum=momentum)


@dataclass(frozen=True, eq=False)
class PairRun:
    """One training run of :func:`train_on_pairs`.

    Attributes:
        encoder: the trained encoder (one image to its embedding).
        model: the trained two-input model.
        steps: the step count at the end of each logged chunk, shape (chunks run,).
        loss: the mean training loss over each chunk, shape (chunks run,): fewer than planned
            when a callback stopped training (e.g. ``TerminateOnNaN``).
        spread: ``spread[i]``, the spread of the probe embeddings after ``i`` chunks
            (``spread[0]``: at the start; see :func:`course_lib.evaluate.embedding_spread`), or
            None when no probe was tracked.
        seconds: wall time of ``fit``.
        optimizer: the optimizer's name.
        learning_rate: its learning rate.
        seed: the run's seed (initial weights and pairs).
    """

    encoder: keras.Model = field(repr=False)
    model: keras.Model | None = field(repr=False)
    steps: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    spread: np.ndarray | None = field(default=None, repr=False)
    seconds: float = float("nan")
    optimizer: str = "adam"
    learning_rate: float = float("nan")
    seed: int = 0

    @property
    def diverged(self) -> bool:
        """True when the loss or the probe embeddings went NaN/inf."""
        spread_ok = self.spread is None or np.isfinite(self.spread).all()
        return bool(not np.isfinite(self.loss).all() or not spread_ok)

    @property
    def label(self) -> str:
        """``"<optimizer> lr=<learning rate> seed=<seed>"``."""
        return f"{self.optimizer} lr={self.learning_rate:g} seed={self.seed}"

    def embed(self, x) -> np.ndarray:
        """Embeddings of ``x`` by the trained encoder (a direct call: unlike ``predict``, nothing
        is traced again for each of many encoders).

        Args:
            x: images the encoder accepts (N, ...).

        Returns:
            The embeddings (N, D).
        """
        return np.asarray(self.encoder(np.asarray(x), training=False))


def _built(pair) -> tuple[keras.Model, keras.Model]:
    if (not isinstance(pair, tuple) or len(pair) != 2
            or not all(isinstance(m, keras.Model) for m in pair)):
        raise TypeError("build must return a tuple (encoder, model) of two keras.Model, got "
                        f"{type(pair).__name__}")
    return pair


def train_on_pairs(build: Callable, loss, x, y, *, steps: int, seed: int = 0,
                   batch_size: int = 128, chunks: int = 4, optimizer: str = "adam",
                   learning_rate: float = 1e-3, strategy=None, verbose: int = 2,
                   callbacks=(), probe=None) -> PairRun:
    """Build a model from seed-fixed weights and train it for ``steps`` steps of seeded pairs.

    ``build()`` is called after ``keras.utils.set_random_seed(seed)`` and inside the
    strategy's scope, so every run with the same seed starts from the same weights (as far as
    the models share layers) and sees the same batches of :func:`course_lib.pairs.pair_dataset`
    (half same-class pairs, label 1 = same). Training runs as ``chunks`` "epochs" of
    ``steps // chunks`` steps each, one log line per chunk with ``verbose=2``. With ``probe``,
    the spread of the probe's embeddings is recorded before training and after every chunk.

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
        optimizer: a name of ``OPTIMIZERS`` (see :func:`make_optimizer`).
        learning_rate: the optimizer's learning rate, a number > 0.
        strategy: a ``tf.distribute.Strategy``, or None for
            :func:`course_lib.distribute.get_strategy`.
        verbose: passed to ``fit``: 0 silent, 2 one line per chunk.
        callbacks: Keras callbacks passed to ``fit`` (e.g. ``keras.callbacks.TerminateOnNaN()``).
        probe: images (M, ...) whose embedding spread is tracked, or None.

    Returns:
        A :class:`PairRun`.

    Raises:
        TypeError: ``build`` not callable or not returning two models, ``loss`` not callable,
            ``callbacks`` not a list of Keras callbacks, arguments of the wrong type.
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
    checks.one_of(optimizer, "optimizer", OPTIMIZERS)
    learning_rate = checks.number(learning_rate, "learning_rate", 0.0, low_open=True)
    verbose = checks.one_of(verbose, "verbose", (0, 1, 2))
    if not isinstance(callbacks, (list, tuple)) or not all(
            isinstance(c, keras.callbacks.Callback) for c in callbacks):
        raise TypeError(f"callbacks must be a list of keras.callbacks.Callback, got {callbacks!r}")
    strategy = distribute.get_strategy() if strategy is None else strategy
    stream = pairs.pair_dataset(x, y, batch_size=distribute.global_batch_size(batch_size, strategy),
                                seed=seed, repeat=True)
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        encoder, model = _built(build())
        model.compile(optimizer=make_optimizer(optimizer, learning_rate), loss=loss)
    snaps = None if probe is None else course_callbacks.EmbeddingSnapshots(encoder, probe)
    per_chunk = steps // chunks
    start = time.perf_counter()
    history = model.fit(stream, steps_per_epoch=per_chunk, epochs=chunks, verbose=verbose,
                        shuffle=False, callbacks=[*callbacks, *([snaps] if snaps else [])])
    seconds = time.perf_counter() - start
    chunk_loss = np.asarray(history.history["loss"], dtype=np.float64)
    spread = None if snaps is None else np.array(
        [evaluate.embedding_spread(snaps.snapshots[k]) for k in sorted(snaps.snapshots)])
    return PairRun(encoder=encoder, model=model,
                   steps=per_chunk * np.arange(1, len(chunk_loss) + 1), loss=chunk_loss,
                   spread=spread, seconds=seconds, optimizer=optimizer,
                   learning_rate=float(learning_rate), seed=seed)


def train_contrastive(x, y, optimizer: str, learning_rate: float, seed: int, steps: int,
                      chunks: int = 10, batch_size: int = 128, margin: float = 1.0,
                      hidden: int = 256, probe=None, verbose: bool = True) -> PairRun:
    """Train a fresh MLP encoder to 2-D with the contrastive loss on pairs of ``(x, y)``.

    Notebook 04's run: :func:`course_lib.models.mlp_encoder` (``hidden`` units per hidden layer,
    a 2-D embedding) in :func:`course_lib.models.siamese`, trained by :func:`train_on_pairs` for
    ``steps`` batches of ``batch_size`` balanced pairs in ``chunks`` chunks, with the spread of
    ``probe`` tracked after every chunk. ``seed`` sets the initial weights and the pair
    sequence. Training stops early if the loss turns NaN (``keras.callbacks.TerminateOnNaN``).

    Args:
        x: images (N, ...).
        y: their integer class labels (N,).
        optimizer: a name of ``OPTIMIZERS``.
        learning_rate: a number > 0.
        seed: an int >= 0.
        steps: training steps, a positive multiple of ``chunks``.
        chunks: Keras epochs the steps are split into, an int >= 1.
        batch_size: pairs per step and replica.
        margin: the contrastive margin.
        hidden: units of the MLP's hidden layers.
        probe: images whose spread is tracked after every chunk (default: the first 500 of x).
        verbose: print one line per run, a bool.

    Returns:
        A :class:`PairRun` (with ``spread``).

    Raises:
        TypeError: a non-int seed, steps or chunks, ``verbose`` not a bool, bad data types.
        ValueError: a value out of range, steps not a multiple of chunks, bad data.
    """
    verbose = checks.boolean(verbose, "verbose")
    x = np.asarray(x)
    probe = x[:500] if probe is None else np.asarray(probe)

    def build():
        encoder = models.mlp_encoder(input_shape=tuple(x.shape[1:]), embedding_dim=2,
                                     hidden=hidden)
        return encoder, models.siamese(encoder)

    run = train_on_pairs(build, losses.ContrastiveLoss(margin=margin), x, y, steps=steps,
                         seed=seed, batch_size=batch_size, chunks=chunks, optimizer=optimizer,
                         learning_rate=learning_rate, verbose=0,
                         callbacks=[keras.callbacks.TerminateOnNaN()], probe=probe)
    if verbose:
        loss, spread = run.loss, run.spread
        state = "DIVERGED (NaN)" if run.diverged else f"spread {spread[0]:.3f} -> {spread[-1]:.3f}"
        print(f"{run.label:<28} loss {loss[0]:.4f} -> {loss[-1]:.4f}  {state}  "
              f"({run.seconds:.1f} s)", flush=True)
    return run


def _tracked_run(run, name: str = "run") -> PairRun:
    if not isinstance(run, PairRun) or run.spread is None:
        raise TypeError(f"{name} must be a PairRun with a tracked spread (from "
                        f"train_contrastive), got {type(run).__name__}")
    return run


def early_warning(run: PairRun, chunks: int = 1, margin: float = 1.0) -> str | None:
    """What the first ``chunks`` chunks of ``run`` already say about a too-high learning rate.

    ``"diverged"``: the loss or the probe embeddings went NaN/inf; ``"collapsed"``: the probe
    embeddings shrank to within ``0.05 * margin`` of one point (every distance ~0, so the loss
    sits near ``margin**2 / 4`` on balanced pairs). Near-collapse still has a gradient: that of
    the distance with respect to an embedding, ``(a - b) / d``, has length ~1 however small
    ``d`` is, and pushes a dissimilar pair hardest at ``d ~ 0``; only embeddings that coincide
    exactly (an encoder whose output no longer depends on its input, e.g. all ReLU units dead)
    get no gradient and stay collapsed. ``"exploded"``: a
    chunk's mean loss exceeded ``margin**2 / 2``, the most a *different* pair can cost, so the
    *same* pairs have been flung far apart. ``None``: none of these, training looks healthy.

    Args:
        run: a :class:`PairRun` with a tracked spread (from :func:`train_contrastive`).
        chunks: how many of the first chunks to look at, an int >= 1.
        margin: the contrastive margin the run trained with.

    Returns:
        ``"diverged"``, ``"collapsed"``, ``"exploded"`` or None.

    Raises:
        TypeError: ``run`` is not such a PairRun, ``chunks`` not an int. ValueError: ``chunks``
            < 1.
    """
    run = _tracked_run(run)
    chunks = checks.positive_int(chunks, "chunks")
    loss, spread = run.loss[:chunks], run.spread[1:chunks + 1]
    if not (np.isfinite(loss).all() and np.isfinite(spread).all()):
        return "diverged"
    if (spread < 0.05 * margin).any():
        return "collapsed"
    if (loss > margin**2 / 2).any():
        return "exploded"
    return None


def dead_units(encoder: keras.Model, x) -> dict[str, float]:
    """For each ReLU ``Dense`` layer of ``encoder``: the fraction of its units that output 0 for
    every input in ``x`` ("dead": no gradient flows through them any more).

    Args:
        encoder: a ``keras.Model`` with ReLU ``Dense`` layers.
        x: the inputs to probe with.

    Returns:
        ``{layer name: fraction of dead units}``.

    Raises:
        TypeError: ``encoder`` is not a Model.
        ValueError: it has no ReLU ``Dense`` layer.
    """
    if not isinstance(encoder, keras.Model):
        raise TypeError(f"encoder must be a keras.Model, got {type(encoder).__name__}")
    relu = [layer for layer in encoder.layers if isinstance(layer, keras.layers.Dense)
            and getattr(layer.activation, "__name__", "") == "relu"]
    if not relu:
        raise ValueError("encoder has no Dense layer with a ReLU activation")
    probe = keras.Model(encoder.input, [layer.output for layer in relu])
    outputs = probe(np.asarray(x), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {layer.name: float(np.mean(np.all(np.asarray(out) <= 0, axis=0)))
            for layer, out in zip(relu, outputs)}


def run_metrics(run: PairRun, train, test, val_pairs=None, margin: float = 1.0) -> dict:
    """One row of plain numbers describing ``run``, for a results table.

    ``train`` and ``test`` are ``(x, y)``: the test images are embedded and measured with
    :func:`course_lib.evaluate.embedding_metrics`, the training images serve as k-NN
    neighbours. ``val_pairs`` ``(x, left, right, labels)`` adds ``val_loss``, the contrastive
    loss on those fixed pairs (the number a learning-rate sweep selects on), and
    ``val_pair_accuracy``, the best accuracy any distance threshold reaches on them (0.5 = the
    distances carry no class information). A diverged run gets NaN for everything measured on
    embeddings.

    Args:
        run: a :class:`PairRun` with a tracked spread (from :func:`train_contrastive`).
        train: ``(x, y)`` of the training images.
        test: ``(x, y)`` of the test images.
        val_pairs: ``(x, left, right, labels)`` validation pairs, or None.
        margin: the contrastive margin of ``val_loss``.

    Returns:
        A dict of floats and strings.

    Raises:
        TypeError: ``run`` is not such a PairRun.
    """
    run = _tracked_run(run)
    row = {"optimizer": run.optimizer, "learning_rate": run.learning_rate, "seed": run.seed,
           "final_train_loss": float(run.loss[-1]), "seconds": run.seconds}
    names = ["anisotropy", "silhouette", "knn", "spread"]
    if val_pairs is not None:
        names += ["val_loss", "val_pair_accuracy"]
    if run.diverged:
        return {**row, **{n: float("nan") for n in names}}

    (x_train, y_train), (x_test, y_test) = train, test
    test_emb = run.embed(x_test)
    if not np.isfinite(test_emb).all():
        return {**row, **{n: float("nan") for n in names}}
    metrics = evaluate.embedding_metrics(run.embed(x_train), y_train, test_emb, y_test)
    row.update({n: metrics[n] for n in names[:4]})
    if val_pairs is not None:
        x_val, left, right, labels = val_pairs
        d = evaluate.pair_distances(run.embed(x_val), left, right)
        row["val_loss"] = float(np.mean(losses.contrastive_loss(labels, d, margin)))
        row["val_pair_accuracy"] = evaluate.threshold_accuracy(
            d, labels, evaluate.choose_threshold(d, labels))
    return row


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


# --------------------------------------------------------------------------- the one-shot recipe


def build_one_shot_recipe(images, character, alphabet, *, seed: int = 0, steps: int | None = None,
                          n_way: int = 20, episodes: int = 4, embedding_dim: int = 256,
                          filters: int = 64, batch_norm: bool = False,
                          learning_rate: float = 1e-3, rotations: bool = True, max_shift: int = 2,
                          affine: bool = False, rotated_groups: bool = True,
                          name: str = "conv4_encoder"):
    """One net of notebook 06's recipe, seeded and compiled, and its endless episode stream.

    After ``keras.utils.set_random_seed(seed)``: a :func:`course_lib.models.conv4_encoder`
    compiled with Adam (cosine-decayed to 0 over ``steps``, or constant when ``steps`` is None)
    and :class:`course_lib.losses.NWayLoss`, and :func:`course_lib.pairs.episode_dataset`
    episodes of ``n_way`` characters of one alphabet, drawn with ``seed``.

    Args:
        images: square training images (N, H, H).
        character: the character (class) id of each image (N,).
        alphabet: the alphabet of each image (N,), constant within a character.
        seed: an int >= 0: initial weights and episodes.
        steps: the length of the cosine schedule (an int >= 1), or None for a constant rate.
        n_way: characters per episode, an int >= 2.
        episodes: episodes per step, an int >= 1.
        embedding_dim: the embedding's size.
        filters: filters of every conv layer.
        batch_norm: batch normalisation in the conv blocks.
        learning_rate: Adam's (initial) learning rate, a number > 0.
        rotations: rotated characters as new characters (and new alphabets).
        max_shift: random shifts of each image, in pixels (0: none).
        affine: also distort every image with :class:`course_lib.augment.RandomAffine`
            (Koch et al.'s distortions), seeded with ``seed``.
        rotated_groups: with ``rotations``, a rotated alphabet is a new alphabet (True) or its
            rotated characters join their own alphabet (False: an episode of up to four times
            an alphabet's characters, a character beside its rotations).
        name: the net's name (an ensemble needs distinct names).

    Returns:
        ``(net, episodes)``: the compiled encoder and the ``tf.data`` stream of its batches.

    Raises:
        TypeError: arguments of the wrong type.
        ValueError: values out of range (see :func:`course_lib.pairs.episode_dataset` and
            :func:`course_lib.models.conv4_encoder`).
    """
    seed = checks.seed(seed)
    if steps is not None:
        steps = checks.positive_int(steps, "steps")
    learning_rate = checks.number(learning_rate, "learning_rate", 0.0, low_open=True)
    affine = checks.boolean(affine, "affine")
    stream = pairs.episode_dataset(images, character, alphabet, n_way, episodes, seed=seed,
                                   rotations=rotations, max_shift=max_shift, repeat=True,
                                   rotated_groups=rotated_groups)
    if affine:
        distort = RandomAffine(seed=seed)
        stream = stream.map(lambda x, y: (distort(x), y))
    side = int(np.shape(images)[1])
    keras.utils.set_random_seed(seed)
    net = models.conv4_encoder((side, side), embedding_dim, filters=filters,
                               batch_norm=batch_norm, name=name)
    rate = (learning_rate if steps is None else
            keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps))
    net.compile(optimizer=keras.optimizers.Adam(rate), loss=losses.NWayLoss(n_way))
    return net, stream


@dataclass(frozen=True, eq=False)
class RecipeRun:
    """What :func:`train_one_shot_recipe` trained.

    Attributes:
        encoder: the model to score with: the one net, or the members side by side
            (:func:`course_lib.models.ensemble`), averaged over shifted views when asked
            (:func:`course_lib.models.shift_averaged`).
        members: the trained nets, in training order.
        seeds: each member's seed.
        steps: training steps of each member.
        loss: the mean training loss of each epoch, shape (members, epochs).
        seconds: wall time of each member's ``fit`` (its callbacks included).
        histories: each member's ``History.history`` (the losses and any metric a callback
            logged, e.g. a validation accuracy).
    """

    encoder: keras.Model = field(repr=False)
    members: tuple = field(repr=False)
    seeds: tuple
    steps: int
    loss: np.ndarray = field(repr=False)
    seconds: tuple
    histories: tuple = field(repr=False)

    @property
    def total_steps(self) -> int:
        """Training steps of all members together."""
        return self.steps * len(self.members)

    @property
    def minutes(self) -> float:
        """Wall time of all the training, in minutes."""
        return float(sum(self.seconds)) / 60


def train_one_shot_recipe(images, character, alphabet, *, steps: int, members: int = 1,
                          seed: int = 0, steps_per_epoch: int = 100,
                          test_time_shifts: bool = False, callbacks=None, verbose: int = 2,
                          **recipe) -> RecipeRun:
    """Train notebook 06's recipe: ``members`` nets, one after the other, each for ``steps``.

    Member ``i`` is :func:`build_one_shot_recipe` with seed ``seed * members + i`` (so one net
    of seed ``s`` is member 0 of nothing but itself, and ensembles of different seeds share no
    member) and a cosine schedule over its ``steps``; it trains in one ``fit`` call of
    ``steps // steps_per_epoch`` epochs (one progress line each with ``verbose=2``) on one
    continuous stream of episodes. Two calls with the same arguments train the same nets.

    Args:
        images: square training images (N, H, H).
        character: the character id of each image (N,).
        alphabet: the alphabet of each image (N,).
        steps: training steps of each member, a multiple of ``steps_per_epoch``.
        members: nets to train, an int >= 1; two or more are put side by side.
        seed: an int >= 0.
        steps_per_epoch: steps per logged epoch, an int >= 1.
        test_time_shifts: score with :func:`course_lib.models.shift_averaged` (5 views).
        callbacks: None, or a function of the member index returning a list of Keras callbacks
            for that member's ``fit`` (a fresh list each time: callbacks keep state).
        verbose: passed to ``fit``: 0 silent, 2 one line per epoch.
        **recipe: the other settings of :func:`build_one_shot_recipe` (``n_way``,
            ``episodes``, ``batch_norm``, ``filters``, ``learning_rate``, ``affine``, ...).

    Returns:
        A :class:`RecipeRun`.

    Raises:
        TypeError: arguments of the wrong type, ``callbacks`` not callable or not returning a
            list of Keras callbacks.
        ValueError: ``steps`` not a positive multiple of ``steps_per_epoch``, values out of
            range (see :func:`build_one_shot_recipe`).
    """
    steps = checks.positive_int(steps, "steps")
    steps_per_epoch = checks.positive_int(steps_per_epoch, "steps_per_epoch")
    if steps % steps_per_epoch:
        raise ValueError(f"steps must be a multiple of steps_per_epoch={steps_per_epoch}, got "
                         f"{steps}")
    members = checks.positive_int(members, "members")
    seed = checks.seed(seed)
    test_time_shifts = checks.boolean(test_time_shifts, "test_time_shifts")
    verbose = checks.one_of(verbose, "verbose", (0, 1, 2))
    if callbacks is not None:
        checks.callable_value(callbacks, "callbacks")
    for key in ("seed", "steps", "name"):
        if key in recipe:
            raise TypeError(f"train_one_shot_recipe sets {key!r} itself; do not pass it")
    nets, seeds, seconds, histories = [], [], [], []
    for i in range(members):
        member_seed = seed * members + i
        net, stream = build_one_shot_recipe(images, character, alphabet, seed=member_seed,
                                            steps=steps, name=f"member_{i}", **recipe)
        extra = [] if callbacks is None else callbacks(i)
        if not isinstance(extra, (list, tuple)) or not all(
                isinstance(c, keras.callbacks.Callback) for c in extra):
            raise TypeError(f"callbacks({i}) must return a list of keras.callbacks.Callback, "
                            f"got {extra!r}")
        start = time.perf_counter()
        history = net.fit(stream, steps_per_epoch=steps_per_epoch,
                          epochs=steps // steps_per_epoch, verbose=verbose, shuffle=False,
                          callbacks=list(extra))
        seconds.append(time.perf_counter() - start)
        nets.append(net)
        seeds.append(member_seed)
        histories.append(dict(history.history))
    encoder = nets[0] if members == 1 else models.ensemble(nets)
    if test_time_shifts:
        encoder = models.shift_averaged(encoder)
    loss = np.array([h["loss"] for h in histories], dtype=np.float64)
    return RecipeRun(encoder=encoder, members=tuple(nets), seeds=tuple(seeds), steps=steps,
                     loss=loss, seconds=tuple(seconds), histories=tuple(histories))
