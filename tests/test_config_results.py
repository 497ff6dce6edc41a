"""Fast mode, data and build folders, seeding, describe(), and the results table."""

import json

import numpy as np
import pytest

from course_lib import config, results


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("0", False), ("", False)])
def test_fast_mode(monkeypatch, value, expected):
    monkeypatch.setenv("COURSE_FAST", value)
    assert config.fast_mode() is expected
    assert config.pick(full=100, fast=5) == (5 if expected else 100)


def test_fast_mode_rejects_garbage(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="COURSE_FAST"):
        config.fast_mode()


def test_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    assert config.data_dir() == config.repo_root() / "data"
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    assert config.data_dir() == tmp_path / "cache" and (tmp_path / "cache").is_dir()


def test_seed_everything_repeats_numbers():
    import tensorflow as tf
    config.seed_everything(7)
    first = np.random.rand(3), tf.random.uniform([3]).numpy()
    config.seed_everything(7)
    second = np.random.rand(3), tf.random.uniform([3]).numpy()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    with pytest.raises(ValueError, match="seed"):
        config.seed_everything(-3)


def test_describe(capsys):
    info = config.describe()
    assert info["replicas"] >= 1 and info["tensorflow"]
    assert "tensorflow" in capsys.readouterr().out


def test_describe_shows_the_data_directory_relative_to_the_repository(capsys, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    info = config.describe()
    out = capsys.readouterr().out
    assert info["data_dir"] == "data", info["data_dir"]
    assert str(config.repo_root()) not in out


def test_shown_path(tmp_path, monkeypatch):
    assert config.shown_path(config.repo_root() / "data" / "mnist") == "data/mnist"
    assert config.shown_path(config.repo_root()) == "."
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.shown_path(tmp_path / "cache") == "~/cache"
    assert config.shown_path("/somewhere/else") == "/somewhere/else"


def test_results_are_merged_per_notebook():
    results.record("01_introduction", accuracy=0.9)
    results.record("02_weight_sharing", retrieval=0.5)
    results.record("01_introduction", accuracy=0.95)
    table = json.loads(results.results_path().read_text())
    assert table["01_introduction"]["accuracy"] == 0.95
    assert table["02_weight_sharing"]["retrieval"] == 0.5
    assert "| 01_introduction | accuracy | 0.95 |" in results.format_table(table)
    with pytest.raises(ValueError, match="accuracy"):
        results.record("x", accuracy=float("nan"))
    with pytest.raises(ValueError, match="notebook"):
        results.record("", accuracy=1.0)


def test_read_study_prefers_the_local_copy_and_names_both_places_when_it_fails(tmp_path,
                                                                               monkeypatch):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "study.json").write_text('{"rows": [1, 2]}')
    assert results.read_study("results/study.json", notebooks_dir=tmp_path) == {"rows": [1, 2]}
    monkeypatch.chdir(tmp_path)
    assert results.read_study("results/study.json") == {"rows": [1, 2]}
    # the committed study files are found from anywhere, beside the package's source
    assert "runs" in results.read_study("results/06_selection.json", notebooks_dir=None)

    def offline(url, timeout):
        raise OSError("no network")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(OSError, match="missing.json is in none of .* could not be downloaded "
                                      "from https://raw.githubusercontent.com/.*no network"):
        results.read_study("results/missing.json", notebooks_dir=tmp_path)
    with pytest.raises(ValueError, match="path must be relative to notebooks/"):
        results.read_study("../secrets.json")
    with pytest.raises(TypeError, match="path must be a str or Path"):
        results.read_study(3)
