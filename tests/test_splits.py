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


def test_open_set_split_enrolls_known_classes_and_keeps_a_query_each():
    y = np.concatenate([np.full(n, c) for c, n in enumerate([2, 3, 5, 8, 2, 6, 4, 9])])
    gal, known_q = splits.open_set_split(y, enroll=3, known=0.5, seed=1)
    unknown_q = ~gal & ~known_q
    assert not (gal & known_q).any()
    known = np.unique(y[gal])
    assert len(known) == 4 and set(np.unique(y[known_q])) == set(known)
    assert not np.isin(y[unknown_q], known).any() and len(np.unique(y[unknown_q])) == 4
    for c in known:                         # min(enroll, size - 1) each: a query is left
        size = int((y == c).sum())
        assert int((gal & (y == c)).sum()) == min(3, size - 1)
    again = splits.open_set_split(y, enroll=3, known=0.5, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip((gal, known_q), again))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"y": np.array([0, 0, 1])}, ValueError, "single example"),
    ({"y": np.array([0, 0, 0])}, ValueError, "at least 2 classes"),
    ({"y": np.array([0, 0, 1, 1]), "known": 1.0}, ValueError, "known"),
    ({"y": np.array([0, 0, 1, 1]), "enroll": 0}, ValueError, "enroll"),
    ({"y": np.array([0, 0, 1, 1]), "enroll": 1.5}, TypeError, "enroll"),
    ({"y": np.array([0.5, 1.0])}, TypeError, "y"),
])
def test_open_set_split_refuses_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        splits.open_set_split(**kwargs)
