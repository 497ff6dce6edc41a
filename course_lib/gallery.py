"""What a deployed Siamese system needs: the encoder, a gallery index, verify and identify.

- :func:`build_index` embeds labelled gallery images with the encoder and keeps the embeddings,
  labels, class names, one id per gallery item (e.g. its file path), **two thresholds** — one for
  1:1 ``verify`` (chosen on validation pairs, e.g. ``evaluate.threshold_at_far``) and one for
  1:N ``identify`` (chosen on validation queries of classes outside the gallery,
  ``evaluate.open_set_threshold_at_far``; :func:`choose_thresholds` picks both) — the encoder's
  input spec and its :class:`Preprocessing`.
- :func:`export` writes ``encoder.keras`` (the encoder alone) and ``gallery.npz`` (the index)
  to a folder; :func:`load` reads both back (in a fresh process too) into a :class:`Gallery`.
  An existing export is never overwritten unless ``overwrite=True``; the two files are written
  together into a temporary sibling folder that then takes the export folder's place, so an
  interrupted export leaves the earlier pair or the new one, not one file of each.
- :class:`Gallery` answers ``verify(a, b) -> (same, distance)`` and ``identify(query, k)``: the
  k nearest classes, the gallery item matched in each and its distance, and the answer
  ``"unknown"`` when even the nearest item is farther than the identify threshold (open set).
  ``Gallery.add`` / ``Gallery.remove`` grow and shrink the gallery without re-embedding the
  rest.

A query is a file path, or a decoded image of any size (H, W), (H, W, 1|3|4), or a batch of
them: the export's :class:`Preprocessing` (saved with it, re-applied on load) resizes it to the
encoder's input (stretched, as ``folders.decode_image`` does), converts the colour mode and
scales ``uint8`` 0-255 to [0, 1]. Float images outside [0, 1] and other integer dtypes are
refused with an error: they would give wrong embeddings silently. Many queries (a list of
50,000 paths, a memory map of pixels) are decoded, embedded and searched ``chunk_size`` at a
time (:class:`Gallery`'s argument, default 256): memory holds one chunk of images and one
chunk of distances, never every query's pixels or a (queries x gallery) matrix. A
``tf.data.Dataset`` of image batches (``folders.cached_batches``, ``folders.path_batches``) is
read batch by batch, in the same way.

Search sits behind one small interface (:class:`Search`: ``nearest(queries, k)`` -> class ids,
distances, gallery rows): brute force by default (:class:`BruteForceSearch`, one matrix
product per batch of queries; ``benchmarks/bench_search.py`` measures where that stops being
enough), FAISS's exact ``IndexFlatL2`` with ``search="faiss"`` when the optional ``faiss``
package is installed (:class:`FaissSearch`), or any factory ``(embeddings, labels) -> Search``.
An index remembers its encoder by the input spec and by the embeddings of a fixed probe input
(a fingerprint), so an index paired with another encoder is an error, not silently wrong
answers.

Introduced in notebook 08.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import keras
import numpy as np
import tensorflow as tf

from course_lib import checks, config, distances

__all__ = ["UNKNOWN", "BruteForceSearch", "FaissSearch", "Gallery", "GalleryIndex", "Identification",
           "Preprocessing", "build_index", "choose_thresholds", "export", "load",
           "load_index", "save_index"]

UNKNOWN = "unknown"
ENCODER_FILE = "encoder.keras"
INDEX_FILE = "gallery.npz"
_FORMAT = 2
_OLD_FORMATS = (1,)
ASPECT_MODES = ("stretch", "crop", "pad")   # those of folders.decode_image
COLOR_MODES = {"grayscale": 1, "rgb": 3}
_PROBE_SEED = 12345
_PROBE_COUNT = 2


@dataclass(frozen=True)
class Preprocessing:
    """How a query becomes the encoder's input; saved with an export and re-applied on load.

    Attributes:
        image_size: (height, width) of the encoder's input.
        color_mode: ``"grayscale"`` (1 channel) or ``"rgb"`` (3 channels).
        aspect: how a query of another aspect ratio is fitted, as ``folders.decode_image``
            does for training: ``"stretch"`` (resized to ``image_size`` regardless of aspect
            ratio, bilinear with antialiasing), ``"crop"`` (the largest central crop of the
            target aspect ratio, then resized) or ``"pad"`` (resized to fit, black borders).
    """

    image_size: tuple[int, int]
    color_mode: str
    aspect: str = "stretch"

    def __post_init__(self):
        size = self.image_size
        if (not isinstance(size, (tuple, list)) or len(size) != 2 or not all(
                isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size)):
            raise ValueError(f"image_size must be (height, width) positive ints, got {size!r}")
        object.__setattr__(self, "image_size", tuple(size))
        checks.one_of(self.color_mode, "color_mode", COLOR_MODES)
        if not isinstance(self.aspect, str):
            raise TypeError(f"aspect must be one of {ASPECT_MODES}, got "
                            f"{type(self.aspect).__name__}")
        checks.one_of(self.aspect, "aspect", ASPECT_MODES)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The encoder input this produces: (height, width, channels)."""
        return (*self.image_size, COLOR_MODES[self.color_mode])

    def to_dict(self) -> dict:
        return {"image_size": list(self.image_size), "color_mode": self.color_mode,
                "aspect": self.aspect}


def _default_preprocessing(shape: tuple[int, ...]) -> Preprocessing | None:
    """The preprocessing an (h, w, 1|3) image input implies; None for other inputs."""
    if len(shape) == 3 and shape[2] in (1, 3):
        return Preprocessing(shape[:2], "grayscale" if shape[2] == 1 else "rgb")
    return None


