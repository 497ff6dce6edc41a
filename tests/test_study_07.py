"""scripts/study_07.py without Omniglot or training: the study file it writes reads back
through course_lib.results.read_losses, and a study killed part-way resumes from its partial
file without redoing the runs it holds (training and scoring are replaced by stubs)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from course_lib import oneshot, results, unseen
from scripts import study_07


class _Embed:
    def predict(self, x, batch_size=None, verbose=0):
        return np.random.default_rng(len(x)).normal(size=(len(x), 4)).astype("float32")


def _protocol():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 3)
    x = rng.random((12, 8, 8)).astype("float32")
    return unseen.Protocol(x, y, y // 2, x, y, x, y, [], {})


@pytest.fixture
def stubs(monkeypatch):
    calls = []

    def train(name, margin, seed, steps, protocol, chunks=1):
        calls.append((name, seed, steps))
        if stubs_state["fail_after"] is not None and len(calls) > stubs_state["fail_after"]:
            raise KeyboardInterrupt("killed")
        logged = {"active_triplets": 0.5} if name in ("random triplets", "batch-all") else {}
        log = [{"step": 0}] + [{"step": steps * (i + 1) // chunks, **logged}
                               for i in range(chunks)]
        return SimpleNamespace(embed=_Embed(), seconds=1.0, log=log)

    stubs_state = {"fail_after": None}
    monkeypatch.setattr(study_07, "train", train)
    monkeypatch.setattr(unseen, "omniglot_protocol", lambda *a, **k: _protocol())
    monkeypatch.setattr(unseen, "score_embedding",
                        lambda embed, protocol, shots=(): {"map@r": 0.5, "recall@1": 0.6,
                                                           "one-shot 20-way": 0.7})
    monkeypatch.setattr(oneshot, "score_lake_runs", lambda model, runs: (np.array([0.2]), None))
    monkeypatch.setattr(oneshot, "k_shot_tasks",           # 4 classes: no 20-way task
                        lambda *a, **k: (np.zeros((2, 2, 1), int), np.ones((2, 2, 1), int)))
    return calls, stubs_state


def test_a_killed_study_resumes_where_it_stopped(tmp_path, stubs):
    calls, state = stubs
    out = tmp_path / "results" / "07_losses.json"
    args = ["--steps", "4", "--sweep-steps", "2", "--seeds", "2", "--out", str(out)]
    n_sweep = 2 * sum(c is not None for _, c, _ in study_07.LOSSES.values())
    n_runs = 2 * len(study_07.LOSSES)
    state["fail_after"] = n_sweep + 5              # killed during the 6th run
    with pytest.raises(KeyboardInterrupt):
        study_07.main(args)
    partial = out.with_suffix(".partial.json")
    assert partial.exists() and not out.exists()
    calls.clear()
    state["fail_after"] = None
    study = study_07.main(args + ["--resume"])
    assert len(calls) == n_runs - 5 and all(steps == 4 for _, _, steps in calls)
    assert not partial.exists()
    again = results.read_losses("results/07_losses.json", notebooks_dir=tmp_path)
    assert again.to_json() == study.to_json()
    assert len(again.runs) == n_runs and len(again.sweep) == n_sweep
    assert again.run("random triplets", 1).active is not None
    assert again.run("batch-hard", 0).active is None


def test_resume_ignores_a_partial_file_of_other_settings(tmp_path, stubs):
    calls, _ = stubs
    out = tmp_path / "07_losses.json"
    study_07.main(["--steps", "4", "--sweep-steps", "2", "--seeds", "2", "--out", str(out)])
    out.with_suffix(".partial.json").write_text('{"key": {"steps": 99}, "sweep": [], '
                                                '"runs": []}')
    calls.clear()
    study_07.main(["--steps", "4", "--sweep-steps", "2", "--seeds", "2", "--out", str(out),
                   "--resume"])
    n_sweep = 2 * sum(c is not None for _, c, _ in study_07.LOSSES.values())
    assert len(calls) == n_sweep + 2 * len(study_07.LOSSES)
