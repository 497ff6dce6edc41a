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


def fmt(x) -> str:
    """A short rendering of a small array for a message."""
    return np.array2string(np.asarray(x, dtype=np.float64), precision=4, suppress_small=True,
                           separator=", ")
