"""Small helpers the checkers share: run the learner's code on tiny inputs, read the result."""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Incorrect


def as_numpy(value, what: str) -> np.ndarray:
    """``value`` (a tensor or array) as a float NumPy array, or :class:`Incorrect` saying why not."""
    if value is None:
        raise Incorrect(f"{what} returned None: did you forget the `return`?")
    from keras import ops

    try:
        return np.asarray(ops.convert_to_numpy(value), dtype=np.float64)
    except Exception as err:
        raise Incorrect(f"{what} returned a {type(value).__name__}, not a tensor or array "
                        f"({type(err).__name__}: {err})") from None


def one_number(got, name: str) -> float:
    """``got`` as a float, or :class:`Incorrect` saying why it is not one number (``name``
    names the learner's function in the message)."""
    if got is None:
        raise Incorrect(f"{name} returned None: did you forget the `return`?")
    try:
        value = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Incorrect(f"{name} returned a {type(got).__name__}, expected one number") from None
    if value.shape != ():
        raise Incorrect(f"{name} returns an array of shape {value.shape}, expected one number.")
    return float(value)


def fmt(x) -> str:
    """A short rendering of a small array for a message."""
    return np.array2string(np.asarray(x, dtype=np.float64), precision=4, suppress_small=True,
                           separator=", ")


def gradient_at_coinciding(fn, a: np.ndarray, what: str, nan_message: str) -> np.ndarray:
    """The gradient of ``sum(fn(a_var, a))`` with respect to ``a_var`` (a variable holding
    ``a``): both sides coincide. :class:`Incorrect` when no gradient flows (``what`` names the
    code) or when it is not finite (``nan_message`` says why that is wrong)."""
    import tensorflow as tf
    from keras import ops

    same = tf.Variable(a)
    with tf.GradientTape() as tape:
        total = ops.sum(fn(same, tf.constant(a)))
    grad = tape.gradient(total, same)
    if grad is None:
        raise Incorrect(f"no gradient reaches the embeddings through {what}: use keras.ops "
                        f"throughout, not NumPy.")
    grad = ops.convert_to_numpy(grad)
    if not np.all(np.isfinite(grad)):
        raise Incorrect(nan_message)
    return grad


def clustered_points(seed: int, centres, repeats: int, tiles: int, scale: float):
    """Tiny 2-D classes around ``centres``: a first set with the classes in blocks
    (``np.repeat``, ``repeats`` per class) and a second with them interleaved (``np.tile``,
    ``tiles`` rounds), each point its centre plus Gaussian noise of std ``scale``, drawn from
    ``np.random.default_rng(seed)`` (first set first).

    Returns:
        ``(first, first_y, second, second_y)``.
    """
    rng = np.random.default_rng(seed)
    centres = np.asarray(centres, dtype=np.float64)
    first_y = np.repeat(np.arange(len(centres)), repeats)
    second_y = np.tile(np.arange(len(centres)), tiles)
    first = centres[first_y] + rng.normal(scale=scale, size=(len(first_y), centres.shape[1]))
    second = centres[second_y] + rng.normal(scale=scale, size=(len(second_y), centres.shape[1]))
    return first, first_y, second, second_y
