"""Figures for the notebooks: image pairs, one-shot tasks, embeddings, ROC and accuracy curves.

Every function returns its Figure (or the Axes it drew on) and never calls ``plt.show()``:
the notebook displays what it gets back. Nothing is written to disk except by ``save_figure``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from course_lib.evaluate import _binary, _check_length, _class_labels, _float_array, _positive_int

_GOOD = "#2ca02c"  # green: same pair, true candidate
_BAD = "#d62728"  # red: different pair, wrong pick
_CHANCE = "0.5"


# --------------------------------------------------------------------------- helpers


def _images(x, name: str) -> np.ndarray:
    """A float image batch (N, H, W) or (N, H, W, 3); a single channel axis is dropped."""
    arr = np.asarray(x)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 or (arr.ndim == 4 and arr.shape[-1] == 3):
        return _float_array(arr, name, arr.ndim)
    raise ValueError(
        f"{name} must be images (N, H, W), (N, H, W, 1) or (N, H, W, 3), got {arr.shape}"
    )


def _draw_image(ax: Axes, img: np.ndarray, lo: float, hi: float) -> None:
    """Show one image on a shared intensity scale, without ticks (spines stay for borders)."""
    if img.ndim == 2:
        ax.imshow(img, cmap="gray", vmin=lo, vmax=hi)
    else:
        ax.imshow((img - lo) / (hi - lo) if hi > lo else np.zeros_like(img))
    ax.set_xticks([])
    ax.set_yticks([])


def _embedding_2d(emb, y, e_name: str = "emb", y_name: str = "y"):
    e = _float_array(emb, e_name, 2)
    if e.shape[1] != 2:
        raise ValueError(
            f"{e_name} must have D=2 columns to plot, got D={e.shape[1]}; reduce it first"
        )
    return e, _class_labels(y, y_name, len(e), e_name)


def _class_colors(classes) -> dict:
    """Labels 0-9 always get the same tab10 colour across figures; otherwise one hue per class."""
    classes = np.unique(classes)
    if classes.min() >= 0 and classes.max() < 10:
        palette = sns.color_palette("tab10", 10)
        return {c: palette[c] for c in classes}
    return dict(zip(classes, sns.color_palette("husl", len(classes)), strict=True))


def _class_name(c, class_names) -> str:
    if class_names is None:
        return str(c)
    try:
        return str(class_names[c])
    except (IndexError, KeyError) as err:
        raise ValueError(f"class_names has no entry for class {c}") from err


def _legend_handles(colors: dict, class_names) -> list[Line2D]:
    return [
        Line2D(
            [], [], ls="", marker="o", markersize=6, color=col, label=_class_name(c, class_names)
        )
        for c, col in colors.items()
    ]


def _scatter(ax: Axes, e: np.ndarray, y: np.ndarray, colors: dict, max_points: int) -> None:
    """Scatter at most ``max_points`` points in random order, so no class hides the others."""
    order = np.random.default_rng(0).permutation(len(e))[:max_points]
    ax.scatter(
        e[order, 0],
        e[order, 1],
        c=[colors[c] for c in y[order]],
        s=4,
        alpha=0.7,
        linewidths=0,
        rasterized=True,
    )
    ax.set_aspect("equal", adjustable="datalim")


def _label_embedding_axes(ax: Axes, handles: list[Line2D], title: str) -> Axes:
    """Class legend outside the frame on the right, axis labels and title of a 2-D embedding plot."""
    ax.legend(handles=handles, title="class", loc="center left", bbox_to_anchor=(1.01, 0.5),
              frameon=False, fontsize="small")
    ax.set_xlabel("embedding dim 1")
    ax.set_ylabel("embedding dim 2")
    ax.set_title(title)
    return ax


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _unit_interval(x, name: str) -> np.ndarray:
    arr = _float_array(x, name, 1)
    if arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{name} must lie in [0, 1]")
    return arr


# --------------------------------------------------------------------------- images


def show_pairs(x_a, x_b, labels, n: int = 8, title: str = "Image pairs") -> Figure:
    """The first ``n`` pairs as two rows (image A over image B), captioned "same"/"different".

    The two rows may hold images of different sizes (two kinds of input, notebook 02).
    """
    a, b = _images(x_a, "x_a"), _images(x_b, "x_b")
    if len(b) != len(a):
        raise ValueError(f"x_b must hold as many images as x_a, got {len(b)} and {len(a)}")
    lab = _binary(labels, "labels", "0 (different) and 1 (similar)")
    _check_length(lab, "labels", len(a), "x_a")
    n = _positive_int(n, "n")
    if n > len(a):
        raise ValueError(f"n must be at most the number of pairs ({len(a)}), got {n}")
    lo = float(min(a[:n].min(), b[:n].min()))
    hi = float(max(a[:n].max(), b[:n].max()))
    fig, axes = plt.subplots(
        2, n, figsize=(1.3 * n + 0.8, 3.2), squeeze=False, layout="constrained"
    )
    for i in range(n):
        _draw_image(axes[0, i], a[i], lo, hi)
        _draw_image(axes[1, i], b[i], lo, hi)
        same = lab[i] == 1
        axes[1, i].set_xlabel("same" if same else "different", color=_GOOD if same else _BAD)
    axes[0, 0].set_ylabel("image A")
    axes[1, 0].set_ylabel("image B")
    fig.suptitle(title)
    return fig


def plot_one_shot_task(
    query, candidates, pick: int, truth: int, title: str = "One-shot task"
) -> Figure:
    """Query, then the N candidates: green border on the true match, red on a wrong pick."""
    q = _images(np.asarray(query)[None], "query")[0]
    cands = _images(candidates, "candidates")
    if cands.shape[1:] != q.shape:
        raise ValueError(
            f"candidates must be images shaped like query {q.shape}, got {cands.shape[1:]}"
        )
    n = len(cands)
    for value, name in ((pick, "pick"), (truth, "truth")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer index, got {type(value).__name__}")
        if not 0 <= value < n:
            raise ValueError(f"{name} must be a candidate index in [0, {n}), got {value}")
    lo = float(min(q.min(), cands.min()))
    hi = float(max(q.max(), cands.max()))
    fig, axes = plt.subplots(
        1, n + 1, figsize=(min(1.15 * (n + 1) + 0.5, 24), 2.6), layout="constrained"
    )
    _draw_image(axes[0], q, lo, hi)
    axes[0].set_xlabel("query", fontweight="bold")
    for i, ax in enumerate(axes[1:]):
        _draw_image(ax, cands[i], lo, hi)
        ax.set_title(str(i), fontsize=8)
        if i == truth or i == pick:
            color = _GOOD if i == truth else _BAD
            caption = "pick = truth" if pick == truth else ("truth" if i == truth else "pick")
            ax.set_xlabel(caption, color=color)
            for spine in ax.spines.values():
                spine.set_edgecolor(color)
                spine.set_linewidth(4)
    verdict = "correct" if pick == truth else "wrong"
    fig.suptitle(f"{title}: {n}-way, the model's pick is {verdict}")
    return fig


# --------------------------------------------------------------------------- embeddings


def plot_embedding(
    emb,
    y,
    ax: Axes | None = None,
    title: str = "Embedding",
    class_names=None,
    max_points: int = 5000,
) -> Axes:
    """2-D embedding as a scatter coloured by class; ``class_names`` maps label -> name."""
    e, lab = _embedding_2d(emb, y)
    max_points = _positive_int(max_points, "max_points")
    colors = _class_colors(lab)
    handles = _legend_handles(colors, class_names)
    ax = _new_axes(ax, (6.5, 5.0))
    _scatter(ax, e, lab, colors, max_points)
    return _label_embedding_axes(ax, handles, title)


def plot_embedding_grid(
    snapshots: dict,
    title: str = "Embeddings",
    class_names=None,
    max_points: int = 2000,
) -> Figure:
    """Grid of 2-D embeddings, ``snapshots[row][column] = (emb, y)``, with one shared legend.

    E.g. rows = epochs and columns = models; every row must have the same columns.
    """
    if not isinstance(snapshots, dict) or not snapshots:
        raise TypeError("snapshots must be a non-empty dict {row: {column: (emb, y)}}")
    rows = list(snapshots)
    first = snapshots[rows[0]]
    if not isinstance(first, dict) or not first:
        raise TypeError(f"snapshots[{rows[0]!r}] must be a non-empty dict {{column: (emb, y)}}")
    cols = list(first)
    for r in rows:
        if not isinstance(snapshots[r], dict) or list(snapshots[r]) != cols:
            raise ValueError(f"snapshots[{r!r}] must have the columns {cols} like the first row")
    max_points = _positive_int(max_points, "max_points")
    cells = {}
    for r in rows:
        for c in cols:
            pair = snapshots[r][c]
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"snapshots[{r!r}][{c!r}] must be a pair (emb, y)")
            cells[r, c] = _embedding_2d(
                *pair, f"snapshots[{r!r}][{c!r}] emb", f"snapshots[{r!r}][{c!r}] y"
            )
    colors = _class_colors(np.concatenate([lab for _, lab in cells.values()]))
    handles = _legend_handles(colors, class_names)
    fig, axes = plt.subplots(
        len(rows),
        len(cols),
        figsize=(3.2 * len(cols) + 1.6, 3.0 * len(rows) + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            ax = axes[i, j]
            _scatter(ax, *cells[r, c], colors, max_points)
            ax.tick_params(labelsize=7)
            ax.set_title(f"{c}, {r}")
    fig.supxlabel("embedding dim 1")
    fig.supylabel("embedding dim 2")
    fig.legend(
        handles=handles,
        title="class",
        loc="outside right center",
        frameon=False,
    )
    fig.suptitle(title)
    return fig


def plot_decision_regions(
    model,
    emb,
    y,
    ax: Axes | None = None,
    title: str = "Decision regions",
    class_names=None,
    resolution: int = 300,
    max_points: int = 5000,
) -> Axes:
    """Regions a fitted classifier (e.g. ``fit_linear_probe``) assigns to each class, plus points."""
    if not callable(getattr(model, "predict", None)):
        raise TypeError(
            f"model must be a fitted classifier with .predict, got {type(model).__name__}"
        )
    e, lab = _embedding_2d(emb, y)
    if _positive_int(resolution, "resolution") < 2:
        raise ValueError(f"resolution must be at least 2 grid points per axis, got {resolution}")
    max_points = _positive_int(max_points, "max_points")
    lo, hi = e.min(axis=0), e.max(axis=0)
    pad = 0.05 * np.where(hi > lo, hi - lo, 1.0)
    xx, yy = np.meshgrid(
        np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution),
        np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution),
    )
    pred = np.asarray(model.predict(np.column_stack([xx.ravel(), yy.ravel()])))
    classes = np.unique(np.concatenate([lab, pred]))
    colors = _class_colors(classes)
    handles = _legend_handles(colors, class_names)
    region = np.searchsorted(classes, pred).reshape(xx.shape)
    ax = _new_axes(ax, (6.5, 5.0))
    ax.contourf(
        xx,
        yy,
        region,
        levels=np.arange(len(classes) + 1) - 0.5,
        colors=[colors[c] for c in classes],
        alpha=0.25,
    )
    _scatter(ax, e, lab, colors, max_points)
    ax.set_xlim(xx[0, 0], xx[0, -1])
    ax.set_ylim(yy[0, 0], yy[-1, 0])
    ax.set_aspect("equal", adjustable="box")  # the regions fill the frame exactly
    return _label_embedding_axes(ax, handles, title)


# --------------------------------------------------------------------------- curves


def plot_roc(
    fpr, tpr, auc: float, ax: Axes | None = None, label: str = "model", title: str = "ROC curve"
) -> Axes:
    """ROC curve labelled with its AUC, over the chance diagonal; call again to compare models."""
    f, t = _unit_interval(fpr, "fpr"), _unit_interval(tpr, "tpr")
    _check_length(t, "tpr", len(f), "fpr")
    if isinstance(auc, bool) or not isinstance(auc, (int, float)) or not 0 <= auc <= 1:
        raise ValueError(f"auc must be a number in [0, 1], got {auc!r}")
    ax = _new_axes(ax, (5.0, 5.0))
    if not any(line.get_gid() == "chance" for line in ax.lines):
        ax.plot([0, 1], [0, 1], ls="--", color=_CHANCE, label="chance", gid="chance")
    ax.plot(f, t, lw=2, label=f"{label} (AUC = {auc:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate (different pairs called same)")
    ax.set_ylabel("true positive rate (same pairs called same)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return ax


def plot_distance_histogram(
    distances,
    labels,
    threshold: float | None = None,
    ax: Axes | None = None,
    bins: int = 60,
    title: str = "Distances of same and different pairs",
) -> Axes:
    """Histograms of the distances of same pairs (label 1) and different pairs (label 0).

    Args:
        distances: one distance per pair, shape (n,).
        labels: 1 for a same-class pair, 0 for a different-class pair, shape (n,).
        threshold: if given, drawn as a vertical line ("same" at or below it).
        ax: Axes to draw on (a new figure if None).
        bins: number of histogram bins shared by both kinds of pair.
        title: the plot's title.

    Returns:
        The Axes drawn on.

    Raises:
        ValueError: distances not 1-D, labels not 0/1 or of another length, bins < 1.
    """
    d = _float_array(distances, "distances", 1)
    lab = _binary(labels, "labels", "0 (different) and 1 (similar)")
    _check_length(lab, "labels", len(d), "distances")
    bins = _positive_int(bins, "bins")
    edges = np.histogram_bin_edges(d, bins=bins)
    ax = _new_axes(ax, (6.5, 4.0))
    ax.hist(d[lab == 1], bins=edges, alpha=0.6, color=_GOOD, label="same-class pairs")
    ax.hist(d[lab == 0], bins=edges, alpha=0.6, color=_BAD, label="different-class pairs")
    if threshold is not None:
        ax.axvline(float(threshold), color="black", ls="--",
                   label=f"threshold {float(threshold):.3f}")
    ax.set_xlabel("distance between the two embeddings")
    ax.set_ylabel("number of pairs")
    ax.set_title(title)
    ax.legend(loc="upper right")
    return ax


def plot_accuracy_vs_n(
    ns,
    curves: dict,
    errors: dict | None = None,
    ax: Axes | None = None,
    title: str = "N-way one-shot accuracy",
) -> Axes:
    """Accuracy against the number of candidates N per model, with the 1/N chance line.

    ``errors`` optionally maps a curve name to ``(low, high)`` interval bounds (not offsets).
    """
    n_arr = np.asarray(ns)
    if n_arr.ndim != 1 or n_arr.size == 0:
        raise ValueError(f"ns must be a non-empty 1-D sequence, got shape {n_arr.shape}")
    if n_arr.dtype.kind not in "iu":
        raise TypeError(f"ns must hold integers (candidates per task), got dtype {n_arr.dtype}")
    if n_arr.min() < 1 or (np.diff(n_arr) <= 0).any():
        raise ValueError(f"ns must be strictly increasing and at least 1, got {n_arr.tolist()}")
    if not isinstance(curves, dict) or not curves:
        raise TypeError("curves must be a non-empty dict {name: accuracies}")
    errors = {} if errors is None else errors
    if not isinstance(errors, dict):
        raise TypeError("errors must be a dict {name: (low, high)} or None")
    unknown = set(errors) - set(curves)
    if unknown:
        raise ValueError(f"errors has names not in curves: {sorted(map(str, unknown))}")
    series = []
    for name, acc in curves.items():
        acc = _unit_interval(acc, f"curves[{name!r}]")
        _check_length(acc, f"curves[{name!r}]", len(n_arr), "ns")
        yerr = None
        if name in errors:
            if not isinstance(errors[name], (tuple, list)) or len(errors[name]) != 2:
                raise TypeError(f"errors[{name!r}] must be a pair (low, high)")
            low = _float_array(errors[name][0], f"errors[{name!r}] low", 1)
            high = _float_array(errors[name][1], f"errors[{name!r}] high", 1)
            _check_length(low, f"errors[{name!r}] low", len(n_arr), "ns")
            _check_length(high, f"errors[{name!r}] high", len(n_arr), "ns")
            if (low > acc).any() or (high < acc).any():
                raise ValueError(f"errors[{name!r}] must satisfy low <= accuracy <= high")
            yerr = np.vstack([acc - low, high - acc])
        series.append((str(name), acc, yerr))
    ax = _new_axes(ax, (6.0, 4.2))
    for name, acc, yerr in series:
        (line,) = ax.plot(n_arr, acc, marker="o", label=name)
        if yerr is not None:
            ax.errorbar(n_arr, acc, yerr=yerr, fmt="none", capsize=3, color=line.get_color())
    ax.plot(n_arr, 1 / n_arr, ls="--", marker=".", color=_CHANCE, label="chance (1/N)")
    ax.set_xticks(n_arr)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("N (candidates per task)")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_with_spread(
    x,
    values,
    ax: Axes | None = None,
    label: str | None = None,
    title: str = "Metric over training",
    xlabel: str = "epoch",
    ylabel: str = "value",
    spread: str = "range",
) -> Axes:
    """Mean over seeds as a line, shaded by the seeds' min-max ``range`` or +-1 ``std``.

    ``values`` has shape (seeds, len(x)); call again on the same ``ax`` to add another curve.
    """
    xs = _float_array(x, "x", 1)
    v = _float_array(values, "values", 2)
    if v.shape[1] != len(xs):
        raise ValueError(f"values must have shape (seeds, {len(xs)}) to match x, got {v.shape}")
    if spread not in ("range", "std"):
        raise ValueError(f"spread must be 'range' or 'std', got {spread!r}")
    mean = v.mean(axis=0)
    if spread == "range":
        low, high = v.min(axis=0), v.max(axis=0)
    else:
        sd = v.std(axis=0, ddof=1) if len(v) > 1 else np.zeros_like(mean)
        low, high = mean - sd, mean + sd
    ax = _new_axes(ax, (6.0, 4.2))
    band = "min-max" if spread == "range" else "±1 std"
    full_label = None if label is None else f"{label} (mean of {len(v)} seeds, band {band})"
    (line,) = ax.plot(xs, mean, lw=2, label=full_label)
    ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if label is not None:
        ax.legend()
    return ax


def save_figure(fig: Figure | Axes, path, dpi: int = 150) -> Path:
    """Write a figure (or an Axes' figure) to ``path``, creating folders; returns the path."""
    if isinstance(fig, Axes):
        fig = fig.figure
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure or Axes, got {type(fig).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
