"""The benchmark's non-timing logic: the baseline sampler, summaries, the plan, the report.

No timing is asserted here; the figures themselves come from ``make bench``.
"""

import numpy as np
import pytest

from benchmarks import bench


@pytest.fixture
def toy(class_coded_images):
    return class_coded_images(n=300, n_classes=5, shape=(3, 3))


def test_tutorial_pairs_labels_partners_and_anchor_order(toy):
    x, y = toy
    images, labels = bench.tutorial_pairs(x, y, 800, seed=1)
    index_pairs, index_labels = bench.tutorial_pairs(x, y, 800, seed=1, images=False)
    assert images.shape == (800, 2, 3, 3) and index_pairs.shape == (800, 2)
    np.testing.assert_array_equal(labels, np.tile([1.0, 0.0], 400))
    np.testing.assert_array_equal(index_labels, labels)
    np.testing.assert_array_equal(images, x[index_pairs])          # same draws either way
    same = y[index_pairs[:, 0]] == y[index_pairs[:, 1]]
    np.testing.assert_array_equal(same, labels == 1)
    np.testing.assert_array_equal(index_pairs[::2, 0], np.arange(400) % 300)  # loop over x
    assert len(np.unique(y[index_pairs[1::2, 1]])) == 5            # negatives reach all classes


def test_tutorial_pairs_seeded(toy):
    x, y = toy
    a, _ = bench.tutorial_pairs(x, y, 100, seed=3, images=False)
    b, _ = bench.tutorial_pairs(x, y, 100, seed=3, images=False)
    c, _ = bench.tutorial_pairs(x, y, 100, seed=4, images=False)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("num_pairs", [0, 3, 2.0, True, "8"])
def test_tutorial_pairs_rejects_bad_num_pairs(toy, num_pairs):
    with pytest.raises(ValueError, match="num_pairs"):
        bench.tutorial_pairs(*toy, num_pairs)


def test_tutorial_pairs_rejects_bad_labels(toy):
    x, y = toy
    with pytest.raises(ValueError, match="two classes"):
        bench.tutorial_pairs(x, np.zeros(300, int), 10)
    with pytest.raises(ValueError, match="one label per example"):
        bench.tutorial_pairs(x, y[:-1], 10)


def test_summarize():
    s = bench.summarize([3, 1, 2, 10])
    assert (s["median"], s["min"], s["max"], s["n"]) == (2.5, 1.0, 10.0, 4)
    with pytest.raises(ValueError, match="values"):
        bench.summarize([])


def test_plan_sections_and_bad_input():
    full = bench.plan()
    assert {k.split("/")[0] for k in full} == set(bench.SECTIONS)
    assert not any("mixed" in k for k in full)
    assert any("mixed" in k for k in bench.plan(gpu=True))
    quick = bench.plan(quick=True, only=["knobs"])
    assert quick and all(k.startswith("knobs/") for k in quick)
    for cfg in quick.values():                   # every batch size trains on the same pairs
        assert cfg["pairs"] % (cfg["batch"] * cfg["repeats"]) == 0
    for bad in (["speed"], []):
        with pytest.raises(ValueError, match="only"):
            bench.plan(only=bad)


def _summary(median):
    return bench.summarize([median * 0.9, median, median * 1.1])


