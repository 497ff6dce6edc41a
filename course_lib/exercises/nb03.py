"""Exercises of notebook 03 (the contrastive loss and the NaN in its gradient).

- ``q1``: ``pair_loss(a, b, labels, margin, epsilon)``: the contrastive loss from two batches of
  embeddings, with the epsilon under the square root, in ``keras.ops``.
- ``q2``: ``dissimilar_gradient(distance_fn, point)``: the gradient of a dissimilar pair's loss
  where its two embeddings coincide, with ``tf.GradientTape``.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Exercise, Incorrect
from course_lib.exercises._probe import as_numpy, fmt, gradient_at_coinciding

__all__ = ["q1", "q2"]


# ---------------------------------------------------------------------------------------------
# q1: the contrastive loss, safe at d = 0

_Q1_SOLUTION = '''
from keras import ops


def pair_loss(a, b, labels, margin=1.0, epsilon=1e-6):
    """Contrastive loss of each pair (label 1 = same), from embeddings a and b (batch, D)."""
    d = ops.sqrt(ops.sum(ops.square(a - b), axis=-1) + epsilon)   # epsilon under the root
    labels = ops.cast(labels, d.dtype)
    pull = labels * ops.square(d)                                 # similar: d^2
    push = (1.0 - labels) * ops.square(ops.relu(margin - d))      # dissimilar: max(m - d, 0)^2
    return 0.5 * (pull + push)
'''

_Q1_HINT = """
Three steps, all in keras.ops. The distance of each pair:
d = ops.sqrt(ops.sum(ops.square(a - b), axis=-1) + epsilon), with epsilon inside the square
root (section 7: outside it, the gradient at a == b is still NaN). Then the two terms of
section 1: a similar pair (label 1) pays d^2, a dissimilar one max(margin - d, 0)^2, which is
ops.square(ops.relu(margin - d)). Add them, weighted by labels and 1 - labels, and halve.
Return one loss per pair, shape (batch,).
"""


def _reference_q1(a, b, labels, margin, epsilon):
    d = np.sqrt(((a - b) ** 2).sum(-1) + epsilon)
    return 0.5 * (labels * d ** 2 + (1 - labels) * np.maximum(margin - d, 0) ** 2)


def _q1_inputs():
    rng = np.random.default_rng(3)
    a = rng.normal(scale=0.6, size=(6, 3)).astype("float32")
    b = rng.normal(scale=0.6, size=(6, 3)).astype("float32")
    b[1] = a[1]                                  # a dissimilar pair at d = 0
    b[4] = a[4] + 3.0                            # a dissimilar pair far beyond the margin
    labels = np.array([1, 0, 1, 0, 0, 1], dtype="float32")
    return a, b, labels


def _check_pair_loss(fn) -> str:

    if not callable(fn):
        raise Incorrect(f"pair_loss must be a function, got {type(fn).__name__}")
    a, b, labels = _q1_inputs()
    margin, epsilon = 1.5, 0.01
    got = as_numpy(fn(a, b, labels, margin=margin, epsilon=epsilon), "pair_loss(a, b, labels)")
    if got.shape == (6, 1):
        got = got[:, 0]
    if got.shape != (6,):
        raise Incorrect(f"for a batch of 6 pairs it returns shape {got.shape}, expected (6,): "
                        f"one loss per pair (sum the squares over the last axis only, and do "
                        f"not average over the batch).")
    want = _reference_q1(a, b, labels, margin, epsilon)
    variants = {
        "twice": 2 * want,
        "swapped": _reference_q1(a, b, 1 - labels, margin, epsilon),
        "no max": want + 0.5 * (1 - labels) * np.where(
            np.sqrt(((a - b) ** 2).sum(-1) + epsilon) > margin,
            (margin - np.sqrt(((a - b) ** 2).sum(-1) + epsilon)) ** 2, 0.0),
        "eps ignored": _reference_q1(a, b, labels, margin, 0.0),
        "eps outside": 0.5 * (labels * (np.sqrt(((a - b) ** 2).sum(-1)) + epsilon) ** 2
                              + (1 - labels) * np.maximum(
                                  margin - np.sqrt(((a - b) ** 2).sum(-1)) - epsilon, 0) ** 2),
    }
    close = {name: np.allclose(got, v, rtol=1e-4, atol=1e-5) for name, v in variants.items()}
    if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        if close["twice"]:
            raise Incorrect("every loss is twice the expected one: each term is halved, "
                            "0.5 * d^2 and 0.5 * max(m - d, 0)^2 (section 1).")
        if close["swapped"]:
            raise Incorrect("it reads label 1 as *dissimilar*: in this course 1 means same, so "
                            "label 1 pays d^2 (section 4, two label conventions).")
        if close["no max"]:
            raise Incorrect(f"the pair {fmt(a[4])} / {fmt(b[4])}, dissimilar and far beyond the "
                            f"margin, still pays (m - d)^2: use max(margin - d, 0)^2, "
                            f"ops.relu(margin - d) squared, so that the push goes slack at m "
                            f"(section 1).")
        if close["eps ignored"]:
            raise Incorrect("with epsilon=0.01 it returns the loss of epsilon=0: epsilon is "
                            "ignored; put it under the square root, sqrt(sum((a - b)^2) + "
                            "epsilon) (section 7).")
        if close["eps outside"]:
            raise Incorrect("it computes sqrt(sum((a - b)^2)) + epsilon: epsilon goes *under* "
                            "the square root, where it keeps the gradient finite (section 7).")
        bad = int(np.argmax(np.abs(got - want)))
        kind = "similar" if labels[bad] == 1 else "dissimilar"
        raise Incorrect(f"with margin=1.5 and epsilon=0.01, the {kind} pair a = {fmt(a[bad])}, "
                        f"b = {fmt(b[bad])} gets loss {got[bad]:.5f}, expected {want[bad]:.5f} "
                        f"(similar: 0.5 * d^2; dissimilar: 0.5 * max(m - d, 0)^2).")
    dissimilar = np.zeros(2, dtype="float32")
    grad = gradient_at_coinciding(lambda u, v: fn(u, v, dissimilar), a[:2], "pair_loss",
                                  "with the default epsilon, a dissimilar pair with a == b gives "
                                  "a NaN gradient: the default epsilon must be > 0, under the "
                                  "square root (section 6).")
    if not np.array_equal(grad, np.zeros_like(grad)):
        raise Incorrect(f"for a dissimilar pair with a == b its gradient is {fmt(grad.ravel())}, "
                        f"expected exactly zero: with epsilon under the square root the "
                        f"direction (a - b) / d is 0 / sqrt(epsilon) (section 7).")
    from course_lib import layers, losses

    lib = losses.contrastive_loss(labels, layers.EuclideanDistance(epsilon=1e-6)([a, b]))
    mine = as_numpy(fn(a, b, labels), "pair_loss(a, b, labels)").reshape(-1)
    if not np.allclose(mine, as_numpy(lib, "the library"), rtol=1e-4, atol=1e-6):
        raise Incorrect("with its defaults it differs from course_lib's ContrastiveLoss on "
                        "EuclideanDistance(): the defaults should be margin=1.0 and "
                        "epsilon=1e-6.")
    return ("pair_loss matches 0.5 * (y d^2 + (1 - y) max(m - d, 0)^2) with "
            "d = sqrt(sum((a - b)^2) + epsilon) on 6 pairs, agrees with the library's "
            "ContrastiveLoss at its defaults, and its gradient for a dissimilar pair with "
            "a == b is exactly zero.")


q1 = Exercise("nb03.q1", "pair_loss", _check_pair_loss, _Q1_HINT, _Q1_SOLUTION)


# ---------------------------------------------------------------------------------------------
# q2: the gradient where two embeddings coincide

_Q2_SOLUTION = '''
import numpy as np
import tensorflow as tf

from course_lib import losses


def dissimilar_gradient(distance_fn, point, margin=1.0):
    """dL/da of a dissimilar pair's contrastive loss at a = b = point, shape (D,)."""
    a = tf.Variable([point], dtype="float32")               # a batch of one pair, (1, D)
    b = tf.constant([point], dtype="float32")               # the same point
    with tf.GradientTape() as tape:
        d = distance_fn(a, b)
        loss = losses.contrastive_loss(tf.zeros(1), d, margin=margin)   # label 0: dissimilar
    return tape.gradient(loss, a).numpy().ravel()
