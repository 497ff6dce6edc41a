"""Metrics for embeddings and pair verification: thresholds, ROC/EER, one-shot accuracy intervals
(tasks are scored by :mod:`course_lib.oneshot`), k-NN, clusters.

Conventions: embeddings are float arrays (N, D); class labels are integer arrays (N,); pair
labels are 1 for "similar" (same class) and 0 for "different"; distances are smaller for more
similar pairs. Distances and nearest-neighbour rankings come from :mod:`course_lib.distances`
(one tie rule: by distance, then gallery index). NumPy, SciPy and scikit-learn only, so it
runs anywhere the notebooks do.

Introduced in notebook 01.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
from scipy import optimize, special, stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve, silhouette_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from course_lib import checks, distances

__all__ = [
    "CostChoice",
    "Comparison",
    "VerificationReport",
    "average_precision_at_r",
    "choose_cheapest",
    "choose_threshold",
    "cluster_anisotropy",
    "compare",
    "compare_many",
    "equal_error_rate",
    "far_frr",
    "fit_linear_probe",
    "holm_adjust",
    "knn_accuracy",
    "linear_probe_accuracy",
    "map_at_r",
    "mean_with_ci",
    "n_way_accuracy",
    "operating_points",
    "paired_sign_test",
    "pair_distances",
    "recall_at_k",
    "retrieval_scores",
    "silhouette",
    "threshold_accuracy",
    "threshold_at_far",
    "verification_report",
]

# --------------------------------------------------------------------------- validation helpers


def _check_length(arr: np.ndarray, name: str, n: int, other: str) -> None:
    checks.same_length(arr, name, range(n), other)


def _pairs(distances, labels, d_name: str, l_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated (distances, pair labels) that contain both similar and different pairs."""
    d = checks.float_array(distances, d_name, 1)
    lab = checks.binary_labels(labels, l_name, "0 (different) and 1 (similar)")
    _check_length(lab, l_name, len(d), d_name)
    if lab.min() == lab.max():
        raise ValueError(f"{l_name} must contain both similar (1) and different (0) pairs")
    return d, lab


def _class_labels(y, name: str, n: int, other: str) -> np.ndarray:
    arr = checks.class_labels(y, name)
    _check_length(arr, name, n, other)
    return arr


def _labelled(emb, y, e_name: str, y_name: str) -> tuple[np.ndarray, np.ndarray]:
    e = checks.float_array(emb, e_name, 2)
    return e, _class_labels(y, y_name, len(e), e_name)


def _same_dim(a: np.ndarray, a_name: str, b: np.ndarray, b_name: str) -> None:
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"{b_name} has {b.shape[-1]} dimensions but {a_name} has {a.shape[-1]}")


def _confidence(confidence) -> float:
    return checks.number(confidence, "confidence", 0.0, 1.0, low_open=True, high_open=True)


# --------------------------------------------------------------------------- pair verification


def choose_threshold(distances, labels) -> float:
    """Distance threshold maximising the accuracy of "similar iff distance <= threshold".

    Among equally good cuts the first is kept; the cut sits halfway between the neighbouring
    distances, so on separable data it is the widest-margin threshold.

    Args:
        distances: pair distances, a 1-D float array.
        labels: pair labels, 1 = similar (same class), 0 = different; as many as distances.

    Returns:
        The threshold (a float).

    Raises:
        TypeError: non-numeric distances or labels.
        ValueError: empty or non-finite distances, labels other than 0/1, lengths that
            differ, or labels of one kind only.
    """
    d, lab = _pairs(distances, labels, "distances", "labels")
    order = np.argsort(d, kind="stable")
    d, lab = d[order], lab[order]
    # Predicting the k smallest distances "similar": correct = similar among them + different after.
    similar_before = np.concatenate([[0], np.cumsum(lab)])
    different_before = np.concatenate([[0], np.cumsum(1 - lab)])
    correct = similar_before + (different_before[-1] - different_before)
    # Only cuts between distinct distances are realisable by a threshold (k = 0 and k = n always are).
    realisable = np.concatenate([[True], d[:-1] < d[1:], [True]])
    k = int(np.flatnonzero(realisable)[np.argmax(correct[realisable])])
    if k == 0:
        return float(np.nextafter(d[0], -np.inf))
    if k == len(d):
        return float(d[-1])
    lo, hi = d[k - 1], d[k]
    mid = lo + (hi - lo) / 2
    return float(mid if mid < hi else lo)  # adjacent floats: the midpoint can round up to hi


def threshold_accuracy(distances, labels, threshold: float) -> float:
    """Accuracy of predicting "similar iff distance <= threshold" on the given pairs.

    Args:
        distances: pair distances, a 1-D float array.
        labels: pair labels, 1 = similar (same class), 0 = different; as many as distances.
        threshold: a finite number, e.g. from :func:`choose_threshold` on validation pairs.

    Returns:
        The fraction of pairs predicted right.

    Raises:
        TypeError: non-numeric distances, labels or threshold.
        ValueError: empty or non-finite distances, labels other than 0/1, lengths that differ,
            a non-finite threshold.
    """
    d = checks.float_array(distances, "distances", 1)
    lab = checks.binary_labels(labels, "labels", "0 (different) and 1 (similar)")
    _check_length(lab, "labels", len(d), "distances")
    threshold = checks.number(threshold, "threshold")
    return float(np.mean((d <= threshold) == (lab == 1)))


def _eer_from_roc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    # fpr - fnr rises from -1 at (0, 0) to 1 at (1, 1); interpolate where it crosses zero.
    gap = fpr + tpr - 1.0
    i = int(np.argmax(gap >= 0))
    t = -gap[i - 1] / (gap[i] - gap[i - 1])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def equal_error_rate(distances, labels) -> float:
    """Error rate where false accepts equal false rejects: one threshold-free summary number.

    Args:
        distances: pair distances, a 1-D float array.
        labels: pair labels, 1 = similar (same class), 0 = different; as many as distances.

    Returns:
        The equal error rate in [0, 1], interpolated on the ROC curve.

    Raises:
        TypeError: non-numeric distances or labels.
        ValueError: empty or non-finite distances, labels other than 0/1, lengths that
            differ, or labels of one kind only.
    """
    d, lab = _pairs(distances, labels, "distances", "labels")
    fpr, tpr, _ = roc_curve(lab, -d)
    return _eer_from_roc(fpr, tpr)


@dataclass(frozen=True, eq=False)
class VerificationReport:
    """Test-set verification metrics at a threshold chosen on validation pairs.

    Args:
        threshold: the distance threshold chosen on validation pairs.
        accuracy: test accuracy at that threshold.
        roc_auc: test ROC AUC.
        eer: test equal error rate.
        fpr: false positive rates of the test ROC curve.
        tpr: true positive rates of the test ROC curve.
        mean_distance_similar: mean test distance of similar pairs.
        mean_distance_different: mean test distance of different pairs.
    """

    threshold: float
    accuracy: float
    roc_auc: float
    eer: float
    fpr: np.ndarray
    tpr: np.ndarray
    mean_distance_similar: float
    mean_distance_different: float

    def as_dict(self, include_curve: bool = True) -> dict:
        """Plain floats and lists (JSON-ready).

        Args:
            include_curve: False drops the ROC curve (``fpr``/``tpr``).

        Returns:
            A dict of the fields: floats, and lists for the curve.

        Raises:
            TypeError: ``include_curve`` is not a bool.
        """
        include_curve = checks.boolean(include_curve, "include_curve")
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                if include_curve:
                    out[f.name] = value.tolist()
            else:
                out[f.name] = float(value)
        return out


def verification_report(
    val_distances, val_labels, test_distances, test_labels
) -> VerificationReport:
    """Pick the threshold on validation pairs only, then measure everything on the test pairs.

    Args:
        val_distances: validation pair distances (1-D).
        val_labels: validation pair labels, 1 = similar, 0 = different.
        test_distances: test pair distances (1-D).
        test_labels: test pair labels.

    Returns:
        A :class:`VerificationReport`.

    Raises:
        TypeError: non-numeric distances or labels.
        ValueError: empty or non-finite distances, labels other than 0/1, lengths that
            differ, or labels of one kind only.
    """
    val_d, val_lab = _pairs(val_distances, val_labels, "val_distances", "val_labels")
    test_d, test_lab = _pairs(test_distances, test_labels, "test_distances", "test_labels")
    threshold = choose_threshold(val_d, val_lab)
    fpr, tpr, _ = roc_curve(test_lab, -test_d)
    return VerificationReport(
        threshold=threshold,
        accuracy=threshold_accuracy(test_d, test_lab, threshold),
        roc_auc=float(roc_auc_score(test_lab, -test_d)),
        eer=_eer_from_roc(fpr, tpr),
        fpr=fpr,
        tpr=tpr,
        mean_distance_similar=float(test_d[test_lab == 1].mean()),
        mean_distance_different=float(test_d[test_lab == 0].mean()),
    )


