"""P x K class-balanced batches: layout, no repeats, seeding, group constraint, bad input."""

import numpy as np
import pytest

from course_lib import pk_sampling


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(12), rng.integers(4, 30, 12))       # unequal class sizes, >= 4
    y = rng.permutation(y)
    x = (y[:, None] * 100 + np.arange(len(y))[:, None] % 100).astype(np.float32)
    x = np.concatenate([x, np.arange(len(y), dtype=np.float32)[:, None]], axis=1)  # row id
    return x, y


def test_batches_hold_p_classes_of_k_distinct_examples(toy):
    x, y = toy
    for xb, yb in pk_sampling.pk_dataset(x, y, p=5, k=4, seed=1, steps=20):
        xb, yb = xb.numpy(), yb.numpy()
        assert xb.shape == (20, 2) and yb.shape == (20,)
        rows = xb[:, 1].astype(int)
        np.testing.assert_array_equal(y[rows], yb)               # labels match the examples
        assert len(set(rows)) == 20                              # no example twice
        blocks = yb.reshape(5, 4)
        assert np.all(blocks == blocks[:, :1])                   # class by class
        assert len(set(blocks[:, 0])) == 5                       # p distinct classes


@pytest.mark.slow
def test_every_class_and_example_gets_drawn(toy):
    _, y = toy
    idx = pk_sampling.pk_indices(y, p=4, k=3, num_batches=400, seed=0)
    assert set(y[idx.ravel()]) == set(range(12))
    # Within the smallest class every example appears: k of its n drawn without replacement.
    smallest = np.argmin(np.bincount(y))
    assert set(idx.ravel()[y[idx.ravel()] == smallest]) == set(np.flatnonzero(y == smallest))
    # Classes are drawn uniformly: each of 12 classes in 4/12 of the batches (+- 5 sigma).
    per_class = np.array([(y[idx] == c).any(axis=1).mean() for c in range(12)])
    sigma = np.sqrt(1 / 3 * 2 / 3 / 400)
    assert np.all(np.abs(per_class - 1 / 3) < 5 * sigma), per_class


