"""Tests for course_lib.evaluate on synthetic data (Gaussian blobs, constructed distances)."""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from course_lib import evaluate as ev


def blobs(n_per_class=100, n_classes=10, dim=2, spread=0.3, seed=0):
    """Well-separated Gaussian blobs: class c centred on a circle of radius 10."""
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(n_classes) / n_classes
    centers = np.zeros((n_classes, dim))
    centers[:, 0], centers[:, 1] = 10 * np.cos(angles), 10 * np.sin(angles)
    y = np.repeat(np.arange(n_classes), n_per_class)
    return centers[y] + spread * rng.normal(size=(len(y), dim)), y


def separable_pairs(lo_similar=0.0, lo_different=2.0, n=200, seed=0):
    """Similar distances in [lo_similar, lo_similar + 1), different in [lo_different, +1)."""
    rng = np.random.default_rng(seed)
    d = np.concatenate([lo_similar + rng.random(n), lo_different + rng.random(n)])
    labels = np.concatenate([np.ones(n, int), np.zeros(n, int)])
    return d, labels


# --------------------------------------------------------------------------- thresholds


def test_choose_threshold_separable_is_widest_margin():
    d, lab = separable_pairs()
    t = ev.choose_threshold(d, lab)
    assert t == pytest.approx((d[lab == 1].max() + d[lab == 0].min()) / 2)
    assert ev.threshold_accuracy(d, lab, t) == 1.0


def test_choose_threshold_matches_brute_force():
    rng = np.random.default_rng(1)
    d = np.round(rng.random(300), 2)  # many ties
    lab = (rng.random(300) < d).astype(int) ^ 1  # noisy: small distance -> more often similar
    candidates = np.concatenate([[-1.0], np.unique(d)])
    best = max(ev.threshold_accuracy(d, lab, c) for c in candidates)
    assert ev.threshold_accuracy(d, lab, ev.choose_threshold(d, lab)) == pytest.approx(best)


def test_choose_threshold_can_call_everything_different():
    d, lab = np.array([0.0, 1.0, 2.0]), np.array([0, 0, 1])
    t = ev.choose_threshold(d, lab)
    assert t < 0
    assert ev.threshold_accuracy(d, lab, t) == pytest.approx(2 / 3)


def test_choose_threshold_never_splits_tied_distances():
    # Splitting the tie at 1.0 would be perfect, but no threshold can: the best is 2/3.
    d, lab = np.array([1.0, 1.0, 2.0]), np.array([1, 0, 0])
    assert ev.threshold_accuracy(d, lab, ev.choose_threshold(d, lab)) == pytest.approx(2 / 3)


# --------------------------------------------------------------------------- verification report


def test_report_on_separable_pairs():
    val_d, val_lab = separable_pairs(seed=1)
    test_d, test_lab = separable_pairs(seed=2)
    r = ev.verification_report(val_d, val_lab, test_d, test_lab)
    assert r.accuracy == 1.0
    assert r.roc_auc == 1.0
    assert r.eer == 0.0
    assert r.mean_distance_similar < 1 < 2 < r.mean_distance_different
    assert r.fpr.shape == r.tpr.shape and r.fpr[0] == 0 and r.tpr[-1] == 1


def test_report_on_random_distances_is_chance():
    rng = np.random.default_rng(0)
    d, lab = rng.random(4000), rng.integers(0, 2, 4000)
    r = ev.verification_report(d, lab, d, lab)
    assert r.roc_auc == pytest.approx(0.5, abs=0.05)
    assert r.eer == pytest.approx(0.5, abs=0.05)


def test_report_threshold_comes_from_val_only():
    val_d, val_lab = separable_pairs(0.0, 2.0)  # best threshold ~1.5
    test_d, test_lab = separable_pairs(4.0, 6.0)  # best threshold ~5.5
    r = ev.verification_report(val_d, val_lab, test_d, test_lab)
    assert r.threshold == pytest.approx(ev.choose_threshold(val_d, val_lab))
    assert 1.0 <= r.threshold <= 2.0
    assert r.accuracy == 0.5  # every test pair is called "different"
    assert r.roc_auc == 1.0  # the ranking is still perfect


