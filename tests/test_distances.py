"""course_lib.distances against SciPy and brute-force loops, and every retrieval metric of the
library agreeing with the others on data full of exact ties."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from course_lib import distances, evaluate, gallery, oneshot

SCIPY_NAME = {"euclidean": "euclidean", "sqeuclidean": "sqeuclidean", "cosine": "cosine"}


@pytest.fixture
def floats():
    rng = np.random.default_rng(0)
    return rng.normal(size=(37, 5)), rng.normal(size=(53, 5))


def tied(n=240, classes=8, seed=0):
    """Points on a 4 x 4 integer grid: many exactly equal distances, all computed exactly."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, (n, 2)).astype(float), rng.integers(0, classes, n)


def ranking_by_definition(q, g, exclude_self=False):
    """Full ranking of each query: sort by (distance, gallery index), own item dropped."""
    d = cdist(q, g)
    rows = []
    for i, row in enumerate(d):
        order = np.lexsort((np.arange(len(g)), row))
        rows.append([j for j in order if not (exclude_self and j == i)])
    return np.array(rows)


# --------------------------------------------------------------------------- distances


@pytest.mark.parametrize("metric", distances.METRICS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pairwise_matches_scipy(floats, metric, dtype):
    a, b = (x.astype(dtype) for x in floats)
    got = distances.pairwise(a, b, metric)
    assert got.dtype == dtype and got.shape == (37, 53)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(got, cdist(a.astype(float), b.astype(float), SCIPY_NAME[metric]),
                               rtol=tol, atol=tol)
    square = distances.pairwise(a, metric=metric)
    np.testing.assert_array_equal(np.diag(square), 0)
    np.testing.assert_allclose(square, cdist(a, a, SCIPY_NAME[metric]), rtol=tol, atol=tol)


@pytest.mark.parametrize("metric", distances.METRICS)
def test_chunked_equals_unchunked(floats, metric):
    a, b = floats
    whole = distances.pairwise(a, b, metric)
    for max_bytes in (1, 7 * 53 * 8):                        # 1 and 7 queries per block
        # BLAS rounds a one-row product differently: equal to the last few bits only
        np.testing.assert_allclose(distances.pairwise(a, b, metric, max_bytes=max_bytes), whole,
                                   rtol=1e-13, atol=1e-13)
    ref = distances.Reference(b, metric)
    starts = [lo for lo, _ in ref.blocks(a, max_bytes=7 * 53 * 8)]
    assert starts == list(range(0, 37, 7))
    idx, dist = ref.nearest(a, k=6)
    np.testing.assert_array_equal(idx, np.argsort(whole, axis=1, kind="stable")[:, :6])
    for max_bytes in (1, 7 * 53 * 8, 100 * 53 * 8):            # the ranking: exactly equal
        chunked = ref.nearest(a, k=6, max_bytes=max_bytes)
        np.testing.assert_array_equal(chunked[0], idx)
        np.testing.assert_array_equal(chunked[1], dist)
    np.testing.assert_allclose(dist, np.take_along_axis(whole, idx, 1), rtol=1e-12)


def test_duplicate_rows_tie_exactly_at_any_chunking():
    # At D = 64 the matrix product need not give two equal gallery rows equal values; the
    # ranking decides by the distances computed from the differences, so they tie exactly.
    rng = np.random.default_rng(0)
    g = rng.normal(size=(400, 64))
    g = np.vstack([g, g[:150]])                                 # rows 400.. repeat rows 0..149
    q = np.vstack([rng.normal(size=(30, 64)), g[:5] + 1e-9])
    exact = ((q[:, None] - g[None]) ** 2).sum(-1)
    want = np.lexsort((np.broadcast_to(np.arange(len(g)), exact.shape), exact), axis=1)
    for dtype in (np.float64, np.float32):
        qd, gd = q.astype(dtype), g.astype(dtype)
        exact_d = ((qd[:, None] - gd[None]) ** 2).sum(-1)
        want_d = np.lexsort((np.broadcast_to(np.arange(len(g)), exact.shape), exact_d), axis=1)
        for max_bytes in (1, 9 * 550 * 8, distances.DEFAULT_MAX_BYTES):
            idx, dist = distances.nearest(qd, gd, k=25, max_bytes=max_bytes)
            np.testing.assert_array_equal(idx, want_d[:, :25])
            np.testing.assert_array_equal(dist, np.sqrt(np.take_along_axis(exact_d, idx, 1)))
    idx, dist = distances.nearest(q, g, k=25)
    np.testing.assert_array_equal(idx, want[:, :25])
    twins = idx < 150                                           # a row with a repeat at +400
    for row, (i, d) in enumerate(zip(idx, dist)):
        for j in np.flatnonzero(twins[row]):
            if j + 1 < 25:
                assert i[j + 1] == i[j] + 400 and d[j + 1] == d[j]


def test_cosine_is_euclidean_on_unit_rows(floats):
    a, b = floats
    ua, ub = distances.unit_rows(a), distances.unit_rows(b)
    np.testing.assert_allclose(np.linalg.norm(ua, axis=1), 1.0, rtol=1e-12)
    cos_idx, cos_d = distances.nearest(a, b, k=10, metric="cosine")
    euc_idx, euc_d = distances.nearest(ua, ub, k=10)
    np.testing.assert_array_equal(cos_idx, euc_idx)              # the same ranking, exactly
    np.testing.assert_allclose(cos_d, euc_d ** 2 / 2, rtol=1e-12, atol=1e-15)
    scale = np.random.default_rng(1).uniform(0.1, 10, (len(a), 1))
    np.testing.assert_array_equal(distances.nearest(scale * a, b, k=10, metric="cosine")[0],
                                  cos_idx)                       # lengths do not matter
    sq_idx, sq_d = distances.nearest(a, b, k=10, metric="sqeuclidean")
    e_idx, e_d = distances.nearest(a, b, k=10)
    np.testing.assert_array_equal(sq_idx, e_idx)
    np.testing.assert_allclose(np.sqrt(sq_d), e_d, rtol=1e-12)


def test_paired_is_the_difference_norm(floats):
    a, b = floats
    b = b[:37]
    np.testing.assert_array_equal(distances.paired(a, b), np.linalg.norm(a - b, axis=1))
    assert (distances.paired(a, a) == 0).all()                   # no cancellation at d = 0
    np.testing.assert_allclose(distances.paired(a, b, "cosine"),
                               [cdist(x[None], y[None], "cosine")[0, 0] for x, y in zip(a, b)],
                               rtol=1e-12)
    grid = distances.paired(a[:4, None, :], b[None, :6, :], "sqeuclidean")   # broadcasting
    np.testing.assert_allclose(grid, cdist(a[:4], b[:6], "sqeuclidean"), rtol=1e-12)
    a32 = a.astype(np.float32)
    assert distances.paired(a32, a32[::-1]).dtype == np.float32


# --------------------------------------------------------------------------- the tie rule


def test_rank_breaks_ties_by_column_index():
    d = np.array([[2.0, 1.0, 1.0, 0.5, 1.0, 3.0]])
    assert distances.rank(d, 1).tolist() == [[3]]
    assert distances.rank(d, 2).tolist() == [[3, 1]]
    assert distances.rank(d, 3).tolist() == [[3, 1, 2]]
    assert distances.rank(d, 6).tolist() == [[3, 1, 2, 4, 0, 5]]
    assert distances.rank([[np.inf, 0.0, 0.0]], 2).tolist() == [[1, 2]]
    rng = np.random.default_rng(0)
    many = rng.integers(0, 5, (60, 300)).astype(float)          # heavy ties at every k
    full = np.lexsort((np.broadcast_to(np.arange(300), many.shape), many), axis=1)
    for k in (1, 2, 7, 40, 149, 150, 151, 299, 300):            # both code paths (partition, sort)
        np.testing.assert_array_equal(distances.rank(many, k), full[:, :k])


@pytest.mark.parametrize("exclude_self", [False, True])
def test_nearest_on_tied_points_follows_the_rule(exclude_self):
    x, _ = tied()
    q = x if exclude_self else x[:50]
    want = ranking_by_definition(q, x, exclude_self)
    for k in (1, 3, 30, len(want[0])):
        for max_bytes in (1, 17 * 240 * 8, distances.DEFAULT_MAX_BYTES):
            if exclude_self:
                idx, dist = distances.nearest(x, k=k, max_bytes=max_bytes)
            else:
                idx, dist = distances.nearest(q, x, k=k, max_bytes=max_bytes)
            np.testing.assert_array_equal(idx, want[:, :k])
            np.testing.assert_array_equal(dist, np.take_along_axis(cdist(q, x), idx, 1))
    np.testing.assert_array_equal(distances.nearest(x, x, k=5, exclude_self=True)[0],
                                  ranking_by_definition(x, x, True)[:, :5])


def test_nearest_segments_rank_by_the_exact_minimum_of_each_segment():
    rng = np.random.default_rng(1)
    g = rng.normal(size=(600, 64)).astype(np.float32)
    g[300:310] = g[0]                                           # twins in other segments
    g[455] = g[0]
    starts = np.array([0, 7, 100, 300, 301, 450])
    q = np.vstack([rng.normal(size=(12, 64)).astype(np.float32), g[:2]])
    exact = ((q[:, None] - g[None]) ** 2).sum(-1)
    ends = np.append(starts[1:], len(g))
    minima = np.stack([exact[:, a:b].min(1) for a, b in zip(starts, ends)], axis=1)
    ref = distances.Reference(g)
    np.testing.assert_allclose(ref.segment_minima(q, starts), np.sqrt(minima), rtol=1e-4,
                               atol=1e-3)
    want = np.lexsort((np.broadcast_to(np.arange(6), minima.shape), minima), axis=1)
    for k in (1, 3, 6):
        for max_bytes in (1, 5 * 600 * 4, distances.DEFAULT_MAX_BYTES):
            segs, dist = ref.nearest_segments(q, starts, k, max_bytes)
            np.testing.assert_array_equal(segs, want[:, :k])
            np.testing.assert_array_equal(dist, np.sqrt(np.take_along_axis(minima, segs, 1)))
    segs, dist = ref.nearest_segments(q, starts, 4)   # row 0 has twins in segments 3, 4 and 5
    assert segs[12].tolist() == [0, 3, 4, 5] and (dist[12] == 0).all()   # exact 0, by index
    with pytest.raises(ValueError, match="starts must increase strictly from 0"):
        ref.nearest_segments(q, [0, 5, 5])
    with pytest.raises(ValueError, match="starts must increase strictly from 0"):
        ref.segment_minima(q, [3, 5])
    with pytest.raises(ValueError, match="k must be an int >= 1 and <= 6"):
        ref.nearest_segments(q, starts, 7)


# --------------------------------------------------------------------------- metrics agree on ties


def recall_and_map_by_definition(q, q_y, g, g_y, ks, exclude_self):
    order = ranking_by_definition(q, g, exclude_self)
    match = g_y[order] == q_y[:, None]
    recalls = {f"recall@{k}": float(match[:, :k].any(1).mean()) for k in ks}
    aps = []
    for row in match:
        r = int(row.sum())
        hits = np.cumsum(row[:r])
        aps.append(float((hits / np.arange(1, r + 1) * row[:r]).sum() / r))
    recalls["map@r"] = float(np.mean(aps))
    return recalls


def test_every_retrieval_metric_agrees_on_tied_data():
    # On main (sklearn's NearestNeighbors in recall_at_k, a stable sort in retrieval_scores)
    # these data gave recall_at_k 0.080 and retrieval_scores["recall@1"] 0.113.
    x, y = tied(n=300, classes=10)
    ks = (1, 2, 4, 8)
    want = recall_and_map_by_definition(x, y, x, y, ks, exclude_self=True)
    scores = evaluate.retrieval_scores(x, y, ks=ks)
    assert scores == pytest.approx(want, rel=1e-12)           # recalls: equal exactly
    assert all(scores[f"recall@{k}"] == want[f"recall@{k}"] for k in ks)
    assert scores == evaluate.retrieval_scores(x, y, x, y, ks=ks, exclude_self=True)
    assert scores["map@r"] == evaluate.map_at_r(x, y) == evaluate.map_at_r(x, y, x, y, True)
    for k in ks:
        assert evaluate.recall_at_k(x, y, x, y, k, exclude_self=True) == scores[f"recall@{k}"]
    # 1-NN accuracy is recall@1 under the same ranking.
    q, q_y, g, g_y = x[:100], y[:100], x[100:], y[100:]
    split = evaluate.retrieval_scores(q, q_y, g, g_y, ks=(1, 5))
    assert split == pytest.approx(recall_and_map_by_definition(q, q_y, g, g_y, (1, 5), False),
                                  rel=1e-12)
    assert evaluate.knn_accuracy(g, g_y, q, q_y, k=1) == split["recall@1"]
    assert evaluate.recall_at_k(q, q_y, g, g_y, k=5) == split["recall@5"]
    # The gallery's nearest class is the nearest item's class once the gallery is in class order
    # (then "lowest gallery index" and "lowest class id" pick the same among equals).
    by_class = np.argsort(g_y, kind="stable")
    g_sorted, g_y_sorted = g[by_class], g_y[by_class]
    ids, _ = gallery.BruteForceSearch(g_sorted, g_y_sorted).nearest_classes(q, k=1)
    assert float(np.mean(ids[:, 0] == q_y)) == evaluate.recall_at_k(q, q_y, g_sorted,
                                                                     g_y_sorted, k=1)


def test_knn_vote_matches_sklearn_and_breaks_ties_by_smallest_label():
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(3)
    y = rng.integers(0, 5, 400)
    emb = rng.normal(size=(400, 3)) + 0.7 * y[:, None]
    train, test = slice(0, 300), slice(300, None)
    for k in (1, 2, 4, 5, 10):                                   # even k: tied votes happen
        sk = KNeighborsClassifier(n_neighbors=k).fit(emb[train], y[train]).score(emb[test],
                                                                                   y[test])
        assert evaluate.knn_accuracy(emb[train], y[train], emb[test], y[test], k=k) == sk, k
    # two neighbours, one vote each for labels 7 and 3: the vote goes to 3
    g, g_y = np.array([[0.0], [1.0], [5.0]]), np.array([7, 3, 9])
    assert evaluate.knn_accuracy(g, g_y, [[0.4]], [3], k=2) == 1.0
    assert evaluate.knn_accuracy(g, g_y, [[0.4]], [7], k=2) == 0.0


def test_task_scores_are_minus_the_distances():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(30, 4, 4)).astype(np.float32)
    query, support = np.array([0, 5]), np.array([[1, 2, 3], [6, 7, 8]])
    flat = images.reshape(30, -1)
    for metric in distances.METRICS:
        scores = oneshot.task_scores(None, images, query, support, metric=metric)
        want = np.stack([distances.pairwise(flat[[q]], flat[s], metric)[0]
                         for q, s in zip(query, support)])
        np.testing.assert_allclose(-scores, want, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- differentiable


def test_keras_pairwise_matches_numpy_and_has_finite_gradients_at_zero():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(6, 3)).astype(np.float32)
    emb[3] = emb[1]                                             # two coincide
    d = np.asarray(distances.keras_pairwise(emb, epsilon=0.0))
    np.testing.assert_allclose(d, distances.pairwise(emb.astype(float)), atol=1e-5)
    np.testing.assert_allclose(np.asarray(distances.keras_pairwise(emb, squared=True)),
                               distances.pairwise(emb.astype(float), metric="sqeuclidean"),
                               atol=1e-5)
    x = tf.Variable(emb)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(distances.keras_pairwise(x))
    assert np.isfinite(tape.gradient(total, x).numpy()).all()
    with pytest.raises(TypeError, match="squared must be a bool"):
        distances.keras_pairwise(emb, squared=1)
    with pytest.raises(ValueError, match="epsilon"):
        distances.keras_pairwise(emb, epsilon=-1.0)
    with pytest.raises(ValueError, match="embeddings must be 2-D"):
        distances.keras_pairwise(emb[0])


