"""Prototypes for k-shot scoring: the mean of k support rows per class, against NumPy, and the
nearest-prototype answer."""

import numpy as np
import pytest

from course_lib import oneshot

RNG = np.random.default_rng(1)
Y = np.repeat([3, 7, 9], 5)
EMB = RNG.normal(size=(15, 4)) + 5 * np.repeat(np.eye(4)[:3], 5, axis=0)


def test_all_rows_prototypes_are_class_means():
    classes, protos = oneshot.class_prototypes(EMB, Y)
    assert classes.tolist() == [3, 7, 9]
    for c, p in zip(classes, protos):
        np.testing.assert_allclose(p, EMB[Y == c].mean(axis=0))


def test_k_shot_prototype_is_the_mean_of_k_distinct_rows_of_its_class():
    classes, protos = oneshot.class_prototypes(EMB, Y, k_shot=2, seed=4)
    for c, p in zip(classes, protos):
        rows = EMB[Y == c]
        # exactly one pair of distinct rows averages to the prototype
        means = [(rows[i] + rows[j]) / 2 for i in range(5) for j in range(i + 1, 5)]
        assert sum(np.allclose(p, m) for m in means) == 1
    again = oneshot.class_prototypes(EMB, Y, k_shot=2, seed=4)[1]
    np.testing.assert_array_equal(protos, again)
    assert not np.allclose(protos, oneshot.class_prototypes(EMB, Y, k_shot=2, seed=5)[1])


def test_one_shot_prototype_is_a_support_row():
    _, protos = oneshot.class_prototypes(EMB, Y, k_shot=1)
    assert all(any(np.array_equal(p, r) for r in EMB) for p in protos)


def test_nearest_prototype_answers_well_separated_classes():
    classes, protos = oneshot.class_prototypes(EMB, Y, k_shot=3)
    np.testing.assert_array_equal(oneshot.nearest_prototype(EMB, classes, protos), Y)
    # a query exactly at one prototype is answered with its class
    assert oneshot.nearest_prototype(protos[1:2], classes, protos).tolist() == [7]


def test_k_larger_than_a_class_names_the_class():
    with pytest.raises(ValueError, match="k_shot=6 is larger than class 3"):
        oneshot.class_prototypes(EMB, Y, k_shot=6)


@pytest.mark.parametrize("call,error", [
    (lambda: oneshot.class_prototypes(EMB, Y, k_shot=0), ValueError),
    (lambda: oneshot.class_prototypes(EMB, Y, k_shot=1.5), TypeError),
    (lambda: oneshot.class_prototypes(EMB, Y[:-1]), ValueError),
    (lambda: oneshot.class_prototypes(EMB[0], Y), ValueError),
    (lambda: oneshot.class_prototypes(EMB, Y.astype(float) + 0.5), TypeError),
    (lambda: oneshot.nearest_prototype(EMB, [3, 7], np.zeros((3, 4))), ValueError),
    (lambda: oneshot.nearest_prototype(EMB, [3, 7, 9], np.zeros((3, 5))), ValueError),
])
def test_bad_input_raises(call, error):
    with pytest.raises(error):
        call()