@dataclass(frozen=True, eq=False)
class GalleryIndex:
    """Embeddings of labelled gallery images and what is needed to answer queries against them.

    Attributes:
        embeddings: (N, D) float32.
        labels: (N,) int64 class ids, indices into ``class_names``.
        class_names: the name of each class id.
        threshold: the 1:1 verify threshold: distance at or below which two images are "the
            same".
        input_shape: the encoder's input shape without the batch axis.
        input_dtype: the encoder's input dtype, e.g. ``"float32"``.
        probe: (2, D) the encoder's embeddings of a fixed pseudo-random probe input.
        items: one distinct id (str) per gallery row, e.g. its file path; ``"0"``, ``"1"``, ...
            when none are given.
        identify_threshold: the 1:N identify threshold (nearest gallery item at or below it is
            accepted); None means the verify threshold.
        preprocessing: the :class:`Preprocessing` of queries; None for inputs that are not
            images (queries must then have the input shape exactly).
    """

    embeddings: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    threshold: float
    input_shape: tuple[int, ...]
    input_dtype: str
    probe: np.ndarray
    items: tuple[str, ...] = None
    identify_threshold: float | None = None
    preprocessing: Preprocessing | None = None

    def __post_init__(self):
        if self.items is None:
            object.__setattr__(self, "items", tuple(str(i) for i in range(len(self.labels))))

    @property
    def verify_threshold(self) -> float:
        """The 1:1 threshold (the same as ``threshold``)."""
        return self.threshold

    @property
    def open_set_threshold(self) -> float:
        """The 1:N threshold in use: ``identify_threshold``, or the verify one when unset."""
        return self.threshold if self.identify_threshold is None else self.identify_threshold


@dataclass(frozen=True)
class Identification:
    """The answer to "who is this?" for one query.

    Attributes:
        answer: the nearest class's name, or ``"unknown"`` when its distance exceeds the
            identify threshold.
        distance: the distance to the nearest gallery item.
        candidates: the k nearest classes as ``(class name, distance)``, nearest first (the
            distance of a class is that of its nearest gallery item).
        matches: the gallery item matched in each candidate class, as ``(item id, class name,
            distance)``, nearest first; ``matches[0][0]`` is the nearest gallery item.
    """

    answer: str
    distance: float
    candidates: tuple[tuple[str, float], ...]
    matches: tuple[tuple[str, str, float], ...] = field(default=())

    @property
    def item(self) -> str:
        """The id of the nearest gallery item."""
        return self.matches[0][0]


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


DEFAULT_CHUNK = 256      # queries decoded, embedded and searched at a time


class _Queries:
    """Queries (a path, an image, or a batch of either) prepared a chunk of rows at a time.

    Nothing is decoded or converted when this is made, beyond checking the form and the
    length: :meth:`chunks` yields float32 batches the encoder takes, ``size`` rows each (the
    last one shorter), so a memory map, or a list of 50,000 file paths, is never decoded or
    converted whole. A ``tf.data.Dataset`` of image batches (e.g. ``folders.cached_batches``
    or ``folders.path_batches``) is read batch by batch; its length (``n``) is known only once
    it has been read (None before). ``single`` says whether the input was one query.
    """

    def __init__(self, x, name: str, shape: tuple[int, ...], prep: Preprocessing | None):
        self.name, self.shape, self.prep = name, shape, prep
        self._list = None                   # paths or images, prepared one by one
        self._rows = None                   # a batch array, sliced then converted
        self._dataset = None                # a tf.data.Dataset of image batches
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            if not isinstance(spec, tf.TensorSpec) or spec.shape.rank != len(shape) + 1:
                raise TypeError(f"{name} as a tf.data.Dataset must yield batches of images "
                                f"(one tensor of rank {len(shape) + 1}, e.g. "
                                f"folders.cached_batches), got elements {spec}")
            self._dataset, self.single, self.n = x, False, None
            return
        if prep is None:
            arr = x if isinstance(x, np.ndarray) else checks.float_array(x, name)
            if arr.shape == shape:
                self._rows, self.single = arr[None], True
            elif arr.ndim == len(shape) + 1 and arr.shape[1:] == shape and len(arr):
                self._rows, self.single = arr, False
            else:
                raise ValueError(f"{name} must be one image of shape {shape} or a batch of "
                                 f"shape (n, {', '.join(map(str, shape))}), got shape "
                                 f"{arr.shape}")
        elif isinstance(x, (str, os.PathLike)):
            self._list, self.single = [x], True
        elif isinstance(x, (list, tuple)):
            if not x:
                raise ValueError(f"{name} must hold at least one image or file path, got none")
            self._list, self.single = list(x), False
        else:
            arr = x if isinstance(x, np.ndarray) else np.asarray(x)
            if arr.dtype.kind in "US":
                self._list = [str(arr)] if arr.ndim == 0 else [str(v) for v in arr.ravel()]
                self.single = arr.ndim == 0
                if not self._list:
                    raise ValueError(f"{name} must hold at least one file path, got none")
            elif arr.ndim == 4:
                if not len(arr):
                    raise ValueError(f"{name} must hold at least one image, got an empty batch")
                self._rows, self.single = arr, False
            else:
                self._rows, self.single = _one_image(arr, name), True
        self.n = len(self._list) if self._list is not None else len(self._rows)

    def _part(self, lo: int, hi: int) -> np.ndarray:
        if self.prep is None:
            return _images(self._rows[lo:hi], self.name, self.shape)[0]
        if self._rows is not None:
            return _converted(self._rows[lo:hi], self.name, self.prep)
        if self.single:
            v = self._list[0]
            return (_decoded(v, self.prep)[None] if isinstance(v, (str, os.PathLike))
                    else _converted(_one_image(v, self.name), self.name, self.prep))
        return np.stack([_decoded(v, self.prep) if isinstance(v, (str, os.PathLike))
                         else _converted(_one_image(v, f"{self.name}[{i}]"),
                                         f"{self.name}[{i}]", self.prep)[0]
                         for i, v in enumerate(self._list[lo:hi], lo)])

    def chunks(self, size: int):
        """Yield ``(start, batch)``: rows ``start .. start + len(batch) - 1``, prepared."""
        if self._dataset is None:
            for lo in range(0, self.n, size):
                yield lo, self._part(lo, min(lo + size, self.n))
            return
        start = 0
        for batch in self._dataset.as_numpy_iterator():
            for lo in range(0, len(batch), size):
                part = batch[lo:lo + size]
                yield start, (_images(part, self.name, self.shape)[0] if self.prep is None
                              else _converted(part, self.name, self.prep))
                start += len(part)
        if not start:
            raise ValueError(f"{self.name} must hold at least one image, got an empty dataset")
        self.n = start

    def embeddings(self, encoder, size: int) -> np.ndarray:
        """(n, D) embeddings, ``size`` queries prepared and embedded at a time."""
        return np.concatenate([_embed(encoder, part) for _, part in self.chunks(size)])


