"""Train an embedding with a loss for a fixed number of steps, then score it on classes it never
saw: the protocol every loss of notebooks 07 and 09 is compared on.

:func:`omniglot_protocol` loads the data once: Omniglot's ``background_small1`` split, its
training alphabets (each character also rotated by 90, 180 and 270 degrees, as three new
classes), one whole alphabet for validation (every choice is made there) and one for the test,
plus Lake et al.'s 20 one-shot runs. :func:`embedding_model` is the encoder every loss trains
(notebook 06's four-block conv net, optionally on the unit sphere), its weights drawn from the
seed, so runs with the same seed start from the same weights whatever the loss.
:func:`train_embedding` trains it for ``steps`` steps of one sampler:

- ``"pk"``: P x K batches of ``(images, class ids)``; the loss is a Keras loss of
  ``(labels, embeddings)`` (the mining losses, an all-pairs contrastive loss, SupCon, ...).
  An optional trainable ``head`` (a Keras layer or model, e.g. the class-centre weights of a
  margin softmax) maps the embeddings to what the loss reads; its weights train with the
  encoder, and the run keeps it.
- ``"pairs"`` (P*K/2 random pairs, the loss reads ``(same-class flags, distances)``),
  ``"triplets"`` (P*K/3 random triplets, the loss reads the stacked ``[d(a, p), d(a, n)]``)
  and ``"episodes"`` (N-way episodes of notebook 06, the loss reads the episode's embeddings).

Every sampler shows the encoder P*K images per step. :func:`score_embedding` embeds the test
alphabet and scores retrieval (MAP@R, recall@k, each image a query against all the others) and
20-way one-shot accuracy on Lake's runs.

Introduced in notebook 07.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np

from course_lib import checks, data, evaluate, models, oneshot, pairs, pk_sampling, splits
from course_lib.layers import EuclideanDistance

__all__ = [
    "SAMPLERS",
    "EmbeddingRun",
    "Protocol",
    "embedding_model",
    "omniglot_protocol",
    "score_embedding",
    "simpleshot_model",
    "train_embedding",
]

#: The batch samplers :func:`train_embedding` feeds a loss with.
SAMPLERS = ("pk", "pairs", "triplets", "episodes")


@dataclass(frozen=True, eq=False)
class Protocol:
    """The images of one comparison: training classes, a validation and a test alphabet.

    Attributes:
        x_train, y_train: training images (N, H, W) and class ids ``0..C-1`` (rotated copies
            are classes of their own), so a classifier head of C outputs reads them directly.
        groups_train: the (rotated) alphabet of each training image, for within-alphabet
            batches.
        x_val, y_val: the validation alphabet's images and character ids.
        x_test, y_test: the test alphabet's images and character ids.
        runs: Lake et al.'s one-shot runs (:class:`course_lib.data.LakeRun`).
        alphabets: ``{"training": [...], "validation": [...], "test": [...]}``, by name.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    groups_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    runs: list
    alphabets: dict = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int]:
        """The (height, width) of every image."""
        return tuple(self.x_train.shape[1:3])

    @property
    def num_train_classes(self) -> int:
        """The number of training classes C (class ids run from 0 to C - 1)."""
        return int(self.y_train.max()) + 1


def omniglot_protocol(split: str = "background_small1", validation=("Early_Aramaic",),
                      test=("Greek",), image_size: int = 28, rotations: bool = True) -> Protocol:
    """Load the comparison's data: training alphabets, a validation and a test alphabet, and
    Lake's one-shot runs.

    Args:
        split: an Omniglot background split (see :func:`course_lib.data.load_omniglot`).
        validation: names of the validation alphabets (a non-empty list of str).
        test: names of the test alphabets, disjoint from ``validation``.
        image_size: the side images are resized to, an int >= 8.
        rotations: add each training character rotated by 90, 180 and 270 degrees as three
            new classes (Santoro et al. 2016; Vinyals et al. 2016).

    Returns:
        A :class:`Protocol`.

    Raises:
        TypeError: a non-list of names, a non-int size, a non-bool ``rotations``.
        ValueError: an unknown alphabet, the same alphabet in both lists, no alphabet left for
            training.
    """
    validation = checks.name_list(list(validation) if isinstance(validation, tuple)
                                  else validation, "validation", "alphabet")
    test = checks.name_list(list(test) if isinstance(test, tuple) else test, "test", "alphabet")
    if set(validation) & set(test):
        raise ValueError(f"validation and test must share no alphabet, both hold "
                         f"{sorted(set(validation) & set(test))}")
    image_size = checks.integer(image_size, "image_size", minimum=8)
    rotations = checks.boolean(rotations, "rotations")
    omniglot = data.load_omniglot(split, image_size)
    names = omniglot.alphabet_names
    train_mask, held = splits.held_out_split(omniglot.alphabet, names, validation + test,
                                             what="alphabet")
    val_mask = np.isin(omniglot.alphabet, [names.index(a) for a in validation])
    test_mask = held & ~val_mask
    turns = range(4) if rotations else range(1)
    x_train = np.concatenate([np.rot90(omniglot.images[train_mask], r, axes=(1, 2))
                              for r in turns])
    y_train = np.concatenate([omniglot.character[train_mask] * len(turns) + r for r in turns])
    y_train = np.unique(y_train, return_inverse=True)[1].astype(np.int64)   # ids 0..C-1, in order
    groups = np.concatenate([omniglot.alphabet[train_mask] * len(turns) + r for r in turns])
    used = sorted({names[a] for a in np.unique(omniglot.alphabet[train_mask])})
    return Protocol(x_train, y_train, groups,
                    omniglot.images[val_mask], omniglot.character[val_mask],
                    omniglot.images[test_mask], omniglot.character[test_mask],
                    data.load_lake_runs(image_size),
                    {"training": used, "validation": validation, "test": test})


