"""Figures for the notebooks: image pairs, one-shot tasks, embeddings, ROC and accuracy curves.

Every function returns its Figure (or the Axes it drew on) and never calls ``plt.show()``:
the notebook displays what it gets back. Nothing is written to disk except by ``save_figure``.

Introduced in notebook 01.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from course_lib import checks, config

# matplotlib logs "findfont: Font family [...] not found. Falling back to DejaVu Sans." (a
# WARNING) each time mathtext looks for a font this machine lacks; the fallback draws the
# figure as intended, so only errors of the font manager are shown.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

__all__ = [
    "plot_ablation",
    "plot_accuracy_vs_n",
    "plot_decision_regions",
    "plot_distance_histogram",
    "plot_embedding",
    "plot_embedding_grid",
    "plot_episode_matrix",
    "plot_nearest_neighbours",
    "plot_one_shot_task",
    "plot_roc",
    "plot_siamese_architecture",
    "plot_with_spread",
    "save_figure",
    "show_pairs",
]

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
        return checks.float_array(arr, name, arr.ndim)
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
    e = checks.float_array(emb, e_name, 2)
    if e.shape[1] != 2:
        raise ValueError(
            f"{e_name} must have D=2 columns to plot, got D={e.shape[1]}; reduce it first"
        )
    lab = checks.class_labels(y, y_name)
    checks.same_length(lab, y_name, e, e_name)
    return e, lab


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
    arr = checks.float_array(x, name, 1)
    if arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{name} must lie in [0, 1]")
    return arr


# --------------------------------------------------------------------------- images


def show_pairs(x_a, x_b, labels, n: int = 8, title: str = "Image pairs",
               row_labels=("image A", "image B"), captions=None) -> Figure:
    """The first ``n`` pairs as two rows (image A over image B), captioned "same"/"different".

    The two rows may hold images of different sizes (two kinds of input, notebook 02).

    Args:
        x_a: images (N, H, W), (N, H, W, 1) or (N, H, W, 3).
        x_b: as many images, maybe of another size.
        labels: pair labels, 1 = same, 0 = different (N,).
        n: pairs shown, an int in [1, N].
        title: the figure's title.
        row_labels: the names of the two rows, two strings (e.g. ``("anchor", "candidate")``).
        captions: None (each column captioned "same" or "different" from ``labels``), or one
            string per shown column (e.g. the class of each pair).

    Returns:
        The Figure.

    Raises:
        TypeError: non-numeric images or labels, a non-int ``n``, row labels or captions that
            are not strings.
        ValueError: wrong shapes or lengths, labels other than 0/1, ``n`` out of range, not two
            row labels, not ``n`` captions.
    """
    if (not isinstance(row_labels, (tuple, list)) or len(row_labels) != 2
            or not all(isinstance(r, str) for r in row_labels)):
        raise ValueError(f"row_labels must be two strings, got {row_labels!r}")
    a, b = _images(x_a, "x_a"), _images(x_b, "x_b")
    checks.same_length(b, "x_b", a, "x_a")
    lab = checks.binary_labels(labels, "labels", "0 (different) and 1 (similar)")
    checks.same_length(lab, "labels", a, "x_a")
    n = checks.positive_int(n, "n")
    if n > len(a):
        raise ValueError(f"n must be at most the number of pairs ({len(a)}), got {n}")
    if captions is not None:
        captions = list(captions)
        if len(captions) != n or not all(isinstance(c, str) for c in captions):
            raise ValueError(f"captions must be {n} strings (one per shown pair), got "
                             f"{captions!r:.80}")
    lo = float(min(a[:n].min(), b[:n].min()))
    hi = float(max(a[:n].max(), b[:n].max()))
    fig, axes = plt.subplots(
        2, n, figsize=(1.3 * n + 0.8, 3.2), squeeze=False, layout="constrained"
    )
    for i in range(n):
        _draw_image(axes[0, i], a[i], lo, hi)
        _draw_image(axes[1, i], b[i], lo, hi)
        if captions is None:
            same = lab[i] == 1
            axes[1, i].set_xlabel("same" if same else "different",
                                  color=_GOOD if same else _BAD)
        else:
            axes[1, i].set_xlabel(captions[i], fontsize=8)
    axes[0, 0].set_ylabel(row_labels[0])
    axes[1, 0].set_ylabel(row_labels[1])
    fig.suptitle(title)
    return fig


def plot_episode_matrix(d2, ax: Axes | None = None,
                        title: str = "One episode: which candidate each anchor picks") -> Axes:
    """The softmax over candidates of minus the squared distances of one N-way episode: row
    ``i`` is anchor ``i``'s probability for each candidate ``j``. The N-way loss pushes the
    diagonal (the true candidates) up; a ring marks each anchor's pick when it is off the
    diagonal.

    Args:
        d2: squared distances (N, N), ``d2[i, j]`` between anchor ``i`` and candidate ``j``.
        ax: the matplotlib Axes to draw on, or None for a new figure.
        title: the plot's title.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: non-numeric distances, ``ax`` not an Axes.
        ValueError: not a square matrix of at least 2 x 2, negative or non-finite distances.
    """
    from scipy.special import softmax

    d = checks.float_array(d2, "d2", 2)
    if d.shape[0] != d.shape[1] or d.shape[0] < 2:
        raise ValueError(f"d2 must be a square matrix (N, N) with N >= 2, got shape {d.shape}")
    if np.any(d < 0):
        raise ValueError("d2 must hold squared distances (>= 0), got negative values")
    n = d.shape[0]
    p = softmax(-d, axis=1)
    ax = _new_axes(ax, (5.6, 4.8))
    image = ax.imshow(p, cmap="viridis", vmin=0.0, vmax=1.0)
    ax.figure.colorbar(image, ax=ax, label="probability of candidate j")
    picks = p.argmax(axis=1)
    wrong = np.flatnonzero(picks != np.arange(n))
    if wrong.size:
        ax.scatter(picks[wrong], wrong, s=90, facecolors="none", edgecolors=_BAD, linewidths=2,
                   label="pick off the diagonal (wrong)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize="small")
    ax.set_xticks(range(0, n, max(1, n // 10)))
    ax.set_yticks(range(0, n, max(1, n // 10)))
    ax.set_xlabel("candidate j")
    ax.set_ylabel("anchor i")
    ax.set_title(f"{title}\n{n - wrong.size} of {n} anchors pick their own candidate")
    return ax


def plot_one_shot_task(
    query, candidates, pick: int, truth: int, title: str = "One-shot task", rows: int = 1
) -> Figure:
    """Query, then the N candidates: green border on the true match, red on a wrong pick.

    The candidates are captioned 1 to N (``pick`` and ``truth`` are 0-based indices).

    Args:
        query: one image (H, W), (H, W, 1) or (H, W, 3).
        candidates: N images shaped like ``query``.
        pick: the model's chosen candidate, an int in [0, N).
        truth: the true candidate, an int in [0, N).
        title: the figure's title.
        rows: rows the candidates are laid out in (the query sits left of the first), an int
            in [1, N]; 2 keeps a 20-way task readable.

    Returns:
        The Figure.

    Raises:
        TypeError: non-int ``pick``, ``truth`` or ``rows``, non-numeric images.
        ValueError: shapes that differ, an index out of range.
    """
    q = _images(np.asarray(query)[None], "query")[0]
    cands = _images(candidates, "candidates")
    if cands.shape[1:] != q.shape:
        raise ValueError(
            f"candidates must be images shaped like query {q.shape}, got {cands.shape[1:]}"
        )
    n = len(cands)
    pick = checks.integer(pick, "pick", 0, n - 1)
    truth = checks.integer(truth, "truth", 0, n - 1)
    rows = checks.integer(rows, "rows", 1, n)
    cols = -(-n // rows)
    lo = float(min(q.min(), cands.min()))
    hi = float(max(q.max(), cands.max()))
    fig, axes = plt.subplots(
        rows, cols + 1, figsize=(min(1.15 * (cols + 1) + 0.5, 24), 0.4 + 2.2 * rows),
        layout="constrained", squeeze=False,
    )
    for ax in axes[:, 0]:
        ax.set_axis_off()
    axes[0, 0].set_axis_on()
    _draw_image(axes[0, 0], q, lo, hi)
    axes[0, 0].set_xlabel("query", fontweight="bold")
    slots = axes[:, 1:].ravel()
    for ax in slots[n:]:
        ax.set_axis_off()
    for i, ax in enumerate(slots[:n]):
        _draw_image(ax, cands[i], lo, hi)
        ax.set_title(str(i + 1), fontsize=8)         # numbered from 1, as people count
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


def plot_nearest_neighbours(queries, neighbours, distances, correct, answers=None,
                            title: str = "Nearest gallery images of each query") -> Figure:
    """One row per query: the query, then its nearest gallery images with their distances.

    Args:
        queries: n images (H, W), (H, W, 1) or (H, W, 3) each.
        neighbours: (n, k, ...) the k nearest gallery images of each query, nearest first,
            shaped like the queries.
        distances: (n, k) their distances to the query.
        correct: (n, k) booleans: True (green border) when the neighbour is of the query's
            class, False (red) when not.
        answers: optional n strings printed under each query (say, ``identify``'s answer).
        title: the figure's title.

    Returns:
        The Figure.

    Raises:
        TypeError: non-numeric images or distances.
        ValueError: shapes that disagree, non-finite distances, ``answers`` of another length.
    """
    q = _images(queries, "queries")
    nb = np.asarray(neighbours)
    if nb.ndim < 3 or len(nb) != len(q):
        raise ValueError(f"neighbours must have shape (n, k, ...) with n = {len(q)} queries, "
                         f"got {nb.shape}")
    n, k = nb.shape[:2]
    nb = _images(nb.reshape(n * k, *nb.shape[2:]), "neighbours")
    if nb.shape[1:] != q.shape[1:]:
        raise ValueError(f"neighbours must be images shaped like the queries {q.shape[1:]}, "
                         f"got {nb.shape[1:]}")
    d = checks.float_array(distances, "distances", 2)
    ok = np.asarray(correct)
    for arr, name in ((d, "distances"), (ok, "correct")):
        if arr.shape != (n, k):
            raise ValueError(f"{name} must have shape ({n}, {k}), got {arr.shape}")
    if ok.dtype != bool:
        raise TypeError(f"correct must hold booleans, got dtype {ok.dtype}")
    if answers is not None:
        answers = [str(a) for a in answers]
        checks.same_length(answers, "answers", q, "queries")
    lo, hi = float(min(q.min(), nb.min())), float(max(q.max(), nb.max()))
    fig, axes = plt.subplots(n, k + 1, figsize=(1.3 * (k + 1) + 0.4, 1.55 * n + 0.5),
                             layout="constrained", squeeze=False)
    for r in range(n):
        _draw_image(axes[r, 0], q[r], lo, hi)
        axes[r, 0].set_ylabel(f"query {r + 1}", fontweight="bold")
        if answers is not None:
            axes[r, 0].set_xlabel(answers[r], fontsize=7)
        for c in range(k):
            ax = axes[r, c + 1]
            _draw_image(ax, nb[r * k + c], lo, hi)
            ax.set_xlabel(f"d = {d[r, c]:.2f}", fontsize=8)
            for spine in ax.spines.values():
                spine.set_edgecolor(_GOOD if ok[r, c] else _BAD)
                spine.set_linewidth(3)
    fig.suptitle(f"{title} (green: same class, red: another)")
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
    """2-D embedding as a scatter coloured by class.

    Args:
        emb: embeddings (N, 2).
        y: integer class labels (N,).
        ax: the matplotlib Axes to draw on, or None for a new figure.
        title: the plot's title.
        class_names: maps a label to its name in the legend (list or dict), or None.
        max_points: points drawn at most (a random subset), an int >= 1.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: non-numeric embeddings, non-integer labels, ``ax`` not an Axes.
        ValueError: not 2-D embeddings with D=2, lengths that differ, a class without a name.
    """
    e, lab = _embedding_2d(emb, y)
    max_points = checks.positive_int(max_points, "max_points")
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

    Args:
        snapshots: ``{row: {column: (emb, y)}}``.
        title: the figure's title.
        class_names: maps a label to its name in the legend (list or dict), or None.
        max_points: points drawn per panel at most, an int >= 1.

    Returns:
        The Figure.

    Raises:
        TypeError: ``snapshots`` not a non-empty dict of dicts of pairs.
        ValueError: rows with other columns, bad embeddings or labels.
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
    max_points = checks.positive_int(max_points, "max_points")
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
    """Regions a fitted classifier (e.g. ``fit_linear_probe``) assigns to each class, plus points.

    Args:
        model: a fitted classifier with ``.predict`` on 2-D points.
        emb: embeddings (N, 2).
        y: integer class labels (N,).
        ax: the matplotlib Axes to draw on, or None for a new figure.
        title: the plot's title.
        class_names: maps a label to its name in the legend (list or dict), or None.
        resolution: grid points per axis, an int >= 2.
        max_points: points drawn at most, an int >= 1.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: ``model`` without ``predict``, bad types as in :func:`plot_embedding`.
        ValueError: ``resolution`` < 2, bad shapes as in :func:`plot_embedding`.
    """
    if not callable(getattr(model, "predict", None)):
        raise TypeError(
            f"model must be a fitted classifier with .predict, got {type(model).__name__}"
        )
    e, lab = _embedding_2d(emb, y)
    resolution = checks.integer(resolution, "resolution", minimum=2)
    max_points = checks.positive_int(max_points, "max_points")
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
    fpr,
    tpr,
    auc: float,
    ax: Axes | None = None,
    label: str = "model",
    title: str = "ROC curve",
    log_fpr: bool = False,
    marks: dict | None = None,
) -> Axes:
    """ROC curve labelled with its AUC, over the chance diagonal; call again to compare models.

    On linear axes a good curve hugs the top-left corner, where the operating points that matter
    lie; ``log_fpr=True`` spreads the small false positive rates out (rates of 0 cannot be drawn
    there, so the curve starts at its first positive rate). ``marks`` puts named points on the
    curve, e.g. the rates at a chosen threshold and the equal error rate ``(eer, 1 - eer)``.

    Args:
        fpr: false positive rates in [0, 1].
        tpr: true positive rates in [0, 1], as many.
        auc: the area under the curve, in [0, 1].
        ax: the matplotlib Axes to draw on, or None for a new figure.
        label: the curve's name in the legend.
        title: the plot's title.
        log_fpr: True for a logarithmic false positive axis.
        marks: ``{name: (fpr, tpr)}``, points drawn and named in the legend, or None.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: non-numeric rates or AUC, ``ax`` not an Axes, ``log_fpr`` not a bool,
            ``marks`` not a dict of pairs.
        ValueError: rates outside [0, 1] or of different lengths, AUC outside [0, 1], a mark's
            rates outside [0, 1], or ``log_fpr`` with no positive false positive rate.
    """
    f, t = _unit_interval(fpr, "fpr"), _unit_interval(tpr, "tpr")
    checks.same_length(t, "tpr", f, "fpr")
    auc = checks.probability(auc, "auc")
    log_fpr = checks.boolean(log_fpr, "log_fpr")
    points = _roc_marks(marks)
    if log_fpr and not np.any(f > 0):
        raise ValueError("log_fpr=True needs at least one positive false positive rate in fpr")
    ax = _new_axes(ax, (5.0, 5.0))
    if log_fpr:
        low = 10.0 ** np.floor(np.log10(f[f > 0].min()))
        if ax.get_xscale() == "log":
            low = min(low, ax.get_xlim()[0])
        ax.set_xscale("log")
        chance_x = np.logspace(np.log10(low), 0, 200)
    else:
        low, chance_x = 0.0, np.array([0.0, 1.0])
    if not any(line.get_gid() == "chance" for line in ax.lines):
        ax.plot(chance_x, chance_x, ls="--", color=_CHANCE, label="chance", gid="chance")
    ax.plot(f, t, lw=2, label=f"{label} (AUC = {auc:.3f})")
    for name, (x, y) in points.items():
        ax.plot([x], [y], ls="none", marker="o", ms=8, mec="black", label=name)
    ax.set_xlim(low, 1)
    ax.set_ylim(0, 1.01)
    if not log_fpr:
        ax.set_aspect("equal")
    ax.set_xlabel("false positive rate (different pairs called same)"
                  + (", log scale" if log_fpr else ""))
    ax.set_ylabel("true positive rate (same pairs called same)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return ax


def plot_det(
    distances,
    labels,
    ax: Axes | None = None,
    label: str = "model",
    title: str = "DET curve: false rejects against false accepts",
    marks: dict | None = None,
) -> Axes:
    """Detection error trade-off (DET) curve of "same iff distance <= threshold": the
    false-reject rate against the false-accept rate over every threshold, both axes
    logarithmic, so the small rates a deployed system runs at are spread out. Lower is better;
    call again with another ``label`` to compare. Rates of 0 cannot be drawn on a log axis, so
    the curve shows the thresholds where both rates are positive.

    Args:
        distances: 1-D pair distances.
        labels: 1-D pair labels, 1 = same, 0 = different (both kinds needed).
        ax: the matplotlib Axes to draw on, or None for a new figure.
        label: the curve's name in the legend.
        title: the plot's title.
        marks: ``{name: (far, frr)}``, operating points drawn and named in the legend (a rate
            of 0 is drawn at the axis' lower end), or None.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError, ValueError: bad distances or labels (as ``evaluate.far_frr``), no threshold
            with both rates positive, ``ax`` not an Axes, bad ``marks``.
    """
    from sklearn.metrics import roc_curve

    from course_lib import evaluate

    d, lab = evaluate._pairs(distances, labels, "distances", "labels")
    points = _roc_marks(marks)
    fpr, tpr, _ = roc_curve(lab, -d, drop_intermediate=False)
    far, frr = fpr, 1.0 - tpr
    both = (far > 0) & (frr > 0)
    if not both.any():
        raise ValueError("no threshold gives both a positive false-accept and a positive "
                         "false-reject rate: the pairs are separated perfectly, so there is no "
                         "trade-off to draw on log axes")
    ax = _new_axes(ax, (5.5, 4.5))
    ax.plot(far[both], frr[both], lw=2, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    low_x, low_y = far[both].min() / 2, frr[both].min() / 2
    for name, (x, y) in points.items():
        ax.plot([max(x, low_x)], [max(y, low_y)], ls="none", marker="o", ms=8, mec="black",
                label=name)
    ax.set_xlabel("false-accept rate (different pairs called same), log scale")
    ax.set_ylabel("false-reject rate (same pairs called different), log scale")
    ax.set_title(title)
    ax.legend(loc="upper right")
    return ax


def _roc_marks(marks) -> dict[str, tuple[float, float]]:
    """``marks`` of :func:`plot_roc` checked: names to ``(fpr, tpr)`` pairs in [0, 1]."""
    if marks is None:
        return {}
    if not isinstance(marks, dict):
        raise TypeError(f"marks must be a dict {{name: (fpr, tpr)}} or None, got "
                        f"{type(marks).__name__}")
    out = {}
    for name, point in marks.items():
        if not isinstance(point, (tuple, list)) or len(point) != 2:
            raise TypeError(f"marks[{name!r}] must be a pair (fpr, tpr), got {point!r}")
        out[str(name)] = (checks.probability(point[0], f"marks[{name!r}] fpr"),
                          checks.probability(point[1], f"marks[{name!r}] tpr"))
    return out


def plot_distance_histogram(
    distances,
    labels,
    threshold: float | None = None,
    ax: Axes | None = None,
    bins: int = 60,
    title: str = "Distances of same and different pairs",
) -> Axes:
    """Histograms of the distances of same pairs (label 1) and different pairs (label 0).

    The picture behind verification: the further apart the two humps, the better one threshold
    separates the pairs. Both kinds share the same bins, so their counts compare directly;
    drawn with seaborn's ``histplot`` (one hue per kind of pair).

    Args:
        distances: one distance per pair, shape (n,).
        labels: 1 for a same-class pair, 0 for a different-class pair, shape (n,).
        threshold: if given, drawn as a vertical line ("same" at or below it).
        ax: Axes to draw on (a new figure if None).
        bins: number of histogram bins shared by both kinds of pair, an int >= 1.
        title: the plot's title.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: non-numeric distances, labels or threshold.
        ValueError: distances not 1-D or not finite, labels not 0/1 or of another length,
            ``bins`` < 1, a non-finite threshold.
    """
    d = checks.float_array(distances, "distances", 1)
    lab = checks.binary_labels(labels, "labels", "0 (different) and 1 (same)")
    checks.same_length(lab, "labels", d, "distances")
    bins = checks.positive_int(bins, "bins")
    if threshold is not None:
        threshold = checks.number(threshold, "threshold")
    edges = np.histogram_bin_edges(d, bins=bins)
    ax = _new_axes(ax, (6.5, 4.0))
    kind = np.where(lab == 1, "same-class pairs", "different-class pairs")
    sns.histplot(x=d, hue=kind, hue_order=["same-class pairs", "different-class pairs"],
                 bins=edges, stat="count", alpha=0.6, ax=ax,
                 palette={"same-class pairs": _GOOD, "different-class pairs": _BAD})
    legend = ax.get_legend()
    handles = list(legend.legend_handles)
    texts = [t.get_text() for t in legend.get_texts()]
    if threshold is not None:
        handles.append(ax.axvline(threshold, color="black", ls="--"))
        texts.append(f"threshold {threshold:.3f}")
    ax.legend(handles, texts, loc="upper right")
    ax.set_xlabel("distance between the two embeddings")
    ax.set_ylabel("number of pairs")
    ax.set_title(title)
    return ax


def plot_accuracy_vs_n(
    ns,
    curves: dict,
    errors: dict | None = None,
    ax: Axes | None = None,
    title: str = "N-way one-shot accuracy",
) -> Axes:
    """Accuracy against the number of candidates N per model, with the 1/N chance line.

    Args:
        ns: strictly increasing ints >= 1.
        curves: ``{name: accuracies}``, one accuracy in [0, 1] per N.
        errors: ``{name: (low, high)}`` interval bounds (not offsets) for some curves, or None.
        ax: the matplotlib Axes to draw on, or None for a new figure.
        title: the plot's title.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: non-integer ``ns``, ``curves``/``errors`` not dicts, a bound not a pair.
        ValueError: bad ``ns``, lengths that differ, accuracies outside [0, 1], bounds that do
            not bracket the accuracy, error names not among the curves.
    """
    n_arr = checks.index_array(ns, "ns", ndim=1)
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
        checks.same_length(acc, f"curves[{name!r}]", n_arr, "ns")
        yerr = None
        if name in errors:
            if not isinstance(errors[name], (tuple, list)) or len(errors[name]) != 2:
                raise TypeError(f"errors[{name!r}] must be a pair (low, high)")
            low = checks.float_array(errors[name][0], f"errors[{name!r}] low", 1)
            high = checks.float_array(errors[name][1], f"errors[{name!r}] high", 1)
            checks.same_length(low, f"errors[{name!r}] low", n_arr, "ns")
            checks.same_length(high, f"errors[{name!r}] high", n_arr, "ns")
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
    # Beside the axes: inside, the legend would cover a curve or the chance line.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return ax


def plot_ablation(
    labels,
    runs,
    ax: Axes | None = None,
    title: str = "Ablation",
    xlabel: str = "accuracy",
    reference: float | None = None,
    reference_label: str = "chance",
) -> Axes:
    """One horizontal bar per setting: the mean over seeds, +-1 sample std, and every seed's value.

    Args:
        labels: the name of each setting, top to bottom.
        runs: one sequence of per-seed values per setting (at least one value each).
        ax: the matplotlib Axes to draw on, or None for a new figure.
        title: the plot's title.
        xlabel: the x axis label.
        reference: a value drawn as a dashed vertical line (e.g. chance), or None.
        reference_label: the legend name of that line.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: non-numeric values, ``ax`` not an Axes.
        ValueError: as many labels as settings needed, a setting with no value.
    """
    labels = [str(label) for label in labels]
    values = [checks.float_array(r, f"runs[{i}]", 1) for i, r in enumerate(runs)]
    if len(values) != len(labels) or not labels:
        raise ValueError(f"labels and runs must have one entry per setting, got {len(labels)} "
                         f"labels and {len(values)} runs")
    means = np.array([v.mean() for v in values])
    stds = np.array([v.std(ddof=1) if len(v) > 1 else 0.0 for v in values])
    ax = _new_axes(ax, (7.5, 0.45 * len(labels) + 1.5))
    y = np.arange(len(labels))[::-1]
    ax.barh(y, means, xerr=stds, color="#9ecae1", edgecolor="#3182bd", capsize=3,
            label="mean, +-1 std")
    for yi, v in zip(y, values):
        ax.plot(v, np.full(len(v), yi), "o", color="#08519c", ms=3)
    if reference is not None:
        ax.axvline(float(reference), ls="--", color=_CHANCE, label=reference_label)
    ax.set_yticks(y, labels)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    # Outside the frame: inside it, the longest bar (often the last) ran under the legend.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
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

    Call again on the same ``ax`` to add another curve.

    Args:
        x: the x values (K,).
        values: (seeds, K) values.
        ax: the matplotlib Axes to draw on, or None for a new figure.
        label: the curve's name in the legend (None: no legend).
        title: the plot's title.
        xlabel: the x axis label.
        ylabel: the y axis label.
        spread: ``"range"`` or ``"std"``.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: non-numeric values, ``ax`` not an Axes.
        ValueError: shapes that do not match, an unknown ``spread``.
    """
    xs = checks.float_array(x, "x", 1)
    v = checks.float_array(values, "values", 2)
    if v.shape[1] != len(xs):
        raise ValueError(f"values must have shape (seeds, {len(xs)}) to match x, got {v.shape}")
    checks.one_of(spread, "spread", ("range", "std"))
    mean = v.mean(axis=0)
    if spread == "range":
        low, high = v.min(axis=0), v.max(axis=0)
    else:
        sd = v.std(axis=0, ddof=1) if len(v) > 1 else np.zeros_like(mean)
        low, high = mean - sd, mean + sd
    ax = _new_axes(ax, (6.0, 4.2))
    band = "min-max" if spread == "range" else "±1 std"
    if label is None or len(v) == 1:  # one run: no mean, no band to describe
        full_label = label
    else:
        full_label = f"{label} (mean of {len(v)} seeds, band {band})"
    (line,) = ax.plot(xs, mean, lw=2, label=full_label)
    ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if label is not None:
        ax.legend()
    return ax


def save_figure(fig: Figure | Axes, path, dpi: int = 150) -> Path:
    """Write a figure (or an Axes' figure) to ``path``, creating folders.

    The file is written under a temporary name and renamed (:func:`course_lib.config.atomic_file`),
    so a failed save leaves an older file of that name as it was.

    Args:
        fig: a matplotlib Figure or Axes.
        path: the file to write; its suffix picks the format (none: matplotlib's default
            format, ``.png``, is appended, as ``savefig`` does).
        dpi: resolution of raster formats.

    Returns:
        The path written, as a ``Path``.

    Raises:
        TypeError: ``fig`` is neither a Figure nor an Axes, ``path`` not a path.
    """
    if isinstance(fig, Axes):
        fig = fig.figure
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure or Axes, got {type(fig).__name__}")
    path = checks.path(path, "path")
    if not path.suffix:
        path = path.with_name(f"{path.name}.{plt.rcParams['savefig.format']}")
    with config.atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix[1:])
    return path


# --------------------------------------------------------------------------- losses and gradients
# (notebook 03: the contrastive loss as springs, its gradient near d = 0, a run that turns NaN)

__all__ += ["plot_det", "plot_gradient_field", "plot_pull_push", "plot_step_losses"]


def plot_pull_push(d, similar_loss, dissimilar_losses: dict,
                   title: str = "The contrastive loss as springs") -> Figure:
    """A pair loss as springs: the loss against the distance, and the force it puts on the pair.

    Left, the loss of a similar pair and of a dissimilar pair (one curve per margin) against the
    distance ``d``; right, the force ``-dL/dd`` (by finite differences): negative pulls the two
    embeddings together, positive pushes them apart. Each margin is marked where a dissimilar
    pair's force ends. The legend sits below the panels, over no curve.

    Args:
        d: increasing distances >= 0, shape (n,), at least 3 of them.
        similar_loss: the loss of a similar pair at each distance, shape (n,).
        dissimilar_losses: ``{margin: loss of a dissimilar pair at each distance}``, margins > 0.
        title: the figure's title.

    Returns:
        The Figure (two Axes: loss, then force).

    Raises:
        TypeError: non-numeric values, ``dissimilar_losses`` not a non-empty dict.
        ValueError: distances not increasing or negative, fewer than 3, curves of another
            length or not finite, a margin <= 0.
    """
    dist = checks.float_array(d, "d", 1)
    if len(dist) < 3 or dist.min() < 0 or (np.diff(dist) <= 0).any():
        raise ValueError("d must hold at least 3 strictly increasing distances >= 0")
    pull = checks.float_array(similar_loss, "similar_loss", 1)
    checks.same_length(pull, "similar_loss", dist, "d")
    if not isinstance(dissimilar_losses, dict) or not dissimilar_losses:
        raise TypeError("dissimilar_losses must be a non-empty dict {margin: losses}")
    pushes = []
    for margin, curve in dissimilar_losses.items():
        m = checks.number(margin, "dissimilar_losses margin", 0.0, low_open=True)
        values = checks.float_array(curve, f"dissimilar_losses[{margin!r}]", 1)
        checks.same_length(values, f"dissimilar_losses[{margin!r}]", dist, "d")
        pushes.append((m, values))
    fig, (ax_loss, ax_force) = plt.subplots(1, 2, figsize=(11.0, 4.2), layout="constrained")
    ax_loss.plot(dist, pull, lw=2, color="black", label="similar pair: pulled together")
    ax_force.plot(dist, -np.gradient(pull, dist), lw=2, color="black")
    colors = sns.color_palette("deep", len(pushes))
    for (m, values), color in zip(pushes, colors):
        ax_loss.plot(dist, values, lw=2, color=color,
                     label=f"dissimilar pair, margin m = {m:g}: pushed out to m")
        ax_force.plot(dist, -np.gradient(values, dist), lw=2, color=color)
        for ax in (ax_loss, ax_force):
            ax.axvline(m, color=color, ls=":", lw=1)
    ax_force.axhline(0, color=_CHANCE, lw=1)
    ax_loss.set(xlabel="distance d between the two embeddings", ylabel="loss L(d)",
                title="Loss of one pair")
    ax_force.set(xlabel="distance d between the two embeddings",
                 ylabel="force -dL/dd (> 0 pushes apart, < 0 pulls in)",
                 title="Force on the pair (dotted: the margins)")
    fig.legend(*ax_loss.get_legend_handles_labels(), loc="outside lower center", ncol=2,
               frameon=False)
    fig.suptitle(title)
    return fig


def plot_gradient_field(points, gradients, center, ax: Axes | None = None,
                        radius: float | None = None, title: str = "Gradient field") -> Axes:
    """Where one gradient step moves an embedding ``a``: arrows of ``-dL/da`` around ``center``.

    Each point gets an arrow along the negative gradient (the direction gradient descent moves
    ``a``), all drawn to one scale; a point whose gradient is not finite gets a red cross
    instead. ``center`` (the other embedding ``b``) is a black star, and ``radius`` (the margin)
    a dashed circle around it. The legend sits outside the frame, on the right.

    Args:
        points: positions of ``a``, shape (n, 2).
        gradients: ``dL/da`` at each point, shape (n, 2); NaN or inf where it is not defined.
        center: the position of ``b``, two numbers.
        ax: the matplotlib Axes to draw on, or None for a new figure.
        radius: a circle drawn around ``center`` (e.g. the margin), a number > 0, or None.
        title: the plot's title.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: non-numeric values, ``ax`` not an Axes.
        ValueError: shapes other than (n, 2), a ``center`` not of two finite numbers,
            points not finite, a radius <= 0.
    """
    p = checks.float_array(points, "points", 2)
    if p.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {p.shape}")
    g = np.asarray(gradients)
    if not np.issubdtype(g.dtype, np.number) or np.issubdtype(g.dtype, np.bool_):
        raise TypeError(f"gradients must be a numeric array (n, 2), got dtype {g.dtype}")
    g = g.astype(np.float64)
    if g.shape != p.shape:
        raise ValueError(f"gradients must have the shape of points {p.shape}, got {g.shape}")
    c = checks.float_array(center, "center", 1)
    if c.shape != (2,):
        raise ValueError(f"center must be two numbers, got shape {c.shape}")
    if radius is not None:
        radius = checks.number(radius, "radius", 0.0, low_open=True)
    ax = _new_axes(ax, (6.5, 5.0))
    ok = np.isfinite(g).all(axis=1)
    if ok.any():
        ax.quiver(p[ok, 0], p[ok, 1], -g[ok, 0], -g[ok, 1], angles="xy", color="#3182bd",
                  width=0.004, label="-dL/da: where a gradient step moves a")
    if (~ok).any():
        ax.plot(p[~ok, 0], p[~ok, 1], "x", color=_BAD, ms=12, mew=3,
                label=f"NaN gradient ({int((~ok).sum())} point(s))")
    if radius is not None:
        angle = np.linspace(0, 2 * np.pi, 200)
        ax.plot(c[0] + radius * np.cos(angle), c[1] + radius * np.sin(angle), ls="--",
                color=_CHANCE, label=f"margin: d = {radius:g}")
    ax.plot(*c, "*", color="black", ms=14, label="b, the other embedding")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("embedding dim 1 (position of a)")
    ax.set_ylabel("embedding dim 2 (position of a)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return ax


def plot_step_losses(curves: dict, mark_step: int | None = None,
                     mark_label: str = "marked step", ax: Axes | None = None,
                     title: str = "Loss at every step") -> Axes:
    """Step-by-step training losses on a log axis, with every NaN step marked, not hidden.

    A NaN loss draws no line, so a curve would just stop. Here each curve's NaN steps are
    crosses in its colour along the top of the frame, and the legend (outside the frame, on
    the right) counts them; ``mark_step`` draws a dashed vertical line (e.g. the batch that
    caused the NaN). The first curve is the widest, solid, and later ones narrower and dashed,
    so that a curve lying on another still shows.

    Args:
        curves: ``{name: losses}``, one loss per step (NaN allowed, nothing negative).
        mark_step: a step to mark with a vertical line, an int >= 0, or None.
        mark_label: the legend name of that line.
        ax: the matplotlib Axes to draw on, or None for a new figure.
        title: the plot's title.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: ``curves`` not a non-empty dict, non-numeric losses, a non-int step.
        ValueError: a curve not 1-D or with a loss <= 0 or infinite (a log axis), a
            ``mark_step`` < 0.
    """
    if not isinstance(curves, dict) or not curves:
        raise TypeError("curves must be a non-empty dict {name: losses}")
    series = []
    for name, values in curves.items():
        arr = np.asarray(values)
        if not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"curves[{name!r}] must be numeric, got {arr.dtype}")
        arr = arr.astype(np.float64)
        if arr.ndim != 1 or not arr.size:
            raise ValueError(f"curves[{name!r}] must be a non-empty 1-D array, got {arr.shape}")
        seen = arr[~np.isnan(arr)]
        if np.isinf(seen).any() or (seen <= 0).any():
            raise ValueError(f"curves[{name!r}] must be > 0 and finite where not NaN (log axis)")
        series.append((str(name), arr))
    if mark_step is not None:
        mark_step = checks.integer(mark_step, "mark_step", minimum=0)
    ax = _new_axes(ax, (8.0, 4.2))
    top = ax.get_xaxis_transform()          # x in data, y in axes coordinates
    styles = ("-", "--", "-.", ":")
    for i, (name, arr) in enumerate(series):
        steps = np.arange(len(arr))
        nan = np.isnan(arr)
        # a wide solid line under narrower dashed ones: curves that agree stay visible
        (line,) = ax.plot(steps, arr, lw=max(3.5 - 1.0 * i, 1.2), ls=styles[i % len(styles)],
                          label=f"{name}: {int(nan.sum())} NaN steps")
        if nan.any():
            ax.plot(steps[nan], np.full(int(nan.sum()), 0.97), "x", color=line.get_color(),
                    transform=top, ms=5, clip_on=False)
    if mark_step is not None:
        ax.axvline(mark_step, color=_CHANCE, ls="--", label=mark_label)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("batch loss (log scale; x at the top: NaN)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return ax




# --------------------------------------------------------------------------- notebook 05


_STYLES = ("-", "--", ":", "-.")


def _series(panels) -> tuple[dict, list]:
    """Check ``{panel: {series: values or {variant: values}}}``; return it with every series
    as ``{variant: values}`` (variant None for a plain curve) and the variants in order."""
    if not isinstance(panels, dict) or not panels:
        raise TypeError("panels must be a non-empty dict {panel title: {series: values}}")
    out, variants = {}, []
    for title, series in panels.items():
        if not isinstance(series, dict) or not series:
            raise TypeError(f"panels[{title!r}] must be a non-empty dict {{series: values}}")
        out[title] = {}
        for name, curves in series.items():
            if not isinstance(curves, dict):
                curves = {None: curves}
            if not curves:
                raise TypeError(f"panels[{title!r}][{name!r}] must hold values or "
                                "{variant: values}")
            out[title][name] = curves
            variants += [v for v in curves if v is not None and v not in variants]
    if len(variants) > len(_STYLES):
        raise ValueError(f"panels may use at most {len(_STYLES)} variants (line styles), got "
                         f"{len(variants)}: {variants}")
    return out, variants


def plot_metric_curves(
    x,
    panels: dict,
    title: str = "Metrics over training",
    xlabel: str = "epoch",
    ylabels: dict | None = None,
) -> Figure:
    """One panel per metric, one coloured line per series, a line style per variant.

    ``panels[title][series]`` is either the values (K,) at ``x`` or a dict ``{variant:
    values}``: e.g. series = models and variants = ``"Euclidean"`` and ``"cosine"`` readings of
    the same metric. A series keeps its colour in every panel and a variant its line style (the
    first variant and plain values are solid); one legend outside the panels, on the right,
    names both, so no legend covers a curve.

    Args:
        x: the x values (K,), e.g. epochs.
        panels: ``{panel title: {series: values or {variant: values}}}``.
        title: the figure's title.
        xlabel: the x axis label of every panel.
        ylabels: ``{panel title: y axis label}``; a missing panel uses its title.

    Returns:
        The Figure.

    Raises:
        TypeError: ``panels`` not a non-empty dict of non-empty dicts, non-numeric values,
            ``ylabels`` not a dict. ValueError: values whose length is not ``len(x)``, more
            than four variants.
    """
    xs = checks.float_array(x, "x", 1)
    panels, variants = _series(panels)
    if ylabels is None:
        ylabels = {}
    if not isinstance(ylabels, dict):
        raise TypeError(f"ylabels must be a dict {{panel title: label}} or None, got "
                        f"{type(ylabels).__name__}")
    checked = {}
    for p, series in panels.items():
        for s, curves in series.items():
            for v, values in curves.items():
                where = f"panels[{p!r}][{s!r}]" + ("" if v is None else f"[{v!r}]")
                arr = checks.float_array(values, where, 1)
                if len(arr) != len(xs):
                    raise ValueError(f"{where} must have {len(xs)} values to match x, got "
                                     f"{len(arr)}")
                checked[p, s, v] = arr
    names = list(dict.fromkeys(s for series in panels.values() for s in series))
    colors = dict(zip(names, sns.color_palette("tab10", max(len(names), 1)), strict=False))
    style = {None: "-", **dict(zip(variants, _STYLES, strict=False))}
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels) + 1.8, 4.0),
                             squeeze=False, layout="constrained")
    for ax, (p, series) in zip(axes[0], panels.items(), strict=True):
        for s, curves in series.items():
            for v in curves:
                ax.plot(xs, checked[p, s, v], marker="o", ms=4, ls=style[v], color=colors[s])
        ax.set_title(p)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabels.get(p, p))
    handles = [Line2D([], [], color=colors[s], marker="o", ms=4, label=str(s)) for s in names]
    handles += [Line2D([], [], color="0.3", ls=style[v], label=str(v)) for v in variants]
    fig.legend(handles=handles, loc="outside right center", frameon=False)
    fig.suptitle(title)
    return fig


