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

from dataclasses import dataclass, fields

import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve, silhouette_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from course_lib import checks, distances

__all__ = [
    "VerificationReport",
    "choose_threshold",
    "cluster_anisotropy",
    "equal_error_rate",
    "far_frr",
    "fit_linear_probe",
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


_float_array = checks.float_array  # (x, name, ndim)
_binary = checks.binary_labels  # (x, name, meaning)
_positive_int = checks.positive_int  # (value, name)


def _check_length(arr: np.ndarray, name: str, n: int, other: str) -> None:
    checks.same_length(arr, name, range(n), other)


def _pairs(distances, labels, d_name: str, l_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated (distances, pair labels) that contain both similar and different pairs."""
    d = _float_array(distances, d_name, 1)
    lab = _binary(labels, l_name, "0 (different) and 1 (similar)")
    _check_length(lab, l_name, len(d), d_name)
    if lab.min() == lab.max():
        raise ValueError(f"{l_name} must contain both similar (1) and different (0) pairs")
    return d, lab


def _class_labels(y, name: str, n: int, other: str) -> np.ndarray:
    arr = checks.class_labels(y, name)
    _check_length(arr, name, n, other)
    return arr


def _labelled(emb, y, e_name: str, y_name: str) -> tuple[np.ndarray, np.ndarray]:
    e = _float_array(emb, e_name, 2)
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
    d = _float_array(distances, "distances", 1)
    lab = _binary(labels, "labels", "0 (different) and 1 (similar)")
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
        """Plain floats and lists (JSON-ready); ``include_curve=False`` drops ``fpr``/``tpr``."""
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
    ok = _binary(correct, "correct", "booleans (or 0/1)")
    z = stats.norm.ppf(0.5 + _confidence(confidence) / 2)
    n, p = ok.size, float(ok.mean())
    denom = 1 + z**2 / n
    center = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    # min/max with p absorb rounding when p is exactly 0 or 1.
    return p, float(max(0.0, min(center - half, p))), float(min(1.0, max(center + half, p)))


def mean_with_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of per-run scores (e.g. Lake's 20 runs) with a Student-t interval.

    Args:
        values: one score per run, at least 2.
        confidence: the interval's confidence level, strictly between 0 and 1.

    Returns:
        ``(mean, low, high)``.

    Raises:
        TypeError: non-numeric values or confidence.
        ValueError: fewer than 2 or non-finite values, confidence outside (0, 1).
    """
    v = _float_array(values, "values", 1)
    if v.size < 2:
        raise ValueError(f"values needs at least 2 entries for a t-interval, got {v.size}")
    half = stats.t.ppf(0.5 + _confidence(confidence) / 2, v.size - 1) * stats.sem(v)
    mean = float(v.mean())
    return mean, float(mean - half), float(mean + half)


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
    a = _binary(correct_a, "correct_a", "booleans (or 0/1)").astype(bool)
    b = _binary(correct_b, "correct_b", "booleans (or 0/1)").astype(bool)
    checks.same_length(a, "correct_a", b, "correct_b")
    wins_a, wins_b = int((a & ~b).sum()), int((b & ~a).sum())
    if wins_a + wins_b == 0:
        return 0, 0, 1.0
    return wins_a, wins_b, float(stats.binomtest(wins_a, wins_a + wins_b).pvalue)


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
    k = _positive_int(k, "k")
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
    subsampled = sample_size is not None and _positive_int(sample_size, "sample_size") < len(e)
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
    k = _positive_int(k, "k")
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
    e = _float_array(embeddings, "embeddings", 2)
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


def _map_from_matches(match: np.ndarray, r: np.ndarray) -> float:
    """MAP@R from the ranked matches (at least ``max(r)`` deep) and each query's R."""
    match = match[:, :int(r.max())]
    ranks = np.arange(1, match.shape[1] + 1)
    within_r = ranks[None, :] <= r[:, None]
    precision = np.cumsum(match, axis=1) / ranks[None, :]
    return float(((precision * match * within_r).sum(1) / r).mean())


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
# (issue 13) False-accept / false-reject rates of a verification threshold.


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
