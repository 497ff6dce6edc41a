"""Pair, triplet and one-shot task sampling: balance, correctness, determinism, bad input."""

import numpy as np
import pytest

from course_lib import pairs, sampling


@pytest.fixture
def toy(class_coded_images):
    return class_coded_images(n=500, n_classes=7, shape=(4, 4))


def test_pair_batches_are_balanced_and_labelled_correctly(toy):
    x, y = toy
    for (a, b), labels in pairs.pair_dataset(x, y, batch_size=64, seed=3, steps=5):
        same = np.floor(a.numpy()[:, 0, 0]) == np.floor(b.numpy()[:, 0, 0])
        np.testing.assert_array_equal(same, labels.numpy() == 1)
        assert labels.numpy().sum() == 32
        assert not np.any(np.all(a.numpy() == b.numpy(), axis=(1, 2))), "a pair of one example"


def test_positive_fraction_and_held_out_classes(toy):
    x, y = toy
    (a, b), labels = next(iter(pairs.pair_dataset(x, y, 40, positive_fraction=0.25,
                                                  classes=[0, 1, 2], steps=1)))
    assert labels.numpy().sum() == 10
    assert set(np.floor(a.numpy()[:, 0, 0])) | set(np.floor(b.numpy()[:, 0, 0])) <= {0, 1, 2}


def test_same_seed_same_pairs_other_seed_other_pairs(toy):
    x, y = toy
    def first(seed):
        return next(iter(pairs.pair_dataset(x, y, 32, seed=seed)))[0][1].numpy()
    np.testing.assert_array_equal(first(1), first(1))
    assert not np.array_equal(first(1), first(2))


def test_pair_indices_cover_every_class(toy):
    _, y = toy
    left, right, labels = pairs.pair_indices(y, 2000, seed=0)
    np.testing.assert_array_equal(y[left] == y[right], labels == 1)
    assert labels.mean() == 0.5 and np.all(left[labels == 1] != right[labels == 1])
    assert set(y[right[labels == 0]]) == set(range(7))


def test_triplets(toy):
    x, y = toy
    (a, p, n), zeros = next(iter(pairs.triplet_dataset(x, y, batch_size=50, seed=0)))
    cls = [np.floor(t.numpy()[:, 0, 0]) for t in (a, p, n)]
    assert np.all(cls[0] == cls[1]) and np.all(cls[0] != cls[2]) and zeros.shape == (50,)


def test_one_shot_tasks(toy):
    _, y = toy
    query, support, answer = pairs.one_shot_tasks(y, n_way=5, num_tasks=200, seed=0)
    rows = np.arange(200)
    assert support.shape == (200, 5)
    assert np.all(y[support[rows, answer]] == y[query])
    assert np.all(support[rows, answer] != query)
    assert all(len(set(y[s])) == 5 for s in support)
    assert np.bincount(answer, minlength=5).min() > 20


def test_one_shot_tasks_within_groups():
    y = np.repeat(np.arange(12), 3)
    groups = y // 4                      # three "alphabets" of four characters each
    _, support, _ = pairs.one_shot_tasks(y, 4, 50, seed=1, groups=groups)
    assert all(len(set(groups[s])) == 1 for s in support)
    with pytest.raises(ValueError, match="n_way"):
        pairs.one_shot_tasks(y, 5, 10, groups=groups)


