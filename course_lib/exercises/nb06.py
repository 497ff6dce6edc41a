"""Exercises of notebook 06 (one-shot learning on Omniglot).

- ``q1``: ``n_way_loss_from_distances(d2)``: the N-way comparison loss of a batch of episodes
  from its anchor-candidate squared distances, checked against ``course_lib.losses.NWayLoss``.
- ``q2``: ``one_shot_accuracy(query_emb, candidate_emb, answers)``: Lake's scoring rule (the
  nearest candidate is the pick, a tie counts as wrong), checked against
  ``course_lib.oneshot.task_scores`` and ``task_accuracy``.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Exercise, Incorrect
from course_lib.exercises._probe import as_numpy, one_number

__all__ = ["q1", "q2"]


# ---------------------------------------------------------------------------------------------
# q1: the N-way loss from a distance matrix

_Q1_SOLUTION = '''
import keras
from keras import ops


def n_way_loss_from_distances(d2):
    """Mean N-way loss of episodes given d2[e, i, j] = ||f(anchor i) - f(candidate j)||^2."""
    n_way = d2.shape[-1]
    logits = -d2                                           # nearer = more likely
    target = ops.broadcast_to(ops.eye(n_way), ops.shape(logits))
    rows = keras.losses.categorical_crossentropy(target, logits, from_logits=True)
    cols = keras.losses.categorical_crossentropy(
        target, ops.transpose(logits, (0, 2, 1)), from_logits=True)
    return (ops.mean(rows) + ops.mean(cols)) / 2
'''

_Q1_HINT = """
Section 2's loss, with the distances already computed. The logits of anchor i are minus its
squared distances to the N candidates (nearer must mean more likely), and its right answer is
candidate i: the target is the identity matrix, one per episode (ops.eye, then
ops.broadcast_to). keras.losses.categorical_crossentropy(target, logits, from_logits=True)
gives one loss per anchor. Do the same with the candidates asking for their anchor (swap the
last two axes: ops.transpose(logits, (0, 2, 1))), then average the two means.
"""


def _probe(seed: int, episodes: int = 3, n_way: int = 5, dim: int = 4):
    """Embeddings of ``episodes`` episodes (anchors, then candidates) and their distances."""
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(episodes, 2, n_way, dim)).astype("float32")
    e[:, 1] += 0.8 * (e[:, 0] - e[:, 1])                # candidates near their anchors
    d2 = ((e[:, 0, :, None, :] - e[:, 1, None, :, :]) ** 2).sum(-1)
    labels = np.tile(np.arange(n_way), 2 * episodes)
    return e.reshape(-1, dim), labels, d2


def _np_loss(logits: np.ndarray, axis: int) -> float:
    """Mean cross-entropy of the diagonal under a softmax along ``axis`` (1: over anchors,
    2: over candidates) of (episodes, N, N) logits."""
    shifted = logits - logits.max(axis, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis, keepdims=True))
    return float(-np.diagonal(log_p, axis1=1, axis2=2).mean())


def _check_n_way_loss(fn) -> str:
    from keras import ops

    from course_lib import losses

    if not callable(fn):
        raise Incorrect(f"n_way_loss_from_distances must be a function, got {type(fn).__name__}")
    for seed, (episodes, n_way) in enumerate(((3, 5), (2, 4), (1, 7))):
        emb, labels, d2 = _probe(seed, episodes, n_way)
        want = float(losses.NWayLoss(n_way)(labels, emb))
        got = one_number(as_numpy(fn(ops.convert_to_tensor(d2)), "n_way_loss_from_distances"),
                         "n_way_loss_from_distances")
        if np.isclose(got, want, rtol=1e-4):
            continue
        rows, cols = _np_loss(-d2, 1), _np_loss(-d2, 2)
        if np.isclose(got, rows, rtol=1e-4) or np.isclose(got, cols, rtol=1e-4):
            raise Incorrect(f"the loss is {got:.4f}, one direction only; NWayLoss averages the "
                            f"anchors asking for their candidate and the candidates asking for "
                            f"their anchor (expected {want:.4f}; section 2, the formula).")
        if np.isclose(got, (_np_loss(d2, 1) + _np_loss(d2, 2)) / 2, rtol=1e-4):
            raise Incorrect(f"the loss is {got:.4f}: are the logits minus the distances? A "
                            f"nearer candidate must get a larger logit (expected {want:.4f}).")
        raise Incorrect(f"on {episodes} episodes of {n_way} characters the loss is {got:.4f}; "
                        f"losses.NWayLoss gives {want:.4f} (section 2, the formula).")
    return ("n_way_loss_from_distances equals losses.NWayLoss on 3 batches of episodes "
            "(5, 4 and 7 characters).")


q1 = Exercise("nb06.q1", "n_way_loss_from_distances", _check_n_way_loss, _Q1_HINT, _Q1_SOLUTION)


# ---------------------------------------------------------------------------------------------
# q2: scoring one run the way Lake does

_Q2_SOLUTION = '''
import numpy as np


def one_shot_accuracy(query_emb, candidate_emb, answers):
    """Share of queries whose nearest candidate (Euclidean) is the answer; a tie is wrong."""
    q, c = np.asarray(query_emb, float), np.asarray(candidate_emb, float)
    d2 = ((q[:, None, :] - c[None, :, :]) ** 2).sum(-1)    # (queries, candidates)
    nearest = d2.min(axis=1, keepdims=True)
    unique = (d2 == nearest).sum(axis=1) == 1               # a tie counts as wrong
    right = (d2.argmin(axis=1) == np.asarray(answers)) & unique
    return float(right.mean())
'''

_Q2_HINT = """
Compute every query-candidate squared distance with broadcasting: shape (queries,
candidates). The pick of a query is the candidate at the smallest distance (argmin, not
argmax: these are distances, not similarities). A query is right when its pick is its answer
and no other candidate is exactly as near (oneshot.task_accuracy counts a tie as wrong, so a
net that maps everything to one point scores 0, not 1/N). Return the mean.
"""


def _q2_probe(seed: int):
    rng = np.random.default_rng(seed)
    candidates = rng.normal(size=(6, 3))
    answers = rng.integers(0, 6, size=12)
    queries = candidates[answers] + 0.9 * rng.normal(size=(12, 3))
    return queries, candidates, answers


def _reference(queries, candidates, answers) -> float:
    from course_lib import oneshot

    images = np.concatenate([candidates, queries])   # embeddings as "pixels": 1-NN on them
    n = len(candidates)
    support = np.tile(np.arange(n), (len(queries), 1))
    scores = oneshot.task_scores(None, images, np.arange(n, n + len(queries)), support)
    return float(oneshot.task_accuracy(scores, answers).mean())


def _check_one_shot_accuracy(fn) -> str:
    if not callable(fn):
        raise Incorrect(f"one_shot_accuracy must be a function, got {type(fn).__name__}")
    for seed in (0, 1, 2):
        q, c, a = _q2_probe(seed)
        want = _reference(q, c, a)
        got = one_number(fn(q, c, a), "one_shot_accuracy")
        if np.isclose(got, want):
            continue
        d2 = ((q[:, None] - c[None]) ** 2).sum(-1)
        if np.isclose(got, float(np.mean(d2.argmax(1) == a))):
            raise Incorrect(f"accuracy {got:.3f}: the pick is the candidate at the *smallest* "
                            f"distance (argmin); expected {want:.3f}.")
        raise Incorrect(f"on 12 queries and 6 candidates (seed {seed}) the accuracy is "
                        f"{got:.3f}; oneshot.task_accuracy gives {want:.3f}.")
    c = np.zeros((4, 3))                                    # every candidate at one point
    q, a = np.zeros((5, 3)), np.array([0, 1, 2, 3, 0])
    got = one_number(fn(q, c, a), "one_shot_accuracy")
    if not np.isclose(got, 0.0):
        raise Incorrect(f"with all candidates at the same point every query is a 4-way tie, "
                        f"which counts as wrong (accuracy 0); got {got:.3f}. np.argmin picks "
                        f"the first of the tied candidates: check that the nearest is unique.")
    return ("one_shot_accuracy gives oneshot.task_accuracy's score on 3 sets of 12 queries, "
            "and counts ties as wrong.")


q2 = Exercise("nb06.q2", "one_shot_accuracy", _check_one_shot_accuracy, _Q2_HINT, _Q2_SOLUTION)
