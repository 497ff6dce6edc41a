"""Every file the library writes goes to a temporary name in its folder and is renamed into
place (``config.atomic_file``): a writer that fails half-way leaves the previous file exactly as
it was and no temporary file behind."""

from pathlib import Path

import keras
import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib import config, gallery, plots, projector, results

matplotlib.use("Agg")

OLD = b"the previous file"


class Interrupted(Exception):
    """What the failing writers raise."""


def _half_written(target) -> None:
    """Write a few bytes where the writer was told to write, then fail."""
    Path(target).write_bytes(b"half")
    raise Interrupted


def _previous(folder: Path, *names: str) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(OLD)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _unchanged(folder: Path, before: dict[str, bytes]) -> None:
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_atomic_file_replaces_on_success_and_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "sub" / "out.json"
    with config.atomic_file(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".json" and not tmp.exists()
        tmp.write_text("first")
    assert target.read_text() == "first"
    before = {p.name: p.read_bytes() for p in target.parent.iterdir()}
    for error in (Interrupted, KeyboardInterrupt):
        with pytest.raises(error), config.atomic_file(target) as tmp:
            tmp.write_text("half")
            raise error
        _unchanged(target.parent, before)
    with pytest.raises(TypeError, match="path must be a path"):
        with config.atomic_file(3):
            pass


def test_save_figure_interrupted(tmp_path, monkeypatch):
    before = _previous(tmp_path, "fig.png")
    monkeypatch.setattr(Figure, "savefig", lambda self, fname, **kw: _half_written(fname))
    fig = Figure()
    with pytest.raises(Interrupted):
        plots.save_figure(fig, tmp_path / "fig.png")
    _unchanged(tmp_path, before)


def test_save_figure_without_a_suffix_writes_png(tmp_path):
    path = plots.save_figure(Figure(), tmp_path / "fig")
    assert path == tmp_path / "fig.png" and path.read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


@pytest.fixture(scope="module")
def encoder_and_index():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((2, 2, 1))
    encoder = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    images = np.random.default_rng(0).random((6, 2, 2, 1)).astype(np.float32)
    index = gallery.build_index(encoder, images, [0, 0, 0, 1, 1, 1], ["a", "b"], 1.0)
    return encoder, index


def test_save_index_interrupted(tmp_path, monkeypatch, encoder_and_index):
    _, index = encoder_and_index
    before = _previous(tmp_path, "index.npz")
    monkeypatch.setattr(np, "savez", lambda f, **arrays: _half_written(f.name))
    with pytest.raises(Interrupted):
        gallery.save_index(index, tmp_path / "index.npz", overwrite=True)
    _unchanged(tmp_path, before)


def test_export_interrupted_in_the_encoder(tmp_path, monkeypatch, encoder_and_index):
    encoder, index = encoder_and_index
    before = _previous(tmp_path, gallery.ENCODER_FILE, gallery.INDEX_FILE)
    monkeypatch.setattr(keras.Model, "save", lambda self, path, **kw: _half_written(path))
    with pytest.raises(Interrupted):
        gallery.export(encoder, index, tmp_path, overwrite=True)
    _unchanged(tmp_path, before)


def _other_pair(encoder_and_index):
    """A second export: another encoder (other weights) and its index."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((2, 2, 1))
    encoder = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    images = np.random.default_rng(1).random((4, 2, 2, 1)).astype(np.float32)
    return encoder, gallery.build_index(encoder, images, [0, 0, 1, 1], ["c", "d"], 1.0)


def _export_bytes(folder):
    return {p.name: p.read_bytes() if p.is_file() else "folder" for p in folder.iterdir()}


@pytest.mark.parametrize("fail", ["between the two files", "while swapping the folders"])
def test_export_interrupted_leaves_the_old_pair(tmp_path, monkeypatch, encoder_and_index, fail):
    """An overwrite that fails after the new encoder is written, or half-way through putting
    the new folder in place, leaves the old encoder and the old gallery, loadable."""
    encoder, index = encoder_and_index
    folder = tmp_path / "export"
    gallery.export(encoder, index, folder)
    before = _export_bytes(folder)
    new_encoder, new_index = _other_pair(encoder_and_index)
    if fail == "between the two files":
        monkeypatch.setattr(gallery, "save_index", lambda *a, **kw: _half_written(a[1]))
    else:
        rename = gallery.os.rename
        calls = []

        def failing(src, dst):
            calls.append(dst)
            if len(calls) == 2:                    # the old folder is aside, the new not in
                raise Interrupted
            rename(src, dst)

        monkeypatch.setattr(gallery.os, "rename", failing)
    with pytest.raises(Interrupted):
        gallery.export(new_encoder, new_index, folder, overwrite=True)
    monkeypatch.undo()
    assert _export_bytes(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]       # nothing left over
    assert gallery.load(folder).index.class_names == ("a", "b")
    gallery.export(new_encoder, new_index, folder, overwrite=True)       # and it still works
    assert gallery.load(folder).index.class_names == ("c", "d")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_export_crash_while_swapping_is_named_by_load(tmp_path, monkeypatch, encoder_and_index):
    """Stopped between moving the old export aside and moving the new one in, with the repair
    failing too (as when the process dies there): load says where the previous export is."""
    encoder, index = encoder_and_index
    folder = tmp_path / "my export"
    gallery.export(encoder, index, folder)
    rename, calls = gallery.os.rename, []

    def stopped(src, dst):
        calls.append(dst)
        if len(calls) > 1:                         # everything after the first move fails
            raise Interrupted
        rename(src, dst)

    monkeypatch.setattr(gallery.os, "rename", stopped)
    with pytest.raises(Interrupted):
        gallery.export(encoder, index, folder, overwrite=True)
    monkeypatch.undo()
    aside = [p for p in tmp_path.iterdir() if p.name.endswith(".old")]
    assert not folder.exists() and len(aside) == 1
    with pytest.raises(FileNotFoundError, match=r"interrupted export left the previous one in "
                                                r".*my export\.[0-9a-f]{8}\.old"):
        gallery.load(folder)
    aside[0].rename(folder)                        # what the message says to do
    assert gallery.load(folder).index.class_names == ("a", "b")


def test_export_into_a_folder_with_other_files_keeps_them(tmp_path, monkeypatch,
                                                          encoder_and_index):
    encoder, index = encoder_and_index
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "sub").mkdir()
    gallery.export(encoder, index, tmp_path)
    before = _export_bytes(tmp_path)
    new_encoder, new_index = _other_pair(encoder_and_index)
    monkeypatch.setattr(gallery, "save_index", lambda *a, **kw: _half_written(a[1]))
    with pytest.raises(Interrupted):
        gallery.export(new_encoder, new_index, tmp_path, overwrite=True)
    monkeypatch.undo()
    assert _export_bytes(tmp_path) == before and (tmp_path / "notes.txt").read_text() == "mine"
    gallery.export(new_encoder, new_index, tmp_path, overwrite=True)
    assert gallery.load(tmp_path).index.class_names == ("c", "d")
    assert sorted(p.name for p in tmp_path.iterdir()) == [gallery.ENCODER_FILE, gallery.INDEX_FILE,
                                                          "notes.txt", "sub"]
    with pytest.raises(ValueError, match="is a file"):
        gallery.export(encoder, index, tmp_path / "notes.txt")


def test_export_into_the_working_folder_leaves_it_in_place(tmp_path, monkeypatch,
                                                            encoder_and_index):
    encoder, index = encoder_and_index
    monkeypatch.chdir(tmp_path)
    gallery.export(encoder, index, ".")
    gallery.export(encoder, index, ".", overwrite=True)
    assert Path.cwd() == tmp_path and tmp_path.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == [gallery.ENCODER_FILE,
                                                          gallery.INDEX_FILE]
    assert gallery.load(".").index.class_names == ("a", "b")


def test_write_projector_interrupted(tmp_path, monkeypatch):
    names = ("vectors.tsv", "metadata.tsv", "projector_config.pbtxt")
    before = _previous(tmp_path / "projector", *names)
    monkeypatch.setattr(np, "savetxt", lambda fname, *a, **kw: _half_written(fname))
    with pytest.raises(Interrupted):
        projector.write_projector(tmp_path, np.eye(3), [0, 1, 2], overwrite=True)
    _unchanged(tmp_path / "projector", before)


def test_write_projector_sprite_interrupted(tmp_path, monkeypatch):
    from PIL import Image

    before = _previous(tmp_path / "projector", "sprite.png")
    monkeypatch.setattr(Image.Image, "save", lambda self, fp, *a, **kw: _half_written(fp))
    with pytest.raises(Interrupted):
        projector.write_projector(tmp_path, np.eye(3), [0, 1, 2], images=np.zeros((3, 2, 2)),
                                  overwrite=True)
    after = {p.name: p.read_bytes() for p in (tmp_path / "projector").iterdir()}
    assert after["sprite.png"] == before["sprite.png"]
    assert not [name for name in after if name.startswith(".")]


def test_write_projector_interrupted_at_the_last_file_keeps_the_old_set(tmp_path, monkeypatch):
    """A failure while writing the config (the last file) leaves the earlier vectors, metadata
    and sprite too, not new ones beside an old config."""
    before = _previous(tmp_path / "projector", *projector._FILES)
    write = projector._write_text

    def failing(path, lines):
        if "projector_config" in path.name:
            _half_written(path)
        write(path, lines)

    monkeypatch.setattr(projector, "_write_text", failing)
    with pytest.raises(Interrupted):
        projector.write_projector(tmp_path, np.eye(3), [0, 1, 2], images=np.zeros((3, 2, 2)),
                                  overwrite=True)
    _unchanged(tmp_path / "projector", before)


def test_record_interrupted(monkeypatch):
    results.record("01_test", accuracy=0.5)
    path = results.results_path()
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    monkeypatch.setattr(Path, "write_text", lambda self, *a, **kw: _half_written(self))
    with pytest.raises(Interrupted):
        results.record("01_test", accuracy=0.9)
    _unchanged(path.parent, before)