def _one_image(x, name: str) -> np.ndarray:
    """One image (H, W) or (H, W, C) as a batch of one (1, H, W, C)."""
    arr = np.asarray(x)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ValueError(f"{name} must be an image (height, width[, channels]), a batch (n, "
                         f"height, width, channels) or a file path, got shape {arr.shape}")
    return arr[None]


def _converted(batch: np.ndarray, name: str, prep: Preprocessing) -> np.ndarray:
    """(n, h, w, c) pixels of any size -> (n, *prep.input_shape) float32 in [0, 1]."""
    if batch.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{name} must have 1 (gray), 3 (RGB) or 4 (RGBA) channels, got shape "
                         f"{batch.shape}")
    if batch.dtype == np.uint8:
        arr = batch.astype(np.float32) / 255.0
    elif batch.dtype.kind == "f":
        arr = checks.float_array(batch, name).astype(np.float32)
        low, high = float(arr.min()), float(arr.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(f"{name} holds values in [{low:.4g}, {high:.4g}], but float images "
                             "must lie in [0, 1]; pass 0-255 pixels as uint8 (scaled here) or "
                             "divide them by 255")
    else:
        raise TypeError(f"{name} must be uint8 (0-255, scaled here) or float in [0, 1], got "
                        f"dtype {batch.dtype}")
    if arr.shape[-1] == 4:
        arr = arr[..., :3]                              # alpha dropped
    channels = COLOR_MODES[prep.color_mode]
    if arr.shape[-1] == 3 and channels == 1:
        arr = tf.image.rgb_to_grayscale(arr).numpy()
    elif arr.shape[-1] == 1 and channels == 3:
        arr = np.repeat(arr, 3, axis=-1)
    if arr.shape[1:3] != prep.image_size:
        if prep.aspect == "stretch":
            arr = np.clip(tf.image.resize(arr, prep.image_size, antialias=True).numpy(), 0.0, 1.0)
        else:                                           # crop or pad, image by image
            from course_lib import folders

            arr = np.stack([folders.fit_image(a, prep.image_size, prep.aspect).numpy()
                            for a in arr])
    return np.ascontiguousarray(arr, dtype=np.float32)


def _decoded(path, prep: Preprocessing) -> np.ndarray:
    """One image file decoded by ``folders.decode_image`` with the export's settings."""
    from course_lib import folders

    return folders.decode_image(path, prep.image_size, prep.color_mode, prep.aspect).numpy()


# --------------------------------------------------------------------------- building the index


def build_index(encoder, images, labels, class_names, threshold: float,
                batch_size: int = 256, *, items=None, identify_threshold: float | None = None,
                preprocessing: Preprocessing | None = None) -> GalleryIndex:
    """Embed the gallery images and keep what answering queries needs.

    Args:
        encoder: a Keras model mapping a batch of images to (batch, D) embeddings.
        images: the gallery images: (N, *encoder input shape), a ``tf.data.Dataset`` of
            such batches, or any query form the
            preprocessing accepts (file paths, images of other sizes, uint8).
        labels: (N,) integer class ids, indices into ``class_names``.
        class_names: one name (str) per class id; ``"unknown"`` is reserved.
        threshold: the 1:1 verify threshold (a finite number >= 0), chosen on validation
            pairs.
        batch_size: images decoded (or converted) and embedded at a time, an int >= 1: memory
            holds one such batch, never all the gallery images at once.
        items: one distinct id (str) per image, e.g. its file path; default ``"0"``, ``"1"``,
            ... (file paths are used when ``images`` are paths).
        identify_threshold: the 1:N identify threshold; None: the verify threshold.
        preprocessing: a :class:`Preprocessing`; default: the one the encoder's input implies
            (size and colour mode from an (h, w, 1|3) input, stretched).

    Returns:
        A :class:`GalleryIndex`.

    Raises:
        TypeError: ``encoder`` not a Keras model, non-integer labels, non-str class names or
            items, bad image dtypes.
        ValueError: images of another shape (without preprocessing), labels outside
            ``class_names``, duplicate or reserved class names, duplicate items, a bad
            threshold, preprocessing that does not produce the encoder's input.
    """
    shape, dtype = _encoder_spec(encoder)
    prep = _preprocessing_for(shape, preprocessing)
    if items is None and _all_paths(images):
        items = [str(v) for v in (images if isinstance(images, (list, tuple))
                                  else np.asarray(images).ravel())]
    x = _Queries(images, "images", shape, prep)
    y = checks.index_array(labels, "labels", ndim=1)
    if x.n is not None:                  # a dataset's length is known once it is read
        checks.same_length(y, "labels", range(x.n), "images")
    names = _class_names(class_names)
    checks.index_array(y, "labels", size=len(names))
    threshold = checks.number(threshold, "threshold", low=0.0)
    if identify_threshold is not None:
        identify_threshold = checks.number(identify_threshold, "identify_threshold", low=0.0)
    ids = _items(items, len(y)) if items is not None else None
    batch_size = checks.positive_int(batch_size, "batch_size")
    emb = x.embeddings(encoder, batch_size)
    checks.same_length(y, "labels", emb, "images")
    return GalleryIndex(emb, y, names, threshold, shape, dtype,
                        _embed(encoder, _probe_input(shape)), ids, identify_threshold, prep)


def _all_paths(x) -> bool:
    if isinstance(x, (list, tuple)):
        return bool(x) and all(isinstance(v, (str, os.PathLike)) for v in x)
    return isinstance(x, np.ndarray) and x.dtype.kind in "US"


def _preprocessing_for(shape: tuple[int, ...], prep) -> Preprocessing | None:
    if prep is None:
        return _default_preprocessing(shape)
    if not isinstance(prep, Preprocessing):
        raise TypeError(f"preprocessing must be a Preprocessing, got {type(prep).__name__}")
    if prep.input_shape != shape:
        raise ValueError(f"preprocessing produces inputs {prep.input_shape} but the encoder "
                         f"takes {shape}")
    return prep


def _items(items, n: int, name: str = "items") -> tuple[str, ...]:
    if isinstance(items, str) or not hasattr(items, "__iter__"):
        raise TypeError(f"{name} must be a sequence of str ids, got {items!r}")
    ids = tuple(str(v) if isinstance(v, os.PathLike) else v for v in items)
    if not all(isinstance(v, str) for v in ids):
        raise TypeError(f"{name} must hold str ids (e.g. file paths)")
    if len(ids) != n:
        raise ValueError(f"{name} has {len(ids)} entries but there are {n} gallery images")
    if len(set(ids)) != len(ids):
        dup = sorted({v for v in ids if ids.count(v) > 1})[:5]
        raise ValueError(f"{name} must be distinct, got duplicates {dup}")
    return ids


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
    meta = {"format": _FORMAT, "threshold": index.threshold,
            "identify_threshold": index.identify_threshold, "input_shape": index.input_shape,
            "input_dtype": index.input_dtype, "class_names": list(index.class_names),
            "preprocessing": None if index.preprocessing is None
            else index.preprocessing.to_dict()}
    with config.atomic_file(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, embeddings=index.embeddings, labels=index.labels, probe=index.probe,
                 items=np.array(index.items, dtype=str), meta=np.array(json.dumps(meta)))
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
            arrays = {k: data[k] for k in ("embeddings", "labels", "probe", "items")
                      if k in data.files}
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
    version = meta.get("format")
    if version not in (_FORMAT, *_OLD_FORMATS):
        raise ValueError(f"{path} has gallery format {version!r}; this version reads formats "
                         f"{sorted((_FORMAT, *_OLD_FORMATS))}: rebuild it with "
                         "gallery.build_index and gallery.export")
    required = ["threshold", "input_shape", "input_dtype", "class_names"]
    if version == _FORMAT:
        required += ["identify_threshold", "preprocessing"]
        if "items" not in arrays:
            raise bad("it has no ['items'] entries")
    missing = [k for k in required if k not in meta]
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
        shape = tuple(shape)
        if version == _FORMAT:       # format 1 had one threshold, row numbers, no settings
            identify = meta["identify_threshold"]
            if identify is not None:
                identify = checks.number(identify, "identify_threshold", low=0.0)
            if arrays["items"].dtype.kind != "U" or arrays["items"].ndim != 1:
                raise TypeError(f"items must be a 1-D array of str ids, got dtype "
                                f"{arrays['items'].dtype} and shape {arrays['items'].shape}")
            items = _items([str(v) for v in arrays["items"]], len(labels))
            prep = _stored_preprocessing(meta["preprocessing"], shape)
        else:
            identify, items, prep = None, None, _default_preprocessing(shape)
    except (TypeError, ValueError) as err:
        raise bad(str(err)) from err
    if emb.shape[1] != probe.shape[1]:
        raise bad(f"its embeddings are {emb.shape[1]}-D but its probe embeddings are "
                  f"{probe.shape[1]}-D")
    return GalleryIndex(emb.astype(np.float32), labels, names, threshold, shape,
                        meta["input_dtype"], probe.astype(np.float32), items, identify, prep)


def _stored_preprocessing(value, shape: tuple[int, ...]) -> Preprocessing | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"image_size", "color_mode", "aspect"}:
        raise ValueError("preprocessing must be null or an object with image_size, color_mode "
                         f"and aspect, got {value!r}")
    prep = Preprocessing(value["image_size"], value["color_mode"], value["aspect"])
    if prep.input_shape != shape:
        raise ValueError(f"preprocessing produces inputs {prep.input_shape} but input_shape is "
                         f"{shape}")
    return prep