# --------------------------------------------------------------------------- bad input


def test_bad_input_names_the_argument(floats):
    a, b = floats
    with pytest.raises(ValueError, match="metric must be one of"):
        distances.pairwise(a, b, "manhattan")
    with pytest.raises(ValueError, match="a has 5 dimensions but b has 4"):
        distances.pairwise(a, b[:, :4])
    with pytest.raises(ValueError, match="queries has 4 dimensions but gallery has 5"):
        distances.nearest(a[:, :4], b)
    with pytest.raises(ValueError, match="non-finite"):
        distances.pairwise(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="non-finite"):
        distances.Reference(np.full((2, 2), np.inf, np.float32))
    with pytest.raises(ValueError, match="gallery must be 2-D, got shape"):
        distances.Reference(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="gallery must not be empty"):
        distances.Reference(np.zeros((0, 3), np.float32))
    with pytest.raises(TypeError, match="a must be a numeric array"):
        distances.pairwise([["x"]])
    with pytest.raises(ValueError, match="non-zero rows in gallery"):
        distances.nearest(a, np.zeros((3, 5)), metric="cosine")
    with pytest.raises(ValueError, match="non-zero rows in x"):
        distances.unit_rows([[0.0, 0.0]])
    with pytest.raises(ValueError, match="k must be an int >= 1 and <= 52"):
        distances.nearest(b, k=53)
    with pytest.raises(TypeError, match="k must be an int"):
        distances.nearest(a, b, k=1.0)
    with pytest.raises(ValueError, match="exclude_self=True needs queries identical"):
        distances.nearest(a, b, exclude_self=True)
    with pytest.raises(TypeError, match="exclude_self must be a bool"):
        distances.nearest(a, b, exclude_self=1)
    with pytest.raises(ValueError, match="max_bytes must be an int >= 1"):
        distances.pairwise(a, b, max_bytes=0)
    with pytest.raises(ValueError, match="exclude_self=True needs queries=None"):
        distances.Reference(b).blocks(a, exclude_self=True)
    with pytest.raises(ValueError, match="distances contains NaN"):
        distances.rank([[0.0, np.nan]], 1)
    with pytest.raises(ValueError, match="k must be an int >= 1 and <= 2"):
        distances.rank([[0.0, 1.0]], 3)
    with pytest.raises(ValueError, match="a of shape .* do not broadcast"):
        distances.paired(a, b)


@pytest.mark.parametrize("metric", distances.METRICS)
def test_all_pairs_is_the_upper_triangle_of_scipy_cdist_at_any_block_size(floats, metric):
    a = floats[0][:23]
    want = cdist(a.astype(float), a.astype(float), SCIPY_NAME[metric])
    for max_bytes in (1, 200, distances.DEFAULT_MAX_BYTES):
        left, right, d = distances.all_pairs(a, metric, max_bytes=max_bytes)
        assert len(d) == 23 * 22 // 2 and np.all(left < right) and left.dtype == np.int32
        i, j = np.triu_indices(23, 1)
        np.testing.assert_array_equal(left, i)
        np.testing.assert_array_equal(right, j)
        np.testing.assert_allclose(d, want[i, j], rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="at least 2 rows"):
        distances.all_pairs(a[:1])
