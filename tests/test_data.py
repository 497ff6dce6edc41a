"""Tests for course_lib.data: real MNIST files, damaged copies, and small fake Omniglot zips."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import sys
import types
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_lib import data
from course_lib.config import repo_root

REAL_MNIST = repo_root() / "data" / "mnist"
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
REAL_FETCH = data._fetch  # the autouse fixture below replaces it with an offline stand-in


def _copy_real_omniglot(name: str, cache: Path) -> None:
    """Copy a real Omniglot zip into ``cache``, or skip the test when it is not cached locally."""
    folders = [repo_root() / "data" / "omniglot"]
    if os.environ.get("COURSE_DATA_DIR"):
        folders.insert(0, Path(os.environ["COURSE_DATA_DIR"]) / "omniglot")
    for folder in folders:
        if (folder / name).is_file():
            (cache / "omniglot").mkdir(exist_ok=True)
            shutil.copy(folder / name, cache / "omniglot" / name)
            return
    pytest.skip(f"real Omniglot file {name} not cached")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every download fails as it would offline, unless a test puts _fetch back."""

    def offline(url, dest, checksum):
        Path(dest).write_bytes(b"partial")
        raise Exception(f"URL fetch failure on {url}: None -- no network")  # as Keras words it

    monkeypatch.setattr(data, "_fetch", offline)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """An empty data cache in tmp_path, with a clean MNIST cache."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    data._mnist_uint8.cache_clear()
    yield tmp_path
    data._mnist_uint8.cache_clear()


# --- MNIST ----------------------------------------------------------------------------------


def _mnist_copy(folder: Path, replace: str, content: bytes) -> None:
    """Link the real MNIST files into folder/mnist, with ``replace`` swapped for ``content``."""
    if not REAL_MNIST.is_dir():
        pytest.skip("real MNIST files not in data/mnist")
    (folder / "mnist").mkdir()
    for name in data._MNIST_FILES:
        target = folder / "mnist" / name
        if name == replace:
            target.write_bytes(content)
        else:
            target.symlink_to(REAL_MNIST / name)


def test_mnist_real_files(monkeypatch):
    if not REAL_MNIST.is_dir():
        pytest.skip("real MNIST files not in data/mnist")
    monkeypatch.setenv("COURSE_DATA_DIR", str(REAL_MNIST.parent))
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert np.bincount(y_train).tolist() == MNIST_TRAIN_COUNTS
    assert y_test.shape == (10000,)
    x_train[:] = 7.0  # callers get their own arrays: the cache must not change
    assert data.load_mnist()[0][0].max() == 1.0


def test_mnist_checksum_mismatch(cache_dir):
    name = "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress((REAL_MNIST / name).read_bytes()))
    raw[-1] = (raw[-1] + 1) % 10  # still a valid IDX file, one label changed
    _mnist_copy(cache_dir, name, gzip.compress(bytes(raw)))
    with pytest.raises(ValueError, match=f"{name} failed its sha256 check"):
        data.load_mnist()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 100), "magic number"),
        (gzip.compress(b"\x00\x00\x08\x03" + bytes.fromhex("0000ea60")), "inside its IDX header"),
        (
            gzip.compress(b"\x00\x00\x08\x03" + bytes.fromhex("0000ea60 0000001c 0000001c") + b"1"),
            "holds 1 data bytes",
        ),
        (gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 5000)[:40], "not a complete gzip file"),
    ],
    ids=["wrong-magic", "short-header", "truncated-idx", "truncated-gz"],
)
def test_mnist_damaged_file(cache_dir, content, problem):
    name = "train-images-idx3-ubyte.gz"
    _mnist_copy(cache_dir, name, content)
    with pytest.raises(ValueError, match=f"{name}.*{problem}"):
        data.load_mnist()


def test_mnist_incomplete_folder(cache_dir):
    (cache_dir / "mnist").mkdir()
    (cache_dir / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz"):
        data.load_mnist()


def test_mnist_falls_back_to_keras(cache_dir, monkeypatch):
    x = np.full((3, 28, 28), 255, dtype=np.uint8)
    y = np.array([1, 2, 3], dtype=np.uint8)
    fake = types.ModuleType("keras")
    fake.datasets = types.SimpleNamespace(
        mnist=types.SimpleNamespace(load_data=lambda: ((x, y), (x[:1], y[:1])))
    )
    monkeypatch.setitem(sys.modules, "keras", fake)
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.dtype == np.float32 and x_train.max() == 1.0 and x_test.shape == (1, 28, 28)
    assert y_train.dtype == np.int64 and y_train.tolist() == [1, 2, 3]


def test_digits_8x8():
    x, y = data.load_digits_8x8()
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert y.dtype == np.int64 and set(y.tolist()) == set(range(10))


# --- Omniglot: small fake zips with the official layout ----------------------------------------


def _png(box: int = 36) -> bytes:
    """A 105x105 1-bit PNG like Omniglot's: a black ``box`` x ``box`` stroke top-left on white."""
    white = np.ones((105, 105), dtype=bool)
    white[:box, :box] = False
    buffer = io.BytesIO()
    Image.fromarray(white).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_zip(path: Path, members: dict[str, bytes]) -> str:
    """Write a zip with these members (folders implied) and return its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fake_small1(cache_dir: Path, monkeypatch, extra: int = 0) -> Path:
    """A fake images_background_small1.zip: alphabets Beta (1 char) and Alpha (2 chars), 2
    drawers each, plus ``extra`` drawings; the checksum table is pointed at it."""
    root = "images_background_small1"
    members = {
        f"{root}/Beta/character01/0201_01.png": _png(),
        f"{root}/Beta/character01/0201_02.png": _png(),
        f"{root}/Alpha/character02/0102_01.png": _png(),
        f"{root}/Alpha/character02/0102_02.png": _png(),
        f"{root}/Alpha/character01/0101_01.png": _png(),
        f"{root}/Alpha/character01/0101_02.png": _png(),
    }
    for drawer in range(3, 3 + extra):
        members[f"{root}/Beta/character01/0201_{drawer:02d}.png"] = _png()
    path = cache_dir / "omniglot" / "images_background_small1.zip"
    sha256 = _write_zip(path, members)
    monkeypatch.setitem(
        data.OMNIGLOT_FILES, "background_small1", data.OmniglotFile(path.name, sha256)
    )
    return path


def test_omniglot_labels_and_ink(cache_dir, monkeypatch):
    _fake_small1(cache_dir, monkeypatch)
    ds = data.load_omniglot("background_small1")
    assert ds.images.shape == (6, 105, 105) and ds.images.dtype == np.float32
    assert ds.alphabet_names == ["Alpha", "Beta"]
    assert ds.character_names == ["Alpha/character01", "Alpha/character02", "Beta/character01"]
    assert ds.alphabet.tolist() == [0, 0, 0, 0, 1, 1]
    assert ds.character.tolist() == [0, 0, 1, 1, 2, 2]
    assert ds.drawer.tolist() == [1, 2, 1, 2, 1, 2]
    assert all(a.dtype == np.int64 for a in (ds.alphabet, ds.character, ds.drawer))
    assert np.all(ds.images[:, :36, :36] == 1.0)  # ink is 1
    assert ds.images.sum() == 6 * 36 * 36  # background is 0


def test_omniglot_resize_is_area_average(cache_dir, monkeypatch):
    _fake_small1(cache_dir, monkeypatch)
    small = data.load_omniglot("background_small1", image_size=35).images
    assert small.shape == (6, 35, 35)
    assert np.all(small[:, :12, :12] == 1.0) and small.sum() == 6 * 12 * 12
    odd = data.load_omniglot("background_small1", image_size=8).images
    assert 0.0 < odd.max() <= 1.0 and np.isclose(odd[0].sum(), 36 * 36 * (8 / 105) ** 2, rtol=0.05)


def test_omniglot_npz_cache_reused_then_invalidated(cache_dir, monkeypatch):
    _fake_small1(cache_dir, monkeypatch)
    first = data.load_omniglot("background_small1", image_size=28)
    assert (cache_dir / "omniglot" / "images_background_small1_28.npz").is_file()

    def no_decoding(*args):
        raise AssertionError("decoded again instead of using the cache")

    with monkeypatch.context() as patch:
        patch.setattr(data, "_decode_png", no_decoding)
        again = data.load_omniglot("background_small1", image_size=28)
    np.testing.assert_array_equal(again.images, first.images)
    assert again.character_names == first.character_names

    _fake_small1(cache_dir, monkeypatch, extra=1)  # the zip changes: the cache must be rebuilt
    changed = data.load_omniglot("background_small1", image_size=28)
    assert changed.images.shape == (7, 28, 28) and changed.drawer.tolist()[-1] == 3


def test_omniglot_checksum_mismatch_deletes_file(cache_dir, monkeypatch):
    path = _fake_small1(cache_dir, monkeypatch)
    monkeypatch.setitem(
        data.OMNIGLOT_FILES, "background_small1", data.OmniglotFile(path.name, "0" * 32)
    )
    with pytest.raises(ValueError, match="md5.*corrupt or truncated and has been deleted"):
        data.omniglot_file("background_small1")
    assert not path.exists()


def test_omniglot_bad_arguments(cache_dir):
    with pytest.raises(ValueError, match="'background'.*'runs'"):
        data.omniglot_file("backgrnd")
    with pytest.raises(TypeError, match="split must be a str"):
        data.load_omniglot(3)
    with pytest.raises(ValueError, match="load_lake_runs"):
        data.load_omniglot("runs")
    for size in (7, 106):
        with pytest.raises(ValueError, match="image_size"):
            data.load_omniglot("background_small1", image_size=size)
    for size in (28.0, True):
        with pytest.raises(TypeError, match="image_size"):
            data.load_omniglot("background_small1", image_size=size)
    with pytest.raises(TypeError, match="image_size"):
        data.load_lake_runs(image_size="28")


def test_omniglot_offline_download_names_the_path(cache_dir):
    expected = cache_dir / "omniglot" / "images_evaluation.zip"
    with pytest.raises(FileNotFoundError) as caught:
        data.omniglot_file("evaluation")
    message = str(caught.value)
    assert str(expected) in message and data.OMNIGLOT_FILES["evaluation"].url in message
    assert list((cache_dir / "omniglot").iterdir()) == []  # no partial file left behind


def test_omniglot_download_goes_through_a_temporary_name(cache_dir, monkeypatch, tmp_path_factory):
    source = tmp_path_factory.mktemp("remote") / "all_runs.zip"
    sha256 = _write_zip(source, {"run01/class_labels.txt": b""})
    monkeypatch.setattr(data, "_fetch", REAL_FETCH)
    monkeypatch.setattr(data, "OMNIGLOT_URL", source.parent.as_uri() + "/")
    monkeypatch.setitem(data.OMNIGLOT_FILES, "runs", data.OmniglotFile("all_runs.zip", sha256))
    path = data.omniglot_file("runs")
    assert path == cache_dir / "omniglot" / "all_runs.zip"
    assert path.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in path.parent.iterdir()) == ["all_runs.zip"]


def test_omniglot_real_download_offline_and_corrupt(cache_dir, monkeypatch, tmp_path_factory):
    # keras.utils.get_file itself, with its URL opener failing as it does offline
    from keras.src.utils import file_utils

    def no_network(url, filename, reporthook=None):
        Path(filename).write_bytes(b"partial")
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(data, "_fetch", REAL_FETCH)
    with monkeypatch.context() as patch:
        patch.setattr(file_utils, "urlretrieve", no_network)
        with pytest.raises(FileNotFoundError, match="could not be downloaded from .*no network"):
            data.omniglot_file("evaluation")
    assert list((cache_dir / "omniglot").iterdir()) == []
    # a download that fails its checksum is deleted, with the cached file's message
    source = tmp_path_factory.mktemp("remote") / "all_runs.zip"
    _write_zip(source, {"run01/class_labels.txt": b""})
    monkeypatch.setattr(data, "OMNIGLOT_URL", source.parent.as_uri() + "/")
    monkeypatch.setitem(data.OMNIGLOT_FILES, "runs", data.OmniglotFile("all_runs.zip", "0" * 64))
    with pytest.raises(ValueError, match="sha256 check.*has been deleted"):
        data.omniglot_file("runs")
    assert list((cache_dir / "omniglot").iterdir()) == []
    # a file named like a partial download, not this download's own, is neither trusted nor
    # touched
    (cache_dir / "omniglot" / "all_runs.zip.part").write_bytes(b"stale")
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    monkeypatch.setitem(data.OMNIGLOT_FILES, "runs", data.OmniglotFile("all_runs.zip", sha256))
    assert data.omniglot_file("runs").read_bytes() == source.read_bytes()
    assert sorted(p.name for p in (cache_dir / "omniglot").iterdir()) == ["all_runs.zip",
                                                                           "all_runs.zip.part"]
    assert (cache_dir / "omniglot" / "all_runs.zip.part").read_bytes() == b"stale"


def test_omniglot_without_checksum_warns_or_deletes(cache_dir, monkeypatch):
    monkeypatch.setitem(data.OMNIGLOT_FILES, "background_small2",
                        data.OmniglotFile("images_background_small2.zip", None))
    path = cache_dir / "omniglot" / "images_background_small2.zip"
    _write_zip(path, {"images_background_small2/A/character01/0101_01.png": _png()})
    with pytest.warns(UserWarning, match="no checksum is known"):
        assert data.omniglot_file("background_small2") == path
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="has been deleted"):
        data.omniglot_file("background_small2")
    assert not path.exists()


def test_lake_runs_answers(cache_dir, monkeypatch):
    members = {}
    truths = {"run01": [2, 0, 1], "run02": [1, 2, 0]}
    for run, truth in truths.items():
        lines = []
        for item, cls in enumerate(truth, start=1):
            members[f"{run}/test/item{item:02d}.png"] = _png(10 * item)
            members[f"{run}/training/class{item:02d}.png"] = _png(10 * item)
            lines.append(f"{run}/test/item{item:02d}.png {run}/training/class{cls + 1:02d}.png")
        members[f"{run}/class_labels.txt"] = "\n".join(lines).encode()
    path = cache_dir / "omniglot" / "all_runs.zip"
    monkeypatch.setitem(
        data.OMNIGLOT_FILES, "runs", data.OmniglotFile(path.name, _write_zip(path, members))
    )
    runs = data.load_lake_runs(image_size=35)
    assert [r.answers.tolist() for r in runs] == list(truths.values())
    assert runs[0].train_images.shape == (3, 35, 35) and runs[0].test_images.shape == (3, 35, 35)
    assert runs[0].answers.dtype == np.int64
    assert runs[0].test_images[2, :10, :10].min() == 1.0  # 30x30 ink box -> 10x10 at 1/3 scale
    assert runs[0].test_images[2].sum() == 100


def test_real_lake_runs(cache_dir):
    _copy_real_omniglot("all_runs.zip", cache_dir)
    runs = data.load_lake_runs(image_size=28)
    assert len(runs) == 20
    for run in runs:
        assert run.train_images.shape == (20, 28, 28) and run.test_images.shape == (20, 28, 28)
        assert sorted(run.answers.tolist()) == list(range(20))
        assert 0.0 < run.test_images.mean() < 0.3  # mostly background: ink really is 1


def test_loaders_fit_drawings_to_a_box_from_the_105_pixel_drawings(cache_dir, monkeypatch):
    members = {}
    lines = []
    for item in (1, 2):
        members[f"run01/test/item{item:02d}.png"] = _png(10 * item)
        members[f"run01/training/class{item:02d}.png"] = _png(10 * item)
        lines.append(f"run01/test/item{item:02d}.png run01/training/class{item:02d}.png")
    members["run01/class_labels.txt"] = "\n".join(lines).encode()
    path = cache_dir / "omniglot" / "all_runs.zip"
    monkeypatch.setitem(
        data.OMNIGLOT_FILES, "runs", data.OmniglotFile(path.name, _write_zip(path, members)))
    full = data.load_lake_runs(105)[0]
    boxed = data.load_lake_runs(28, box=20)[0]
    np.testing.assert_array_equal(boxed.answers, full.answers)
    np.testing.assert_array_equal(boxed.test_images, data.fit_to_box(full.test_images, 20, 28))
    np.testing.assert_array_equal(boxed.train_images, data.fit_to_box(full.train_images, 20, 28))
    assert not np.array_equal(boxed.test_images, data.load_lake_runs(28)[0].test_images)
    for box, error in ((0, ValueError), (29, ValueError), (2.5, TypeError)):
        with pytest.raises(error, match="box"):
            data.load_lake_runs(28, box=box)

    members = {f"images_background_small1/A/character01/0101_{d:02d}.png": _png(10 * d)
               for d in (1, 2)}
    path = cache_dir / "omniglot" / "images_background_small1.zip"
    monkeypatch.setitem(data.OMNIGLOT_FILES, "background_small1",
                        data.OmniglotFile(path.name, _write_zip(path, members)))
    full, boxed = data.load_omniglot("background_small1", 105), data.load_omniglot(
        "background_small1", 28, box=20)
    np.testing.assert_array_equal(boxed.images, data.fit_to_box(full.images, 20, 28))
    np.testing.assert_array_equal(boxed.drawer, full.drawer)
    with pytest.raises(ValueError, match="box must be at most image_size=28"):
        data.load_omniglot("background_small1", 28, box=40)


def test_real_background_small1(cache_dir):
    _copy_real_omniglot("images_background_small1.zip", cache_dir)
    ds = data.load_omniglot("background_small1", image_size=28)
    assert len(ds.alphabet_names) == 5 and ds.images.shape[1:] == (28, 28)
    assert len(ds.character_names) == len(set(ds.character.tolist()))
    assert set(ds.drawer.tolist()) == set(range(1, 21))


def test_real_background_small2_holds_the_characters_notebook_06_quotes(cache_dir):
    """Notebook 06, section 7, quotes these counts of the official zip (not in CI's data cache:
    a maintainer with the file runs this)."""
    _copy_real_omniglot("images_background_small2.zip", cache_dir)
    ds = data.load_omniglot("background_small2", image_size=28)
    counts = {name: len(set(ds.character[ds.alphabet == a].tolist()))
              for a, name in enumerate(ds.alphabet_names)}
    assert counts == {"Greek": 24, "Japanese_(katakana)": 47, "Latin": 26, "Sanskrit": 42,
                      "Tagalog": 17}
    assert sum(n for n in counts.values() if n >= 20) == 139
