"""The typed readers of the study files (course_lib.results): the committed files read and
write back unchanged, task outcomes come out as booleans, bad content is refused naming the
file and the field; and the library pieces the studies rest on (batch-norm statistics
re-estimated, validation tasks built like Lake's runs, the cost-aware choice)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from course_lib import evaluate, models, oneshot, results

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name, reader", [("06_ablation.json", results.read_ablation),
                                          ("06_selection.json", results.read_selection),
                                          ("06_recipe.json", results.read_recipe),
                                          ("06_selection_lake.json", results.read_selection),
                                          ("06_mnist.json", results.read_mnist_transfer),
                                          ("06_mnist_explore.json", results.read_mnist_transfer),
                                          ("06_mnist_confirm.json", results.read_mnist_transfer),
                                          ("06_selection_box.json", results.read_selection),
                                          ("06_selection_way.json", results.read_selection),
                                          ("07_losses.json", results.read_losses)])
def test_the_committed_studies_read_and_write_back_unchanged(name, reader, tmp_path):
    study = reader(f"results/{name}", notebooks_dir=NOTEBOOKS)
    original = json.loads((NOTEBOOKS / "results" / name).read_text())
    assert study.to_json() == original
    results.write_study(tmp_path / name, study)
    assert json.loads((tmp_path / name).read_text()) == original


def test_selection_outcomes_are_booleans_that_give_the_recorded_accuracy():
    study = results.read_selection(notebooks_dir=NOTEBOOKS)
    run = study.run("ensemble3", "Greek")
    assert run.members == 3 and run.total_steps == 3 * run.steps
    plain = run.final["plain"]
    assert plain.outcomes.dtype == bool and plain.outcomes.size == study.val_tasks
    assert plain.accuracy == pytest.approx(plain.outcomes.mean())
    folds = study.folds(["no_bn", "ensemble3"], "shifts")
    assert len(folds) == 5
    pooled = study.outcomes("no_bn", "shifts", folds)
    assert pooled.size == 5 * study.val_tasks
    assert study.characters(folds).size == pooled.size


def _selection():
    return json.loads((NOTEBOOKS / "results" / "06_selection.json").read_text())


def _ablation():
    return json.loads((NOTEBOOKS / "results" / "06_ablation.json").read_text())


@pytest.mark.parametrize("spoil, message", [
    (lambda d: d["runs"][7]["final"]["plain"].update(tasks="01x"), r"runs\[7\].final.plain"),
    (lambda d: d["runs"][7]["final"]["plain"].update(correct=1), "'correct' or 'accuracy'"),
    (lambda d: d["runs"][0].pop("curve"), r"runs\[0\] has no 'curve'"),
    (lambda d: d["runs"][0].update(seed="0"), r"runs\[0\] field 'seed' must be int"),
    (lambda d: d["runs"][0].update(candidate="resnet"), "not among"),
    (lambda d: d.update(val_tasks=300), "val_tasks=300"),
    (lambda d: d["runs"].append(copy.deepcopy(d["runs"][0])), "two runs of one candidate"),
])
def test_bad_selection_content_is_refused_naming_file_and_field(spoil, message):
    d = _selection()
    spoil(d)
    with pytest.raises(ValueError, match=message) as err:
        results.SelectionStudy.from_json(d, "some/06_selection.json")
    assert str(err.value).startswith("some/06_selection.json: ")


@pytest.mark.parametrize("spoil, message", [
    (lambda d: d["rows"][1].update(mean=0.5), r"rows\[1\] mean 0.5 is not the mean"),
    (lambda d: d["rows"][1].update(accuracies=[0.2, 0.3]), "one accuracy and one step count"),
    (lambda d: d.update(seeds=4), "seeds=4"),
    (lambda d: d["rows"][2].update(variant="koch"), "distinct variants"),
    (lambda d: d["rows"][0].update(tasks=["1", "0", "1"]), "tasks do not give"),
    (lambda d: d.pop("machine"), "has no 'machine'"),
])
def test_bad_ablation_content_is_refused_naming_file_and_field(spoil, message):
    d = _ablation()
    spoil(d)
    with pytest.raises(ValueError, match=message) as err:
        results.AblationStudy.from_json(d, "x/06_ablation.json")
    assert str(err.value).startswith("x/06_ablation.json: ")


def test_missing_runs_and_rows_are_named():
    study = results.read_selection(notebooks_dir=NOTEBOOKS)
    with pytest.raises(KeyError, match="no run of 'bn' seed 3"):
        study.run("bn", "Greek", seed=3)
    with pytest.raises(KeyError, match="no 'shifts' scoring"):
        study.outcomes("bn", "shifts", ["Greek"])
    with pytest.raises(KeyError, match="no row 'resnet'"):
        results.read_ablation(notebooks_dir=NOTEBOOKS).row("resnet")
    with pytest.raises(TypeError, match="study must be one of .*RecipeStudy.*MnistTransferStudy.*got dict"):
        results.write_study("x.json", {"rows": []})


def _recipe():
    return json.loads((NOTEBOOKS / "results" / "06_recipe.json").read_text())


def test_recipe_runs_are_typed_and_their_outcomes_give_the_recorded_accuracy():
    study = results.read_recipe(notebooks_dir=NOTEBOOKS)
    full = study.run("recipe")
    assert full.members == 3 and len(full.seconds) == 3 and full.minutes > 0
    for key in results.RECIPE_SCORES:
        scored = full.scores[key]
        assert scored.outcomes.dtype == bool
        assert scored.outcomes.size == (400 if key.startswith("lake") else study.mnist_tasks)
        assert scored.accuracy == pytest.approx(scored.outcomes.mean())
    with pytest.raises(KeyError, match="no run 'resnet'"):
        study.run("resnet")


@pytest.mark.parametrize("spoil, message", [
    (lambda d: d["runs"][0]["scores"]["lake_plain"].update(tasks="01x"),
     r"runs\[0\].scores.lake_plain"),
    (lambda d: d["runs"][0]["scores"]["mnist_plain"].update(correct=1), "'correct' or 'accuracy'"),
    (lambda d: d["runs"][1]["scores"].pop("lake_shifts"), "must have exactly"),
    (lambda d: d["runs"][1].update(seconds=[1.0]), "one time per net"),
    (lambda d: d.update(mnist_tasks=300), "not 300"),
    (lambda d: d["runs"].append(copy.deepcopy(d["runs"][0])), "distinct names"),
    (lambda d: d.pop("machine"), "has no 'machine'"),
])
def test_bad_recipe_content_is_refused_naming_file_and_field(spoil, message):
    d = _recipe()
    spoil(d)
    with pytest.raises(ValueError, match=message) as err:
        results.RecipeStudy.from_json(d, "y/06_recipe.json")
    assert str(err.value).startswith("y/06_recipe.json: ")


def test_outcome_text():
    assert results.outcome_text([True, False, 1]) == "101"
    with pytest.raises(ValueError):
        results.outcome_text([0, 2])


# --------------------------------------------------------------------------- batch norm


def test_refresh_batch_norm_sets_the_statistics_of_the_training_images():
    keras.utils.set_random_seed(0)
    net = models.conv4_encoder((8, 8), 4, filters=3, blocks=1)
    bn = next(layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization))
    rng = np.random.default_rng(0)
    images = (3.0 + 2.0 * rng.random((64, 8, 8))).astype(np.float32)
    conv = keras.Model(net.input, net.layers[2].output)       # the conv's output, before bn
    pre = conv.predict(images, verbose=0)
    assert np.allclose(bn.moving_mean.numpy(), 0.0)             # as built: stale
    assert models.refresh_batch_norm(net, images, batch_size=64) == 1
    np.testing.assert_allclose(bn.moving_mean.numpy(), pre.mean(axis=(0, 1, 2)), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), pre.var(axis=(0, 1, 2)), rtol=1e-3)
    assert bn.momentum == pytest.approx(0.99)                   # restored
    assert models.refresh_batch_norm(models.conv4_encoder((8, 8), 4, filters=3, blocks=1,
                                                          batch_norm=False), images) == 0
    with pytest.raises(ValueError, match="at least 2 images"):
        models.refresh_batch_norm(net, images[:1])
    with pytest.raises(TypeError, match="model must be"):
        models.refresh_batch_norm("net", images)


# --------------------------------------------------------------------------- Lake-style tasks


def test_drawer_tasks_are_built_like_lakes_runs():
    classes = np.repeat(np.arange(12), 5)                 # 12 classes x 5 drawers
    drawers = np.tile(np.arange(1, 6), 12)
    groups = classes // 6                                  # 2 alphabets of 6 classes
    q, s, a = oneshot.one_shot_tasks(classes, 4, 50, seed=1, groups=groups, drawers=drawers)
    assert np.unique(q).size == 50                         # distinct queries
    assert (drawers[s] == drawers[s[:, :1]]).all()         # candidates by one drawer
    assert (drawers[q] != drawers[s[:, 0]]).all()          # the query by another
    assert (classes[s[np.arange(50), a]] == classes[q]).all()
    assert (groups[s] == groups[q][:, None]).all()         # within one alphabet
    with pytest.raises(ValueError, match="distinct queries"):
        oneshot.one_shot_tasks(classes, 4, 61, groups=groups, drawers=drawers)
    with pytest.raises(ValueError, match="drawers"):
        oneshot.one_shot_tasks(classes, 4, 5, drawers=drawers[:-1])


# --------------------------------------------------------------------------- cost-aware choice


def _outcomes(rate, n, seed):
    return np.random.default_rng(seed).random(n) < rate


def test_choose_cheapest_pays_only_for_a_detectable_gain():
    base = _outcomes(0.7, 2000, 0)
    lift = base | _outcomes(0.3, 2000, 1)                 # much better, on the same tasks
    tiny = lift.copy()
    tiny[np.flatnonzero(~lift)[:3]] = True                # 3 more tasks right: undetectable
    runs = {"cheap": base, "better": lift, "a bit more": tiny}
    choice = evaluate.choose_cheapest(runs, {"cheap": 1, "better": 3, "a bit more": 15},
                                      paired=True)
    assert choice.chosen == "better"
    assert choice.beaten_by["cheap"] == ["better", "a bit more"]
    assert choice.beaten_by["better"] == [] and len(choice.comparisons) == 3
    assert all(c.family == 3 for c in choice.comparisons.values())
    assert "chosen: better (cost 3)" in str(choice)
    # the same gain made free: the better one is also the cheapest
    assert evaluate.choose_cheapest(runs, {"cheap": 2, "better": 1, "a bit more": 15},
                                    paired=True).chosen == "better"
    clusters = np.arange(2000) % 50
    clustered = evaluate.choose_cheapest(runs, {"cheap": 1, "better": 3, "a bit more": 15},
                                         paired=True, clusters=clusters)
    assert "cluster-robust" in clustered.comparisons[("better", "cheap")].method


def test_choose_cheapest_refuses_bad_costs():
    runs = {"a": _outcomes(0.5, 100, 0), "b": _outcomes(0.5, 100, 1)}
    with pytest.raises(ValueError, match="exactly the methods"):
        evaluate.choose_cheapest(runs, {"a": 1}, paired=True)
    with pytest.raises(ValueError, match=r"costs\['b'\]"):
        evaluate.choose_cheapest(runs, {"a": 1, "b": 0}, paired=True)
    with pytest.raises(TypeError, match="costs must be a mapping"):
        evaluate.choose_cheapest(runs, [1, 2], paired=True)


def _loss_study_json():
    """A small study file of notebook 07's shape: 2 losses x 2 seeds."""
    def run(loss, seed, margin, active=None):
        out = {"loss": loss, "seed": seed, "margin": margin,
               "scores": {"map@r": 0.3 + 0.1 * seed, "recall@1": 0.5}, "seconds": 10.5}
        if active:
            out.update(active=active, active_steps=[50, 100])
        return out
    return {"what": "test", "settings": {"p": 16, "k": 3}, "steps": 100, "sweep_steps": 50,
            "seeds": [0, 1],
            "sweep": [{"loss": "batch-hard", "margin": 0.1, "validation map@r": 0.4}],
            "margins": {"batch-hard": 0.1, "N-way": None},
            "runs": [run("batch-hard", 0, 0.1, [0.5, 0.25]), run("N-way", 0, None),
                     run("batch-hard", 1, 0.1, [0.6, 0.3]), run("N-way", 1, None)],
            "pixels": {"map@r": 0.1, "recall@1": 0.3},
            "machine": {"cpus": 2, "processor": "x", "load_average": [1.0, 1.0, 1.0]},
            "total_minutes": 1.0, "date": "2026-12-02"}