def test_same_seed_same_batches_and_dataset_matches_indices(toy):
    x, y = toy
    a = pk_sampling.pk_indices(y, 3, 2, num_batches=5, seed=7)
    b = pk_sampling.pk_indices(y, 3, 2, num_batches=5, seed=7)
    c = pk_sampling.pk_indices(y, 3, 2, num_batches=5, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    rows = [xb.numpy()[:, 1].astype(int) for xb, _ in
            pk_sampling.pk_dataset(x, y, 3, 2, seed=7, steps=5)]
    np.testing.assert_array_equal(np.stack(rows), a)


def test_group_constraint_keeps_a_batch_in_one_group(toy):
    _, y = toy
    groups = y // 4                                              # 3 groups of 4 classes
    idx = pk_sampling.pk_indices(y, p=3, k=2, num_batches=60, seed=0, groups=groups)
    batch_groups = groups[idx]
    assert np.all(batch_groups == batch_groups[:, :1])
    assert set(batch_groups[:, 0]) == {0, 1, 2}


def test_small_groups_are_never_drawn_and_said(toy):
    _, y = toy
    groups = np.where(y < 2, 0, 1)                               # group 0: 2 classes only
    with pytest.warns(UserWarning, match=r"groups \[0\] have fewer than p=3"):
        idx = pk_sampling.pk_indices(y, p=3, k=2, num_batches=30, groups=groups)
    assert not np.isin(y[idx], [0, 1]).any()


def test_classes_restricts_sampling(toy):
    _, y = toy
    idx = pk_sampling.pk_indices(y, 2, 2, num_batches=30, classes=[3, 5, 9])
    assert set(y[idx.ravel()]) == {3, 5, 9}


def test_augment_runs_on_each_batch(toy):
    x, y = toy
    xb, _ = next(iter(pk_sampling.pk_dataset(x, y, 2, 2, steps=1, augment=lambda b: b * 0 - 1)))
    assert np.all(xb.numpy() == -1)


def test_bad_input_is_named(toy):
    x, y = toy
    few = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    with pytest.raises(ValueError, match=r"k=3 .* classes \[1\] with \[2\] examples"):
        pk_sampling.PKSampler(few, p=2, k=3, small_classes="error")
    with pytest.raises(ValueError, match="small_classes must be one of"):
        pk_sampling.PKSampler(few, p=2, k=3, small_classes="drop")
    with pytest.raises(ValueError, match="p=4 classes per batch, but y holds only 3"):
        pk_sampling.PKSampler(few, p=4, k=2)
    with pytest.raises(ValueError, match="p must be an int >= 2"):
        pk_sampling.PKSampler(y, p=1, k=2)
    with pytest.raises(ValueError, match="k must be an int >= 2"):
        pk_sampling.PKSampler(y, p=2, k=1)
    with pytest.raises(TypeError, match="p must be an int"):
        pk_sampling.PKSampler(y, p=2.0, k=2)
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        pk_sampling.PKSampler(y.astype(float), p=2, k=2)
    with pytest.raises(ValueError, match=r"classes \[99\] are not present in y"):
        pk_sampling.PKSampler(y, 2, 2, classes=[1, 99])
    with pytest.raises(ValueError, match="groups has 3 entries but y has"):
        pk_sampling.PKSampler(y, 2, 2, groups=[0, 1, 2])
    mixed = y.copy() % 2
    mixed[np.flatnonzero(y == 0)[0]] = 1 - mixed[np.flatnonzero(y == 0)[0]]
    with pytest.raises(ValueError, match=r"classes \[0\] have examples in more than one group"):
        pk_sampling.PKSampler(y, 2, 2, groups=mixed)
    with pytest.raises(ValueError, match="largest group holds only 1"):
        pk_sampling.PKSampler(y, 2, 2, groups=y)
    with pytest.raises(ValueError, match="x has 3 entries but y has"):
        pk_sampling.pk_dataset(x[:3], y, 2, 2)
    with pytest.raises(TypeError, match="x must be a numeric array"):
        pk_sampling.pk_dataset(np.array(["a"] * len(y)), y, 2, 2)
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        pk_sampling.pk_dataset(x, y, 2, 2, seed=-1)
    with pytest.raises(ValueError, match="num_batches must be an int >= 1"):
        pk_sampling.pk_indices(y, 2, 2, num_batches=0)


def test_the_datasets_pass_small_classes_on():
    few = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    x = np.arange(len(few), dtype=np.float32)[:, None]
    with pytest.raises(ValueError, match=r"k=3 .* classes \[1\] with \[2\] examples"):
        pk_sampling.pk_dataset(x, few, 2, 3, steps=1, small_classes="error")
    with pytest.raises(ValueError, match=r"k=3 .* classes \[1\] with \[2\] examples"):
        pk_sampling.pk_indices(few, 2, 3, 1, small_classes="error")
    _, yb = next(iter(pk_sampling.pk_dataset(x, few, 3, 3, steps=1)))    # "repeat": no error
    assert sorted(set(yb.numpy().tolist())) == [0, 1, 2]


def test_verbose_false_prints_nothing_and_keeps_the_line(capsys):
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3])
    quiet = pk_sampling.PKSampler(y, p=2, k=4, verbose=False)
    assert capsys.readouterr().out == ""
    assert quiet.small_classes_line.startswith("P x K sampling: 1 of 4 classes")
    pk_sampling.pk_indices(y, 2, 4, num_batches=1, verbose=False)
    pk_sampling.pk_dataset(np.zeros((14, 2)), y, 2, 4, steps=1, verbose=False)
    assert capsys.readouterr().out == ""
    loud = pk_sampling.PKSampler(y, p=2, k=4)
    assert capsys.readouterr().out.strip() == loud.small_classes_line
    assert pk_sampling.PKSampler(y, p=2, k=2, verbose=False).small_classes_line == ""
    with pytest.raises(TypeError):
        pk_sampling.PKSampler(y, p=2, k=4, verbose="no")
