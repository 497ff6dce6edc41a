"""Argument checks shared by every module: one policy, one wording.

The policy: a value of the wrong *type* raises ``TypeError``; a value of the right type but
outside what is allowed raises ``ValueError``. Every message names the argument, says what was
expected and shows what was given, e.g. ``n_way must be an int >= 2, got 1``.

Each check returns the value converted to the plain type the caller works with (``int``,
``float``, a NumPy array), so a caller writes ``n = checks.integer(n, "n", minimum=1)``.

Used by every module.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = [
    "binary_labels",
    "boolean",
    "callable_value",
    "class_labels",
    "float_array",
    "index_array",
    "integer",
    "number",
    "name_list",
    "one_of",
    "path",
    "positive_int",
    "probability",
    "same_length",
    "seed",
]


def integer(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as a Python int within ``[minimum, maximum]`` (either bound may be None).

    Args:
        value: the argument to check; ``bool`` is rejected although it is an ``int``.
        name: the argument's name, used in the error message.
        minimum: smallest allowed value, or None for no lower bound.
        maximum: largest allowed value, or None for no upper bound.

    Returns:
        ``int(value)``.

    Raises:
        TypeError: ``value`` is not an integer (Python or NumPy).
        ValueError: ``value`` lies outside the bounds.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an int {_range_text(minimum, maximum)}, got {value}")
    return value


def positive_int(value, name: str) -> int:
    """``value`` as an int >= 1 (see :func:`integer`).

    Args:
        value: the argument to check.
        name: the argument's name, used in the error message.

    Returns:
        ``int(value)``.

    Raises:
        TypeError: not an integer. ValueError: smaller than 1.
    """
    return integer(value, name, minimum=1)


def seed(value, name: str = "seed") -> int:
    """A random seed: an int >= 0.

    Args:
        value: the seed to check.
        name: the argument's name, used in the error message.

    Returns:
        ``int(value)``.

    Raises:
        TypeError: not an integer. ValueError: negative.
    """
    return integer(value, name, minimum=0)


def number(value, name: str, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float within the bounds.

    Args:
        value: the argument to check (int or float, Python or NumPy; not bool).
        name: the argument's name, used in the error message.
        low: lower bound, or None for none.
        high: upper bound, or None for none.
        low_open: when True the lower bound itself is not allowed (``value > low``).
        high_open: when True the upper bound itself is not allowed (``value < high``).

    Returns:
        ``float(value)``.

    Raises:
        TypeError: not a real number.
        ValueError: NaN, infinite, or outside the bounds.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    bad_low = low is not None and (value <= low if low_open else value < low)
    bad_high = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or bad_low or bad_high:
        raise ValueError(f"{name} must be a finite number "
                         f"{_range_text(low, high, low_open, high_open)}, got {value!r}")
    return value


def probability(value, name: str) -> float:
    """A number in [0, 1] (see :func:`number`).

    Args:
        value: the argument to check.
        name: the argument's name, used in the error message.

    Returns:
        ``float(value)``.

    Raises:
        TypeError: not a number. ValueError: outside [0, 1] or not finite.
    """
    return number(value, name, 0.0, 1.0)


def boolean(value, name: str) -> bool:
    """``value`` itself when it is a bool (``True``/``False``; NumPy's ``bool_`` too).

    Args:
        value: the argument to check.
        name: the argument's name, used in the error message.

    Returns:
        ``value`` as a plain ``bool``.

    Raises:
        TypeError: anything else, including ``0``, ``1`` and strings such as ``"yes"``.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def path(value, name: str) -> Path:
    """``value`` as a :class:`pathlib.Path` when it is a path (a ``str`` or ``os.PathLike``).

    Args:
        value: the argument to check.
        name: the argument's name, used in the error message.

    Returns:
        ``Path(value)``. Whether the path exists is the caller's question.

    Raises:
        TypeError: not a ``str`` or ``os.PathLike``.
        ValueError: an empty string.
    """
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or Path), got {type(value).__name__}")
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"{name} must be a path, got an empty string")
    return Path(value)


def callable_value(value, name: str):
    """``value`` itself when it can be called.

    Args:
        value: the argument to check.
        name: the argument's name, used in the error message.

    Returns:
        ``value`` unchanged.

    Raises:
        TypeError: ``value`` is not callable.
    """
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__} {value!r}")
    return value