def test_loss_study_round_trip(tmp_path):
    d = _loss_study_json()
    study = results.LossStudy.from_json(copy.deepcopy(d), "x/07_losses.json")
    assert study.to_json() == d
    path = results.write_study(tmp_path / "results" / "07_losses.json", study)
    again = results.read_losses("results/07_losses.json", notebooks_dir=tmp_path)
    assert path.exists() and again.to_json() == d
    assert again.losses == ["batch-hard", "N-way"]
    np.testing.assert_allclose(again.scores("batch-hard", "map@r"), [0.3, 0.4])
    assert again.run("batch-hard", 1).active == (0.6, 0.3)
    assert again.run("N-way", 0).active is None and again.margins["N-way"] is None
    assert list(again.table().columns[:4]) == ["loss", "seed", "margin", "seconds"]
    with pytest.raises(KeyError, match="no run of 'semi-hard' with seed 0"):
        again.run("semi-hard", 0)
    with pytest.raises(KeyError, match="no metric 'spread'"):
        again.scores("N-way", "spread")
    assert again.headline(["map@r"]) == pytest.approx({"map_at_r_batch-hard": 0.35,
                                                        "map_at_r_N-way": again.scores(
                                                            "N-way", "map@r").mean()})
    with pytest.raises(KeyError, match="no metric 'spread'"):
        again.headline(["spread"])


