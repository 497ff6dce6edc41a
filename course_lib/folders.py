"""Your own images: a folder with one subfolder per class, loaded in memory or read on the fly.

The layout is the one ``keras.utils.image_dataset_from_directory`` reads::

    directory/
        class_a/  img001.png  img002.jpg ...
        class_b/  ...

Class ids follow the sorted subfolder names, which are kept as ``class_names``. Files are
searched recursively inside each class folder; hidden files and folders (names starting with
``.``) are ignored. Anything else that cannot be used is reported by name in one warning and
skipped: files that are not PNG/JPEG/GIF/BMP/WebP (HEIC photos with the advice to convert
them, e.g. with the optional pillow-heif package), files that TensorFlow's decoder cannot decode,
classes left with fewer than ``min_per_class`` images (a class with one image gives no positive
pair), and class folders that are symbolic links to another folder inside the same tree (their
images would be read twice, as two classes). Images of mixed sizes are resized to the chosen
size, and a warning says so once. Every format decodes in both colour modes (GIF, BMP and WebP,
which TensorFlow only decodes to RGB, are converted to grayscale after decoding). EXIF orientation
tags are applied (a phone photo stored sideways is read upright; sizes are counted as read, after
the tag; a tag outside 1-8 or damaged EXIF data is read as stored, and one warning names those
files), and ``aspect`` chooses how an image of another aspect ratio is fitted: stretched,
centre-cropped or padded.
:func:`make_demo_photo_folder` writes a synthetic folder of "own photos" to try all this on.

:func:`load_image_folder` decodes everything into one array (small data);
:func:`scan_image_folder` + :func:`path_pk_dataset` keep only the file paths in memory and
decode each P x K batch on the fly (data that does not fit in memory), with the sampling of
:mod:`course_lib.pk_sampling`; :func:`path_batches` reads a list of files in order, a batch at
a time (to embed a validation or test set). All decode with :func:`decode_image`, so the
pixels agree, and a file that turns out damaged while a ``tf.data`` pipeline of this module
reads it stops it with an error naming the file relative to its folder (``cats/IMG_001.jpg``),
not the decoder's ``jpeg::Uncompress failed`` alone.
:func:`cache_images` is the fast route for photos: it decodes each file once, with
:func:`decode_image`, stores the result as one uint8 ``.npy`` file at the training size, and maps
it from disk afterwards, so later epochs and later runs read pixels instead of decoding photos.
Every loader decodes a JPEG much larger than the target size at reduced scale (libjpeg's 1/2,
1/4 or 1/8, leaving at least twice the target size; see :func:`decode_image`), and the scan
checks JPEGs at 1/8 scale, so a folder of phone photos costs a fraction of full decodes;
:func:`estimate_first_pass` times a sample of a folder's files and says how long the scan and
the cache will take before either starts.

Introduced in notebook 08.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import tensorflow as tf

from course_lib import checks, config, data, distances
from course_lib.pk_sampling import PKSampler
from course_lib.sampling import seeded_batches

__all__ = [
    "HEIC_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "ImageFolder",
    "cache_images",
    "cached_batches",
    "LoadedImages",
    "DEMO_MARKER",
    "assert_on_demo",
    "FirstPassEstimate",
    "decode_image",
    "estimate_first_pass",
    "fit_image",
    "is_demo_folder",
    "load_image_folder",
    "make_demo_photo_folder",
    "NearDuplicates",
    "near_duplicates",
    "omniglot_folder",
    "path_batches",
    "path_pk_dataset",
    "read_images",
    "scan_image_folder",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
# HEIC/HEIF (iPhone photos): TensorFlow's decoder cannot read them, so they are named with
# this advice instead of a bare "not an image type".
HEIC_EXTENSIONS = (".heic", ".heif")
HEIC_ADVICE = ("a HEIC photo, which TensorFlow cannot decode: convert it to JPEG first, e.g. "
               "with the optional pillow-heif package (pip install pillow-heif; then "
               "pillow_heif.register_heif_opener() lets PIL open it and save it as .jpg)")
_COLOR_MODES = {"grayscale": 1, "rgb": 3}
_CACHE_VERSION = 2    # bump when cache_images' pixels change, so old caches are not reused
_LISTED = 20          # names listed in a warning before "and N more"


@dataclass(frozen=True, eq=False)
class ImageFolder:
    """The usable files of a class-per-subfolder image folder.

    Attributes:
        directory: the folder scanned.
        paths: (N,) array of file paths (str), sorted by class then name.
        labels: (N,) int64 class ids, indices into ``class_names``.
        class_names: the kept classes' folder names, sorted.
        skipped_files: ``{path: reason}`` for each file left out.
        skipped_classes: ``{class folder name: reason}`` for each class left out.
        sizes: ``Counter`` of the readable images' (height, width) as read (after their EXIF
            orientation), when the files were checked.
    """

    directory: Path
    paths: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    skipped_files: dict
    skipped_classes: dict
    sizes: Counter


@dataclass(frozen=True, eq=False)
class LoadedImages:
    """Images decoded into memory.

    Attributes:
        images: (N, height, width, channels) float32 in [0, 1].
        labels: (N,) int64 class ids, indices into ``class_names``.
        class_names: the classes' folder names.
        paths: (N,) the file each image came from.
        skipped_files: ``{path: reason}`` for each file left out.
        skipped_classes: ``{class folder name: reason}`` for each class left out.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    paths: np.ndarray
    skipped_files: dict
    skipped_classes: dict


# --------------------------------------------------------------------------- arguments


def _image_size(image_size) -> tuple[int, int]:
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if not isinstance(image_size, (tuple, list)) or len(image_size) != 2:
        raise TypeError(f"image_size must be an int or a (height, width) pair, got {image_size!r}")
    return (checks.positive_int(image_size[0], "image_size[0]"),
            checks.positive_int(image_size[1], "image_size[1]"))


def _channels(color_mode: str) -> int:
    return _COLOR_MODES[checks.one_of(color_mode, "color_mode", _COLOR_MODES)]


def _usable(n: int) -> str:
    return f"{n} usable image" + ("" if n == 1 else "s")


def _relative(path, root: Path) -> str:
    """``path`` relative to the scanned folder, so messages carry no machine's folder names."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _listing(items: dict) -> str:
    names = [f"{name} ({reason})" for name, reason in list(items.items())[:_LISTED]]
    more = f"; and {len(items) - _LISTED} more" if len(items) > _LISTED else ""
    return "; ".join(names) + more


# --------------------------------------------------------------------------- scanning


def _class_folders(directory) -> tuple[Path, list[Path], dict[str, str]]:
    """The folder, its class subfolders (sorted), and ``{name: reason}`` of the linked ones left
    out: a class folder that is a symbolic link into the tree itself would read the images of
    another class (or of the whole tree) again as a new class."""
    checks.path(directory, "directory")
    root = Path(directory)
    if not root.exists():
        raise FileNotFoundError(f"directory {root} does not exist")
    if not root.is_dir():
        raise ValueError(f"directory {root} is a file; expected a folder with one subfolder "
                         "per class")
    entries = [p for p in root.iterdir() if not p.name.startswith(".")]
    folders = sorted(p for p in entries if p.is_dir())
    links = {}
    inside = root.resolve()
    for p in folders:
        target = p.resolve()
        if p.is_symlink() and (target == inside or inside in target.parents):
            links[p.name] = f"a link to {_relative(target, inside) or '.'}/ inside the folder"
    folders = [p for p in folders if p.name not in links]
    if not folders:
        loose = [p.name for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS]
        hint = (f" (it holds {len(loose)} images directly, e.g. {loose[0]}: move them into "
                "one subfolder per class)" if loose else "")
        raise ValueError(f"directory {root} has no class subfolders{hint}; expected "
                         f"{root}/<class name>/<image files>")
    return root, folders, links


def _files(folder: Path) -> list[Path]:
    out = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [Path(here) / n for n in sorted(names) if not n.startswith(".")]
    return out


def _decode_error(err: tf.errors.OpError) -> str:
    """TensorFlow's decoder message without its op and function names."""
    text = err.message.splitlines()[0] if err.message else type(err).__name__
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", text)
    return re.sub(r"\s*\[Op:\w+\](\s*name:.*)?", "", text).strip()


