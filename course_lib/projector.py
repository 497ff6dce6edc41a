"""Files for TensorBoard's embedding projector: vectors, labels, a sprite of thumbnails, a config.

:func:`write_projector` writes into one folder of the run (nothing elsewhere)::

    <run_dir>/projector/vectors.tsv            one embedding per line, tab-separated
    <run_dir>/projector/metadata.tsv           header "index<TAB>class", then one line per point
    <run_dir>/projector/sprite.png             the thumbnails in a square grid (optional)
    <run_dir>/projector/projector_config.pbtxt tells TensorBoard how the files fit together

The projector reads the sprite as one thumbnail per point, in the order of the points, row by
row from the top left, in a square image of at most 8,192 pixels a side (its WebGL texture).
When the thumbnails of all points do not fit (more than ``(8192 // max(h, w)) ** 2`` of them,
e.g. 4,096 at 128 px), a seeded random sample of as many points as fit is written instead, and
a printed line says so: vectors, metadata and sprite then all hold the same sampled points, in
their original order, and the metadata's ``index`` column gives each one's row in
``embeddings``. Without images every point is written.

The files are written as one set (:func:`course_lib.config.atomic_folder`): all of them into a
fresh hidden folder beside ``projector/``, which then takes its place in one rename, so that
TensorBoard, or an interruption, never meets vectors of one call beside metadata of another;
a failure while writing leaves the earlier set as it was. Files of yours in ``projector/``
(anything but these four) are never moved or deleted: the new files are then renamed in one
by one, the config last.

Open it with ``tensorboard --logdir <run_dir>/projector`` and choose the *Projector* tab
(TensorBoard is not a dependency of ``course_lib``: ``pip install tensorboard`` first, or use
Colab, where it is installed). Only files are written; TensorBoard itself is never imported.

Introduced in notebook 08.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from course_lib import checks, config

__all__ = ["MAX_SPRITE_PIXELS", "sprite_capacity", "write_projector"]

MAX_SPRITE_PIXELS = 8192          # the projector's largest sprite side
_FILES = ("vectors.tsv", "metadata.tsv", "sprite.png", "projector_config.pbtxt")


def _clean(text: str) -> str:
    """A metadata cell: tabs and line breaks would break the TSV, so they become spaces."""
    return " ".join(str(text).split())


def sprite_capacity(h: int, w: int) -> int:
    """How many thumbnails of ``h`` x ``w`` pixels fit in one projector sprite.

    Args:
        h, w: a thumbnail's height and width in pixels (ints >= 1).

    Returns:
        ``(MAX_SPRITE_PIXELS // max(h, w)) ** 2``, the square grid's cells (0 when one
        thumbnail is already wider or taller than the sprite may be).
    """
    h, w = checks.positive_int(h, "h"), checks.positive_int(w, "w")
    return (MAX_SPRITE_PIXELS // max(h, w)) ** 2


def _sprite_side(n: int, h: int, w: int) -> int:
    """The side (in thumbnails) of the square sprite grid of ``n`` thumbnails."""
    side = math.ceil(math.sqrt(n))
    if side * max(h, w) > MAX_SPRITE_PIXELS:                   # write_projector samples first
        raise ValueError(f"{n} thumbnails of {h}x{w} need a {side * h}x{side * w} sprite, more "
                         f"than the projector's {MAX_SPRITE_PIXELS} pixels")
    return side


def _write_text(path: Path, lines: list[str]) -> None:
    """``lines``, one a line, to ``path`` in UTF-8 (the caller's temporary file)."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _sprite(images, points: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Thumbnails ``images[points]`` ((h, w[, c]) in [0, 1]) tiled row by row into a square
    uint8 grid with white padding; one thumbnail converted at a time, so a large array of
    images is never copied whole."""
    arr = images if isinstance(images, np.ndarray) else np.asarray(images)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    h, w = arr.shape[1:3]
    side = _sprite_side(len(points), h, w)
    grid = np.full((side * h, side * w, *arr.shape[3:]), 255, np.uint8)
    for cell, row in enumerate(points):
        img = checks.float_array(arr[row], f"images[{row}]")
        if img.min() < 0 or img.max() > 1:
            raise ValueError(f"images must lie in [0, 1], got {img.min():.3g}..{img.max():.3g} "
                             f"in images[{row}]")
        r, c = divmod(cell, side)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = np.round(img * 255)
    return grid, (h, w)


def write_projector(run_dir, embeddings, labels, class_names=None, images=None,
                    overwrite: bool = False, *, seed: int = 0) -> dict[str, Path]:
    """Write the projector files for some embeddings into ``<run_dir>/projector``.

    Args:
        run_dir: the run's output folder (created if missing).
        embeddings: (N, D) numbers.
        labels: (N,) integer class ids.
        class_names: optional names of the class ids (the metadata then shows names).
        images: optional (N, h, w), (N, h, w, 1) or (N, h, w, 3) thumbnails in [0, 1] for the
            sprite. When more than :func:`sprite_capacity` ``(h, w)`` are given, a random
            sample of that many points (drawn with ``seed``) is written, and a line printed.
        overwrite: replace projector files already in the folder.
        seed: the seed of that sample (an int >= 0; unused when every point fits).

    Returns:
        ``{"folder": ..., "vectors": ..., "metadata": ..., "config": ..., "sprite": ...}``
        (``sprite`` only with images), ``"command"``: the line that opens it, and
        ``"points"``: the rows of ``embeddings`` written, in order (all of them unless sampled).

    Raises:
        TypeError, ValueError: bad arrays, lengths that differ, labels outside
        ``class_names``, images outside [0, 1], thumbnails larger than the sprite itself.
        FileExistsError: projector files exist and ``overwrite`` is False.
        ValueError: ``<run_dir>/projector`` is a file.
    """
    checks.path(run_dir, "run_dir")
    overwrite = checks.boolean(overwrite, "overwrite")
    seed = checks.seed(seed)
    emb = checks.float_array(embeddings, "embeddings", ndim=2)
    y = checks.class_labels(labels, "labels")
    checks.same_length(y, "labels", emb, "embeddings")
    if class_names is not None:
        names = [_clean(n) for n in class_names]
        checks.index_array(y, "labels", size=len(names))
        cells = [names[i] for i in y]
    else:
        cells = [str(i) for i in y]
    points = np.arange(len(emb))
    sprite = None
    if images is not None:
        shape = np.shape(images)
        if len(shape) not in (3, 4) or (len(shape) == 4 and shape[-1] not in (1, 3)):
            raise ValueError(f"images must have shape (N, h, w), (N, h, w, 1) or (N, h, w, 3), "
                             f"got {shape}")
        checks.same_length(range(shape[0]), "images", emb, "embeddings")
        capacity = sprite_capacity(*shape[1:3])
        if capacity == 0:
            raise ValueError(f"thumbnails of {shape[1]}x{shape[2]} are larger than the "
                             f"projector's {MAX_SPRITE_PIXELS}-pixel sprite: pass smaller images")
        if len(points) > capacity:
            points = np.sort(np.random.default_rng(seed).choice(len(points), capacity,
                                                                replace=False))
        sprite = _sprite(images, points)                  # checks each thumbnail it uses
    folder = Path(run_dir) / "projector"
    existing = [f for f in _FILES if (folder / f).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{folder} already holds {existing}; pass overwrite=True to "
                              "replace them")
    if len(points) < len(emb):
        h, w = sprite[1]
        print(f"projector: {len(emb):,} thumbnails of {h}x{w} do not fit one "
              f"{MAX_SPRITE_PIXELS}-pixel sprite; wrote a random sample of {len(points):,} "
              f"points (seed {seed}); the metadata's index column gives their rows")
    emb, cells = emb[points], [cells[i] for i in points]
    out = {"folder": folder, "vectors": folder / "vectors.tsv",
           "metadata": folder / "metadata.tsv", "config": folder / "projector_config.pbtxt"}
    pbtxt = ["embeddings {", '  tensor_name: "embeddings"',
             f"  tensor_shape: {emb.shape[0]}", f"  tensor_shape: {emb.shape[1]}",
             '  tensor_path: "vectors.tsv"', '  metadata_path: "metadata.tsv"']
    if sprite is not None:
        out["sprite"] = folder / "sprite.png"
        h, w = sprite[1]
        pbtxt += ["  sprite {", '    image_path: "sprite.png"', f"    single_image_dim: {w}",
                  f"    single_image_dim: {h}", "  }"]
    # The whole set into a fresh folder, which then replaces the old set (a sprite of an
    # earlier call is not kept beside a set without one); the config, naming the others, last.
    with config.atomic_folder(folder, _FILES) as tmp:
        np.savetxt(tmp / "vectors.tsv", emb, delimiter="\t", fmt="%.7g")
        _write_text(tmp / "metadata.tsv", ["index\tclass"] + [f"{i}\t{c}"
                                                                for i, c in zip(points, cells)])
        if sprite is not None:
            from PIL import Image

            Image.fromarray(sprite[0]).save(tmp / "sprite.png", format="PNG")
        _write_text(tmp / "projector_config.pbtxt", [*pbtxt, "}"])
    out["command"] = f"tensorboard --logdir {folder}"
    out["points"] = points
    return out
