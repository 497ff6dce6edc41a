"""Exercises of notebook 08 (your own images: calibrate, export, answer questions).

- ``q1``: ``recall_at_1(query_emb, query_y, gallery_emb, gallery_y)``: the share of queries
  whose nearest gallery embedding (Euclidean) has their class, in NumPy, checked against
  ``course_lib.evaluate.recall_at_k(k=1)``.
- ``q2``: ``threshold_at_far(distances, same, far)``: the distance threshold of smallest FRR
  whose false-accept rate on the different-class pairs is at most ``far``, checked against
  ``course_lib.evaluate.threshold_at_far`` and ``far_frr``.
- ``q3``: ``identify_threshold(unknown_to_gallery, fpir)``: the 1:N (identify) threshold chosen
  on validation queries of classes not in the gallery, for a target false positive
  identification rate (FPIR), checked against ``course_lib.evaluate.open_set_threshold_at_far``.
"""

from __future__ import annotations

import numpy as np

from course_lib import distances
from course_lib.exercises import Exercise, Incorrect
from course_lib.exercises._probe import clustered_points, one_number

__all__ = ["q1", "q2", "q3"]


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


# ---------------------------------------------------------------------------------------------
# q3: the identify (1:N) threshold for a target FPIR

_Q3_SOLUTION = '''
import numpy as np


def identify_threshold(unknown_to_gallery, fpir):
    """The largest threshold at which at most a share fpir of the unknown queries is let in
    (its nearest gallery item within the threshold)."""
    # a stranger is let in when its *nearest* gallery item is close enough: one value per query
    nearest = np.asarray(unknown_to_gallery, float).min(axis=1)
    best = -np.inf                           # let nobody in
    for t in np.sort(nearest):               # the queries' nearest distances are the candidates
        if np.mean(nearest <= t) <= fpir:
            best = t                         # a larger threshold turns fewer known queries away
    return float(best)
'''

_Q3_HINT = """
identify answers a query with its nearest gallery item when that distance is <= the threshold,
so an unknown query (its class is not in the gallery) is let in exactly when the *minimum* of
its row is <= the threshold: first reduce each row to its minimum (axis=1, one value per
query, not one per gallery item). FPIR(t) is then the share of those minima <= t. As in
exercise 2, FPIR only grows with t: return the largest of the minima whose FPIR is still <=
fpir.
"""


def _tiny_open_set(seed: int):
    """Distances (20, 30) from 20 unknown queries to a gallery of 30 items, all distinct."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.linspace(0.3, 2.0, 600)).reshape(20, 30)


def _check_identify_threshold(fn) -> str:
    from course_lib import evaluate

    if not callable(fn):
        raise Incorrect(f"identify_threshold must be a function, got {type(fn).__name__}")
    cases = 0
    for seed in (0, 1):
        d = _tiny_open_set(seed)
        nearest = d.min(axis=1)
        for fpir in (0.25, 0.1, 0.05):
            ref = evaluate.open_set_threshold_at_far(nearest, fpir)
            want = int(np.sum(nearest <= ref))
            t = one_number(fn(d.copy(), fpir), "identify_threshold")
            let_in = int(np.sum(nearest <= t))
            where = (f"for 20 unknown queries against 30 gallery items (seed {seed}) with "
                     f"fpir={fpir}, it returns threshold {t:.4f}")
            for other, message in (
                    (_best_threshold(d.ravel(), d.ravel(), fpir),
                     "the threshold for a share of all query-item *pairs*. A stranger has 30 "
                     "chances, one per gallery item, and is let in when the nearest is close "
                     "enough: take each row's minimum first (section 7)."),
                    (_best_threshold(d.min(axis=0), d.min(axis=0), fpir),
                     "a threshold computed from each *gallery item's* nearest query (the "
                     "minimum over axis 0). identify looks at each query's nearest item: the "
                     "minimum of each row, axis=1."),
                    (_best_threshold(d.mean(axis=1), d.mean(axis=1), fpir),
                     "the threshold for each query's *mean* distance to the gallery. identify "
                     "answers with the nearest item: use each row's minimum.")):
                if (np.isclose(t, other) and not np.isclose(other, nearest.min())
                        and int(np.sum(nearest <= other)) != want):
                    raise Incorrect(f"{where}, {message}")
            if let_in > want:
                if int(np.sum(nearest < t)) <= want:
                    raise Incorrect(f"{where}: it lets in {let_in} of 20 (FPIR "
                                    f"{let_in / 20:.2f} > {fpir}), because a query at distance "
                                    f"exactly {t:.4f} is let in too. Let in means distance <= "
                                    f"threshold: count with <=, not <.")
                raise Incorrect(f"{where}: it lets in {let_in} of the 20 unknown queries, an "
                                f"FPIR of {let_in / 20:.2f}, above fpir={fpir}.")
            if let_in < want:
                raise Incorrect(f"{where}: its FPIR {let_in / 20:.2f} meets the target, but "
                                f"{ref:.4f} also does ({want} let in) and turns fewer known "
                                f"queries away as 'unknown'. Take the *largest* threshold that "
                                f"meets the target.")
            cases += 1
    return (f"identify_threshold lets in as many unknown queries as "
            f"evaluate.open_set_threshold_at_far on {cases} cases, never more than fpir.")


q3 = Exercise("nb08.q3", "identify_threshold", _check_identify_threshold, _Q3_HINT,
              _Q3_SOLUTION)
