"""One-shot tasks: drawing them, scoring them (pixels, encoders, Siamese nets), Lake's runs as
tasks."""

import keras
import numpy as np
import pytest

from course_lib import evaluate, models, oneshot
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
    right, _ = oneshot.score_lake_queries(None, runs)
    assert right.dtype == bool and right.shape == (15,) and right.all()


def test_a_tie_on_a_lake_query_is_wrong_even_when_the_first_tied_candidate_is_the_answer(
        prototypes):
    protos, copies = prototypes
    runs = _runs(protos, copies)
    flat = keras.Sequential([keras.Input((6, 6)), keras.layers.Flatten(),
                             keras.layers.Dense(2, kernel_initializer="zeros")])
    right, picks = oneshot.score_lake_queries(flat, runs)      # every embedding is 0: all tied
    assert not right.any() and (picks == 0).all()
    per_run, _ = oneshot.score_lake_runs(flat, runs)
    np.testing.assert_array_equal(per_run, np.zeros(3))


def test_accuracy_against_n_scores_every_model_on_the_same_tasks(prototypes):
    protos, copies = prototypes
    runs = _runs(protos, copies)
    curves, errors = oneshot.lake_accuracy_against_n({"pixels": None}, runs, np.array([2, 4]),
                                                     seed=3)
    for i, n in enumerate((2, 4)):
        images, q, s, a, _ = oneshot.lake_n_way_tasks(runs, n, seed=3 + n)
        right = oneshot.task_accuracy(oneshot.task_scores(None, images, q, s), a)
        mean, low, high = evaluate.n_way_accuracy(right)
        assert curves["pixels"][i] == mean
        assert (errors["pixels"][0][i], errors["pixels"][1][i]) == (low, high)
    with pytest.raises(TypeError, match="models must be a mapping"):
        oneshot.lake_accuracy_against_n([None], runs, [2])
    with pytest.raises(ValueError, match="must not be empty"):
        oneshot.lake_accuracy_against_n({}, runs, [2])


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


# --------------------------------------------------------------------------- drawing tasks


def test_one_shot_tasks(class_coded_images):
    _, y = class_coded_images(n=500, n_classes=7, shape=(4, 4))
    query, support, answer = oneshot.one_shot_tasks(y, n_way=5, num_tasks=200, seed=0)
    rows = np.arange(200)
    assert support.shape == (200, 5)
    assert np.all(y[support[rows, answer]] == y[query])
    assert np.all(support[rows, answer] != query)
    assert all(len(set(y[s])) == 5 for s in support)
    assert np.bincount(answer, minlength=5).min() > 20


def test_one_shot_tasks_within_groups():
    y = np.repeat(np.arange(12), 3)
    groups = y // 4                      # three "alphabets" of four characters each
    _, support, _ = oneshot.one_shot_tasks(y, 4, 50, seed=1, groups=groups)
    assert all(len(set(groups[s])) == 1 for s in support)
    with pytest.raises(ValueError, match="n_way"):
        oneshot.one_shot_tasks(y, 5, 10, groups=groups)


def test_one_shot_tasks_refuse_bad_input():
    y = np.repeat(np.arange(7), 3)
    with pytest.raises(ValueError, match="n_way"):
        oneshot.one_shot_tasks(y, n_way=8, num_tasks=3)
    with pytest.raises(ValueError, match="single example"):
        oneshot.one_shot_tasks(np.array([0, 0, 1]), n_way=2, num_tasks=3)
    with pytest.raises(ValueError, match=r"classes \[1\] have examples in more than one group"):
        oneshot.one_shot_tasks(np.repeat(np.arange(4), 2), 2, 3, groups=[0, 0, 0, 1, 1, 1, 1, 1])


def test_bad_input_is_refused(prototypes):
    protos, copies = prototypes
    with pytest.raises(ValueError, match="query"):
        oneshot.task_scores(None, protos, [[0]], [[1, 2]])
    with pytest.raises(TypeError, match="integer"):
        oneshot.task_scores(None, protos, [0.0], [[1, 2]])
    with pytest.raises(ValueError, match="support .indices into images. must lie in"):
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
    with pytest.raises(TypeError, match="runs must be a non-empty list"):
        oneshot.lake_run_tasks(LakeRun(protos, copies, np.arange(5)))
    with pytest.raises(TypeError, match=r"runs\[0\] must be a LakeRun"):
        oneshot.lake_run_tasks([protos])
    with pytest.raises(TypeError, match=r"runs\[0\].answers must hold integer"):
        oneshot.lake_run_tasks([LakeRun(protos, copies, np.arange(5.0))])


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


def test_centring_leaves_euclidean_scores_alone_and_is_cl2n_with_cosine(prototypes):
    protos, copies = prototypes
    images = np.concatenate([protos, copies])
    query, support = np.arange(5, 10), np.tile(np.arange(5), (5, 1))
    plain = oneshot.task_scores(None, images, query, support)
    for centre in ("support", np.full(36, 0.5)):
        np.testing.assert_allclose(
            oneshot.task_scores(None, images, query, support, centre=centre), plain, rtol=1e-6)
    flat = images.reshape(len(images), -1).astype(np.float64)
    origin = flat[:5].mean(axis=0)          # every task's candidates are the five prototypes
    q = flat[5:] - origin
    c = flat[:5] - origin
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    np.testing.assert_allclose(
        oneshot.task_scores(None, images, query, support, metric="cosine", centre="support"),
        q @ c.T - 1, atol=1e-6)
    np.testing.assert_allclose(
        oneshot.task_scores(None, images, query, support, metric="cosine", centre=origin),
        q @ c.T - 1, atol=1e-6)
    assert not np.allclose(
        oneshot.task_scores(None, images, query, support, metric="cosine", centre="support"),
        oneshot.task_scores(None, images, query, support, metric="cosine"), atol=1e-3)


def test_support_centring_is_per_task():
    """Two tasks with different candidates get different origins."""
    images = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[3.0, 3.0]], [[3.0, 4.0]],
                       [[0.9, 0.2]], [[3.1, 3.9]]], np.float32)
    query, support = np.array([4, 5]), np.array([[0, 1], [2, 3]])
    scores = oneshot.task_scores(None, images, query, support, metric="cosine", centre="support")
    assert oneshot.task_accuracy(scores, np.array([0, 1])).all()
    mean = images[2:4].reshape(2, -1).mean(axis=0)
    u, v = images[5].ravel() - mean, images[3].ravel() - mean
    assert scores[1, 1] == pytest.approx(u @ v / np.linalg.norm(u) / np.linalg.norm(v) - 1,
                                         abs=1e-6)


def test_bad_centres_are_refused(prototypes):
    protos, copies = prototypes
    images = np.concatenate([protos, copies])
    query, support = np.arange(5, 10), np.tile(np.arange(5), (5, 1))
    with pytest.raises(ValueError, match="'support' or a vector"):
        oneshot.task_scores(None, images, query, support, centre="mean")
    with pytest.raises(ValueError, match="embedding's size 36"):
        oneshot.task_scores(None, images, query, support, centre=np.zeros(5))
    with pytest.raises(ValueError, match="non-finite"):
        oneshot.task_scores(None, images, query, support, centre=np.full(36, np.nan))
    inputs = keras.Input((6, 6))
    siamese = models.siamese(keras.Model(inputs, keras.layers.Flatten()(inputs)),
                             head="euclidean")
    with pytest.raises(ValueError, match="centre applies to embeddings"):
        oneshot.task_scores(siamese, images, query, support, centre="support")