@pytest.mark.parametrize("spoil, message", [
    (lambda d: d["runs"].pop(), r"runs of 'N-way' for seeds \[0\]"),
    (lambda d: d["runs"].append(copy.deepcopy(d["runs"][0])), "at most one per loss and seed"),
    (lambda d: d["runs"][0].update(margin=0.3), r"runs\[0\] trained with margin 0.3"),
    (lambda d: d["margins"].pop("N-way"), "no chosen margin for 'N-way'"),
    (lambda d: d["runs"][0].update(active=[0.5]), "one active fraction per step"),
    (lambda d: d["runs"][0].update(active=[0.5, 1.5]), r"must lie in \[0, 1\]"),
    (lambda d: d["runs"][1]["scores"].update(recall="high"), "must map metric names"),
    (lambda d: d["sweep"][0].pop("margin"), r"sweep\[0\] has no 'margin'"),
    (lambda d: d.pop("machine"), "has no 'machine'"),
])
def test_bad_loss_study_content_is_refused_naming_file_and_field(spoil, message):
    d = _loss_study_json()
    spoil(d)
    with pytest.raises(ValueError, match=message) as err:
        results.LossStudy.from_json(d, "x/07_losses.json")
    assert str(err.value).startswith("x/07_losses.json: ")


def test_study_machine_records_the_software_versions():
    """A study file names the versions a re-run must match to reproduce it."""
    from importlib.metadata import version

    from benchmarks import common

    machine = common.study_machine()
    assert machine["cpus"] >= 1 and len(machine["load_average"]) == 3
    assert set(machine["versions"]) == set(common.STUDY_PACKAGES)
    assert machine["versions"]["numpy"] == version("numpy")
    assert machine["processor"] and isinstance(machine["processor"], str)
    assert machine["code"]["commit"] == "unknown" or len(machine["code"]["commit"]) == 40
    assert machine["written"].endswith("Z") and machine["written"][:2] == "20"
    assert machine["started"] <= machine["written"]          # ISO 8601 in UTC sorts as time


def test_study_machine_records_the_code_as_it_was_when_the_study_started(monkeypatch):
    """A commit made while a study runs must not be recorded as the code that ran."""
    from benchmarks import common

    at_start = common.study_machine()["code"]
    monkeypatch.setattr(common, "code_version", lambda: {"commit": "f" * 40,
                                                         "uncommitted_changes": False})
    assert common.study_machine()["code"] == at_start


def test_a_resumed_study_counts_the_minutes_of_the_invocations_it_resumes(tmp_path):
    """A study finished over two invocations reports the time of both, not the last one's."""
    out = tmp_path / "study.json"
    first = results.StudyProgress(out, {"k": 1})
    first._earlier_minutes = 14.0                     # as if the first part had run 14 minutes
    first.add_sweep("loss", 0.1, 0.5)
    assert json.loads(out.with_suffix(".partial.json").read_text())["minutes"] >= 14.0
    resumed = results.StudyProgress(out, {"k": 1}, resume=True)
    assert 14.0 <= resumed.minutes() < 15.0 and resumed.sweep_score("loss", 0.1) == 0.5
    assert results.StudyProgress(out, {"k": 2}, resume=True).minutes() < 1.0