def test_bad_input_is_refused(toy):
    x, y = toy
    with pytest.raises(ValueError, match="x has 10 entries but y has 500"):
        pairs.pair_dataset(x[:10], y)
    with pytest.raises(ValueError, match="finite"):
        pairs.pair_dataset(np.where(x > 6.5, np.nan, x), y)
    with pytest.raises(TypeError, match="integer"):
        pairs.pair_dataset(x, y.astype(float))
    with pytest.raises(ValueError, match="x must"):
        pairs.pair_dataset(np.arange(500.0), y)
    with pytest.raises(ValueError, match="single example"):
        pairs.pair_dataset(x[:3], np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="two classes"):
        pairs.pair_dataset(x[:3], np.array([4, 4, 4]))
    with pytest.raises(ValueError, match="positive_fraction"):
        pairs.pair_dataset(x, y, positive_fraction=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        pairs.pair_dataset(x, y, batch_size=0)
    with pytest.raises(ValueError, match="classes"):
        pairs.pair_dataset(x, y, classes=[99])
    with pytest.raises(ValueError, match="seed"):
        pairs.pair_dataset(x, y, seed=-1)
    # One policy (course_lib.checks): a wrong type is a TypeError, a wrong value a ValueError.
    with pytest.raises(TypeError, match="seed"):
        pairs.pair_dataset(x, y, seed=1.5)
    with pytest.raises(TypeError, match="batch_size"):
        pairs.pair_dataset(x, y, batch_size=2.0)
    with pytest.raises(TypeError, match="positive_fraction"):
        pairs.pair_dataset(x, y, positive_fraction="half")
    with pytest.raises(TypeError, match="x must be a numeric"):
        pairs.pair_dataset(x.astype(str), y)
    with pytest.raises(ValueError, match="n_way"):
        pairs.one_shot_tasks(y, n_way=8, num_tasks=3)
    with pytest.raises(ValueError, match="single example"):
        pairs.one_shot_tasks(np.array([0, 0, 1]), n_way=2, num_tasks=3)


def test_cross_pairs_match_labels_across_two_datasets(class_coded_images):
    x_big, y_big = class_coded_images(n=300, n_classes=5, shape=(6, 6), seed=1)
    x_small, y_small = class_coded_images(n=80, n_classes=5, shape=(3,), seed=2)
    (a, b), labels = next(iter(pairs.cross_pair_dataset(x_big, y_big, x_small, y_small, 64)))
    assert a.shape == (64, 6, 6) and b.shape == (64, 3)
    same = np.floor(a.numpy()[:, 0, 0]) == np.floor(b.numpy()[:, 0])
    np.testing.assert_array_equal(same, labels.numpy() == 1)
    assert labels.numpy().sum() == 32
    with pytest.raises(ValueError, match="same set of classes"):
        pairs.cross_pair_dataset(x_big, y_big, x_small, np.minimum(y_small, 3))


def test_pair_distances():
    from course_lib.evaluate import pair_distances
    emb = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    np.testing.assert_allclose(pair_distances(emb, np.array([0, 1]), np.array([1, 2])),
                               [5.0, np.sqrt(18.0)])
    with pytest.raises(ValueError, match="right"):
        pair_distances(emb, np.array([0]), np.array([7]))


def test_pair_pipelines_run_without_tf_data_autotune(toy):
    # With autotuning on, ending a fit() call waited up to ~10 s for tf.data's background
    # thread (make bench); the samplers are cheap enough to need no tuning.
    x, y = toy
    for dataset in (pairs.pair_dataset(x, y, 8), pairs.triplet_dataset(x, y, 8),
                    pairs.cross_pair_dataset(x, y, x, y, 8)):
        assert dataset.options().autotune.enabled is False


def _first_images(dataset):
    return [np.asarray(inputs[0]) for inputs, _ in dataset.as_numpy_iterator()]


def test_samplers_are_finite_by_default_an_epoch_of_about_len_x(toy):
    x, y = toy                                                   # 500 examples
    for data, size in ((pairs.pair_dataset(x, y, batch_size=64), 64),
                       (pairs.triplet_dataset(x, y, batch_size=64), 64),
                       (pairs.cross_pair_dataset(x, y, x[:100, 0], y[:100], batch_size=64), 64)):
        assert int(data.cardinality()) == 8                     # ceil(500 / 64)
        batches = _first_images(data)
        assert len(batches) == 8 and all(len(b) == size for b in batches)
        # every pass (every Keras epoch) draws new pairs ...
        assert not np.array_equal(batches[0], _first_images(data)[0])
    # ... and the passes are the same on every run
    again = pairs.pair_dataset(x, y, batch_size=64)
    np.testing.assert_array_equal(_first_images(again)[0],
                                  _first_images(pairs.pair_dataset(x, y, batch_size=64))[0])


def test_steps_and_repeat(toy):
    x, y = toy
    endless = pairs.pair_dataset(x, y, batch_size=32, seed=2, repeat=True)
    assert int(endless.cardinality()) == -1                      # tf.data.INFINITE_CARDINALITY
    fixed = pairs.pair_dataset(x, y, batch_size=32, seed=2, steps=3)
    assert int(fixed.cardinality()) == 3
    # an endless stream starts with the batches of steps=...: switching keeps the numbers
    head = _first_images(endless.take(3))
    for a, b in zip(head, _first_images(fixed), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="not both"):
        pairs.pair_dataset(x, y, steps=3, repeat=True)
    with pytest.raises(TypeError, match="repeat"):
        pairs.triplet_dataset(x, y, repeat="yes")


def test_fit_without_steps_per_epoch_ends_its_epochs(toy):
    import keras

    from course_lib import losses, models

    x, y = toy
    keras.utils.set_random_seed(0)
    model = models.siamese(models.mlp_encoder(input_shape=(4, 4), hidden=8))
    model.compile("sgd", losses.ContrastiveLoss())
    history = model.fit(pairs.pair_dataset(x, y, batch_size=100), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_seeded_batches_is_the_samplers_common_stream():
    import tensorflow as tf

    def make_batch(seed):
        return tf.random.stateless_uniform([3], seed=seed)

    fixed = [b.numpy() for b in sampling.seeded_batches(4, 7, make_batch, epoch_batches=2)]
    endless = sampling.seeded_batches(None, 7, make_batch, epoch_batches=2, repeat=True)
    first = [b.numpy() for b in endless.take(6)]
    assert len(fixed) == 4
    for a, b in zip(fixed, first):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        fixed[2], tf.random.stateless_uniform([3], seed=tf.constant([7, 2], tf.int64)).numpy())
    epoch = sampling.seeded_batches(None, 7, make_batch, epoch_batches=2)
    assert len(list(epoch)) == 2
    with pytest.raises(ValueError, match="not both"):
        sampling.seeded_batches(3, 0, make_batch, 2, repeat=True)
    with pytest.raises(TypeError, match="make_batch must be callable"):
        sampling.seeded_batches(3, 0, "batch", 2)
    with pytest.raises(ValueError, match="epoch_batches must be an int >= 1"):
        sampling.seeded_batches(None, 0, make_batch, 0)
