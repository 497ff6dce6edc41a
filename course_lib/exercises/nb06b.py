"""Exercises of notebook 06b (choosing the recipe: paired, clustered, corrected comparisons).

- ``q1``: ``clustered_difference(a, b, clusters)``: the mean paired difference of two methods'
  task outcomes and its cluster-robust standard error (CR1), checked against
  ``course_lib.evaluate.compare(..., clusters=...)``.
- ``q2``: ``holm(p_values)``: Holm's step-down adjusted p-values, checked against the
  p-values of ``course_lib.evaluate.compare_many``.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Exercise, Incorrect
from course_lib.exercises._probe import as_numpy, fmt

__all__ = ["q1", "q2"]


# ---------------------------------------------------------------------------------------------
# q1: a paired difference clustered by character

_Q1_SOLUTION = '''
import numpy as np


def clustered_difference(a, b, clusters):
    """Mean of a - b (booleans per task) and its cluster-robust standard error (CR1)."""
    d = np.asarray(a, float) - np.asarray(b, float)
    ids = np.unique(np.asarray(clusters), return_inverse=True)[1]
    sums = np.bincount(ids, weights=d)           # each cluster's summed difference
    sizes = np.bincount(ids)
    g, n, mean = sums.size, d.size, d.mean()
    variance = g / (g - 1) * np.sum((sums - mean * sizes) ** 2) / n**2
    return float(mean), float(np.sqrt(variance))
'''

_Q1_HINT = """
Turn the outcomes into numbers, d = a - b (each task: +1, 0 or -1). The effect is d.mean().
Tasks of one character move together, so the spread is measured between clusters: sum d
within each cluster (np.unique(clusters, return_inverse=True) numbers the clusters, and
np.bincount(ids, weights=d) sums per cluster), subtract what the mean predicts for a cluster
of its size (mean * size), square, add up, divide by n**2 and multiply by G / (G - 1) for G
clusters. The standard error is the square root.
"""


def _probe(seed: int):
    """Paired outcomes of two methods on 60 tasks of 12 clusters, correlated within clusters."""
    rng = np.random.default_rng(seed)
    clusters = np.repeat([f"alphabet/character{c:02d}" for c in range(12)], 5)
    hard = np.repeat(rng.random(12), 5)
    a = rng.random(60) > 0.6 * hard
    b = rng.random(60) > 0.8 * hard
    return a, b, clusters


def _check_clustered_difference(fn) -> str:
    from scipy import stats

    from course_lib import evaluate

    if not callable(fn):
        raise Incorrect(f"clustered_difference must be a function, got {type(fn).__name__}")
    for seed in (0, 1, 2):
        a, b, clusters = _probe(seed)
        want = evaluate.compare(a, b, paired=True, clusters=clusters)
        se_want = (want.high - want.effect) / float(stats.t.ppf(0.975, 11))  # 12 clusters
        got = fn(a, b, clusters)
        if got is None:
            raise Incorrect("clustered_difference returned None: did you forget the `return`?")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Incorrect(f"it should return two numbers (mean, standard error), got {got!r}")
        mean, se = (float(as_numpy(v, "the result")) for v in got)
        if not np.isclose(mean, want.effect):
            raise Incorrect(f"the mean difference is {mean:.4f}; expected {want.effect:.4f}, "
                            "the mean over tasks of a - b (first minus second).")
        d = a.astype(float) - b.astype(float)
        naive = d.std(ddof=1) / np.sqrt(d.size)
        if np.isclose(se, naive):
            raise Incorrect(f"the standard error {se:.4f} is the one of independent tasks; "
                            f"tasks of one cluster move together: measure the spread of the "
                            f"clusters' summed differences (expected {se_want:.4f}).")
        if not np.isclose(se, se_want, rtol=1e-6):
            no_factor = se_want * np.sqrt(11 / 12)
            if np.isclose(se, no_factor, rtol=1e-6):
                raise Incorrect(f"the standard error {se:.4f} lacks the small-sample factor "
                                f"G / (G - 1) under the square root (expected {se_want:.4f}).")
            raise Incorrect(f"on 60 tasks in 12 clusters (seed {seed}) the standard error is "
                            f"{fmt(se)}; evaluate.compare(..., clusters=...) uses "
                            f"{se_want:.4f}.")
    return ("clustered_difference gives evaluate.compare's effect and cluster-robust standard "
            "error on 3 sets of 60 paired tasks in 12 clusters.")


q1 = Exercise("nb06b.q1", "clustered_difference", _check_clustered_difference, _Q1_HINT,
              _Q1_SOLUTION)


# ---------------------------------------------------------------------------------------------
# q2: Holm's adjusted p-values

_Q2_SOLUTION = '''
import numpy as np


def holm(p_values):
    """Holm's step-down adjusted p-values, in the order given."""
    p = np.asarray(p_values, float)
    order = np.argsort(p)                         # smallest first
    m = p.size
    stepped = (m - np.arange(m)) * p[order]      # m * p_(1), (m - 1) * p_(2), ...
    adjusted = np.minimum(1.0, np.maximum.accumulate(stepped))
    out = np.empty(m)
    out[order] = adjusted
    return out
'''

_Q2_HINT = """
Sort the p-values, smallest first. The smallest is multiplied by m (the number of
comparisons), the next by m - 1, and so on down to 1. An adjusted p-value may never be
smaller than the one before it in that order (np.maximum.accumulate), nor above 1
(np.minimum). Finally put the adjusted values back in the original order: out[order] =
adjusted.
"""

_Q2_PROBES = ([0.01, 0.04, 0.03, 0.5, 0.001], [0.2, 0.01], [0.04, 0.04, 0.04],
              [0.3, 0.02, 0.9, 0.011])


def _check_holm(fn) -> str:
    from course_lib import evaluate

    if not callable(fn):
        raise Incorrect(f"holm must be a function, got {type(fn).__name__}")
    for p in _Q2_PROBES:
        want = evaluate.holm_adjust(p)
        got = fn(list(p))
        if got is None:
            raise Incorrect("holm returned None: did you forget the `return`?")
        got = as_numpy(got, "the adjusted p-values").astype(float)
        if got.shape != want.shape:
            raise Incorrect(f"for {len(p)} p-values it returns shape {got.shape}, expected "
                            f"{want.shape}: one adjusted p-value per comparison.")
        if np.allclose(got, np.minimum(1, len(p) * np.asarray(p))) and \
                not np.allclose(got, want):
            raise Incorrect(f"for {p} it returns {fmt(got)}, Bonferroni's m * p: Holm "
                            f"multiplies the k-th smallest by m - k + 1 (expected {fmt(want)}).")
        if np.allclose(np.sort(got), np.sort(want)) and not np.allclose(got, want):
            raise Incorrect(f"for {p} it returns {fmt(got)}: the right values in sorted order. "
                            f"Return them in the order of the input (expected {fmt(want)}).")
        if not np.allclose(got, want):
            raise Incorrect(f"for {p} it returns {fmt(got)}, expected {fmt(want)} (did you "
                            f"keep each adjusted value at least as large as the one before, "
                            f"and at most 1?).")
    return "holm gives compare_many's Holm-adjusted p-values on 4 families of p-values."


q2 = Exercise("nb06b.q2", "holm", _check_holm, _Q2_HINT, _Q2_SOLUTION)
