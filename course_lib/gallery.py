"""What a deployed Siamese system needs: the encoder, a gallery index, verify and identify.

- :func:`build_index` embeds labelled gallery images with the encoder and keeps the embeddings,
  labels, class names, the verification threshold (chosen on validation pairs, e.g. with
  ``evaluate.choose_threshold`` or ``evaluate.threshold_at_far``) and the encoder's input spec.
- :func:`export` writes ``encoder.keras`` (the encoder alone) and ``gallery.npz`` (the index)
  to a folder; :func:`load` reads both back (in a fresh process too) into a :class:`Gallery`.
  An existing export is never overwritten unless ``overwrite=True``.
- :class:`Gallery` answers ``verify(a, b) -> (same, distance)`` and
  ``identify(query, k)``: the k nearest classes with distances, and the answer ``"unknown"``
  when even the nearest class is farther than the threshold (open-set identification).

Search is brute force, one matrix product per batch of queries (``benchmarks/bench_search.py``
measures where that stops being enough). An index remembers its encoder by the input spec and
by the embeddings of a fixed probe input (a fingerprint), so an index paired with another
encoder is an error, not silently wrong answers.

Introduced in notebook 08.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from course_lib import checks, config, distances

__all__ = ["UNKNOWN", "BruteForceSearch", "Gallery", "GalleryIndex", "Identification", "build_index", "export",
           "load", "load_index", "save_index"]

UNKNOWN = "unknown"
ENCODER_FILE = "encoder.keras"
INDEX_FILE = "gallery.npz"
_FORMAT = 1
_PROBE_SEED = 12345
_PROBE_COUNT = 2


@dataclass(frozen=True, eq=False)
class GalleryIndex:
    """Embeddings of labelled gallery images and what is needed to answer queries against them.

    Attributes:
        embeddings: (N, D) float32.
        labels: (N,) int64 class ids, indices into ``class_names``.
        class_names: the name of each class id.
        threshold: distance at or below which two images are "the same".
        input_shape: the encoder's input shape without the batch axis.
        input_dtype: the encoder's input dtype, e.g. ``"float32"``.
        probe: (2, D) the encoder's embeddings of a fixed pseudo-random probe input.
    """

    embeddings: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    threshold: float
    input_shape: tuple[int, ...]
    input_dtype: str
    probe: np.ndarray


@dataclass(frozen=True)
class Identification:
    """The answer to "who is this?" for one query.

    Attributes:
        answer: the nearest class's name, or ``"unknown"`` when its distance exceeds the
            threshold.
        distance: the distance to the nearest gallery image.
        candidates: the k nearest classes as ``(class name, distance)``, nearest first (the
            distance of a class is that of its nearest gallery image).
    """

    answer: str
    distance: float
    candidates: tuple[tuple[str, float], ...]


# --------------------------------------------------------------------------- the encoder's spec


def _encoder_spec(encoder) -> tuple[tuple[int, ...], str]:
    if not isinstance(encoder, keras.Model):
        raise TypeError(f"encoder must be a keras.Model, got {type(encoder).__name__}")
    if len(encoder.inputs) != 1 or len(encoder.outputs) != 1:
        raise ValueError("encoder must have one input and one output (an image -> an embedding), "
                         f"got {len(encoder.inputs)} inputs and {len(encoder.outputs)} outputs")
    shape = tuple(encoder.inputs[0].shape[1:])
    if any(s is None for s in shape):
        raise ValueError(f"encoder's input shape must be fully known, got {shape}")
    return tuple(int(s) for s in shape), str(encoder.inputs[0].dtype)


def _probe_input(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(_PROBE_SEED).random((_PROBE_COUNT, *shape)).astype(np.float32)


def _embed(encoder, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    out = encoder.predict(images, batch_size=batch_size, verbose=0)
    out = np.asarray(out, np.float32)
    if out.ndim != 2:
        raise ValueError(f"encoder must output (batch, dim) embeddings, got shape {out.shape}")
    return out


def _images(x, name: str, shape: tuple[int, ...]) -> tuple[np.ndarray, bool]:
    """``x`` as a float32 batch of the encoder's input shape; also whether it was one image."""
    arr = checks.float_array(x, name)
    if arr.shape == shape:
        return arr[None].astype(np.float32), True
    if arr.ndim == len(shape) + 1 and arr.shape[1:] == shape and len(arr):
        return arr.astype(np.float32), False
    raise ValueError(f"{name} must be one image of shape {shape} or a batch of shape "
                     f"(n, {', '.join(map(str, shape))}), got shape {arr.shape}")


