"""scripts/select_06.py: bad candidate names are refused, and a new run adds to the results
file (one run per candidate, seed and held-out alphabet) without losing the runs already there.
No Omniglot is read: training is replaced by a stub, or runs a few steps on random images in the
shape of the real setup (the training itself runs in notebook 06's stored run)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from course_lib import evaluate, results
from scripts import select_06


def _fake_train(name, seed, check_every, steps=None, held_out="Early_Aramaic", save_dir=None):
    acc = {"no_bn": 0.8, "bn": 0.7}.get(name, 0.5) + seed / 100
    return {"candidate": name, "seed": seed, "held_out": held_out, "steps": 1000,
            "curve": [[500, 1.0, acc - 0.1], [1000, 2.0, acc]]}


def test_unknown_candidate_is_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        select_06.main(["--candidates", "no_bn", "resnet"])
    assert "--candidates: unknown ['resnet']" in capsys.readouterr().err


def test_runs_are_added_and_a_rerun_replaces_only_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(select_06, "train", _fake_train)
    monkeypatch.setattr(select_06.ov, "setup", _tiny_setup)
    out = tmp_path / "selection.json"
    select_06.main(["--candidates", "no_bn", "bn", "--out", str(out)])
    first = json.loads(out.read_text())
    assert [(r["candidate"], r["seed"]) for r in first["runs"]] == [("no_bn", 0), ("bn", 0)]
    assert first["val_tasks"] == 6                          # the tiny setup's tasks

    select_06.main(["--candidates", "bn", "--seeds", "2", "--held-out", "Early_Aramaic", "Greek",
                    "--out", str(out)])
    second = json.loads(out.read_text())
    keys = sorted((r["candidate"], r["seed"], r["held_out"]) for r in second["runs"])
    assert keys == [("bn", 0, "Early_Aramaic"), ("bn", 0, "Greek"), ("bn", 1, "Early_Aramaic"),
                    ("bn", 1, "Greek"), ("no_bn", 0, "Early_Aramaic")]
    kept = next(r for r in second["runs"] if r["candidate"] == "no_bn")
    assert kept == first["runs"][0]
    assert set(second["candidates"]) == {"no_bn", "bn"}
    assert [e["date"] for e in second["earlier"]] == [first["date"]]  # once, not per run
    # every fold's task characters, under the construction its runs used (the stub's: older)
    assert sorted(second["task_characters"]["random"]) == ["Early_Aramaic", "Greek"]
    assert all(len(v) == 6 for v in second["task_characters"]["random"].values())


def test_first_seed_trains_only_the_later_seeds(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(select_06, "train", _fake_train)
    monkeypatch.setattr(select_06.ov, "setup", _tiny_setup)
    out = tmp_path / "selection.json"
    select_06.main(["--candidates", "bn", "--out", str(out)])
    select_06.main(["--candidates", "bn", "--first-seed", "1", "--out", str(out)])
    runs = json.loads(out.read_text())["runs"]
    assert sorted(r["seed"] for r in runs) == [0, 1]
    with pytest.raises(SystemExit):
        select_06.main(["--first-seed", "-1", "--out", str(out)])
    assert "--first-seed >= 0" in capsys.readouterr().err


def test_the_writer_and_the_typed_reader_agree(tmp_path, monkeypatch):
    """What the script writes reads back through course_lib.results with booleans for the
    task outcomes, and writing the typed study again gives the same file."""
    def scored(name, seed, check_every, steps=None, held_out="Early_Aramaic", save_dir=None):
        run = _fake_train(name, seed, check_every, steps, held_out, save_dir)
        right = np.arange(6) < (4 if name == "no_bn" else 3)
        run["final"] = {"plain": {"accuracy": float(right.mean()), "correct": int(right.sum()),
                                  "tasks": results.outcome_text(right)}}
        return run | {"tasks": "lake"}

    monkeypatch.setattr(select_06, "train", scored)
    monkeypatch.setattr(select_06.ov, "setup", _tiny_setup)
    out = tmp_path / "selection.json"
    select_06.main(["--candidates", "no_bn", "bn", "--held-out", "Greek", "Latin",
                    "--out", str(out)])
    study = results.read_selection(out.name, notebooks_dir=tmp_path)
    assert study.to_json() == json.loads(out.read_text())
    pooled = study.outcomes("no_bn", "plain", study.folds(["no_bn", "bn"]))
    assert pooled.dtype == bool and pooled.tolist() == ([True] * 4 + [False] * 2) * 2
    chars = study.characters(["Greek", "Latin"], "lake")
    assert chars.shape == (12,) and chars[0].startswith("Greek/") and chars[6].startswith("Latin/")
    assert study.run("bn", "Latin").end == pytest.approx(0.7)
    copy = tmp_path / "copy.json"
    results.write_study(copy, study)
    assert copy.read_text() == out.read_text()
    assert not list(tmp_path.glob(".*.tmp*"))                       # written atomically


def _tiny_setup(size=28, validation=("Early_Aramaic",), tasks="lake", box=None):
    """Random images in the shape of the real setup: 2 alphabets of 20 classes, 3 drawings each,
    and 6 validation tasks of 20 candidates (their queries' characters named after the
    held-out alphabet)."""
    from benchmarks.oneshot_variants import Setup

    rng = np.random.default_rng(0)
    classes = np.repeat(np.arange(40), 3)
    support = np.stack([rng.permutation(20) * 3 for _ in range(6)])
    return Setup(rng.random((120, size, size), np.float32), classes, classes // 20,
                 rng.random((60, size, size), np.float32), support[:, 0] + 1, support,
                 np.zeros(6, np.int64),
                 tuple(f"{validation[0]}/character{c:02d}" for c in support[:, 0] // 3))


@pytest.mark.slow
def test_an_ensemble_run_scores_every_member_and_records_each_task(monkeypatch, tmp_path):
    monkeypatch.setattr(select_06.ov, "setup", _tiny_setup)
    run = select_06.train("ensemble3", seed=1, check_every=10, steps=2, held_out="Greek",
                          save_dir=tmp_path)
    assert run["saved"] == str(tmp_path / "ensemble3_1_Greek.keras")
    reloaded = keras.models.load_model(run["saved"])
    assert [layer.name for layer in reloaded.layers[1:4]] == ["member_0", "member_1", "member_2"]
    with pytest.raises(FileExistsError, match="ensemble3_1_Greek.keras exists"):
        select_06._save(reloaded, tmp_path, "ensemble3", 1, "Greek")
    assert run["members"] == 3 and [c[0] for c in run["curve"]] == [2, 4, 6]
    assert set(run["final"]) == {"plain", "shifts", "member_0", "member_1", "member_2"}
    for scored in run["final"].values():
        assert len(scored["tasks"]) == 6 and set(scored["tasks"]) <= {"0", "1"}
        assert scored["correct"] == scored["tasks"].count("1")
        assert scored["accuracy"] == pytest.approx(scored["correct"] / 6)
    assert run["final"]["plain"]["accuracy"] == run["curve"][-1][2]


def test_study_compare_pools_folds_and_seeds_clustered_by_character():
    """SelectionStudy.compare is evaluate.compare on the pooled outcomes with the characters
    as clusters, the same character one cluster across seeds."""
    from course_lib import evaluate

    study = results.read_selection("results/06_selection_lake.json")
    pair, folds = ("ensemble3_35px_short", "ensemble3"), ["Balinese", "Greek"]
    got = study.compare(*pair, folds, seeds=[0, 1])
    chars = study.characters(folds, "lake")
    want = evaluate.compare(
        np.concatenate([study.outcomes(pair[0], "plain", folds, s) for s in (0, 1)]),
        np.concatenate([study.outcomes(pair[1], "plain", folds, s) for s in (0, 1)]),
        paired=True, clusters=np.concatenate([chars, chars]))
    assert (got.effect, got.p_value, got.label) == (want.effect, want.p_value,
                                                    "ensemble3_35px_short - ensemble3")
    with pytest.raises(ValueError, match="seeds"):
        study.compare(*pair, folds, seeds=[])


def test_a_study_joined_with_another_file_compares_across_them_on_the_same_tasks():
    from dataclasses import replace

    lake = results.read_selection("results/06_selection_lake.json")
    box = results.read_selection("results/06_selection_box.json")
    folds = ["Balinese", "Early_Aramaic", "Greek", "Korean", "Latin"]
    both = lake.joined(box)
    assert set(both.candidates) == set(lake.candidates) | set(box.candidates)
    assert len(both.runs) == len(lake.runs) + len(box.runs) and "+" in both.source
    got = both.compare("ensemble3_box20", "ensemble3", folds, seeds=[1])
    want = evaluate.compare(box.outcomes("ensemble3_box20", "plain", folds, 1),
                            lake.outcomes("ensemble3", "plain", folds, 1), paired=True,
                            clusters=lake.characters(folds, "lake"))
    assert (got.effect, got.p_value) == (want.effect, want.p_value)
    with pytest.raises(ValueError, match="in both files"):
        lake.joined(lake)
    other = {k: {h: ("x",) * lake.val_tasks for h in v} for k, v in box.task_characters.items()}
    with pytest.raises(ValueError, match="not the same tasks"):
        lake.joined(replace(box, task_characters=other))
    with pytest.raises(ValueError, match="val_tasks differ"):
        lake.joined(replace(box, val_tasks=10))
    with pytest.raises(TypeError, match="SelectionStudy"):
        lake.joined({"runs": []})


def test_the_box20_candidate_sees_fitted_drawings_on_the_same_validation_tasks():
    from benchmarks import oneshot_variants as ov
    from course_lib import data
    from scripts import confirm_06

    c = select_06.CANDIDATES["ensemble3_box20"]
    assert c["box"] == 20 and {k: v for k, v in c.items() if k not in ("box", "label")} == {
        k: v for k, v in select_06.CANDIDATES[confirm_06.BASELINE].items() if k != "label"}
    plain, fitted = ov.setup(28, validation=("Greek",)), ov.setup(28, validation=("Greek",), box=20)
    for name in ("val_query", "val_support", "val_answer", "character", "alphabet"):
        assert np.array_equal(getattr(plain, name), getattr(fitted, name)), name
    assert fitted.images.shape == plain.images.shape
    ink = fitted.images > 0.5
    longer = np.maximum(ink.any(axis=2).sum(axis=1), ink.any(axis=1).sum(axis=1))
    assert longer.max() <= 20 and np.median(longer) >= 19        # the longer side fills the box
    assert data.ink_statistics(fitted.images)["height"] > data.ink_statistics(plain.images)["height"]


def test_the_stored_box20_test_is_read_back_and_compared_by_its_rule(capsys):
    from scripts import confirm_06

    found = confirm_06.main(["--test", "ensemble3_box20", "--compare-only"])
    assert found.effect == pytest.approx(0.0145) and not found.detectable
    assert "does not pass" in capsys.readouterr().out


def test_the_way80_candidate_changes_only_its_episodes_at_the_same_images_per_step():
    from scripts import confirm_06

    c = select_06.CANDIDATES["ensemble3_way80"]
    base = select_06.CANDIDATES[confirm_06.BASELINE]
    changed = {"n_way", "episodes", "rotated_groups", "label"}
    assert {k: v for k, v in c.items() if k not in changed} == {
        k: v for k, v in base.items() if k not in changed}
    assert c["n_way"] * c["episodes"] == 20 * 4 and c["rotated_groups"] is False
    assert confirm_06.TESTS["ensemble3_way80"][2:] == (1, "06_selection_lake.json")
    assert "ensemble3_way80 passes if" in confirm_06.rule("ensemble3_way80")


def test_the_stored_way80_test_is_read_back_and_compared_by_its_rule(capsys):
    from scripts import confirm_06

    found = confirm_06.main(["--test", "ensemble3_way80", "--compare-only"])
    assert found.effect == pytest.approx(0.0095) and not found.detectable
    assert "does not pass" in capsys.readouterr().out


def test_the_combined_candidate_is_both_changes_tested_on_a_fresh_seed_with_its_own_baseline(
        tmp_path, monkeypatch):
    from scripts import confirm_06

    both = select_06.CANDIDATES["ensemble3_box20_way80"]
    box, way = (select_06.CANDIDATES[n] for n in ("ensemble3_box20", "ensemble3_way80"))
    assert {k: v for k, v in both.items() if k != "label"} == {
        **{k: v for k, v in box.items() if k != "label"},
        **{k: v for k, v in way.items() if k != "label"}}
    _, file, seed, baseline_file = confirm_06.TESTS["ensemble3_box20_way80"]
    assert seed == 2 and baseline_file is None and "seed 2" in confirm_06.rule(
        "ensemble3_box20_way80")
    assert seed not in {t.seed for n, t in confirm_06.TESTS.items()
                        if n != "ensemble3_box20_way80"}
    calls = []

    def fake_select(argv):                     # records what would be trained, trains nothing
        calls.append((argv[argv.index("--candidates") + 1], argv[argv.index("--first-seed") + 1]))
        if len(calls) == 2:
            raise SystemExit(0)                # stop before the comparison: no file was written

    monkeypatch.setattr(select_06, "main", fake_select)
    with pytest.raises(SystemExit):
        confirm_06.main(["--test", "ensemble3_box20_way80", "--out",
                         str(tmp_path / "results" / file)])
    assert calls == [("ensemble3", "2"), ("ensemble3_box20_way80", "2")]  # baseline first


def test_the_seed0_replication_trains_only_the_combined_candidate_and_keeps_its_nets(
        tmp_path, monkeypatch):
    from scripts import confirm_06, scoring_06

    t = confirm_06.TESTS["ensemble3_box20_way80_seed0"]
    assert (t.candidate, t.seed, t.baseline_file) == (
        "ensemble3_box20_way80", 0, "06_selection_lake.json")
    assert (scoring_06.FOLD_CANDIDATE, scoring_06.FOLD_SEED) == (t.candidate, t.seed)
    assert scoring_06.FOLD_FILE == t.file
    calls = []

    def fake_select(argv):                     # records what would be trained, trains nothing
        calls.append(argv)
        raise SystemExit(0)

    monkeypatch.setattr(select_06, "main", fake_select)
    with pytest.raises(SystemExit):
        confirm_06.main(["--test", "ensemble3_box20_way80_seed0", "--save-dir",
                         str(tmp_path / "nets"), "--out", str(tmp_path / "results" / t.file)])
    (argv,) = calls                            # the baseline's seed-0 runs are already stored
    assert argv[argv.index("--candidates") + 1] == "ensemble3_box20_way80"
    assert argv[argv.index("--first-seed") + 1] == "0"
    assert argv[argv.index("--save-dir") + 1] == str(tmp_path / "nets")