def _check_decodes(path: Path) -> tuple[tuple[int, int], str | None]:
    """(height, width) of an image file as training sees it: decoded with TensorFlow's decoder
    (the one training uses, so a truncated file is caught here), then turned by its EXIF
    orientation (5-8 swap height and width); also what is wrong with its EXIF data (see
    :func:`_read_orientation`). Raises OSError if it cannot be decoded.

    A JPEG is decoded at 1/8 scale (libjpeg's scaled decoding): every byte of its compressed
    data is still read and entropy-decoded, so a truncated or damaged file fails as it would
    at full size, but the inverse transforms and the pixels to write are 64 times fewer; its
    size comes from its header. Other formats are decoded whole."""
    try:
        contents = tf.io.read_file(str(path))
        if contents.numpy()[:3] == _JPEG_MAGIC:
            tf.io.decode_jpeg(contents, ratio=_JPEG_RATIOS[0])
            h, w = (int(s) for s in tf.io.extract_jpeg_shape(contents)[:2])
        else:
            image = tf.io.decode_image(contents, channels=0, expand_animations=False)
            h, w = (int(s) for s in image.shape[:2])
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as err:
        raise OSError(f"unreadable: {_decode_error(err)}") from err
    orientation, problem = _read_orientation(contents.numpy())
    return ((w, h) if orientation >= 5 else (h, w)), problem


def scan_image_folder(directory, min_per_class: int = 2, check_files: bool = True,
                      warn: bool = True) -> ImageFolder:
    """List a class-per-subfolder image folder, decoding each file once to check it
    (``check_files=True``, the default) or only listing the names (``check_files=False``).

    Args:
        directory: the folder (str or Path).
        min_per_class: classes with fewer usable images are skipped (>= 1; 2 for pairs).
        check_files: decode each file with the decoder training uses, so that broken or
            truncated files are skipped now rather than failing a training run later (a JPEG
            at 1/8 scale: all of its data is read and entropy-decoded, which catches a
            truncated file, at a fraction of a full decode's cost); also
            collects the image sizes to report mixed sizes. With False only the names are
            listed (nothing is opened) and a broken file fails where it is decoded.
        warn: emit the warnings (skipped files and classes, mixed sizes).

    Returns:
        An :class:`ImageFolder`.

    Raises:
        TypeError: ``directory`` not a path; ``check_files`` or ``warn`` not a bool.
        FileNotFoundError: ``directory`` does not exist.
        ValueError: a file instead of a folder, no class subfolders, or fewer than 2 classes
            left with ``min_per_class`` usable images.
    """
    min_per_class = checks.positive_int(min_per_class, "min_per_class")
    check_files = checks.boolean(check_files, "check_files")
    warn = checks.boolean(warn, "warn")
    root, folders, links = _class_folders(directory)
    skipped_files, skipped_classes, sizes, exif = {}, dict(links), Counter(), {}
    kept: list[tuple[str, list[str]]] = []
    for folder in folders:
        good = []
        for path in _files(folder):
            if path.suffix.lower() in HEIC_EXTENSIONS:
                skipped_files[str(path)] = HEIC_ADVICE
                continue
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                skipped_files[str(path)] = f"not an image type read here ({path.suffix or 'no extension'})"
                continue
            if check_files:
                try:
                    size, problem = _check_decodes(path)
                except OSError as err:
                    skipped_files[str(path)] = str(err)
                    continue
                sizes[size] += 1
                if problem:
                    exif[str(path)] = problem
            good.append(str(path))
        if len(good) < min_per_class:
            skipped_classes[folder.name] = _usable(len(good))
        else:
            kept.append((folder.name, good))
    if warn:
        _warn_skipped(skipped_files, skipped_classes, min_per_class, root)
        _warn_exif(exif, root)
        if len(sizes) > 1:
            common = ", ".join(f"{h}x{w}: {n}" for (h, w), n in sizes.most_common(3))
            warnings.warn(f"images in {root.name}/ come in {len(sizes)} sizes (height x width: {common}"
                          f"{', ...' if len(sizes) > 3 else ''}); each is resized to image_size "
                          "when decoded", stacklevel=2)
    if len(kept) < 2:
        raise ValueError(f"directory {root} has {len(kept)} class(es) with at least "
                         f"{min_per_class} usable images; a Siamese network needs at least 2 "
                         f"classes (skipped: {_listing(skipped_classes) or 'none'})")
    paths = np.array([p for _, files in kept for p in files])
    labels = np.concatenate([np.full(len(files), i, np.int64) for i, (_, files) in enumerate(kept)])
    return ImageFolder(root, paths, labels, tuple(name for name, _ in kept), skipped_files,
                       skipped_classes, sizes)


def _warn_skipped(files: dict, classes: dict, min_per_class: int, root: Path) -> None:
    """One warning for the skipped files (named relative to ``root``), one for the classes."""
    if files:
        named = {_relative(path, root): why for path, why in files.items()}
        warnings.warn(f"skipped {len(files)} file(s) in {root.name}/: {_listing(named)}",
                      stacklevel=3)
    small = {name: why for name, why in classes.items() if "inside the folder" not in why}
    if small:
        warnings.warn(f"skipped {len(small)} class folder(s) with fewer than {min_per_class} "
                      f"usable images: {_listing(small)}", stacklevel=3)
    linked = {name: why for name, why in classes.items() if name not in small}
    if linked:
        warnings.warn(f"skipped {len(linked)} class folder(s) that are symbolic links into "
                      f"{root.name}/ (their images would count twice): {_listing(linked)}",
                      stacklevel=3)


def _warn_exif(problems: dict, root: Path) -> None:
    """One warning for the files whose EXIF data is invalid or damaged (kept, named relative
    to ``root``)."""
    if problems:
        named = {_relative(path, root): why for path, why in problems.items()}
        warnings.warn(f"{len(problems)} file(s) in {root.name}/ have EXIF data that cannot be "
                      f"used as it is (kept): {_listing(named)}", stacklevel=3)


# --------------------------------------------------------------------------- decoding


def decode_image(path, image_size=(64, 64), color_mode: str = "grayscale",
                 aspect: str = "stretch") -> tf.Tensor:
    """Read and decode one image file to (height, width, channels) float32 in [0, 1].

    Works eagerly and inside ``tf.data`` (``path`` a string tensor). Bilinear resizing with
    antialiasing when the file's size differs; GIFs give their first frame. GIF, BMP and WebP
    files, which TensorFlow decodes to RGB only, are converted to grayscale in ``"grayscale"``
    mode. A HEIC photo (``.heic``) raises a ValueError that names it and says how to convert it.
    An EXIF orientation tag (phone photos stored sideways) is applied before resizing, as
    ``PIL.ImageOps.exif_transpose`` does.

    A JPEG much larger than ``image_size`` is decoded at reduced scale: libjpeg decodes 1/2,
    1/4 or 1/8 of each side directly, far faster than a full decode followed by a resize of
    millions of pixels, and the largest such scale-down is used that leaves the shorter side
    at least twice the larger side of ``image_size`` (so a 4000 x 3000 photo meant for 64 x 64
    is decoded at 500 x 375, then resized). The scaled decode still reads all the data, so a
    truncated JPEG fails as it would at full size. Pillow's ``Image.thumbnail`` does the same
    (its ``draft()`` decode with ``reducing_gap=2.0``). Pixels then differ from a full-size
    decode by about what two resampling filters differ by; every loader of this module
    decodes the same way, so training, cache and queries agree.

    Args:
        path: the file path (str or scalar string tensor).
        image_size: int or (height, width).
        color_mode: ``"grayscale"`` (1 channel) or ``"rgb"`` (3 channels).
        aspect: how an image of another aspect ratio is fitted, as Keras's folder loader
            offers: ``"stretch"`` (resized to the size, shapes squashed), ``"crop"`` (the
            largest central crop of the target aspect ratio, then resized: Keras's
            ``crop_to_aspect_ratio``) or ``"pad"`` (resized to fit inside, then padded with
            black: ``pad_to_aspect_ratio``).

    Returns:
        A float32 tensor of shape (height, width, channels).

    Raises:
        TypeError, ValueError: bad ``image_size`` or ``color_mode``; called eagerly on an
        unreadable file, a ValueError naming it.
        FileNotFoundError: called eagerly on a missing file.
        tf.errors.InvalidArgumentError / NotFoundError: the same inside a ``tf.data`` map of
        your own (a graph op cannot name its file); the pipelines of this module
        (:func:`path_pk_dataset`, :func:`path_batches`) raise an error that names it.
    """
    size, channels = _image_size(image_size), _channels(color_mode)
    aspect = _aspect(aspect)
    if isinstance(path, (str, os.PathLike)) and tf.executing_eagerly():
        return _decode_file(path, size, channels, aspect, path)
    return _to_float(_decode_oriented(tf.io.read_file(path), channels, size), size, channels,
                     aspect)