# --------------------------------------------------------------------------- building the index


def build_index(encoder, images, labels, class_names, threshold: float,
                batch_size: int = 256) -> GalleryIndex:
    """Embed the gallery images and keep what answering queries needs.

    Args:
        encoder: a Keras model mapping a batch of images to (batch, D) embeddings.
        images: (N, *encoder input shape) gallery images.
        labels: (N,) integer class ids, indices into ``class_names``.
        class_names: one name (str) per class id; ``"unknown"`` is reserved.
        threshold: the verification threshold (a finite number >= 0), chosen on validation
            pairs.
        batch_size: images per encoder call.

    Returns:
        A :class:`GalleryIndex`.

    Raises:
        TypeError: ``encoder`` not a Keras model, non-integer labels, non-str class names.
        ValueError: images of another shape, labels outside ``class_names``, duplicate or
            reserved class names, a bad threshold.
    """
    shape, dtype = _encoder_spec(encoder)
    x, _ = _images(images, "images", shape)
    y = checks.index_array(labels, "labels", ndim=1)
    checks.same_length(y, "labels", x, "images")
    names = _class_names(class_names)
    checks.index_array(y, "labels", size=len(names))
    threshold = checks.number(threshold, "threshold", low=0.0)
    batch_size = checks.positive_int(batch_size, "batch_size")
    return GalleryIndex(_embed(encoder, x, batch_size), y, names, threshold, shape, dtype,
                        _embed(encoder, _probe_input(shape)))


def _class_names(class_names) -> tuple[str, ...]:
    if isinstance(class_names, str) or not hasattr(class_names, "__iter__"):
        raise TypeError(f"class_names must be a sequence of str, got {class_names!r}")
    names = tuple(class_names)
    if not names or not all(isinstance(n, str) for n in names):
        raise TypeError("class_names must be a non-empty sequence of str")
    if len(set(names)) != len(names):
        raise ValueError("class_names must be distinct")
    if UNKNOWN in names:
        raise ValueError(f"class_names must not contain {UNKNOWN!r}: it is the open-set answer")
    return names


# --------------------------------------------------------------------------- files


def _target(path, overwrite: bool) -> Path:
    checks.path(path, "path")
    overwrite = checks.boolean(overwrite, "overwrite")
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    return path


def save_index(index: GalleryIndex, path, overwrite: bool = False) -> Path:
    """Write a gallery index to one ``.npz`` file (no pickled objects), atomically: under a
    temporary name, then renamed (:func:`course_lib.config.atomic_file`).

    Args:
        index: the :class:`GalleryIndex`.
        path: the file to write (``.npz`` is appended by NumPy when missing).
        overwrite: replace an existing file.

    Returns:
        The path written.

    Raises:
        TypeError: ``index`` not a GalleryIndex. FileExistsError: the file exists and
        ``overwrite`` is False.
    """
    if not isinstance(index, GalleryIndex):
        raise TypeError(f"index must be a GalleryIndex, got {type(index).__name__}")
    path = Path(str(path) if str(path).endswith(".npz") else f"{path}.npz")
    path = _target(path, overwrite)
    meta = {"format": _FORMAT, "threshold": index.threshold, "input_shape": index.input_shape,
            "input_dtype": index.input_dtype, "class_names": list(index.class_names)}
    with config.atomic_file(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, embeddings=index.embeddings, labels=index.labels, probe=index.probe,
                 meta=np.array(json.dumps(meta)))
    return path


