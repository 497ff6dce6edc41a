"""MAP@R and recall@k (brute force per query), FAR/FRR operating points; bad input."""

import numpy as np
import pytest

from course_lib import evaluate


def map_at_r_loop(q, q_y, g, g_y, exclude_self):
    """MAP@R by the definition, one query at a time."""
    scores = []
    for i in range(len(q)):
        d = np.linalg.norm(g - q[i], axis=1)
        order = [j for j in np.argsort(d, kind="stable") if not (exclude_self and j == i)]
        r = sum(1 for j in order if g_y[j] == q_y[i])
        hits, total = 0, 0.0
        for rank, j in enumerate(order[:r], start=1):
            if g_y[j] == q_y[i]:
                hits += 1
                total += hits / rank
        scores.append(total / r)
    return float(np.mean(scores))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 6, 80)
    emb = rng.normal(size=(80, 4)) + 0.8 * y[:, None]     # partly separated classes
    return emb, y


def test_map_at_r_matches_the_definition(data):
    emb, y = data
    got = evaluate.map_at_r(emb, y)
    want = map_at_r_loop(emb, y, emb, y, exclude_self=True)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert 0.2 < got < 0.99
    q, qy, g, gy = emb[:30], y[:30], emb[30:], y[30:]
    np.testing.assert_allclose(evaluate.map_at_r(q, qy, g, gy),
                               map_at_r_loop(q, qy, g, gy, exclude_self=False), rtol=1e-12)
    assert evaluate.map_at_r(emb, y, emb, y, exclude_self=True) == got


def test_average_precision_at_r_is_per_query_and_averages_to_map_at_r(data):
    emb, y = data
    ap = evaluate.average_precision_at_r(emb, y)
    assert ap.shape == (80,) and ap.dtype == np.float64 and 0 <= ap.min() <= ap.max() <= 1
    np.testing.assert_allclose(ap.mean(), evaluate.map_at_r(emb, y), rtol=1e-12)
    np.testing.assert_allclose(ap[3], map_at_r_loop(emb[3:4], y[3:4], np.delete(emb, 3, 0),
                                                    np.delete(y, 3), exclude_self=False))
    with pytest.raises(ValueError, match="R = 0"):
        evaluate.average_precision_at_r(emb[:2], [0, 1])


def test_per_query_ap_goes_through_the_course_rule_to_choose_an_encoder(data):
    # notebook 08 keeps a costlier (pretrained) encoder only if it is detectably better on
    # the validation images' AP@R, paired by image and clustered by class
    emb, y = data
    rng = np.random.default_rng(1)
    cheap = evaluate.average_precision_at_r(emb, y)
    sharp = evaluate.average_precision_at_r(emb + 2.0 * y[:, None], y)      # far better
    same = evaluate.average_precision_at_r(emb + rng.normal(0, 0.05, emb.shape), y)
    costs = {"from scratch": 1, "pretrained": 2}
    better = evaluate.choose_cheapest({"from scratch": cheap, "pretrained": sharp}, costs,
                                      paired=True, clusters=y, kind="scores")
    assert better.chosen == "pretrained"
    tie = evaluate.choose_cheapest({"from scratch": cheap, "pretrained": same}, costs,
                                   paired=True, clusters=y, kind="scores")
    assert tie.chosen == "from scratch"
    (comparison,) = tie.comparisons.values()
    assert np.isfinite(comparison.smallest_detectable) and not comparison.detectable


def test_chunked_ranking_gives_the_same_scores(data, monkeypatch):
    emb, y = data
    whole = evaluate.retrieval_scores(emb, y)
    monkeypatch.setattr(evaluate, "_MAX_BYTES", 7 * 80 * 8)     # 7 float64 queries per chunk
    assert evaluate.retrieval_scores(emb, y) == whole


def test_map_at_r_on_known_rankings():
    # 1-D: class 0 at 0, 1, class 1 at 10, 11: every query's R = 1 nearest is its own class.
    emb = np.array([[0.0], [1.0], [10.0], [11.0]])
    assert evaluate.map_at_r(emb, [0, 0, 1, 1]) == 1.0
    # Interleaved 0,1,0,1 at 0..3: query 0's nearest (R=1) is class 1 -> 0; R counts matter.
    emb = np.array([[0.0], [1.0], [2.0], [3.0]])
    assert evaluate.map_at_r(emb, [0, 1, 0, 1]) == 0.0
    # Query at 0 with R = 2 positives ranked 1st and 3rd: (1/1 + 2/3) / 2.
    g = np.array([[1.0], [2.0], [3.0]])
    np.testing.assert_allclose(evaluate.map_at_r([[0.0]], [0], g, [0, 1, 0]), (1 + 0) / 2)
    np.testing.assert_allclose(evaluate.map_at_r([[0.0]], [0], g, [0, 0, 1]), 1.0)
    g4 = np.array([[1.0], [2.0], [3.0], [4.0]])
    np.testing.assert_allclose(evaluate.map_at_r([[0.0]], [0], g4, [0, 1, 0, 0]),
                               (1 + 0 + 2 / 3) / 3)


