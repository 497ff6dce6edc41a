"""scripts/recipe_06.py: a run writes a file the typed reader reads back, a re-run of one name
replaces only that run, and the settings are the ones notebook 06 trains with. Training is
stubbed (the real runs take minutes; notebook 06's stored run checks its live net against the
file); Lake's runs and MNIST are replaced by tiny fakes, so no data is read."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest

from course_lib import results
from scripts import recipe_06

TRAINED_SEEDS = []


def _fake_train(name, omniglot, runs, mnist, save_dir=None, seed=0):
    TRAINED_SEEDS.append(seed)
    r = recipe_06.RUNS[name]
    right = np.arange(400) % (3 if name == "lesson" else 2) == 0
    digits = np.arange(recipe_06.MNIST_TASKS) % 4 != 0
    scores = {k: results.ScoredTasks(float(v.mean()), v) for k, v in (
        ("lake_plain", right), ("lake_shifts", ~right), ("mnist_plain", digits),
        ("mnist_shifts", digits))}
    return results.RecipeScore(name=name, label=r["label"], members=r["members"],
                               steps=r["steps"], seconds=(1.5,) * r["members"], scores=scores)


def test_a_run_is_written_read_back_and_a_rerun_replaces_only_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(recipe_06, "train", _fake_train)
    boxes = []
    monkeypatch.setattr(recipe_06.data, "load_omniglot",
                        lambda split, size, box: boxes.append(("omniglot", size, box)))
    monkeypatch.setattr(recipe_06.data, "load_lake_runs",
                        lambda size, box: boxes.append(("lake", size, box)))
    monkeypatch.setattr(recipe_06, "mnist_tasks", lambda size: None)
    out = tmp_path / "recipe.json"
    first = recipe_06.main(["--out", str(out)])
    assert [r.name for r in first.runs] == ["lesson", "recipe"]
    # the training images and Lake's runs both fitted to the recipe's box, recorded in the file
    assert boxes == [("omniglot", 28, recipe_06.BOX), ("lake", 28, recipe_06.BOX)]
    assert first.box == recipe_06.BOX == 20 and recipe_06.box_for(35) == 25
    again = results.RecipeStudy.from_json(json.loads(out.read_text()), str(out))
    assert again.to_json() == first.to_json()
    assert again.run("recipe").scores["lake_plain"].correct == 200

    second = recipe_06.main(["--runs", "lesson", "--out", str(out)])
    assert [r.name for r in second.runs] == ["lesson", "recipe"]       # the order of RUNS
    assert second.run("recipe").to_json() == first.run("recipe").to_json()
    with pytest.raises(SystemExit):                     # another image size, the same file
        recipe_06.main(["--runs", "lesson", "--image-size", "35", "--out", str(out)])
    with pytest.raises(SystemExit):                     # another split, the same file
        recipe_06.main(["--runs", "lesson", "--split", "background_small2", "--out", str(out)])
    other = recipe_06.main(["--split", "background_small2", "--out", str(tmp_path / "s2.json")])
    assert other.split == "background_small2" and first.split == "background_small1"
    with pytest.raises(SystemExit):                     # another seed, the same file
        recipe_06.main(["--runs", "lesson", "--seed", "1", "--out", str(out)])
    TRAINED_SEEDS.clear()
    seeded = recipe_06.main(["--runs", "recipe", "--seed", "1", "--out", str(tmp_path / "s1.json")])
    assert TRAINED_SEEDS == [1] and seeded.seed == 1 and [r.name for r in seeded.runs] == ["recipe"] and first.seed == 0


def _statement(source: str, name: str) -> ast.expr:
    """The value assigned to ``name`` at the top of a notebook source (one statement)."""
    found = re.search(rf"^{name} = .*?(?=^\S)", source, re.M | re.S)
    assert found, f"06_one_shot.py assigns no {name}"
    return ast.parse(found.group(0)).body[0].value


def test_the_notebook_trains_with_the_scripts_settings():
    source = (Path(__file__).resolve().parents[1] / "notebooks" / "06_one_shot.py").read_text()
    n_way = ast.literal_eval(_statement(source, "N_WAY"))      # if RECIPE names it
    recipe = _statement(source, "RECIPE")
    settings = {k.arg: n_way if isinstance(k.value, ast.Name) and k.value.id == "N_WAY"
                else ast.literal_eval(k.value) for k in recipe.keywords}
    assert settings == recipe_06.SETTINGS
    assert ast.literal_eval(_statement(source, "BOX")) == recipe_06.box_for() == recipe_06.BOX
    assert ast.literal_eval(_statement(source, "IMAGE_SIZE")) == recipe_06.IMAGE_SIZE
    steps = _statement(source, "LESSON_STEPS")
    full = next(k.value.value for k in steps.keywords if k.arg == "full")
    assert full == recipe_06.RUNS["lesson"]["steps"] and recipe_06.RUNS["lesson"]["members"] == 1


def test_save_dir_saves_each_trained_encoder_where_mnist_06_loads_it(tmp_path, monkeypatch):
    import keras

    from scripts import mnist_06

    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])

    class FakeRun:
        encoder, seconds, minutes = net, (1.0,), 0.0

    monkeypatch.setattr(recipe_06, "fit", lambda name, omniglot, seed=0: FakeRun)
    monkeypatch.setattr(recipe_06, "score", lambda encoder, runs, mnist: {})
    recipe_06.train("recipe", None, None, None, tmp_path / "nets")
    path = recipe_06.saved_encoder_path(tmp_path / "nets", "recipe")
    assert path.name == f"recipe_{recipe_06.SEED}.keras" and path.exists()
    assert [p.name for p in (tmp_path / "nets").iterdir()] == [path.name]     # no temporary left
    monkeypatch.setattr(recipe_06, "fit",
                        lambda name, omniglot, seed=0: pytest.fail("trained again"))
    loaded = mnist_06.recipe_encoder(None, tmp_path / "nets")
    x = np.ones((1, 4), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), net.predict(x, verbose=0))