def test_report_as_dict_is_json_ready():
    d, lab = separable_pairs()
    r = ev.verification_report(d, lab, d, lab)
    full = json.loads(json.dumps(r.as_dict()))
    assert set(full) == {
        "threshold",
        "accuracy",
        "roc_auc",
        "eer",
        "fpr",
        "tpr",
        "mean_distance_similar",
        "mean_distance_different",
    }
    assert len(full["fpr"]) == len(r.fpr)
    assert "fpr" not in r.as_dict(include_curve=False)
    with pytest.raises(AttributeError):
        r.accuracy = 0.0


@pytest.mark.parametrize(
    ("similar", "different", "expected"),
    [([0.0, 2.0], [1.0, 3.0], 0.5), ([0.0, 1.0, 2.0, 3.0], [2.5, 4.0, 5.0, 6.0], 0.25)],
)
def test_equal_error_rate_known_values(similar, different, expected):
    d = np.array(similar + different)
    lab = np.array([1] * len(similar) + [0] * len(different))
    assert ev.equal_error_rate(d, lab) == pytest.approx(expected)


# --------------------------------------------------------------------------- intervals


def test_wilson_interval_known_value():
    mean, low, high = ev.n_way_accuracy(np.array([True] * 8 + [False] * 2))
    assert mean == 0.8
    assert low == pytest.approx(0.490, abs=1e-3)
    assert high == pytest.approx(0.943, abs=1e-3)


@pytest.mark.parametrize("k", [0, 1, 37, 99, 100])
def test_wilson_interval_contains_mean(k):
    mean, low, high = ev.n_way_accuracy(np.arange(100) < k)
    assert 0 <= low <= mean <= high <= 1
    assert mean == k / 100


def test_wilson_interval_narrows_with_n():
    widths = []
    for n in (20, 200, 2000):
        _, low, high = ev.n_way_accuracy(np.arange(n) < 0.9 * n)
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    _, low99, high99 = ev.n_way_accuracy(np.arange(200) < 180, confidence=0.99)
    assert high99 - low99 > widths[1]


def test_mean_with_ci_clustered_is_the_interval_of_the_cluster_means():
    values = [0.9, 1.0, 0.8, 0.8, 0.95, 0.85]
    clusters = ["a", "a", "b", "b", "c", "c"]
    assert ev.mean_with_ci(values, clusters=clusters) == pytest.approx(
        ev.mean_with_ci([0.95, 0.8, 0.9]))
    # two runs of a cluster that agree add no information: the interval widens
    _, low, high = ev.mean_with_ci([0.9, 0.9, 0.8, 0.8, 1.0, 1.0], clusters=clusters)
    _, low_runs, high_runs = ev.mean_with_ci([0.9, 0.9, 0.8, 0.8, 1.0, 1.0])
    assert high - low > high_runs - low_runs
    with pytest.raises(ValueError, match="one cluster per value"):
        ev.mean_with_ci(values, clusters=clusters[:5])
    with pytest.raises(ValueError, match="2 distinct clusters"):
        ev.mean_with_ci(values, clusters=["a"] * 6)


def test_mean_with_ci_known_value():
    mean, low, high = ev.mean_with_ci([1, 2, 3, 4, 5])
    assert mean == 3.0
    assert (low, high) == pytest.approx((3 - 1.9632, 3 + 1.9632), abs=1e-3)
    assert ev.mean_with_ci([0.9, 0.9, 0.9]) == pytest.approx((0.9, 0.9, 0.9))


# --------------------------------------------------------------------------- embedding quality


def test_knn_and_linear_probe_on_separable_blobs():
    emb, y = blobs(seed=0)
    emb_test, y_test = blobs(seed=1)
    assert ev.knn_accuracy(emb, y, emb_test, y_test, k=5) == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning
        assert ev.linear_probe_accuracy(emb, y, emb_test, y_test) > 0.99
        probe = ev.fit_linear_probe(emb, y)
    assert np.array_equal(probe.predict(emb_test), y_test)


def test_knn_on_shuffled_labels_is_chance():
    emb, y = blobs(seed=0)
    y_random = np.random.default_rng(0).permutation(y)
    assert ev.knn_accuracy(emb[::2], y_random[::2], emb[1::2], y_random[1::2]) < 0.3


