"""Tests for evaluate.compare / compare_many (the course's one rule for "is the difference
detectable?") and for the library intervals that replaced hand-written ones.

Known values come from scipy called directly, from a hand calculation or from the literature;
the calibration tests simulate many comparisons with a fixed seed and check that identical
methods are flagged about ``alpha`` of the time, and that an effect of the reported smallest
detectable size is detected about 80% of the time.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from course_lib import evaluate as ev

# --------------------------------------------------------------------------- intervals


def _old_wilson(k, n, confidence):
    """The hand-written Wilson interval n_way_accuracy used before scipy's (the reference)."""
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = k / n
    denom = 1 + z**2 / n
    center = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return p, float(max(0.0, min(center - half, p))), float(min(1.0, max(center + half, p)))


def _old_t_interval(values, confidence):
    """The hand-written t interval mean_with_ci used before scipy's t.interval."""
    v = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.5 + confidence / 2, v.size - 1) * stats.sem(v)
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99])
def test_wilson_interval_equals_the_old_formula(confidence):
    for n in (1, 2, 7, 40, 400, 2000):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            got = ev.n_way_accuracy(np.arange(n) < k, confidence)
            assert got == pytest.approx(_old_wilson(k, n, confidence), abs=1e-12), (k, n)


def test_t_interval_equals_the_old_formula():
    rng = np.random.default_rng(0)
    for size in (2, 3, 5, 20):
        for confidence in (0.8, 0.95, 0.99):
            values = rng.normal(0.8, 0.05, size)
            got = ev.mean_with_ci(values, confidence)
            assert got == pytest.approx(_old_t_interval(values, confidence), abs=1e-12)
    assert ev.mean_with_ci([0.9, 0.9, 0.9]) == (0.9, 0.9, 0.9)


# --------------------------------------------------------------------------- known values


A8 = np.array([1, 1, 1, 1, 0, 0, 1, 0], bool)
B8 = np.array([1, 0, 0, 0, 0, 1, 1, 0], bool)


def test_paired_outcomes_known_values():
    c = ev.compare(A8, B8, paired=True)
    assert c.effect == pytest.approx(A8.mean() - B8.mean()) == pytest.approx(0.25)
    assert c.p_value == pytest.approx(0.625) == stats.binomtest(3, 4).pvalue
    assert c.n == 8 and not c.detectable and c.family == 1
    share = stats.binomtest(3, 4).proportion_ci(0.95, method="exact")  # 3 of 4 discordant
    assert (c.low, c.high) == pytest.approx((0.5 * (2 * share.low - 1), 0.5 * (2 * share.high - 1)))
    assert math.isinf(c.smallest_detectable)  # 4 discordant tasks: p >= 0.125 whatever happens
    # The old entry point gives the same test.
    assert ev.paired_sign_test(A8, B8) == (3, 1, c.p_value)
    flipped = ev.compare(B8, A8, paired=True)
    assert flipped.effect == -c.effect and flipped.p_value == c.p_value