def test_recall_agrees_with_recall_at_k(data):
    emb, y = data
    scores = evaluate.retrieval_scores(emb, y, ks=(1, 2, 4, 8))
    for k in (1, 2, 4, 8):
        assert scores[f"recall@{k}"] == evaluate.recall_at_k(emb, y, emb, y, k, exclude_self=True)
    assert scores["map@r"] == evaluate.map_at_r(emb, y)
    assert scores["recall@1"] <= scores["recall@2"] <= scores["recall@8"]


def test_cosine_ignores_the_norm(data):
    emb, y = data
    scaled = emb * np.random.default_rng(1).uniform(0.5, 5, (80, 1))
    assert evaluate.map_at_r(scaled, y, metric="cosine") == evaluate.map_at_r(emb, y,
                                                                               metric="cosine")


def test_retrieval_bad_input(data):
    emb, y = data
    with pytest.raises(ValueError, match=r"query classes \[7\] have no other item"):
        evaluate.map_at_r(np.vstack([emb, [[0, 0, 0, 0]]]), np.append(y, 7))
    with pytest.raises(ValueError, match="query classes"):
        evaluate.map_at_r(emb[:2], [0, 1], emb[2:5], [0, 0, 0])
    with pytest.raises(ValueError, match="query_y has 3 entries but query_emb has 80"):
        evaluate.map_at_r(emb, y[:3])
    with pytest.raises(TypeError, match="query_y must hold integer class labels"):
        evaluate.map_at_r(emb, y.astype(float))
    with pytest.raises(ValueError, match="query_emb has 4 dimensions but gallery_emb has 3"):
        evaluate.map_at_r(emb, y, emb[:, :3], y)
    with pytest.raises(ValueError, match="metric must be one of"):
        evaluate.map_at_r(emb, y, metric="manhattan")
    with pytest.raises(ValueError, match="exclude_self=True needs"):
        evaluate.map_at_r(emb, y, emb[::-1], y, exclude_self=True)
    with pytest.raises(ValueError, match="non-finite"):
        evaluate.map_at_r(np.full((4, 2), np.nan), [0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"ks\[i\] must be an int >= 1 and <= 79"):
        evaluate.retrieval_scores(emb, y, ks=(1, 80))
    with pytest.raises(TypeError, match="ks must be a non-empty sequence"):
        evaluate.retrieval_scores(emb, y, ks=4)
    with pytest.raises(ValueError, match="non-zero rows"):
        evaluate.map_at_r(np.zeros((4, 2)), [0, 0, 1, 1], metric="cosine")


def test_far_frr_and_operating_points():
    d = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    lab = np.array([1, 1, 0, 1, 0, 1, 0, 0])
    assert evaluate.far_frr(d, lab, 0.45) == (0.25, 0.25)
    assert evaluate.far_frr(d, lab, 0.0) == (0.0, 1.0)
    # 4 different pairs: FAR <= 0.25 admits the nearest one (0.3), not 0.5.
    t = evaluate.threshold_at_far(d, lab, 0.25)
    assert 0.3 <= t < 0.5 and evaluate.far_frr(d, lab, t)[0] == 0.25
    with pytest.warns(UserWarning, match="below 1/4"):
        t0 = evaluate.threshold_at_far(d, lab, 0.1)
    assert t0 < 0.3 and evaluate.far_frr(d, lab, t0) == (0.0, 0.5)

    rng = np.random.default_rng(0)
    def pairs(n):
        lab = np.repeat([1, 0], n)
        return np.concatenate([rng.normal(1, 0.3, n), rng.normal(2, 0.3, n)]), lab
    (vd, vl), (td, tl) = pairs(5000), pairs(5000)
    points = evaluate.operating_points(vd, vl, td, tl, fars=(0.01, 0.001))
    assert [p["target_far"] for p in points] == [0.01, 0.001]
    for p in points:
        assert p["val_far"] <= p["target_far"]
        assert abs(p["test_far"] - p["target_far"]) < 4 * np.sqrt(p["target_far"] / 5000) + 1e-3
    assert points[1]["threshold"] < points[0]["threshold"]
    assert points[1]["test_frr"] > points[0]["test_frr"]   # stricter FAR rejects more


def test_far_bad_input():
    d, lab = np.array([0.1, 0.9]), np.array([1, 0])
    with pytest.raises(ValueError, match="target_far must be a finite number >= 0.0 and < 1.0"):
        evaluate.threshold_at_far(d, lab, 1.0)
    with pytest.raises(TypeError, match="threshold must be a number"):
        evaluate.far_frr(d, lab, "0.5")
    with pytest.raises(ValueError, match="both similar"):
        evaluate.far_frr(d, [1, 1], 0.5)
    with pytest.raises(ValueError, match="labels must contain only"):
        evaluate.threshold_at_far(d, [1, 2], 0.1)
