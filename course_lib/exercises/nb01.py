"""Exercises of notebook 01 (introduction).

- ``q1``: a cosine distance written with ``keras.ops``, safe for an all-zero embedding.
- ``q2``: a balanced pair sampler that never pairs an image with itself.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Exercise, Incorrect
from course_lib.exercises._probe import as_numpy, fmt

__all__ = ["q1", "q2"]


# ---------------------------------------------------------------------------------------------
# q1: cosine distance

_Q1_SOLUTION = '''
from keras import ops


def cosine_distance(a, b, epsilon=1e-6):
    """1 - cos(angle between a and b) for each pair of rows, shape (batch, 1)."""
    # epsilon under the square root: an all-zero embedding gets length sqrt(epsilon), not 0,
    # so neither the value (0/0) nor the gradient of the square root is NaN
    a_length = ops.sqrt(ops.sum(ops.square(a), axis=-1, keepdims=True) + epsilon)
    b_length = ops.sqrt(ops.sum(ops.square(b), axis=-1, keepdims=True) + epsilon)
    cosine = ops.sum(a * b, axis=-1, keepdims=True) / (a_length * b_length)
    return 1.0 - cosine
'''

_Q1_HINT = """
The cosine of the angle between a and b is their dot product divided by the product of their
lengths: ops.sum(a * b, axis=-1, keepdims=True) / (|a| |b|), with |a| =
ops.sqrt(ops.sum(ops.square(a), axis=-1, keepdims=True)). The distance is 1 - cosine (0 for
the same direction, 2 for opposite ones). An all-zero embedding has length 0, and 0/0 is NaN:
add a small epsilon under the square root, as PairDistance does in 'The model, by hand'.
Use keras.ops, not NumPy, so that the function also works on keras.Input tensors and passes
gradients back.
"""


def _cosine_reference(a, b):
    from sklearn.metrics.pairwise import paired_cosine_distances

    return paired_cosine_distances(a, b)[:, None]


def _check_cosine_distance(fn) -> str:
    if not callable(fn):
        raise Incorrect(f"cosine_distance must be a function of (a, b), got "
                        f"{type(fn).__name__}")
    import keras
    import tensorflow as tf
    from keras import ops

    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 4)).astype("float32")
    b = rng.normal(size=(6, 4)).astype("float32")
    d = as_numpy(fn(tf.constant(a), tf.constant(b)), "cosine_distance(a, b)")
    if d.shape == (6,):
        raise Incorrect("for a batch of 6 pairs it returns shape (6,); a distance layer "
                        "returns one number per pair in a column, shape (6, 1) like "
                        "PairDistance: sum with keepdims=True.")
    if d.shape == (6, 6):
        raise Incorrect("for a batch of 6 pairs it returns a (6, 6) matrix, every a against "
                        "every b; the distance compares row i of a with row i of b only: "
                        "multiply elementwise (a * b) and sum over the last axis.")
    if d.shape != (6, 1):
        raise Incorrect(f"for a batch of 6 pairs of 4-D embeddings it returns shape "
                        f"{d.shape}, expected (6, 1): one number per pair.")
    want = _cosine_reference(a, b)
    if np.allclose(d, 1 - want, atol=1e-3):
        raise Incorrect("it returns the cosine *similarity* (1 for the same direction); the "
                        "distance is 1 - cosine, small for 'same'.")
    same_way = as_numpy(fn(tf.constant([[1.0, 0.0]]), tf.constant([[3.0, 0.0]])),
                        "cosine_distance")
    if not np.allclose(same_way, 0.0, atol=1e-3):
        raise Incorrect(f"a = [1, 0] and b = [3, 0] point the same way, so their cosine "
                        f"distance is 0, but it returns {fmt(same_way.ravel())}: divide the "
                        f"dot product by both lengths, so that only the angle counts.")
    if not np.allclose(d, want, atol=1e-3, rtol=1e-3):
        i = int(np.argmax(np.abs(d - want)))
        raise Incorrect(f"for a = {fmt(a[i])} and b = {fmt(b[i])} it returns "
                        f"{d[i, 0]:.4f}, expected 1 - cos = {want[i, 0]:.4f}.")
    try:
        symbolic = fn(keras.Input((4,)), keras.Input((4,)))
    except Exception as err:
        raise Incorrect(f"it fails on symbolic tensors (keras.Input), which a model's layers "
                        f"receive: {type(err).__name__}: {str(err)[:200]}. Write it with "
                        f"keras.ops (ops.sum, ops.sqrt, ...), not NumPy.") from None
    if tuple(symbolic.shape) != (None, 1):
        raise Incorrect(f"on keras.Input((4,)) tensors it returns shape {tuple(symbolic.shape)}, "
                        f"expected (None, 1).")
    variable = tf.Variable(a)
    with tf.GradientTape() as tape:
        total = ops.sum(fn(variable, tf.constant(b)))
    grad = tape.gradient(total, variable)
    if grad is None:
        raise Incorrect("no gradient reaches the embeddings: part of the computation left "
                        "TensorFlow (NumPy, or .numpy()). Use keras.ops throughout, so that "
                        "training can move the encoder.")
    zero = tf.Variable(np.zeros((1, 4), "float32"))
    with tf.GradientTape() as tape:
        at_zero = fn(zero, tf.constant(a[:1]))
        total = ops.sum(at_zero)
    value, grad = as_numpy(at_zero, "cosine_distance"), tape.gradient(total, zero)
    if not np.all(np.isfinite(value)):
        raise Incorrect(f"an all-zero embedding gives {fmt(value.ravel())}: its length is 0 "
                        f"and 0/0 is NaN. An untrained encoder can output zeros (a dead ReLU "
                        f"layer does): add a small epsilon under the square root, as "
                        f"PairDistance does in 'The model, by hand'.")
    if grad is None or not np.all(np.isfinite(ops.convert_to_numpy(grad))):
        raise Incorrect("an all-zero embedding gives a finite distance but a NaN gradient: the "
                        "derivative of the square root of the length is infinite at 0. Put "
                        "the epsilon under the square root ('The model, by hand').")
    return ("cosine_distance gives 1 - cos for each pair, shape (batch, 1), on arrays and on "
            "keras.Input tensors, with a finite value and gradient for an all-zero embedding.")


q1 = Exercise("nb01.q1", "cosine_distance", _check_cosine_distance, _Q1_HINT, _Q1_SOLUTION)


# ---------------------------------------------------------------------------------------------
# q2: pairs without self-pairs

_Q2_SOLUTION = '''
import numpy as np


def sample_pairs(y, n, seed=0):
    """n pairs (left, right, same) of indices into y; even pairs same class, odd different;
    never an image with itself."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    classes = np.unique(y)
    by_class = {c: np.flatnonzero(y == c) for c in classes}
    left = rng.integers(0, len(y), size=n)
    same = (np.arange(n) % 2 == 0).astype("float32")
    right = np.empty(n, dtype=np.int64)
    for i, first in enumerate(left):
        if same[i]:
            members = by_class[y[first]]
            candidates = members[members != first]       # the other images of its class
        else:
            other_class = rng.choice(classes[classes != y[first]])
            candidates = by_class[other_class]
        right[i] = rng.choice(candidates)
    return left, right, same
