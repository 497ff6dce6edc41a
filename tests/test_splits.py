"""Class-disjoint splits: disjoint, complete, seeded, sized as asked; groups kept whole."""

import numpy as np
import pytest

from course_lib import splits


@pytest.fixture
def y():
    return np.random.default_rng(0).integers(0, 40, 2000)


def test_parts_are_class_disjoint_and_cover_everything(y):
    train, val, test = splits.class_disjoint_split(y, (0.6, 0.2, 0.2), seed=3)
    assert np.all(train.astype(int) + val + test == 1)
    parts = [set(y[m]) for m in (train, val, test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert [len(p) for p in parts] == [24, 8, 8]


def test_seeded(y):
    a = splits.class_disjoint_split(y, (0.5, 0.5), seed=1)
    b = splits.class_disjoint_split(y, (0.5, 0.5), seed=1)
    c = splits.class_disjoint_split(y, (0.5, 0.5), seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_small_parts_get_at_least_one_class():
    y = np.repeat(np.arange(4), 3)
    train, val, test = splits.class_disjoint_split(y, (0.9, 0.05, 0.05))
    assert [len(set(y[m])) for m in (train, val, test)] == [2, 1, 1]
    train, val, test = splits.class_disjoint_split(y, (0.0, 0.5, 0.5))
    assert not train.any() and len(set(y[val])) == 2


def test_groups_stay_whole(y):
    groups = y // 5                                     # 8 groups of 5 classes
    parts = splits.class_disjoint_split(y, (0.5, 0.25, 0.25), seed=0, groups=groups)
    group_sets = [set(groups[m]) for m in parts]
    assert [len(g) for g in group_sets] == [4, 2, 2]
    assert not (group_sets[0] & group_sets[1] or group_sets[1] & group_sets[2])


def test_held_out_split_holds_out_whole_named_groups():
    groups = np.array([0, 0, 1, 1, 2])
    train, held = splits.held_out_split(groups, ["a", "b", "c"], ["b"])
    np.testing.assert_array_equal(held, [False, False, True, True, False])
    np.testing.assert_array_equal(train, ~held)
    _, two = splits.held_out_split(groups, ["a", "b", "c"], ["c", "a"], what="alphabet")
    np.testing.assert_array_equal(two, [True, True, False, False, True])
    with pytest.raises(ValueError, match="not among the alphabets"):
        splits.held_out_split(groups, ["a", "b", "c"], ["z"], what="alphabet")
    with pytest.raises(ValueError, match="nothing is left"):
        splits.held_out_split(groups, ["a", "b", "c"], ["a", "b", "c"])
    with pytest.raises(TypeError, match="held_out"):
        splits.held_out_split(groups, ["a", "b", "c"], "a")


def test_bad_input(y):
    with pytest.raises(ValueError, match="summing to 1"):
        splits.class_disjoint_split(y, (0.5, 0.4))
    with pytest.raises(ValueError, match="summing to 1"):
        splits.class_disjoint_split(y, (1.0,))
    with pytest.raises(ValueError, match=r"fractions\[0\] must be a finite number >= 0.0 and <= 1.0, got 1.2"):
        splits.class_disjoint_split(y, (1.2, -0.2))
    with pytest.raises(TypeError, match="fractions must be a sequence"):
        splits.class_disjoint_split(y, 0.5)
    with pytest.raises(ValueError, match="3 non-empty parts need at least 3 classes, got 2"):
        splits.class_disjoint_split([0, 0, 1, 1], (0.4, 0.3, 0.3))
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        splits.class_disjoint_split(np.array(["a", "b"]), (0.5, 0.5))
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        splits.class_disjoint_split(y, seed=-3)
    with pytest.raises(ValueError, match="groups has 3 entries but y has 2000"):
        splits.class_disjoint_split(y, groups=[0, 1, 2])
    with pytest.raises(ValueError, match=r"classes \[1\] have examples in more than one group"):
        splits.class_disjoint_split([0, 0, 1, 1], (0.5, 0.5), groups=[0, 0, 0, 1])
    with pytest.raises(ValueError, match="nothing is left"):
        splits.held_out_split([0, 1], ["a", "b"], ["a", "b"])
    with pytest.raises(TypeError, match="held_out must be a list of group names"):
        splits.held_out_split([0, 1], ["a", "b"], "a")
    with pytest.raises(TypeError, match="held_out must be a list of group names .*int 3"):
        splits.held_out_split([0, 1], ["a", "b"], 3)
    with pytest.raises(ValueError, match="non-empty list of group names"):
        splits.held_out_split([0, 1], ["a", "b"], [])
