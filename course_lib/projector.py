"""Files for TensorBoard's embedding projector: vectors, labels, a sprite of thumbnails, a config.

:func:`write_projector` writes into one folder of the run (nothing elsewhere)::

    <run_dir>/projector/vectors.tsv            one embedding per line, tab-separated
    <run_dir>/projector/metadata.tsv           header "index<TAB>class", then one line per point
    <run_dir>/projector/sprite.png             the thumbnails in a square grid (optional)
    <run_dir>/projector/projector_config.pbtxt tells TensorBoard how the files fit together

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

__all__ = ["MAX_SPRITE_PIXELS", "write_projector"]

MAX_SPRITE_PIXELS = 8192          # the projector's largest sprite side
_FILES = ("vectors.tsv", "metadata.tsv", "sprite.png", "projector_config.pbtxt")


def _clean(text: str) -> str:
    """A metadata cell: tabs and line breaks would break the TSV, so they become spaces."""
    return " ".join(str(text).split())


def _check_sprite_size(n: int, h: int, w: int) -> int:
    """The side (in thumbnails) of the square sprite grid; raises if it would be too large."""
    side = math.ceil(math.sqrt(n))
    if side * max(h, w) > MAX_SPRITE_PIXELS:
        raise ValueError(f"{n} thumbnails of {h}x{w} need a {side * h}x{side * w} sprite, more "
                         f"than the projector's {MAX_SPRITE_PIXELS} pixels: pass fewer points "
                         "or smaller images")
    return side


def _write_text(path: Path, lines: list[str]) -> None:
    """``lines``, one a line, to ``path`` in UTF-8, through a temporary file."""
    with config.atomic_file(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _sprite(images: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Thumbnails (n, h, w[, c]) in [0, 1] tiled row by row into a square uint8 grid."""
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    n, h, w = images.shape[:3]
    side = _check_sprite_size(n, h, w)
    grid = np.ones((side * h, side * w, *images.shape[3:]), np.float64)   # white padding
    for i, img in enumerate(images):
        r, c = divmod(i, side)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = img
    return np.round(np.clip(grid, 0, 1) * 255).astype(np.uint8), (h, w)


def write_projector(run_dir, embeddings, labels, class_names=None, images=None,
                    overwrite: bool = False) -> dict[str, Path]:
    """Write the projector files for some embeddings into ``<run_dir>/projector``.

    Args:
        run_dir: the run's output folder (created if missing).
        embeddings: (N, D) numbers.
        labels: (N,) integer class ids.
        class_names: optional names of the class ids (the metadata then shows names).
        images: optional (N, h, w), (N, h, w, 1) or (N, h, w, 3) thumbnails in [0, 1] for the
            sprite.
        overwrite: replace projector files already in the folder.

    Returns:
        ``{"folder": ..., "vectors": ..., "metadata": ..., "config": ..., "sprite": ...}``
        (``sprite`` only with images) and ``"command"``: the line that opens it.

    Raises:
        TypeError, ValueError: bad arrays, lengths that differ, labels outside
        ``class_names``, images outside [0, 1] or too many for one sprite.
        FileExistsError: projector files exist and ``overwrite`` is False.
    """
    checks.path(run_dir, "run_dir")
    overwrite = checks.boolean(overwrite, "overwrite")
    emb = checks.float_array(embeddings, "embeddings", ndim=2)
    y = checks.class_labels(labels, "labels")
    checks.same_length(y, "labels", emb, "embeddings")
    if class_names is not None:
        names = [_clean(n) for n in class_names]
        checks.index_array(y, "labels", size=len(names))
        cells = [names[i] for i in y]
    else:
        cells = [str(i) for i in y]
    sprite = None
    if images is not None:
        shape = np.shape(images)
        if len(shape) not in (3, 4) or (len(shape) == 4 and shape[-1] not in (1, 3)):
            raise ValueError(f"images must have shape (N, h, w), (N, h, w, 1) or (N, h, w, 3), "
                             f"got {shape}")
        checks.same_length(range(shape[0]), "images", emb, "embeddings")
        _check_sprite_size(*shape[:3])               # before converting a huge array
        imgs = checks.float_array(images, "images")
        if imgs.min() < 0 or imgs.max() > 1:
            raise ValueError(f"images must lie in [0, 1], got {imgs.min():.3g}..{imgs.max():.3g}")
        sprite = _sprite(imgs)
    folder = Path(run_dir) / "projector"
    existing = [f for f in _FILES if (folder / f).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{folder} already holds {existing}; pass overwrite=True to "
                              "replace them")
    folder.mkdir(parents=True, exist_ok=True)
    out = {"folder": folder, "vectors": folder / "vectors.tsv",
           "metadata": folder / "metadata.tsv", "config": folder / "projector_config.pbtxt"}
    with config.atomic_file(out["vectors"]) as tmp:
        np.savetxt(tmp, emb, delimiter="\t", fmt="%.7g")
    lines = ["index\tclass"] + [f"{i}\t{c}" for i, c in enumerate(cells)]
    _write_text(out["metadata"], lines)
    pbtxt = ["embeddings {", '  tensor_name: "embeddings"',
              f"  tensor_shape: {emb.shape[0]}", f"  tensor_shape: {emb.shape[1]}",
              '  tensor_path: "vectors.tsv"', '  metadata_path: "metadata.tsv"']
    if sprite is not None:
        from PIL import Image

        out["sprite"] = folder / "sprite.png"
        with config.atomic_file(out["sprite"]) as tmp:
            Image.fromarray(sprite[0]).save(tmp, format="PNG")
        h, w = sprite[1]
        pbtxt += ["  sprite {", '    image_path: "sprite.png"', f"    single_image_dim: {w}",
                   f"    single_image_dim: {h}", "  }"]
    elif (folder / "sprite.png").exists():
        (folder / "sprite.png").unlink()          # overwrite=True: no stale sprite left behind
    _write_text(out["config"], [*pbtxt, "}"])
    out["command"] = f"tensorboard --logdir {folder}"
    return out