def load_index(path) -> GalleryIndex:
    """Read a gallery index written by :func:`save_index`, checking everything it holds.

    Args:
        path: the ``.npz`` file.

    Returns:
        The :class:`GalleryIndex`.

    Raises:
        FileNotFoundError: no such file. ValueError (naming the file and what is wrong): not a
        readable ``.npz`` (empty, truncated, another kind of file), another format version, a
        missing or malformed entry (threshold, class names, input spec, arrays), a NaN or
        negative threshold, non-finite embeddings, embeddings and labels of different lengths,
        labels outside the class names, or embeddings and probe of different widths.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"gallery index {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("meta", "embeddings", "labels", "probe") if k not in data.files]
            if missing:
                raise ValueError(f"it has no {missing} entries")
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in ("embeddings", "labels", "probe")}
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is not a gallery index file ({err or 'empty'})") \
            from err
    return _checked_index(path, meta, arrays)


def _checked_index(path: Path, meta, arrays: dict) -> GalleryIndex:
    """The index read from ``path``, after checking each entry; ValueError names the file."""
    def bad(what: str) -> ValueError:
        return ValueError(f"gallery index {path}: {what}")

    if not isinstance(meta, dict):
        raise bad(f"its meta entry is not a JSON object, got {type(meta).__name__}")
    if meta.get("format") != _FORMAT:
        raise ValueError(f"{path} has gallery format {meta.get('format')!r}; this version "
                         f"reads format {_FORMAT}")
    missing = [k for k in ("threshold", "input_shape", "input_dtype", "class_names")
               if k not in meta]
    if missing:
        raise bad(f"its meta entry lacks {missing}")
    try:
        threshold = checks.number(meta["threshold"], "threshold", low=0.0)
        names = _class_names(meta["class_names"])
        emb = checks.float_array(arrays["embeddings"], "embeddings", ndim=2)
        probe = checks.float_array(arrays["probe"], "probe", ndim=2)
        labels = checks.index_array(arrays["labels"], "labels", ndim=1)
        checks.same_length(labels, "labels", emb, "embeddings")
        checks.index_array(labels, "labels", size=len(names))
        shape = meta["input_shape"]
        if not isinstance(shape, list) or not shape or not all(
                isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape):
            raise ValueError(f"input_shape must be a list of positive ints, got {shape!r}")
        if not isinstance(meta["input_dtype"], str):
            raise ValueError(f"input_dtype must be a str, got {meta['input_dtype']!r}")
    except (TypeError, ValueError) as err:
        raise bad(str(err)) from err
    if emb.shape[1] != probe.shape[1]:
        raise bad(f"its embeddings are {emb.shape[1]}-D but its probe embeddings are "
                  f"{probe.shape[1]}-D")
    return GalleryIndex(emb.astype(np.float32), labels, names, threshold, tuple(shape),
                        meta["input_dtype"], probe.astype(np.float32))


def export(encoder, index: GalleryIndex, directory, overwrite: bool = False) -> dict[str, Path]:
    """Write the encoder alone (``encoder.keras``) and the gallery index (``gallery.npz``).

    Both files are checked before anything is written, and each is written under a temporary
    name and renamed (:func:`course_lib.config.atomic_file`): a failed export leaves the files
    of an earlier one as they were.

    Args:
        encoder: the encoder the index was built with.
        index: its :class:`GalleryIndex`.
        directory: the export folder (created if missing); nothing is written elsewhere.
        overwrite: replace existing files.

    Returns:
        ``{"encoder": path, "index": path}``.

    Raises:
        FileExistsError: a file exists and ``overwrite`` is False.
        ValueError: the index was built with another encoder (see :class:`Gallery`).
    """
    Gallery(encoder, index)                                  # refuses a mismatched pair
    checks.path(directory, "directory")
    folder = Path(directory)
    encoder_path = _target(folder / ENCODER_FILE, overwrite)
    index_path = _target(folder / INDEX_FILE, overwrite)
    with config.atomic_file(encoder_path) as tmp:
        encoder.save(tmp)
    save_index(index, index_path, overwrite=True)
    return {"encoder": encoder_path, "index": index_path}


def load(directory) -> Gallery:
    """Load an export written by :func:`export` into a ready :class:`Gallery`.

    Args:
        directory: the export folder, holding ``encoder.keras`` and ``gallery.npz``.

    Returns:
        A :class:`Gallery`.

    Raises:
        FileNotFoundError: a file is missing. ValueError: a file cannot be read or is damaged
        (the message names it), or the index does not belong to the encoder.
    """
    folder = Path(checks.path(directory, "directory"))
    encoder_path = folder / ENCODER_FILE
    if not encoder_path.is_file():
        raise FileNotFoundError(f"encoder file {encoder_path} does not exist")
    try:
        encoder = keras.models.load_model(encoder_path)
    except Exception as err:       # Keras raises many kinds for a damaged or foreign file
        raise ValueError(f"encoder file {encoder_path} cannot be loaded: "
                         f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                         ) from err
    return Gallery(encoder, load_index(folder / INDEX_FILE), source=folder / INDEX_FILE)


# --------------------------------------------------------------------------- search


class BruteForceSearch:
    """Exact nearest classes of query embeddings: one matrix product against the whole gallery.

    The gallery is held once, in float32, sorted by class, as a
    :class:`course_lib.distances.Reference`. A batch of queries is processed in chunks so that
    the one temporary (queries x gallery) block stays under ~64 MB. The distance of a class is
    that of its nearest item; :meth:`nearest_classes` ranks classes with
    :meth:`course_lib.distances.Reference.nearest_segments`: by exact distance (from the
    difference, so a query equal to a gallery image is 0 away), then class id.

    Args:
        embeddings: (N, D) gallery embeddings (finite numbers).
        labels: (N,) integer class ids.

    Raises:
        TypeError: non-integer labels. ValueError: bad shapes, NaN/inf, lengths that differ.
    """

    _MAX_BYTES = distances.DEFAULT_MAX_BYTES     # one temporary distance block (64 MB)

    def __init__(self, embeddings, labels):
        emb = np.asarray(embeddings, dtype=np.float32)
        if emb.ndim != 2 or not len(emb):
            raise ValueError(f"embeddings must be a non-empty 2-D array, got shape {emb.shape}")
        if not np.isfinite(emb).all():
            raise ValueError("embeddings contains non-finite values (NaN or inf)")
        y = checks.class_labels(labels, "labels")
        checks.same_length(y, "labels", emb, "embeddings")
        order = np.argsort(y, kind="stable")
        self.classes, self._starts = np.unique(y[order], return_index=True)
        self._reference = distances.Reference(np.ascontiguousarray(emb[order]), "euclidean",
                                              "embeddings")

    @property
    def nbytes(self) -> int:
        """Memory the search holds: the gallery rows and their squared norms."""
        return self._reference.nbytes

    def _queries(self, queries) -> np.ndarray:
        q = np.asarray(queries, dtype=np.float32)
        dim = self._reference.rows.shape[1]
        if q.ndim != 2 or q.shape[1] != dim:
            raise ValueError(f"queries must have shape (n, {dim}), got {q.shape}")
        return q

    def class_distances(self, queries) -> np.ndarray:
        """(n, classes) distance from each query to the nearest gallery item of each class.

        From the matrix product (fast, float32): :meth:`nearest_classes` refines the nearest
        ones with exact distances.

        Args:
            queries: (n, D) query embeddings.

        Returns:
            float32 distances; column ``j`` is class ``self.classes[j]``.

        Raises:
            ValueError: queries of another shape, NaN/inf inside.
        """
        return self._reference.segment_minima(self._queries(queries), self._starts,
                                              self._MAX_BYTES, name="queries")

    def nearest_classes(self, queries, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest classes of each query, nearest first.

        Args:
            queries: (n, D) query embeddings.
            k: an int in [1, number of classes].

        Returns:
            ``(class_ids, distances)``, both (n, k): exact distances of each class's nearest
            item; equally near classes by class id.

        Raises:
            ValueError: a bad ``k`` or bad queries (see :meth:`class_distances`).
        """
        k = checks.integer(k, "k", minimum=1, maximum=len(self.classes))
        cols, dist = self._reference.nearest_segments(self._queries(queries), self._starts, k,
                                                      self._MAX_BYTES, name="queries")
        return self.classes[cols], dist