def export(encoder, index: GalleryIndex, directory, overwrite: bool = False) -> dict[str, Path]:
    """Write the encoder alone (``encoder.keras``) and the gallery index (``gallery.npz``).

    The pair is checked before anything is written, then both files are written into a new
    hidden sibling folder (``.<name>.<random>.tmp``), which takes the place of ``directory``
    only once both are complete: an export that fails leaves an earlier export as it was, and
    never one new file beside one old one. When ``directory`` already exists and holds nothing
    but an export's two files, it is renamed aside (``.<name>.<random>.old``), the new folder
    renamed in, and the aside folder's two files then deleted; a failure in between renames
    the old folder back (after a crash there, :func:`load` names the aside folder). When
    ``directory`` holds other files too, is a symbolic link, or is (or holds) the current
    working folder, only the two files are renamed into it (nothing else in it is moved or
    deleted), one after the other: a crash between
    those two renames leaves a pair that :func:`load` refuses if the encoder changed (its
    fingerprint), instead of answering wrongly. (The scheme is
    :func:`course_lib.config.atomic_folder`'s.)

    Args:
        encoder: the encoder the index was built with.
        index: its :class:`GalleryIndex`.
        directory: the export folder (created if missing); nothing is left elsewhere.
        overwrite: replace existing files.

    Returns:
        ``{"encoder": path, "index": path}``.

    Raises:
        FileExistsError: a file exists and ``overwrite`` is False.
        ValueError: the index was built with another encoder (see :class:`Gallery`);
        ``directory`` is a file.
    """
    Gallery(encoder, index)                                  # refuses a mismatched pair
    checks.path(directory, "directory")
    folder = Path(directory)
    encoder_path = _target(folder / ENCODER_FILE, overwrite)
    index_path = _target(folder / INDEX_FILE, overwrite)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"directory {folder} is a file; expected a folder for the export")
    with config.atomic_folder(folder, [ENCODER_FILE, INDEX_FILE]) as staging:
        encoder.save(staging / ENCODER_FILE)
        save_index(index, staging / INDEX_FILE)
    return {"encoder": encoder_path, "index": index_path}


