"""Pair, triplet and N-way episode sampling: balance, correctness, determinism, bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import losses, models, pairs, sampling


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


# --------------------------------------------------------------------------- episode sampler


def _episode_data():
    """8x8 images: 3 groups of 6, 5 and 2 classes, 3 examples each; each image holds its class
    id (and its example number) so a batch can be decoded."""
    groups_of_class = np.array([0] * 6 + [1] * 5 + [2] * 2)
    y = np.repeat(np.arange(13), 3)
    images = np.zeros((len(y), 8, 8), np.float32)
    images[:, 0, 0] = y
    images[:, 0, 1] = np.tile(np.arange(3), 13)
    images[:, 7, 7] = -1.0  # a corner marker, to see rotations
    return images, y, groups_of_class[y]


def _decode(batch, n_rot=4):
    """Class, example number and rotation (0..3 quarter turns) of each image of a batch."""
    out = []
    for img in np.asarray(batch):
        k = next(k for k in range(n_rot) if np.rot90(img, -k)[7, 7] == -1.0)
        upright = np.rot90(img, -k)
        out.append((int(upright[0, 0]), int(upright[0, 1]), k))
    return np.array(out)


def test_episodes_hold_two_drawings_of_n_classes_of_one_group():
    images, y, groups = _episode_data()
    with pytest.warns(UserWarning, match="fewer than n_way"):
        ds = pairs.episode_dataset(images, y, groups, n_way=4, episodes=3, seed=1, steps=20)
    group_of = dict(zip(y, groups))
    seen = set()
    for batch, labels in ds:
        assert batch.shape == (24, 8, 8)
        np.testing.assert_array_equal(labels, np.tile(np.arange(4), 6))
        info = _decode(batch).reshape(3, 2, 4, 3)
        for episode in info:
            anchors, candidates = episode
            np.testing.assert_array_equal(anchors[:, 0], candidates[:, 0])   # same classes
            assert len(set(anchors[:, 0])) == 4                              # N distinct
            assert (anchors[:, 1] != candidates[:, 1]).all()                 # two drawings
            assert len({group_of[c] for c in anchors[:, 0]}) == 1            # one group
            assert (episode[..., 2] == 0).all()                              # no rotations
            seen |= set(anchors[:, 0])
    assert seen == set(range(11))  # group 2 (2 classes) is never drawn


def test_episodes_are_seeded_and_finite_by_default():
    images, y, groups = _episode_data()
    first = [b.numpy() for b, _ in pairs.episode_dataset(images, y, groups * 0, 5,
                                                         seed=3, steps=4)]
    again = [b.numpy() for b, _ in pairs.episode_dataset(images, y, groups * 0, 5,
                                                         seed=3, steps=4)]
    other = [b.numpy() for b, _ in pairs.episode_dataset(images, y, groups * 0, 5,
                                                         seed=4, steps=4)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    finite = pairs.episode_dataset(images, y, groups * 0, 5, episodes=1)
    assert finite.cardinality().numpy() == len(y) // 10
    endless = pairs.episode_dataset(images, y, groups * 0, 5, repeat=True)
    assert endless.cardinality().numpy() == tf.data.INFINITE_CARDINALITY


@pytest.mark.filterwarnings("ignore:groups")
def test_rotations_are_new_classes_of_a_new_group_and_shifts_move_the_ink():
    images, y, groups = _episode_data()
    ds = pairs.episode_dataset(images, y, groups, n_way=5, episodes=4, seed=0,
                               rotations=True, steps=30)
    turns = []
    for batch, _ in ds:
        info = _decode(batch).reshape(4, 2, 5, 3)
        for anchors, candidates in info:
            np.testing.assert_array_equal(anchors[:, 2], candidates[:, 2])  # one rotation...
            assert len(set(anchors[:, 2])) == 1                             # ...per episode
            turns.append(anchors[0, 2])
    assert set(turns) == {0, 1, 2, 3}
    shifted = pairs.episode_dataset(images[:, :, :] * 0 + np.pad(np.ones((4, 4)), 2),
                                    y, groups, n_way=5, max_shift=2, steps=3)
    for batch, _ in shifted:
        ink = np.asarray(batch)
        assert np.allclose(ink.sum(axis=(1, 2)), 16)  # the 4x4 block moved, none lost
        assert len({tuple(np.argwhere(img)[0]) for img in ink}) > 1


def test_rotations_can_stay_in_their_group_for_episodes_wider_than_a_group():
    images, y, groups = _episode_data()
    group_of = dict(zip(y, groups))
    # 21-way: only group 0 (6 classes x 4 rotations = 24) is wide enough, not group 1 (20)
    with pytest.warns(UserWarning, match=r"groups \[1, 2\] have fewer than n_way=21"):
        ds = pairs.episode_dataset(images, y, groups, n_way=21, episodes=2, seed=0,
                                   rotations=True, rotated_groups=False, steps=10)
    with_turns = set()
    for batch, _ in ds:
        for anchors, candidates in _decode(batch).reshape(2, 2, 21, 3):
            np.testing.assert_array_equal(anchors[:, [0, 2]], candidates[:, [0, 2]])
            assert len({(c, k) for c, _, k in anchors}) == 21                 # 21 distinct
            assert {group_of[c] for c in anchors[:, 0]} == {0}                # one group
            with_turns |= {len(set(anchors[anchors[:, 0] == c, 2])) for c in anchors[:, 0]}
    assert max(with_turns) > 1     # a class beside its own rotation in one episode
    with pytest.raises(ValueError, match="with its rotations, a class counts 4 times"):
        pairs.episode_dataset(images, y, groups, n_way=25, rotations=True, rotated_groups=False)
    with pytest.raises(TypeError, match="rotated_groups"):
        pairs.episode_dataset(images, y, groups, n_way=4, rotations=True, rotated_groups="no")


@pytest.mark.parametrize("rotations", [False, True])
def test_each_image_moves_by_its_own_offset_drawn_from_the_batch_seed(rotations):
    """The shift (layers.ShiftedViews, row then column) moves image i of batch k by
    ``max_shift - offset[i]``, the offsets drawn from the 4th split of the batch seed ``(seed,
    k)``, exactly as the sampler's own shift did before it used ShiftedViews."""
    images, y, _ = _episode_data()
    images = images + np.random.default_rng(0).random(images.shape).astype(np.float32)
    m = 2
    plain = pairs.episode_dataset(images, y, y * 0, 4, episodes=2, seed=5, steps=3,
                                  rotations=rotations)
    moved = pairs.episode_dataset(images, y, y * 0, 4, episodes=2, seed=5, steps=3,
                                  rotations=rotations, max_shift=m)
    for k, ((still, _), (batch, _)) in enumerate(zip(plain, moved)):
        seeds = tf.random.experimental.stateless_split(tf.constant([5, k], tf.int64), 6)
        offsets = tf.random.stateless_uniform([len(still), 2], seeds[3], 0, 2 * m + 1,
                                              dtype=tf.int32).numpy()
        padded = np.pad(still.numpy(), [(0, 0), (m, m), (m, m)])
        expected = np.stack([p[r:r + 8, c:c + 8] for p, (r, c) in zip(padded, offsets)])
        np.testing.assert_array_equal(batch.numpy(), expected)


