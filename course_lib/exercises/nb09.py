"""Exercises of notebook 09 (the losses that replaced pairs).

- ``q1``: ``nearest_prototype_answers(support, queries)``: a k-shot task answered by nearest
  prototype in NumPy (each class's prototype is the mean of its k support embeddings); checked
  against a loop and against ``course_lib.oneshot.k_shot_accuracy``.
- ``q2``: ``simpleshot(features, reference)``: SimpleShot's centring and L2 normalisation in
  NumPy; checked against a loop and against ``course_lib.unseen.simpleshot_model``.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Exercise, Incorrect
from course_lib.exercises._probe import fmt

__all__ = ["q1", "q2"]


def _task(seed: int, n_way: int = 4, k: int = 3, q: int = 5, dim: int = 2):
    """A tiny k-shot task: support (n_way, k, dim) and queries (Q, dim) with their answers.
    The support points spread around each class centre, so that the nearest single support
    point and the nearest mean often disagree."""
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.standard_normal((n_way, dim))
    support = centres[:, None, :] + 1.2 * rng.standard_normal((n_way, k, dim))
    answers = rng.integers(0, n_way, size=q)
    queries = centres[answers] + 0.9 * rng.standard_normal((q, dim))
    return support, queries


def _as_answers(got, q: int, name: str) -> np.ndarray:
    if got is None:
        raise Incorrect(f"{name} returned None: did you forget the `return`?")
    arr = np.asarray(got)
    if arr.shape != (q,):
        raise Incorrect(f"{name} must return one class index per query, shape ({q},), got "
                        f"shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
        raise Incorrect(f"{name} must return integer class indices (np.argmin gives them), "
                        f"got dtype {arr.dtype}")
    return arr.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# q1: answers by nearest prototype

_Q1_SOLUTION = '''
import numpy as np


def nearest_prototype_answers(support, queries):
    """The index of the nearest prototype (mean of a class's support rows) of each query."""
    support, queries = np.asarray(support, float), np.asarray(queries, float)
    prototypes = support.mean(axis=1)                                  # (n_way, dim)
    d2 = ((queries[:, None, :] - prototypes[None, :, :]) ** 2).sum(-1)  # (Q, n_way)
    return d2.argmin(axis=1)
'''

_Q1_HINT = """
support has shape (n_way, k, dim): class c's k support embeddings are support[c]. Its
prototype is their mean, so average over axis 1 to get (n_way, dim). Then, for each query,
the squared Euclidean distance to every prototype (broadcast queries[:, None, :] against
prototypes[None, :, :] and sum over the last axis) and the index of the smallest one.
"""


def _loop_answers(support, queries, reduce="mean", pick="min"):
    out = []
    for x in queries:
        if reduce == "mean":
            d = [np.sum((x - s.mean(axis=0)) ** 2) for s in support]
        elif reduce == "nearest":
            d = [min(np.sum((x - p) ** 2) for p in s) for s in support]
        else:   # the mean over the wrong axis: one point per support position
            d = [np.sum((x - support[:, j].mean(axis=0)) ** 2) for j in range(support.shape[1])]
        out.append(int(np.argmin(d) if pick == "min" else np.argmax(d)))
    return np.array(out)


def _check_nearest_prototype(fn) -> str:
    from course_lib import oneshot

    if not callable(fn):
        raise Incorrect(f"nearest_prototype_answers must be a function, got {type(fn).__name__}")
    checked = 0
    for seed in range(8):
        support, queries = _task(seed)
        want = _loop_answers(support, queries)
        got = _as_answers(fn(support.copy(), queries.copy()), len(queries),
                          "nearest_prototype_answers")
        checked += 1
        if np.array_equal(got, want):
            continue
        where = f"on a 4-way 3-shot task (seed {seed})"
        if np.array_equal(got, _loop_answers(support, queries, pick="max")):
            raise Incorrect(f"{where} it answers with the *farthest* prototype: take the "
                            f"smallest distance (np.argmin).")
        if np.array_equal(got, _loop_answers(support, queries, reduce="nearest")):
            raise Incorrect(f"{where} it answers with the class of the nearest *support "
                            f"example*, which is 1-NN, not a prototype: average each class's "
                            f"k support rows first (section *Prototypes and k-shot*).")
        if support.shape[1] <= support.shape[0] and got.max() < support.shape[1] and \
                np.array_equal(got, _loop_answers(support, queries, reduce="axis0")):
            raise Incorrect(f"{where} the prototypes were averaged over the classes (axis 0): "
                            f"a prototype is the mean over one class's k rows (axis 1).")
        raise Incorrect(f"{where} it answers {got.tolist()}; the nearest prototypes are "
                        f"{want.tolist()}.")
    # the same answers give course_lib's k-shot accuracy: a 5-way 2-shot task, one query per
    # class in class order, so query c's right answer is c
    rng = np.random.default_rng(11)
    centres = 2.0 * rng.standard_normal((5, 3))
    support = centres[:, None, :] + 1.2 * rng.standard_normal((5, 2, 3))
    queries = centres + 1.2 * rng.standard_normal((5, 3))
    answers = _as_answers(fn(support, queries), 5, "nearest_prototype_answers")
    emb = np.concatenate([support.reshape(-1, 3), queries])
    lib = float(oneshot.k_shot_accuracy(emb, np.arange(10).reshape(1, 5, 2),
                                        np.arange(10, 15).reshape(1, 5, 1))[0])
    mine = float(np.mean(answers == np.arange(5)))
    if not np.isclose(lib, mine):
        raise Incorrect(f"on a 5-way 2-shot task its accuracy is {mine:.2f}, but "
                        f"oneshot.k_shot_accuracy gives {lib:.2f}.")
    return (f"nearest_prototype_answers agrees with a loop over the classes on {checked} tiny "
            f"tasks, where the nearest single support example often answers differently.")


q1 = Exercise("nb09.q1", "nearest_prototype_answers", _check_nearest_prototype, _Q1_HINT,
              _Q1_SOLUTION)


# ---------------------------------------------------------------------------------------------
# q2: SimpleShot's centring and L2 normalisation

_Q2_SOLUTION = '''
import numpy as np


def simpleshot(features, reference):
    """Subtract the mean of the reference rows, then scale every row to unit length."""
    features, reference = np.asarray(features, float), np.asarray(reference, float)
    centred = features - reference.mean(axis=0)
    return centred / np.linalg.norm(centred, axis=1, keepdims=True)
'''

_Q2_HINT = """
Two steps, in this order. Centre: subtract the mean of the *reference* rows (the training
images' embeddings, reference.mean(axis=0), one number per dimension), not the mean of the
features you are transforming. Then normalise: divide each row by its own L2 norm
(np.linalg.norm(..., axis=1, keepdims=True)). No division by a standard deviation: SimpleShot
only centres.
"""


def _features(seed: int):
    rng = np.random.default_rng(seed)
    offset = rng.normal(2.0, 1.0, size=4)
    reference = offset + rng.normal(0.0, [1.0, 2.0, 0.5, 3.0], size=(30, 4))
    features = offset + 0.5 + rng.normal(0.0, 1.0, size=(6, 4))
    return features, reference


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _check_simpleshot(fn) -> str:
    if not callable(fn):
        raise Incorrect(f"simpleshot must be a function, got {type(fn).__name__}")
    for seed in (0, 1, 2):
        features, reference = _features(seed)
        mu = reference.mean(axis=0)
        want = np.array([(f - mu) / np.sqrt(np.sum((f - mu) ** 2)) for f in features])
        got = fn(features.copy(), reference.copy())
        if got is None:
            raise Incorrect("simpleshot returned None: did you forget the `return`?")
        got = np.asarray(got, dtype=float)
        if got.shape != features.shape:
            raise Incorrect(f"simpleshot must return one row per feature row, shape "
                            f"{features.shape}, got {got.shape}")
        if np.allclose(got, want, atol=1e-6):
            continue
        where = f"on 6 rows of 4 features (seed {seed})"
        variants = [
            (_unit(features - features.mean(axis=0)),
             "it centres with the mean of the features themselves; SimpleShot subtracts the "
             "mean of the reference (training) embeddings, fixed before any test image is seen."),
            (_unit(features), "it does not centre: subtract the reference mean first."),
            (features - mu, "it centres but does not scale the rows to unit length."),
            (_unit(features) - _unit(reference).mean(axis=0),
             "it normalises first and centres afterwards: centre, then normalise."),
            (_unit((features - mu) / reference.std(axis=0)),
             "it divides by the reference's standard deviation; SimpleShot only centres "
             "(a Normalization layer with variance 1)."),
        ]
        for other, message in variants:
            if np.allclose(got, other, atol=1e-6):
                raise Incorrect(f"{where} {message}")
        raise Incorrect(f"{where} its first row is {fmt(got[0])}; centring by the reference "
                        f"mean and scaling to unit length gives {fmt(want[0])}.")
    # the same transform as course_lib's Keras model, on an identity encoder
    import keras

    from course_lib import unseen

    features, reference = _features(5)
    inputs = keras.Input((4,))
    identity = keras.Model(inputs, keras.layers.Identity()(inputs))
    lib = np.asarray(unseen.simpleshot_model(identity, reference).predict(features, verbose=0))
    mine = np.asarray(fn(features, reference), dtype=float)
    if not np.allclose(mine, lib, atol=1e-5):
        raise Incorrect(f"on seed 5 its first row is {fmt(mine[0])}, but "
                        f"unseen.simpleshot_model gives {fmt(lib[0])}.")
    return ("simpleshot agrees with a loop on 3 tiny sets of features and with "
            "unseen.simpleshot_model on an identity encoder.")


q2 = Exercise("nb09.q2", "simpleshot", _check_simpleshot, _Q2_HINT, _Q2_SOLUTION)