def load(directory, search="brute", *, chunk_size: int = DEFAULT_CHUNK) -> Gallery:
    """Load an export written by :func:`export` into a ready :class:`Gallery`.

    Args:
        directory: the export folder, holding ``encoder.keras`` and ``gallery.npz``.
        search: the search, as for :class:`Gallery`: ``"brute"`` (default, exact, nothing to
            install), ``"faiss"`` (the optional faiss package) or a factory ``(embeddings,
            labels) ->`` :class:`Search`.
        chunk_size: queries answered at a time, as for :class:`Gallery`.

    Returns:
        A :class:`Gallery`.

    Raises:
        FileNotFoundError: a file is missing. ValueError: a file cannot be read or is damaged
        (the message names it), the index does not belong to the encoder, ``search`` is a
        string other than ``"brute"`` and ``"faiss"``, ``chunk_size`` < 1. TypeError:
        ``search`` neither such a string nor callable, ``chunk_size`` not an int.
        ImportError: ``search="faiss"`` without the faiss package (the message says how to
        install it).
    """
    folder = Path(checks.path(directory, "directory"))
    search = _search_factory(search)                  # refused before any file is read
    chunk_size = checks.positive_int(chunk_size, "chunk_size")
    encoder_path = folder / ENCODER_FILE
    asides = sorted(folder.parent.glob(f".{_glob_escape(folder.name)}.*.old"))
    if not folder.exists() and asides:
        raise FileNotFoundError(f"export folder {folder} does not exist; an interrupted export "
                                f"left the previous one in {asides[-1]}: rename that folder to "
                                f"{folder.name}")
    if not encoder_path.is_file():
        raise FileNotFoundError(f"encoder file {encoder_path} does not exist")
    try:
        encoder = keras.models.load_model(encoder_path)
    except Exception as err:       # Keras raises many kinds for a damaged or foreign file
        raise ValueError(f"encoder file {encoder_path} cannot be loaded: "
                         f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                         ) from err
    return Gallery(encoder, load_index(folder / INDEX_FILE), source=folder / INDEX_FILE,
                   search=search, chunk_size=chunk_size)


def _glob_escape(name: str) -> str:
    """``name`` with the characters ``Path.glob`` treats as wildcards made literal."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


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
        self._order = order
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

    def nearest(self, queries, k: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The :class:`Search` interface: :meth:`nearest_classes` and, for each, the gallery
        row (index into the embeddings given) of that class's nearest item."""
        q = self._queries(queries)
        ids, dist = self.nearest_classes(q, k)
        rows = np.empty(ids.shape, np.int64)
        ends = np.append(self._starts[1:], len(self._order))
        col = {int(c): j for j, c in enumerate(self.classes)}
        for i in range(len(q)):
            for j, c in enumerate(ids[i]):
                lo, hi = self._starts[col[int(c)]], ends[col[int(c)]]
                seg = self._reference.rows[lo:hi]
                rows[i, j] = self._order[lo + int(np.argmin(((seg - q[i]) ** 2).sum(1)))]
        return ids, dist, rows


