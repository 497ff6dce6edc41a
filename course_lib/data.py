"""The course's datasets: MNIST, scikit-learn's 8x8 digits and Omniglot, checked and cached.

Every loader returns plain NumPy arrays (images float32 in [0, 1], labels int64) so the notebooks
can feed them to Keras, scikit-learn or matplotlib alike. Downloaded files are verified against
known checksums, because a silently truncated download would otherwise show up much later as a
model that trains on garbage.

Introduced in notebook 01.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import time
import warnings
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import numpy as np

from course_lib import checks
from course_lib.config import atomic_file, data_dir

__all__ = [
    "LAKE_RUN_ALPHABETS",
    "OMNIGLOT_FILES",
    "OMNIGLOT_URL",
    "LakeRun",
    "OmniglotFile",
    "OmniglotSet",
    "fit_to_box",
    "ink_statistics",
    "load_digits_8x8",
    "load_lake_runs",
    "load_mnist",
    "load_omniglot",
    "omniglot_file",
    "zoom_out",
]

# SHA-256 of the *uncompressed* IDX files (data/mnist/SHA256SUMS.uncompressed), in reading order.
_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
_IDX_UBYTE = 0x08  # IDX type code for unsigned bytes, the only one MNIST uses

OMNIGLOT_URL = "https://raw.githubusercontent.com/brendenlake/omniglot/master/python/"
_OMNIGLOT_SIZE = 105  # side of the original Omniglot PNGs


class OmniglotFile(NamedTuple):
    """One file of the official Omniglot repository (Lake et al. 2015, MIT licence)."""

    path: str  # relative to the repository's python/ folder
    checksum: str | None  # md5 (32 hex digits) or sha256 (64); None when none is known

    @property
    def url(self) -> str:
        """Where the file is downloaded from."""
        return OMNIGLOT_URL + self.path

    @property
    def filename(self) -> str:
        """The file's name in the local cache folder."""
        return PurePosixPath(self.path).name


OMNIGLOT_FILES: dict[str, OmniglotFile] = {
    "background": OmniglotFile("images_background.zip", "68d2efa1b9178cc56df9314c21c6e718"),
    "evaluation": OmniglotFile("images_evaluation.zip", "6b91aef0f799c5bb55b94e3f2daec811"),
    "background_small1": OmniglotFile(
        "images_background_small1.zip",
        "f38eb80f801274ac2b4dff5b24289016bfaba4a7d5bb50deebf27104ad6cb8a4",
    ),
    "background_small2": OmniglotFile(
        "images_background_small2.zip",
        "3ccaa407515a8778e5d0861875af38b17e418f301ad5bb3b5a6b65d901a41c7f",
    ),
    "runs": OmniglotFile(
        "one-shot-classification/all_runs.zip",
        "437c1eeab0af8484112e1b4cc0f3d541ec727f7c47b9b202da738af9dfd6c325",
    ),
}

# Files already verified in this process, keyed by (path, size, mtime) so a replaced file is
# checked again.
_verified: set[tuple[str, int, int]] = set()


# --- checksums ------------------------------------------------------------------------------