def _decode_file(path, size, channels: int, aspect: str, shown) -> tf.Tensor:
    """:func:`decode_image` of one file, eagerly; errors name it as ``shown``."""
    if Path(path).suffix.lower() in HEIC_EXTENSIONS:
        raise ValueError(f"image file {shown} is {HEIC_ADVICE}")
    try:
        return _to_float(_decode_oriented(tf.io.read_file(str(path)), channels, size), size,
                         channels, aspect)
    except tf.errors.NotFoundError as err:
        raise FileNotFoundError(f"image file {shown} does not exist") from err
    except tf.errors.InvalidArgumentError as err:
        raise ValueError(f"image file {shown} cannot be decoded: {_decode_error(err)}") from err


_ASPECTS = ("stretch", "crop", "pad")


def _aspect(aspect) -> str:
    if not isinstance(aspect, str):
        raise TypeError(f"aspect must be one of {_ASPECTS}, got {type(aspect).__name__}")
    return checks.one_of(aspect, "aspect", _ASPECTS)


_EXIF_LOCK = threading.Lock()


def _read_orientation(contents: bytes) -> tuple[int, str | None]:
    """The EXIF orientation (1-8) to apply to an encoded image, 1 when it has none, and what is
    wrong when its EXIF data cannot be used as it is (None when nothing is): an orientation
    outside 1-8, or EXIF data that PIL reads only in part. PIL reads the header only; its own
    warnings are kept here (they cannot name the file) and returned as the problem. Anything
    PIL cannot open gives 1: TensorFlow's decoder, which training uses, reports such files."""
    import io

    from PIL import Image
    if isinstance(contents, np.ndarray):           # tf.numpy_function passes a 0-d array
        contents = contents.item()
    # tf.data calls this from several threads; warnings.catch_warnings swaps process-wide
    # state, so one thread at a time (reading a header is quick).
    with _EXIF_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with Image.open(io.BytesIO(contents)) as image:
                value = image.getexif().get(_EXIF_ORIENTATION, 1)
        except Exception:                          # noqa: BLE001 - never fails a decode
            return 1, None
    if not isinstance(value, (int, np.integer)) or not 1 <= value <= 8:
        return 1, f"EXIF orientation {value!r} is not 1-8: read as stored"
    if caught:
        text = " ".join(str(caught[0].message).split())
        return int(value), f"damaged EXIF data ({text}): orientation {value} used"
    return int(value), None


def _exif_orientation(contents: bytes) -> np.int32:
    """The EXIF orientation tag (1-8) of an encoded image, 1 when it has none or an invalid one
    (see :func:`_read_orientation`)."""
    return np.int32(_read_orientation(contents)[0])


def _orient(raw: tf.Tensor, orientation) -> tf.Tensor:
    """Apply an EXIF orientation (1-8) to (h, w, c) pixels, as ``ImageOps.exif_transpose``."""
    def transpose(x):
        return tf.transpose(x, [1, 0, 2])

    branches = [lambda: raw,                                   # 1 (and unknown): as stored
                lambda: raw[:, ::-1],                          # 2: mirrored
                lambda: raw[::-1, ::-1],                       # 3: upside down
                lambda: raw[::-1],                             # 4: mirrored vertically
                lambda: transpose(raw),                        # 5: transposed
                lambda: tf.image.rot90(raw, 3),                # 6: turn 90 degrees clockwise
                lambda: transpose(raw)[::-1, ::-1],            # 7: transversed
                lambda: tf.image.rot90(raw, 1)]                # 8: turn 90 anticlockwise
    return tf.switch_case(tf.clip_by_value(orientation - 1, 0, 7), branches)


_JPEG_MAGIC = b"\xff\xd8\xff"     # how TensorFlow's decode_image recognises a JPEG
_JPEG_RATIOS = (8, 4, 2, 1)        # the scale-downs libjpeg decodes directly (1/8 ... 1/1)
# A JPEG is decoded at reduced scale only while its shorter side stays at least this many
# times the larger side of the target size, so that the final resize still averages over
# several decoded pixels per output pixel (Pillow's Image.thumbnail does the same with its
# default reducing_gap=2.0: a draft() decode of JPEGs, then a resize).
_REDUCING_GAP = 2


def _jpeg_ratio(contents, size: tuple[int, int]) -> tf.Tensor:
    """The index into ``_JPEG_RATIOS`` of the largest scale-down of a JPEG (its header read,
    not its data) that keeps its shorter side at least ``_REDUCING_GAP`` x ``max(size)``."""
    shape = tf.io.extract_jpeg_shape(contents)
    short = tf.minimum(shape[0], shape[1])
    ratios = tf.constant(_JPEG_RATIOS, tf.int32)
    enough = (short + ratios - 1) // ratios >= _REDUCING_GAP * max(size)   # libjpeg rounds up
    enough = tf.concat([enough[:-1], [True]], 0)                          # 1/1 always works
    return tf.cast(tf.argmax(tf.cast(enough, tf.int32)), tf.int32)


def _decode_jpeg_reduced(contents, channels: int, size: tuple[int, int]) -> tf.Tensor:
    """A JPEG decoded at the largest libjpeg scale-down that leaves it at least
    ``_REDUCING_GAP`` times the target size (see :func:`_jpeg_ratio`). A scaled decode still
    reads and entropy-decodes all the data, so a truncated file fails as at full size."""
    index = _jpeg_ratio(contents, size)
    return tf.switch_case(index, [
        (lambda r=r: tf.io.decode_jpeg(contents, channels=channels, ratio=r))
        for r in _JPEG_RATIOS])


def _decode_raw(contents, channels: int, size: tuple[int, int] | None = None) -> tf.Tensor:
    """The file's bytes decoded to uint8 (h, w, channels), GIF, BMP and WebP included in
    grayscale: TensorFlow decodes those to RGB only, so they are decoded to RGB then
    converted. With a target ``size``, a JPEG much larger than it is decoded at reduced scale
    (:func:`_decode_jpeg_reduced`); otherwise every file is decoded at its full size."""
    if size is not None:
        is_jpeg = tf.equal(tf.strings.substr(contents, 0, 3), _JPEG_MAGIC)
        return tf.cond(is_jpeg, lambda: _decode_jpeg_reduced(contents, channels, size),
                       lambda: _decode_raw(contents, channels))

    def direct():
        return tf.io.decode_image(contents, channels=channels, expand_animations=False)

    if channels == 3:
        return direct()

    def via_rgb():
        rgb = tf.io.decode_image(contents, channels=3, expand_animations=False)
        rgb.set_shape([None, None, 3])
        return tf.image.rgb_to_grayscale(rgb)

    rgb_only = tf.reduce_any([tf.strings.substr(contents, 0, 4) == "GIF8",
                              tf.strings.substr(contents, 0, 2) == "BM",
                              tf.strings.substr(contents, 8, 4) == "WEBP"])
    return tf.cond(rgb_only, via_rgb, direct)


def _decode_oriented(contents, channels: int, size: tuple[int, int] | None = None
                     ) -> tf.Tensor:
    """:func:`_decode_raw` with the file's EXIF orientation applied."""
    raw = _decode_raw(contents, channels, size)
    raw.set_shape([None, None, channels])
    orientation = tf.numpy_function(_exif_orientation, [contents], tf.int32, stateful=False)
    orientation.set_shape([])
    oriented = _orient(raw, orientation)
    oriented.set_shape([None, None, channels])
    return oriented


def _to_float(raw, size: tuple[int, int], channels: int, aspect: str = "stretch") -> tf.Tensor:
    """Decoded uint8 pixels (h, w, channels) -> float32 in [0, 1] at ``size``, fitted by
    ``aspect`` (see :func:`decode_image`)."""
    raw.set_shape([None, None, channels])
    return fit_image(tf.cast(raw, tf.float32) / 255.0, size, aspect)


