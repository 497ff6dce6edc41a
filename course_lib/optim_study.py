"""Does the optimizer shape the embedding? Seeded contrastive runs and cluster-shape metrics (notebook 04).

One *run* trains a fresh three-layer MLP encoder (``models.mlp_encoder``) to 2-D with the
contrastive loss on balanced MNIST pairs, with one optimizer at one learning rate and one seed;
the seed fixes both the initial weights and the sequence of pairs. :func:`train_contrastive`
returns the trained encoder with the loss curve and the spread of the embeddings along the
way (a spread falling to zero is the signature of collapse). :func:`embedding_metrics` then
measures the shape and separation of the clusters.

Introduced in notebook 04.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np

from course_lib import checks, distribute, evaluate, losses, models, pairs
from course_lib.callbacks import EmbeddingSnapshots

__all__ = [
    "OPTIMIZERS",
    "Run",
    "dead_units",
    "early_warning",
    "embedding_metrics",
    "embedding_spread",
    "make_optimizer",
    "plot_metrics_by_group",
    "run_metrics",
    "train_contrastive",
]

OPTIMIZERS = ("adam", "sgd", "momentum")


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.9):
    """A fresh Keras optimizer: ``"adam"``, ``"sgd"`` (plain gradient descent) or ``"momentum"``.

    ``"momentum"`` is SGD with (heavy-ball) ``momentum``; the other two ignore it.

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
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    momentum = checks.number(momentum, "momentum", 0.0, 1.0, high_open=True)
    return keras.optimizers.SGD(learning_rate, momentum=momentum)


def embedding_spread(emb) -> float:
    """Root-mean-square distance of the embeddings to their centroid; 0 when all coincide.

    Args:
        emb: embeddings (N, D).

    Returns:
        The spread, or NaN when an embedding is NaN/inf.

    Raises:
        TypeError: non-numeric ``emb``. ValueError: not a non-empty 2-D array.
    """
    try:
        e = np.asarray(emb, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"emb must be a numeric array, got {type(emb).__name__}") from err
    if e.ndim != 2 or len(e) == 0:
        raise ValueError(f"emb must be a non-empty 2-D array (N, D), got shape {e.shape}")
    if not np.isfinite(e).all():
        return float("nan")
    return float(np.sqrt(((e - e.mean(axis=0)) ** 2).sum(axis=1).mean()))


@dataclass(eq=False)
class Run:
    """One training run of :func:`train_contrastive`.

    Args:
        optimizer: the optimizer's name.
        learning_rate: its learning rate.
        seed: the run's seed (initial weights and pairs).
        steps: training steps taken (planned).
        encoder: the trained encoder.
        loss: ``loss[i]``, the mean training loss over chunk ``i`` of the steps.
        spread: ``spread[i]``, the spread of the probe embeddings after ``i`` chunks
            (``spread[0]``: at the start).
        seconds: wall time of training.
    """

    optimizer: str
    learning_rate: float
    seed: int
    steps: int
    encoder: keras.Model = field(repr=False)
    loss: np.ndarray = field(repr=False)
    spread: np.ndarray = field(repr=False)
    seconds: float

    @property
    def diverged(self) -> bool:
        """True when the loss or the embeddings went NaN/inf (training was stopped there)."""
        return bool(not np.isfinite(self.loss).all() or not np.isfinite(self.spread).all())

    @property
    def label(self) -> str:
        return f"{self.optimizer} lr={self.learning_rate:g} seed={self.seed}"

    def embed(self, x) -> np.ndarray:
        """Embeddings of ``x`` by the trained encoder (a direct call: unlike ``predict``, nothing
        is traced again for each of many encoders)."""
        return np.asarray(self.encoder(np.asarray(x), training=False))


