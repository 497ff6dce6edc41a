"""The time-to-accuracy benchmark's logic (no timing is asserted: figures come from make bench)."""

import random

import numpy as np
import pytest

from benchmarks import time_to_accuracy as tta


def test_keras_io_pairs_one_same_and_one_other_partner_per_image(class_coded_images):
    x, y = class_coded_images(n=60, n_classes=4, shape=(3,))   # x encodes its class
    pairs, labels = tta.keras_io_pairs(x, y, random.Random(0))
    assert pairs.shape == (120, 2, 3) and labels.tolist() == [1.0, 0.0] * 60
    np.testing.assert_array_equal(pairs[0::2, 0], x)              # every image is an anchor
    same = np.floor(pairs[:, 0, 0]) == np.floor(pairs[:, 1, 0])
    np.testing.assert_array_equal(same, labels == 1)


def test_keras_io_model_and_loss():
    model, score = tta.keras_io_model()
    a = np.random.default_rng(0).random((5, 28, 28, 1)).astype(np.float32) * 255
    out = np.asarray(score(a, a[::-1]))
    assert out.shape == (5, 1) and ((out >= 0) & (out <= 1)).all()
    # label 1 (same) pays (1 - p)^2, label 0 pays p^2
    loss = tta.keras_io_loss(np.array([1.0, 0.0]), np.array([[0.25], [0.25]], np.float32))
    assert float(loss) == pytest.approx((0.75**2 + 0.25**2) / 2)


def test_first_crossing_and_summary():
    curve = [{"seconds": 5.0, "test_accuracy": 0.9}, {"seconds": 9.0, "test_accuracy": 0.975},
             {"seconds": 14.0, "test_accuracy": 0.96}]
    assert tta.first_crossing(curve, 0.97) == 9.0
    assert tta.first_crossing(curve, 0.99) is None
    runs = [{"method": m, "seed": s, "to_target_s": {"0.97": t97, "0.99": t99},
             "final_accuracy": 0.98, "prepare_s": 1.0, "peak_rss_mib": 1000.0}
            for m, s, t97, t99 in [("course", 0, 10.0, 30.0), ("keras_io", 0, 40.0, None),
                                   ("course", 1, 12.0, None), ("keras_io", 1, 24.0, None)]]
    s = tta.summarize(runs, cap=100.0)
    assert s["methods"]["course"]["median_to_0.97"] == pytest.approx(11.0)
    assert s["methods"]["course"]["median_to_0.99"] is None     # one seed never got there
    assert s["ratio_keras_io_over_course"]["0.97"] == [2.0, 4.0]
    assert s["ratio_keras_io_over_course"]["0.99"] == []
    text = tta.markdown({"machine": "test", "summary": s, "errors": []})
    assert "30 s, not reached" in text and "- 97%: 2.0x, 4.0x" in text