def plot_class_directions(
    emb,
    y,
    directions,
    ax: Axes | None = None,
    title: str = "Embedding and class directions",
    class_names=None,
    max_points: int = 5000,
) -> Axes:
    """A 2-D embedding coloured by class, with one arrow from the origin per class direction.

    Made for a softmax layer on a 2-D embedding: ``directions[c]`` is the weight vector of
    class ``c``, the direction in which class ``c``'s score grows fastest. The arrows are drawn
    at the length of the 99th percentile of the points' distances from the origin, so only
    their directions carry meaning.

    Args:
        emb: embeddings (N, 2).
        y: integer class labels (N,).
        directions: (C, 2) vectors, row ``c`` for class ``c`` (classes 0..C-1).
        ax: the matplotlib Axes to draw on, or None for a new figure.
        title: the plot's title.
        class_names: maps a label to its name in the legend (list or dict), or None.
        max_points: points drawn at most, an int >= 1.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: non-numeric inputs, non-integer labels, ``ax`` not an Axes.
        ValueError: embeddings or directions without 2 columns, lengths that differ, a label
            with no direction row, a zero direction, a class without a name.
    """
    e, lab = _embedding_2d(emb, y)
    w = checks.float_array(directions, "directions", 2)
    if w.shape[1] != 2:
        raise ValueError(f"directions must have 2 columns (one 2-D vector per class), got "
                         f"shape {w.shape}")
    if lab.min() < 0 or lab.max() >= len(w):
        raise ValueError(f"directions has {len(w)} rows but y holds labels "
                         f"{lab.min()}..{lab.max()}: one row per class 0..C-1 is needed")
    lengths = np.linalg.norm(w, axis=1)
    if not (lengths > 0).all():
        raise ValueError(f"directions rows {np.flatnonzero(lengths == 0).tolist()} are zero: "
                         "a zero vector has no direction")
    max_points = checks.positive_int(max_points, "max_points")
    colors = _class_colors(np.concatenate([lab, np.arange(len(w))]))
    handles = _legend_handles(colors, class_names)
    handles.append(Line2D([], [], color="k", lw=1.5, label="class\ndirection"))
    ax = _new_axes(ax, (6.5, 5.0))
    _scatter(ax, e, lab, colors, max_points)
    reach = float(np.percentile(np.linalg.norm(e, axis=1), 99)) or 1.0
    for c, (vec, length) in enumerate(zip(w, lengths, strict=True)):
        tip = vec / length * reach
        ax.annotate("", xy=tip, xytext=(0, 0),
                    arrowprops={"arrowstyle": "-|>", "color": "k", "lw": 1.5})
        ax.annotate(_class_name(c, class_names), xy=tip * 1.08, ha="center", va="center",
                    fontsize=9, fontweight="bold", color=colors[c])
    ax.plot([0], [0], "k+", ms=10)
    return _label_embedding_axes(ax, handles, title)


__all__ += ["plot_class_directions", "plot_metric_curves"]


__all__ += ["plot_metrics_by_group"]


def plot_metrics_by_group(table, metrics, by: str = "optimizer", title: str | None = None,
                          labels: dict | None = None, baselines: dict | None = None,
                          baseline_label: str = "baseline") -> Figure:
    """One panel per metric: every run as a dot, the group mean with a +-1 std bar beside it.

    Args:
        table: a pandas DataFrame with one row per run (e.g. from
            :func:`course_lib.training.run_metrics`).
        metrics: the column name(s) to show.
        by: the column that groups the runs.
        title: the figure's title, or None.
        labels: maps a column name to the words shown on its axis and panel title (default:
            the name).
        baselines: None, or maps some of ``metrics`` to a reference value (e.g. nearest
            neighbour on pixels), drawn as a dashed line across that panel.
        baseline_label: the legend's words for the dashed line.

    Returns:
        The matplotlib Figure.

    Raises:
        TypeError: ``labels`` or ``baselines`` not a dict, ``baseline_label`` not a str.
        ValueError: ``table`` lacks one of the columns; a baseline for a metric not shown, or
            not a finite number.
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    missing = [m for m in [by, *metrics] if m not in getattr(table, "columns", [])]
    if missing:
        raise ValueError(f"table must be a DataFrame with the columns {missing}")
    if labels is not None and not isinstance(labels, dict):
        raise TypeError(f"labels must be a dict or None, got {type(labels).__name__}")
    if baselines is not None and not isinstance(baselines, dict):
        raise TypeError(f"baselines must be a dict or None, got {type(baselines).__name__}")
    if not isinstance(baseline_label, str):
        raise TypeError(f"baseline_label must be a str, got {type(baseline_label).__name__}")
    baselines = dict(baselines or {})
    unknown = [m for m in baselines if m not in metrics]
    if unknown:
        raise ValueError(f"baselines has metrics that are not shown: {unknown}; shown: {metrics}")
    for m, value in baselines.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
                or not np.isfinite(value):
            raise ValueError(f"baselines[{m!r}] must be a finite number, got {value!r}")
    names = {**{m: m for m in [by, *metrics]}, **(labels or {})}
    groups = list(dict.fromkeys(table[by]))
    # past 8 groups a panel widens with them (0.3 in each), so one-line names fit side by side,
    # and grows taller with the longest name, written upwards below it
    width = max(3.6, 0.3 * len(groups))
    height = 3.6 if len(groups) <= 8 else 3.6 + 0.08 * max(len(str(g)) for g in groups)
    fig, axes = plt.subplots(1, len(metrics), figsize=(width * len(metrics), height),
                             squeeze=False, layout="constrained")
    # past 10 groups the default cycle repeats: take 20 distinct colours instead
    palette = ([f"C{i}" for i in range(len(groups))] if len(groups) <= 10
               else [plt.get_cmap("tab20")(i % 20) for i in range(len(groups))])
    for ax, metric in zip(axes[0], metrics):
        for i, group in enumerate(groups):
            values = table.loc[table[by] == group, metric].to_numpy(dtype=float)
            color = palette[i]
            ax.scatter(np.full(len(values), i - 0.08), values, color=color, alpha=0.6, s=22,
                       label="one run" if i == 0 else None)
            sd = values.std(ddof=1) if len(values) > 1 else 0.0
            ax.errorbar(i + 0.12, values.mean(), yerr=sd, fmt="D", color=color, capsize=4,
                        label="mean ± 1 std" if i == 0 else None)
        # past 3 groups, names are written upwards, wrapped at spaces up to 8 groups and on one
        # line beyond (a wrapped name is wider than the room for one of many): no overlap
        many = len(groups) > 3
        wrap = 12 if len(groups) <= 8 else 10_000
        ax.set_xticks(range(len(groups)),
                      [textwrap.fill(str(g), wrap) if many else str(g) for g in groups],
                      fontsize="small" if many else None, rotation=90 if many else 0)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        if metric in baselines:
            ax.axhline(float(baselines[metric]), color="0.4", linestyle="--", linewidth=1,
                       label=baseline_label)
        ax.set_xlabel(names[by])
        ax.set_ylabel(names[metric])
        ax.set_title(names[metric])
    first = axes[0][0]
    # the legend of the first panel names the dashed line too, when some panel has one
    if baselines and metrics[0] not in baselines:
        first.plot([], [], color="0.4", linestyle="--", linewidth=1, label=baseline_label)
    first.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def plot_siamese_architecture(shared: bool = True, distance: str | None = None,
                              loss: str = "contrastive loss",
                              title: str | None = None) -> Figure:
    """A diagram of a Siamese network: two inputs, the encoder, a distance and a loss.

    With ``shared=True`` both towers are drawn as one encoder (one colour, one set of weights,
    joined by a bracket): the same function ``f`` is applied to both inputs, which is what makes
    the network Siamese. With ``shared=False`` the towers are two encoders ``f`` and ``g`` with
    their own weights (a pseudo-Siamese network, notebook 02).

    Args:
        shared: whether the two towers share one encoder.
        distance: the text of the distance box; by default ``d = |f(a) - f(b)|`` (with ``g``
            for the second tower when not shared).
        loss: the text of the loss box (it also receives the pair's label).
        title: the figure's title; by default it says which kind of network is drawn.

    Returns:
        The Figure (one Axes, no axis lines).

    Raises:
        TypeError: ``shared`` not a bool, a text not a str.
    """
    shared = checks.boolean(shared, "shared")
    names = ["f", "f" if shared else "g"]
    if distance is None:
        distance = f"distance d = |{names[0]}(a) - {names[1]}(b)|"
    for value, name in [(distance, "distance"), (loss, "loss")]:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if title is None:
        title = ("A Siamese network: one encoder f applied to both inputs" if shared else
                 "A pseudo-Siamese network: two encoders f and g, each with its own weights")
    elif not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    fig, ax = plt.subplots(figsize=(10.0, 4.0), layout="constrained")
    ax.set(xlim=(0, 10), ylim=(0, 4))
    ax.axis("off")
    palette = sns.color_palette("deep", 4)
    tower = [palette[0], palette[0] if shared else palette[1]]

    def box(x, y, text, color, w=1.7, h=0.8):
        ax.text(x, y, text, ha="center", va="center", fontsize=10, wrap=True,
                bbox={"boxstyle": "round,pad=0.4", "facecolor": color, "alpha": 0.25,
                      "edgecolor": color, "linewidth": 1.5})

    def arrow(x0, y0, x1, y1):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 1.4})

    for i, (y, side) in enumerate([(3.0, "a"), (1.0, "b")]):
        box(0.9, y, f"image {side}", "0.6")
        box(3.3, y, f"encoder {names[i]}", tower[i])
        box(5.6, y, f"embedding\n{names[i]}({side})", tower[i])
        arrow(1.6, y, 2.45, y)
        arrow(4.15, y, 4.8, y)
        arrow(6.4, y, 7.0, 2.0 + (0.25 if side == "a" else -0.25))
    box(7.75, 2.0, distance.replace(" = ", "\n= "), palette[2])
    box(9.3, 2.0, loss, palette[3], w=1.2)
    box(9.3, 0.5, "label:\nsame or different", "0.6", w=1.2)
    arrow(8.55, 2.0, 8.7, 2.0)
    arrow(9.3, 0.95, 9.3, 1.55)
    if shared:
        ax.plot([3.3, 3.3], [2.55, 1.45], color=tower[0], lw=2, ls="--")
        ax.text(3.45, 2.0, "the same weights\n(one encoder)", ha="left", va="center",
                fontsize=9, color=tower[0])
    else:
        ax.text(3.3, 2.0, "two sets of weights", ha="center", va="center", fontsize=9,
                color="0.3")
    ax.set_title(title)
    return fig


__all__ += ["plot_by_fold", "plot_comparisons"]


def plot_comparisons(comparisons, ax: Axes | None = None, title: str = "Paired comparisons",
                     xlabel: str = "effect (first minus second)") -> Axes:
    """One row per comparison: the effect as a dot and its confidence interval as a bar, with
    a line at 0 (no difference); filled dots are detectable.

    The p-values stand in a column of their own at the right edge, inside the axes: the x
    limits leave that column free of bars, so no label is clipped at the figure's edge and
    none sits on a bar. The legend is outside the frame, on the right, over no bar.

    Args:
        comparisons: :class:`course_lib.evaluate.Comparison` objects (a sequence, or a mapping
            whose values are they, as :func:`course_lib.evaluate.compare_many` returns).
        ax: the matplotlib Axes to draw on, or None for a new figure.
        title: the plot's title.
        xlabel: the x axis label.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: an entry that is not a Comparison, ``ax`` not an Axes.
        ValueError: no comparisons.
    """
    from course_lib.evaluate import Comparison

    found = list(comparisons.values()) if isinstance(comparisons, dict) else list(comparisons)
    if not found:
        raise ValueError("comparisons must hold at least one Comparison, got none")
    for i, c in enumerate(found):
        if not isinstance(c, Comparison):
            raise TypeError(f"comparisons[{i}] must be an evaluate.Comparison, got "
                            f"{type(c).__name__}")
    longest = max(len(c.label) for c in found)     # long row names widen the figure, not
    ax = _new_axes(ax, (max(7.5, 4.5 + 0.09 * longest), 0.55 * len(found) + 1.6))   # the bars'
    y = np.arange(len(found))[::-1]
    # The bars take the left part of the axes; the right part is the p-value column.
    ends = np.array([0.0] + [v for c in found for v in (c.low, c.high, c.effect)], float)
    ends = ends[np.isfinite(ends)]
    lo, hi = float(ends.min()), float(ends.max())
    span = hi - lo if hi > lo else 1.0
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    bars_share = 0.78                      # of the axes' width; the rest holds the p-values
    ax.set_xlim(lo, lo + (hi - lo) / bars_share)
    ax.set_xticks([t for t in ax.get_xticks() if lo <= t <= hi])   # no scale under the p-values
    column = ax.get_yaxis_transform()      # x in axes fraction, y in data (one row each)
    for yi, c in zip(y, found):
        color = "#08519c" if c.detectable else "#969696"
        ax.plot([c.low, c.high], [yi, yi], color=color, lw=2)
        ax.plot([c.effect], [yi], "o", color=color, ms=7,
                markerfacecolor=color if c.detectable else "white")
        p = "p < 0.001" if c.p_value < 0.001 else f"p = {c.p_value:.2g}"
        ax.text(0.985, yi, p, transform=column, ha="right", va="center", fontsize="small",
                clip_on=True)
    ax.axvline(0.0, ls="--", color=_CHANCE)
    ax.set_yticks(y, [c.label for c in found])
    ax.set_ylim(-0.6, len(found) - 0.4)
    level = found[0].confidence
    ax.set_xlabel(f"{xlabel}; bars: {100 * level:.3g}% intervals")
    ax.set_title(title)
    handles = [
        Line2D([], [], color="#08519c", lw=2, marker="o", ms=7, label="detectable"),
        Line2D([], [], color="#969696", lw=2, marker="o", ms=7, markerfacecolor="white",
               label="not detectable"),
        Line2D([], [], ls="--", color=_CHANCE, label="no difference"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              fontsize="small")
    return ax


def plot_by_fold(values, folds, ax: Axes | None = None, title: str = "Leave one group out",
                 ylabel: str = "accuracy") -> Axes:
    """Each method's score on each held-out fold (one line per method), and its mean.

    Args:
        values: a mapping from a method's name to its score on each fold, in ``folds``' order.
        folds: the folds' names (the x axis), e.g. the held-out alphabets.
        ax: the matplotlib Axes to draw on, or None for a new figure.
        title: the plot's title.
        ylabel: the y axis label.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: ``values`` not a mapping, non-numeric scores, ``ax`` not an Axes.
        ValueError: no methods, or a method without one score per fold.
    """
    if not isinstance(values, dict) or not values:
        raise TypeError(f"values must be a non-empty mapping from a method to its scores per "
                        f"fold, got {type(values).__name__}")
    folds = [str(f) for f in folds]
    ax = _new_axes(ax, (7.5, 4.5))
    x = np.arange(len(folds))
    for name, v in values.items():
        arr = checks.float_array(v, f"values[{name!r}]", 1)
        if arr.size != len(folds):
            raise ValueError(f"values[{name!r}] must have one score per fold ({len(folds)}), "
                             f"got {arr.size}")
        ax.plot(x, arr, "o-", lw=1.5, label=f"{name} (mean {arr.mean():.3f})")
    ax.set_xticks(x, folds)
    ax.set_xlabel("held-out fold")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


# --------------------------------------------------------------------------- notebook 09

__all__ += ["plot_margin_softmax", "plot_negative_weights"]


def plot_negative_weights(shares: dict, ax: Axes | None = None,
                          title: str = "Where a softmax loss puts its push") -> Axes:
    """The share of the push each negative gets, by rank, one line per setting (temperature).

    In a softmax loss over similarities divided by a temperature (InfoNCE, SupCon) the gradient
    pushes an anchor away from each negative in proportion to that negative's softmax
    probability; ``shares`` holds those probabilities renormalised over the negatives, sorted
    from the most similar negative to the least, averaged over anchors. Drawn on a log axis,
    with the line of equal shares.

    Args:
        shares: ``{label: shares by rank}``, each a 1-D array of at least 2 numbers > 0 (the
            same length for every label).
        ax: the matplotlib Axes to draw on, or None for a new figure.
        title: the plot's title.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: ``shares`` not a non-empty dict, non-numeric shares.
        ValueError: shares not 1-D, shorter than 2, not > 0, or of different lengths.
    """
    if not isinstance(shares, dict) or not shares:
        raise TypeError("shares must be a non-empty dict {label: shares by rank}")
    series = {str(k): checks.float_array(v, f"shares[{k!r}]", 1) for k, v in shares.items()}
    lengths = {len(v) for v in series.values()}
    if len(lengths) != 1 or min(lengths) < 2:
        raise ValueError(f"every shares array needs the same length >= 2, got {sorted(lengths)}")
    if any((v <= 0).any() for v in series.values()):
        raise ValueError("shares must be > 0 (a log axis)")
    n = lengths.pop()
    ax = _new_axes(ax, (7.0, 4.2))
    rank = np.arange(1, n + 1)
    for i, (label, v) in enumerate(series.items()):
        ax.plot(rank, v, lw=2, ls=_STYLES[i % len(_STYLES)], label=label)
    ax.axhline(1.0 / n, color=_CHANCE, ls=":", label="equal shares")
    ax.set_yscale("log")
    ax.set_xlabel("negative's rank (1 = the most similar to the anchor)")
    ax.set_ylabel("share of the push on the anchor (log scale)")
    ax.set_title(title)
    ax.legend(frameon=False)
    return ax


def plot_margin_softmax(settings, num_classes: int, ax: Axes | None = None,
                        title: str = "Margin softmax: probability of the true class") -> Axes:
    """The softmax probability of the true class against the angle to its centre (CosFace).

    The embedding is at angle ``theta`` to its class centre and orthogonal to the other
    ``num_classes - 1`` centres (cosine 0, as random directions nearly are in many dimensions);
    the logits are ``s * (cos(theta) - m)`` for the true class and 0 for the others. A margin
    ``m`` shifts the curve to smaller angles (the embedding must come closer to its centre for
    the same probability); a small scale ``s`` caps the probability below 1 even at angle 0.

    Args:
        settings: a non-empty sequence of ``(scale, margin)`` pairs, one line each (scale > 0,
            margin >= 0).
        num_classes: the number of classes, an int >= 2.
        ax: the matplotlib Axes to draw on, or None for a new figure.
        title: the plot's title.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: ``settings`` not a sequence of pairs of numbers, a non-int ``num_classes``.
        ValueError: no settings, a scale <= 0, a margin < 0, ``num_classes`` < 2.
    """
    c = checks.integer(num_classes, "num_classes", minimum=2)
    if not isinstance(settings, (list, tuple)) or not settings:
        raise ValueError("settings must be a non-empty sequence of (scale, margin) pairs")
    pairs = []
    for pair in settings:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"each setting must be a (scale, margin) pair, got {pair!r}")
        pairs.append((checks.number(pair[0], "scale", 0.0, low_open=True),
                      checks.number(pair[1], "margin", 0.0)))
    ax = _new_axes(ax, (7.0, 4.2))
    degrees = np.linspace(0.0, 90.0, 181)
    cos = np.cos(np.radians(degrees))
    for i, (s, m) in enumerate(pairs):
        true = s * (cos - m)
        prob = 1.0 / (1.0 + (c - 1) * np.exp(-true))
        ax.plot(degrees, prob, lw=2, ls=_STYLES[i % len(_STYLES)],
                label=f"scale {s:g}, margin {m:g}")
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("angle between the embedding and its class centre (degrees)")
    ax.set_ylabel(f"probability of the true class ({c} classes)")
    ax.set_title(title)
    ax.legend(frameon=False)
    return ax