def embedding_model(image_shape=(28, 28), embedding_dim: int = 64, seed: int = 0,
                    normalise: bool = True, batch_norm: bool = True) -> keras.Model:
    """The encoder every loss trains: :func:`course_lib.models.conv4_encoder`, fresh, its
    weights drawn from ``seed``, optionally followed by ``keras.layers.UnitNormalization``.

    Args:
        image_shape: (height, width) of the images.
        embedding_dim: the embedding's size, an int >= 1.
        seed: an int >= 0; the same seed gives the same initial weights.
        normalise: put the embeddings on the unit sphere.
        batch_norm: batch normalisation in the encoder's conv blocks.

    Returns:
        A functional ``keras.Model`` named ``"embedding"`` from one image to its embedding.

    Raises:
        TypeError: a non-int size or seed, a non-bool flag.
        ValueError: a size < 1 or a negative seed.
    """
    seed = checks.seed(seed)
    normalise = checks.boolean(normalise, "normalise")
    keras.utils.set_random_seed(seed)
    encoder = models.conv4_encoder(tuple(image_shape), embedding_dim, batch_norm=batch_norm)
    inputs = keras.Input(tuple(image_shape), name="image")
    outputs = encoder(inputs)
    if normalise:
        outputs = keras.layers.UnitNormalization(name="unit_sphere")(outputs)
    return keras.Model(inputs, outputs, name="embedding")


@dataclass(frozen=True, eq=False)
class EmbeddingRun:
    """One run of :func:`train_embedding`.

    Attributes:
        embed: the trained embedding model (image -> embedding).
        head: the trained head, or None.
        seconds: wall-clock seconds of training (for reports only: it depends on the machine).
        log: one dict per chunk boundary, from step 0: ``"step"``, what ``on_chunk`` returned,
            and (after step 0) the chunk's mean of the loss and of each compiled metric, as
            ``fit`` computed them on the training batches.
        steps: the steps trained.
        seed: the seed of the initial weights and of the batches.
    """

    embed: keras.Model
    head: keras.layers.Layer | None
    seconds: float
    log: list
    steps: int
    seed: int


