"""The shared argument checks: TypeError for a wrong type, ValueError for a wrong value."""

import numpy as np
import pytest

from course_lib import checks


@pytest.mark.parametrize("value", [1.5, "3", None, True, np.float32(2)])
def test_integer_rejects_non_integers_with_type_error(value):
    with pytest.raises(TypeError, match="n must be an int"):
        checks.integer(value, "n")


def test_integer_bounds_and_conversion():
    assert checks.integer(np.int64(3), "n", minimum=1, maximum=3) == 3
    assert type(checks.integer(np.int32(2), "n")) is int
    with pytest.raises(ValueError, match=r"n must be an int >= 1, got 0"):
        checks.integer(0, "n", minimum=1)
    with pytest.raises(ValueError, match=r"<= 3"):
        checks.integer(4, "n", maximum=3)
    with pytest.raises(ValueError, match="seed"):
        checks.seed(-1)
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        checks.positive_int(0, "k")


def test_number_bounds_open_and_closed():
    assert checks.number(0, "x", 0, 1) == 0.0
    with pytest.raises(ValueError, match=r"x must be a finite number > 0"):
        checks.number(0, "x", 0, None, low_open=True)
    with pytest.raises(ValueError, match="finite"):
        checks.number(float("nan"), "x")
    with pytest.raises(TypeError, match="x must be a number"):
        checks.number("1", "x")
    with pytest.raises(TypeError):
        checks.number(False, "x")
    assert checks.probability(0.25, "p") == 0.25
    with pytest.raises(ValueError, match=r"p must be a finite number >= 0.0 and <= 1.0"):
        checks.probability(1.5, "p")


def test_one_of():
    assert checks.one_of("a", "mode", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"mode must be one of \('a', 'b'\), got 'c'"):
        checks.one_of("c", "mode", ("a", "b"))


def test_arrays():
    assert checks.float_array([[1, 2]], "e", ndim=2).dtype == np.float64
    with pytest.raises(ValueError, match="e must be 1-D"):
        checks.float_array([[1]], "e", ndim=1)
    with pytest.raises(ValueError, match="non-finite"):
        checks.float_array([1, np.inf], "e")
    with pytest.raises(TypeError, match="numeric array"):
        checks.float_array(["a"], "e")
    with pytest.raises(ValueError, match="must not be empty"):
        checks.float_array([], "e")
    assert checks.index_array([0, 2], "q", ndim=1, size=3).tolist() == [0, 2]
    with pytest.raises(ValueError, match=r"q must lie in \[0, 3\)"):
        checks.index_array([3], "q", size=3)
    with pytest.raises(TypeError, match="integer indices"):
        checks.index_array([0.5], "q")
    with pytest.raises(TypeError, match="integer class labels"):
        checks.class_labels([0.0, 1.0])
    assert checks.binary_labels([True, False], "lab").tolist() == [1, 0]
    with pytest.raises(ValueError, match="lab must contain only 0 and 1"):
        checks.binary_labels([0, 2], "lab")
    with pytest.raises(ValueError, match="a has 1 entries but b has 2"):
        checks.same_length([1], "a", [1, 2], "b")


@pytest.mark.parametrize("value", [0, 1, "yes", None, 1.0])
def test_boolean_accepts_only_bools(value):
    with pytest.raises(TypeError, match="flag must be a bool"):
        checks.boolean(value, "flag")


def test_boolean_path_callable_and_name_list_return_plain_values(tmp_path):
    assert checks.boolean(np.bool_(True), "flag") is True
    assert checks.path(str(tmp_path), "directory") == tmp_path
    with pytest.raises(TypeError, match=r"directory must be a path \(str or Path\), got int"):
        checks.path(3, "directory")
    with pytest.raises(ValueError, match="directory must be a path, got an empty string"):
        checks.path("  ", "directory")
    assert checks.callable_value(len, "fn") is len
    with pytest.raises(TypeError, match="fn must be callable, got int 3"):
        checks.callable_value(3, "fn")
    assert checks.name_list(("a", "b"), "held_out") == ["a", "b"]
    with pytest.raises(TypeError, match="held_out must hold alphabet names"):
        checks.name_list(["a", 2], "held_out", "alphabet")