def fit_image(image, size, aspect: str = "stretch") -> tf.Tensor:
    """One float image (h, w, channels) in [0, 1] fitted to ``size`` by ``aspect``: the resizing
    of :func:`decode_image`, for pixels already decoded (``gallery`` uses it for queries given
    as arrays, so that they are prepared exactly as training images were).

    Args:
        image: (h, w, channels) float pixels in [0, 1] (a tensor or an array).
        size: int or (height, width).
        aspect: ``"stretch"``, ``"crop"`` or ``"pad"``, as for :func:`decode_image`.

    Returns:
        A float32 tensor of shape (height, width, channels).
    """
    size, aspect = _image_size(size), _aspect(aspect)
    image = tf.convert_to_tensor(image, tf.float32)
    channels = image.shape[-1]
    if aspect == "crop":
        h, w = tf.shape(image)[0], tf.shape(image)[1]
        # the largest central window of the target aspect ratio (th / tw)
        ch = tf.minimum(h, tf.maximum(1, (w * size[0] + size[1] // 2) // size[1]))
        cw = tf.minimum(w, tf.maximum(1, (h * size[1] + size[0] // 2) // size[0]))
        image = image[(h - ch) // 2:(h - ch) // 2 + ch, (w - cw) // 2:(w - cw) // 2 + cw]
    same = tf.reduce_all(tf.shape(image)[:2] == tf.constant(size))
    if aspect == "pad":
        def fit():
            return tf.image.resize_with_pad(image, size[0], size[1], antialias=True)
    else:
        def fit():
            return tf.image.resize(image, size, antialias=True)
    image = tf.cond(same, lambda: image, lambda: tf.clip_by_value(fit(), 0, 1))
    image.set_shape([*size, channels])
    return image


def load_image_folder(directory, image_size=(64, 64), color_mode: str = "grayscale",
                      min_per_class: int = 2, aspect: str = "stretch") -> LoadedImages:
    """Decode a whole class-per-subfolder image folder into memory.

    Args:
        directory: the folder (str or Path).
        image_size: int or (height, width) every image is resized to.
        color_mode: ``"grayscale"`` or ``"rgb"``.
        min_per_class: classes with fewer readable images are skipped (with a warning).
        aspect: ``"stretch"``, ``"crop"`` or ``"pad"``, as for :func:`decode_image`.

    Returns:
        :class:`LoadedImages` (images (N, height, width, channels) float32 in [0, 1]).

    Raises:
        TypeError, FileNotFoundError, ValueError: as for :func:`scan_image_folder`; bad
        ``image_size`` or ``color_mode``.
    """
    size, channels = _image_size(image_size), _channels(color_mode)
    aspect = _aspect(aspect)
    min_per_class = checks.positive_int(min_per_class, "min_per_class")
    folder = scan_image_folder(directory, min_per_class=1, check_files=False, warn=False)
    # The scan skipped non-image files and empty class folders; decoding finds broken files.
    bad_files, small = dict(folder.skipped_files), dict(folder.skipped_classes)
    images, keep, sizes, exif = [], [], Counter(), {}
    for i, path in enumerate(folder.paths):
        try:
            contents = tf.io.read_file(path)
            raw = _decode_oriented(contents, channels, size)
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as err:
            bad_files[str(path)] = f"unreadable: {_decode_error(err)}"
            continue
        orientation, problem = _read_orientation(contents.numpy())
        if problem:
            exif[str(path)] = problem
        if contents.numpy()[:3] == _JPEG_MAGIC:        # maybe decoded at reduced scale
            h, w = (int(s) for s in tf.io.extract_jpeg_shape(contents)[:2])
            sizes[(w, h) if orientation >= 5 else (h, w)] += 1
        else:
            sizes[tuple(raw.shape[:2])] += 1
        images.append(_to_float(raw, size, channels, aspect).numpy())
        keep.append(i)
    labels = folder.labels[keep]
    counts = np.bincount(labels, minlength=len(folder.class_names))
    kept_classes = np.flatnonzero(counts >= min_per_class)
    for c in np.flatnonzero(counts < min_per_class):
        small[folder.class_names[c]] = _usable(int(counts[c]))
    _warn_skipped(bad_files, small, min_per_class, folder.directory)
    _warn_exif(exif, folder.directory)
    if len(sizes) > 1:
        common = ", ".join(f"{h}x{w}: {n}" for (h, w), n in sizes.most_common(3))
        warnings.warn(f"images in {folder.directory.name}/ come in {len(sizes)} sizes (height x "
                      f"width: {common}{', ...' if len(sizes) > 3 else ''}); all resized to "
                      f"{size[0]}x{size[1]}", stacklevel=2)
    if len(kept_classes) < 2:
        raise ValueError(f"directory {folder.directory} has {len(kept_classes)} class(es) with "
                         f"at least {min_per_class} readable images; a Siamese network needs 2")
    good = np.isin(labels, kept_classes)
    remap = np.full(len(folder.class_names), -1, np.int64)
    remap[kept_classes] = np.arange(len(kept_classes))
    return LoadedImages(np.stack(images)[good].astype(np.float32), remap[labels[good]],
                        tuple(folder.class_names[c] for c in kept_classes),
                        folder.paths[keep][good], bad_files, small)


def read_images(paths, image_size=(64, 64), color_mode: str = "grayscale",
                batch_size: int = 256, aspect: str = "stretch", *,
                directory=None) -> np.ndarray:
    """Decode a list of files, in order and in parallel, into one array.

    For the images a step needs whole (a validation or test set, a gallery to embed); training
    reads its files batch by batch with :func:`path_pk_dataset` instead.

    Args:
        paths: (N,) file paths, e.g. ``scan_image_folder(...).paths[mask]``.
        image_size, color_mode, aspect: as for :func:`decode_image`.
        batch_size: files decoded per ``tf.data`` batch.
        directory: the folder errors name files relative to (e.g. the scanned folder);
            default: the folder the paths share.

    Returns:
        (N, height, width, channels) float32 in [0, 1], row ``i`` from ``paths[i]``.

    Raises:
        TypeError, ValueError: ``paths`` not a non-empty 1-D array of str; bad ``image_size``,
        ``color_mode`` or ``batch_size``; a file that cannot be decoded (the ValueError names
        it, relative to ``directory``, with the decoder's message). FileNotFoundError: a
        missing file, named likewise (scan the folder first to skip those).
    """
    paths = _path_array(paths)
    size, channels = _image_size(image_size), _channels(color_mode)
    ds = path_batches(paths, size, color_mode, batch_size, aspect, directory=directory)
    try:
        out = np.concatenate(list(ds.as_numpy_iterator()))
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError):
        root = Path(_paths_root(paths, directory))
        for path in paths.astype(str):         # with the decoder's own message this time
            _decode_file(path, size, channels, _aspect(aspect), _relative(path, root))
        raise
    return out.reshape(len(paths), *size, channels)


def _paths_root(paths: np.ndarray, directory) -> str:
    """The folder errors name ``paths`` relative to: ``directory``, else the folder their
    folders share (the scanned folder, for the paths of several classes of one scan), or the
    one above their folder when they all lie in one (so that the name keeps its class)."""
    if directory is not None:
        return str(checks.path(directory, "directory"))
    parents = sorted({os.path.dirname(str(p)) for p in paths})
    try:
        shared = os.path.dirname(parents[0]) if len(parents) == 1 else os.path.commonpath(parents)
    except ValueError:                       # absolute and relative paths mixed
        return ""
    return shared


def _decode_naming_files(ds: tf.data.Dataset, decode, shape: tuple[int, ...], root: str
                         ) -> tf.data.Dataset:
    """``ds`` of ``(path, extra)`` mapped to ``(decode(path), extra)`` in parallel, order kept
    (``decode`` returns float32 images of ``shape``),
    where a file that cannot be read or decoded raises an error that *names it* (relative to
    ``root``), not TensorFlow's ``jpeg::Uncompress failed``, which names no file.

    A graph cannot catch the decoder's error, so failing elements are dropped
    (``ignore_errors``) and the gap is noticed after: each element carries its running number
    and the path of the element before it, and a final marker element (never decoded) closes
    the stream, so a dropped element, the last one included, makes the next element raise
    ``InvalidArgumentError("... image file <class>/<name> cannot be read or decoded ...")``
    naming the (last) file of the gap. The bookkeeping is two cheap ``scan`` steps; the
    decoding itself stays parallel.
    """
    prefix = root.rstrip("/\\") + os.sep if root else ""
    cut = len(prefix.encode("utf-8"))
    marker = tf.constant(_END_MARK)

    def number(state, element):
        count, before = state
        path, extra = element
        return (count + 1, path), (count, before, path, extra)

    def load(count, before, path, extra):
        last = tf.equal(path, marker)
        image = tf.cond(last, lambda: tf.zeros(shape, tf.float32), lambda: decode(path))
        return count, before, last, image, extra

    def check(expected, element):
        count, before, last, image, extra = element
        named = before
        if cut:
            named = tf.cond(tf.equal(tf.strings.substr(before, 0, cut), prefix),
                            lambda: tf.strings.substr(before, cut, -1), lambda: before)
        ok = tf.debugging.Assert(tf.equal(count, expected), [tf.strings.join([
            "image file ", named, " cannot be read or decoded (damaged, truncated, missing or "
            "not an image); folders.decode_image on it gives the decoder's message, and "
            "folders.scan_image_folder leaves such files out"])], summarize=1)
        with tf.control_dependencies([ok]):
            return count + 1, (last, tf.identity(image), extra)

    spec = ds.element_spec[1]
    end = tf.data.Dataset.from_tensors((marker, tf.zeros(spec.shape, spec.dtype)))
    return (ds.concatenate(end)
            .scan((tf.constant(0, tf.int64), tf.constant("")), number)
            .map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .ignore_errors()
            .scan(tf.constant(0, tf.int64), check)
            .filter(lambda last, image, extra: tf.logical_not(last))
            .map(lambda last, image, extra: (image, extra)))


_END_MARK = "\0course_lib: end of the paths\0"     # never a file name (a NUL inside)


def path_batches(paths, image_size=(64, 64), color_mode: str = "grayscale",
                 batch_size: int = 256, aspect: str = "stretch", *,
                 directory=None) -> tf.data.Dataset:
    """Batches of images decoded from files, in order, in parallel, one batch at a time.

    For what a step needs whole but need not hold whole: embedding a validation or test set
    from its files (``encoder.predict(path_batches(...))``), or queries for ``gallery``.
    Memory holds the batches being decoded, never every image of the list. A file that
    cannot be read or decoded stops the iteration with an error naming it relative to
    ``directory``.

    Args:
        paths: (N,) file paths, e.g. ``scan_image_folder(...).paths[mask]``.
        image_size, color_mode, aspect: as for :func:`decode_image`.
        batch_size: files decoded per batch, an int >= 1.
        directory: the folder errors name files relative to (e.g. the scanned folder);
            default: the folder the paths share.

    Returns:
        A ``tf.data.Dataset`` of (batch, height, width, channels) float32 batches in [0, 1],
        of known length, row order kept.

    Raises:
        TypeError, ValueError: ``paths`` not a non-empty 1-D array of str; bad ``image_size``,
        ``color_mode``, ``aspect``, ``batch_size`` or ``directory``. While iterating:
        ``tf.errors.InvalidArgumentError`` whose message names the file (e.g.
        ``cats/IMG_001.jpg``) that cannot be read or decoded.
    """
    paths, size, channels, aspect = _decode_args(paths, image_size, color_mode, aspect)
    batch_size = checks.positive_int(batch_size, "batch_size")
    root = _paths_root(paths, directory)
    source = tf.data.Dataset.from_tensor_slices((paths.astype(str),
                                                 np.zeros(len(paths), np.int8)))
    ds = (_decode_naming_files(source, lambda p: decode_image(p, size, color_mode, aspect),
                               (*size, channels), root)
          .map(lambda image, _: image)
          .batch(batch_size))
    return ds.apply(tf.data.experimental.assert_cardinality(-(-len(paths) // batch_size)))


def _cache_key(paths: np.ndarray, size, color_mode: str, aspect: str) -> str:
    """A digest of the files (path, byte size, modification time, status-change time) and the
    settings: it changes when any file is added, removed, replaced or edited (even when the
    edit kept the size and set the modification time back: the status-change time cannot be
    set back), or a setting changes."""
    digest = hashlib.sha256(json.dumps(
        [_CACHE_VERSION, list(size), color_mode, aspect]).encode())
    for path in paths:
        stat = os.stat(path)
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}\n"
                      .encode())
    return digest.hexdigest()[:20]


def cache_images(paths, image_size=(64, 64), color_mode: str = "grayscale",
                 aspect: str = "stretch", cache_dir=None, batch_size: int = 256) -> np.ndarray:
    """Decode image files once, at the training size, into a uint8 array cached on disk.

    The first call decodes every file with :func:`decode_image` (EXIF orientation applied,
    ``aspect`` as there), ``batch_size`` files at a time so that memory holds one batch of
    full-size photos, and writes the array to ``cache_dir/images-<digest>.npy`` (through a
    temporary name, then renamed); later calls with the same files and settings map that file
    read-only (``np.load(mmap_mode="r")``), so a training pipeline reads pixels, not photos.
    The digest covers each file's path, size, modification and status-change times and the
    settings, so an edited, added or removed file builds a new cache (old cache files are left in place; delete
    ``cache_dir`` to reclaim the space). A cache file that is empty, cut short, not an array
    or of another shape or dtype is rebuilt, with a warning naming it. Pixels are
    :func:`decode_image`'s rounded to 1/255. Not detected: pixel bytes changed inside a cache
    file of the right size (nothing checks their content).

    Args:
        paths: (N,) file paths, e.g. ``scan_image_folder(...).paths``.
        image_size, color_mode, aspect: as for :func:`decode_image`.
        cache_dir: folder for the cache files; default ``config.build_dir() / "image_cache"``.
        batch_size: files decoded per batch on the first pass, an int >= 1.

    Returns:
        (N, height, width, channels) uint8, row ``i`` from ``paths[i]`` (a read-only memory
        map of the cache file). Divide by 255 for floats in [0, 1] (e.g. with ``augment=`` of
        ``pk_sampling.pk_dataset``).

    Raises:
        TypeError, ValueError: ``paths`` not a non-empty 1-D array of str; bad ``image_size``,
        ``color_mode``, ``aspect`` or ``batch_size``; a file that cannot be decoded (the
        ValueError names it); a cache file still damaged right after it was rebuilt (named).
        FileNotFoundError: a missing file (named).
    """
    paths, size, channels, aspect = _decode_args(paths, image_size, color_mode, aspect)
    batch_size = checks.positive_int(batch_size, "batch_size")
    cache_dir = (config.build_dir() / "image_cache" if cache_dir is None
                 else checks.path(cache_dir, "cache_dir"))
    paths = paths.astype(str)
    root = _paths_root(paths, None) or None   # errors name files relative to their folder
    try:
        key = _cache_key(paths, size, color_mode, aspect)
    except FileNotFoundError as err:
        shown = _relative(err.filename, Path(root)) if root else err.filename
        raise FileNotFoundError(f"image file {shown} does not exist") from None
    target = cache_dir / f"images-{key}.npy"
    expected = (len(paths), *size, channels)
    if target.is_file():
        problem = _cache_problem(target, expected)
        if problem is None:
            return np.load(target, mmap_mode="r")
        warnings.warn(f"image cache {target} {problem}: rebuilding it from the image files",
                      stacklevel=2)
    out = np.empty(expected, np.uint8)
    for lo in range(0, len(paths), batch_size):
        part = read_images(paths[lo:lo + batch_size], size, color_mode, batch_size, aspect,
                           directory=root)
        out[lo:lo + len(part)] = np.round(part * 255.0).astype(np.uint8)
    with config.atomic_file(target) as tmp:
        np.save(tmp, out)
    problem = _cache_problem(target, expected)
    if problem is not None:
        raise ValueError(f"image cache {target} {problem} right after it was written: is "
                         f"{cache_dir} on a full or failing disk?")
    return np.load(target, mmap_mode="r")


def _cache_problem(target: Path, expected: tuple[int, ...]) -> str | None:
    """What is wrong with a cache file (None when it is a uint8 array of ``expected`` shape)."""
    try:
        cached = np.load(target, mmap_mode="r", allow_pickle=False)
    except EOFError:
        return "is empty"
    except (ValueError, OSError) as err:
        text = str(err)
        if "pickled" in text or "not a valid" in text.lower() or "magic" in text.lower():
            return "is not a NumPy array file"
        if "mmap length" in text or "cannot mmap" in text.lower():
            return "is cut short"
        return f"cannot be read ({' '.join(text.split())})"
    if not isinstance(cached, np.ndarray):
        return "is not a NumPy array file"
    if cached.shape != expected or cached.dtype != np.uint8:
        return f"holds {cached.dtype} {cached.shape}, not uint8 {expected}"
    return None


@dataclass(frozen=True)
class FirstPassEstimate:
    """How long the first pass over a folder will take, timed on a sample of its files;
    ``str()`` gives one line to print.

    Attributes:
        files: how many files the estimate is for.
        sampled: how many of them were timed.
        check_per_s: files per second of the scan's check (:func:`scan_image_folder` with
            ``check_files=True``), one file at a time, as the scan goes.
        cache_per_s: files per second of decoding at the target size (what
            :func:`cache_images` does on its first pass), timed one file at a time.
        check_s: the estimated seconds to check every file.
        cache_s: the estimated seconds to build the cache (at most: the cache decodes several
            files in parallel).
    """

    files: int
    sampled: int
    check_per_s: float
    cache_per_s: float
    check_s: float
    cache_s: float

    def __str__(self) -> str:
        return (f"{self.files:,} image files: the scan's check will take about "
                f"{_duration(self.check_s)} and the first cache build about "
                f"{_duration(self.cache_s)} (timed on {self.sampled} of them, one at a time: "
                f"{self.check_per_s:.1f} and {self.cache_per_s:.1f} files/s); later runs "
                f"reuse the cache but check the files again")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_first_pass(paths, image_size=(64, 64), color_mode: str = "grayscale",
                        aspect: str = "stretch", sample: int = 20,
                        seed: int = 0) -> FirstPassEstimate:
    """Time the scan's check and the cache's decode on a few of a folder's files, and estimate
    how long the first pass over all of them will take, before it starts.

    A folder of thousands of phone photos is slow to check and to decode even once (see
    docs/performance.md, *Training from photos*): this says how slow on this machine, from
    ``sample`` files drawn at random (one more, not counted, warms TensorFlow up). Files that
    fail to decode are timed too, as the scan spends that time on them. The estimate scales the
    sample's time to ``len(paths)``; with a sample of unusually large or small files it is off
    by as much.

    Args:
        paths: the folder's image files (str), e.g. every file a listing found.
        image_size, color_mode, aspect: the settings the cache will use (see
            :func:`decode_image`).
        sample: how many files to time, an int >= 1 (all of them when there are fewer).
        seed: the seed of the random sample.

    Returns:
        A :class:`FirstPassEstimate`.

    Raises:
        TypeError, ValueError: ``paths`` not a non-empty 1-D array of str; bad
        ``image_size``, ``color_mode``, ``aspect``, ``sample`` or ``seed``.
    """
    import time

    paths, size, channels, aspect = _decode_args(paths, image_size, color_mode, aspect)
    sample = checks.positive_int(sample, "sample")
    rng = np.random.default_rng(checks.seed(seed))
    picked = paths[rng.permutation(len(paths))[:sample + 1]].astype(str)
    warm, timed = picked[:1], (picked[1:] if len(picked) > 1 else picked)

    def check(path):
        try:
            _check_decodes(Path(path))
        except OSError:
            pass

    def decode(path):
        try:
            _decode_file(path, size, channels, aspect, path)
        except (ValueError, FileNotFoundError):
            pass

    rates = []
    for step in (check, decode):
        step(warm[0])
        start = time.perf_counter()
        for path in timed:
            step(path)
        rates.append(len(timed) / max(time.perf_counter() - start, 1e-9))
    return FirstPassEstimate(len(paths), len(timed), rates[0], rates[1],
                             len(paths) / rates[0], len(paths) / rates[1])


def cached_batches(images, rows=None, batch_size: int = 256) -> tf.data.Dataset:
    """Batches of float32 images in [0, 1] read from a uint8 array, e.g. :func:`cache_images`'.

    Only one batch is in memory at a time: rows are read from ``images`` (a memory map stays on
    disk) batch by batch, in order, and divided by 255. For what a step needs whole but need
    not hold whole: embedding a validation or test set (``encoder.predict(dataset)``), or the
    images of ``callbacks.RetrievalValidation``.

    Args:
        images: (N, height, width, channels) uint8, e.g. the array :func:`cache_images` returns.
        rows: optional 1-D row indices or a boolean mask over ``images``; default all rows.
        batch_size: images per batch, an int >= 1.

    Returns:
        A ``tf.data.Dataset`` of (batch, height, width, channels) float32 batches, row order
        kept.

    Raises:
        TypeError: ``images`` not uint8, ``rows`` not integers or booleans, bad ``batch_size``.
        ValueError: ``images`` not 4-D, ``rows`` empty or out of range, a mask of another length.
    """
    if not hasattr(images, "dtype") or images.dtype != np.uint8:
        raise TypeError(f"images must be a uint8 array (as cache_images returns), got "
                        f"{getattr(images, 'dtype', type(images).__name__)}")
    if images.ndim != 4:
        raise ValueError(f"images must be (N, height, width, channels), got shape {images.shape}")
    batch_size = checks.positive_int(batch_size, "batch_size")
    if rows is None:
        rows = np.arange(len(images))
    else:
        rows = np.asarray(rows)
        if rows.dtype == bool:
            checks.same_length(rows, "rows", images, "images")
            rows = np.flatnonzero(rows)
        elif rows.dtype.kind not in "iu" or rows.ndim != 1:
            raise TypeError(f"rows must be 1-D integer indices or a boolean mask, got dtype "
                            f"{rows.dtype} and shape {rows.shape}")
        if not len(rows):
            raise ValueError("rows must select at least one image, got none")
        if rows.min() < -len(images) or rows.max() >= len(images):
            raise ValueError(f"rows must lie in [0, {len(images)}), got {rows.min()}..{rows.max()}")

    def batches():
        for lo in range(0, len(rows), batch_size):
            yield np.asarray(images[rows[lo:lo + batch_size]], np.float32) / 255.0

    spec = tf.TensorSpec((None, *images.shape[1:]), tf.float32)
    ds = tf.data.Dataset.from_generator(batches, output_signature=spec)
    # a known length, so that Keras's predict does not warn that the data "ran out"
    return ds.apply(tf.data.experimental.assert_cardinality(-(-len(rows) // batch_size)))


@dataclass(frozen=True, eq=False)
class NearDuplicates:
    """Pairs of near-identical images that :func:`near_duplicates` found; ``str()`` gives a
    short report.

    Attributes:
        pairs: (M, 2) int64 row indices ``(i, j)``, ``i < j``, sorted by distance.
        distances: (M,) their distances (see :func:`near_duplicates`), ascending.
        groups: the images linked by pairs, each a sorted int64 array of rows (a burst of
            three shots is one group of three), largest first.
        threshold: the distance at or below which a pair was flagged.
        names: the name of each image given to :func:`near_duplicates` (or None).
    """

    pairs: np.ndarray
    distances: np.ndarray
    groups: tuple
    threshold: float
    names: tuple | None

    def __str__(self) -> str:
        text = (f"{len(self.pairs)} near-duplicate pair(s) (thumbnail distance <= "
                f"{self.threshold:g}) in {len(self.groups)} group(s) of "
                f"{sum(len(g) for g in self.groups)} images")
        if self.names is not None and len(self.pairs):
            shown = [f"{self.names[i]} ~ {self.names[j]} ({d:.3f})"
                     for (i, j), d in zip(self.pairs[:3], self.distances[:3])]
            more = f"; and {len(self.pairs) - 3} more" if len(self.pairs) > 3 else ""
            text += ": " + "; ".join(shown) + more
        return text


_THUMBNAIL = 16          # near_duplicates compares 16 x 16 thumbnails


def _thumbnails(images, batch_size: int) -> np.ndarray:
    """Per image: its 16 x 16 area-averaged thumbnail with mean and contrast removed (unit
    length), then its mean per channel; float32 rows."""
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    out = []
    for lo in range(0, len(images), batch_size):
        batch = np.asarray(images[lo:lo + batch_size], np.float32) / scale
        small = tf.image.resize(batch, (_THUMBNAIL, _THUMBNAIL), method="area").numpy()
        flat = small.reshape(len(small), -1)
        means = small.mean(axis=(1, 2))
        pattern = flat - flat.mean(axis=1, keepdims=True)
        norm = np.linalg.norm(pattern, axis=1, keepdims=True)
        pattern = np.divide(pattern, norm, out=np.zeros_like(pattern), where=norm > 1e-6)
        out.append(np.concatenate([pattern, means], axis=1))
    return np.concatenate(out).astype(np.float32)


def near_duplicates(images, labels=None, threshold: float = 0.08, names=None,
                    batch_size: int = 1024) -> NearDuplicates:
    """Flag pairs of near-identical images, such as the burst shots phones take.

    Two shots of one burst differ by a little camera shake or subject motion. If one of them
    is in a gallery and the other is a query, retrieval looks better than it is; if one is in
    training and the other in validation, so does validation. The cheap test used here: each
    image is reduced to a 16 x 16 thumbnail (area average of the cached pixels) with its mean
    and contrast removed (so exposure changes between shots do not count) and scaled to unit
    length; two images are near-duplicates when the Euclidean distance between their
    thumbnails, with the difference of their mean colours (per channel, in [0, 1]) added in
    quadrature, is at most ``threshold``. The default, 0.08, is a thumbnail correlation of at
    least about 0.997: on synthetic bursts (each photo shifted by 0.5-1% of its width,
    exposure changed by 1%, noise added, saved again as JPEG) it flags most pairs, while
    different photos of one class are flagged only when they are nearly blank (a small,
    low-contrast subject on one textured background). Raise it to catch more (with more
    false alarms); look at what it flags before acting on it.

    Args:
        images: (N, height, width, channels) uint8 pixels (e.g. :func:`cache_images`' memory
            map, read ``batch_size`` rows at a time) or floats in [0, 1].
        labels: optional (N,) class ids: then only images of the same class are compared
            (bursts are taken of one subject, so they sit in one class folder), far fewer
            pairs; None compares every pair.
        threshold: the largest distance flagged, a number >= 0.
        names: optional (N,) names of the images (e.g. paths relative to the folder), used in
            the report.
        batch_size: images read and compared per block, an int >= 1.

    Returns:
        A :class:`NearDuplicates`.

    Raises:
        TypeError: ``images`` not a numeric array; ``labels`` not integers; a bad
            ``threshold`` or ``batch_size``.
        ValueError: ``images`` not 4-D or empty; float pixels outside [0, 1] or not finite;
            ``labels`` or ``names`` of another length.
    """
    if not hasattr(images, "dtype") or not hasattr(images, "ndim"):
        images = np.asarray(images)
    if images.dtype.kind not in "uif":
        raise TypeError(f"images must be uint8 or float pixels, got dtype {images.dtype}")
    if images.ndim != 4 or not len(images):
        raise ValueError(f"images must be (N, height, width, channels) with N >= 1, got shape "
                         f"{images.shape}")
    threshold = checks.number(threshold, "threshold", 0.0)
    batch_size = checks.positive_int(batch_size, "batch_size")
    if images.dtype != np.uint8:
        for lo in range(0, len(images), batch_size):
            part = np.asarray(images[lo:lo + batch_size], np.float64)
            if not np.all(np.isfinite(part)) or part.min() < 0 or part.max() > 1:
                raise ValueError("float images must hold finite pixels in [0, 1] (divide "
                                 "uint8 pixels by 255, or pass them as uint8)")
    if labels is not None:
        labels = checks.class_labels(labels, "labels")
        checks.same_length(labels, "labels", images, "images")
    if names is not None:
        names = tuple(str(n) for n in np.asarray(names).ravel())
        checks.same_length(np.asarray(names), "names", images, "images")
    rows = _thumbnails(images, batch_size)
    groups = ([np.arange(len(rows))] if labels is None
              else [np.flatnonzero(labels == c) for c in np.unique(labels)])
    found_i, found_j, found_d = [], [], []
    for members in groups:
        if len(members) < 2:
            continue
        for lo in range(0, len(members), batch_size):
            block = members[lo:lo + batch_size]
            d = distances.pairwise(rows[block], rows[members])
            i, j = np.nonzero(d <= threshold)
            keep = members[j] > block[i]                     # each pair once, never itself
            found_i.append(block[i[keep]])
            found_j.append(members[j[keep]])
            found_d.append(d[i[keep], j[keep]])
    pair_i = np.concatenate(found_i) if found_i else np.empty(0, np.int64)
    pair_j = np.concatenate(found_j) if found_j else np.empty(0, np.int64)
    pair_d = np.concatenate(found_d) if found_d else np.empty(0, np.float32)
    order = np.lexsort((pair_j, pair_i, pair_d))
    pairs = np.stack([pair_i[order], pair_j[order]], axis=1).astype(np.int64).reshape(-1, 2)
    return NearDuplicates(pairs, pair_d[order].astype(np.float64), _linked(pairs),
                          float(threshold), names)


def _linked(pairs: np.ndarray) -> tuple:
    """The connected groups of rows that ``pairs`` link (union-find), largest first."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs.tolist():
        parent[root(i)] = root(j)
    members: dict[int, list[int]] = {}
    for x in list(parent):
        members.setdefault(root(x), []).append(x)
    groups = [np.array(sorted(m), np.int64) for m in members.values()]
    return tuple(sorted(groups, key=lambda g: (-len(g), int(g[0]))))


def _decode_args(paths, image_size, color_mode, aspect
                 ) -> tuple[np.ndarray, tuple[int, int], int, str]:
    """The checked ``(paths, size, channels, aspect)`` of a function that decodes a non-empty
    list of files."""
    paths = _path_array(paths)
    if not len(paths):
        raise ValueError("paths must hold at least one file path, got none")
    return paths, _image_size(image_size), _channels(color_mode), _aspect(aspect)


def _path_array(paths) -> np.ndarray:
    paths = np.asarray(paths)
    if paths.dtype.kind not in "US" or paths.ndim != 1:
        raise TypeError(f"paths must be a 1-D array of file paths (str), got dtype {paths.dtype} "
                        f"and shape {paths.shape}")
    return paths


# --------------------------------------------------------------------------- on the fly


def path_pk_dataset(paths, y, p: int, k: int, image_size=(64, 64),
                    color_mode: str = "grayscale", seed: int = 0, steps: int | None = None,
                    groups=None, classes=None, augment=None,
                    repeat: bool = False, small_classes: str = "repeat",
                    aspect: str = "stretch", verbose: bool = True, *,
                    directory=None) -> tf.data.Dataset:
    """P x K batches of ``(images, labels)`` decoded from files on the fly.

    Only the paths are held in memory; each batch's ``p * k`` files are read and decoded in
    parallel when the batch is needed. The sampling is :class:`course_lib.pk_sampling.PKSampler`
    (same guarantees and same batches for the same seed as ``pk_sampling.pk_dataset``).

    Args:
        paths: (N,) file paths, e.g. ``scan_image_folder(...).paths``.
        y: (N,) integer class ids.
        p, k, seed, steps, groups, classes, augment, repeat, small_classes, verbose: as for
            ``pk_sampling.pk_dataset``.
        image_size, color_mode, aspect: as for :func:`decode_image`.
        directory: the folder errors name files relative to (e.g. the scanned folder);
            default: the folder the paths share.

    Returns:
        A ``tf.data.Dataset`` of ``(images, labels)``: (p*k, height, width, channels) float32 and
        (p*k,) int32.

    Raises:
        TypeError, ValueError: as for ``PKSampler``; ``paths`` not strings or of another length
        than ``y``; bad ``image_size``/``color_mode``/``directory``; ``augment`` not callable.
        While training: ``tf.errors.InvalidArgumentError`` whose message names the file (e.g.
        ``cats/IMG_001.jpg``, relative to ``directory``) that cannot be read or decoded (a
        truncated JPEG, a file deleted since the scan), instead of the decoder's message
        alone (``jpeg::Uncompress failed``).
    """
    paths = _path_array(paths)
    size, channels = _image_size(image_size), _channels(color_mode)
    aspect = _aspect(aspect)
    if augment is not None:
        checks.callable_value(augment, "augment")
    sampler = PKSampler(y, p, k, groups=groups, classes=classes,    # the one check of y
                        small_classes=small_classes, verbose=verbose)
    checks.same_length(paths, "paths", sampler.labels, "y")
    path_table = tf.constant(paths.astype(str))
    labels = tf.constant(sampler.labels.astype(np.int32))

    def pick(batch_seed):
        idx = sampler.batch(batch_seed)
        return tf.gather(path_table, idx), tf.gather(labels, idx)

    root = _paths_root(paths, directory)
    ds = (_decode_naming_files(
        seeded_batches(steps, checks.seed(seed), pick, sampler.epoch_batches, repeat).unbatch(),
        lambda path: decode_image(path, size, color_mode, aspect), (*size, channels), root)
          .batch(sampler.batch_size))
    if augment is not None:
        ds = ds.map(lambda x, lab: (augment(x), lab))
    return ds.prefetch(2)


# --------------------------------------------------------------------------- an example folder


def omniglot_folder(directory, split: str = "background_small1",
                    overwrite: bool = False) -> Path:
    """Write an Omniglot split as a class-per-subfolder folder of its original PNG files.

    The course's stand-in for "your own images": each character becomes one class folder
    ``<Alphabet>_<characterNN>`` holding its drawings, copied byte for byte from the official
    zip (105x105 black strokes on white). The folder is written into a new temporary folder
    beside it (``tempfile.mkdtemp``) and renamed when complete, so an interrupted run never
    leaves half a folder, and no folder the function did not create is ever deleted (except
    ``directory`` itself with ``overwrite=True``).

    Args:
        directory: the folder to create (say, inside the run's build folder).
        split: an Omniglot image split of ``data.OMNIGLOT_FILES`` (not ``"runs"``).
        overwrite: replace ``directory`` if it exists.

    Returns:
        ``directory`` as a Path.

    Raises:
        TypeError: ``directory`` not a path, ``overwrite`` not a bool.
        FileExistsError: ``directory`` exists and ``overwrite`` is False.
        ValueError, FileNotFoundError: as for ``data.omniglot_file``; ``"runs"``.
    """
    checks.path(directory, "directory")
    overwrite = checks.boolean(overwrite, "overwrite")
    if split == "runs":
        raise ValueError("split 'runs' holds Lake's one-shot task, not classes of drawings")
    target = Path(directory)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    zip_path = data.omniglot_file(split)
    _write_folder(target, lambda out: _copy_omniglot_pngs(zip_path, out))
    return target


def _copy_omniglot_pngs(zip_path: Path, out: Path) -> None:
    """Copy the zip's ``<alphabet>/<character>/*.png`` files into ``out/<alphabet>_<character>/``."""
    copied = 0
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            parts = PurePosixPath(name).parts
            if not name.endswith(".png") or len(parts) < 3:
                continue
            folder = out / f"{parts[-3]}_{parts[-2]}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / parts[-1]).write_bytes(archive.read(name))
            copied += 1
    if not copied:
        raise ValueError(f"{zip_path} contains no <alphabet>/<character>/*.png images")


def _write_folder(target: Path, fill) -> None:
    """Write a folder with ``fill(partial)`` into a fresh temporary folder beside ``target`` and
    rename it into place when complete (replacing ``target`` if it exists), so an interrupted
    run never leaves half a folder; only folders created here are ever removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # A fresh folder of our own beside the target (never a fixed name such as "<target>.part",
    # which could be the user's): renamed into place when complete, removed if anything fails.
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial",
                                    dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    partial.chmod(0o777 & ~umask)                  # mkdtemp's folder is private (0700)
    try:
        fill(partial)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old",
                                        dir=target.parent))
            target.rename(old / target.name)       # ours now: removed once the new one is in
            try:
                partial.rename(target)
            except OSError:
                (old / target.name).rename(target)  # put the previous folder back
                raise
            shutil.rmtree(old)
        else:
            partial.rename(target)
    finally:
        if partial.exists():
            shutil.rmtree(partial)


# --------------------------------------------------------------------------- a demo photo folder

_DEMO_WORDS = ("café", "crème brûlée", "Zoë", "garçon", "Ångström", "piñata", "naïve art",
               "jalapeño", "smörgåsbord", "Mañana", "Bäckerei", "façade", "fjörd", "résumé",
               "übung", "déjà vu", "señor gato", "Éire", "öl", "Łódź")
_EXIF_ORIENTATION = 0x0112


def make_demo_photo_folder(directory, n_classes: int = 156, max_side: int = 160, seed: int = 0,
                           n_sideways: int = 6, overwrite: bool = False) -> Path:
    """Write a synthetic folder that looks like a person's own photos, for trying notebook 08.

    ``n_classes`` class folders whose names hold spaces and accents (``"café 007"``), each a
    colour, a shape and a background texture of its own, drawn at random positions and sizes.
    Class sizes follow a long tail: 40 images for the largest class, most classes 4-10, and
    one class in ten with only 1-3 images. The images are RGB JPEGs and PNGs of mixed sizes and
    aspect ratios (4:3, 3:4, 16:9, 9:16 and square, longest side between ``max_side / 2`` and
    ``max_side``); ``n_sideways`` JPEGs are stored rotated a quarter turn with an EXIF
    orientation tag (6, "rotate 90 degrees clockwise to view"), as phones write them. Written
    with PIL into a temporary folder beside ``directory`` and renamed when complete.

    Args:
        directory: the folder to create.
        n_classes: number of class folders (>= 2).
        max_side: longest side of the largest images, in pixels (>= 16); 4032 gives
            12-megapixel photos for a benchmark.
        seed: the random seed (the same seed writes the same files).
        n_sideways: JPEGs stored sideways with an EXIF orientation tag (>= 0).
        overwrite: replace ``directory`` if it exists.

    Returns:
        ``directory`` as a Path.

    Raises:
        TypeError: ``directory`` not a path; a count, ``seed`` or ``overwrite`` of the wrong type.
        ValueError: a count out of range. FileExistsError: ``directory`` exists and
        ``overwrite`` is False.
    """
    target = checks.path(directory, "directory")
    n_classes = checks.integer(n_classes, "n_classes", minimum=2)
    max_side = checks.integer(max_side, "max_side", minimum=16)
    seed = checks.seed(seed)
    n_sideways = checks.integer(n_sideways, "n_sideways", minimum=0)
    overwrite = checks.boolean(overwrite, "overwrite")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    def draw(out: Path) -> None:
        _draw_demo_photos(out, n_classes, max_side, seed, n_sideways)
        (out / DEMO_MARKER).write_text(json.dumps(
            {"n_classes": n_classes, "max_side": max_side, "seed": seed,
             "n_sideways": n_sideways}) + "\n", encoding="utf-8")

    _write_folder(target, draw)
    return target


DEMO_MARKER = ".course_demo_folder.json"   # hidden, so scans ignore it


def is_demo_folder(directory) -> bool:
    """Whether ``directory`` was written by :func:`make_demo_photo_folder` (it holds the hidden
    marker file :data:`DEMO_MARKER`, which scans ignore).

    Args:
        directory: the folder (str or Path).

    Returns:
        True when the marker file is there.

    Raises:
        TypeError: ``directory`` not a path.
    """
    return (checks.path(directory, "directory") / DEMO_MARKER).is_file()


def assert_on_demo(condition, message: str, directory) -> bool:
    """Check a claim the text makes about the demo folder's run: an AssertionError on the demo
    folder, a warning on any other folder.

    A notebook's text describes its run on :func:`make_demo_photo_folder`'s folder, and its
    asserts check that description. On a folder of your own photos the same outcome (a
    recall, a rate) may well differ, which is no error: "Run all" goes on, and a warning says
    which statement of the text does not hold for your folder.

    Args:
        condition: the claim's check, a bool (a NumPy bool too).
        message: what the claim says, shown when it fails.
        directory: the image folder the notebook ran on.

    Returns:
        ``condition`` as a bool.

    Raises:
        AssertionError: ``condition`` is false and ``directory`` is the demo folder.
        TypeError: ``condition`` not a bool, ``message`` not a str, ``directory`` not a path.
    """
    if not isinstance(condition, (bool, np.bool_)):
        raise TypeError(f"condition must be a bool, got {type(condition).__name__}")
    if not isinstance(message, str):
        raise TypeError(f"message must be a str, got {type(message).__name__}")
    demo = is_demo_folder(directory)
    if not condition:
        if demo:
            raise AssertionError(message)
        warnings.warn(f"on {Path(directory).name}/, not the demo folder the text describes, "
                      f"this does not hold: {message}", stacklevel=2)
    return bool(condition)


def _draw_demo_photos(out: Path, n_classes: int, max_side: int, seed: int, n_sideways: int) -> None:
    """Draw the files of :func:`make_demo_photo_folder` into ``out``."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    sizes = np.round(4 + 36 * np.exp(-np.arange(n_classes) / 25)).astype(int)
    tail = max(1, n_classes // 10)                 # the last tenth: 1 to 3 images
    sizes[-tail:] = 1 + np.arange(tail) % 3
    sizes = sizes[rng.permutation(n_classes)]
    jpegs = []
    for c in range(n_classes):
        folder = out / f"{_DEMO_WORDS[c % len(_DEMO_WORDS)]} {c:03d}"
        folder.mkdir()
        colour = rng.integers(0, 256, 3)
        background = rng.integers(0, 256, 3)
        shape = c % 3
        for i in range(sizes[c]):
            ratio = (4 / 3, 3 / 4, 16 / 9, 9 / 16, 1.0)[rng.integers(5)]
            side = int(rng.integers(max_side // 2, max_side + 1))
            w, h = (side, max(8, round(side / ratio))) if ratio >= 1 else (max(8, round(side * ratio)), side)
            noise = rng.normal(0, 18, (h, w, 1)) + background
            image = Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8), "RGB")
            r = rng.uniform(0.2, 0.4) * min(w, h)
            cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
            box = [cx - r, cy - r, cx + r, cy + r]
            jitter = tuple(int(v) for v in np.clip(colour + rng.integers(-20, 21, 3), 0, 255))
            draw = ImageDraw.Draw(image)
            if shape == 0:
                draw.ellipse(box, fill=jitter)
            elif shape == 1:
                draw.rectangle(box, fill=jitter)
            else:
                draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=jitter)
            png = rng.random() < 0.35
            path = folder / f"IMG_{i:04d}.{'png' if png else 'jpg'}"
            with config.atomic_file(path) as tmp:
                image.save(tmp, format="PNG" if png else "JPEG", quality=90)
            if not png:
                jpegs.append((path, image))
    for k in rng.permutation(len(jpegs))[:n_sideways]:
        path, upright = jpegs[k]
        exif = Image.Exif()
        exif[_EXIF_ORIENTATION] = 6             # stored a quarter turn anticlockwise
        with config.atomic_file(path) as tmp:
            upright.transpose(Image.Transpose.ROTATE_90).save(tmp, format="JPEG", quality=90,
                                                              exif=exif.tobytes())