class _Search(Protocol):
    """What :class:`Gallery` needs from a search backend, built as ``factory(embeddings,
    labels)``: ``nearest(queries, k)`` -> ``(class_ids, distances, rows)``, each (n, k): the k
    nearest classes of each query, nearest first, the Euclidean distance of each class's
    nearest item and that item's row in ``embeddings``.

    Args:
        embeddings: (N, D) gallery embeddings (given to the factory).
        labels: (N,) integer class ids (given to the factory).
    """

    def nearest(self, queries, k: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


class FaissSearch:
    """The :class:`Search` interface on FAISS's exact ``IndexFlatL2`` (optional ``faiss``
    package, e.g. ``pip install faiss-cpu``; not a dependency of the course).

    Asks FAISS for the nearest items, doubling how many until each query has ``k`` distinct
    classes (or the whole gallery is searched); distances are recomputed exactly.

    Args:
        embeddings: (N, D) gallery embeddings (finite numbers).
        labels: (N,) integer class ids.

    Raises:
        ImportError: faiss is not installed (the message says how to install it).
        TypeError, ValueError: as for :class:`BruteForceSearch`.
    """

    def __init__(self, embeddings, labels):
        try:
            import faiss
        except ImportError as err:
            raise ImportError("search='faiss' needs the optional faiss package (pip install "
                              "faiss-cpu); the default search='brute' needs nothing") from err
        emb = checks.float_array(embeddings, "embeddings", ndim=2).astype(np.float32)
        self.labels = checks.class_labels(labels, "labels")
        checks.same_length(self.labels, "labels", emb, "embeddings")
        self.classes = np.unique(self.labels)
        self._emb = np.ascontiguousarray(emb)
        self._index = faiss.IndexFlatL2(emb.shape[1])
        self._index.add(self._emb)

    def nearest(self, queries, k: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(checks.float_array(queries, "queries", ndim=2), np.float32)
        k = checks.integer(k, "k", minimum=1, maximum=len(self.classes))
        n_items = len(self._emb)
        depth = min(n_items, 4 * k)
        while True:
            _, found = self._index.search(q, depth)
            picked = []
            for row in found:
                rows, seen = [], set()
                for r in row:
                    c = int(self.labels[r]) if r >= 0 else None
                    if c is not None and c not in seen:
                        seen.add(c)
                        rows.append(int(r))
                picked.append(rows[:k])
            if all(len(r) == k for r in picked) or depth == n_items:
                break
            depth = min(n_items, 2 * depth)
        rows = np.array(picked, np.int64)
        dist = np.sqrt(((self._emb[rows] - q[:, None, :]) ** 2).sum(-1, dtype=np.float64))
        order = np.argsort(dist, axis=1, kind="stable")
        rows = np.take_along_axis(rows, order, 1)
        return (self.labels[rows], np.take_along_axis(dist, order, 1).astype(np.float32), rows)


SEARCHES = {"brute": BruteForceSearch, "faiss": FaissSearch}


def _search_factory(search):
    """The factory ``search`` names (a key of :data:`SEARCHES`) or is (a callable)."""
    if isinstance(search, str):
        return SEARCHES[checks.one_of(search, "search", SEARCHES)]
    return checks.callable_value(search, "search")


# --------------------------------------------------------------------------- answering


class Gallery:
    """An encoder and its gallery index, answering verify and identify queries.

    Args:
        encoder: the Keras encoder.
        index: the :class:`GalleryIndex` built with it.
        source: where the index came from, for error messages.
        search: ``"brute"`` (default, :class:`BruteForceSearch`), ``"faiss"``
            (:class:`FaissSearch`, optional package) or a factory ``(embeddings, labels) ->``
            :class:`Search`.
        chunk_size: how many queries :meth:`embed`, :meth:`verify`, :meth:`identify`,
            :meth:`open_set_scores` and :func:`choose_thresholds` decode, embed and search at
            a time (an int >= 1): memory holds one chunk of images and one chunk of distances
            to the gallery, never all queries' images or a (queries x gallery) matrix.

    Raises:
        TypeError: wrong types.
        ValueError: the index's input spec differs from the encoder's, its embedding size
            differs, or the encoder embeds the probe input differently (another encoder or
            other weights); ``chunk_size`` < 1.
    """

    def __init__(self, encoder, index: GalleryIndex, source=None, search="brute", *,
                 chunk_size: int = DEFAULT_CHUNK):
        self.chunk_size = checks.positive_int(chunk_size, "chunk_size")
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
        self._factory = _search_factory(search)
        self.encoder = encoder
        self._shape = shape
        self._set_index(index)

    def _set_index(self, index: GalleryIndex) -> None:
        self.index = index
        self.threshold = index.threshold
        self.identify_threshold = index.open_set_threshold
        self.search = self._factory(index.embeddings, index.labels)

    def _queries(self, x, name: str) -> _Queries:
        return _Queries(x, name, self._shape, self.index.preprocessing)

    def embed(self, images) -> np.ndarray:
        """Embeddings (n, D) of one query or a batch (file paths or images, preprocessed),
        ``chunk_size`` queries decoded and embedded at a time."""
        return self._queries(images, "images").embeddings(self.encoder, self.chunk_size)

    def set_thresholds(self, verify: float | None = None, identify: float | None = None) -> None:
        """Replace the verify (1:1) and/or identify (1:N) threshold (each a number >= 0)."""
        changes = {}
        if verify is not None:
            changes["threshold"] = checks.number(verify, "verify", low=0.0)
        if identify is not None:
            changes["identify_threshold"] = checks.number(identify, "identify", low=0.0)
        self._set_index(dataclasses.replace(self.index, **changes))

    def add(self, images, labels, items=None) -> None:
        """Add gallery items; only the new images are embedded.

        Args:
            images: the new images (any form :meth:`embed` accepts).
            labels: one class name (str) per image; a new name adds a class.
            items: one new distinct id per image; default: the file paths when ``images`` are
                paths, else the next free row numbers.

        Raises:
            TypeError, ValueError: bad images or labels, ids already in the gallery.
        """
        if items is None and _all_paths(images):
            items = [str(v) for v in images]
        emb = self.embed(images)
        names = checks.name_list(list(labels) if not isinstance(labels, str) else labels,
                                 "labels", "class")
        checks.same_length(names, "labels", emb, "images")
        if UNKNOWN in names:
            raise ValueError(f"labels must not contain {UNKNOWN!r}: it is the open-set answer")
        index = self.index
        if items is None:
            start = len(index.items)
            taken = set(index.items)
            items, i = [], start
            while len(items) < len(emb):
                if str(i) not in taken:
                    items.append(str(i))
                i += 1
        new_ids = _items(items, len(emb))
        clash = sorted(set(new_ids) & set(index.items))[:5]
        if clash:
            raise ValueError(f"items {clash} are already in the gallery")
        class_names = list(index.class_names) + sorted(set(names) - set(index.class_names))
        lookup = {n: i for i, n in enumerate(class_names)}
        self._set_index(dataclasses.replace(
            index, embeddings=np.concatenate([index.embeddings, emb]),
            labels=np.concatenate([index.labels, [lookup[n] for n in names]]).astype(np.int64),
            class_names=tuple(class_names), items=index.items + new_ids))

    def remove(self, items) -> None:
        """Remove gallery items by id (the rest keep their embeddings); classes left without
        items stay named but can no longer be answered.

        Raises:
            TypeError: ids not str. ValueError: an id not in the gallery, or removing all.
        """
        ids = set(_items(list(items) if not isinstance(items, str) else items, len(items)))
        missing = sorted(ids - set(self.index.items))[:5]
        if missing:
            raise ValueError(f"items {missing} are not in the gallery")
        keep = np.array([v not in ids for v in self.index.items])
        if not keep.any():
            raise ValueError("cannot remove every gallery item")
        index = self.index
        self._set_index(dataclasses.replace(
            index, embeddings=index.embeddings[keep], labels=index.labels[keep],
            items=tuple(v for v, k in zip(index.items, keep) if k)))

    def verify(self, a, b):
        """Are ``a`` and ``b`` the same (distance <= threshold)?

        Args:
            a, b: one image each, or two batches of the same length.

        Returns:
            ``(same, distance)``: a bool and a float for single images, arrays for batches.

        Raises:
            ValueError: a shape other than the encoder's input, batches of different lengths.
        """
        qa, qb = self._queries(a, "a"), self._queries(b, "b")
        if qa.n is not None and qb.n is not None:
            checks.same_length(range(qb.n), "b", range(qa.n), "a")
        ea, eb = qa.embeddings(self.encoder, self.chunk_size), qb.embeddings(self.encoder,
                                                                            self.chunk_size)
        checks.same_length(eb, "b", ea, "a")
        d = np.sqrt(((ea - eb) ** 2).sum(1, dtype=np.float64))
        single_a, single_b = qa.single, qb.single
        same = d <= self.threshold
        if single_a and single_b:
            return bool(same[0]), float(d[0])
        return same, d


    def identify(self, query, k: int = 1):
        """Who is this? The k nearest classes, and "unknown" when none is within the threshold.

        Args:
            query: one query, or a batch: file paths, images (a memory map too, read a
                chunk at a time) or a ``tf.data.Dataset`` of image batches.
            k: how many candidate classes to return (1 .. number of gallery classes).

        Returns:
            An :class:`Identification` for one image; a list of them for a batch.

        Raises:
            ValueError: a query of another shape than the encoder's input, a bad ``k``.
        """
        q = self._queries(query, "query")
        k = checks.integer(k, "k", minimum=1, maximum=len(np.unique(self.index.labels)))
        out = self._identified(q, k)
        return out[0] if q.single else out

    def _identified(self, q: _Queries, k: int) -> list[Identification]:
        """One :class:`Identification` per query, ``chunk_size`` at a time (decoded, embedded,
        searched)."""
        names, items = self.index.class_names, self.index.items
        out = []
        for _, x in q.chunks(self.chunk_size):
            ids, dists, rows = self.search.nearest(_embed(self.encoder, x), k)
            for row_ids, row_d, row_r in zip(ids, dists, rows):
                cands = tuple((names[c], float(d)) for c, d in zip(row_ids, row_d))
                matches = tuple((items[r], names[c], float(d))
                                for c, d, r in zip(row_ids, row_d, row_r))
                best = cands[0][1]
                out.append(Identification(cands[0][0] if best <= self.identify_threshold
                                          else UNKNOWN, best, cands, matches))
        return out

    def open_set_scores(self, queries, truth) -> dict[str, float]:
        """How well :meth:`identify` answers queries of known and of unknown classes.

        Args:
            queries: a batch of queries, in any form :meth:`identify` takes.
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
        q = self._queries(queries, "queries")
        truth = [str(t) for t in truth]
        if q.n is not None:
            checks.same_length(truth, "truth", range(q.n), "queries")
        strange = sorted(set(truth) - set(self.index.class_names) - {UNKNOWN})
        if strange:
            raise ValueError(f"truth names classes {strange[:10]} that are not in the gallery; "
                             f"use {UNKNOWN!r} for queries of classes outside it")
        answers = np.array([r.answer for r in self._identified(q, 1)])
        checks.same_length(truth, "truth", answers, "queries")
        truth = np.array(truth)
        known = truth != UNKNOWN
        right = answers == truth
        return {"accuracy": float(right.mean()),
                "known_accuracy": float(right[known].mean()) if known.any() else float("nan"),
                "unknown_rejection": float(right[~known].mean()) if (~known).any()
                else float("nan")}



def choose_thresholds(gallery: Gallery, pair_a=None, pair_b=None, pair_same=None,
                      unknown_queries=None, target_far: float = 0.01,
                      identify_far: float | None = None, *, images=None, labels=None
                      ) -> dict[str, float]:
    """Pick the verify (1:1) and identify (1:N) thresholds on validation data and set them.

    Verify: ``evaluate.threshold_at_far`` on the distances of validation pairs: either given
    (``pair_a``, ``pair_b``, ``pair_same``), or *every* pair of the validation ``images`` with
    their class ``labels`` (embedded once, distances by ``distances.all_pairs``: a sample of
    pairs resolves a 1% FAR coarsely, all pairs as finely as the classes allow; they are
    streamed a block of rows at a time, never held all at once, see
    :func:`_all_pairs_threshold`). Queries are decoded, embedded and searched
    ``gallery.chunk_size`` at a time. Identify:
    ``evaluate.open_set_threshold_at_far`` on the distance from each validation query of a
    class *outside* the gallery to its nearest gallery item (the open-set false accept).
    Use a gallery of validation classes, never test ones. The identify threshold holds for a
    gallery of this size: a larger gallery offers a stranger more items to come close to, so
    choose it again (on a validation gallery as large) when the gallery grows.

    Args:
        gallery: the :class:`Gallery` (its thresholds are replaced).
        pair_a, pair_b, pair_same: validation pairs (two batches of queries and 1/0 labels);
            or None, with ``images`` and ``labels``.
        unknown_queries: validation queries of classes not in the gallery.
        target_far: the verify FAR, in [0, 1).
        identify_far: the open-set FAR; default ``target_far``.
        images, labels: validation images (any query form) and their integer classes, for
            all pairs instead of given ones.

    Returns:
        ``{"verify": threshold, "identify": threshold}``.

    Raises:
        TypeError, ValueError: as for the evaluate functions and :meth:`Gallery.verify`; both
        or neither of the pairs and ``images``/``labels`` given; no ``unknown_queries``.
    """
    from course_lib import evaluate

    if not isinstance(gallery, Gallery):
        raise TypeError(f"gallery must be a Gallery, got {type(gallery).__name__}")
    given = [v is not None for v in (pair_a, pair_b, pair_same)]
    every = [v is not None for v in (images, labels)]
    if not (all(given) and not any(every)) and not (all(every) and not any(given)):
        raise ValueError("pass either pair_a, pair_b and pair_same, or images and labels (all "
                         "their pairs), not both or parts")
    if unknown_queries is None:
        raise ValueError("unknown_queries is required: validation queries of classes not in "
                         "the gallery")
    if all(given):
        _, d = gallery.verify(pair_a, pair_b)
        verify = evaluate.threshold_at_far(np.atleast_1d(d), pair_same, target_far)
    else:
        y = checks.class_labels(labels, "labels")
        queries = gallery._queries(images, "images")
        if queries.n is not None:
            checks.same_length(y, "labels", range(queries.n), "images")
        emb = queries.embeddings(gallery.encoder, gallery.chunk_size)
        checks.same_length(y, "labels", emb, "images")
        verify = _all_pairs_threshold(emb, y, target_far)
    nearest = [r.distance for r in np.atleast_1d(gallery.identify(unknown_queries, k=1))]
    identify = evaluate.open_set_threshold_at_far(
        nearest, target_far if identify_far is None else identify_far)
    gallery.set_thresholds(verify=verify, identify=identify)
    return {"verify": verify, "identify": identify}


_SELECT_CAP = 1 << 20    # distances gathered at once to pick the k-th smallest exactly
_SELECT_BINS = 4096


def _all_pairs_threshold(emb: np.ndarray, y: np.ndarray, target_far: float,
                         max_bytes: int = distances.DEFAULT_MAX_BYTES) -> float:
    """``evaluate.threshold_at_far`` on every pair ``i < j`` of ``emb`` (different when the
    labels differ), without holding the n (n - 1) / 2 distances.

    The threshold is just below the ``floor(target_far * negatives)``-th smallest
    different-class distance, found exactly by passes over the blocks of
    :meth:`course_lib.distances.Reference.blocks` (the ones ``distances.all_pairs`` uses, so
    the value is the same): when there are few enough candidates they are gathered and
    partitioned; otherwise a histogram of the candidates narrows them to one bin, and so on.
    Memory: one block, the labels and at most ``_SELECT_CAP`` distances.

    Args:
        emb: (n, D) float embeddings.
        y: (n,) integer class labels.
        target_far: the allowed false-accept rate, in [0, 1).
        max_bytes: the memory bound of one block of distances.

    Returns:
        The threshold (a float).

    Raises:
        ValueError: fewer than 2 rows, no different-class pair, ``target_far`` outside [0, 1).
    """
    import warnings

    target = checks.number(target_far, "target_far", 0.0, 1.0, high_open=True)
    ref = distances.Reference(emb, "euclidean", "embeddings")
    n = len(ref)
    if n < 2:
        raise ValueError(f"images must hold at least 2 images to form a pair, got {n}")
    counts = np.unique(y, return_counts=True)[1].astype(np.int64)
    total = n * (n - 1) // 2 - int((counts * (counts - 1) // 2).sum())
    if total == 0:
        raise ValueError("labels name a single class: there is no different-class pair to "
                         "choose the verify threshold on")
    if target * total < 1:
        warnings.warn(f"target_far={target} is below 1/{total}, the resolution of {total} "
                      "different pairs: the threshold admits none of them", stacklevel=3)
    allowed = int(np.floor(target * total + 1e-9))
    columns = np.arange(n)

    def negatives(inside=None):
        """The different-class distances of each block (those ``inside`` accepts)."""
        for lo, block in ref.blocks(max_bytes=max_bytes):
            rows = np.arange(lo, lo + len(block))
            keep = (columns[None, :] > rows[:, None]) & (y[None, :] != y[rows][:, None])
            values = block[keep]
            yield values if inside is None else values[inside(values)]

    if allowed >= total:
        return float(max(v.max() for v in negatives() if len(v)))
    rank, inside, count = allowed, None, total       # the rank-th smallest of those inside
    while True:
        if count <= _SELECT_CAP:
            values = np.concatenate(list(negatives(inside)))
            value = np.partition(values, rank)[rank]
            break
        low = min(v.min() for v in negatives(inside) if len(v))
        high = max(v.max() for v in negatives(inside) if len(v))
        if low == high:                              # all equal: no bin can split them
            value = low
            break
        edges = np.linspace(float(low), float(high), _SELECT_BINS + 1)
        hist = np.zeros(_SELECT_BINS, np.int64)
        for v in negatives(inside):
            hist += np.bincount(np.clip(np.searchsorted(edges, v, "right") - 1, 0,
                                        _SELECT_BINS - 1), minlength=_SELECT_BINS)
        below = np.cumsum(hist) - hist
        j = int(np.searchsorted(np.cumsum(hist), rank, "right"))
        rank, count = rank - int(below[j]), int(hist[j])
        lo_edge, hi_edge, last, outer = edges[j], edges[j + 1], j == _SELECT_BINS - 1, inside

        def inside(v, lo_edge=lo_edge, hi_edge=hi_edge, last=last, outer=outer):
            keep = (v >= lo_edge) & ((v <= hi_edge) if last else (v < hi_edge))
            return keep if outer is None else keep & outer(v)
    return float(np.nextafter(np.float64(value), -np.inf))   # as threshold_at_far (float64)


# --------------------------------------------------------------------------- command line

__all__ += ["main"]


def main(argv=None) -> None:
    """Answer identify queries from a saved export, for another process or machine.

    ``python -m course_lib.gallery EXPORT_DIR PATHS_FILE [--k K] [--batch N] [--search S]``:
    loads the export (:func:`load`, with ``--search brute`` or ``faiss``), reads the query
    file paths from ``PATHS_FILE`` (one per line, UTF-8; blank lines skipped), so any number
    of queries fits (a command line holds a few thousand paths at most), and prints one JSON
    object per query, in order: ``query``, ``answer`` (a class name or ``"unknown"``),
    ``item`` (the nearest gallery item) and ``distance``. Queries are embedded ``--batch`` at
    a time, so memory holds one batch of images.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).

    Raises:
        SystemExit: bad arguments, a missing paths file, or one without paths.
    """
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m course_lib.gallery",
                                     description=main.__doc__.splitlines()[0])
    parser.add_argument("export_dir", help="the folder written by gallery.export")
    parser.add_argument("paths_file", help="a text file of query image paths, one per line")
    parser.add_argument("--k", type=int, default=1, help="candidate classes per query")
    parser.add_argument("--batch", type=int, default=256, help="queries embedded at a time")
    parser.add_argument("--search", choices=sorted(SEARCHES), default="brute",
                        help="nearest-neighbour search (faiss: the optional package)")
    args = parser.parse_args(argv)
    source = Path(args.paths_file)
    if not source.is_file():
        parser.error(f"paths file {source} does not exist")
    if args.batch < 1:
        parser.error(f"--batch must be at least 1, got {args.batch}")
    queries = [line.strip() for line in source.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    if not queries:
        parser.error(f"paths file {source} holds no paths")
    served = load(args.export_dir, search=args.search, chunk_size=args.batch)
    for lo in range(0, len(queries), args.batch):
        chunk = queries[lo:lo + args.batch]
        for path, r in zip(chunk, served.identify(chunk, k=args.k)):
            sys.stdout.write(json.dumps({"query": path, "answer": r.answer, "item": r.item,
                                         "distance": r.distance}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