def name_list(value, name: str, what: str = "name") -> list[str]:
    """``value`` as a list of strings when it is a non-empty list or tuple of strings.

    Args:
        value: the argument to check.
        name: the argument's name, used in the error message.
        what: what each string names, for the message (``"alphabet"``, ``"class"``).

    Returns:
        The strings, as a list.

    Raises:
        TypeError: not a list or tuple (a single string included), or an entry not a string.
        ValueError: empty.
    """
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of {what} names (str), got "
                        f"{type(value).__name__} {value!r}")
    if not value:
        raise ValueError(f"{name} must be a non-empty list of {what} names, got {value!r}")
    wrong = [v for v in value if not isinstance(v, str)]
    if wrong:
        raise TypeError(f"{name} must hold {what} names (str), got {wrong!r}")
    return list(value)


def one_of(value, name: str, choices: Iterable):
    """``value`` itself when it is one of ``choices``.

    Args:
        value: the argument to check.
        name: the argument's name, used in the error message.
        choices: the allowed values.

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: ``value`` is not among ``choices``.
    """
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def float_array(x, name: str, ndim: int | None = None, allow_empty: bool = False) -> np.ndarray:
    """``x`` as a finite float64 NumPy array of ``ndim`` dimensions.

    Args:
        x: array-like of numbers.
        name: the argument's name, used in the error message.
        ndim: required number of dimensions, or None for any.
        allow_empty: when False an array with no elements is rejected.

    Returns:
        The array as ``float64``.

    Raises:
        TypeError: ``x`` does not convert to numbers.
        ValueError: wrong number of dimensions, empty, or NaN/inf inside.
    """
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from err
    _check_shape(arr, name, ndim, allow_empty)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    return arr


def index_array(x, name: str, ndim: int | None = None, size: int | None = None,
                allow_empty: bool = False) -> np.ndarray:
    """``x`` as an int64 NumPy array of indices, each in ``[0, size)`` when ``size`` is given.

    Args:
        x: array-like of integers.
        name: the argument's name, used in the error message.
        ndim: required number of dimensions, or None for any.
        size: the length of what the indices point into, or None not to check the range.
        allow_empty: when False an array with no elements is rejected.

    Returns:
        The array as ``int64``.

    Raises:
        TypeError: ``x`` does not hold integers.
        ValueError: wrong dimensions, empty, or an index out of range.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and allow_empty):
        raise TypeError(f"{name} must hold integer indices, got dtype {arr.dtype}")
    _check_shape(arr, name, ndim, allow_empty)
    arr = arr.astype(np.int64)
    if size is not None and arr.size and (arr.min() < 0 or arr.max() >= size):
        raise ValueError(f"{name} must lie in [0, {size}), got {arr.min()}..{arr.max()}")
    return arr


def class_labels(y, name: str = "y", ndim: int = 1) -> np.ndarray:
    """Integer class labels as an int64 array (any integer values; at least one label).

    Args:
        y: array-like of integer class ids.
        name: the argument's name, used in the error message.
        ndim: required number of dimensions.

    Returns:
        The labels as ``int64``.

    Raises:
        TypeError: not integers. ValueError: wrong dimensions or empty.
    """
    arr = np.asarray(y)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    _check_shape(arr, name, ndim, allow_empty=False)
    return arr.astype(np.int64)


def binary_labels(x, name: str, meaning: str = "0 and 1") -> np.ndarray:
    """A 1-D array of labels that are all 0 or 1 (bool, int or float), as int64.

    Args:
        x: array-like of labels.
        name: the argument's name, used in the error message.
        meaning: what 0 and 1 stand for, for the message, e.g. ``"0 (different) and 1 (same)"``.

    Returns:
        The labels as ``int64``.

    Raises:
        TypeError: not numeric or boolean.
        ValueError: not 1-D, empty, or a value other than 0 and 1.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numeric or boolean array, got dtype {arr.dtype}")
    _check_shape(arr, name, 1, allow_empty=False)
    if not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must contain only {meaning}")
    return arr.astype(np.int64)


def same_length(a, a_name: str, b, b_name: str) -> None:
    """Raise unless ``a`` and ``b`` have the same length.

    Args:
        a: a sized object (array, list).
        a_name: its name, for the message.
        b: another sized object.
        b_name: its name, for the message.

    Raises:
        ValueError: the lengths differ.
    """
    if len(a) != len(b):
        raise ValueError(f"{a_name} has {len(a)} entries but {b_name} has {len(b)}")


def _check_shape(arr: np.ndarray, name: str, ndim: int | None, allow_empty: bool) -> None:
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")


def _range_text(low, high, low_open: bool = False, high_open: bool = False) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    return " and ".join(parts) if parts else "(any value)"