@pytest.mark.filterwarnings("ignore:groups")
def test_episode_sampler_refuses_bad_input():
    images, y, groups = _episode_data()
    with pytest.raises(ValueError, match="n_way=7 needs 7 classes from one group, but the "
                                         "largest group holds only 6"):
        pairs.episode_dataset(images, y, groups, n_way=7)
    with pytest.raises(TypeError, match="n_way"):
        pairs.episode_dataset(images, y, groups, n_way=2.5)
    with pytest.raises(ValueError, match="square"):
        pairs.episode_dataset(images[:, :, :6], y, groups, n_way=2)
    with pytest.raises(ValueError, match="single example"):
        pairs.episode_dataset(images[2:], y[2:], groups[2:], n_way=2)
    with pytest.raises(ValueError, match="examples in more than one group"):
        pairs.episode_dataset(images, y, np.arange(len(y)) % 2, n_way=2)
    with pytest.raises(ValueError, match="groups"):
        pairs.episode_dataset(images, y, groups[:-1], n_way=2)
    with pytest.raises(TypeError, match="rotations"):
        pairs.episode_dataset(images, y, groups, n_way=2, rotations=1)
    with pytest.raises(ValueError, match="steps"):
        pairs.episode_dataset(images, y, groups, n_way=2, steps=3, repeat=True)
    with pytest.raises(ValueError, match="max_shift must be smaller than the image side 8"):
        pairs.episode_dataset(images, y, groups, n_way=2, max_shift=8)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:groups")
def test_a_conv4_encoder_learns_episodes_and_reloads(tmp_path):
    images, y, groups = _episode_data()
    images = images + np.random.default_rng(0).random(images.shape).astype(np.float32) * 0.1
    keras.utils.set_random_seed(0)
    encoder = models.conv4_encoder((8, 8), 8, filters=8, blocks=2)
    encoder.compile(keras.optimizers.Adam(1e-2), losses.NWayLoss(n_way=4))
    ds = pairs.episode_dataset(images, y, groups * 0, n_way=4, episodes=2, repeat=True)
    history = encoder.fit(ds, steps_per_epoch=20, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "encoder.keras"
    encoder.save(path)
    again = keras.models.load_model(path)
    assert isinstance(again.loss, losses.NWayLoss) and again.loss.n_way == 4
    np.testing.assert_allclose(again.predict(images, verbose=0),
                               encoder.predict(images, verbose=0), rtol=1e-5, atol=1e-6)