def test_silhouette():
    emb, y = blobs(spread=0.3)
    assert ev.silhouette(emb, y) > 0.8
    y_random = np.random.default_rng(0).permutation(y)
    assert abs(ev.silhouette(emb, y_random)) < 0.1
    sub = ev.silhouette(emb, y, sample_size=300, seed=3)
    assert sub == ev.silhouette(emb, y, sample_size=300, seed=3)
    assert sub > 0.8
    assert ev.silhouette(emb, y, sample_size=10_000) == ev.silhouette(emb, y)


def spokes(n_per_class=200, n_classes=6, seed=0):
    """Class c on a ray at angle 2*pi*c/n_classes, radii from 0.05 to 50 (a softmax bottleneck)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    angle = 2 * np.pi * y / n_classes + 0.05 * rng.normal(size=len(y))
    radius = 10 ** rng.uniform(-1.3, 1.7, size=len(y))
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]), y


def test_cosine_metric_reads_directions():
    emb, y = spokes(seed=0)
    emb_test, y_test = spokes(seed=1)
    assert ev.knn_accuracy(emb, y, emb_test, y_test, metric="cosine") == 1.0
    assert ev.silhouette(emb, y, metric="cosine") > 0.9
    assert ev.silhouette(emb, y) < 0.5                        # rays are long and thin


def test_cosine_metric_ignores_the_norm():
    emb, y = blobs(spread=3.0, seed=0)
    emb_test, y_test = blobs(spread=3.0, seed=1)
    rng = np.random.default_rng(2)
    scale, scale_test = rng.uniform(0.1, 10, (len(y), 1)), rng.uniform(0.1, 10, (len(y), 1))
    knn = ev.knn_accuracy(emb, y, emb_test, y_test, metric="cosine")
    assert ev.knn_accuracy(scale * emb, y, scale_test * emb_test, y_test, metric="cosine") == knn
    sil = ev.silhouette(emb, y, metric="cosine")
    assert ev.silhouette(scale * emb, y, metric="cosine") == pytest.approx(sil, abs=1e-12)
    assert ev.silhouette(scale * emb, y) != pytest.approx(ev.silhouette(emb, y), abs=1e-3)


def test_cosine_silhouette_is_sklearns():
    from sklearn.metrics import silhouette_score

    emb, y = blobs(spread=3.0, seed=4)
    assert ev.silhouette(emb, y, metric="cosine") == pytest.approx(
        silhouette_score(emb, y, metric="cosine"), abs=1e-12)


def test_cluster_anisotropy():
    rng = np.random.default_rng(0)
    round_blob = rng.normal(size=(5000, 2))
    stretched = rng.normal(size=(5000, 2)) * [3.0, 1.0]
    emb = np.concatenate([round_blob, stretched + 20])
    y = np.repeat([4, 7], 5000)
    ratios = ev.cluster_anisotropy(emb, y)
    assert list(ratios) == [4, 7]
    assert ratios[4] == pytest.approx(1.0, abs=0.1)
    assert ratios[7] == pytest.approx(9.0, rel=0.1)
    line = np.column_stack([np.arange(10.0), 2 * np.arange(10.0)])
    assert ev.cluster_anisotropy(line, np.zeros(10, int))[0] > 1e10


def test_recall_at_k_constructed():
    gallery = np.array([[0.0], [1.0], [10.0], [11.0]])
    labels = np.array([0, 1, 0, 1])
    assert ev.recall_at_k(gallery, labels, gallery, labels, k=1) == 1.0  # self matches
    assert ev.recall_at_k(gallery, labels, gallery, labels, k=1, exclude_self=True) == 0.0
    assert ev.recall_at_k(gallery, labels, gallery, labels, k=2, exclude_self=True) == 0.5
    assert ev.recall_at_k(gallery, labels, gallery, labels, k=3, exclude_self=True) == 1.0
    query, query_y = np.array([[0.4], [10.6]]), np.array([1, 1])
    assert ev.recall_at_k(query, query_y, gallery, labels, k=1) == 0.5


def test_recall_at_k_grows_with_k():
    emb, y = blobs(spread=6.0)
    recalls = [ev.recall_at_k(emb, y, emb, y, k=k, exclude_self=True) for k in (1, 5, 20)]
    assert recalls == sorted(recalls) and recalls[0] < recalls[-1]


# --------------------------------------------------------------------------- bad inputs

_D, _L = np.array([0.1, 0.5, 0.9, 1.3]), np.array([1, 1, 0, 0])
_E, _Y = np.arange(12.0).reshape(6, 2), np.array([0, 0, 0, 1, 1, 1])

BAD_INPUTS = [
    (ev.choose_threshold, (_D, _L[:3]), ValueError, "labels"),
    (ev.choose_threshold, (_D[None], _L), ValueError, "distances"),
    (ev.choose_threshold, ([], []), ValueError, "distances"),
    (ev.choose_threshold, ([0.1, np.nan], [1, 0]), ValueError, "distances"),
    (ev.choose_threshold, (["a", "b"], [1, 0]), TypeError, "distances"),
    (ev.choose_threshold, (_D, [1, 2, 0, 0]), ValueError, "labels"),
    (ev.choose_threshold, (_D, [1, 1, 1, 1]), ValueError, "labels"),
    (ev.threshold_accuracy, (_D, _L, np.nan), ValueError, "threshold"),
    (ev.threshold_accuracy, (_D, _L, "0.5"), TypeError, "threshold"),
    (ev.equal_error_rate, (_D, [0.5, 1, 0, 0]), ValueError, "labels"),
    (ev.verification_report, (_D, _L[:3], _D, _L), ValueError, "val_labels"),
    (ev.verification_report, (_D, _L, _D, [0, 0, 0, 0]), ValueError, "test_labels"),
    (ev.verification_report, (_D, _L, [np.inf] * 4, _L), ValueError, "test_distances"),
    (ev.n_way_accuracy, ([],), ValueError, "correct"),
    (ev.n_way_accuracy, ([1, 2],), ValueError, "correct"),
    (ev.n_way_accuracy, ([True, False], 1.5), ValueError, "confidence"),
    (ev.mean_with_ci, ([0.5],), ValueError, "values"),
    (ev.mean_with_ci, ([0.5, 0.6], 0), ValueError, "confidence"),
    (ev.knn_accuracy, (_E, _Y, _E, _Y, 0), ValueError, "k"),
    (ev.knn_accuracy, (_E, _Y, _E, _Y, 1.5), TypeError, "k"),
    (ev.knn_accuracy, (_E, _Y, _E, _Y, 7), ValueError, "k"),
    (ev.knn_accuracy, (_E, _Y * 1.0, _E, _Y), TypeError, "train_y"),
    (ev.knn_accuracy, (_E, _Y, _E, _Y[:5]), ValueError, "test_y"),
    (ev.knn_accuracy, (_E, _Y, _E[:, :1], _Y), ValueError, "test_emb"),
    (ev.linear_probe_accuracy, (_E, 0 * _Y, _E, _Y), ValueError, "train_y"),
    (ev.linear_probe_accuracy, (_E, _Y, np.ones((6, 3)), _Y), ValueError, "test_emb"),
    (ev.fit_linear_probe, (_E[:, 0], _Y), ValueError, "train_emb"),
    (ev.silhouette, (_E, 0 * _Y), ValueError, "y"),
    (ev.silhouette, (_E, np.arange(6)), ValueError, "y"),
    (ev.silhouette, (_E, _Y, 0), ValueError, "sample_size"),
    (ev.silhouette, (_E[:, 0], _Y), ValueError, "emb"),
    (ev.silhouette, (_E, _Y, None, 0, "manhattan"), ValueError, "metric"),
    (ev.silhouette, (0 * _E, _Y, None, 0, "cosine"), ValueError, "emb"),
    (ev.knn_accuracy, (_E, _Y, _E, _Y, 1, "manhattan"), ValueError, "metric"),
    (ev.knn_accuracy, (0 * _E, _Y, _E, _Y, 1, "cosine"), ValueError, "train_emb"),
    (ev.knn_accuracy, (_E, _Y, 0 * _E, _Y, 1, "cosine"), ValueError, "test_emb"),
    (ev.cluster_anisotropy, (_E, np.array([0, 0, 0, 0, 1, 1])), ValueError, "class 1"),
    (ev.recall_at_k, (_E, _Y, _E, _Y, 7), ValueError, "k"),
    (ev.recall_at_k, (_E, _Y, _E, _Y, 6, True), ValueError, "k"),
    (ev.recall_at_k, (_E[:3], _Y[:3], _E, _Y, 1, True), ValueError, "exclude_self"),
    (ev.recall_at_k, (_E[:, :1], _Y, _E, _Y), ValueError, "query_emb"),
    (ev.recall_at_k, (_E, _Y[:3], _E, _Y), ValueError, "query_y"),
]


@pytest.mark.parametrize(
    ("func", "args", "error", "match"),
    BAD_INPUTS,
    ids=[f"{f.__name__}-{i}" for i, (f, *_) in enumerate(BAD_INPUTS)],
)
def test_bad_inputs_raise_naming_the_argument(func, args, error, match):
    with pytest.raises(error, match=match):
        func(*args)


# Within course_lib, each NumPy-only module may import only these siblings (config, for
# plots.save_figure's atomic_file, imports TensorFlow only inside the functions that use it).
NUMPY_ONLY = {"evaluate": {"course_lib.checks", "course_lib.distances"},
              "plots": {"course_lib.checks", "course_lib.config", "course_lib.evaluate"},
              "distances": {"course_lib.checks"}}


def _imports(statements) -> list[str]:
    names = []
    for n in statements:
        if isinstance(n, ast.Import):
            names += [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            names += [n.module] if n.module != "course_lib" else [
                f"course_lib.{a.name}" for a in n.names]
    return names


@pytest.mark.parametrize("module", sorted(NUMPY_ONLY))
def test_module_does_not_import_tensorflow(module):
    # Static check (a subprocess import would cost seconds): no TF/Keras, and within course_lib
    # only the listed modules (plots no longer borrows evaluate's private helpers).
    # distances.keras_pairwise alone imports Keras, inside the function, when it is called.
    tree = ast.parse((Path(ev.__file__).parent / f"{module}.py").read_text())
    nodes = list(ast.walk(tree))
    if module == "distances":
        lazy = next(f for f in nodes if isinstance(f, ast.FunctionDef)
                    and f.name == "keras_pairwise")
        inside = {id(n) for n in ast.walk(lazy)}
        assert {m.split(".")[0] for m in _imports(ast.walk(lazy))} == {"keras"}
        nodes = [n for n in nodes if id(n) not in inside]
    names = _imports(nodes)
    assert not [m for m in names if m.split(".")[0] in {"tensorflow", "keras"}]
    assert {m for m in names if m.startswith("course_lib")} == NUMPY_ONLY[module]


def test_paired_sign_test_counts_the_discordant_tasks():
    a = np.array([1, 1, 1, 1, 0, 0, 1, 0], bool)
    b = np.array([1, 0, 0, 0, 0, 1, 1, 0], bool)
    wins_a, wins_b, p = ev.paired_sign_test(a, b)
    assert (wins_a, wins_b) == (3, 1)
    assert p == pytest.approx(0.625)                  # 2 * P(X >= 3), X ~ Binomial(4, 1/2)
    assert ev.paired_sign_test(a, a) == (0, 0, 1.0)
    many = np.r_[np.ones(20, bool), np.zeros(80, bool)]
    assert ev.paired_sign_test(many, np.zeros(100, bool))[2] == pytest.approx(2 * 0.5**20)
    with pytest.raises(ValueError, match="correct_b"):
        ev.paired_sign_test(a, b[:5])
    with pytest.raises(ValueError, match="correct_a"):
        ev.paired_sign_test([0, 2], [0, 1])


def test_only_t_tests_say_their_smallest_effect_comes_from_the_observed_sd():
    fisher = ev.compare(np.arange(400) < 263, np.arange(400) < 281, paired=False)
    assert "Fisher's exact test" in str(fisher) and "observed sd" not in str(fisher)
    welch = ev.compare(np.linspace(0, 1, 10), np.linspace(0.2, 1.2, 10), paired=False,
                             kind="scores")
    assert "t test" in str(welch) and "observed sd" in str(welch)


def test_holm_adjust_steps_down_and_refuses_what_is_not_a_family_of_p_values():
    # sorted 0.01, 0.02, 0.04 -> 3 x 0.01, max(0.03, 2 x 0.02), max(0.04, 0.04), in input order
    np.testing.assert_allclose(ev.holm_adjust([0.04, 0.01, 0.02]), [0.04, 0.03, 0.04])
    np.testing.assert_allclose(ev.holm_adjust([0.6, 0.5]), [1.0, 1.0])
    for bad in ([], [[0.1]], [0.1, 1.5], [-0.1], [float("nan")]):
        with pytest.raises((TypeError, ValueError), match="p_values"):
            ev.holm_adjust(bad)
