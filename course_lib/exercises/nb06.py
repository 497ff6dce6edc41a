"""Exercises of notebook 06 (one-shot learning on Omniglot).

- ``q1``: ``n_way_loss_from_distances(d2)``: the N-way comparison loss of one episode from its
  (N, N) matrix of anchor-to-candidate squared distances, in NumPy, checked against
  ``course_lib.losses.n_way_loss``.
- ``q2``: ``one_shot_accuracy(query_emb, candidate_emb, answers)``: the accuracy of one Lake run
  scored by the nearest candidate (a tie counts as wrong), in NumPy, checked against
  ``course_lib.oneshot.task_accuracy``.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Exercise, Incorrect

__all__ = ["q1", "q2"]


def _one_number(got, name: str) -> float:
    """``got`` as a float, or :class:`Incorrect` saying why it is not one number."""
    if got is None:
        raise Incorrect(f"{name} returned None: did you forget the `return`?")
    try:
        value = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Incorrect(f"{name} returned a {type(got).__name__}, expected one number") from None
    if value.shape != ():
        raise Incorrect(f"{name} returns an array of shape {value.shape}, expected one number "
                        f"(the mean).")
    return float(value)


def _log_softmax(logits: np.ndarray, axis: int) -> np.ndarray:
    top = logits.max(axis=axis, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------------------------------------
# q1: the N-way loss from a distance matrix

_Q1_SOLUTION = '''
import numpy as np


def n_way_loss_from_distances(d2):
    """Mean N-way loss of one episode; d2[i, j] = ||f(a_i) - f(c_j)||^2."""
    logits = -np.asarray(d2, dtype=float)          # nearer = more alike

    def log_softmax(z, axis):                      # stable: subtract the largest logit first
        z = z - z.max(axis=axis, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))

    n = len(logits)
    anchor_to_candidates = -log_softmax(logits, axis=1)[np.arange(n), np.arange(n)]
    candidate_to_anchors = -log_softmax(logits, axis=0)[np.arange(n), np.arange(n)]
    return float((anchor_to_candidates.mean() + candidate_to_anchors.mean()) / 2)
'''

_Q1_HINT = """
The logits are minus the squared distances (nearer = more alike). Row i of the matrix is
anchor i against the N candidates: a softmax along axis 1, and the loss of anchor i is minus
the log-probability of its own candidate, the diagonal entry [i, i]. Column j is candidate j
against the anchors: the same along axis 0. Average the N row losses and the N column losses,
then the two directions. Subtract each row's (or column's) largest logit before exp, or large
distances overflow.
"""


def _tiny_episode(seed: int, n: int):
    rng = np.random.default_rng(seed)
    anchors = rng.normal(size=(n, 3))
    candidates = anchors + 0.7 * rng.normal(size=(n, 3))
    candidates[0] = anchors[1] + 0.1                 # one candidate nearer another anchor
    return anchors, candidates


def _check_n_way_loss(fn) -> str:
    from course_lib import losses

    if not callable(fn):
        raise Incorrect(f"n_way_loss_from_distances must be a function, got "
                        f"{type(fn).__name__}")
    for seed, n in ((0, 4), (1, 5), (2, 3)):
        anchors, candidates = _tiny_episode(seed, n)
        d2 = ((anchors[:, None] - candidates[None]) ** 2).sum(-1)
        embeddings = np.concatenate([anchors, candidates]).astype(np.float32)
        want = float(np.mean(np.asarray(losses.n_way_loss(embeddings, n), dtype=np.float64)))
        got = _one_number(fn(d2.copy()), "n_way_loss_from_distances")
        if np.isclose(got, want, rtol=1e-4, atol=1e-5):
            continue
        rows = -np.diag(_log_softmax(-d2, 1))
        cols = -np.diag(_log_softmax(-d2, 0))
        variants = [
            (rows.mean(), "it returns the anchors' half only (each anchor against the "
                          "candidates): add the candidates against the anchors (a softmax "
                          "along the other axis) and average the two."),
            (cols.mean(), "it returns the candidates' half only: add each anchor against the "
                          "candidates (a softmax along axis 1) and average the two."),
            (np.mean(-np.diag(_log_softmax(d2, 1)) - np.diag(_log_softmax(d2, 0))) / 2,
             "the logits have the wrong sign: +d2 makes the *farthest* candidate the likeliest. "
             "Use logits = -d2."),
            (np.mean(-np.diag(_log_softmax(-np.sqrt(d2), 1))
                     - np.diag(_log_softmax(-np.sqrt(d2), 0))) / 2,
             "it uses the distances, not their squares: the input is already the squared "
             "distance; take logits = -d2 as they are."),
            (rows.sum() + cols.sum(), "it returns the sum of the 2N losses: return their mean."),
            ((rows.sum() + cols.sum()) / 2, "it returns the sum over the N classes of the two "
                                            "directions' mean: divide by N as well (the mean)."),
        ]
        for other, message in variants:
            if np.isclose(got, other, rtol=1e-4) and not np.isclose(other, want, rtol=1e-4):
                raise Incorrect(message)
        raise Incorrect(f"on a {n}-way episode (seed {seed}) it returns {got:.5f}; "
                        f"losses.n_way_loss gives {want:.5f}. See section 2, *The N-way "
                        f"comparison loss*: logits -d2, a softmax over the candidates for each "
                        f"anchor and over the anchors for each candidate, the true pair on the "
                        f"diagonal.")
    with np.errstate(all="ignore"):
        big = _one_number(fn(np.array([[1000.0, 2000.0], [2000.0, 1000.0]])),
                          "n_way_loss_from_distances")
    if not np.isfinite(big) or big > 1e-6:
        raise Incorrect(f"for two classes whose squared distances are 1000 (the true pairs) and "
                        f"2000 it returns {big}, expected 0: subtract the largest logit before "
                        f"exp (a stable log-softmax), or every exp(-d2) underflows to 0.")
    return ("n_way_loss_from_distances agrees with losses.n_way_loss on 3 episodes (3, 4 and "
            "5-way) and stays finite for large distances.")


q1 = Exercise("nb06.q1", "n_way_loss_from_distances", _check_n_way_loss, _Q1_HINT,
              _Q1_SOLUTION)


# ---------------------------------------------------------------------------------------------
# q2: scoring one of Lake's runs

_Q2_SOLUTION = '''
import numpy as np


def one_shot_accuracy(query_emb, candidate_emb, answers):
    """Share of queries whose nearest candidate (squared Euclidean) is their answer; a tie
    for the nearest counts as wrong."""
    q, c = np.asarray(query_emb, float), np.asarray(candidate_emb, float)
    d2 = ((q[:, None, :] - c[None, :, :]) ** 2).sum(axis=-1)        # (queries, candidates)
    nearest = d2.min(axis=1, keepdims=True)
    unique = (d2 == nearest).sum(axis=1) == 1                        # no tie for the nearest
    right = d2[np.arange(len(q)), np.asarray(answers)] == nearest[:, 0]
    return float(np.mean(right & unique))
'''

_Q2_HINT = """
query_emb[:, None, :] - candidate_emb[None, :, :] has shape (queries, candidates, D); square
and sum over the last axis for the squared distances. A query is right when its answer's
distance is the smallest of its row *and* no other candidate has that same smallest distance
(argmin alone picks the first of tied candidates, which would count a tie as right when the
answer comes first). Return the mean over the queries, one float.
"""


def _tiny_run(seed: int):
    """6 candidates and 8 queries in 2-D, answers shuffled, and one exact tie."""
    rng = np.random.default_rng(seed)
    candidates = rng.normal(size=(6, 2)) * 2
    answers = rng.permutation(np.tile(np.arange(6), 2))[:8]
    queries = candidates[answers] + 0.9 * rng.normal(size=(8, 2))
    candidates[5] = candidates[4]            # two candidates in one place: a tie
    answers[0] = 4
    queries[0] = candidates[4] + 0.01
    return queries, candidates, answers


def _check_one_shot_accuracy(fn) -> str:
    from course_lib import oneshot

    if not callable(fn):
        raise Incorrect(f"one_shot_accuracy must be a function, got {type(fn).__name__}")
    for seed in (0, 1, 2):
        q, c, a = _tiny_run(seed)
        d2 = ((q[:, None] - c[None]) ** 2).sum(-1)
        want = float(oneshot.task_accuracy(-d2, a).mean())
        got = _one_number(fn(q.copy(), c.copy(), a.copy()), "one_shot_accuracy")
        if np.isclose(got, want):
            continue
        variants = [
            (float(np.mean(d2.argmin(1) == a)), "it counts a tie for the nearest candidate as "
             "right when the answer comes first: Lake's scoring (and task_accuracy) counts a "
             "tie as wrong. Check that no other candidate has the same smallest distance."),
            (float(np.mean(d2.argmax(1) == a)), "it picks the *farthest* candidate: take the "
                                                "smallest distance, not the largest."),
            (want * len(q), f"it returns {got:g}, the number of queries answered right; return "
                            f"the share, the mean."),
            (float(np.mean((q @ c.T).argmax(1) == a)), "it picks the largest dot product, which "
             "ranks like the Euclidean distance only for unit-length embeddings: use the "
             "squared distance."),
        ]
        for other, message in variants:
            if np.isclose(got, other) and not np.isclose(other, want):
                raise Incorrect(message)
        raise Incorrect(f"on a tiny run of 6 candidates and 8 queries (seed {seed}) it returns "
                        f"{got:.4f}; oneshot.task_accuracy gives {want:.4f}. Section 4, "
                        f"*Lake's 20 runs*, says how a query is scored.")
    return ("one_shot_accuracy agrees with oneshot.task_accuracy on 3 tiny runs, a tie "
            "counted wrong.")


q2 = Exercise("nb06.q2", "one_shot_accuracy", _check_one_shot_accuracy, _Q2_HINT, _Q2_SOLUTION)
