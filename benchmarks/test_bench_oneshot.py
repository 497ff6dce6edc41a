"""The one-shot benchmark's and ablation's logic (no timing is asserted)."""

import numpy as np
import tensorflow as tf

from benchmarks import bench_oneshot, oneshot_variants


def test_reach_times_take_the_first_check_at_or_above_each_threshold():
    curve = [(10.0, 100, 0.4), (20.0, 200, 0.72), (30.0, 300, 0.71), (40.0, 400, 0.9)]
    got = bench_oneshot.reach_times(curve, (0.5, 0.7, 0.85, 0.95))
    assert got["0.50"] == {"seconds": 20.0, "steps": 200}
    assert got["0.70"] == {"seconds": 20.0, "steps": 200}
    assert got["0.85"] == {"seconds": 40.0, "steps": 400}
    assert got["0.95"] is None
    assert bench_oneshot._cell([None, None]) == "not reached"
    assert bench_oneshot._cell([{"seconds": 4.0}, None]).startswith("not reached (1 of 2")


def test_episode_pairs_are_half_same_half_other_characters_of_the_episode():
    n = oneshot_variants.N_WAY
    ids = np.tile(np.arange(n), 4).astype(np.float32)      # 2 episodes: anchors, candidates
    images = tf.constant(np.broadcast_to(ids[:, None, None], (4 * n, 3, 3)))
    (left, right), same = oneshot_variants._episode_pairs(images, None)
    left, right, same = left.numpy()[:, 0, 0], right.numpy()[:, 0, 0], same.numpy()
    assert len(same) == 4 * n and same.sum() == 2 * n
    np.testing.assert_array_equal(left == right, same == 1)


def test_every_variant_names_its_settings():
    for name, v in oneshot_variants.VARIANTS.items():
        assert v["label"] and v["encoder"] in ("koch", "conv4") and v["size"] in (28, 35), name


def test_the_benchmark_times_the_recipe_the_notebook_reads():
    from scripts import recipe_06

    full = recipe_06.RUNS["recipe"]
    assert bench_oneshot.RECIPE == {"members": full["members"], "steps": full["steps"]}