def _hexdigest(source: bytes | Path, algorithm: str) -> str:
    """Hex digest of in-memory bytes or of a file (read in chunks, so big files stay cheap)."""
    digest = hashlib.new(algorithm)
    if isinstance(source, bytes):
        digest.update(source)
    else:
        with open(source, "rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _check_checksum(source: bytes | Path, expected: str, name: str) -> None:
    """Raise ValueError unless ``source`` hashes to ``expected`` (md5 if 32 hex digits, else
    sha256 if 64): the one check MNIST and Omniglot share."""
    algorithm = {32: "md5", 64: "sha256"}.get(len(expected))
    if algorithm is None:
        raise ValueError(f"checksum for {name} must be 32 (md5) or 64 (sha256) hex digits")
    actual = _hexdigest(source, algorithm)
    if actual != expected.lower():
        raise ValueError(f"{name} failed its {algorithm} check: got {actual}, expected {expected}")


# --- MNIST ----------------------------------------------------------------------------------


def _read_idx(path: Path, ndim: int, sha256: str) -> np.ndarray:
    """Parse one gzipped IDX file of unsigned bytes with ``ndim`` dimensions, then verify it."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path} is not a complete gzip file ({err})") from err
    if raw[:4] != bytes([0, 0, _IDX_UBYTE, ndim]):
        raise ValueError(
            f"{path} does not start with the IDX magic number of a {ndim}-d uint8 array "
            f"(got {raw[:4].hex()!r}): wrong or damaged file"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} ends inside its IDX header: truncated file")
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    if len(raw) != header + int(np.prod(shape)):
        raise ValueError(
            f"{path} holds {len(raw) - header} data bytes but its header announces shape {shape}: "
            "truncated or damaged file"
        )
    _check_checksum(raw, sha256, str(path))
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@functools.lru_cache(maxsize=2)
def _mnist_uint8(folder: str) -> tuple[np.ndarray, ...]:
    """MNIST as read-only uint8 arrays (x_train, y_train, x_test, y_test), parsed once per folder.

    Reads the IDX files in ``folder`` when all four are there, else asks Keras to download them.
    """
    paths = [Path(folder) / name for name in _MNIST_FILES]
    present = [p.is_file() for p in paths]
    if all(present):
        arrays = tuple(
            _read_idx(path, 3 if "images" in path.name else 1, sha256)
            for path, sha256 in zip(paths, _MNIST_FILES.values(), strict=True)
        )
    elif not any(present):
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        arrays = (x_train, y_train, x_test, y_test)
    else:
        missing = [p.name for p, ok in zip(paths, present, strict=True) if not ok]
        raise FileNotFoundError(f"MNIST in {folder} is incomplete: missing {', '.join(missing)}")
    for array in arrays:
        array.flags.writeable = False
    return arrays


def load_mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST as ``(x_train, y_train), (x_test, y_test)``: x float32 (N, 28, 28) in [0, 1], y int64.

    Reads the checksummed files in ``data_dir()/"mnist"`` (Keras download when absent); each call
    returns fresh arrays, so changing them never corrupts the in-process cache.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: 60,000 and 10,000 examples.

    Raises:
        FileNotFoundError: the folder holds only some of the four files.
        ValueError: a file is truncated or fails its SHA-256 check.
    """
    x_train, y_train, x_test, y_test = _mnist_uint8(str(data_dir() / "mnist"))
    return (
        (_to_unit_float(x_train), y_train.astype(np.int64)),
        (_to_unit_float(x_test), y_test.astype(np.int64)),
    )


def _to_unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 as a new float32 array in [0, 1]."""
    out = images.astype(np.float32)
    out /= 255.0
    return out


def zoom_out(images, scale: float) -> np.ndarray:
    """Each image shrunk by ``scale`` about its centre, on a background of 0.

    MNIST digits fill more of their frame, with thicker strokes, than Omniglot characters at
    the same size (notebook 06 measures both with :func:`ink_statistics`); shrinking a digit
    makes it smaller and its strokes thinner at once.

    Args:
        images: (N, H, W) or (N, H, W, 1) float images, ink > 0 on a background of 0.
        scale: how much smaller, in (0, 1]; 1 returns a copy.

    Returns:
        float32 images of the input's shape: each resized (bilinear, antialiased) to
        ``round(scale * H) x round(scale * W)`` and centred (an odd margin puts the extra row
        or column below or right).

    Raises:
        TypeError, ValueError: ``images`` not a finite array of that shape, ``scale`` outside
            (0, 1].
    """
    x = checks.float_array(images, "images")
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] != 1) or x.shape[0] == 0:
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, 1) with N >= 1, got "
                         f"{x.shape}")
    scale = checks.number(scale, "scale", 0, 1, low_open=True)
    h, w = x.shape[1:3]
    size = (max(1, round(scale * h)), max(1, round(scale * w)))
    import keras

    frames = x[..., None] if x.ndim == 3 else x
    small = keras.ops.convert_to_numpy(keras.ops.image.resize(
        frames.astype(np.float32), size, interpolation="bilinear", antialias=True))
    top, left = (h - size[0]) // 2, (w - size[1]) // 2
    out = np.zeros(frames.shape, np.float32)
    out[:, top:top + size[0], left:left + size[1]] = small
    return out.reshape(x.shape)


def fit_to_box(images, box: int, size: int, threshold: float = 0.5) -> np.ndarray:
    """Each drawing cropped to its ink, scaled to fit a ``box`` x ``box`` square and centred
    in a ``size`` x ``size`` frame: every character drawn at one size, whoever drew it.

    People draw the same character larger or smaller and in different places of the frame;
    MNIST's digits were normalised this way (to a 20x20 box in 28x28) when the set was made.
    The crop is padded to a square (ink centred in it) before resizing, so a character keeps
    its proportions: its longer side becomes ``box`` pixels.

    Args:
        images: square float images (N, H, H), ink > 0 on a background of 0; best at a
            high resolution (Omniglot's 105x105 drawings), as every crop is resized once.
        box: the side of the square a character is fitted into, an int in [1, size].
        size: the side of the returned frame, an int >= 1.
        threshold: a pixel above it counts as ink when finding the crop, in [0, 1).

    Returns:
        float32 images (N, size, size); a blank drawing stays blank.

    Raises:
        TypeError, ValueError: ``images`` not a finite array of square images, ``box`` or
            ``size`` not ints in range, a threshold outside [0, 1).
    """
    x = checks.float_array(images, "images")
    if x.ndim != 3 or x.shape[1] != x.shape[2] or x.shape[0] == 0:
        raise ValueError(f"images must be square images (N, H, H) with N >= 1, got {x.shape}")
    size = checks.positive_int(size, "size")
    box = _check_box(box, size, "size")
    threshold = checks.number(threshold, "threshold", 0, 1, high_open=True)
    import keras

    out = np.zeros((x.shape[0], size, size), np.float32)
    lo = (size - box) // 2
    for i, image in enumerate(x):
        ink = image > threshold
        if not ink.any():
            continue
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        crop = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        h, w = crop.shape
        side = max(h, w)
        square = np.zeros((side, side, 1), np.float32)
        square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w, 0] = crop
        out[i, lo:lo + box, lo:lo + box] = keras.ops.convert_to_numpy(keras.ops.image.resize(
            square, (box, box), interpolation="area"))[..., 0]
    return out


def ink_statistics(images, threshold: float = 0.5) -> dict[str, float]:
    """How much of its frame a set of images inks, on average.

    Args:
        images: (N, H, W) or (N, H, W, 1) float images, ink > 0 on a background of 0.
        threshold: a pixel above it counts as ink.

    Returns:
        ``{"ink": share of pixels inked, "height": rows, "width": columns}``: means over the
        images; height (width) counts the rows (columns) of an image that hold any ink, so a
        gap between two parts of a drawing is not counted (0 for a blank image).

    Raises:
        TypeError, ValueError: ``images`` not a finite array of that shape, a threshold
            outside [0, 1).
    """
    x = checks.float_array(images, "images")
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[0] == 0:
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, 1) with N >= 1, got "
                         f"{np.shape(images)}")
    threshold = checks.number(threshold, "threshold", 0, 1, high_open=True)
    ink = x > threshold
    return {"ink": float(ink.mean()), "height": float(ink.any(axis=2).sum(axis=1).mean()),
            "width": float(ink.any(axis=1).sum(axis=1).mean())}


# --- scikit-learn digits --------------------------------------------------------------------


def load_digits_8x8() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten 8x8 digits, tiny and shipped with scikit-learn (offline).

    Returns:
        ``(x, y)``: x float32 (1797, 8, 8) in [0, 1], y int64 digit labels.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype(np.float32), digits.target.astype(np.int64)


# --- Omniglot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OmniglotSet:
    """Omniglot images with their labels; ``character`` ids are unique across alphabets.

    Args:
        images: float32 (N, size, size), ink 1 on background 0.
        alphabet: int64 (N,), index into ``alphabet_names``.
        character: int64 (N,), index into ``character_names``.
        drawer: int64 (N,), which of the 20 people drew it (1-based, from the file name).
        alphabet_names: the alphabets' names.
        character_names: ``"Alphabet/characterNN"`` for each character id.
    """

    images: np.ndarray  # float32 (N, size, size), ink 1, background 0
    alphabet: np.ndarray  # int64 (N,), index into alphabet_names
    character: np.ndarray  # int64 (N,), index into character_names
    drawer: np.ndarray  # int64 (N,), which of the 20 people drew it (1-based, from the file name)
    alphabet_names: list[str]
    character_names: list[str]  # "Alphabet/characterNN"


class LakeRun(NamedTuple):
    """One run of Lake et al.'s 20-way one-shot task: match each test item to a training class."""

    train_images: np.ndarray  # float32 (n_classes, size, size): one drawing per candidate class
    test_images: np.ndarray  # float32 (n_test, size, size)
    answers: np.ndarray  # int64 (n_test,): index into train_images of each test item's class


def _check_split(split: object) -> OmniglotFile:
    """The table entry for ``split``, or a ValueError/TypeError listing the valid names."""
    valid = ", ".join(repr(name) for name in OMNIGLOT_FILES)
    if not isinstance(split, str):
        raise TypeError(f"split must be a str, one of {valid}; got {type(split).__name__}")
    if split not in OMNIGLOT_FILES:
        raise ValueError(f"unknown Omniglot split {split!r}; valid names are {valid}")
    return OMNIGLOT_FILES[split]


def _check_box(box: object, frame: int, frame_name: str = "image_size") -> int:
    """``box`` as an int in [1, frame], or a TypeError/ValueError naming it and the frame
    argument (``frame_name``)."""
    box = checks.integer(box, "box", minimum=1)
    if box > frame:
        raise ValueError(f"box must be at most {frame_name}={frame}, got {box}")
    return box


def _check_image_size(image_size: object) -> int:
    """``image_size`` as an int in [8, 105]: TypeError for a non-int, ValueError outside."""
    return checks.integer(image_size, "image_size", 8, _OMNIGLOT_SIZE)


def _fetch(url: str, dest: Path, checksum: str | None) -> Path:
    """Download ``url`` to ``dest`` with ``keras.utils.get_file``, which shows a progress bar
    and checks ``checksum`` (md5 or sha256, told apart by length) when one is known.

    ``force_download`` so that a stale ``dest`` (an interrupted earlier download) is never
    taken for the file. Returns where the file was written (Keras falls back to
    ``/tmp/.keras`` when ``dest``'s folder is not writable). Raises ValueError when the
    download fails the checksum, and whatever Keras raises when it cannot download (a bare
    ``Exception`` for URL errors).
    """
    import keras

    return Path(keras.utils.get_file(fname=dest.name, origin=url, file_hash=checksum,
                                     cache_dir=str(dest.parent), cache_subdir="",
                                     force_download=True))


def _verify_omniglot(path: Path, info: OmniglotFile) -> None:
    """Check a cached zip once per process; a bad one is deleted so the next call downloads it."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _verified:
        return
    try:
        if info.checksum is None:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
            if bad is not None:
                raise ValueError(f"{path}: member {bad} fails its CRC check")
            warnings.warn(
                f"no checksum is known for {info.filename}; only checked that it is a readable zip",
                stacklevel=3,
            )
        else:
            _check_checksum(path, info.checksum, str(path))
    except (ValueError, zipfile.BadZipFile) as err:
        path.unlink()
        raise ValueError(
            f"{err}. The file was corrupt or truncated and has been deleted; call again to "
            f"download it afresh, or put a good copy of {info.url} at {path}"
        ) from None
    _verified.add(key)


def omniglot_file(split: str) -> Path:
    """The verified zip of one Omniglot split, downloaded first if not in the cache.

    The download goes through ``keras.utils.get_file`` (progress bar, md5/sha256 check) into
    a partial file of its own (``<name>.<pid>-<time>.part``), renamed only when complete, so
    that no other file is overwritten or deleted; every file, cached or fresh, then passes the
    one check of this module, which deletes a bad file and says so.

    Args:
        split: a key of ``OMNIGLOT_FILES`` (``"background"``, ``"background_small1"``, ...,
            ``"runs"``).

    Returns:
        Its path in ``data_dir()/"omniglot"``.

    Raises:
        TypeError: ``split`` is not a str. ValueError: unknown split, or a corrupt file
            (deleted, never loaded).
        FileNotFoundError: not cached and the download failed (offline): the message names the
            file and where to put it.
    """
    info = _check_split(split)
    folder = data_dir() / "omniglot"
    path = folder / info.filename
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        # a name of this download's own: a "<name>.part" left by someone else is never touched
        partial = path.with_name(f"{path.name}.{os.getpid()}-{time.time_ns()}.part")
        print(f"Downloading {info.url} -> {path}")
        try:
            written = _fetch(info.url, partial, info.checksum)
        except ValueError:
            if not partial.is_file():
                raise
            # Keras's checksum refused the download: move it in place so that the one check
            # below reports it (with the digests) and deletes it, as for a bad cached file.
            written = partial
        except Exception as err:  # noqa: BLE001 (Keras raises a bare Exception offline)
            partial.unlink(missing_ok=True)
            raise FileNotFoundError(
                f"Omniglot file {info.filename} is not cached and could not be downloaded from "
                f"{info.url} ({err}). Without network access, download it by hand and save it "
                f"as {path}"
            ) from err
        os.replace(written, path)
    _verify_omniglot(path, info)
    return path


def _decode_png(data: bytes, image_size: int) -> np.ndarray:
    """One Omniglot PNG (black strokes on white) as uint8 ink 0..255, area-resized to size."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        ink = Image.fromarray(255 - np.asarray(image.convert("L")))
    if ink.size != (image_size, image_size):
        ink = ink.resize((image_size, image_size), Image.Resampling.BOX)
    return np.asarray(ink, dtype=np.uint8)


def _decode_omniglot(zip_path: Path, image_size: int) -> dict[str, np.ndarray]:
    """Every ``<alphabet>/<character>/<id>_<drawer>.png`` in the zip, sorted, with its labels."""
    with zipfile.ZipFile(zip_path) as archive:
        entries = []
        for name in archive.namelist():
            parts = PurePosixPath(name).parts
            if name.endswith(".png") and len(parts) >= 3:
                entries.append((parts[-3], parts[-2], parts[-1], name))
        if not entries:
            raise ValueError(f"{zip_path} contains no <alphabet>/<character>/*.png images")
        entries.sort()
        images = np.stack([_decode_png(archive.read(e[3]), image_size) for e in entries])
    alphabets = sorted({e[0] for e in entries})
    characters = sorted({e[:2] for e in entries})
    alphabet_id = {name: i for i, name in enumerate(alphabets)}
    character_id = {key: i for i, key in enumerate(characters)}
    drawers = []
    for *_, filename, name in entries:
        suffix = PurePosixPath(filename).stem.rpartition("_")[2]
        if not suffix.isdigit():
            raise ValueError(f"{zip_path}: cannot read a drawer number from {name}")
        drawers.append(int(suffix))
    return {
        "images": images,
        "alphabet": np.array([alphabet_id[e[0]] for e in entries], dtype=np.int64),
        "character": np.array([character_id[e[:2]] for e in entries], dtype=np.int64),
        "drawer": np.array(drawers, dtype=np.int64),
        "alphabet_names": np.array(alphabets),
        "character_names": np.array([f"{a}/{c}" for a, c in characters]),
    }


def _read_cache(cache: Path, source_sha256: str) -> dict[str, np.ndarray] | None:
    """The arrays in ``cache`` if it exists, is readable and was built from this exact zip."""
    try:
        with np.load(cache) as stored:
            if str(stored["source_sha256"]) != source_sha256:
                return None
            return {key: stored[key] for key in stored.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def load_omniglot(split: str, image_size: int = 105, box: int | None = None) -> OmniglotSet:
    """One Omniglot image split (e.g. ``"background_small1"``) as an OmniglotSet, ink 1 on 0.

    Decoded once, then cached as ``<zip name>_<size>.npz`` beside the zip; the cache stores the
    zip's sha256 and is rebuilt when the zip changes.

    Args:
        split: an image split of ``OMNIGLOT_FILES`` (not ``"runs"``).
        image_size: side of the returned images, an int in [8, 105]: the drawings area-resized
            from 105x105, or, with ``box``, fitted into the frame.
        box: None, or every drawing fitted to a ``box`` x ``box`` square centred in its
            ``image_size`` frame (:func:`fit_to_box` on the 105x105 drawings), an int in
            [1, image_size].

    Returns:
        An :class:`OmniglotSet`.

    Raises:
        TypeError: ``split``, ``image_size`` or ``box`` of the wrong type.
        ValueError: unknown split, ``"runs"``, a size outside [8, 105], a box outside
            [1, image_size], or a malformed zip.
        FileNotFoundError: see :func:`omniglot_file`.
    """
    info = _check_split(split)
    if split == "runs":
        raise ValueError("split 'runs' holds the one-shot task: load it with load_lake_runs()")
    image_size = _check_image_size(image_size)
    if box is not None:
        box = _check_box(box, image_size)
        om = load_omniglot(split, 105)
        return replace(om, images=fit_to_box(om.images, box, image_size))
    zip_path = omniglot_file(split)
    source_sha256 = _hexdigest(zip_path, "sha256")
    cache = zip_path.with_name(f"{PurePosixPath(info.filename).stem}_{image_size}.npz")
    arrays = _read_cache(cache, source_sha256)
    if arrays is None:
        arrays = _decode_omniglot(zip_path, image_size)
        with atomic_file(cache) as partial, open(partial, "wb") as out:
            np.savez_compressed(out, source_sha256=np.array(source_sha256), **arrays)
    return OmniglotSet(
        images=_to_unit_float(arrays["images"]),
        alphabet=arrays["alphabet"].astype(np.int64),
        character=arrays["character"].astype(np.int64),
        drawer=arrays["drawer"].astype(np.int64),
        alphabet_names=[str(name) for name in arrays["alphabet_names"]],
        character_names=[str(name) for name in arrays["character_names"]],
    )


def _answers(labels: str, train: list[str], test: list[str], where: str) -> np.ndarray:
    """Parse class_labels.txt (lines ``runNN/test/itemMM.png runNN/training/classKK.png``) into
    the index in ``train`` of each item of ``test``."""
    truth = {}
    for line in labels.splitlines():
        fields = line.split()
        if len(fields) != 2:
            if fields:
                raise ValueError(f"{where}: expected 'test_image training_image', got {line!r}")
            continue
        truth[fields[0]] = fields[1]
    answers = []
    for item in test:
        if truth.get(item) not in train:
            raise ValueError(f"{where} names no training image for {item}")
        answers.append(train.index(truth[item]))
    return np.array(answers, dtype=np.int64)


#: The evaluation alphabet of each of Lake's 20 runs, in run order: 2 runs for each of 10
#: alphabets (established by matching the run images to ``images_evaluation``; jvlmdr/omniglot-eval,
#: ``lake-evaluation/run_alphabets.txt``). An interval over the runs must cluster by alphabet.
LAKE_RUN_ALPHABETS = tuple(name for name in (
    "Atlantean", "Ge_ez", "Glagolitic", "Gurmukhi", "Kannada", "Malayalam", "Manipuri",
    "Old_Church_Slavonic_(Cyrillic)", "Tengwar", "Tibetan") for _ in range(2))


def load_lake_runs(image_size: int = 105, box: int | None = None) -> list[LakeRun]:
    """The 20 runs of Lake et al.'s 20-way one-shot classification benchmark (``all_runs.zip``).

    Args:
        image_size: side of the returned images, an int in [8, 105]: area-resized from
            105x105, or, with ``box``, fitted into the frame.
        box: None, or every drawing fitted to a ``box`` x ``box`` square centred in its
            ``image_size`` frame (:func:`fit_to_box`, as :func:`load_omniglot` does), an int
            in [1, image_size].

    Returns:
        A list of :class:`LakeRun` in run order, images ink 1 on 0.

    Raises:
        TypeError: ``image_size`` or ``box`` is not an int. ValueError: a size outside
            [8, 105], a box outside [1, image_size], or a malformed zip.
        FileNotFoundError: see :func:`omniglot_file`.
    """
    image_size = _check_image_size(image_size)
    if box is not None:
        box = _check_box(box, image_size)
        return [LakeRun(fit_to_box(r.train_images, box, image_size),
                        fit_to_box(r.test_images, box, image_size), r.answers)
                for r in load_lake_runs(105)]
    zip_path = omniglot_file("runs")
    runs = []
    with zipfile.ZipFile(zip_path) as archive:
        names = sorted(archive.namelist())
        run_dirs = [n.rpartition("/")[0] for n in names if n.endswith("/class_labels.txt")]
        if not run_dirs:
            raise ValueError(f"{zip_path} contains no <run>/class_labels.txt")

        def images(prefix: str) -> tuple[list[str], np.ndarray]:
            members = [n for n in names if n.startswith(prefix) and n.endswith(".png")]
            decoded = [_decode_png(archive.read(n), image_size) for n in members]
            return members, _to_unit_float(np.stack(decoded))

        for run in run_dirs:
            train, train_images = images(f"{run}/training/")
            test, test_images = images(f"{run}/test/")
            labels = archive.read(f"{run}/class_labels.txt").decode()
            answers = _answers(labels, train, test, f"{zip_path}:{run}/class_labels.txt")
            runs.append(LakeRun(train_images, test_images, answers))
    return runs
