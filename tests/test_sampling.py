"""The sampling engine's class table: one sort, one set of checks, one small-group policy."""

import numpy as np
import pytest

from course_lib import sampling
from course_lib.sampling import ClassTable


def test_table_sorts_stably_and_keeps_the_classes_asked_for():
    y = np.array([2, 0, 2, 1, 0, 2])
    table = ClassTable.build(y)
    np.testing.assert_array_equal(table.order, [1, 4, 3, 0, 2, 5])
    np.testing.assert_array_equal(table.classes, [0, 1, 2])
    np.testing.assert_array_equal(table.starts, [0, 2, 3])
    np.testing.assert_array_equal(table.counts, [2, 1, 3])
    kept = ClassTable.build(y, classes=[2, 0])
    np.testing.assert_array_equal(kept.order, [1, 4, 0, 2, 5])
    assert kept.class_group is None and kept.num_classes == 2


def test_groups_are_checked_once_and_given_per_class():
    y = np.array([0, 0, 1, 1, 2, 2])
    table = ClassTable.build(y, groups=[5, 5, 5, 5, 7, 7])
    np.testing.assert_array_equal(table.class_group, [5, 5, 7])
    with pytest.raises(ValueError, match=r"classes \[1\] have examples in more than one group"):
        ClassTable.build(y, groups=[5, 5, 5, 7, 7, 7])
    with pytest.raises(ValueError, match="groups has 2 entries but y has 6"):
        ClassTable.build(y, groups=[5, 5])
    with pytest.raises(TypeError, match="groups"):
        ClassTable.build(y, groups=np.linspace(0, 1, 6))


def test_too_few_examples_or_classes_is_an_error_naming_them():
    table = ClassTable.build([0, 0, 1, 2, 2])
    with pytest.raises(ValueError, match=r"^a pair needs two, but 1 class has a single example "
                                         r"\(e.g. classes \[1\] with \[1\] examples\)$"):
        table.require_examples(2, "a pair needs two")
    with pytest.raises(ValueError, match=r"^k=3 examples per class, but 3 classes have fewer than "
                                         r"3 \(e.g. classes \[0, 1, 2\] with \[2, 1, 2\] "
                                         r"examples\): lower k$"):
        table.require_examples(3, "k=3 examples per class", "lower k")
    table.require_examples(1, "anything")
    with pytest.raises(ValueError, match="p=4 classes per batch, but y holds only 3 classes"):
        table.require_classes(4, "p=4 classes per batch")
    with pytest.raises(ValueError, match=r"classes \[9\] are not present in y"):
        ClassTable.build([0, 1], classes=[9])


def test_small_groups_are_skipped_with_one_warning_and_none_left_is_an_error():
    y = np.arange(7)                              # 7 classes of one example each
    table = ClassTable.build(y, groups=[0, 0, 0, 1, 1, 2, 2])
    with pytest.warns(UserWarning, match=r"groups \[1, 2\] have fewer than n_way=3 classes"):
        eligible = table.eligible_groups(3, "n_way=3")
    np.testing.assert_array_equal(eligible, [0])
    with pytest.raises(ValueError, match="largest group holds only 3 classes"):
        table.eligible_groups(4, "n_way=4")
    with pytest.raises(ValueError, match="without groups"):
        ClassTable.build(y).eligible_groups(2, "p=2")


def test_every_sampler_applies_the_same_small_group_policy():
    from course_lib import oneshot, pairs, pk_sampling

    y = np.repeat(np.arange(7), 2)
    groups = np.repeat([0, 0, 0, 1, 1, 2, 2], 2)
    x = np.random.default_rng(0).random((14, 4, 4)).astype(np.float32)
    with pytest.warns(UserWarning, match=r"groups \[1, 2\] have fewer than n_way=3 classes"):
        oneshot.one_shot_tasks(y, 3, 5, groups=groups)
    with pytest.warns(UserWarning, match=r"groups \[1, 2\] have fewer than n_way=3 classes"):
        pairs.episode_dataset(x, y, groups, n_way=3, episodes=1, steps=1)
    with pytest.warns(UserWarning, match=r"groups \[1, 2\] have fewer than p=3 classes"):
        pk_sampling.PKSampler(y, 3, 2, groups=groups)


def test_one_shot_tasks_refuse_a_class_in_two_groups():
    from course_lib import oneshot

    y = np.repeat(np.arange(4), 2)
    with pytest.raises(ValueError, match=r"classes \[1\] have examples in more than one group"):
        oneshot.one_shot_tasks(y, 2, 3, groups=[0, 0, 0, 1, 1, 1, 1, 1])


def test_check_examples_refuses_non_finite_images():
    with pytest.raises(ValueError, match="non-finite"):
        sampling.check_examples(np.full((2, 3), np.nan), [0, 1])