def train_contrastive(x, y, optimizer: str, learning_rate: float, seed: int, steps: int,
                      chunks: int = 10, batch_size: int = 128, margin: float = 1.0,
                      hidden: int = 256, probe=None, verbose: bool = True) -> Run:
    """Train a fresh MLP encoder to 2-D with the contrastive loss on pairs of ``(x, y)``.

    ``steps`` batches of ``batch_size`` balanced pairs, split into ``chunks`` Keras epochs of
    equal length (one loss value and one probe spread per chunk). ``seed`` sets the initial
    weights and the pair sequence. Training stops early if the loss turns NaN. The model is
    built in the distribution strategy's scope, and ``batch_size`` pairs go to each replica.

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
        verbose: print one line per run.

    Returns:
        A :class:`Run`.

    Raises:
        TypeError: a non-int seed, steps or chunks, bad data types.
        ValueError: a value out of range, steps not a multiple of chunks, bad data.
    """
    seed = checks.seed(seed)
    steps = checks.positive_int(steps, "steps")
    chunks = checks.positive_int(chunks, "chunks")
    if steps < chunks or steps % chunks:
        raise ValueError(f"steps must be a positive multiple of chunks, got steps={steps!r}, "
                         f"chunks={chunks!r}")
    x, y = pairs.check_examples(x, y)
    probe = x[:500] if probe is None else np.asarray(probe)
    keras.utils.set_random_seed(int(seed))
    strategy = distribute.get_strategy()
    with strategy.scope():
        encoder = models.mlp_encoder(input_shape=tuple(x.shape[1:]), embedding_dim=2,
                                     hidden=hidden)
        model = models.siamese(encoder)
        model.compile(optimizer=make_optimizer(optimizer, learning_rate),
                      loss=losses.ContrastiveLoss(margin=margin))
    data = pairs.pair_dataset(x, y, batch_size=distribute.global_batch_size(batch_size, strategy),
                              seed=int(seed), steps=steps)
    snaps = EmbeddingSnapshots(encoder, probe)
    start = time.perf_counter()
    history = model.fit(data, steps_per_epoch=steps // chunks, epochs=chunks, verbose=0,
                        shuffle=False, callbacks=[keras.callbacks.TerminateOnNaN(), snaps])
    seconds = time.perf_counter() - start
    loss = np.asarray(history.history["loss"], dtype=float)
    spread = np.array([embedding_spread(snaps.snapshots[k]) for k in sorted(snaps.snapshots)])
    run = Run(optimizer, float(learning_rate), int(seed), int(steps), encoder, loss, spread,
              seconds)
    if verbose:
        state = "DIVERGED (NaN)" if run.diverged else f"spread {spread[0]:.3f} -> {spread[-1]:.3f}"
        print(f"{run.label:<28} loss {loss[0]:.4f} -> {loss[-1]:.4f}  {state}  "
              f"({seconds:.1f} s)", flush=True)
    return run