# --------------------------------------------------------------------------- answering


class Gallery:
    """An encoder and its gallery index, answering verify and identify queries.

    Args:
        encoder: the Keras encoder.
        index: the :class:`GalleryIndex` built with it.
        source: where the index came from, for error messages.

    Raises:
        TypeError: wrong types.
        ValueError: the index's input spec differs from the encoder's, its embedding size
            differs, or the encoder embeds the probe input differently (another encoder or
            other weights).
    """

    def __init__(self, encoder, index: GalleryIndex, source=None):
        if not isinstance(index, GalleryIndex):
            raise TypeError(f"index must be a GalleryIndex, got {type(index).__name__}")
        shape, dtype = _encoder_spec(encoder)
        where = f"gallery index {source}" if source is not None else "the gallery index"
        if (shape, dtype) != (tuple(index.input_shape), index.input_dtype):
            raise ValueError(f"{where} was built for inputs {index.input_shape} "
                             f"{index.input_dtype}, but this encoder takes {shape} {dtype}: "
                             "it comes from another encoder")
        probe = _embed(encoder, _probe_input(shape))
        widths = {index.probe.shape[1], np.shape(index.embeddings)[1]}
        if probe.shape != index.probe.shape or widths != {probe.shape[1]}:
            raise ValueError(f"{where} holds {'- and '.join(map(str, sorted(widths)))}-D "
                             "embeddings but this "
                             f"encoder outputs {probe.shape[1]}-D ones: another encoder")
        scale = max(float(np.abs(index.probe).max()), 1e-6)
        gap = float(np.abs(probe - index.probe).max())
        if gap > 1e-4 * scale:
            raise ValueError(f"{where} was built with another encoder (or other weights): the "
                             f"probe embeddings differ by {gap:.3g}")
        self.encoder, self.index = encoder, index
        self.threshold = index.threshold
        self._shape = shape
        self.search = BruteForceSearch(index.embeddings, index.labels)

    def embed(self, images) -> np.ndarray:
        """Embeddings (n, D) of one image or a batch (shape checked against the encoder)."""
        x, _ = _images(images, "images", self._shape)
        return _embed(self.encoder, x)

    def verify(self, a, b):
        """Are ``a`` and ``b`` the same (distance <= threshold)?

        Args:
            a, b: one image each, or two batches of the same length.

        Returns:
            ``(same, distance)``: a bool and a float for single images, arrays for batches.

        Raises:
            ValueError: a shape other than the encoder's input, batches of different lengths.
        """
        xa, single_a = _images(a, "a", self._shape)
        xb, single_b = _images(b, "b", self._shape)
        checks.same_length(xb, "b", xa, "a")
        ea, eb = _embed(self.encoder, xa), _embed(self.encoder, xb)
        d = np.sqrt(((ea - eb) ** 2).sum(1, dtype=np.float64))
        same = d <= self.threshold
        if single_a and single_b:
            return bool(same[0]), float(d[0])
        return same, d


    def identify(self, query, k: int = 1):
        """Who is this? The k nearest classes, and "unknown" when none is within the threshold.

        Args:
            query: one image, or a batch of images.
            k: how many candidate classes to return (1 .. number of gallery classes).

        Returns:
            An :class:`Identification` for one image; a list of them for a batch.

        Raises:
            ValueError: a query of another shape than the encoder's input, a bad ``k``.
        """
        x, single = _images(query, "query", self._shape)
        k = checks.integer(k, "k", minimum=1, maximum=len(self.search.classes))
        ids, dists = self.search.nearest_classes(_embed(self.encoder, x), k)
        names = self.index.class_names
        out = []
        for row_ids, row_d in zip(ids, dists):
            cands = tuple((names[c], float(d)) for c, d in zip(row_ids, row_d))
            best = cands[0][1]
            out.append(Identification(cands[0][0] if best <= self.threshold else UNKNOWN, best,
                                      cands))
        return out[0] if single else out

    def open_set_scores(self, queries, truth) -> dict[str, float]:
        """How well :meth:`identify` answers queries of known and of unknown classes.

        Args:
            queries: a batch of images.
            truth: one str per query: its class name, or ``"unknown"`` for a class that is
                not in the gallery.

        Returns:
            ``accuracy`` (answers equal to the truth, over all queries), ``known_accuracy``
            (right name, over queries of gallery classes), ``unknown_rejection`` (answered
            "unknown", over queries of other classes); NaN for a group with no query.

        Raises:
            ValueError: ``truth`` of another length than the batch, or naming a class that is
            neither in the gallery nor "unknown".
        """
        x, _ = _images(queries, "queries", self._shape)
        truth = [str(t) for t in truth]
        checks.same_length(truth, "truth", x, "queries")
        strange = sorted(set(truth) - set(self.index.class_names) - {UNKNOWN})
        if strange:
            raise ValueError(f"truth names classes {strange[:10]} that are not in the gallery; "
                             f"use {UNKNOWN!r} for queries of classes outside it")
        answers = np.array([r.answer for r in self.identify(x, k=1)])
        truth = np.array(truth)
        known = truth != UNKNOWN
        right = answers == truth
        return {"accuracy": float(right.mean()),
                "known_accuracy": float(right[known].mean()) if known.any() else float("nan"),
                "unknown_rejection": float(right[~known].mean()) if (~known).any()
                else float("nan")}

