"""Exercises of notebook 07 (the triplet loss and online mining).

- ``q1``: ``hardest_pairs(dist, labels)``: batch-hard's mining rule in NumPy, each anchor's
  farthest positive and nearest negative distance, read off a batch's distance matrix; checked
  against a loop over every pair and against ``course_lib.losses.batch_hard_triplet_loss``.
- ``q2``: ``active_fraction(dist, labels, margin)``: the share of a batch's valid triplets
  whose loss is still positive, checked against a loop over every triplet and against
  ``course_lib.losses.active_triplet_fraction``.
"""

from __future__ import annotations

import itertools

import numpy as np

from course_lib.exercises import Exercise, Incorrect
from course_lib.exercises._probe import one_number

__all__ = ["q1", "q2"]


def _batch(seed: int, integer: bool):
    """A tiny batch: labels of 3 classes (2 or 3 each, shuffled) and a symmetric distance
    matrix with a zero diagonal; ``integer`` distances make exact ties with an integer margin.
    Also returns the 2-D points the distances come from (None for integer distances)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.array([0, 0, 0, 1, 1, 2, 2, 2]))
    if integer:
        upper = np.triu(rng.integers(1, 6, size=(8, 8)), 1).astype(float)
        return upper + upper.T, labels, None
    centres = np.array([[0.0, 0.0], [1.0, 0.3], [0.2, 1.1]])
    points = centres[labels] + 0.45 * rng.standard_normal((8, 2))
    dist = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
    return dist, labels, points


def _masks(labels):
    same = labels[:, None] == labels[None, :]
    return same & ~np.eye(len(labels), dtype=bool), ~same


# ---------------------------------------------------------------------------------------------
# q1: batch-hard's mining rule

_Q1_SOLUTION = '''
import numpy as np


def hardest_pairs(dist, labels):
    """Per anchor: the distance to its farthest positive and to its nearest negative."""
    dist, labels = np.asarray(dist, float), np.asarray(labels)
    same = labels[:, None] == labels[None, :]
    positive = same & ~np.eye(len(labels), dtype=bool)   # same class, not the anchor itself
    negative = ~same                                       # another class
    hardest_positive = np.where(positive, dist, -np.inf).max(axis=1)
    hardest_negative = np.where(negative, dist, np.inf).min(axis=1)
    return hardest_positive, hardest_negative
'''

_Q1_HINT = """
Two boolean (N, N) masks from the labels: positive[i, j] when j has i's class and j != i,
negative[i, j] when j has another class. Batch-hard takes, for each anchor (each row), the
largest distance among its positives and the smallest among its negatives. np.where(mask,
dist, fill) keeps the masked entries; fill the others with a value that can never win:
-np.inf before a max, +np.inf before a min (0 would win every min).
"""


def _two_arrays(got, n: int, name: str):
    if got is None:
        raise Incorrect(f"{name} returned None: did you forget the `return`?")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise Incorrect(f"{name} must return two arrays, (hardest_positive, hardest_negative), "
                        f"got {type(got).__name__}")
    try:
        out = [np.asarray(g, dtype=float) for g in got]
    except (TypeError, ValueError):
        raise Incorrect(f"{name} must return two arrays of numbers") from None
    for part, value in zip(("hardest_positive", "hardest_negative"), out):
        if value.shape != (n,):
            raise Incorrect(f"its {part} has shape {value.shape}; it must hold one distance "
                            f"per anchor, shape ({n},)")
    return out


def _check_hardest_pairs(fn) -> str:
    from course_lib import losses

    if not callable(fn):
        raise Incorrect(f"hardest_pairs must be a function, got {type(fn).__name__}")
    for seed in (0, 1, 2):
        dist, labels, points = _batch(seed, integer=False)
        positive, negative = _masks(labels)
        n = len(labels)
        want_p = np.array([max(dist[i, j] for j in range(n) if positive[i, j]) for i in range(n)])
        want_n = np.array([min(dist[i, j] for j in range(n) if negative[i, j]) for i in range(n)])
        got_p, got_n = _two_arrays(fn(dist.copy(), labels.copy()), n, "hardest_pairs")
        ok_p, ok_n = np.allclose(got_p, want_p), np.allclose(got_n, want_n)
        if ok_p and ok_n:
            continue
        where = f"on a batch of {n} in 3 classes (seed {seed})"
        if np.allclose(got_p, want_n) and np.allclose(got_n, want_p):
            raise Incorrect(f"{where} the two arrays come back swapped: return "
                            f"(hardest_positive, hardest_negative), in that order.")
        off = np.where(positive, dist, np.inf).min(axis=1)
        if not ok_p and np.allclose(got_p, off):
            raise Incorrect(f"{where} hardest_positive is each anchor's *nearest* positive; "
                            f"batch-hard takes the farthest one, the positive it is worst at "
                            f"(section *Online mining on a P x K batch, by hand*).")
        if not ok_p and np.allclose(got_p, 0.0):
            raise Incorrect(f"{where} hardest_positive is 0 for every anchor: the anchor "
                            f"itself (distance 0) counted as its own positive, or the masked "
                            f"entries were filled with 0. Leave out the diagonal.")
        if not ok_p and np.allclose(got_p, dist.max(axis=1)):
            raise Incorrect(f"{where} hardest_positive is the largest distance of each row "
                            f"over *every* other image: a positive must have the anchor's "
                            f"class.")
        if not ok_n and np.allclose(got_n, np.where(negative, dist, -np.inf).max(axis=1)):
            raise Incorrect(f"{where} hardest_negative is each anchor's *farthest* negative; "
                            f"batch-hard takes the nearest one, the negative that comes "
                            f"closest to being mistaken for a positive.")
        if not ok_n and np.allclose(got_n, 0.0):
            raise Incorrect(f"{where} hardest_negative is 0 for every anchor: the entries "
                            f"that are not negatives were filled with 0 before the min, and 0 "
                            f"wins every min. Fill them with np.inf.")
        off_diag = np.where(np.eye(n, dtype=bool), np.inf, dist).min(axis=1)
        if not ok_n and np.allclose(got_n, off_diag):
            raise Incorrect(f"{where} hardest_negative is each anchor's nearest *other image*, "
                            f"whatever its class: a negative must have another class.")
        raise Incorrect(f"{where} it returns hardest_positive {np.round(got_p, 3)} and "
                        f"hardest_negative {np.round(got_n, 3)}; a loop over every pair gives "
                        f"{np.round(want_p, 3)} and {np.round(want_n, 3)}.")
    # the answer gives batch-hard's loss, as course_lib computes it from the points
    margin = 0.5
    mine = float(np.mean(np.maximum(got_p - got_n + margin, 0.0)))
    lib = float(np.mean(losses.batch_hard_triplet_loss(labels, points.astype("float32"),
                                                       margin, epsilon=0.0)))
    if not np.isclose(mine, lib, atol=1e-5):
        raise Incorrect(f"mean(relu(hardest_positive - hardest_negative + {margin})) is "
                        f"{mine:.5f}, but losses.batch_hard_triplet_loss gives {lib:.5f}.")
    return ("hardest_pairs agrees with a loop over every pair on 3 tiny batches, and gives "
            "losses.batch_hard_triplet_loss.")


q1 = Exercise("nb07.q1", "hardest_pairs", _check_hardest_pairs, _Q1_HINT, _Q1_SOLUTION)


# ---------------------------------------------------------------------------------------------
# q2: the share of active triplets

_Q2_SOLUTION = '''
import numpy as np


def active_fraction(dist, labels, margin):
    """Share of the valid triplets (a, p, n) with d(a, p) - d(a, n) + margin > 0."""
    dist, labels = np.asarray(dist, float), np.asarray(labels)
    same = labels[:, None] == labels[None, :]
    positive = same & ~np.eye(len(labels), dtype=bool)
    negative = ~same
    valid = positive[:, :, None] & negative[:, None, :]        # (a, p, n)
    active = dist[:, :, None] - dist[:, None, :] + margin > 0   # loss still positive
    return float((active & valid).sum() / valid.sum())
'''

_Q2_HINT = """
A triplet (a, p, n) is valid when p has a's class (p != a) and n has another class; it is
active when its loss is positive, d(a, p) - d(a, n) + margin > 0 (strictly: a loss of exactly
0 teaches nothing). Broadcasting builds all of them at once: dist[:, :, None] - dist[:, None, :]
has entry (a, p, n) = d(a, p) - d(a, n). The answer is one float: active valid triplets over
valid triplets.
"""


def _brute_fraction(dist, labels, margin, *, strict=True, sign=1.0, self_positive=False,
                    denominator="valid"):
    n = len(labels)
    active = valid = 0
    for a, p, q in itertools.product(range(n), repeat=3):
        if labels[p] != labels[a] or labels[q] == labels[a] or (p == a and not self_positive):
            continue
        valid += 1
        value = sign * (dist[a, p] - dist[a, q]) + margin
        active += value > 0 if strict else value >= 0
    return active / {"valid": valid, "all": n ** 3}[denominator]


def _check_active_fraction(fn) -> str:
    from course_lib import losses

    if not callable(fn):
        raise Incorrect(f"active_fraction must be a function, got {type(fn).__name__}")
    for seed, integer, margin in ((0, True, 1.0), (1, True, 2.0), (2, False, 0.3),
                                  (3, False, 0.8)):
        dist, labels, _ = _batch(seed, integer)
        want = _brute_fraction(dist, labels, margin)
        value = one_number(fn(dist.copy(), labels.copy(), margin), "active_fraction")
        if np.isclose(value, want):
            continue
        where = f"on a batch of 8 in 3 classes (seed {seed}, margin {margin})"
        positive, negative = _masks(labels)
        n_valid = int((positive[:, :, None] & negative[:, None, :]).sum())
        variants = [
            (want * n_valid, f"{where} it returns {value:g}, the number of active triplets; "
                             f"return their share of the {n_valid} valid ones."),
            (_brute_fraction(dist, labels, margin, strict=False),
             f"{where} it returns {value:.4f}: it counts the triplets whose loss is exactly 0 "
             f"(d(a,p) - d(a,n) + margin == 0) as active. Active means loss > 0, strictly."),
            (_brute_fraction(dist, labels, margin, sign=-1.0),
             f"{where} it returns {value:.4f}, the share with d(a,n) - d(a,p) + margin > 0: "
             f"the sign is flipped. The loss is d(a,p) - d(a,n) + margin (section *The "
             f"triplet loss, by hand*)."),
            (_brute_fraction(dist, labels, margin, self_positive=True),
             f"{where} it returns {value:.4f}: the anchor counted as its own positive "
             f"(p == a). Leave out the diagonal of the same-class mask."),
            (_brute_fraction(dist, labels, margin, denominator="all"),
             f"{where} it returns {value:.4f}, active triplets over all 8**3 index triples; "
             f"divide by the number of *valid* triplets."),
        ]
        for other, message in variants:
            if np.isclose(value, other) and not np.isclose(other, want):
                raise Incorrect(message)
        raise Incorrect(f"{where} it returns {value:.4f}; a loop over every triplet gives "
                        f"{want:.4f}.")
    dist, labels, points = _batch(4, integer=False)
    lib = float(losses.active_triplet_fraction(labels, points.astype("float32"), 0.5,
                                               epsilon=0.0))
    mine = one_number(fn(dist, labels, 0.5), "active_fraction")
    if not np.isclose(mine, lib, atol=1e-6):
        raise Incorrect(f"on points of seed 4 it returns {mine:.4f}, but "
                        f"losses.active_triplet_fraction gives {lib:.4f}.")
    return ("active_fraction agrees with a loop over every triplet on 4 tiny batches (ties "
            "included) and with losses.active_triplet_fraction.")


q2 = Exercise("nb07.q2", "active_fraction", _check_active_fraction, _Q2_HINT, _Q2_SOLUTION)