def early_warning(run: Run, chunks: int = 1, margin: float = 1.0) -> str | None:
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
        run: a :class:`Run`.
        chunks: how many of the first chunks to look at, an int >= 1.
        margin: the contrastive margin the run trained with.

    Returns:
        ``"diverged"``, ``"collapsed"``, ``"exploded"`` or None.

    Raises:
        TypeError: ``run`` is not a Run, ``chunks`` not an int. ValueError: ``chunks`` < 1.
    """
    if not isinstance(run, Run):
        raise TypeError(f"run must be a Run from train_contrastive, got {type(run).__name__}")
    chunks = checks.positive_int(chunks, "chunks")
    loss, spread = run.loss[:chunks], run.spread[1:chunks + 1]
    if not (np.isfinite(loss).all() and np.isfinite(spread).all()):
        return "diverged"
    if (spread < 0.05 * margin).any():
        return "collapsed"
    if (loss > margin**2 / 2).any():
        return "exploded"
    return None


def embedding_metrics(train_emb, train_y, test_emb, test_y, k: int = 5,
                      silhouette_sample: int | None = 3000, seed: int = 0) -> dict:
    """Shape and separation of the test clusters in one dict of floats.

    ``anisotropy``: median over classes of the largest / smallest eigenvalue of the class
    covariance (1 = round); ``anisotropy_per_class``: the per-class values; ``silhouette``;
    ``knn``: k-NN accuracy on the test set with the training embeddings as neighbours;
    ``spread``: RMS distance of the test embeddings to their centroid.

    Args:
        train_emb: training embeddings (N, D), the k-NN neighbours.
        train_y: their integer labels (N,).
        test_emb: test embeddings (M, D), the ones measured.
        test_y: their integer labels (M,).
        k: k-NN neighbours.
        silhouette_sample: subsample size of the silhouette (None: all points).
        seed: the subsample's seed.

    Returns:
        The dict described above.

    Raises:
        TypeError, ValueError: as the :mod:`course_lib.evaluate` functions it calls.
    """
    aniso = evaluate.cluster_anisotropy(test_emb, test_y)
    return {
        "anisotropy": float(np.median(list(aniso.values()))),
        "anisotropy_per_class": aniso,
        "silhouette": evaluate.silhouette(test_emb, test_y, sample_size=silhouette_sample,
                                          seed=seed),
        "knn": evaluate.knn_accuracy(train_emb, train_y, test_emb, test_y, k=k),
        "spread": embedding_spread(test_emb),
    }


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


def run_metrics(run: Run, train, test, val_pairs=None, margin: float = 1.0) -> dict:
    """One row of plain numbers describing ``run``, for a results table.

    ``train`` and ``test`` are ``(x, y)``: the test images are embedded and measured with
    :func:`embedding_metrics`, the training images serve as k-NN neighbours. ``val_pairs``
    ``(x, left, right, labels)`` adds ``val_loss``, the contrastive loss on those fixed pairs
    (the number a learning-rate sweep selects on), and ``val_pair_accuracy``, the best accuracy
    any distance threshold reaches on them (0.5 = the distances carry no class information).
    A diverged run gets NaN for everything measured on embeddings.

    Args:
        run: a :class:`Run`.
        train: ``(x, y)`` of the training images.
        test: ``(x, y)`` of the test images.
        val_pairs: ``(x, left, right, labels)`` validation pairs, or None.
        margin: the contrastive margin of ``val_loss``.

    Returns:
        A dict of floats and strings.

    Raises:
        TypeError: ``run`` is not a Run.
    """
    if not isinstance(run, Run):
        raise TypeError(f"run must be a Run from train_contrastive, got {type(run).__name__}")
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
    metrics = embedding_metrics(run.embed(x_train), y_train, test_emb, y_test)
    row.update({n: metrics[n] for n in names[:4]})
    if val_pairs is not None:
        x_val, left, right, labels = val_pairs
        d = evaluate.pair_distances(run.embed(x_val), left, right)
        row["val_loss"] = float(np.mean(losses.contrastive_loss(labels, d, margin)))
        row["val_pair_accuracy"] = evaluate.threshold_accuracy(
            d, labels, evaluate.choose_threshold(d, labels))
    return row


def plot_metrics_by_group(table, metrics, by: str = "optimizer", title: str | None = None,
                          labels: dict | None = None):
    """One panel per metric: every run as a dot, the group mean with a +-1 std bar beside it.

    Args:
        table: a pandas DataFrame with one row per run (e.g. from :func:`run_metrics`).
        metrics: the column name(s) to show.
        by: the column that groups the runs.
        title: the figure's title, or None.
        labels: maps a column name to the words shown on its axis and panel title (default:
            the name).

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: ``table`` lacks one of the columns.
    """
    import matplotlib.pyplot as plt

    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    missing = [m for m in [by, *metrics] if m not in getattr(table, "columns", [])]
    if missing:
        raise ValueError(f"table must be a DataFrame with the columns {missing}")
    if labels is not None and not isinstance(labels, dict):
        raise TypeError(f"labels must be a dict or None, got {type(labels).__name__}")
    names = {**{m: m for m in [by, *metrics]}, **(labels or {})}
    groups = list(dict.fromkeys(table[by]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.6),
                             squeeze=False, layout="constrained")
    for ax, metric in zip(axes[0], metrics):
        for i, group in enumerate(groups):
            values = table.loc[table[by] == group, metric].to_numpy(dtype=float)
            color = f"C{i}"
            ax.scatter(np.full(len(values), i - 0.08), values, color=color, alpha=0.6, s=22,
                       label="one run" if i == 0 else None)
            sd = values.std(ddof=1) if len(values) > 1 else 0.0
            ax.errorbar(i + 0.12, values.mean(), yerr=sd, fmt="D", color=color, capsize=4,
                        label="mean ± 1 std" if i == 0 else None)
        ax.set_xticks(range(len(groups)), groups)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_xlabel(names[by])
        ax.set_ylabel(names[metric])
        ax.set_title(names[metric])
    axes[0][0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig
