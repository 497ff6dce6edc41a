"""Tests for course_lib.plots: structure of the returned figures, and input validation."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import evaluate as ev  # noqa: E402
from course_lib import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _no_show_and_close(monkeypatch):
    """Fail if a plot function calls plt.show(); close every figure after each test."""

    def _fail(*args, **kwargs):
        raise AssertionError("plot functions must not call plt.show()")

    monkeypatch.setattr(plt, "show", _fail)
    yield
    plt.close("all")


@pytest.fixture
def emb_y():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 60)
    angles = 2 * np.pi * y / 10
    emb = 5 * np.column_stack([np.cos(angles), np.sin(angles)]) + rng.normal(size=(600, 2))
    return emb, y


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.random((12, 28, 28))


def assert_labelled(ax: Axes):
    assert ax.get_title()
    assert ax.get_xlabel()
    assert ax.get_ylabel()


# --------------------------------------------------------------------------- images


def test_show_pairs(images):
    labels = np.array([1, 0] * 6)
    fig = plots.show_pairs(images, images[::-1], labels, n=5, title="Pairs")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 10
    assert fig.get_suptitle() == "Pairs"
    grid = np.array(fig.axes).reshape(2, 5)
    assert grid[0, 0].get_ylabel() and grid[1, 0].get_ylabel()
    captions = [ax.get_xlabel() for ax in grid[1]]
    assert captions == ["same", "different", "same", "different", "same"]


@pytest.mark.parametrize("shape", [(12, 28, 28, 1), (12, 16, 16, 3)])
def test_show_pairs_accepts_channel_axis(shape):
    x = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    fig = plots.show_pairs(x, x, np.ones(12, int), n=3)
    assert len(fig.axes) == 6


def test_one_shot_task_marks_truth_and_wrong_pick(images):
    fig = plots.plot_one_shot_task(images[0], images[1:11], pick=3, truth=7)
    assert len(fig.axes) == 11
    assert "wrong" in fig.get_suptitle()
    query_ax, cands = fig.axes[0], fig.axes[1:]
    assert query_ax.get_xlabel() == "query"
    assert cands[7].get_xlabel() == "truth" and cands[3].get_xlabel() == "pick"
    assert to_hex(cands[7].spines["top"].get_edgecolor()) == plots._GOOD
    assert to_hex(cands[3].spines["top"].get_edgecolor()) == plots._BAD
    assert cands[0].get_xlabel() == ""


def test_one_shot_task_correct_pick(images):
    fig = plots.plot_one_shot_task(images[0][..., None], images[1:6][..., None], pick=2, truth=2)
    assert "correct" in fig.get_suptitle()
    assert fig.axes[3].get_xlabel() == "pick = truth"


def test_one_shot_task_in_two_rows():
    images = np.random.default_rng(0).random((21, 8, 8))
    fig = plots.plot_one_shot_task(images[0], images[1:21], pick=12, truth=12, rows=2)
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(visible) == 21  # the query and 20 candidates, in a 2 x 11 grid
    assert len(fig.axes) == 22
    width, height = fig.get_size_inches()
    assert width < 15 and height > 4
    assert fig.axes[11 + 1 + 2].get_title() == "13"     # index 12, captioned from 1
    with pytest.raises(ValueError, match="rows"):
        plots.plot_one_shot_task(images[0], images[1:5], pick=0, truth=0, rows=5)


# --------------------------------------------------------------------------- embeddings


def test_plot_embedding(emb_y):
    emb, y = emb_y
    names = [f"digit {i}" for i in range(10)]
    ax = plots.plot_embedding(emb, y, title="Blobs", class_names=names, max_points=100)
    assert isinstance(ax, Axes) and len(ax.figure.axes) == 1
    assert_labelled(ax)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == names
    assert len(ax.collections[0].get_offsets()) == 100


def test_plot_embedding_on_given_axes(emb_y):
    fig, axes = plt.subplots(1, 2)
    ax = plots.plot_embedding(*emb_y, ax=axes[1])
    assert ax is axes[1] and len(fig.axes) == 2


def test_plot_embedding_grid(emb_y):
    emb, y = emb_y
    snapshots = {
        f"epoch {e}": {"CNN": (emb * (e + 1), y), "Siamese": (-emb, y)} for e in (1, 5, 10)
    }
    fig = plots.plot_embedding_grid(snapshots, title="Training", max_points=200)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6
    assert fig.get_suptitle() == "Training"
    assert fig.get_supxlabel() and fig.get_supylabel()
    assert fig.axes[0].get_title() == "CNN, epoch 1"
    assert len(fig.legends) == 1 and len(fig.legends[0].get_texts()) == 10


def test_plot_decision_regions(emb_y):
    emb, y = emb_y
    probe = ev.fit_linear_probe(emb, y)
    ax = plots.plot_decision_regions(probe, emb, y, resolution=50)
    assert_labelled(ax)
    assert len(ax.figure.axes) == 1
    assert len(ax.get_legend().get_texts()) == 10


# --------------------------------------------------------------------------- curves


def test_plot_roc_twice_draws_one_chance_line():
    fpr, tpr = np.array([0.0, 0.1, 1.0]), np.array([0.0, 0.8, 1.0])
    ax = plots.plot_roc(fpr, tpr, 0.85, label="siamese")
    plots.plot_roc(fpr, tpr**2, 0.7, ax=ax, label="pixels")
    assert_labelled(ax)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["chance", "siamese (AUC = 0.850)", "pixels (AUC = 0.700)"]


def test_plot_det_draws_frr_against_far_on_log_axes_with_marks():
    rng = np.random.default_rng(0)
    d = np.concatenate([rng.normal(0.3, 0.1, 200), rng.normal(0.8, 0.1, 400)])
    same = np.r_[np.ones(200), np.zeros(400)]
    ax = plots.plot_det(d, same, label="siamese", marks={"verify": (0.01, 0.2), "zero": (0, 0.5)})
    assert_labelled(ax)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    curve = ax.lines[0]
    x, y = curve.get_xdata(), curve.get_ydata()
    assert np.all(x > 0) and np.all(y > 0) and np.all(np.diff(x) >= 0) and np.all(np.diff(y) <= 0)
    t = 0.5                                      # a point of the curve is (FAR, FRR) at some t
    far, frr = np.mean(d[same == 0] <= t), np.mean(d[same == 1] > t)
    assert np.any(np.isclose(x, far) & np.isclose(y, frr)) or far == 0 or frr == 0
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["siamese", "verify", "zero"]
    with pytest.raises(ValueError, match="separated perfectly"):
        plots.plot_det([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])
    with pytest.raises(ValueError):
        plots.plot_det([0.1, 0.2], [1, 1])


def test_plot_roc_log_axis_marks_the_points_it_is_given():
    fpr = np.array([0.0, 0.002, 0.03, 0.2, 1.0])
    tpr = np.array([0.0, 0.5, 0.9, 0.97, 1.0])
    ax = plots.plot_roc(fpr, tpr, 0.95, label="siamese", log_fpr=True,
                        marks={"threshold": (0.03, 0.9), "EER": (0.05, 0.95)})
    assert_labelled(ax)
    assert ax.get_xscale() == "log"
    assert ax.get_xlim() == pytest.approx((1e-3, 1.0))      # the decade below the first rate
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["chance", "siamese (AUC = 0.950)", "threshold", "EER"]
    marked = {line.get_label(): (line.get_xdata()[0], line.get_ydata()[0])
              for line in ax.lines if line.get_marker() == "o"}
    assert marked == {"threshold": (0.03, 0.9), "EER": (0.05, 0.95)}


def test_plot_distance_histogram_counts_both_kinds_and_marks_the_threshold():
    d = np.array([0.1, 0.2, 0.3, 1.0, 1.2, 1.4, 1.5])
    same = np.array([1, 1, 1, 0, 0, 0, 0])
    ax = plots.plot_distance_histogram(d, same, threshold=0.5, bins=7)
    assert_labelled(ax)
    count = {to_hex(c[0].get_facecolor(), keep_alpha=False): sum(p.get_height() for p in c)
             for c in ax.containers}
    assert count == {to_hex(plots._GOOD): 3, to_hex(plots._BAD): 4}  # same, different pairs
    assert [line.get_xdata()[0] for line in ax.lines] == [0.5]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["same-class pairs", "different-class pairs", "threshold 0.500"]
    with pytest.raises(ValueError, match="labels"):
        plots.plot_distance_histogram(d, same[:-1])
    with pytest.raises(TypeError, match="threshold"):
        plots.plot_distance_histogram(d, same, threshold="0.5")


def test_plot_accuracy_vs_n():
    ns = [2, 5, 10, 20]
    acc = np.array([0.95, 0.9, 0.85, 0.8])
    ax = plots.plot_accuracy_vs_n(
        ns,
        {"siamese": acc, "pixels": [0.6, 0.3, 0.2, 0.1]},
        errors={"siamese": (acc - 0.02, acc + 0.02)},
    )
    assert_labelled(ax)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["siamese", "pixels", "chance (1/N)"]
    chance = ax.get_lines()[-1]
    assert np.allclose(chance.get_ydata(), 1 / np.array(ns))


def test_plot_ablation_bars_with_seeds():
    ax = plots.plot_ablation(["a", "b"], [[0.5, 0.6, 0.7], [0.2, 0.3, 0.25]], reference=0.05)
    assert ax.get_title() and ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert len(ax.patches) == 2 and ax.patches[0].get_width() == pytest.approx(0.6)
    with pytest.raises(ValueError, match="labels"):
        plots.plot_ablation(["a"], [[0.5], [0.4]])


def test_plot_ablation_legend_covers_no_bar_even_when_the_last_bar_is_the_longest():
    ax = plots.plot_ablation(["a", "b", "c"], [[0.1, 0.12], [0.3, 0.32], [0.7, 0.72]],
                             reference=0.05)
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    for bar in ax.patches:
        assert not legend.overlaps(bar.get_window_extent(renderer)), bar.get_width()
    for line in ax.get_lines():
        assert not legend.overlaps(line.get_window_extent(renderer)), line.get_xdata()


def test_one_run_has_no_mean_of_seeds_in_its_legend():
    ax = plots.plot_with_spread(np.arange(3), np.ones((1, 3)), label="net")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["net"]


def test_plot_with_spread():
    x = np.arange(5)
    values = np.array([[0.5, 0.6, 0.7, 0.8, 0.9], [0.4, 0.5, 0.6, 0.7, 0.8]])
    ax = plots.plot_with_spread(x, values, label="siamese", ylabel="accuracy")
    plots.plot_with_spread(x, values - 0.2, ax=ax, label="cnn", spread="std")
    assert_labelled(ax)
    assert np.allclose(ax.get_lines()[0].get_ydata(), values.mean(axis=0))
    assert len(ax.collections) == 2  # one band per curve
    assert len(ax.get_legend().get_texts()) == 2


def test_save_figure(tmp_path, emb_y):
    ax = plots.plot_embedding(*emb_y)
    path = plots.save_figure(ax, tmp_path / "figs" / "emb.png")
    assert path.is_file() and path.stat().st_size > 0


# --------------------------------------------------------------------------- bad inputs

_IMG = np.zeros((4, 8, 8))
_EMB, _Y = np.random.default_rng(0).normal(size=(20, 2)), np.repeat([0, 1], 10)
_FPR = np.array([0.0, 0.5, 1.0])
_PROBE = ev.fit_linear_probe(_EMB, _Y)

BAD_INPUTS = [
    (plots.show_pairs, (_IMG, _IMG[:3], [1, 0, 1, 0]), {}, ValueError, "x_b"),
    (plots.show_pairs, (_IMG, _IMG, [1, 0, 1]), {}, ValueError, "labels"),
    (plots.show_pairs, (_IMG, _IMG, [1, 0, 1, 0]), {"n": 5}, ValueError, "n"),
    (plots.show_pairs, (_IMG[0], _IMG[0], [1]), {}, ValueError, "x_a"),
    (plots.plot_one_shot_task, (_IMG[0], _IMG[:, :4], 0, 1), {}, ValueError, "candidates"),
    (plots.plot_one_shot_task, (_IMG[0], _IMG, 4, 1), {}, ValueError, "pick"),
    (plots.plot_one_shot_task, (_IMG[0], _IMG, 0, 1.0), {}, TypeError, "truth"),
    (plots.plot_embedding, (np.ones((20, 3)), _Y), {}, ValueError, "emb"),
    (plots.plot_embedding, (_EMB, _Y[:5]), {}, ValueError, "y"),
    (plots.plot_embedding, (_EMB, _Y), {"class_names": ["a"]}, ValueError, "class_names"),
    (plots.plot_embedding, (_EMB, _Y), {"ax": "left"}, TypeError, "ax"),
    (plots.plot_embedding_grid, ({},), {}, TypeError, "snapshots"),
    (
        plots.plot_embedding_grid,
        ({"a": {"x": (_EMB, _Y)}, "b": {"y": (_EMB, _Y)}},),
        {},
        ValueError,
        "snapshots",
    ),
    (plots.plot_embedding_grid, ({"a": {"x": _EMB}},), {}, TypeError, "snapshots"),
    (plots.plot_decision_regions, (object(), _EMB, _Y), {}, TypeError, "model"),
    (plots.plot_decision_regions, (_PROBE, _EMB, _Y), {"resolution": 1}, ValueError, "resolution"),
    (plots.plot_roc, (_FPR, _FPR[:2], 0.5), {}, ValueError, "tpr"),
    (plots.plot_roc, (_FPR * 2, _FPR, 0.5), {}, ValueError, "fpr"),
    (plots.plot_roc, (_FPR, _FPR, 1.5), {}, ValueError, "auc"),
    (plots.plot_roc, (_FPR, _FPR, 0.5), {"log_fpr": "yes"}, TypeError, "log_fpr"),
    (plots.plot_roc, (_FPR * 0, _FPR, 0.5), {"log_fpr": True}, ValueError, "log_fpr"),
    (plots.plot_roc, (_FPR, _FPR, 0.5), {"marks": [(0.1, 0.2)]}, TypeError, "marks"),
    (plots.plot_roc, (_FPR, _FPR, 0.5), {"marks": {"t": 0.1}}, TypeError, "marks"),
    (plots.plot_roc, (_FPR, _FPR, 0.5), {"marks": {"t": (0.1, 2.0)}}, ValueError, "marks"),
    (plots.plot_accuracy_vs_n, ([5, 2], {"m": [0.5, 0.6]}), {}, ValueError, "ns"),
    (plots.plot_accuracy_vs_n, ([2.0, 5.0], {"m": [0.5, 0.6]}), {}, TypeError, "ns"),
    (plots.plot_accuracy_vs_n, ([2, 5], {"m": [0.5]}), {}, ValueError, "curves"),
    (plots.plot_accuracy_vs_n, ([2, 5], {}), {}, TypeError, "curves"),
    (
        plots.plot_accuracy_vs_n,
        ([2, 5], {"m": [0.5, 0.6]}),
        {"errors": {"other": ([0, 0], [1, 1])}},
        ValueError,
        "errors",
    ),
    (
        plots.plot_accuracy_vs_n,
        ([2, 5], {"m": [0.5, 0.6]}),
        {"errors": {"m": ([0.6, 0.5], [0.7, 0.7])}},
        ValueError,
        "errors",
    ),
    (plots.plot_with_spread, (np.arange(3), np.ones((2, 4))), {}, ValueError, "values"),
    (plots.plot_with_spread, (np.arange(3), np.ones(3)), {}, ValueError, "values"),
    (
        plots.plot_with_spread,
        (np.arange(3), np.ones((2, 3))),
        {"spread": "iqr"},
        ValueError,
        "spread",
    ),
    (plots.save_figure, ("figure", "x.png"), {}, TypeError, "fig"),
]


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "error", "match"),
    BAD_INPUTS,
    ids=[f"{f.__name__}-{i}" for i, (f, *_) in enumerate(BAD_INPUTS)],
)
def test_bad_inputs_raise_naming_the_argument(func, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        func(*args, **kwargs)
    assert not plt.get_fignums()  # validation happens before any figure is made


def test_show_pairs_names_rows_and_captions_columns(images):
    fig = plots.show_pairs(images, images, np.ones(len(images)), n=3,
                           row_labels=("anchor", "candidate"), captions=["a", "b", "c"])
    axes = fig.axes
    assert axes[0].get_ylabel() == "anchor" and axes[3].get_ylabel() == "candidate"
    assert [ax.get_xlabel() for ax in axes[3:6]] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="captions must be 3 strings"):
        plots.show_pairs(images, images, np.ones(len(images)), n=3, captions=["a"])
    with pytest.raises(ValueError, match="row_labels must be two strings"):
        plots.show_pairs(images, images, np.ones(len(images)), n=3, row_labels=("a",))


def test_episode_matrix_shows_each_anchors_softmax_and_rings_wrong_picks():
    d2 = np.full((4, 4), 4.0)
    np.fill_diagonal(d2, 0.0)
    d2[2, 1], d2[2, 2] = 0.0, 3.0                 # anchor 2 is nearer candidate 1: a wrong pick
    ax = plots.plot_episode_matrix(d2)
    shown = ax.images[0].get_array()
    np.testing.assert_allclose(np.asarray(shown).sum(axis=1), 1.0)
    assert shown[0, 0] > 0.9 and shown[2, 1] > shown[2, 2]
    assert "3 of 4 anchors" in ax.get_title()
    assert ax.collections and ax.get_xlabel() == "candidate j"
    with pytest.raises(ValueError, match="square"):
        plots.plot_episode_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=">= 0"):
        plots.plot_episode_matrix(-np.ones((2, 2)))


def test_show_pairs_of_two_image_sizes():
    big, small = np.random.default_rng(0).random((2, 4, 8, 8))[0], np.zeros((4, 3, 3))
    fig = plots.show_pairs(big, small, [1, 0, 1, 0], n=4)
    assert len(fig.axes) == 8
    plt.close(fig)


def test_plot_nearest_neighbours():
    from course_lib import plots as p

    rng = np.random.default_rng(0)
    q, nb = rng.random((3, 6, 6)), rng.random((3, 4, 6, 6, 1))
    d = np.sort(rng.random((3, 4)), axis=1)
    ok = d < 0.5
    fig = p.plot_nearest_neighbours(q[..., None], nb, d, ok, answers=["a", "b", "unknown"])
    assert len(fig.axes) == 15 and fig.axes[1].get_xlabel() == f"d = {d[0, 0]:.2f}"
    assert fig.axes[0].get_xlabel() == "a"
    with pytest.raises(ValueError, match=r"distances must have shape \(3, 4\)"):
        p.plot_nearest_neighbours(q, nb, d[:, :2], ok)
    with pytest.raises(ValueError, match=r"neighbours must have shape \(n, k, ...\) with n = 3"):
        p.plot_nearest_neighbours(q, nb[:2], d, ok)
    with pytest.raises(TypeError, match="correct must hold booleans"):
        p.plot_nearest_neighbours(q, nb, d, ok.astype(int))
    with pytest.raises(ValueError, match="answers has 1 entries but queries has 3"):
        p.plot_nearest_neighbours(q, nb, d, ok, answers=["a"])
    plt.close("all")


# --------------------------------------------------------------------------- losses and gradients


def test_plot_pull_push_draws_loss_and_force_with_the_margins():
    d = np.linspace(0, 2, 201)
    pull = 0.5 * d**2
    push = {m: 0.5 * np.maximum(m - d, 0) ** 2 for m in (0.5, 1.0)}
    fig = plots.plot_pull_push(d, pull, push, title="springs")
    ax_loss, ax_force = fig.axes
    assert fig.get_suptitle() == "springs"
    for ax in (ax_loss, ax_force):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(labels) == 3 and "margin m = 0.5" in labels[1]
    # the force of a similar pair is -d (a spring of rest length 0); a dissimilar pair's is
    # m - d inside the margin and 0 beyond it
    similar_force = ax_force.lines[0].get_ydata()
    np.testing.assert_allclose(similar_force[1:-1], -d[1:-1], atol=1e-9)
    push_force = ax_force.lines[1].get_ydata()
    assert push_force[10] == pytest.approx(0.5 - d[10]) and push_force[150] == 0.0
    margins = sorted({line.get_xdata()[0] for line in ax_loss.lines
                      if line.get_linestyle() == ":"})
    assert margins == [0.5, 1.0]


def test_plot_gradient_field_marks_nan_points_and_draws_descent_arrows():
    grid = np.array([[x, y] for x in (-1.0, 0.0, 1.0) for y in (-1.0, 0.0, 1.0)])
    grads = grid.copy()                       # d(|a|^2/2)/da = a: descent points inwards
    grads[4] = np.nan                         # the centre
    ax = plots.plot_gradient_field(grid, grads, (0.0, 0.0), radius=1.0, title="field")
    assert_labelled(ax)
    (quiver,) = ax.collections
    assert len(quiver.U) == 8
    np.testing.assert_allclose(np.column_stack([quiver.U, quiver.V]), -np.delete(grid, 4, 0))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[1] == "NaN gradient (1 point(s))" and "margin: d = 1" in texts
    nan_marks = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(nan_marks) == 1 and nan_marks[0].get_xdata()[0] == 0.0


def test_plot_step_losses_marks_the_nan_steps():
    curves = {"naive": [1.0, 0.8, 0.6, np.nan, np.nan], "fixed": [1.0, 0.8, 0.6, 0.5, 0.4]}
    ax = plots.plot_step_losses(curves, mark_step=2, mark_label="planted", title="run")
    assert_labelled(ax)
    assert ax.get_yscale() == "log"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["naive: 2 NaN steps", "fixed: 0 NaN steps", "planted"]
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(crosses) == 1 and list(crosses[0].get_xdata()) == [3, 4]


LOSS_PLOT_BAD_INPUTS = [
    (plots.plot_pull_push, ([0, 1], [0, 1], {1.0: [0, 1]}), {}, ValueError, "d"),
    (plots.plot_pull_push, ([0, 1, 2], [0, 1], {1.0: [0, 1, 2]}), {}, ValueError,
     "similar_loss"),
    (plots.plot_pull_push, ([0, 1, 2], [0, 1, 2], {}), {}, TypeError, "dissimilar_losses"),
    (plots.plot_pull_push, ([0, 1, 2], [0, 1, 2], {-1.0: [0, 1, 2]}), {}, ValueError, "margin"),
    (plots.plot_gradient_field, (np.zeros((3, 3)), np.zeros((3, 3)), (0, 0)), {}, ValueError,
     "points"),
    (plots.plot_gradient_field, (np.zeros((3, 2)), np.zeros((2, 2)), (0, 0)), {}, ValueError,
     "gradients"),
    (plots.plot_gradient_field, (np.zeros((3, 2)), [["a", "b"]] * 3, (0, 0)), {}, TypeError,
     "gradients"),
    (plots.plot_gradient_field, (np.zeros((3, 2)), np.zeros((3, 2)), (0, 0, 0)), {},
     ValueError, "center"),
    (plots.plot_gradient_field, (np.zeros((3, 2)), np.zeros((3, 2)), (0, 0)), {"radius": 0},
     ValueError, "radius"),
    (plots.plot_step_losses, ({},), {}, TypeError, "curves"),
    (plots.plot_step_losses, ({"a": [1.0, -1.0]},), {}, ValueError, "curves"),
    (plots.plot_step_losses, ({"a": ["x"]},), {}, TypeError, "curves"),
    (plots.plot_step_losses, ({"a": [1.0]},), {"mark_step": -1}, ValueError, "mark_step"),
]


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "error", "match"),
    LOSS_PLOT_BAD_INPUTS,
    ids=[f"{f.__name__}-{i}" for i, (f, *_) in enumerate(LOSS_PLOT_BAD_INPUTS)],
)
def test_loss_plots_reject_bad_inputs_naming_the_argument(func, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        func(*args, **kwargs)
    assert not plt.get_fignums()




# --------------------------------------------------------------------------- notebook 05


def test_plot_metric_curves_colours_series_and_styles_variants():
    x = [0, 1, 2]
    panels = {"kNN accuracy": {"a": {"Euclidean": [0.1, 0.5, 0.9], "cosine": [0.1, 0.4, 0.8]},
                               "b": {"Euclidean": [0.2, 0.3, 0.4], "cosine": [0.2, 0.2, 0.3]}},
              "probe": {"a": [0.3, 0.6, 0.9], "b": [0.1, 0.2, 0.3]}}
    fig = plots.plot_metric_curves(x, panels, title="T", ylabels={"probe": "probe accuracy"})
    assert isinstance(fig, Figure) and fig.get_suptitle() == "T"
    left, right = fig.axes
    assert [ln.get_ydata().tolist() for ln in left.lines][0] == [0.1, 0.5, 0.9]
    assert len(left.lines) == 4 and len(right.lines) == 2
    assert left.get_ylabel() == "kNN accuracy" and right.get_ylabel() == "probe accuracy"
    assert left.get_xlabel() == right.get_xlabel() == "epoch"
    # a series keeps its colour across panels; a variant keeps its line style
    assert to_hex(left.lines[0].get_color()) == to_hex(right.lines[0].get_color())
    assert to_hex(left.lines[0].get_color()) != to_hex(left.lines[2].get_color())
    assert left.lines[0].get_linestyle() == "-" and left.lines[1].get_linestyle() == "--"
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b", "Euclidean", "cosine"]
    assert right.lines[0].get_linestyle() == "-"
    assert not left.get_legend() and not right.get_legend()   # nothing drawn over the curves


def test_plot_metric_curves_without_variants_has_no_style_entries():
    fig = plots.plot_metric_curves([1, 2], {"loss": {"m": [2.0, 1.0]}})
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["m"]


def test_plot_class_directions_draws_one_arrow_per_class(emb_y):
    emb, y = emb_y
    angles = 2 * np.pi * np.arange(10) / 10
    w = 3 * np.column_stack([np.cos(angles), np.sin(angles)])
    ax = plots.plot_class_directions(emb, y, w, title="Spokes")
    assert_labelled(ax)
    arrows = [a for a in ax.texts if a.arrow_patch is not None]
    assert len(arrows) == 10
    reach = np.percentile(np.linalg.norm(emb, axis=1), 99)
    np.testing.assert_allclose(np.linalg.norm(arrows[3].xy), reach)
    np.testing.assert_allclose(np.asarray(arrows[3].xy) / reach, w[3] / 3, atol=1e-12)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:10] == [str(c) for c in range(10)] and labels[10] == "class\ndirection"


BAD_05 = [
    (plots.plot_metric_curves, ([0, 1], {}), {}, TypeError, "panels"),
    (plots.plot_metric_curves, ([0, 1], {"p": [0.1, 0.2]}), {}, TypeError, "panels"),
    (plots.plot_metric_curves, ([0, 1], {"p": {"m": [0.1]}}), {}, ValueError, r"panels\['p'\]"),
    (plots.plot_metric_curves, ([0, 1], {"p": {"m": ["a", "b"]}}), {}, TypeError, "panels"),
    (plots.plot_metric_curves, ([0, 1], {"p": {"m": {str(i): [0, 1] for i in range(5)}}}), {},
     ValueError, "variants"),
    (plots.plot_metric_curves, ([0, 1], {"p": {"m": [0, 1]}}), {"ylabels": ["y"]}, TypeError,
     "ylabels"),
    (plots.plot_class_directions, (_EMB, _Y, np.ones((10, 3))), {}, ValueError, "directions"),
    (plots.plot_class_directions, (_EMB, _Y, np.ones((1, 2))), {}, ValueError, "directions"),
    (plots.plot_class_directions, (_EMB, _Y, np.zeros((10, 2))), {}, ValueError, "directions"),
    (plots.plot_class_directions, (_EMB, _Y[:3], np.ones((10, 2))), {}, ValueError, "y"),
]


@pytest.mark.parametrize(("func", "args", "kwargs", "error", "match"), BAD_05,
                         ids=[f"{f.__name__}-{i}" for i, (f, *_) in enumerate(BAD_05)])
def test_notebook_05_plots_refuse_bad_inputs(func, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        func(*args, **kwargs)
    assert not plt.get_fignums()


def test_plot_siamese_architecture_draws_one_or_two_encoders():
    shared = plots.plot_siamese_architecture()
    texts = [t.get_text() for t in shared.axes[0].texts]
    assert texts.count("encoder f") == 2 and "encoder g" not in texts
    assert any("|f(a) - f(b)|" in t for t in texts)
    assert shared.axes[0].get_title().startswith("A Siamese network")
    pseudo = plots.plot_siamese_architecture(shared=False, loss="a loss")
    texts = [t.get_text() for t in pseudo.axes[0].texts]
    assert {"encoder f", "encoder g", "a loss"} <= set(texts)
    assert any("|f(a) - g(b)|" in t for t in texts)
    with pytest.raises(TypeError, match="shared must be a bool"):
        plots.plot_siamese_architecture(shared=1)
    with pytest.raises(TypeError, match="loss must be a str"):
        plots.plot_siamese_architecture(loss=3)
    plt.close("all")


def test_plot_comparisons_draws_one_row_per_comparison():
    from course_lib import evaluate

    rng = np.random.default_rng(0)
    a = rng.random(500) < 0.7
    found = evaluate.compare_many({"a": a, "b": a | (rng.random(500) < 0.2), "c": a},
                                  [("b", "a"), ("c", "a")], paired=True)
    ax = plots.plot_comparisons(found, title="t")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b - a", "c - a"]
    assert ax.get_title() == "t" and "intervals" in ax.get_xlabel()
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 2 and texts[0] == "p < 0.001"
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_comparisons([])
    with pytest.raises(TypeError, match="Comparison"):
        plots.plot_comparisons([0.1])


def test_plot_comparisons_legend_covers_no_bar_and_p_values_stay_inside():
    # Scores per seed built so that the last row's interval reaches farthest right (where the
    # legend and the p-value labels used to sit) and a long label reads "p = 0.0..." .
    rng = np.random.default_rng(1)
    base = rng.normal(0.5, 0.01, 6)
    runs = {"base": base, "small": base + 0.002 + rng.normal(0, 0.01, 6),
            "mid": base + 0.05 + rng.normal(0, 0.01, 6),
            "big": base + 0.30 + rng.normal(0, 0.02, 6)}
    found = ev.compare_many(runs, [("small", "base"), ("mid", "base"), ("big", "base")],
                            paired=True)
    ax = plots.plot_comparisons(found, title="t")
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    legend = ax.get_legend().get_window_extent(renderer)
    bars = [line for line in ax.get_lines() if len(line.get_xdata()) in (1, 2)
            and line.get_linestyle() != "--"]
    assert len(bars) == 2 * len(found)                 # an interval and a dot per row
    for line in bars:
        box = line.get_window_extent(renderer)
        assert not legend.overlaps(box), line.get_xdata()
        assert frame.contains(box.x1, box.y0) and frame.contains(box.x0, box.y1)
    texts = ax.texts
    assert [t.get_text().startswith("p ") for t in texts] == [True] * len(found)
    for t in texts:
        box = t.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, (t.get_text(), box, frame)
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1
        for line in bars:
            assert not box.overlaps(line.get_window_extent(renderer)), t.get_text()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "detectable", "not detectable", "no difference"]
    # Row names as long as notebook 09's widen the figure: the p-values still clear the bars.
    long = ev.compare_many({"softmax classifier, SimpleShot": runs["big"],
                            "softmax classifier": runs["base"]},
                           [("softmax classifier, SimpleShot", "softmax classifier")],
                           paired=True)
    wide = plots.plot_comparisons(long)
    wide.figure.canvas.draw()
    r = wide.figure.canvas.get_renderer()
    frame = wide.get_window_extent(r)
    (label,) = wide.texts
    box = label.get_window_extent(r)
    bar_end = max(line.get_window_extent(r).x1 for line in wide.get_lines()
                  if line.get_linestyle() != "--")
    assert box.x0 - bar_end > 10 and box.x1 <= frame.x1       # pixels between bar and label
    ticks = [t.get_window_extent(r) for t in wide.get_xticklabels() if t.get_text()]
    assert not any(a.overlaps(b) for i, a in enumerate(ticks) for b in ticks[i + 1:])
    # Drawn into a given, narrow Axes the labels still stay inside it.
    _, small = plt.subplots(figsize=(4, 2.5), layout="constrained")
    plots.plot_comparisons(found, ax=small)
    small.figure.canvas.draw()
    r = small.figure.canvas.get_renderer()
    frame = small.get_window_extent(r)
    for t in small.texts:
        box = t.get_window_extent(r)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, (t.get_text(), box, frame)


def test_plot_by_fold_draws_one_line_per_method():
    ax = plots.plot_by_fold({"x": [0.5, 0.7], "y": [0.4, 0.6]}, ["A", "B"], title="folds")
    assert len(ax.get_lines()) == 2 and ax.get_title() == "folds"
    assert ax.get_legend().get_texts()[0].get_text() == "x (mean 0.600)"
    with pytest.raises(ValueError, match="one score per fold"):
        plots.plot_by_fold({"x": [0.5]}, ["A", "B"])
    with pytest.raises(TypeError, match="mapping"):
        plots.plot_by_fold([], ["A"])


def test_plot_negative_weights_draws_each_setting_and_equal_shares():
    shares = {"t 0.1": np.array([0.5, 0.3, 0.2]), "t 1": np.array([0.4, 0.33, 0.27])}
    ax = plots.plot_negative_weights(shares, title="push")
    lines = ax.get_lines()
    assert len(lines) == 3 and ax.get_title() == "push" and ax.get_yscale() == "log"
    np.testing.assert_allclose(lines[0].get_ydata(), shares["t 0.1"])
    np.testing.assert_allclose(lines[2].get_ydata(), [1 / 3, 1 / 3])   # the equal-shares line
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["t 0.1", "t 1", "equal shares"]
    with pytest.raises(TypeError, match="non-empty dict"):
        plots.plot_negative_weights({})
    with pytest.raises(ValueError, match="same length"):
        plots.plot_negative_weights({"a": [0.5, 0.5], "b": [0.2, 0.3, 0.5]})
    with pytest.raises(ValueError, match="> 0"):
        plots.plot_negative_weights({"a": [1.0, 0.0]})
    plt.close("all")


def test_plot_margin_softmax_follows_the_formula():
    ax = plots.plot_margin_softmax([(8.0, 0.0), (16.0, 0.35)], 360, title="m")
    (first, second) = ax.get_lines()
    assert first.get_xdata()[0] == 0.0
    assert np.isclose(first.get_ydata()[0], 1 / (1 + 359 * np.exp(-8.0)))
    assert np.isclose(second.get_ydata()[0], 1 / (1 + 359 * np.exp(-16.0 * 0.65)))
    assert ax.get_title() == "m" and "360 classes" in ax.get_ylabel()
    with pytest.raises(ValueError, match="non-empty"):
        plots.plot_margin_softmax([], 10)
    with pytest.raises(TypeError, match="pair"):
        plots.plot_margin_softmax([(8.0,)], 10)
    with pytest.raises(ValueError, match="margin"):
        plots.plot_margin_softmax([(8.0, -0.1)], 10)
    with pytest.raises(ValueError, match="num_classes"):
        plots.plot_margin_softmax([(8.0, 0.0)], 1)
    plt.close("all")
