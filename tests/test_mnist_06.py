"""Notebook 06's MNIST preparation: data.zoom_out and data.ink_statistics, the typed reader of
06_mnist.json (round trip, refusals naming file and field), and scripts/mnist_06.py's rule
(a variant is taken only when it beats the digits as given detectably)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from course_lib import data, results
from scripts import mnist_06


def _square(size: int = 28, side: int = 20) -> np.ndarray:
    x = np.zeros((2, size, size), np.float32)
    lo = (size - side) // 2
    x[:, lo:lo + side, lo:lo + side] = 1.0
    return x


def test_zoom_out_shrinks_about_the_centre_and_keeps_the_shape():
    x = _square()
    out = data.zoom_out(x, 0.5)
    assert out.shape == x.shape and out.dtype == np.float32
    stats = data.ink_statistics(out)
    assert stats["height"] == stats["width"] == 10                 # 20 pixels halved
    rows = np.flatnonzero((out[0] > 0.5).any(axis=1))
    assert rows[0] == 9 and rows[-1] == 18                          # centred in 28
    assert np.allclose(data.zoom_out(x, 1.0), x)
    assert data.zoom_out(x[..., None], 0.8).shape == (2, 28, 28, 1)


def test_ink_statistics_measures_share_and_extent():
    stats = data.ink_statistics(_square(side=14))
    assert stats == {"ink": pytest.approx(14 * 14 / 28**2), "height": 14.0, "width": 14.0}
    assert data.ink_statistics(np.zeros((1, 5, 5)))["height"] == 0.0
    two_parts = np.zeros((1, 10, 10))
    two_parts[0, 1:3, 2:5] = two_parts[0, 7:9, 2:5] = 1.0      # rows 1-2 and 7-8, a gap between
    assert data.ink_statistics(two_parts)["height"] == 4.0
    assert data.ink_statistics(two_parts)["width"] == 3.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: data.zoom_out(_square(), 0), ValueError, "scale must be"),
    (lambda: data.zoom_out(_square(), 1.5), ValueError, "scale must be"),
    (lambda: data.zoom_out(_square(), "half"), TypeError, "scale must be a number"),
    (lambda: data.zoom_out(np.zeros((2, 28, 28, 3)), 0.5), ValueError, "images must have shape"),
    (lambda: data.zoom_out(np.full((1, 4, 4), np.nan), 0.5), ValueError, "images contains"),
    (lambda: data.ink_statistics(np.zeros((4, 4))), ValueError, "images must have shape"),
    (lambda: data.ink_statistics(_square(), threshold=1), ValueError, "threshold must be"),
])
def test_bad_input_is_refused_naming_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _scored(right) -> results.ScoredTasks:
    right = np.asarray(right, bool)
    return results.ScoredTasks(float(right.mean()), right)


def _study() -> results.MnistTransferStudy:
    base = np.arange(20) % 2 == 0
    return results.MnistTransferStudy(
        recipe="r", split="background_small1", image_size=28, seed=0,
        scales={"as given": 1.0, "zoomed out to 80%": 0.8},
        ink={"omniglot": {"ink": 0.08, "height": 16.0, "width": 14.6}},
        val_tasks=20, val_seed=1,
        validation={"as given": _scored(base), "zoomed out to 80%": _scored(~base)},
        rule=mnist_06.RULE, chosen="as given", test_tasks=10, test_seed=0,
        test={"as given": _scored(np.arange(10) < 7)},
        machine={"cpus": 2, "load_average": [1.0, 1.0, 1.0]}, total_minutes=8.0,
        date="2026-12-07")


def test_the_study_round_trips(tmp_path):
    study = _study()
    (tmp_path / "results").mkdir()
    results.write_study(tmp_path / "results" / "06_mnist.json", study)
    again = results.read_mnist_transfer(notebooks_dir=tmp_path)
    assert again.to_json() == study.to_json()
    assert again.test["as given"].outcomes.dtype == bool and again.test["as given"].correct == 7


@pytest.mark.parametrize("spoil, message", [
    (lambda d: d["scales"].update({"as given": 0}), r"scales.as given must be"),
    (lambda d: d["validation"].pop("zoomed out to 80%"), "validation scores of every variant"),
    (lambda d: d.update(chosen="zoomed out to 80%"), "a test score of the chosen"),
    (lambda d: d["test"]["as given"].update(correct=3), "'correct' or 'accuracy'"),
    (lambda d: d.update(test_tasks=11), "not 11"),
    (lambda d: d["test"].update({"other": copy.deepcopy(d["test"]["as given"])}),
     "variant with no scale"),
    (lambda d: d.pop("rule"), "has no 'rule'"),
])
def test_bad_content_is_refused_naming_file_and_field(spoil, message):
    d = _study().to_json()
    spoil(d)
    with pytest.raises(ValueError, match=message) as err:
        results.MnistTransferStudy.from_json(d, "z/06_mnist.json")
    assert str(err.value).startswith("z/06_mnist.json: ")


def test_the_rule_takes_a_variant_only_when_it_detectably_beats_the_digits_as_given():
    rng = np.random.default_rng(0)
    base = rng.random(1000) < 0.6
    much_better = base | (rng.random(1000) < 0.5)                   # about +20 points
    barely = base.copy()
    barely[np.flatnonzero(~base)[:3]] = True                         # +0.3 points
    assert mnist_06.choose({"as given": base, "a": much_better, "b": barely}) == "a"
    assert mnist_06.choose({"as given": base, "b": barely}) == "as given"
    assert mnist_06.choose({"as given": base, "worse": ~base & base}) == "as given"


def test_a_metric_per_variant_round_trips_and_a_file_without_one_means_euclidean(tmp_path):
    study = _study()
    assert study.metrics == {} and study.metric("zoomed out to 80%") == "euclidean"
    d = study.to_json()
    assert "metrics" not in d                                  # the older files stay as they are
    d["metrics"] = {"as given": "euclidean", "zoomed out to 80%": "cosine"}
    again = results.MnistTransferStudy.from_json(d)
    assert again.metric("zoomed out to 80%") == "cosine" and again.to_json() == d
    for bad in ({"zoomed out to 80%": "manhattan"}, {"other": "cosine"}):
        with pytest.raises(ValueError, match=r"^z: .*metrics\..+ must name a variant"):
            results.MnistTransferStudy.from_json(d | {"metrics": bad}, "z")


def test_each_stage_pairs_its_variants_with_a_metric_and_the_explore_stage_chooses_nothing():
    for stage, c in mnist_06.STAGES.items():
        assert c["variants"][mnist_06.BASE] == (1.0, "euclidean"), stage
        assert all(0 < z <= 1 and m in ("euclidean", "cosine")
                   for z, m in c["variants"].values()), stage
    assert len(mnist_06.STAGES["explore"]["variants"]) == 2 * len(mnist_06.SCALES)
    assert set(mnist_06.STAGES["confirm"]["variants"]) == {mnist_06.BASE, mnist_06.CONFIRMED}
    base = np.arange(100) < 50
    assert mnist_06.choose({"as given": base, "all": np.ones(100, bool)}, "explore") == "as given"
    assert mnist_06.choose({"as given": base, "all": np.ones(100, bool)}, "confirm") == "all"


def test_the_confirming_tasks_use_no_digit_of_the_earlier_stages():
    used = {stage: mnist_06._digits_used(stage) for stage in mnist_06.STAGES}
    (_, y_train), _ = data.load_mnist()
    q, s, a = mnist_06._task_indices("confirm")
    assert q.size == mnist_06.STAGES["confirm"]["tasks"] and s.shape == (q.size, 10)
    assert np.array_equal(y_train[s[np.arange(q.size), a]], y_train[q])   # answers match
    assert not np.intersect1d(used["confirm"], np.union1d(used["scale"], used["explore"])).size
    # The first stage's tasks are those scripts/scoring_06.py and 06_mnist.json used.
    x_val, (vq, vs, va) = mnist_06.validation_tasks()
    assert x_val.shape[0] == used["scale"].size and vs.shape == (mnist_06.VAL_TASKS, 10)


def test_fit_to_box_scales_the_longer_side_to_the_box_and_centres_it():
    x = np.zeros((3, 40, 40), np.float32)
    x[0, 2:12, 20:40] = 1.0                        # 10 rows x 20 columns, off centre
    x[1, 30:38, 1:5] = 1.0                         # 8 x 4, in a corner
    out = data.fit_to_box(x, box=20, size=28)
    assert out.shape == (3, 28, 28) and out.dtype == np.float32
    wide, tall = data.ink_statistics(out[:1]), data.ink_statistics(out[1:2])
    assert (wide["width"], wide["height"]) == (20.0, 10.0)     # proportions kept
    assert (tall["width"], tall["height"]) == (10.0, 20.0)
    rows = np.flatnonzero((out[0] > 0.5).any(axis=1))
    cols = np.flatnonzero((out[0] > 0.5).any(axis=0))
    assert (rows[0], rows[-1], cols[0], cols[-1]) == (9, 18, 4, 23)   # centred in 28
    assert not out[2].any()                                            # blank stays blank


@pytest.mark.parametrize("call, error, message", [
    (lambda: data.fit_to_box(np.zeros((2, 28, 20)), 20, 28), ValueError, "square images"),
    (lambda: data.fit_to_box(np.zeros((2, 28, 28)), 30, 28), ValueError, "box must be at most"),
    (lambda: data.fit_to_box(np.zeros((2, 28, 28)), 0, 28), ValueError, "box must be"),
    (lambda: data.fit_to_box(np.zeros((2, 28, 28)), 20, 28, threshold=1), ValueError,
     "threshold must be"),
])
def test_fit_to_box_refuses_bad_input_naming_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_accuracy_table_has_a_row_per_scale_and_a_column_per_metric():
    study = _study()
    d = study.to_json() | {"metrics": {"as given": "euclidean", "zoomed out to 80%": "cosine"}}
    table = results.MnistTransferStudy.from_json(d).accuracy_table()
    assert list(table.columns) == ["cosine", "euclidean"] and list(table.index) == [0.8, 1.0]
    assert table.loc[1.0, "euclidean"] == 0.5 and np.isnan(table.loc[1.0, "cosine"])