@pytest.fixture
def report():
    """A made-up report with every section: the numbers only exercise the arithmetic."""
    sampling = {name: {"pairs_per_s": _summary(rate), "setup_s": _summary(0.0)}
                for name, rate in (("loop_images", 1e4), ("loop_indices", 1e5),
                                   ("pair_dataset_b128", 2e6), ("pair_dataset_b1024", 5e5),
                                   ("pair_indices", 1e7))}
    sampling["pair_dataset_b128"]["setup_s"] = _summary(0.3)
    load = {"load_before": 1.0, "load_after": 2.0}
    compare = {"batch": 128, "steps": 50, "jit_compile": False,
               "pipeline": {"pairs_per_s": _summary(600), "step_ms": _summary(200)},
               "cached": {"pairs_per_s": _summary(610), "step_ms": _summary(190)},
               "numpy": {"pairs_per_s": _summary(400), "step_ms": _summary(300)},
               "pipeline_vs_numpy": _summary(1.5),
               "pipeline_step_vs_cached_step": _summary(1.02), **load}
    results = {
        "sampling": {"num_pairs": 120_000, **sampling, **load},
        "training/compare": compare,
        "training/memory_pipeline": {"rss_after_load_mb": 900, "peak_rss_mb": 1500, **load},
        "training/memory_numpy": {"rss_after_load_mb": 900, "peak_rss_mb": 2500,
                                  "make_pairs_s": 100.0, "materialised_mb": 718,
                                  "config": {"epoch_pairs": 120_000}, **load},
        "knobs/jit=off/b64": {"batch": 64, "pairs_per_s": _summary(500), "step_ms": _summary(120),
                              "pairs_trained": 18_496, "test_auc": 0.9, **load},
        "knobs/jit=on/b64": {"error": "Traceback ...\nXlaRuntimeError: boom",
                             "config": {"batch": 64}},
    }
    derived = bench.derive(results)
    return {"date": "today", "quick": False, "load": [1.0, 2.0], "results": results,
            "derived": derived, "targets": bench.targets(results, derived),
            "course": {"fast": {}, "full": {}},
            "machine": {"cpu": "test cpu", "cores": 2, "memory_gb": 4.0, "gpu": False,
                        "python": "3", "tensorflow": "2", "keras": "3"}}


def test_derive_ratios(report):
    d = report["derived"]
    assert d["pair_dataset_b128_vs_loop"] == pytest.approx(200)
    assert d["pair_indices_vs_loop"] == pytest.approx(100)
    assert d["training_pipeline_vs_numpy"] == pytest.approx(1.5)
    # tutorial epoch: 100 s building + 120,000 / 400 s training, against 120,000 / 600 s
    assert d["epoch_with_pair_building_vs_pipeline"] == pytest.approx((100 + 300) / 200)


def test_targets_verdicts(report):
    verdicts = {target: verdict for target, _, verdict in report["targets"]}
    assert verdicts["`pair_dataset` image pairs, batch 128: >= 1,000,000 pairs/s"] == "met"
    assert verdicts["`pair_dataset` image pairs, batch 1024: >= 1,000,000 pairs/s"] == "missed"
    assert verdicts["`pair_dataset` b1024 vs loop (images): >= 100x"] == "missed"
    assert verdicts["`pair_indices` vs loop (indices): >= 100x"] == "met"      # exactly 100x
    assert verdicts["step fed by the pipeline vs by one cached batch: <= 1.05x"] == "met"
    assert verdicts["peak RSS, MNIST training fed by the pipeline: <= 1.5 GB"] == "missed"
    empty = bench.targets({}, bench.derive({}))
    assert {verdict for _, _, verdict in empty} == {"n/a (not measured)"}


def test_markdown_tables(report):
    text = bench.markdown(report)
    assert "| `pair_dataset`, batch 128 | images | 2,000,000 (1,800,000–2,200,000) | 200.0x |" \
        in text
    assert "| jit=on | 64 | failed: XlaRuntimeError: boom |" in text
    assert "| jit=off | 64 | 120.0 (108.0–132.0) | 533 |" in text      # 64 pairs per 120 ms
    assert "| `pair_dataset` | 600 (540–660) | 200.0 (180.0–220.0) | 640 |" in text
    assert "skipped: no GPU" in text
    assert "Not run yet: run `make course`" in text
    widths = []                                    # every row of a table has its header's width
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            widths.append(line.count("|"))
        else:
            assert len(set(widths)) <= 1, widths
            widths = []
    report["course"] = {"fast": {"01_introduction.ipynb": 40.0}, "full": {}}
    assert "| 01_introduction.ipynb | 40.0 | n/a |" in bench.markdown(report)


def test_sampling_worker_runs_every_sampler(toy, monkeypatch):
    monkeypatch.setattr(bench, "_load", lambda n_train: toy)     # toy data instead of MNIST
    out = bench.run_in_process({"kind": "sampling", "num_pairs": 2048, "repeats": 1})
    assert set(bench.SAMPLERS) <= set(out)
    assert all(out[name]["pairs_per_s"]["median"] > 0 for name in bench.SAMPLERS)
    assert out["peak_rss_mb"] > 0 and "load_before" in out
