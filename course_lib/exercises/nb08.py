"""Exercises of notebook 08 (your own images: calibrate, export, answer questions).

- ``q1``: ``recall_at_1(query_emb, query_y, gallery_emb, gallery_y)``: the share of queries
  whose nearest gallery embedding (Euclidean) has their class, in NumPy, checked against
  ``course_lib.evaluate.recall_at_k(k=1)``.
- ``q2``: ``threshold_at_far(distances, same, far)``: the distance threshold of smallest FRR
  whose false-accept rate on the different-class pairs is at most ``far``, checked against
  ``course_lib.evaluate.threshold_at_far`` and ``far_frr``.
"""

from __future__ import annotations

import numpy as np

from course_lib import distances
from course_lib.exercises import Exercise, Incorrect
from course_lib.exercises._probe import clustered_points, one_number

__all__ = ["q1", "q2"]


# ---------------------------------------------------------------------------------------------
# q1: recall@1 of a gallery, in NumPy

_Q1_SOLUTION = '''
import numpy as np


def recall_at_1(query_emb, query_y, gallery_emb, gallery_y):
    """Share of queries whose nearest gallery embedding (Euclidean) has the query's class."""
    q, g = np.asarray(query_emb, float), np.asarray(gallery_emb, float)
    # squared distances (M, N) of every query to every gallery item from one matrix product:
    # |q - g|^2 = |q|^2 + |g|^2 - 2 q.g (no (M, N, D) array, so it scales to large galleries)
    d2 = (q**2).sum(axis=1)[:, None] + (g**2).sum(axis=1)[None, :] - 2 * q @ g.T
    nearest = d2.argmin(axis=1)              # index of each query's nearest gallery item
    return float(np.mean(np.asarray(gallery_y)[nearest] == np.asarray(query_y)))
'''

_Q1_HINT = """
|q - g|^2 = |q|^2 + |g|^2 - 2 q.g: with the row sums of squares and one matrix product
query_emb @ gallery_emb.T you get the (M, N) squared Euclidean distances of every query to
every gallery item (the square root changes no ranking), without the (M, N, D) array of
differences that broadcasting would build. argmin over axis 1 is each query's nearest gallery item,
gallery_y of it is its answer, and recall@1 is the mean of answer == query_y, one float.
"""


def _tiny_gallery(seed: int):
    """Three classes whose centres lie at different distances from the origin (so that the
    angle and the distance rank differently): a gallery of 9 and 12 queries, in 2-D."""
    gallery, gallery_y, queries, query_y = clustered_points(
        seed, [[1.0, 0.2], [3.0, 0.9], [0.4, 2.0]], repeats=3, tiles=4, scale=0.7)
    return queries, query_y, gallery, gallery_y


def _recall_by(q, q_y, g, g_y, scores, pick) -> float:
    """Recall@1 when each query takes ``pick`` (argmin/argmax) of ``scores(q, g)``."""
    return float(np.mean(g_y[pick(scores(q, g), axis=1)] == q_y))


def _euclidean2(q, g):
    return distances.pairwise(q, g, "sqeuclidean")


def _cosine_distance(q, g):
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    gn = g / np.linalg.norm(g, axis=1, keepdims=True)
    return 1.0 - qn @ gn.T


def _check_recall_at_1(fn) -> str:
    from course_lib import evaluate

    if not callable(fn):
        raise Incorrect(f"recall_at_1 must be a function, got {type(fn).__name__}")
    for seed in (0, 1, 2):
        q, q_y, g, g_y = _tiny_gallery(seed)
        want = evaluate.recall_at_k(q, q_y, g, g_y, k=1)
        value = one_number(fn(q, q_y, g, g_y), "recall_at_1")
        if np.isclose(value, want):
            continue
        order = np.random.default_rng(seed + 10).permutation(len(g))
        shuffled = one_number(fn(q, q_y, g[order], g_y[order]), "recall_at_1")
        if not np.isclose(shuffled, value):
            raise Incorrect(f"it returns {value:.4f}, and {shuffled:.4f} for the same gallery "
                            f"in another order: the answer depends on where an item sits in "
                            f"the array. Compare classes, not positions: a query's answer is "
                            f"gallery_y[nearest], not the index nearest.")
        variants = [
            (want * len(q), f"with {len(q)} queries it returns {value:g}, the number answered "
                            f"right; return the share ({want:.4f}), the mean."),
            (_recall_by(q, q_y, g, g_y, _euclidean2, np.argmax),
             f"it returns {value:.4f}, the recall of the *farthest* gallery item: take argmin "
             f"of the distances, not argmax."),
            (_recall_by(q, q_y, g, g_y, _cosine_distance, np.argmin),
             f"it returns {value:.4f}, the recall@1 of the cosine distance (the angle between "
             f"embeddings); this notebook's gallery ranks by the Euclidean distance, "
             f"||q - g||, which also sees how long the embeddings are."),
            (_recall_by(q, q_y, g, g_y, lambda a, b: a @ b.T, np.argmax),
             f"it returns {value:.4f}, the recall@1 of the largest dot product q . g, which "
             f"ranks like the Euclidean distance only for unit-length embeddings: rank by "
             f"||q - g||."),
        ]
        for other, message in variants:
            if np.isclose(value, other) and not np.isclose(other, want):
                raise Incorrect(message)
        raise Incorrect(f"on a gallery of 9 and 12 queries in 3 classes (seed {seed}) it returns "
                        f"{value:.4f}; evaluate.recall_at_k(..., k=1) gives {want:.4f}. Each "
                        f"query's answer is the class of its nearest gallery item (section 8, "
                        f"*Export, and answer questions*).")
    return "recall_at_1 agrees with evaluate.recall_at_k(..., k=1) on 3 tiny galleries."


