"""The photo-feed benchmark runs end to end in quick mode and writes its report (no timing is
asserted: the ratios depend on the machine)."""

import json

from benchmarks import bench_images


def test_quick_run_writes_a_complete_report(tmp_path):
    report = bench_images.main(["--quick", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "bench_images.json").read_text())
    assert saved["result"]["photos"] == 16 and set(saved["result"]["feeds"]) == set(
        bench_images.FEEDS)
    for row in report["result"]["feeds"].values():
        assert row["input_images_per_s"] > 0 and row["training_images_per_s"] > 0
    assert report["result"]["feeds"]["in memory"]["training_vs_in_memory"] == 1.0
    assert "| cached |" in (tmp_path / "bench_images.md").read_text()
