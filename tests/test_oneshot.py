"""One-shot task scoring (pixels, encoders, Siamese nets), Lake's runs as tasks, alphabet
splits and epoch selection on validation tasks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import losses, models, oneshot
from course_lib.data import LakeRun


@pytest.fixture
def prototypes():
    """Five very different 6x6 images, and noisy copies of each as queries."""
    rng = np.random.default_rng(0)
    protos = rng.random((5, 6, 6)).astype(np.float32)
    copies = (protos + 0.05 * rng.standard_normal(protos.shape)).astype(np.float32)
    return protos, copies


def _runs(protos, copies, n_runs=3):
    """Runs whose test images are noisy copies of the training images, in a shuffled order."""
    rng = np.random.default_rng(1)
    out = []
    for _ in range(n_runs):
        order = rng.permutation(len(protos))
        out.append(LakeRun(protos, copies[order], order.astype(np.int64)))
    return out


def test_pixel_scores_are_minus_euclidean_distances(prototypes):
    protos, copies = prototypes
    images = np.concatenate([protos, copies])
    query = np.arange(5, 10)
    support = np.tile(np.arange(5), (5, 1))
    scores = oneshot.task_scores(None, images, query, support)
    expected = -np.linalg.norm(copies[:, None] - protos[None], axis=(2, 3))
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert oneshot.task_accuracy(scores, np.arange(5)).all()


def test_encoder_scores_use_embedding_distances(prototypes):
    protos, copies = prototypes
    images = np.concatenate([protos, copies])
    inputs = keras.Input((6, 6))
    encoder = keras.Model(inputs, keras.layers.Flatten()(inputs))  # embedding = pixels
    query, support = np.arange(5, 10), np.tile(np.arange(5), (5, 1))
    np.testing.assert_allclose(oneshot.task_scores(encoder, images, query, support),
                               oneshot.task_scores(None, images, query, support), rtol=1e-5)


def test_siamese_scores_match_the_model_on_each_pair(prototypes):
    protos, copies = prototypes
    images = np.concatenate([protos, copies])
    keras.utils.set_random_seed(0)
    net = models.siamese(models.small_cnn_encoder((6, 6), 8, filters=(4,), dense=8), head="koch")
    query = np.array([5, 6, 7])
    support = np.array([[0, 1, 2], [3, 4, 0], [2, 1, 4]])
    scores = oneshot.task_scores(net, images, query, support, batch_size=2)
    left = np.repeat(images[query], 3, axis=0)
    right = images[support.ravel()]
    direct = net.predict([left, right], verbose=0).reshape(3, 3)
    np.testing.assert_allclose(scores, direct, rtol=1e-4, atol=1e-6)
    # A distance head is negated, so that a higher score still means "more alike".
    dist_net = models.siamese(net.layers[2], head="euclidean")
    d_scores = oneshot.task_scores(dist_net, images, query, support)
    d_direct = dist_net.predict([left, right], verbose=0).reshape(3, 3)
    np.testing.assert_allclose(d_scores, -d_direct, rtol=1e-4, atol=1e-6)


def test_unknown_head_needs_output_argument(prototypes):
    protos, _ = prototypes
    a, b = keras.Input((6, 6)), keras.Input((6, 6))
    flat = keras.layers.Flatten()
    net = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Subtract()([flat(a), flat(b)])))
    with pytest.raises(ValueError, match="output="):
        oneshot.task_scores(net, protos, [0], [[1, 2]])
    scores = oneshot.task_scores(net, protos, [0], [[1, 2]], output="distance")
    assert scores.shape == (1, 2)


def test_task_accuracy_counts_ties_as_wrong():
    scores = np.array([[0.1, 0.9, 0.3], [0.5, 0.5, 0.1], [0.2, 0.1, 0.0]])
    np.testing.assert_array_equal(oneshot.task_accuracy(scores, [1, 0, 1]), [True, False, False])


def test_lake_runs_become_tasks_and_a_perfect_matcher_scores_one(prototypes):
    protos, copies = prototypes
    runs = _runs(protos, copies)
    images, query, support, answer, run = oneshot.lake_run_tasks(runs)
    assert images.shape == (30, 6, 6) and query.shape == (15,) and support.shape == (15, 5)
    np.testing.assert_array_equal(run, np.repeat([0, 1, 2], 5))
    for t in range(15):  # the query is a noisy copy of its answer's training image
        assert np.abs(images[query[t]] - images[support[t, answer[t]]]).max() < 0.3
    per_run, picks = oneshot.score_lake_runs(None, runs)
    np.testing.assert_array_equal(per_run, np.ones(3))
    np.testing.assert_array_equal(picks, np.stack([r.answers for r in runs]))


def test_lake_n_way_tasks_stay_inside_one_run(prototypes):
    protos, copies = prototypes
    runs = _runs(protos, copies)
    images, query, support, answer, run = oneshot.lake_n_way_tasks(runs, 3, 200, seed=4)
    assert support.shape == (200, 3) and len(np.unique(run)) == 3
    for t in range(200):
        start = 10 * run[t]  # each run holds 5 training then 5 test images
        assert ((support[t] >= start) & (support[t] < start + 5)).all()
        assert len(set(support[t])) == 3
        assert start + 5 <= query[t] < start + 10
        assert np.abs(images[query[t]] - images[support[t, answer[t]]]).max() < 0.3
    assert np.bincount(answer, minlength=3).min() > 40  # the answer's position is random
    again = oneshot.lake_n_way_tasks(runs, 3, 200, seed=4)
    np.testing.assert_array_equal(again[1], query)
    with pytest.raises(ValueError, match="n_way"):
        oneshot.lake_n_way_tasks(runs, 6, 10)


def test_lake_n_way_tasks_by_default_use_each_official_query_once(prototypes):
    protos, copies = prototypes
    runs = _runs(protos, copies)
    images, query, support, answer, run = oneshot.lake_n_way_tasks(runs, 3, seed=1)
    assert len(query) == 15 and len(set(query)) == 15  # every query once
    np.testing.assert_array_equal(run, np.repeat([0, 1, 2], 5))
    for t in range(15):
        assert len(set(support[t])) == 3
        assert np.abs(images[query[t]] - images[support[t, answer[t]]]).max() < 0.3
    full = oneshot.lake_n_way_tasks(runs, 5, seed=2)
    np.testing.assert_array_equal(np.sort(full[2], axis=1), np.sort(oneshot.lake_run_tasks(runs)[2],
                                                                    axis=1))


def test_alphabet_split_holds_out_whole_alphabets():
    alphabet = np.array([0, 0, 1, 1, 2, 2, 2])
    train, val = oneshot.alphabet_split(alphabet, ["A", "B", "C"], ["C", "A"])
    np.testing.assert_array_equal(val, [True, True, False, False, True, True, True])
    np.testing.assert_array_equal(train, ~val)
    with pytest.raises(ValueError, match="not among"):
        oneshot.alphabet_split(alphabet, ["A", "B", "C"], ["D"])
    with pytest.raises(ValueError, match="nothing is left"):
        oneshot.alphabet_split(alphabet, ["A", "B", "C"], ["A", "B", "C"])
    with pytest.raises(TypeError, match="held_out"):
        oneshot.alphabet_split(alphabet, ["A", "B", "C"], "A")


def test_validation_callback_keeps_the_best_epoch(prototypes):
    protos, copies = prototypes
    images = np.concatenate([protos, copies])
    query, support, answer = np.arange(5, 10), np.tile(np.arange(5), (5, 1)), np.arange(5)
    keras.utils.set_random_seed(0)
    encoder = models.small_cnn_encoder((6, 6), 4, filters=(4,), dense=8)
    net = models.siamese(encoder, head="euclidean")
    net.compile(keras.optimizers.SGD(0.5), "mse")  # a large step: weights and scores jump
    check = oneshot.OneShotValidation(images, query, support, answer)
    rng = np.random.default_rng(0)
    x = [rng.random((16, 6, 6)).astype(np.float32) for _ in range(2)]
    history = net.fit(x, rng.random(16), epochs=4, verbose=0, callbacks=[check])
    assert len(check.history) == 4
    assert history.history["val_one_shot"] == check.history
    assert check.best == max(check.history)
    assert check.history[check.best_epoch] == check.best
    assert check.score() == check.best  # the best epoch's weights are back in the model


def test_bad_input_is_refused(prototypes):
    protos, copies = prototypes
    with pytest.raises(ValueError, match="query"):
        oneshot.task_scores(None, protos, [[0]], [[1, 2]])
    with pytest.raises(TypeError, match="integer"):
        oneshot.task_scores(None, protos, [0.0], [[1, 2]])
    with pytest.raises(ValueError, match="support indices"):
        oneshot.task_scores(None, protos, [0], [[1, 9]])
    with pytest.raises(ValueError, match="support has"):
        oneshot.task_scores(None, protos, [0, 1], [[1, 2]])
    with pytest.raises(ValueError, match="metric"):
        oneshot.task_scores(None, protos, [0], [[1, 2]], metric="manhattan")
    with pytest.raises(TypeError, match="model"):
        oneshot.task_scores("net", protos, [0], [[1, 2]])
    with pytest.raises(ValueError, match="answer"):
        oneshot.task_accuracy(np.zeros((2, 3)), [0, 3])
    with pytest.raises(ValueError, match="runs"):
        oneshot.lake_run_tasks([])
    with pytest.raises(ValueError, match="answers"):
        oneshot.lake_run_tasks([LakeRun(protos, copies, np.array([0, 1, 2, 3, 7]))])
    with pytest.raises(ValueError, match="num_tasks"):
        oneshot.lake_n_way_tasks(_runs(protos, copies), 2, 0)
    with pytest.raises(ValueError, match="answer"):
        oneshot.OneShotValidation(protos, [0], [[1, 2]], [5])


# --------------------------------------------------------------------------- one scorer


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_encoder_scores_find_the_nearest_candidate(metric):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(60, 16)).astype(np.float32)
    inputs = keras.Input((16,))
    encoder = keras.Model(inputs, keras.layers.Identity()(inputs))
    support = rng.permutation(40).reshape(2, 20)
    answer = np.array([3, 17])
    images[40:42] = images[support[[0, 1], answer]] + 0.01 * rng.normal(size=(2, 16))
    scores = oneshot.task_scores(encoder, images, [40, 41], support, metric=metric)
    np.testing.assert_array_equal(scores.argmax(axis=1), answer)
    assert oneshot.task_accuracy(scores, answer).all()


def test_the_metric_matters_and_ties_are_wrong_for_every_model():
    images = np.array([[1.0, 0.0], [10.0, 0.0], [0.9, 0.5], [2.0, 0.0], [0.0, 2.0]], np.float32)
    inputs = keras.Input((2,))
    encoder = keras.Model(inputs, keras.layers.Identity()(inputs))
    assert oneshot.task_scores(encoder, images, [0], [[1, 2]]).argmax() == 1
    assert oneshot.task_scores(encoder, images, [0], [[1, 2]], metric="cosine").argmax() == 0
    # a query exactly as far from two candidates: the tie counts as wrong
    tie = oneshot.task_scores(None, np.array([[0.0], [1.0], [-1.0]]), [0], [[1, 2]])
    assert tie[0, 0] == tie[0, 1] and not oneshot.task_accuracy(tie, [0]).any()


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
        ds = oneshot.episode_dataset(images, y, groups, n_way=4, episodes=3, seed=1, steps=20)
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
    first = [b.numpy() for b, _ in oneshot.episode_dataset(images, y, groups * 0, 5,
                                                           seed=3, steps=4)]
    again = [b.numpy() for b, _ in oneshot.episode_dataset(images, y, groups * 0, 5,
                                                           seed=3, steps=4)]
    other = [b.numpy() for b, _ in oneshot.episode_dataset(images, y, groups * 0, 5,
                                                           seed=4, steps=4)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    finite = oneshot.episode_dataset(images, y, groups * 0, 5, episodes=1)
    assert finite.cardinality().numpy() == len(y) // 10
    endless = oneshot.episode_dataset(images, y, groups * 0, 5, repeat=True)
    assert endless.cardinality().numpy() == tf.data.INFINITE_CARDINALITY


@pytest.mark.filterwarnings("ignore:groups")
def test_rotations_are_new_classes_of_a_new_group_and_shifts_move_the_ink():
    images, y, groups = _episode_data()
    ds = oneshot.episode_dataset(images, y, groups, n_way=5, episodes=4, seed=0,
                                 rotations=True, steps=30)
    turns = []
    for batch, _ in ds:
        info = _decode(batch).reshape(4, 2, 5, 3)
        for anchors, candidates in info:
            np.testing.assert_array_equal(anchors[:, 2], candidates[:, 2])  # one rotation...
            assert len(set(anchors[:, 2])) == 1                             # ...per episode
            turns.append(anchors[0, 2])
    assert set(turns) == {0, 1, 2, 3}
    shifted = oneshot.episode_dataset(images[:, :, :] * 0 + np.pad(np.ones((4, 4)), 2),
                                      y, groups, n_way=5, max_shift=2, steps=3)
    for batch, _ in shifted:
        ink = np.asarray(batch)
        assert np.allclose(ink.sum(axis=(1, 2)), 16)  # the 4x4 block moved, none lost
        assert len({tuple(np.argwhere(img)[0]) for img in ink}) > 1


@pytest.mark.filterwarnings("ignore:groups")
def test_episode_sampler_refuses_bad_input():
    images, y, groups = _episode_data()
    with pytest.raises(ValueError, match="n_way=7 needs 7 classes from one group, but the "
                                         "largest group holds only 6"):
        oneshot.episode_dataset(images, y, groups, n_way=7)
    with pytest.raises(TypeError, match="n_way"):
        oneshot.episode_dataset(images, y, groups, n_way=2.5)
    with pytest.raises(ValueError, match="square"):
        oneshot.episode_dataset(images[:, :, :6], y, groups, n_way=2)
    with pytest.raises(ValueError, match="single example"):
        oneshot.episode_dataset(images[2:], y[2:], groups[2:], n_way=2)
    with pytest.raises(ValueError, match="examples in more than one group"):
        oneshot.episode_dataset(images, y, np.arange(len(y)) % 2, n_way=2)
    with pytest.raises(ValueError, match="groups"):
        oneshot.episode_dataset(images, y, groups[:-1], n_way=2)
    with pytest.raises(TypeError, match="rotations"):
        oneshot.episode_dataset(images, y, groups, n_way=2, rotations=1)
    with pytest.raises(ValueError, match="steps"):
        oneshot.episode_dataset(images, y, groups, n_way=2, steps=3, repeat=True)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:groups")
def test_a_conv4_encoder_learns_episodes_and_reloads(tmp_path):
    images, y, groups = _episode_data()
    images = images + np.random.default_rng(0).random(images.shape).astype(np.float32) * 0.1
    keras.utils.set_random_seed(0)
    encoder = models.conv4_encoder((8, 8), 8, filters=8, blocks=2)
    encoder.compile(keras.optimizers.Adam(1e-2), losses.NWayLoss(n_way=4))
    ds = oneshot.episode_dataset(images, y, groups * 0, n_way=4, episodes=2, repeat=True)
    history = encoder.fit(ds, steps_per_epoch=20, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "encoder.keras"
    encoder.save(path)
    again = keras.models.load_model(path)
    assert isinstance(again.loss, losses.NWayLoss) and again.loss.n_way == 4
    np.testing.assert_allclose(again.predict(images, verbose=0),
                               encoder.predict(images, verbose=0), rtol=1e-5, atol=1e-6)