def test_sign_test_smallest_detectable_by_hand():
    # 6 discordant tasks of 100: the test rejects only 6-0 or 0-6 (p = 2/64; 5-1 gives 0.22),
    # so power 0.8 needs q**6 + (1-q)**6 = 0.8: q = 0.8 ** (1/6) = 0.96349 (the second term is
    # 3e-9), an effect of 0.06 * (2q - 1) = 0.055619.
    a = np.r_[np.ones(3, bool), np.zeros(97, bool)]
    b = np.r_[np.zeros(3, bool), np.ones(3, bool), np.zeros(94, bool)]
    assert ev.compare(a, b, paired=True).smallest_detectable == pytest.approx(0.055619, abs=2e-6)
    # 5 discordant tasks can never give p < 0.05 (2/32 = 0.0625).
    assert math.isinf(ev.compare(a[:-1], np.r_[b[:5], np.zeros(94, bool)], paired=True)
                      .smallest_detectable)
    # Many discordant tasks: the normal approximation (z_.975 + z_.8) * sqrt(D/n / n).
    n, d = 2000, 400
    a = np.r_[np.ones(d // 2, bool), np.zeros(n - d // 2, bool)]
    b = np.r_[np.zeros(d // 2, bool), np.ones(d // 2, bool), np.zeros(n - d, bool)]
    normal = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * math.sqrt(d / n / n)
    assert ev.compare(a, b, paired=True).smallest_detectable == pytest.approx(normal, rel=0.03)


def test_paired_outcomes_without_discordant_tasks():
    c = ev.compare(A8, A8, paired=True)
    bound = stats.binomtest(0, 8).proportion_ci(0.95, method="exact").high
    assert (c.effect, c.p_value, c.low, c.high) == (0.0, 1.0, pytest.approx(-bound),
                                                    pytest.approx(bound))
    assert math.isinf(c.smallest_detectable) and not c.detectable
    assert "cannot detect any" in str(c)


def test_paired_outcomes_interval_excludes_zero_exactly_when_detectable():
    rng = np.random.default_rng(3)
    for _ in range(60):
        n = int(rng.integers(20, 300))
        a, b = rng.random(n) < rng.uniform(0.3, 0.9), rng.random(n) < rng.uniform(0.3, 0.9)
        c = ev.compare(a, b, paired=True)
        assert c.detectable == (c.low > 0 or c.high < 0), c


def test_paired_scores_known_values():
    a, b = np.array([0.71, 0.74, 0.70, 0.73]), np.array([0.69, 0.71, 0.70, 0.70])
    c = ev.compare(a, b, paired=True)
    d = a - b
    assert c.effect == pytest.approx(d.mean())
    assert c.p_value == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)
    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (c.low, c.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    # At the reported effect, the t test's power (noncentral t, scipy's own) is 0.8.
    se, crit = stats.sem(d), stats.t.ppf(0.975, 3)
    nc = c.smallest_detectable / se
    assert stats.nct.sf(crit, 3, nc) + stats.nct.cdf(-crit, 3, nc) == pytest.approx(0.8, abs=1e-8)
    # 3 seeds need about 5.65 standard errors where a normal test would need 2.8.
    three = ev.compare(np.array([1.0, 2.0, 3.0]), np.zeros(3), paired=True)
    assert three.smallest_detectable / stats.sem([1, 2, 3]) == pytest.approx(5.65, abs=0.01)


def test_welch_known_values():
    a, b = np.array([0.71, 0.74, 0.70]), np.array([0.69, 0.75, 0.62, 0.66])
    c = ev.compare(a, b, paired=False)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert c.effect == pytest.approx(a.mean() - b.mean())
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    ci = ref.confidence_interval(0.95)
    assert (c.low, c.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert c.n == (3, 4) and f"{ref.df:.3g} degrees of freedom" in c.detail


def test_fisher_and_newcombe_known_values():
    # Newcombe (1998), Statistics in Medicine 17:873, Table II, example (a): 56/70 - 48/80,
    # method 10 (hybrid score interval): 0.0524 to 0.3339.
    a, b = np.arange(70) < 56, np.arange(80) < 48
    c = ev.compare(a, b, paired=False)
    assert c.effect == pytest.approx(0.2)
    assert (c.low, c.high) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    assert c.p_value == pytest.approx(stats.fisher_exact([[56, 14], [48, 32]]).pvalue)
    assert c.detectable and c.n == (70, 80)


def test_clusters_of_one_task_give_the_paired_t_test():
    # CR1 with one observation per cluster is s**2 / n with n - 1 degrees of freedom.
    a, b = np.array([0.71, 0.74, 0.70, 0.73, 0.69]), np.array([0.69, 0.71, 0.70, 0.70, 0.70])
    plain = ev.compare(a, b, paired=True)
    clustered = ev.compare(a, b, paired=True, clusters=np.arange(5))
    for field in ("effect", "low", "high", "p_value", "smallest_detectable"):
        assert getattr(clustered, field) == pytest.approx(getattr(plain, field), rel=1e-9)


def test_clustered_known_value_by_hand():
    # Clusters "x" (tasks 0-2) and "y" (tasks 3-5); differences a - b = 1,1,0 | 0,-1,0.
    a = np.array([1, 1, 0, 1, 0, 0], bool)
    b = np.array([0, 0, 0, 1, 1, 0], bool)
    c = ev.compare(a, b, paired=True, clusters=["x", "x", "x", "y", "y", "y"])
    mean = 1 / 6  # cluster sums 2 and -1; sizes 3 and 3
    var = 2 / 1 * ((2 - 3 * mean) ** 2 + (-1 - 3 * mean) ** 2) / 36
    assert c.effect == pytest.approx(mean)
    assert c.p_value == pytest.approx(2 * stats.t.sf(mean / math.sqrt(var), 1))
    assert (c.low, c.high) == pytest.approx(stats.t.interval(0.95, 1, mean, math.sqrt(var)))
    assert "2 clusters" in c.detail


def test_unpaired_clusters_combine_both_sides():
    rng = np.random.default_rng(4)
    a, b = rng.random(60) < 0.7, rng.random(40) < 0.6
    ca, cb = np.repeat(np.arange(6), 10), np.repeat(np.arange(4), 10)
    c = ev.compare(a, b, paired=False, clusters=(ca, cb))

    def robust(x, ids):  # mean and CR1 variance of the mean, from the cluster sums
        sums = np.array([x[ids == g].sum() for g in np.unique(ids)])
        sizes = np.array([(ids == g).sum() for g in np.unique(ids)])
        g = len(sums)
        return x.mean(), g / (g - 1) * np.sum((sums - x.mean() * sizes) ** 2) / x.size**2, g

    (ma, va, ga), (mb, vb, gb) = robust(a * 1.0, ca), robust(b * 1.0, cb)
    df = (va + vb) ** 2 / (va**2 / (ga - 1) + vb**2 / (gb - 1))
    assert c.effect == pytest.approx(ma - mb)
    assert c.p_value == pytest.approx(2 * stats.t.sf(abs(ma - mb) / math.sqrt(va + vb), df))


def test_str_always_shows_the_smallest_detectable_effect():
    rng = np.random.default_rng(5)
    c = ev.compare(rng.random(300) < 0.8, rng.random(300) < 0.8, paired=True, label="x - y")
    line = str(c)
    assert "\n" not in line and line.startswith("x - y: ")
    assert "no detectable difference" in line
    assert f"smallest detectable effect ±{c.smallest_detectable:.3g}" in line
    big = ev.compare(np.ones(300, bool), rng.random(300) < 0.5, paired=True)
    assert big.detectable and "p < 0.001: detectable difference" in str(big)


def test_kind_is_inferred_from_booleans_or_given():
    a01, b01 = A8.astype(int), B8.astype(int)
    assert ev.compare(a01, b01, paired=True).method.startswith("paired t")
    assert ev.compare(a01, b01, paired=True, kind="outcomes").p_value == pytest.approx(0.625)
    assert ev.compare(A8, B8, paired=True, kind="scores").method.startswith("paired t")


# --------------------------------------------------------------------------- families


def test_holm_adjustment_by_hand():
    assert ev.holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert ev.holm_adjust([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_compare_many_corrects_a_family():
    rng = np.random.default_rng(6)
    seed = rng.normal(0, 0.02, 3)
    runs = {name: 0.7 + shift + seed + rng.normal(0, 0.005, 3)
            for name, shift in zip("pqrstu", (0, 0, 0.002, 0.01, 0.05, 0.1))}
    family = ev.compare_many(runs, paired=True)
    assert list(family) == list(itertools.combinations(runs, 2))  # 15 pairs, in order
    alone = {pair: ev.compare(runs[pair[0]], runs[pair[1]], paired=True) for pair in family}
    adjusted = ev.holm_adjust([alone[pair].p_value for pair in family])
    for (pair, c), p in zip(family.items(), adjusted):
        assert c.family == 15 and c.label == f"{pair[0]} - {pair[1]}"
        assert c.p_unadjusted == pytest.approx(alone[pair].p_value)
        assert c.p_value == pytest.approx(p) and c.detectable == (p < 0.05)
        assert c.confidence == pytest.approx(1 - 0.05 / 15)
        at_bonferroni = ev.compare(runs[pair[0]], runs[pair[1]], paired=True, alpha=0.05 / 15)
        assert c.smallest_detectable == pytest.approx(at_bonferroni.smallest_detectable)
        assert c.smallest_detectable > alone[pair].smallest_detectable
        assert "Holm-adjusted" in str(c) and "over 15 comparisons" in str(c)
    some = ev.compare_many(runs, [("u", "p"), ("t", "p")], paired=True)
    assert list(some) == [("u", "p"), ("t", "p")] and some[("u", "p")].effect > 0.09


# --------------------------------------------------------------------------- bad inputs


_S = np.array([0.7, 0.72, 0.71])
BAD = [
    (dict(a=A8, b=B8, paired=1), TypeError, "paired must be a bool"),
    (dict(a=A8, b=B8[:5], paired=True), ValueError, "b has 5 entries but a has 8"),
    (dict(a=[0, 2], b=[0, 1], paired=True, kind="outcomes"), ValueError, "a must contain only"),
    (dict(a=["x", "y"], b=_S, paired=False), TypeError, "a must be a numeric array"),
    (dict(a=_S, b=[0.5], paired=False), ValueError, "b needs at least 2 seeds"),
    (dict(a=_S, b=_S, paired=True, kind="counts"), ValueError, "kind must be one of"),
    (dict(a=_S, b=_S, paired=True, alpha=0), ValueError, "alpha must be"),
    (dict(a=_S, b=_S, paired=True, alpha=1.0), ValueError, "alpha must be"),
    (dict(a=_S, b=_S, paired=True, alpha="0.05"), TypeError, "alpha must be a number"),
    (dict(a=_S, b=_S, paired=True, power=1.5), ValueError, "power must be"),
    (dict(a=A8, b=B8, paired=True, clusters=[0, 1]), ValueError, "clusters has 2 entries"),
    (dict(a=A8, b=B8, paired=True, clusters=np.zeros(8, int)), ValueError, "at least 2"),
    (dict(a=A8, b=B8, paired=True, clusters=np.ones(8) / 2), TypeError, "cluster ids"),
    (dict(a=A8, b=B8, paired=False, clusters=np.arange(8)), TypeError, "must be a pair"),
    (dict(a=A8, b=B8[:6], paired=False, clusters=(np.arange(8), np.arange(8))), ValueError,
     r"clusters\[1\] has 8 entries"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD, ids=[m for *_, m in BAD])
def test_compare_bad_inputs(kwargs, error, match):
    with pytest.raises(error, match=match):
        ev.compare(kwargs.pop("a"), kwargs.pop("b"), **kwargs)


def test_compare_many_bad_inputs():
    runs = {"p": _S, "q": _S + 0.01}
    with pytest.raises(TypeError, match="runs must be a mapping"):
        ev.compare_many([_S, _S], paired=True)
    with pytest.raises(ValueError, match="at least 2 methods"):
        ev.compare_many({"p": _S}, paired=True)
    with pytest.raises(ValueError, match="pairs must hold"):
        ev.compare_many(runs, [("p", "z")], paired=True)
    with pytest.raises(ValueError, match="pairs must hold"):
        ev.compare_many(runs, [("p", "p")], paired=True)
    with pytest.raises(ValueError, match="at least one"):
        ev.compare_many(runs, [], paired=True)
    with pytest.raises(ValueError, match=r"runs\['q'\] needs at least 2 seeds"):
        ev.compare_many({"p": _S, "q": [0.5]}, paired=False)
    outcomes = {"p": A8, "q": B8}
    with pytest.raises(TypeError, match="clusters of unpaired runs must be a mapping"):
        ev.compare_many(outcomes, paired=False, clusters=np.arange(8))
    with pytest.raises(ValueError, match=r"no entry for run\(s\) \['q'\]"):
        ev.compare_many(outcomes, paired=False, clusters={"p": np.arange(8)})


def test_compare_many_unpaired_clusters_per_run():
    rng = np.random.default_rng(7)
    runs = {"p": rng.random(60) < 0.7, "q": rng.random(40) < 0.6}
    ids = {"p": np.repeat(np.arange(6), 10), "q": np.repeat(np.arange(4), 10)}
    (c,) = ev.compare_many(runs, paired=False, clusters=ids).values()
    alone = ev.compare(runs["p"], runs["q"], paired=False, clusters=(ids["p"], ids["q"]))
    assert c.p_value == pytest.approx(alone.p_value) and c.low == pytest.approx(alone.low)


# --------------------------------------------------------------------------- calibration
#
# Tolerances: R simulated comparisons give a rate with binomial standard error
# sqrt(r (1 - r) / R): 0.0049 at r = 0.05 with R = 2000 (0.0056 with 1500) and 0.0126 at
# r = 0.8 with R = 1000 (0.0141 with 800). "At most 0.07" under the null is 3.5-4 standard
# errors above 0.05; "0.8 +- 0.05" at the smallest detectable effect is 3.5-4 standard errors,
# while a smallest detectable effect 20% too small or too large would put the power near 0.65
# or 0.9 and fail. The seeds are fixed, so a pass is repeatable. Each simulation takes 1-4 s
# on 2 cores (about 20 s together), so they carry the slow mark.


def _rate(make, runs, **kwargs):
    return float(np.mean([ev.compare(*make(), **kwargs).detectable for _ in range(runs)]))


def _null_task_pairs(rng, n=300):
    """Identical methods on the same tasks, whose difficulty varies from task to task."""
    p = rng.uniform(0.3, 0.95, n)
    return rng.random(n) < p, rng.random(n) < p


@pytest.mark.slow  # a simulation of hundreds of comparisons: 1-4 s on 2 cores
def test_null_paired_outcomes_flag_at_most_alpha():
    rng = np.random.default_rng(10)
    assert 0.02 <= _rate(lambda: _null_task_pairs(rng), 1500, paired=True) <= 0.07


@pytest.mark.slow  # a simulation of hundreds of comparisons: 1-4 s on 2 cores
def test_null_paired_seeds_flag_about_alpha():
    rng = np.random.default_rng(11)

    def seeds():  # a seed's luck (shared by both methods) plus each run's own noise
        luck = rng.normal(0, 1, 3)
        return luck + rng.normal(0, 0.5, 3), luck + rng.normal(0, 0.5, 3)

    assert 0.03 <= _rate(seeds, 2000, paired=True) <= 0.07


@pytest.mark.slow  # a simulation of hundreds of comparisons: 1-4 s on 2 cores
def test_null_unpaired_flag_at_most_alpha():
    rng = np.random.default_rng(12)
    welch = _rate(lambda: (rng.normal(0, 1, 4), rng.normal(0, 1, 4)), 800, paired=False)
    fisher = _rate(lambda: (rng.random(200) < 0.7, rng.random(200) < 0.7), 300, paired=False)
    # Both tests are a little conservative; 0.08 for Fisher's 300 runs is 2.4 standard errors.
    assert welch <= 0.07 and fisher <= 0.08


def _clustered_null(rng, groups=20, size=25):
    """Identical methods on average, but each cluster (an alphabet) favours one of them."""
    lean = np.repeat(rng.normal(0, 0.08, groups), size)
    base = np.repeat(rng.uniform(0.4, 0.9, groups), size)
    u = rng.random(groups * size)
    return u < np.clip(base + lean, 0, 1), rng.random(groups * size) < np.clip(base - lean, 0, 1)


@pytest.mark.slow  # a simulation of hundreds of comparisons: 1-4 s on 2 cores
def test_null_clustered_tasks_need_the_clusters():
    ids = np.repeat(np.arange(20), 25)
    rng = np.random.default_rng(13)
    samples = [_clustered_null(rng) for _ in range(600)]
    naive = np.mean([ev.compare(a, b, paired=True).detectable for a, b in samples])
    robust = np.mean([ev.compare(a, b, paired=True, clusters=ids).detectable for a, b in samples])
    assert naive > 0.12  # the task-level sign test is fooled by clusters that move together
    assert robust <= 0.07


@pytest.mark.slow  # a simulation of hundreds of comparisons: 1-4 s on 2 cores
def test_power_at_the_smallest_detectable_effect_paired_seeds():
    rng = np.random.default_rng(20)
    z = rng.normal(size=5)
    mde = ev.compare((z - z.mean()) / z.std(ddof=1), np.zeros(5), paired=True).smallest_detectable
    detected = _rate(lambda: (mde + rng.normal(0, 1, 5), np.zeros(5)), 1000, paired=True)
    assert detected == pytest.approx(0.8, abs=0.05)


@pytest.mark.slow  # a simulation of hundreds of comparisons: 1-4 s on 2 cores
def test_power_at_the_smallest_detectable_effect_paired_tasks():
    n, discordance = 400, 0.2
    a = np.arange(n) < n * discordance / 2
    b = (np.arange(n) >= n * discordance / 2) & (np.arange(n) < n * discordance)
    mde = ev.compare(a, b, paired=True).smallest_detectable
    rng = np.random.default_rng(21)

    def tasks():  # discordant tasks: 20% of all, split (0.1 + mde/2) vs (0.1 - mde/2)
        u = rng.random(n)
        only_a = u < discordance / 2 + mde / 2
        only_b = (u >= discordance / 2 + mde / 2) & (u < discordance)
        both = u > 0.6
        return only_a | both, only_b | both

    assert _rate(tasks, 1000, paired=True) == pytest.approx(0.8, abs=0.05)


@pytest.mark.slow  # a simulation of hundreds of comparisons: 1-4 s on 2 cores
def test_power_at_the_smallest_detectable_effect_unpaired():
    rng = np.random.default_rng(22)
    z = rng.normal(size=8)
    unit = (z - z.mean()) / z.std(ddof=1)
    mde = ev.compare(unit, unit, paired=False).smallest_detectable
    welch = _rate(lambda: (mde + rng.normal(0, 1, 8), rng.normal(0, 1, 8)), 800, paired=False)
    assert welch == pytest.approx(0.8, abs=0.05)
    n = 300
    mde = ev.compare(np.arange(n) < 210, np.arange(n) < 210, paired=False).smallest_detectable
    fisher = _rate(lambda: (rng.random(n) < 0.7 + mde / 2, rng.random(n) < 0.7 - mde / 2), 300,
                   paired=False)
    assert fisher == pytest.approx(0.8, abs=0.07)  # 300 runs: standard error 0.023


# --------------------------------------------------------------------------- notebook 07's old rule


def overlap_rule_vs_compare(runs=2000, seeds=3, methods=2, luck=0.0, paired=True, seed=30):
    """False-positive rates of notebook 07's old rule, "mean +- 1 std over the seeds do not
    overlap", and of compare_many, when every method is the same: each score is a seed's luck
    (shared by all methods, standard deviation ``luck``) plus the run's own noise (sd 1).

    Returns:
        ``(rule, compare)``: the fraction of simulated studies in which at least one pair of
        the ``methods`` was called different.
    """
    rng = np.random.default_rng(seed)
    rule_hits = compare_hits = 0
    for _ in range(runs):
        shared = rng.normal(0, luck, seeds)
        scores = {m: shared + rng.normal(0, 1, seeds) for m in range(methods)}
        pairs = list(itertools.combinations(scores, 2))
        rule_hits += any(abs(scores[p].mean() - scores[q].mean())
                         > scores[p].std(ddof=1) + scores[q].std(ddof=1) for p, q in pairs)
        family = ev.compare_many(scores, pairs, paired=paired)
        compare_hits += any(c.detectable for c in family.values())
    return rule_hits / runs, compare_hits / runs


@pytest.mark.slow  # a simulation of hundreds of comparisons: 1-4 s on 2 cores
def test_overlap_rule_flags_identical_methods_more_than_compare():
    rule, paired = overlap_rule_vs_compare(runs=1000)
    assert rule > 0.06 and paired <= 0.07


def test_str_names_the_level_the_smallest_detectable_effect_uses():
    rng = np.random.default_rng(6)
    runs = {name: rng.normal(size=3) for name in ("a", "b", "c")}
    family = ev.compare_many(runs, paired=True)
    for c in family.values():
        assert "(at level 0.05/3, Holm's strictest step, power 0.8, from the observed sd)" \
            in str(c)
        assert "alpha 0.05" not in str(c)
    lone = ev.compare(runs["a"], runs["b"], paired=True)
    assert "(at level 0.05, power 0.8, from the observed sd)" in str(lone)
    sign = ev.compare(rng.random(300) < 0.8, rng.random(300) < 0.8, paired=True)
    assert "(at level 0.05, power 0.8);" in str(sign)