def _stream(protocol: Protocol, sampler: str, seed: int, p: int, k: int, n_way: int,
            within_alphabet: bool = False):
    x, y = protocol.x_train, protocol.y_train
    if sampler == "pk":
        groups = protocol.groups_train if within_alphabet else None
        return pk_sampling.pk_dataset(x, y, p, k, seed=seed, groups=groups, repeat=True)
    if sampler == "pairs":
        return pairs.pair_dataset(x, y, batch_size=p * k // 2, seed=seed, repeat=True)
    if sampler == "triplets":
        return pairs.triplet_dataset(x, y, batch_size=p * k // 3, seed=seed, repeat=True)
    if (p * k) % (2 * n_way):
        raise ValueError(f"sampler 'episodes' needs p * k a multiple of 2 * n_way, got p * k = "
                         f"{p * k} and n_way = {n_way}")
    return pairs.episode_dataset(x, y, np.zeros_like(y), n_way, p * k // (2 * n_way),
                                 seed=seed, repeat=True)


def _training_model(embed: keras.Model, sampler: str, head) -> keras.Model:
    if sampler == "pairs":
        return models.siamese(embed)
    if sampler == "triplets":
        shape = embed.input_shape[1:]
        a, pos, neg = (keras.Input(shape, name=n) for n in ("anchor", "positive", "negative"))
        ea, ep, en = embed(a), embed(pos), embed(neg)
        stacked = keras.layers.Concatenate()([EuclideanDistance()([ea, ep]),
                                              EuclideanDistance()([ea, en])])
        return keras.Model([a, pos, neg], stacked, name="triplet_distances")
    if head is None:
        return embed
    return keras.Model(embed.input, head(embed.output), name="embedding_and_head")


def train_embedding(loss, protocol: Protocol, *, steps: int, seed: int = 0, sampler: str = "pk",
                    p: int = 16, k: int = 3, n_way: int = 24, head=None, normalise: bool = True,
                    batch_norm: bool = True, embedding_dim: int = 64,
                    learning_rate: float = 1e-3, chunks: int = 1, metrics=None,
                    on_chunk: Callable | None = None, model: keras.Model | None = None,
                    within_alphabet: bool = False) -> EmbeddingRun:
    """Train a fresh embedding (or ``model``) with ``loss`` for ``steps`` steps of Adam.

    The loss and the sampler go together: with ``"pk"`` the loss is called as
    ``loss(class ids, embeddings)`` (or ``loss(class ids, head(embeddings))`` with a head), so
    any Keras loss of ``(labels, embeddings)`` fits; see the module docstring for the others.
    Two runs with the same seed start from the same weights and, with the same sampler, see
    the same batches.

    Args:
        loss: a Keras loss (``keras.losses.Loss``) or a function ``(y_true, y_pred)``.
        protocol: the data (:func:`omniglot_protocol`); only its training part is read.
        steps: training steps, an int >= 1, a multiple of ``chunks``.
        seed: an int >= 0: the initial weights and the batches.
        sampler: one of ``SAMPLERS``.
        p, k: classes per batch and examples per class (ints >= 2): P*K images per step.
        n_way: classes per episode for ``"episodes"`` (an int >= 2; P*K must be a multiple of
            2 * n_way).
        head: None, or a Keras layer or model from embeddings to what the loss reads, trained
            with the encoder; ``"pk"`` only.
        normalise, batch_norm, embedding_dim: the encoder, as :func:`embedding_model`.
        learning_rate: Adam's learning rate, a number > 0.
        chunks: training is split into this many equal chunks (an int >= 1); ``on_chunk`` and
            the log see every chunk boundary.
        metrics: Keras metrics compiled with the loss (computed on the training batches, with
            the encoder in training mode), or None.
        on_chunk: None, or a function of the embedding model returning a dict of numbers,
            called before training and after each chunk.
        model: None to build :func:`embedding_model` from ``seed``; or an embedding model to
            train further (a warm start; the encoder arguments are then not used).
        within_alphabet: ``"pk"`` only: draw the P classes of each batch from one training
            alphabet (``protocol.groups_train``, each rotation an alphabet of its own), as the
            test's k-shot tasks and Lake's runs are drawn within one alphabet; an alphabet of
            fewer than P classes is skipped with a warning, as
            :class:`course_lib.pk_sampling.PKSampler` does.

    Returns:
        An :class:`EmbeddingRun`.

    Raises:
        TypeError: a non-int count, a non-bool flag, a loss, ``on_chunk`` or head that is not
            callable, a ``model`` that is not a Keras model.
        ValueError: an unknown sampler, counts out of range, ``steps`` not a multiple of
            ``chunks``, a head or ``within_alphabet`` with a sampler other than ``"pk"``, no
            training alphabet of P classes.
    """
    checks.callable_value(loss, "loss")
    sampler = checks.one_of(sampler, "sampler", SAMPLERS)
    steps = checks.positive_int(steps, "steps")
    chunks = checks.positive_int(chunks, "chunks")
    if steps % chunks:
        raise ValueError(f"steps must be a multiple of chunks, got steps={steps}, "
                         f"chunks={chunks}")
    seed = checks.seed(seed)
    p = checks.integer(p, "p", minimum=2)
    k = checks.integer(k, "k", minimum=2)
    n_way = checks.integer(n_way, "n_way", minimum=2)
    learning_rate = checks.number(learning_rate, "learning_rate", 0.0, low_open=True)
    if head is not None:
        checks.callable_value(head, "head")
        if sampler != "pk":
            raise ValueError(f"head needs sampler 'pk' (the loss reads class ids), got "
                             f"sampler {sampler!r}")
    within_alphabet = checks.boolean(within_alphabet, "within_alphabet")
    if within_alphabet:
        if sampler != "pk":
            raise ValueError(f"within_alphabet needs sampler 'pk', got sampler {sampler!r}")
    if on_chunk is not None:
        checks.callable_value(on_chunk, "on_chunk")
    if model is None:
        embed = embedding_model(protocol.image_shape, embedding_dim, seed, normalise, batch_norm)
    elif not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model or None, got {type(model).__name__}")
    else:
        embed = model
    stream = _stream(protocol, sampler, seed, p, k, n_way, within_alphabet)
    trained = _training_model(embed, sampler, head)
    trained.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss,
                    metrics=list(metrics or []))
    log = [{"step": 0, **(on_chunk(embed) if on_chunk else {})}]

    class _Chunk(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            row = {"step": (epoch + 1) * (steps // chunks)}
            row.update(on_chunk(embed) if on_chunk else {})
            row.update({name: float(v) for name, v in (logs or {}).items()})
            log.append(row)

    tic = time.perf_counter()
    trained.fit(stream, steps_per_epoch=steps // chunks, epochs=chunks, verbose=0,
                callbacks=[_Chunk()])
    return EmbeddingRun(embed, head, time.perf_counter() - tic, log, steps, seed)


def score_embedding(embed: keras.Model, protocol: Protocol, ks=(1, 2, 4, 8), shots=(),
                    n_way: int = 20, num_tasks: int = 200) -> dict:
    """Score an embedding on the test alphabet and on Lake's one-shot runs.

    Args:
        embed: a model from images to embeddings (inference mode is used).
        protocol: the data; its test alphabet and runs are read.
        ks: the k of each recall@k reported.
        shots: for each k here (ints >= 1), also ``n_way``-way k-shot accuracy by nearest
            prototype on the test alphabet (:func:`course_lib.oneshot.k_shot_tasks`, 5 queries
            per class, ``num_tasks`` tasks of seed 0: the same tasks for every embedding).
        n_way: the classes of each k-shot task.
        num_tasks: the k-shot tasks drawn.

    Returns:
        A dict of floats: ``"recall@k"`` for each k and ``"map@r"`` (each test image a query
        against all the others, by :func:`course_lib.evaluate.retrieval_scores`), ``"spread"``
        (:func:`course_lib.evaluate.embedding_spread` of the test embeddings) and
        ``"one-shot 20-way"`` (mean accuracy over Lake's runs) and, for each k of ``shots``,
        ``"{k}-shot {n_way}-way, test alphabet"``.

    Raises:
        TypeError: ``embed`` not a Keras model.
        ValueError: as :func:`course_lib.evaluate.retrieval_scores`.
    """
    if not isinstance(embed, keras.Model):
        raise TypeError(f"embed must be a keras.Model, got {type(embed).__name__}")
    e = np.asarray(embed.predict(protocol.x_test, batch_size=512, verbose=0))
    out = dict(evaluate.retrieval_scores(e, protocol.y_test, ks=ks))
    out["spread"] = evaluate.embedding_spread(e)
    per_run, _ = oneshot.score_lake_runs(embed, protocol.runs)
    out["one-shot 20-way"] = float(per_run.mean())
    for k in shots:
        support, query = oneshot.k_shot_tasks(protocol.y_test, n_way, k, num_tasks, seed=0,
                                              queries=5)
        out[f"{k}-shot {n_way}-way, test alphabet"] = float(
            oneshot.k_shot_accuracy(e, support, query).mean())
    return {name: float(v) for name, v in out.items()}


def simpleshot_model(embed: keras.Model, x_reference) -> keras.Model:
    """SimpleShot's reading of a trained encoder (Wang et al. 2019, "CL2N"): subtract the mean
    embedding of the reference images (the training images), then scale to unit length.

    Args:
        embed: a model from images to embeddings.
        x_reference: the images whose mean embedding is subtracted (N, H, W).

    Returns:
        A functional ``keras.Model`` named ``"simpleshot"``: ``embed``, then a
        ``keras.layers.Normalization`` holding that mean (variance 1: centring only), then
        ``keras.layers.UnitNormalization``.

    Raises:
        TypeError: ``embed`` not a Keras model.
        ValueError: ``x_reference`` empty or not finite.
    """
    if not isinstance(embed, keras.Model):
        raise TypeError(f"embed must be a keras.Model, got {type(embed).__name__}")
    x = checks.float_array(x_reference, "x_reference")
    mean = np.asarray(embed.predict(x, batch_size=512, verbose=0)).mean(axis=0)
    inputs = keras.Input(embed.input_shape[1:], name="image")
    centred = keras.layers.Normalization(mean=mean, variance=np.ones_like(mean),
                                         name="centre")(embed(inputs))
    outputs = keras.layers.UnitNormalization(name="unit_sphere")(centred)
    return keras.Model(inputs, outputs, name="simpleshot")