# --------------------------------------------------------------------------- one-shot tasks


def n_way_accuracy(correct, confidence: float = 0.95) -> tuple[float, float, float]:
    """Accuracy over one-shot task outcomes with a Wilson score interval.

    Args:
        correct: one outcome per task, booleans or 0/1.
        confidence: the interval's confidence level, strictly between 0 and 1.

    Returns:
        ``(mean, low, high)``.

    Raises:
        TypeError: non-numeric outcomes or confidence.
        ValueError: outcomes other than 0/1 or empty, confidence outside (0, 1).
    """
    ok = checks.binary_labels(correct, "correct", "booleans (or 0/1)")
    level = _confidence(confidence)
    k, n = int(ok.sum()), ok.size
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return k / n, float(ci.low), float(ci.high)


def mean_with_ci(values, confidence: float = 0.95, clusters=None) -> tuple[float, float, float]:
    """Mean of per-run scores (e.g. Lake's 20 runs) with a Student-t interval.

    With ``clusters``, runs that share a cluster (e.g. the two runs of each alphabet in Lake's
    20, :data:`course_lib.data.LAKE_RUN_ALPHABETS`) are not independent: the interval is then
    the t-interval of the cluster means (one value per cluster, ``clusters - 1`` degrees of
    freedom), centred on their mean (the overall mean when clusters are of equal size).

    Args:
        values: one score per run, at least 2.
        confidence: the interval's confidence level, strictly between 0 and 1.
        clusters: None, or the cluster of each run (N,), at least 2 distinct.

    Returns:
        ``(mean, low, high)``.

    Raises:
        TypeError: non-numeric values or confidence.
        ValueError: fewer than 2 or non-finite values (or clusters), confidence outside (0, 1),
            ``clusters`` of another length than ``values``.
    """
    v = checks.float_array(values, "values", 1)
    if clusters is not None:
        ids = np.asarray(clusters)
        if ids.shape != v.shape:
            raise ValueError(f"clusters must give one cluster per value ({v.size}), got shape "
                             f"{ids.shape}")
        _, index = np.unique(ids, return_inverse=True)
        v = np.bincount(index, weights=v) / np.bincount(index)
        if v.size < 2:
            raise ValueError(f"clusters needs at least 2 distinct clusters, got {v.size}")
    if v.size < 2:
        raise ValueError(f"values needs at least 2 entries for a t-interval, got {v.size}")
    level = _confidence(confidence)
    mean, sem = float(v.mean()), float(stats.sem(v))
    if sem == 0:  # identical runs: scipy's interval is undefined for a zero scale
        return mean, mean, mean
    low, high = stats.t.interval(level, v.size - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


def paired_sign_test(correct_a, correct_b) -> tuple[int, int, float]:
    """Two methods scored on the same tasks: which tasks only one of them gets right, and the
    exact two-sided sign test (McNemar's exact test) of "each is as likely as the other to win
    such a task".

    Pairing removes the tasks' own difficulty from the comparison, so it can detect a
    difference that two separate intervals over the same tasks cannot.

    Args:
        correct_a: one outcome per task for method a, booleans or 0/1.
        correct_b: the outcomes of method b on the same tasks, in the same order.

    Returns:
        ``(wins_a, wins_b, p_value)``: the tasks only a gets right, those only b gets right,
        and the test's p-value (1.0 when no task tells them apart).

    Raises:
        TypeError: non-numeric outcomes.
        ValueError: outcomes other than 0/1, empty, or of different lengths.
    """
    a = checks.binary_labels(correct_a, "correct_a", "booleans (or 0/1)").astype(bool)
    b = checks.binary_labels(correct_b, "correct_b", "booleans (or 0/1)").astype(bool)
    checks.same_length(a, "correct_a", b, "correct_b")
    wins_a, wins_b = _discordant(a, b)
    return wins_a, wins_b, _sign_test_p(wins_a, wins_b)


# --------------------------------------------------------------------------- comparing two methods
#
# The course's one rule for "is the difference detectable?". Runs that share tasks or seeds are
# compared pair by pair (the tasks' or seeds' own luck cancels); other runs are compared as two
# independent samples; tasks that share a class or an alphabet are not independent, so then the
# uncertainty is measured between clusters, not between tasks.


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` found about two methods; ``str()`` gives one readable line.

    Attributes:
        label: what was compared, e.g. ``"batch-hard - semi-hard"`` (first minus second).
        effect: the first method's mean minus the second's, in the units of the inputs (a
            fraction of tasks for outcomes, the score's units for scores).
        low: lower end of the effect's confidence interval.
        high: upper end of the effect's confidence interval.
        confidence: the interval's level: ``1 - alpha``, or ``1 - alpha / family`` in a family
            of comparisons (Bonferroni), so that the family's intervals hold together.
        p_value: the p-value that decides: Holm-adjusted in a family, else the test's own.
        p_unadjusted: the test's own p-value.
        family: how many comparisons were corrected together (1 for a lone comparison).
        smallest_detectable: the smallest effect (in absolute value) that this design detects
            with probability ``power`` at level ``alpha`` (``alpha / family`` in a family, the
            level of Holm's strictest step; the printed text names the level used);
            ``inf`` when no effect could be detected. See :func:`compare` for the formulas.
        alpha: the significance level.
        power: the power at which ``smallest_detectable`` is computed.
        n: the sample size: paired tasks or seeds for a paired design, ``(n_a, n_b)`` otherwise.
        method: the test used.
        detail: the counts behind it (discordant tasks, clusters, degrees of freedom).
        detectable: ``p_value < alpha``.
    """

    label: str
    effect: float
    low: float
    high: float
    confidence: float
    p_value: float
    p_unadjusted: float
    family: int
    smallest_detectable: float
    alpha: float
    power: float
    n: int | tuple[int, int]
    method: str
    detail: str
    detectable: bool

    def __str__(self) -> str:
        p = "p < 0.001" if self.p_value < 0.001 else f"p = {self.p_value:.2g}"
        if self.family > 1:
            p = f"Holm-adjusted {p} over {self.family} comparisons"
        verdict = "detectable difference" if self.detectable else "no detectable difference"
        if math.isinf(self.smallest_detectable):
            smallest = "smallest detectable effect: none, this design cannot detect any"
        else:
            smallest = f"smallest detectable effect ±{self.smallest_detectable:.3g}"
        # The smallest detectable effect is computed at alpha / family (the level of Holm's
        # strictest step) and, for the t tests, with the observed sd taken as the true one.
        level = (f"level {self.alpha:g}/{self.family}, Holm's strictest step" if self.family > 1
                 else f"level {self.alpha:g}")
        # "t test" as a word: "Fisher's exact test" also contains the letters "t test".
        source = ", from the observed sd" if re.search(r"\bt test\b", self.method) else ""
        return (f"{self.label}: {self.effect:+.3g} ({100 * self.confidence:.3g}% CI {self.low:+.3g} "
                f"to {self.high:+.3g}), {p}: {verdict}; {smallest} (at {level}, "
                f"power {self.power:g}{source}); {self.method}, {self.detail}")


class _Test(NamedTuple):
    effect: float
    low: float
    high: float
    p: float
    smallest: float
    n: int | tuple[int, int]
    method: str
    detail: str


def _discordant(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """Tasks only a gets right, tasks only b gets right (boolean outcomes on the same tasks)."""
    return int((a & ~b).sum()), int((b & ~a).sum())


def _sign_test_p(wins_a: int, wins_b: int) -> float:
    """Exact two-sided sign test of "a and b are equally likely to win a discordant task"."""
    if wins_a + wins_b == 0:
        return 1.0
    return float(stats.binomtest(wins_a, wins_a + wins_b).pvalue)


def _sign_test_smallest(discordant: int, n: int, level: float, power: float) -> float:
    """Smallest |effect| the exact sign test on ``discordant`` of ``n`` tasks detects with
    probability ``power``: the exact binomial power of its rejection region, solved for the
    share of discordant tasks the better method wins."""
    if discordant == 0:
        return math.inf
    k = np.arange(discordant // 2 + 1, discordant + 1)  # upper half; the test is symmetric
    p_two = np.minimum(1.0, 2 * special.bdtrc(k - 1, discordant, 0.5))  # as binomtest's
    rejected = k[p_two < level]
    if rejected.size == 0:
        return math.inf
    k_hi = int(rejected[0])

    def shortfall(share):  # P(X >= k_hi) + P(X <= discordant - k_hi), X ~ Bin(discordant, share)
        return (special.bdtrc(k_hi - 1, discordant, share)
                + special.bdtr(discordant - k_hi, discordant, share) - power)

    share = optimize.brentq(shortfall, 0.5, 1.0, xtol=1e-12)
    return float(discordant / n * (2 * share - 1))


def _clopper_pearson(k: int, n: int, level: float) -> tuple[float, float]:
    """The exact interval of a binomial proportion, level ``1 - level`` (as binomtest's
    ``proportion_ci(method="exact")``, from the beta quantiles directly: it is much faster)."""
    low = stats.beta.ppf(level / 2, k, n - k + 1) if k > 0 else 0.0
    high = stats.beta.ppf(1 - level / 2, k + 1, n - k) if k < n else 1.0
    return float(low), float(high)


def _t_smallest(se: float, df: float, level: float, power: float) -> float:
    """Smallest |effect| a two-sided t test with this standard error and these degrees of
    freedom detects with probability ``power`` (the noncentral t distribution's power)."""
    if se == 0:
        return 0.0
    crit = float(special.stdtrit(df, 1 - level / 2))

    def shortfall(nc):  # P(T > crit) + P(T < -crit) for T noncentral t, from the fast
        # special.nctdtr where it is finite (it returns NaN for some large nc) and otherwise
        # scipy.stats.nct. The lower tail is below P(T < 0) = Phi(-nc), under 1e-12 from nc = 7.
        upper = 1 - special.nctdtr(df, nc, crit)
        if not math.isfinite(upper):
            upper = stats.nct.sf(crit, df, nc)
        lower = stats.nct.sf(crit, df, -nc) if nc < 7 else 0.0
        return float(upper + lower) - power

    high = 2 * crit + 10
    while shortfall(high) < 0:
        high *= 2
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-10) * se)


def _t_test(effect: float, se: float, df: float, level: float,
            power: float) -> tuple[float, float, float, float]:
    """(low, high, p, smallest) of a two-sided t test of ``effect`` with standard error ``se``:
    scipy's Student t (``scipy.special.stdtr``/``stdtrit``, as ``stats.t`` uses, without its
    per-call overhead; the tests check the results equal ``ttest_rel``/``ttest_ind``)."""
    if se == 0:  # every pair differs by the same amount: nothing to be uncertain about
        return effect, effect, (1.0 if effect == 0 else 0.0), 0.0
    p = float(2 * special.stdtr(df, -abs(effect) / se))
    half = float(special.stdtrit(df, 1 - level / 2)) * se
    return effect - half, effect + half, p, _t_smallest(se, df, level, power)


def _rate_gap(h: float, pooled: float) -> float:
    """The difference of two rates whose angles asin(sqrt(rate)) lie h / 2 apart around the
    pooled rate's angle (Cohen's h = h), kept inside [0, pi / 2]."""
    top = min(math.pi / 2, math.asin(math.sqrt(pooled)) + h / 4)
    bottom = max(0.0, top - h / 2)
    top = min(math.pi / 2, bottom + h / 2)
    return math.sin(top) ** 2 - math.sin(bottom) ** 2


def _fisher_smallest(na: int, nb: int, pooled: float, level: float, power: float) -> float:
    """Smallest difference of rates Fisher's test on ``na`` and ``nb`` tasks detects with
    probability ``power``: Cohen's h for the normal test (2 asin(sqrt(rate)) has variance 1/n
    whatever the rate), with Fleiss, Tytun and Ury's (1980) continuity correction, which
    matches the conservatism of an exact test; solved for h at the sizes given."""
    z = stats.norm.ppf(1 - level / 2) + stats.norm.ppf(power)
    ratio = nb / na

    def excess(h):  # tasks of a the corrected formula asks for, minus those there are
        gap = _rate_gap(h, pooled)
        normal = z**2 * (1 + 1 / ratio) / h**2
        return normal / 4 * (1 + math.sqrt(1 + 2 * (ratio + 1) / (normal * ratio * gap))) ** 2 - na

    if excess(math.pi) > 0:  # not even 0 against 1 would be detected
        return math.inf
    return _rate_gap(optimize.brentq(excess, 1e-9, math.pi, xtol=1e-12), pooled)


def _cluster_mean(x: np.ndarray, ids: np.ndarray) -> tuple[float, float, int]:
    """Mean of ``x`` with its cluster-robust variance (CR1: the spread of the clusters' sums
    around the mean, scaled by G/(G-1)) and the number of clusters G."""
    codes = np.unique(ids, return_inverse=True)[1]
    sums = np.bincount(codes, weights=x)
    sizes = np.bincount(codes).astype(float)
    g, mean = sums.size, float(x.mean())
    var = g / (g - 1) * float(np.sum((sums - mean * sizes) ** 2)) / x.size**2
    return mean, var, g


def _paired_outcomes(a, b, level, power) -> _Test:
    n = a.size
    wins_a, wins_b = _discordant(a, b)
    discordant = wins_a + wins_b
    if discordant:
        share_low, share_high = _clopper_pearson(wins_a, discordant, level)
        low, high = discordant / n * (2 * share_low - 1), discordant / n * (2 * share_high - 1)
    else:  # no task tells them apart: bound the share of tasks that could
        bound = _clopper_pearson(0, n, level)[1]
        low, high = -bound, bound
    return _Test((wins_a - wins_b) / n, float(low), float(high), _sign_test_p(wins_a, wins_b),
                 _sign_test_smallest(discordant, n, level, power), n,
                 "exact sign test on the discordant tasks (McNemar)",
                 f"{n} paired tasks, {wins_a} right only in the first, {wins_b} only in the second")


def _paired_scores(a, b, level, power) -> _Test:
    d = a - b
    n, effect = d.size, float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n))  # the p-value is scipy's ttest_rel's (tested)
    low, high, p, smallest = _t_test(effect, se, n - 1, level, power)
    return _Test(effect, low, high, p, smallest, n, "paired t test on the per-seed differences",
                 f"{n} paired seeds, sd of the differences {d.std(ddof=1):.3g}")


def _welch(a, b, level, power) -> _Test:
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = float(np.sqrt(va + vb))
    effect = float(a.mean() - b.mean())
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)) if se > 0 else 1.0
    # The p-value is scipy's ttest_ind(a, b, equal_var=False)'s (tested).
    low, high, p, smallest = _t_test(effect, se, df, level, power)
    return _Test(effect, low, high, p, smallest, (a.size, b.size), "Welch t test",
                 f"{a.size} and {b.size} independent seeds, {df:.3g} degrees of freedom")


def _unpaired_outcomes(a, b, level, power) -> _Test:
    ka, kb, na, nb = int(a.sum()), int(b.sum()), a.size, b.size
    pa, pb = ka / na, kb / nb
    p = float(stats.fisher_exact([[ka, na - ka], [kb, nb - kb]]).pvalue)
    wa = stats.binomtest(ka, na).proportion_ci(1 - level, method="wilson")
    wb = stats.binomtest(kb, nb).proportion_ci(1 - level, method="wilson")
    effect = pa - pb  # Newcombe's hybrid score interval from the two Wilson intervals
    low = effect - math.hypot(pa - wa.low, wb.high - pb)
    high = effect + math.hypot(wa.high - pa, pb - wb.low)
    smallest = _fisher_smallest(na, nb, (ka + kb) / (na + nb), level, power)
    return _Test(effect, float(low), float(high), p, float(smallest), (na, nb),
                 "Fisher's exact test, Newcombe interval",
                 f"{ka}/{na} and {kb}/{nb} independent tasks right")


def _clustered(a, b, ids, paired, level, power) -> _Test:
    if paired:
        effect, var, g = _cluster_mean(a - b, ids)
        df, n = g - 1, a.size
        detail = f"{a.size} paired observations (tasks, seeds or images) in {g} clusters"
        method = "paired differences, cluster-robust t test"
    else:
        (ma, va, ga), (mb, vb, gb) = _cluster_mean(a, ids[0]), _cluster_mean(b, ids[1])
        effect, var = ma - mb, va + vb
        df = (va + vb) ** 2 / (va**2 / (ga - 1) + vb**2 / (gb - 1)) if var > 0 else 1.0
        n, detail = (a.size, b.size), f"{ga} and {gb} clusters"
        method = "difference of means, cluster-robust Welch t test"
    low, high, p, smallest = _t_test(float(effect), math.sqrt(var), df, level, power)
    return _Test(float(effect), low, high, p, smallest, n, method,
                 f"{detail}, {df:.3g} degrees of freedom")


def _runs(a, b, kind, paired: bool, a_name: str = "a", b_name: str = "b"):
    """Validated (a, b, kind): boolean outcome arrays or float score arrays."""
    if kind is None:
        both_bool = all(np.asarray(v).dtype == bool for v in (a, b))
        kind = "outcomes" if both_bool else "scores"
    checks.one_of(kind, "kind", _KINDS)
    if kind == "outcomes":
        x = checks.binary_labels(a, a_name, "task outcomes: booleans (or 0/1)").astype(bool)
        y = checks.binary_labels(b, b_name, "task outcomes: booleans (or 0/1)").astype(bool)
    else:
        x, y = checks.float_array(a, a_name, 1), checks.float_array(b, b_name, 1)
        for arr, name in ((x, a_name), (y, b_name)):
            if arr.size < 2:
                raise ValueError(f"{name} needs at least 2 seeds (one score each) to measure "
                                 f"their spread, got {arr.size}")
    if paired:
        checks.same_length(y, b_name, x, a_name)
    return x, y, kind


def _cluster_ids(clusters, n: int, other: str, name: str = "clusters") -> np.ndarray:
    arr = np.asarray(clusters)
    if arr.dtype.kind not in "biuUS":
        raise TypeError(f"{name} must hold integer or string cluster ids (a class or alphabet "
                        f"per task), got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    checks.same_length(arr, name, range(n), other)
    if np.unique(arr).size < 2:
        raise ValueError(f"{name} must name at least 2 different clusters, got "
                         f"{np.unique(arr).size}")
    return arr


def _clusters(clusters, x: np.ndarray, y: np.ndarray, paired: bool):
    if clusters is None:
        return None
    if paired:
        return _cluster_ids(clusters, x.size, "a")
    if not isinstance(clusters, (tuple, list)) or len(clusters) != 2:
        raise TypeError("clusters of an unpaired comparison must be a pair (clusters of a, "
                        f"clusters of b), got {type(clusters).__name__}")
    return (_cluster_ids(clusters[0], x.size, "a", "clusters[0]"),
            _cluster_ids(clusters[1], y.size, "b", "clusters[1]"))


def _one_test(x, y, kind, paired, ids, level, power) -> _Test:
    if ids is not None:
        return _clustered(x.astype(float), y.astype(float), ids, paired, level, power)
    if kind == "outcomes":
        return (_paired_outcomes if paired else _unpaired_outcomes)(x, y, level, power)
    return (_paired_scores if paired else _welch)(x, y, level, power)


def _alpha_power(alpha, power) -> tuple[float, float]:
    return (checks.number(alpha, "alpha", 0.0, 1.0, low_open=True, high_open=True),
            checks.number(power, "power", 0.0, 1.0, low_open=True, high_open=True))


def _comparison(test: _Test, label: str, alpha: float, power: float, family: int,
                p_value: float) -> Comparison:
    return Comparison(label=label, effect=test.effect, low=test.low, high=test.high,
                      confidence=1 - alpha / family, p_value=float(p_value),
                      p_unadjusted=test.p, family=family, smallest_detectable=test.smallest,
                      alpha=alpha, power=power, n=test.n, method=test.method,
                      detail=test.detail, detectable=bool(p_value < alpha))


_KINDS = ("outcomes", "scores")


def compare(a, b, *, paired: bool, clusters=None, kind: str | None = None,
            alpha: float = 0.05, power: float = 0.8, label: str = "a - b") -> Comparison:
    """Is the difference between two methods detectable? The course's one rule.

    The effect is always ``mean(a) - mean(b)``: positive when the first method scores higher.
    The design decides the test:

    - **Paired task outcomes** (``paired=True``, booleans: both methods faced the same tasks):
      only the tasks one method gets right and the other wrong tell them apart, so the
      p-value is the exact two-sided sign test on those discordant tasks (McNemar's exact
      test, as :func:`paired_sign_test`). The interval is the exact (Clopper-Pearson) interval
      of the share the first method wins, scaled by the discordant fraction; it excludes 0
      exactly when ``p < alpha``. With no discordant task it is +-(the exact upper bound on the
      fraction of discordant tasks).
    - **Paired scores** (``paired=True``, one float per seed, the same seeds for both): a t
      test on the per-seed differences. (The exact sign-flip test is not offered: with 5 or
      fewer seeds its smallest possible p-value, 2 / 2**n, is at least 0.0625, so it could
      never detect anything at alpha 0.05.)
    - **Unpaired scores**: Welch's t test (unequal variances) and its interval.
    - **Unpaired task outcomes**: Fisher's exact test, with Newcombe's hybrid score interval
      built from the two Wilson intervals (the two may disagree at the edge of significance;
      ``detectable`` follows the p-value).
    - **Clustered** (``clusters`` given: tasks that share a class or an alphabet, whose
      outcomes move together): the effect is the same mean difference, but its standard
      error is cluster-robust (CR1: computed from the clusters' summed differences, times
      G/(G-1)) and the t test and interval use G-1 degrees of freedom for G clusters (for
      unpaired runs: each side's robust variance, combined with Welch-Satterthwaite degrees of
      freedom). So 2,000 tasks from 5 alphabets count as 5 independent pieces of evidence,
      not 2,000. Use at least about 10 clusters for a trustworthy p-value.

    The smallest detectable effect is the |effect| that the same design detects with
    probability ``power`` at level ``alpha``, taking the observed spread as the truth:

    - sign test: with D discordant tasks of n, the exact binomial power of the test's
      rejection region, solved for the share q of discordant tasks the better method wins;
      the effect is ``D/n * (2q - 1)``. (Its normal approximation is
      ``(z_{1-alpha/2} + z_{power}) * sqrt(D/n / n)``.) ``inf`` when D is too small for the
      test to ever reject (fewer than 6 discordant tasks at alpha 0.05).
    - t tests (paired, Welch, clustered): ``lambda * SE``, with SE the observed standard
      error of the effect and lambda the noncentrality at which the two-sided t test with
      the design's degrees of freedom has the given power (noncentral t distribution). With
      3 paired seeds lambda is about 5.65 at alpha 0.05 (vs 2.8 for a normal test).
      The paired t's power is exact for normal differences; Welch's degrees of freedom vary
      from run to run, so with few seeds its real power at the reported effect is a little
      below ``power`` (about 0.75 instead of 0.8 with 4 seeds a side).
    - Fisher: Cohen's h on the arcsine scale, ``h = (z_{1-alpha/2} + z_{power}) *
      sqrt(1/n_a + 1/n_b)``, corrected for continuity as Fleiss, Tytun and Ury (1980) do
      (an exact test needs more tasks than a normal one), placed around the pooled rate and
      turned back into a difference of rates.

    Args:
        a: the first method's results: one boolean per task (outcomes) or one float per seed
            (scores).
        b: the second method's results, in the same order as ``a`` when paired.
        paired: True when ``a`` and ``b`` come from the same tasks (or the same seeds), entry
            by entry; False for independent runs. Required: the design is the caller's to say.
        clusters: the cluster (class or alphabet, int or str) of each task, or None. Paired:
            one array as long as ``a``. Unpaired: a pair ``(clusters of a, clusters of b)``.
        kind: ``"outcomes"`` or ``"scores"``; None infers outcomes when both inputs are
            boolean arrays and scores otherwise.
        alpha: the significance level, in (0, 1).
        power: the power at which the smallest detectable effect is computed, in (0, 1).
        label: what is compared, printed first, e.g. ``"semi-hard - batch-hard"``.

    Returns:
        A :class:`Comparison`: effect, interval (level ``1 - alpha``), p-value, smallest
        detectable effect, n, method and ``detectable``.

    Raises:
        TypeError: non-numeric inputs, ``paired`` not a bool, clusters that are not ids (or
            not a pair of arrays when unpaired), a non-numeric alpha or power.
        ValueError: outcomes other than 0/1, fewer than 2 seeds per method, paired inputs
            (or clusters) of different lengths, fewer than 2 clusters, an unknown kind, alpha
            or power outside (0, 1).
    """
    paired = checks.boolean(paired, "paired")
    alpha, power = _alpha_power(alpha, power)
    x, y, kind = _runs(a, b, kind, paired)
    test = _one_test(x, y, kind, paired, _clusters(clusters, x, y, paired), alpha, power)
    return _comparison(test, str(label), alpha, power, 1, test.p)


def holm_adjust(p_values) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values: rejecting every hypothesis whose adjusted
    p-value is below alpha keeps the chance of any false rejection in the family at most alpha.

    Args:
        p_values: the family's p-values, a non-empty 1-D sequence of numbers in [0, 1].

    Returns:
        float64 (m,): the adjusted p-values, in the order given.

    Raises:
        TypeError, ValueError: ``p_values`` empty, not 1-D, not finite, or outside [0, 1].
    """
    p = checks.float_array(p_values, "p_values", ndim=1)
    if (p < 0).any() or (p > 1).any():
        raise ValueError(f"p_values must be numbers in [0, 1], got {p.tolist()!r:.80}")
    order = np.argsort(p, kind="stable")
    steps = (p.size - np.arange(p.size)) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps))
    return adjusted


def compare_many(runs, pairs=None, *, paired: bool, clusters=None, kind: str | None = None,
                 alpha: float = 0.05, power: float = 0.8) -> dict[tuple, Comparison]:
    """Several :func:`compare` at once, corrected together so that the chance of any false
    "detectable" in the family stays at most ``alpha`` (Holm's step-down method).

    Comparing 6 methods pairwise makes 15 comparisons: uncorrected, identical methods would
    show at least one "detectable" difference far more often than ``alpha``. In a family of
    m, each p-value is Holm-adjusted, each interval has level ``1 - alpha / m`` (Bonferroni:
    the intervals hold together, and one that excludes 0 is always detectable), and each
    smallest detectable effect is computed at level ``alpha / m``, the strictest level Holm
    applies.

    Args:
        runs: a mapping from a method's name to its results (as ``a`` of :func:`compare`).
        pairs: the ``(first, second)`` names to compare, each effect being first minus
            second; None compares every pair, in the mapping's order.
        paired: as in :func:`compare`, for every pair.
        clusters: as in :func:`compare`. Paired: one array shared by all runs (they faced
            the same tasks). Unpaired: a mapping from each run's name to its tasks' clusters.
        kind: as in :func:`compare`.
        alpha: the family-wise significance level, in (0, 1).
        power: as in :func:`compare`.

    Returns:
        A dict from each ``(first, second)`` pair to its :class:`Comparison`, in order.

    Raises:
        TypeError: ``runs`` not a mapping (or unpaired ``clusters`` not a mapping), a pair not
            a tuple or list, and as :func:`compare`.
        ValueError: fewer than 2 runs, a pair naming an unknown run or the same run twice,
            no pairs, and as :func:`compare`.
    """
    if not isinstance(runs, Mapping):
        raise TypeError(f"runs must be a mapping from a method's name to its results, got "
                        f"{type(runs).__name__}")
    if len(runs) < 2:
        raise ValueError(f"runs must hold at least 2 methods to compare, got {len(runs)}")
    pairs = list(itertools.combinations(runs, 2) if pairs is None else pairs)
    if not pairs:
        raise ValueError("pairs must name at least one (first, second) pair, got none")
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)):
            raise TypeError(f"pairs[{i}] must be a (first, second) pair of run names, got "
                            f"{type(pair).__name__} {pair!r}")
        if len(pair) != 2 or pair[0] == pair[1] or any(name not in runs for name in pair):
            raise ValueError(f"pairs must hold (first, second) names of two different runs "
                             f"among {list(runs)}, got {pair!r}")
    paired = checks.boolean(paired, "paired")
    alpha, power = _alpha_power(alpha, power)
    if clusters is not None and not paired and not isinstance(clusters, Mapping):
        raise TypeError("clusters of unpaired runs must be a mapping from each run's name to "
                        f"its tasks' clusters, got {type(clusters).__name__}")
    family = len(pairs)
    tests = []
    for first, second in pairs:
        x, y, k = _runs(runs[first], runs[second], kind, paired,
                        f"runs[{first!r}]", f"runs[{second!r}]")
        pair_clusters = clusters
        if clusters is not None and not paired:
            missing = [name for name in (first, second) if name not in clusters]
            if missing:
                raise ValueError(f"clusters has no entry for run(s) {missing}")
            pair_clusters = (clusters[first], clusters[second])
        ids = _clusters(pair_clusters, x, y, paired)
        tests.append(_one_test(x, y, k, paired, ids, alpha / family, power))
    adjusted = holm_adjust([t.p for t in tests])
    return {(first, second): _comparison(t, f"{first} - {second}", alpha, power, family, p)
            for (first, second), t, p in zip(pairs, tests, adjusted)}


@dataclass(frozen=True)
class CostChoice:
    """What :func:`choose_cheapest` chose; ``str()`` gives a readable summary.

    Attributes:
        chosen: the name of the method chosen.
        costs: each method's cost, as given.
        beaten_by: for each method, the costlier methods detectably better than it (Holm).
        comparisons: every (costlier, cheaper) :class:`Comparison` of the family.
    """

    chosen: str
    costs: dict
    beaten_by: dict
    comparisons: dict

    def __str__(self) -> str:
        lines = [f"chosen: {self.chosen} (cost {self.costs[self.chosen]:g}); "
                 f"{len(self.comparisons)} comparisons, Holm-corrected"]
        for name in sorted(self.costs, key=self.costs.get):
            beaten = ", ".join(self.beaten_by[name]) or "no costlier method"
            lines.append(f"  {name} (cost {self.costs[name]:g}): detectably beaten by {beaten}")
        return "\n".join(lines)


def choose_cheapest(runs, costs, *, paired: bool, clusters=None, kind: str | None = None,
                    alpha: float = 0.05, power: float = 0.8) -> CostChoice:
    """Choose by accuracy *and* cost: the cheapest method that no costlier method detectably
    beats.

    A costlier method (an ensemble, test-time shifts: more forward passes per image) is worth
    its price only when the evidence says it is better. Every costlier method is compared with
    every cheaper one through :func:`compare_many` (costlier minus cheaper, all corrected
    together with Holm's method); a method is *beaten* when a costlier one is detectably
    better (positive effect, ``detectable``). The rule returns the cheapest method that is not
    beaten. It never trades a detectable loss for a saving: a costlier method that beats it
    would have beaten it. A gain too small for the design to detect is not paid for; the
    comparisons' smallest detectable effects say how small "too small" is.

    Args:
        runs: a mapping from each method's name to its results (as in :func:`compare_many`).
        costs: a mapping from each name of ``runs`` to its cost (a number > 0; e.g. forward
            passes per image). Ties: the earlier method in ``runs`` counts as cheaper.
        paired, clusters, kind, alpha, power: as in :func:`compare_many`.

    Returns:
        A :class:`CostChoice`.

    Raises:
        TypeError: ``costs`` not a mapping, a non-numeric cost, and as :func:`compare_many`.
        ValueError: ``costs`` not naming exactly the methods of ``runs``, a cost <= 0, and as
            :func:`compare_many`.
    """
    if not isinstance(runs, Mapping):
        raise TypeError(f"runs must be a mapping from a method's name to its results, got "
                        f"{type(runs).__name__}")
    if not isinstance(costs, Mapping):
        raise TypeError(f"costs must be a mapping from each method's name to its cost, got "
                        f"{type(costs).__name__}")
    if set(costs) != set(runs):
        raise ValueError(f"costs must name exactly the methods of runs {list(runs)}, got "
                         f"{list(costs)}")
    cost = {name: checks.number(costs[name], f"costs[{name!r}]", 0.0, low_open=True)
            for name in runs}
    order = sorted(runs, key=lambda name: (cost[name], list(runs).index(name)))
    pairs = [(order[j], order[i]) for i in range(len(order)) for j in range(i + 1, len(order))]
    found = compare_many(runs, pairs, paired=paired, clusters=clusters, kind=kind, alpha=alpha,
                         power=power)
    beaten_by = {name: [costlier for (costlier, cheaper), c in found.items()
                        if cheaper == name and c.detectable and c.effect > 0]
                 for name in order}
    chosen = next((name for name in order if not beaten_by[name]), order[-1])
    return CostChoice(chosen, {name: cost[name] for name in order}, beaten_by, found)


# --------------------------------------------------------------------------- embedding quality


def knn_accuracy(train_emb, train_y, test_emb, test_y, k: int = 5,
                 metric: str = "euclidean") -> float:
    """Test accuracy of a k-nearest-neighbour classifier in embedding space.

    Each test point takes the majority label of its ``k`` nearest training points (ranked by
    :mod:`course_lib.distances`: by distance, then training index); a tied vote goes to the
    smallest label, as in scikit-learn's ``KNeighborsClassifier``.

    ``metric="cosine"`` ranks neighbours by the angle between embeddings, ignoring their
    lengths: the right reading of an embedding that encodes a class as a direction (a softmax
    bottleneck). It ranks as the Euclidean k-NN of the rows scaled to unit length does
    (``|u - v|^2 = 2 - 2 cos`` for unit vectors).

    Args:
        train_emb: training embeddings (N, D).
        train_y: their integer class labels (N,).
        test_emb: test embeddings (M, D).
        test_y: their integer class labels (M,).
        k: neighbours that vote, an int in [1, N].
        metric: one of ``distances.METRICS`` (``"euclidean"``, ``"sqeuclidean"``,
            ``"cosine"``).

    Returns:
        The test accuracy.

    Raises:
        TypeError: non-numeric embeddings or non-integer labels.
        ValueError: wrong dimensions, lengths or non-finite values, k < 1 or k > N, an
            unknown metric, a zero embedding under the cosine metric.
    """
    tr, tr_y = _labelled(train_emb, train_y, "train_emb", "train_y")
    te, te_y = _labelled(test_emb, test_y, "test_emb", "test_y")
    _same_dim(tr, "train_emb", te, "test_emb")
    k = checks.positive_int(k, "k")
    if k > len(tr):
        raise ValueError(f"k must be at most the number of training points ({len(tr)}), got {k}")
    reference = distances.Reference(tr, distances.check_metric(metric), "train_emb")
    idx, _ = reference.nearest(te, k, max_bytes=_MAX_BYTES, name="test_emb")
    votes = stats.mode(tr_y[idx], axis=1, keepdims=False).mode    # ties: the smallest label
    return float(np.mean(votes == te_y))


def fit_linear_probe(train_emb, train_y) -> Pipeline:
    """Standardise then fit a logistic regression on the embeddings.

    Args:
        train_emb: training embeddings (N, D).
        train_y: their integer class labels (N,), at least 2 classes.

    Returns:
        The fitted scikit-learn pipeline.

    Raises:
        TypeError: non-numeric embeddings or non-integer labels.
        ValueError: wrong dimensions, lengths or non-finite values, fewer than 2 classes.
    """
    tr, tr_y = _labelled(train_emb, train_y, "train_emb", "train_y")
    if np.unique(tr_y).size < 2:
        raise ValueError("train_y must contain at least 2 classes for a linear probe")
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(tr, tr_y)


def linear_probe_accuracy(train_emb, train_y, test_emb, test_y) -> float:
    """Test accuracy of a linear classifier on the embeddings: how linearly separable they are.

    Args:
        train_emb: training embeddings (N, D).
        train_y: their integer class labels (N,).
        test_emb: test embeddings (M, D).
        test_y: their integer class labels (M,).

    Returns:
        The test accuracy of :func:`fit_linear_probe` fitted on the training embeddings.

    Raises:
        TypeError: non-numeric embeddings or non-integer labels.
        ValueError: wrong dimensions, lengths or non-finite values, fewer than 2 classes.
    """
    te, te_y = _labelled(test_emb, test_y, "test_emb", "test_y")
    probe = fit_linear_probe(train_emb, train_y)
    if te.shape[1] != probe.n_features_in_:
        raise ValueError(
            f"test_emb has {te.shape[1]} dimensions but train_emb has {probe.n_features_in_}"
        )
    return float(probe.score(te, te_y))


def silhouette(emb, y, sample_size: int | None = None, seed: int = 0,
               metric: str = "euclidean") -> float:
    """Mean silhouette (-1..1, higher = tighter, better separated classes); subsample for speed.

    ``metric="cosine"`` measures with the cosine distance ``1 - cos(angle)`` instead of the
    Euclidean one: classes that are separated by direction but stretched along their rays
    (a softmax bottleneck's spokes) score high there and low under the Euclidean distance.

    Args:
        emb: embeddings (N, D).
        y: their integer class labels (N,).
        sample_size: score a random subsample of this many points (None: all).
        seed: the subsample's seed, an int >= 0.
        metric: one of ``distances.METRICS`` (``"euclidean"``, ``"sqeuclidean"``,
            ``"cosine"``), as scikit-learn's ``silhouette_score`` measures them.

    Returns:
        The mean silhouette coefficient.

    Raises:
        TypeError: non-numeric embeddings or non-integer labels.
        ValueError: wrong dimensions, lengths or non-finite values, fewer than 2 classes, no
            more points than classes, an unknown metric, a zero embedding under the cosine
            metric.
    """
    e, lab = _labelled(emb, y, "emb", "y")
    if distances.check_metric(metric) == "cosine":
        e = distances.unit_rows(e, "emb")
    subsampled = sample_size is not None and checks.positive_int(sample_size, "sample_size") < len(e)
    if subsampled:
        idx = np.random.default_rng(checks.seed(seed)).choice(len(e), size=sample_size, replace=False)
        e, lab = e[idx], lab[idx]
    n_classes = np.unique(lab).size
    if n_classes < 2:
        where = " in the subsample (increase sample_size)" if subsampled else ""
        raise ValueError(f"y must contain at least 2 classes{where}, got {n_classes}")
    if n_classes >= len(e):
        raise ValueError(f"silhouette needs more points than classes in y, got {len(e)} points")
    return float(silhouette_score(e, lab, metric=metric))


def cluster_anisotropy(emb, y) -> dict[int, float]:
    """Per class, largest over smallest covariance eigenvalue: 1 = round cluster, large = elongated.

    A class collapsed onto a lower-dimensional subspace gets ``inf``.

    Args:
        emb: embeddings (N, D).
        y: their integer class labels (N,).

    Returns:
        ``{class: ratio}``.

    Raises:
        TypeError: non-numeric embeddings or non-integer labels.
        ValueError: wrong dimensions, lengths or non-finite values, a class with fewer than D + 1 points.
    """
    e, lab = _labelled(emb, y, "emb", "y")
    dim = e.shape[1]
    out = {}
    for c in np.unique(lab):
        pts = e[lab == c]
        if len(pts) < dim + 1:
            raise ValueError(
                f"class {c} in y has {len(pts)} points; cluster_anisotropy needs at least "
                f"D + 1 = {dim + 1} per class"
            )
        eig = np.linalg.eigvalsh(np.atleast_2d(np.cov(pts, rowvar=False)))
        out[int(c)] = float(eig[-1] / eig[0]) if eig[0] > 0 else float("inf")
    return out


def recall_at_k(
    query_emb, query_y, gallery_emb, gallery_y, k: int = 1, exclude_self: bool = False,
    metric: str = "euclidean",
) -> float:
    """Fraction of queries with a same-label item among their k nearest gallery items.

    The ranking is :func:`retrieval_scores`'s (ties by gallery index), so the two agree.

    Args:
        query_emb: query embeddings (M, D).
        query_y: their integer labels (M,).
        gallery_emb: gallery embeddings (N, D).
        gallery_y: their integer labels (N,).
        k: neighbours looked at, an int >= 1 and at most the gallery size.
        exclude_self: the queries are the gallery itself; each item's own match is skipped.
        metric: one of ``distances.METRICS``.

    Returns:
        Recall@k in [0, 1].

    Raises:
        TypeError: non-numeric embeddings or non-integer labels.
        ValueError: wrong dimensions, lengths or non-finite values, k too large, exclude_self
            with queries that are not the gallery, an unknown metric.
    """
    q, q_y, g, g_y, exclude_self = _retrieval_inputs(query_emb, query_y, gallery_emb,
                                                     gallery_y, exclude_self, metric)
    k = checks.positive_int(k, "k")
    available = len(g) - 1 if exclude_self else len(g)
    if k > available:
        raise ValueError(f"k must be at most {available} for this gallery_emb, got {k}")
    match = _ranked_matches(q, q_y, g, g_y, exclude_self, k, metric)
    return float(match.any(axis=1).mean())


def pair_distances(embeddings, left, right, metric: str = "euclidean") -> np.ndarray:
    """Distances of the pairs ``(left[i], right[i])`` of rows of ``embeddings``.

    Embed every example once, then measure any number of index pairs (``pairs.pair_indices``).

    Args:
        embeddings: (N, D) float array.
        left: row indices (P,) into ``embeddings``.
        right: row indices (P,).
        metric: one of ``distances.METRICS`` (Euclidean by default).

    Returns:
        Distances (P,).

    Raises:
        TypeError: non-numeric embeddings or non-integer indices.
        ValueError: wrong dimensions, an index out of range, left and right of different
            lengths, an unknown metric.
    """
    e = checks.float_array(embeddings, "embeddings", 2)
    idx = [checks.index_array(arr, name, ndim=1, size=len(e), allow_empty=True)
           for name, arr in (("left", left), ("right", right))]
    _check_length(idx[1], "right", len(idx[0]), "left")
    return distances.paired(e[idx[0]], e[idx[1]], metric)


# --------------------------------------------------------------------------- retrieval: MAP@R
# Retrieval metrics over a query set and a reference set, all from one ranking
# (distances.Reference.nearest: by distance, then gallery index).


_MAX_BYTES = distances.DEFAULT_MAX_BYTES     # memory bound of one temporary distance block


def _retrieval_inputs(query_emb, query_y, gallery_emb, gallery_y, exclude_self, metric):
    """Validated (queries, labels, gallery, labels, exclude_self); no gallery = the queries."""
    q, q_y = _labelled(query_emb, query_y, "query_emb", "query_y")
    if gallery_emb is None:
        g, g_y, exclude_self = q, q_y, True
    else:
        g, g_y = _labelled(gallery_emb, gallery_y, "gallery_emb", "gallery_y")
        _same_dim(g, "gallery_emb", q, "query_emb")
        if checks.boolean(exclude_self, "exclude_self") and not (np.array_equal(q, g) and np.array_equal(q_y, g_y)):
            raise ValueError("exclude_self=True needs query_emb/query_y identical to "
                             "gallery_emb/gallery_y (or leave gallery_emb=None)")
    distances.check_metric(metric)
    return q, q_y, g, g_y, bool(exclude_self)


def _ranked_matches(q, q_y, g, g_y, exclude_self, depth, metric):
    """Per query, whether each of its ``depth`` nearest gallery items shares its label.

    With ``exclude_self`` query ``i`` is gallery item ``i`` and is left out of its ranking.
    """
    reference = distances.Reference(g, metric, "gallery_emb")
    idx, _ = reference.nearest(None if exclude_self else q, depth, exclude_self,
                               max_bytes=_MAX_BYTES, name="query_emb")
    return g_y[idx] == q_y[:, None]


def _relevant_counts(q_y, g_y, exclude_self) -> np.ndarray:
    """R per query: the gallery items of its class (minus itself); an error where R = 0."""
    classes, counts = np.unique(g_y, return_counts=True)
    slot = np.minimum(np.searchsorted(classes, q_y), len(classes) - 1)
    r = np.where(classes[slot] == q_y, counts[slot], 0) - int(exclude_self)
    if (r < 1).any():
        lonely = np.unique(q_y[r < 1])
        raise ValueError(f"query classes {lonely[:10].tolist()} have no other item in the "
                         "gallery (R = 0), so MAP@R is undefined for them: drop those queries")
    return r


def _ap_from_matches(match: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Each query's AP@R from the ranked matches (at least ``max(r)`` deep) and its R."""
    match = match[:, :int(r.max())]
    ranks = np.arange(1, match.shape[1] + 1)
    within_r = ranks[None, :] <= r[:, None]
    precision = np.cumsum(match, axis=1) / ranks[None, :]
    return (precision * match * within_r).sum(1) / r


def _map_from_matches(match: np.ndarray, r: np.ndarray) -> float:
    """MAP@R from the ranked matches (at least ``max(r)`` deep) and each query's R."""
    return float(_ap_from_matches(match, r).mean())


def map_at_r(query_emb, query_y, gallery_emb=None, gallery_y=None, exclude_self: bool = False,
             metric: str = "euclidean") -> float:
    """MAP@R of Musgrave, Belongie and Lim (2020, "A Metric Learning Reality Check").

    For a query whose class has ``R`` items in the gallery, retrieve its ``R`` nearest gallery
    items; ``MAP@R = (1/R) * sum_{i=1..R} P(i)``, where ``P(i)`` is the precision among the first
    ``i`` retrieved when the ``i``-th is of the query's class and 0 otherwise. Averaged over
    queries. It rewards a whole class ranked first, not only one close neighbour: 1.0 means
    every query's R nearest items are exactly its own class. Equally distant items are ranked
    by gallery index (:mod:`course_lib.distances`).

    Args:
        query_emb: (Q, D) embeddings.
        query_y: (Q,) integer labels.
        gallery_emb: (N, D) reference embeddings; None (the default) uses the queries
            themselves, each query left out of its own ranking (the paper's protocol when the
            query and reference sets are one set).
        gallery_y: (N,) integer labels of the reference set (with ``gallery_emb``).
        exclude_self: with an explicit gallery identical to the queries, skip each query's own
            entry.
        metric: one of ``distances.METRICS`` (cosine: Euclidean ranking of L2-normalised rows).

    Returns:
        MAP@R in [0, 1].

    Raises:
        TypeError: non-numeric embeddings or non-integer labels.
        ValueError: shapes disagree, NaN/inf, unknown metric, or a query whose class has no
            other item in the gallery (R = 0: MAP@R is undefined for it).
    """
    q, q_y, g, g_y, exclude_self = _retrieval_inputs(query_emb, query_y, gallery_emb,
                                                     gallery_y, exclude_self, metric)
    r = _relevant_counts(q_y, g_y, exclude_self)
    return _map_from_matches(_ranked_matches(q, q_y, g, g_y, exclude_self, int(r.max()),
                                             metric), r)


def average_precision_at_r(query_emb, query_y, gallery_emb=None, gallery_y=None,
                           exclude_self: bool = False, metric: str = "euclidean") -> np.ndarray:
    """Each query's AP@R, whose mean is :func:`map_at_r`: one score per query, so that two
    encoders scored on the same queries can be compared query by query with :func:`compare`
    (``paired=True``, ``kind="scores"``, ``clusters`` the queries' classes: the queries of one
    class are not independent).

    Args:
        query_emb, query_y, gallery_emb, gallery_y, exclude_self, metric: as for
            :func:`map_at_r`.

    Returns:
        (Q,) float64 AP@R in [0, 1], in the queries' order.

    Raises:
        TypeError, ValueError: as for :func:`map_at_r`.
    """
    q, q_y, g, g_y, exclude_self = _retrieval_inputs(query_emb, query_y, gallery_emb,
                                                     gallery_y, exclude_self, metric)
    r = _relevant_counts(q_y, g_y, exclude_self)
    return _ap_from_matches(_ranked_matches(q, q_y, g, g_y, exclude_self, int(r.max()),
                                            metric), r).astype(np.float64)


def retrieval_scores(query_emb, query_y, gallery_emb=None, gallery_y=None, ks=(1, 2, 4, 8),
                     exclude_self: bool = False, metric: str = "euclidean") -> dict[str, float]:
    """Recall@k for each k in ``ks`` and MAP@R, from one ranking (see :func:`map_at_r`).

    Recall@k is the fraction of queries with an item of their class among their k nearest
    gallery items (as :func:`recall_at_k`, with the same tie rule).

    Args:
        query_emb: as for :func:`map_at_r`.
        query_y: as for :func:`map_at_r`.
        gallery_emb: as for :func:`map_at_r`.
        gallery_y: as for :func:`map_at_r`.
        ks: the k values, each an int in [1, gallery size (minus 1 with exclusion)].
        exclude_self: as for :func:`map_at_r`.
        metric: as for :func:`map_at_r`.

    Returns:
        ``{"recall@1": ..., "recall@2": ..., "map@r": ...}`` (plain floats).

    Raises:
        TypeError, ValueError: as for :func:`map_at_r`; a bad k.
    """
    q, q_y, g, g_y, exclude = _retrieval_inputs(query_emb, query_y, gallery_emb, gallery_y,
                                                exclude_self, metric)
    if isinstance(ks, (int, np.integer)) or not hasattr(ks, "__len__") or not len(ks):
        raise TypeError(f"ks must be a non-empty sequence of ints, got {ks!r}")
    available = len(g) - int(exclude)
    ks = [checks.integer(k, "ks[i]", minimum=1, maximum=available) for k in ks]
    r = _relevant_counts(q_y, g_y, exclude)
    match = _ranked_matches(q, q_y, g, g_y, exclude, max(max(ks), int(r.max())), metric)
    out = {f"recall@{k}": float(match[:, :k].any(axis=1).mean()) for k in ks}
    out["map@r"] = _map_from_matches(match, r)
    return out


# --------------------------------------------------------------------------- operating points
# False-accept / false-reject rates of a verification threshold (notebook 08).


def far_frr(distances, labels, threshold: float) -> tuple[float, float]:
    """False-accept and false-reject rates of "same iff distance <= threshold".

    Args:
        distances: 1-D pair distances.
        labels: 1-D pair labels, 1 = same, 0 = different (both kinds needed).
        threshold: the distance threshold (a finite number).

    Returns:
        ``(far, frr)``: the fraction of different pairs accepted, of same pairs rejected.

    Raises:
        TypeError, ValueError: bad arrays or threshold.
    """

    d, lab = _pairs(distances, labels, "distances", "labels")
    t = checks.number(threshold, "threshold")
    return float(np.mean(d[lab == 0] <= t)), float(np.mean(d[lab == 1] > t))


def threshold_at_far(distances, labels, target_far: float) -> float:
    """The largest threshold whose false-accept rate on these pairs is at most ``target_far``.

    Choose it on validation pairs, then measure FAR/FRR on test pairs (:func:`operating_points`).
    With ``n`` different pairs the smallest FAR that can be told from 0 is ``1/n``; a smaller
    target is met (no false accept) but is not measured, and a warning says so.

    Args:
        distances, labels: as for :func:`far_frr`.
        target_far: the allowed false-accept rate, in [0, 1).

    Returns:
        The threshold (a float).

    Raises:
        TypeError, ValueError: bad arrays or ``target_far`` outside [0, 1).
    """
    import warnings


    d, lab = _pairs(distances, labels, "distances", "labels")
    target = checks.number(target_far, "target_far", 0.0, 1.0, high_open=True)
    negatives = np.sort(d[lab == 0])
    if target * len(negatives) < 1:
        warnings.warn(f"target_far={target} is below 1/{len(negatives)}, the resolution of "
                      f"{len(negatives)} different pairs: the threshold admits none of them",
                      stacklevel=2)
    allowed = int(np.floor(target * len(negatives) + 1e-9))   # false accepts allowed
    if allowed >= len(negatives):
        return float(negatives[-1])
    return float(np.nextafter(negatives[allowed], -np.inf))


def operating_points(val_distances, val_labels, test_distances, test_labels,
                     fars=(0.01, 0.001)) -> list[dict]:
    """For each target FAR: the threshold chosen on validation pairs and test FAR / FRR.

    Args:
        val_distances, val_labels: validation pairs (choose thresholds here only).
        test_distances, test_labels: test pairs (measured once).
        fars: target false-accept rates, each in [0, 1).

    Returns:
        One dict per target: ``target_far``, ``threshold``, ``val_far``, ``test_far``,
        ``test_frr``.

    Raises:
        TypeError, ValueError: as for :func:`threshold_at_far` and :func:`far_frr`.
    """
    out = []
    for target in fars:
        t = threshold_at_far(val_distances, val_labels, target)
        val_far, _ = far_frr(val_distances, val_labels, t)
        test_far, test_frr = far_frr(test_distances, test_labels, t)
        out.append({"target_far": float(target), "threshold": t, "val_far": val_far,
                    "test_far": test_far, "test_frr": test_frr})
    return out


__all__ += ["far_frr_interval", "open_set_threshold_at_far"]


def open_set_threshold_at_far(nearest_distances, target_far: float) -> float:
    """The largest 1:N threshold whose open-set false-accept rate is at most ``target_far``.

    For identification against a gallery, a query of a class that is *not* in the gallery is
    falsely accepted when its nearest gallery item is within the threshold. Pass the distance
    from each such validation query to its nearest gallery item; the threshold returned admits
    at most ``floor(target_far * n)`` of them (the rule of :func:`threshold_at_far`, applied to
    nearest-match distances instead of pair distances).

    Args:
        nearest_distances: 1-D distances of unknown-class queries to their nearest gallery item.
        target_far: the allowed open-set false-accept rate, in [0, 1).

    Returns:
        The threshold (a float).

    Raises:
        TypeError, ValueError: not a non-empty 1-D array of finite numbers; ``target_far``
        outside [0, 1).
    """
    import warnings

    d = np.sort(checks.float_array(nearest_distances, "nearest_distances", 1))
    target = checks.number(target_far, "target_far", 0.0, 1.0, high_open=True)
    if target * len(d) < 1:
        warnings.warn(f"target_far={target} is below 1/{len(d)}, the resolution of {len(d)} "
                      "unknown queries: the threshold admits none of them", stacklevel=2)
    allowed = int(np.floor(target * len(d) + 1e-9))
    if allowed >= len(d):
        return float(d[-1])
    return float(np.nextafter(d[allowed], -np.inf))


def far_frr_interval(distances, labels, threshold: float, classes, n_boot: int = 2000,
                     confidence: float = 0.95, seed: int = 0) -> dict:
    """FAR and FRR at a threshold, with percentile intervals from a bootstrap over classes.

    Pairs that share a class are not independent (one odd class moves many pairs), so the
    interval resamples *classes* with replacement: a class drawn ``m`` times weighs its pairs
    ``m`` times; a pair of two classes ``a != b`` weighs ``m_a * m_b``. A resample with no
    different (or no same) pair is drawn again, up to ``10 * n_boot`` draws in all.

    Args:
        distances, labels: as for :func:`far_frr`.
        threshold: the distance threshold (a finite number), chosen elsewhere (validation).
        classes: (n,) the class of each pair, or (n, 2) the classes of its two images.
        n_boot: bootstrap resamples (a positive int).
        confidence: the interval's level, in (0, 1).
        seed: the resampling seed.

    Returns:
        ``far``, ``frr`` (on the pairs given), ``far_low``, ``far_high``, ``frr_low``,
        ``frr_high``, ``n_classes`` and ``n_boot`` (resamples used).

    Raises:
        TypeError, ValueError: bad arrays, ``classes`` of another length than the pairs or
        with fewer than 2 distinct classes, bad ``n_boot``/``confidence``/``seed``.
    """
    d, lab = _pairs(distances, labels, "distances", "labels")
    t = checks.number(threshold, "threshold")
    c = checks.class_labels(classes, "classes", ndim=np.ndim(classes))
    if c.ndim == 1:
        c = np.stack([c, c], axis=1)
    if c.ndim != 2 or c.shape[1] != 2:
        raise ValueError(f"classes must have shape (n,) or (n, 2), got {c.shape}")
    _check_length(c, "classes", len(d), "distances")
    n_boot = checks.positive_int(n_boot, "n_boot")
    level = _confidence(confidence)
    rng = np.random.default_rng(checks.seed(seed))
    uniq, inv = np.unique(c, return_inverse=True)
    inv = inv.reshape(c.shape)
    if len(uniq) < 2:
        raise ValueError(f"classes must hold at least 2 distinct classes, got {len(uniq)}")
    accepted = d <= t
    far0, frr0 = far_frr(d, lab, t)
    diff = inv[:, 0] != inv[:, 1]
    fars, frrs, draws = [], [], 0
    while len(fars) < n_boot and draws < 10 * n_boot:
        draws += 1
        m = np.bincount(rng.integers(0, len(uniq), len(uniq)), minlength=len(uniq))
        w = np.where(diff, m[inv[:, 0]] * m[inv[:, 1]], m[inv[:, 0]]).astype(np.float64)
        neg, pos = w * (lab == 0), w * (lab == 1)
        if neg.sum() == 0 or pos.sum() == 0:
            continue
        fars.append((neg * accepted).sum() / neg.sum())
        frrs.append((pos * ~accepted).sum() / pos.sum())
    if not fars:
        raise ValueError("no bootstrap resample held both same and different pairs: too few "
                         "classes")
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    far_lo, far_hi = np.percentile(fars, q)
    frr_lo, frr_hi = np.percentile(frrs, q)
    return {"far": far0, "frr": frr0, "far_low": float(far_lo), "far_high": float(far_hi),
            "frr_low": float(frr_lo), "frr_high": float(frr_hi), "n_classes": int(len(uniq)),
            "n_boot": len(fars)}


# --------------------------------------------------------------------------- cluster shape

__all__ += ["embedding_metrics", "embedding_spread"]


def embedding_spread(emb) -> float:
    """Root-mean-square distance of the embeddings to their centroid; 0 when all coincide.

    Args:
        emb: embeddings (N, D).

    Returns:
        The spread, or NaN when an embedding is NaN/inf.

    Raises:
        TypeError: non-numeric ``emb``. ValueError: not a non-empty 2-D array.
    """
    try:
        e = np.asarray(emb, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"emb must be a numeric array, got {type(emb).__name__}") from err
    if e.ndim != 2 or len(e) == 0:
        raise ValueError(f"emb must be a non-empty 2-D array (N, D), got shape {e.shape}")
    if not np.isfinite(e).all():
        return float("nan")
    return float(np.sqrt(((e - e.mean(axis=0)) ** 2).sum(axis=1).mean()))


def embedding_metrics(train_emb, train_y, test_emb, test_y, k: int = 5,
                      silhouette_sample: int | None = 3000, seed: int = 0) -> dict:
    """Shape and separation of the test clusters in one dict of floats.

    ``anisotropy``: median over classes of the largest / smallest eigenvalue of the class
    covariance (1 = round, :func:`cluster_anisotropy`); ``anisotropy_per_class``: the per-class
    values; ``silhouette`` (:func:`silhouette`); ``knn``: k-NN accuracy on the test set with the
    training embeddings as neighbours (:func:`knn_accuracy`); ``spread``: RMS distance of the
    test embeddings to their centroid (:func:`embedding_spread`).

    Args:
        train_emb: training embeddings (N, D), the k-NN neighbours.
        train_y: their integer labels (N,).
        test_emb: test embeddings (M, D), the ones measured.
        test_y: their integer labels (M,).
        k: k-NN neighbours.
        silhouette_sample: subsample size of the silhouette (None: all points).
        seed: the subsample's seed.

    Returns:
        The dict described above.

    Raises:
        TypeError, ValueError: as the functions it calls.
    """
    aniso = cluster_anisotropy(test_emb, test_y)
    return {
        "anisotropy": float(np.median(list(aniso.values()))),
        "anisotropy_per_class": aniso,
        "silhouette": silhouette(test_emb, test_y, sample_size=silhouette_sample, seed=seed),
        "knn": knn_accuracy(train_emb, train_y, test_emb, test_y, k=k),
        "spread": embedding_spread(test_emb),
    }
