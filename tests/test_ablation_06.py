"""scripts/ablation_06.py writes what course_lib.results.read_ablation reads: one row per
variant with its seeds' accuracies (refreshed and stale batch-norm statistics), steps and task
outcomes as booleans. Training is replaced by a stub (the real runs are in the study file)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from course_lib import results
from scripts import ablation_06


def _fake_run(name, seed, seconds):
    right = (np.arange(6) + seed) % 3 != 0                 # 4 of 6 tasks right
    return {"variant": name, "seed": seed, "steps": 10 + seed, "seconds": seconds,
            "accuracy": float(right.mean()), "accuracy_stale": 0.5, "outcomes": right.tolist()}


def _fake_setup(size=28, *args, **kwargs):
    class Setup:
        val_character = tuple(f"Early_Aramaic/character{i:02d}" for i in range(6))
    return Setup()


def test_the_script_writes_what_the_typed_reader_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(ablation_06.ov, "run", _fake_run)
    monkeypatch.setattr(ablation_06.ov, "setup", _fake_setup)
    out = tmp_path / "ablation.json"
    report = ablation_06.main(["--seeds", "2", "--variants", "conv4_bn", "no_bn",
                               "--seconds", "3", "--out", str(out)])
    study = results.read_ablation(out.name, notebooks_dir=tmp_path)
    assert study.to_json() == json.loads(out.read_text()) == report
    row = study.row("conv4_bn")
    assert row.accuracies == (pytest.approx(4 / 6), pytest.approx(4 / 6))
    assert row.accuracies_stale == (0.5, 0.5) and row.steps == (10, 11)
    assert row.tasks[0].dtype == bool and row.tasks[1].tolist() == [True, True, False] * 2
    assert study.task_construction == "lake" and len(study.task_characters) == 6
    assert study.seconds_per_run == 3.0 and study.seeds == 2
    assert not list(tmp_path.glob(".*.tmp*"))                  # written atomically