q1 = Exercise("nb08.q1", "recall_at_1", _check_recall_at_1, _Q1_HINT, _Q1_SOLUTION)


# ---------------------------------------------------------------------------------------------
# q2: the threshold for a target false-accept rate

_Q2_SOLUTION = '''
import numpy as np


def threshold_at_far(distances, same, far):
    """The threshold of smallest FRR whose FAR (different pairs with distance <= threshold)
    is at most far."""
    d = np.asarray(distances, float)
    different = d[~np.asarray(same, bool)]
    best = -np.inf                           # accept nothing: FAR 0, FRR 1
    for t in np.sort(d):                     # every observed distance is a candidate
        if np.mean(different <= t) <= far:
            best = t                         # a larger threshold rejects fewer same pairs
    return float(best)
'''

_Q2_HINT = """
A pair is accepted ("same") when its distance is <= the threshold, so FAR(t) is the share of
the *different*-class pairs with distance <= t, and FRR(t) the share of same-class pairs with
distance > t. FAR only grows with t and FRR only falls: the answer is the largest t whose FAR
is still <= far. Only the observed distances matter as candidates: try each of them (sorted),
and keep the last one that meets the target.
"""


def _tiny_pairs(seed: int):
    """20 pair distances, 10 same (smaller on average) and 10 different, all distinct; the
    smallest is a same pair."""
    rng = np.random.default_rng(seed)
    same = np.array([1] * 10 + [0] * 10)
    d = np.where(same == 1, rng.uniform(0.1, 1.2, 20), rng.uniform(0.6, 2.0, 20))
    d[np.argmin(d)], d[0] = d[0], d.min()    # the smallest distance is pair 0, a same pair
    d[0] = min(d[0], 0.05)
    order = rng.permutation(20)
    return d[order], same[order]


def _rates(d, same, t) -> tuple[float, float]:
    """(FAR, FRR) of accepting the pairs with distance <= t."""
    return float(np.mean(d[same == 0] <= t)), float(np.mean(d[same == 1] > t))


def _best_threshold(d, counted, far) -> float:
    """The largest observed distance t at which at most a share ``far`` of the distances
    ``counted`` is <= t (brute force); -inf if there is none."""
    ok = [t for t in np.sort(d) if np.mean(counted <= t) <= far]
    return float(ok[-1]) if ok else -np.inf


def _check_threshold_at_far(fn) -> str:
    from course_lib import evaluate

    if not callable(fn):
        raise Incorrect(f"threshold_at_far must be a function, got {type(fn).__name__}")
    cases = 0
    for seed in (0, 1):
        d, same = _tiny_pairs(seed)
        for far in (0.3, 0.2, 0.1):
            ref = evaluate.threshold_at_far(d, same, far)
            _, want_frr = evaluate.far_frr(d, same, ref)
            t = one_number(fn(d, same.astype(bool), far), "threshold_at_far")
            got_far, got_frr = _rates(d, same, t)
            where = (f"on 20 pairs (10 different, seed {seed}) with far={far}, it returns "
                     f"threshold {t:.4f}")
            on_same = _best_threshold(d, d[same == 1], far)
            if (np.isclose(t, on_same) and not np.isclose(on_same, d.min())
                    and not np.isclose(_rates(d, same, on_same)[1], want_frr)):
                raise Incorrect(f"{where}, the threshold whose share of *same*-class pairs "
                                f"accepted is <= far. FAR is measured on the different-class "
                                f"pairs (same == False): the strangers let in (section 7).")
            on_all = _best_threshold(d, d, far)
            if np.isclose(t, on_all) and not np.isclose(_rates(d, same, on_all)[1], want_frr):
                raise Incorrect(f"{where}, the threshold whose share of *all* pairs accepted "
                                f"is <= far. FAR is the share of the different-class pairs "
                                f"accepted: count and divide over those pairs only.")
            if got_far > far:
                if np.mean(d[same == 0] < t) <= far:
                    raise Incorrect(f"{where}: its FAR is {got_far:.2f} > {far}, because a "
                                    f"different pair at distance exactly {t:.4f} is accepted "
                                    f"too. Accept means distance <= threshold: test FAR with "
                                    f"<=, not <.")
                raise Incorrect(f"{where}: its FAR (different pairs with distance <= "
                                f"threshold) is {got_far:.2f}, above far={far}.")
            if got_frr > want_frr:
                raise Incorrect(f"{where}: FAR {got_far:.2f} meets the target, but FRR is "
                                f"{got_frr:.2f} where {ref:.4f} keeps FAR <= {far} with FRR "
                                f"{want_frr:.2f}. Take the *largest* threshold that meets the "
                                f"target, not the smallest: FRR falls as the threshold grows.")
            cases += 1
    return (f"threshold_at_far meets the target FAR with the smallest FRR on {cases} cases, as "
            f"evaluate.threshold_at_far does.")


q2 = Exercise("nb08.q2", "threshold_at_far", _check_threshold_at_far, _Q2_HINT, _Q2_SOLUTION)