'''

_Q2_HINT = """
Start from draw_pairs in 'Pairs, drawn by hand', with a generator of your own,
rng = np.random.default_rng(seed), so that the same seed gives the same pairs. For a "same"
pair, choose the partner among the images of the same class *except the first image itself*:
members = np.flatnonzero(y == y[first]); members[members != first]. For a "different" pair,
first choose one of the other classes, then an image of it. Make pair i "same" when i is even.
"""


def _check_sample_pairs(fn) -> str:
    if not callable(fn):
        raise Incorrect(f"sample_pairs must be a function of (y, n, seed), got "
                        f"{type(fn).__name__}")
    y = np.repeat(np.array([3, 5, 7, 9]), 2)       # four classes of two images: self-pairs
    n = 200                                         # are likely for a sampler that allows them
    out = fn(y, n, seed=0)
    if not isinstance(out, tuple) or len(out) != 3:
        raise Incorrect(f"sample_pairs should return three arrays (left, right, same), got "
                        f"{type(out).__name__}" + (f" of length {len(out)}"
                                                   if isinstance(out, tuple) else ""))
    left, right, same = (np.asarray(v) for v in out)
    for name, v in [("left", left), ("right", right), ("same", same)]:
        if v.shape != (n,):
            raise Incorrect(f"for n = {n}, {name} has shape {v.shape}, expected ({n},).")
    for name, v in [("left", left), ("right", right)]:
        if not np.issubdtype(v.dtype, np.integer):
            raise Incorrect(f"{name} holds {v.dtype} values; indices into y are integers.")
        if v.min() < 0 or v.max() >= len(y):
            raise Incorrect(f"{name} holds {v.min()}..{v.max()}, but y has {len(y)} images: "
                            f"indices must lie in 0..{len(y) - 1} (indices, not labels).")
    if not np.isin(same, (0, 1)).all():
        raise Incorrect(f"same must hold 1 (same class) and 0 (different), got values "
                        f"{sorted(set(same.tolist()))[:5]}")
    wrong = np.flatnonzero((same == 1) != (y[left] == y[right]))
    if wrong.size:
        i = wrong[0]
        raise Incorrect(f"pair {i} is labelled {int(same[i])} but shows classes {y[left[i]]} "
                        f"and {y[right[i]]}: the label must say whether the two images "
                        f"have the same class ({wrong.size} of {n} pairs are mislabelled).")
    if same.sum() != n // 2:
        raise Incorrect(f"{int(same.sum())} of {n} pairs are 'same': half of them should be, "
                        f"or the network can score well by always answering one way "
                        f"('Pairs, drawn by hand').")
    if not np.array_equal(same, (np.arange(n) % 2 == 0)):
        raise Incorrect("pair i should be 'same' when i is even and 'different' when it is "
                        "odd, as in draw_pairs.")
    selfish = np.flatnonzero(left == right)
    if selfish.size:
        i = selfish[0]
        raise Incorrect(f"pair {i} is image {left[i]} with itself ({selfish.size} such pairs "
                        f"of {n}): its two embeddings coincide for any weights, so it teaches "
                        f"nothing, and it sits at a = b, where the square root's gradient "
                        f"breaks down without epsilon (notebook 03). Choose the partner among "
                        f"the *other* images of the class.")
    again = [np.asarray(v) for v in fn(y, n, seed=0)]
    if not all(np.array_equal(u, v) for u, v in zip((left, right, same), again)):
        raise Incorrect("two calls with seed=0 give different pairs: draw from "
                        "np.random.default_rng(seed), not from a global generator.")
    other = [np.asarray(v) for v in fn(y, n, seed=1)]
    if all(np.array_equal(u, v) for u, v in zip((left, right, same), other)):
        raise Incorrect("seed=0 and seed=1 give the same pairs: the seed is not used.")
    if len(np.unique(left)) < len(y) or len(np.unique(right)) < len(y):
        raise Incorrect(f"over {n} pairs of {len(y)} images, some image is never drawn: "
                        f"draw the images at random.")
    return (f"sample_pairs gives {n} pairs, half same-class (the even ones), correctly "
            f"labelled, none an image with itself, the same pairs for the same seed.")


q2 = Exercise("nb01.q2", "sample_pairs", _check_sample_pairs, _Q2_HINT, _Q2_SOLUTION)
