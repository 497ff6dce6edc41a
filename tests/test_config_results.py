"""Fast mode, data and build folders, seeding, describe(), and the results table."""

import json
import re

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


def _seed_calls(monkeypatch, gpu: bool) -> list:
    """Record whether seed_everything turns op determinism on, with or without a (pretend) GPU;
    the real switch is never flipped, so the rest of the process is unaffected."""
    import tensorflow as tf

    calls = []
    monkeypatch.setattr(config, "_gpu_present", lambda: gpu)
    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism",
                        lambda: calls.append("on"))
    return calls


def test_seed_everything_turns_determinism_on_by_default_without_a_gpu(monkeypatch, capsys):
    calls = _seed_calls(monkeypatch, gpu=False)
    config.seed_everything(0)
    assert calls == ["on"]
    assert capsys.readouterr().out == ""          # nothing new in the stored CPU outputs
    config.seed_everything(0, deterministic=False)
    assert calls == ["on"]


def test_seed_everything_on_a_gpu_leaves_determinism_off_and_says_how_to_turn_it_on(
        monkeypatch, capsys):
    calls = _seed_calls(monkeypatch, gpu=True)
    config.seed_everything(0)
    out = capsys.readouterr().out
    assert calls == []
    assert len(out.strip().splitlines()) == 1 and "deterministic=True" in out
    config.seed_everything(0, deterministic=True)
    assert calls == ["on"] and capsys.readouterr().out == ""


def test_seed_everything_rejects_a_non_bool_deterministic():
    with pytest.raises(TypeError, match="deterministic must be a bool, got str"):
        config.seed_everything(0, deterministic="yes")


def test_repository_urls_come_from_the_one_constant():
    assert config.REPOSITORY.count("/") == 1
    assert config.repository_url() == f"https://github.com/{config.REPOSITORY}"
    assert results.STUDY_URL == config.repository_url("raw") + "notebooks/"
    assert config.repository_url("colab") == (
        f"https://colab.research.google.com/github/{config.REPOSITORY}/blob/main/")
    assert config.REPOSITORY in results.STUDY_URL
    with pytest.raises(ValueError, match="kind must be one of"):
        config.repository_url("gitlab")
    with pytest.raises(TypeError, match="kind must be a string"):
        config.repository_url(None)


_SLUG = r"([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)"
_BADGE = re.compile(r"colab\.research\.google\.com/github/" + _SLUG + r"/blob/main/([^)\s\"]+)")
_INSTALL = re.compile(r"pip install[^\n\"]*\"?git\+https://github\.com/" + _SLUG + r"(?:\.git)?[\"@\s]")
_ANY = re.compile(r"(?:github\.com|githubusercontent\.com)/" + _SLUG + r"(?=[/\"')\s]|$)")
# Repositories the course cites rather than being: Omniglot's official one.
_CITED = {"brendenlake/omniglot"}


def _course_text_files():
    root = config.repo_root()
    files = [root / "README.md", root / "notebooks" / "CONVENTIONS.md"]
    files += sorted((root / "docs").glob("*.md"))
    files += sorted((root / "notebooks").glob("[0-9][0-9]*_*.py"))
    files += sorted((root / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
    return files


def test_every_badge_install_cell_and_link_uses_the_repository_constant():
    root = config.repo_root()
    assert (root / "docs").is_dir()
    seen_badges = seen_installs = 0
    for path in _course_text_files():
        text = path.read_text()
        if path.suffix == ".ipynb":       # the JSON escapes quotes inside cell sources
            text = text.replace('\\"', '"')
        for slug in _ANY.findall(text):
            assert slug == config.REPOSITORY or slug in _CITED, (path.name, slug)
        badges = _BADGE.findall(text)
        installs = _INSTALL.findall(text)
        assert all(slug == config.REPOSITORY for slug, _ in badges), (path.name, badges)
        assert all(slug == config.REPOSITORY for slug in installs), (path.name, installs)
        if path.parent.name == "notebooks" and path.suffix in {".py", ".ipynb"}:
            # its own badge, and the setup cell that installs course_lib on Colab
            assert [target for _, target in badges] == [f"notebooks/{path.stem}.ipynb"], path.name
            assert len(installs) == 1, path.name
        seen_badges += len(badges)
        seen_installs += len(installs)
    assert seen_badges >= 2 * 8 + 8 and seen_installs >= 2 * 8 + 1   # notebooks, README, docs


def test_the_readme_links_a_colab_badge_for_every_notebook():
    root = config.repo_root()
    readme = (root / "README.md").read_text()
    targets = {target for _, target in _BADGE.findall(readme)}
    notebooks = {f"notebooks/{p.name}" for p in (root / "notebooks").glob("[0-9][0-9]*_*.ipynb")}
    assert notebooks and notebooks <= targets