'''

_Q2_HINT = """
Make a a tf.Variable holding a batch of one embedding, [point], and b a tf.constant of the same
point. Inside `with tf.GradientTape() as tape:` compute d = distance_fn(a, b) and the loss of a
*dissimilar* pair (label 0 in this course), for instance
losses.contrastive_loss(tf.zeros(1), d, margin=margin). Outside the block,
tape.gradient(loss, a) is the gradient; return it as a NumPy array of shape (D,) with
.numpy().ravel(). Section 6 does the same on a hand-made pair.
"""


def _check_dissimilar_gradient(fn) -> str:
    from keras import ops

    from course_lib import layers

    if not callable(fn):
        raise Incorrect(f"dissimilar_gradient must be a function, got {type(fn).__name__}")
    point = [0.3, -0.2, 0.5]
    naive = layers.EuclideanDistance(epsilon=0.0)
    fixed = layers.EuclideanDistance(epsilon=1e-6)
    tilt = np.array([0.5, -1.0, 2.0], dtype="float32")

    def tilted(a, b):                # a distance whose gradient at a == b is known: tilt
        return fixed([a, b]) + ops.sum(a * tilt, axis=-1, keepdims=True) - float(
            np.dot(point, tilt))

    got = as_numpy(fn(tilted, point, margin=1.0), "dissimilar_gradient(distance_fn, point)")
    if got.size == 1:
        raise Incorrect(f"it returns one number ({float(got.ravel()[0]):.4f}), not a gradient: "
                        f"return tape.gradient(loss, a), one entry per coordinate of a.")
    got = got.reshape(-1)
    if got.shape != (3,):
        raise Incorrect(f"for a 3-D point it returns shape {got.shape}, expected (3,): the "
                        f"gradient with respect to a, flattened (.numpy().ravel()).")
    d0 = np.sqrt(1e-6)
    want = -(1.0 - d0) * tilt                     # dissimilar: dL/dd = -(m - d)
    if np.allclose(got, d0 * tilt, rtol=1e-3, atol=1e-6):
        raise Incorrect("it returns the gradient of a *similar* pair's loss: the pair must be "
                        "dissimilar, label 0 in this course (the pull term has zero gradient "
                        "at d = 0; section 6).")
    if np.allclose(got, 0.0, atol=1e-7):
        raise Incorrect("it returns zeros on a distance whose gradient in a is not zero: take "
                        "the gradient with respect to a (the first argument of distance_fn), "
                        "not b.")
    if np.allclose(got, -want, rtol=1e-3, atol=1e-6):
        raise Incorrect("its sign is flipped: return tape.gradient(loss, a) itself, not the "
                        "descent direction -gradient.")
    if not np.allclose(got, want, rtol=1e-3, atol=1e-6):
        raise Incorrect(f"on a test distance whose gradient at a == b is {fmt(tilt)}, with "
                        f"margin 1 it returns {fmt(got)}, expected -(m - d) times that: "
                        f"{fmt(want)}.")
    at_naive = as_numpy(fn(lambda a, b: naive([a, b]), point), "dissimilar_gradient")
    at_fixed = as_numpy(fn(lambda a, b: fixed([a, b]), point), "dissimilar_gradient")
    if not np.isnan(at_naive).all():
        raise Incorrect(f"for EuclideanDistance(epsilon=0) it returns {fmt(at_naive)}, not NaN: "
                        f"compute the loss of a dissimilar pair from distance_fn(a, b) with "
                        f"a == b exactly (section 6).")
    if not np.array_equal(at_fixed.ravel(), np.zeros(3)):
        raise Incorrect(f"for EuclideanDistance(epsilon=1e-6) it returns {fmt(at_fixed)}, "
                        f"expected exactly zeros.")
    return ("dissimilar_gradient gives dL/da = -(m - d) * (the distance's gradient) on a test "
            "distance, NaN for the naive distance and exactly 0 with epsilon = 1e-6.")


q2 = Exercise("nb03.q2", "dissimilar_gradient", _check_dissimilar_gradient, _Q2_HINT,
              _Q2_SOLUTION)
