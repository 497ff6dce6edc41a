"""How notebook 06 compares the recipe's embeddings: scripts/scoring_06.py's scorings and rule,
and the typed reader of 06_scoring.json (round trip, refusals naming file and field)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import results
from scripts import scoring_06


def _scored(right) -> results.ScoredTasks:
    right = np.asarray(right, bool)
    return results.ScoredTasks(float(right.mean()), right)


def _family(n: int, chosen: str = "euclidean", clusters=True) -> results.ScoringChoice:
    rng = np.random.default_rng(n)
    validation = {k: _scored(rng.random(n) < 0.8) for k in scoring_06.SCORINGS}
    test = {k: _scored(rng.random(7) < 0.8) for k in dict.fromkeys(["euclidean", chosen])}
    return results.ScoringChoice("tasks", validation,
                                 tuple(f"c{i % 5}" for i in range(n)) if clusters else None,
                                 chosen, test)


def _study(**changes) -> results.ScoringStudy:
    fields = dict(recipe="r", split="background_small1", image_size=28, seed=0,
                  scorings={k: dict(v) for k, v in scoring_06.SCORINGS.items()}, rule=scoring_06.RULE,
                  lake=_family(20, "cosine"), mnist=_family(12, clusters=False),
                  machine={"cpus": 2, "load_average": [1.0, 1.0, 1.0]}, total_minutes=1.0, date="2026-12-07")
    return results.ScoringStudy(**(fields | changes))


def test_the_study_survives_a_round_trip():
    study = _study()
    back = results.ScoringStudy.from_json(study.to_json())
    assert back.to_json() == study.to_json()
    assert back.lake.chosen == "cosine" and back.mnist.clusters is None
    assert np.array_equal(back.lake.test["cosine"].outcomes, study.lake.test["cosine"].outcomes)


@pytest.mark.parametrize("spoil, message", [
    (lambda d: d["scorings"]["cosine"].update(metric="manhattan"), "scorings.cosine needs"),
    (lambda d: d["scorings"]["cosine"].update(centre="median"), "scorings.cosine needs"),
    (lambda d: d["lake"]["validation"].pop("cosine"), "lake validation must score every"),
    (lambda d: d["lake"]["clusters"].pop(), "lake every scoring must face the same tasks"),
    (lambda d: d["mnist"]["test"].update(cosine=d["mnist"]["test"]["euclidean"]),
     "mnist test must score the baseline 'euclidean' and the chosen 'euclidean' only"),
    (lambda d: d["lake"].update(chosen="manhattan"), "lake test must score"),
    (lambda d: d.pop("mnist"), "has no 'mnist'"),
])
def test_bad_content_is_refused_naming_file_and_field(spoil, message):
    d = _study().to_json()
    spoil(d)
    with pytest.raises(ValueError, match=message) as err:
        results.ScoringStudy.from_json(d, "z/06_scoring.json")
    assert str(err.value).startswith("z/06_scoring.json: ")


def test_the_rule_keeps_the_baseline_unless_a_later_scoring_detectably_beats_it():
    rng = np.random.default_rng(0)
    base = rng.random(1000) < 0.6
    much_better = base | (rng.random(1000) < 0.5)                   # about +20 points
    barely = base.copy()
    barely[np.flatnonzero(~base)[:3]] = True                         # +0.3 points
    assert results.choose_scoring({"euclidean": base, "a": much_better, "b": barely}).chosen == "a"
    assert results.choose_scoring({"euclidean": base, "b": barely}).chosen == "euclidean"
    assert results.choose_scoring({"euclidean": base, "worse": base & (rng.random(1000) < 0.5)}
                             ).chosen == "euclidean"
    clusters = np.arange(1000) // 10
    assert results.choose_scoring({"euclidean": base, "a": much_better}, clusters).chosen == "a"


def test_every_scoring_scores_the_same_tasks_and_centring_is_what_it_says():
    rng = np.random.default_rng(3)
    images = rng.random((12, 4, 4)).astype(np.float32)
    inputs = keras.Input((4, 4))
    encoder = keras.Model(inputs, keras.layers.Flatten()(inputs))   # embedding = pixels
    query = np.array([9, 10, 11])
    support = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    answer = np.array([0, 1, 2])
    mean = images.reshape(12, -1).mean(axis=0)
    out = scoring_06.score_all(encoder, images, (query, support, answer), mean)
    assert list(out) == list(scoring_06.SCORINGS)
    assert all(v.outcomes.shape == (3,) for v in out.values())
    # the CL2N scoring picks the candidate at the smallest angle about the training mean
    for name, how in scoring_06.SCORINGS.items():
        if how["centre"] == "training mean":
            picks = []
            for t in range(3):
                c = images[support[t]].reshape(3, -1) - mean
                q = images[query[t]].ravel() - mean
                picks.append(np.argmax(c @ q / np.linalg.norm(c, axis=1)))
            assert np.array_equal(out[name].outcomes, np.array(picks) == answer), name
    only = scoring_06.score_all(encoder, images, (query, support, answer), mean, ["cosine"])
    assert list(only) == ["cosine"]


def test_the_study_is_written_and_read_back_through_the_typed_reader(tmp_path):
    study = _study()
    path = tmp_path / "results" / "06_scoring.json"
    path.parent.mkdir()
    results.write_study(path, study)
    back = results.read_scoring("results/06_scoring.json", notebooks_dir=tmp_path)
    assert back.to_json() == study.to_json()


def test_a_family_recomputes_the_rule_s_choice_from_its_file():
    rng = np.random.default_rng(5)
    base = rng.random(600) < 0.6
    validation = {"euclidean": _scored(base), "cosine": _scored(base | (rng.random(600) < 0.5)),
                  "centred on the training mean, cosine": _scored(base),
                  "centred on the task's candidates, cosine": _scored(base)}
    family = results.ScoringChoice("t", validation, tuple(str(i % 60) for i in range(600)),
                                   "cosine", {k: _scored(base[:7]) for k in ("euclidean", "cosine")})
    assert family.choice().chosen == "cosine"
    assert results.choose_scoring({k: v.outcomes for k, v in validation.items()}).chosen == "cosine"


def test_groups_split_clusters_and_accuracy_is_given_per_group():
    right = np.array([True, False, True, True])
    family = results.ScoringChoice(
        "t", {"euclidean": _scored(right), "cosine": _scored(~right)},
        ("Greek/a", "Greek/b", "Latin/a", "Latin/c"), "euclidean",
        {"euclidean": _scored(right[:2])})
    assert family.groups().tolist() == ["Greek", "Greek", "Latin", "Latin"]
    assert family.accuracy_by_group() == {"euclidean": {"Greek": 0.5, "Latin": 1.0},
                                          "cosine": {"Greek": 0.5, "Latin": 0.0}}
    with pytest.raises(ValueError, match="no clusters"):
        _family(12, clusters=False).accuracy_by_group()
