"""Faults a real user meets: damaged or edited files, awkward folders, bad arguments.

One test per kind of fault (issue 24, "nothing lost, nothing misread"): each fault gives one
clear error naming the file or the argument and what is wrong, or is handled and said in one
line; none is accepted in silence.
"""

import io
import json
import os
import re
import struct
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from course_lib import config, data, folders, gallery, pk_sampling, results

SHAPE = (4, 4, 1)


def make_encoder(dim=3):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(SHAPE)
    return keras.Model(inputs, keras.layers.Dense(dim)(keras.layers.Flatten()(inputs)))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An export folder (encoder + gallery of 6 images, 3 classes) and its raw entries."""
    encoder = make_encoder()
    images = np.random.default_rng(0).random((6, *SHAPE))
    index = gallery.build_index(encoder, images, [0, 0, 1, 1, 2, 2], ["a", "b", "c"], 0.5)
    folder = tmp_path_factory.mktemp("export")
    gallery.export(encoder, index, folder)
    with np.load(folder / gallery.INDEX_FILE) as stored:
        entries = {k: stored[k] for k in stored.files}
    return folder, entries


def _edited(entries, **changes):
    """The gallery entries with ``changes``: arrays replaced, or meta keys (``meta_<key>``)."""
    meta = json.loads(str(entries["meta"]))
    out = dict(entries)
    for key, value in changes.items():
        if key.startswith("meta_"):
            if value is None:
                meta.pop(key[5:])
            else:
                meta[key[5:]] = value
        else:
            out[key] = value
    out["meta"] = np.array(json.dumps(meta))
    return out


GALLERY_FAULTS = {
    "zero bytes": (lambda e, raw: b"", "not a gallery index file"),
    "truncated": (lambda e, raw: raw[: len(raw) // 2], "not a gallery index file"),
    "not a zip": (lambda e, raw: b"hello, world" * 10, "not a gallery index file"),
    "missing threshold": (lambda e, raw: _edited(e, meta_threshold=None), "lacks.*threshold"),
    "NaN threshold": (lambda e, raw: _edited(e, meta_threshold=float("nan")),
                      "threshold must be a finite number"),
    "negative threshold": (lambda e, raw: _edited(e, meta_threshold=-1.0), "threshold must be"),
    "lengths differ": (lambda e, raw: _edited(e, labels=e["labels"][:4]),
                       "labels has 4 entries but embeddings has 6"),
    "labels outside class_names": (lambda e, raw: _edited(e, labels=e["labels"] + 1),
                                   r"labels must lie in \[0, 3\)"),
    "class names not strings": (lambda e, raw: _edited(e, meta_class_names=[1, 2, 3]),
                                "class_names must be"),
    "NaN embeddings": (lambda e, raw: _edited(e, embeddings=e["embeddings"] * np.nan),
                       "embeddings contains non-finite"),
    "embeddings of another width than the probe": (
        lambda e, raw: _edited(e, embeddings=np.zeros((6, 5), np.float32)),
        "embeddings are 5-D but its probe embeddings are 3-D"),
    "missing array": (lambda e, raw: {k: v for k, v in e.items() if k != "probe"},
                      r"no \['probe'\] entries"),
}


@pytest.mark.parametrize("fault", list(GALLERY_FAULTS))
def test_damaged_or_edited_gallery_file_is_refused_by_name(exported, tmp_path, fault):
    folder, entries = exported
    make, message = GALLERY_FAULTS[fault]
    raw = (folder / gallery.INDEX_FILE).read_bytes()
    content = make(entries, raw)
    path = tmp_path / "gallery.npz"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with open(path, "wb") as f:
            np.savez(f, **content)
    with pytest.raises(ValueError, match=message) as caught:
        gallery.load_index(path)
    assert str(path) in str(caught.value)


def test_gallery_of_another_width_than_the_model_is_refused(exported, tmp_path):
    folder, entries = exported
    wide = _edited(entries, embeddings=np.zeros((6, 5), np.float32),
                   probe=np.zeros((2, 5), np.float32))
    (tmp_path / gallery.ENCODER_FILE).write_bytes((folder / gallery.ENCODER_FILE).read_bytes())
    with open(tmp_path / gallery.INDEX_FILE, "wb") as f:
        np.savez(f, **wide)
    with pytest.raises(ValueError, match=r"gallery index .*gallery.npz holds 5-D embeddings but "
                                         r"this encoder outputs 3-D"):
        gallery.load(tmp_path)


def test_damaged_encoder_file_is_refused_by_name(exported, tmp_path):
    folder, _ = exported
    (tmp_path / gallery.INDEX_FILE).write_bytes((folder / gallery.INDEX_FILE).read_bytes())
    whole = (folder / gallery.ENCODER_FILE).read_bytes()
    (tmp_path / gallery.ENCODER_FILE).write_bytes(whole[: len(whole) // 3])
    with pytest.raises(ValueError, match=r"encoder file .*encoder.keras cannot be loaded"):
        gallery.load(tmp_path)


def test_damaged_json_files_are_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "build_dir", lambda: tmp_path)
    monkeypatch.setattr(results, "build_dir", lambda: tmp_path)
    (tmp_path / "results.json").write_text('{"01": {"acc": 0.9')          # cut short
    with pytest.raises(ValueError, match=r"results.json is not valid JSON"):
        results.record("02", acc=0.5)
    assert (tmp_path / "results.json").read_text() == '{"01": {"acc": 0.9'  # left as it was
    with pytest.raises(ValueError, match=r"results.json is not valid JSON"):
        results.main()
    (tmp_path / "results.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"results.json holds a JSON list, not an object"):
        results.record("02", acc=0.5)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "study.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"results/study.json is not valid JSON"):
        results.read_study("results/study.json", notebooks_dir=tmp_path)


@pytest.mark.parametrize("value", [np.float32("nan"), np.float64("inf"), float("nan"),
                                   [1.0, np.nan], {"a": -np.inf}])
def test_record_refuses_nan_and_inf_by_name(tmp_path, monkeypatch, value):
    monkeypatch.setattr(results, "build_dir", lambda: tmp_path)
    results.record("01", acc=0.5)
    before = (tmp_path / "results.json").read_text()
    with pytest.raises(ValueError, match="eer must be finite"):
        results.record("02", acc=np.float32(0.25), eer=value)
    assert (tmp_path / "results.json").read_text() == before
    stored = results.record("02", acc=np.float32(0.25), n=np.int64(3))
    assert stored["acc"] == 0.25 and stored["n"] == 3
    json.loads((tmp_path / "results.json").read_text(), parse_constant=pytest.fail)


def test_omniglot_folder_keeps_a_users_part_folder(tmp_path, monkeypatch):
    zpath = tmp_path / "images_background.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for char in ("character01", "character02"):
            for drawer in (1, 2):
                buf = io.BytesIO()
                Image.new("L", (5, 5), 40 * drawer).save(buf, format="PNG")
                z.writestr(f"images_background/Greek/{char}/0001_{drawer:02d}.png", buf.getvalue())
    monkeypatch.setattr(data, "omniglot_file", lambda split: zpath)
    mine = tmp_path / "images.part"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"precious")
    out = folders.omniglot_folder(tmp_path / "images")
    folders.omniglot_folder(out, overwrite=True)
    assert (mine / "holiday.jpg").read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "images.part",
                                                          "images_background.zip"]
    assert sorted(p.name for p in out.iterdir()) == ["Greek_character01", "Greek_character02"]


def _write(path, value=100, size=(8, 8), fmt=None, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size[::-1], value if mode == "L" else (value, 20, 200)).save(path, fmt)


def test_a_class_folder_linked_into_the_tree_is_skipped(tmp_path):
    for name in ("a", "b"):
        for i in range(2):
            _write(tmp_path / name / f"{i}.png", 50 * i)
    (tmp_path / "b_again").symlink_to(tmp_path / "b", target_is_directory=True)
    (tmp_path / "everything").symlink_to(tmp_path, target_is_directory=True)
    with pytest.warns(UserWarning, match=r"skipped 2 class folder\(s\) that are symbolic links "
                                         r"into .*b_again \(a link to b/ inside the folder\)"):
        scan = folders.scan_image_folder(tmp_path)
    assert scan.class_names == ("a", "b") and len(scan.paths) == 4
    with pytest.warns(UserWarning, match="symbolic links"):
        loaded = folders.load_image_folder(tmp_path, image_size=8)
    assert loaded.class_names == ("a", "b")


def test_a_truncated_jpeg_is_caught_by_the_scan(tmp_path):
    for name in ("a", "b"):
        for i in range(3):
            _write(tmp_path / name / f"{i}.jpg", 30 * i, size=(40, 30), mode="RGB")
    noise = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "JPEG")
    whole = buf.getvalue()                     # cut in the middle of its scan data, after the
    (tmp_path / "b" / "2.jpg").write_bytes(whole[: len(whole) // 2])   # headers PIL checks
    with Image.open(tmp_path / "b" / "2.jpg") as im:
        im.verify()                            # what the scan used to do: it passes
    with pytest.warns(UserWarning, match=r"skipped 1 file\(s\) .*b/2.jpg \(unreadable"):
        scan = folders.scan_image_folder(tmp_path)
    assert len(scan.paths) == 5
    batch = folders.read_images(scan.paths, image_size=8)        # nothing left to fail
    assert batch.shape == (5, 8, 8, 1)


def test_decode_errors_name_the_file(tmp_path):
    for name in ("a", "b"):
        for i in range(3):
            _write(tmp_path / name / f"{i}.png", 30 * i)
    whole = (tmp_path / "b" / "1.png").read_bytes()
    (tmp_path / "b" / "1.png").write_bytes(whole[: len(whole) // 2])
    quick = folders.scan_image_folder(tmp_path, check_files=False, warn=False)
    with pytest.raises(ValueError, match=r"image file .*b/1.png cannot be decoded"):
        folders.read_images(quick.paths, image_size=8)
    with pytest.raises(ValueError, match=r"image file .*b/1.png cannot be decoded: Invalid PNG"):
        folders.decode_image(str(tmp_path / "b" / "1.png"), 8)
    with pytest.raises(FileNotFoundError, match=r"image file .*b/9.png does not exist"):
        folders.decode_image(tmp_path / "b" / "9.png", 8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folders.load_image_folder(tmp_path, image_size=8)
    text = " ".join(str(w.message) for w in caught)
    assert "b/1.png (unreadable: Invalid PNG" in text
    assert "{{" not in text and "name:" not in text and "[Op:" not in text


@pytest.mark.parametrize("color_mode,channels", [("grayscale", 1), ("rgb", 3)])
def test_every_advertised_format_decodes_in_both_modes(tmp_path, color_mode, channels):
    for i, (suffix, fmt) in enumerate([(".png", "PNG"), (".jpg", "JPEG"), (".gif", "GIF"),
                                       (".bmp", "BMP")]):
        for mode in ("L", "RGB"):
            _write(tmp_path / fmt / f"{mode}{suffix}", 100 + i, fmt=fmt, mode=mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                           # no file skipped
        scan = folders.scan_image_folder(tmp_path)
        loaded = folders.load_image_folder(tmp_path, image_size=8, color_mode=color_mode)
    assert loaded.images.shape == (8, 8, 8, channels)
    read = folders.read_images(scan.paths, image_size=8, color_mode=color_mode)
    np.testing.assert_array_equal(read, loaded.images)
    gray = loaded.images[np.char.endswith(loaded.paths.astype(str), "L.gif")][0]
    np.testing.assert_allclose(gray * 255, 103, atol=1.0)      # GIF's gray value survives
    x, _ = next(iter(folders.path_pk_dataset(scan.paths, scan.labels, 2, 2, image_size=8,
                                             color_mode=color_mode, steps=1)))
    assert x.shape == (4, 8, 8, channels)


def test_nan_images_are_refused_by_pk_dataset():
    x = np.zeros((8, 3, 3, 1), np.float32)
    x[5, 1, 1, 0] = np.nan
    with pytest.raises(ValueError, match=r"x contains non-finite values .* e.g. x\[5\]"):
        pk_sampling.pk_dataset(x, np.repeat([0, 1], 4), 2, 2)
    x[5, 1, 1, 0] = np.inf
    with pytest.raises(ValueError, match=r"x contains non-finite values"):
        pk_sampling.pk_dataset(x, np.repeat([0, 1], 4), 2, 2)


def test_flag_and_function_arguments_are_checked(tmp_path):
    for name in ("a", "b"):
        for i in range(2):
            _write(tmp_path / name / f"{i}.png", 30 * i)
    with pytest.raises(TypeError, match="check_files must be a bool, got str 'no'"):
        folders.scan_image_folder(tmp_path, check_files="no")
    with pytest.raises(TypeError, match="warn must be a bool, got int 0"):
        folders.scan_image_folder(tmp_path, warn=0)
    scan = folders.scan_image_folder(tmp_path)
    with pytest.raises(TypeError, match="augment must be callable, got str"):
        folders.path_pk_dataset(scan.paths, scan.labels, 2, 2, augment="flip")
    with pytest.raises(TypeError, match="augment must be callable, got bool"):
        pk_sampling.pk_dataset(np.zeros((4, 2)), [0, 0, 1, 1], 2, 2, augment=True)


def test_classes_smaller_than_k_are_drawn_with_repetition_said_once(tmp_path, capsys):
    sizes = {"big one": 6, "big two": 5, "café": 3, "duo": 2, "solo": 1, "trio": 3}
    for name, n in sizes.items():
        for i in range(n):
            _write(tmp_path / name / f"{i}.png", 10 * i)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                          # "solo" skipped by the scan
        scan = folders.scan_image_folder(tmp_path, min_per_class=1)
    capsys.readouterr()
    ds = folders.path_pk_dataset(scan.paths, scan.labels, 4, 4, image_size=8, steps=20)
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed == ["P x K sampling: 4 of 6 classes have fewer than k=4 examples: 3 with 2..3 "
                       "examples are drawn with repetition up to k=4; 1 with a single example "
                       "are left out of the batches (keep them for a gallery or a test), e.g. "
                       f"class {scan.class_names.index('solo')}"]
    solo = scan.class_names.index("solo")
    for _, labels in ds:
        labels = labels.numpy().reshape(4, 4)
        assert (labels == labels[:, :1]).all() and len(set(labels[:, 0])) == 4
        assert solo not in labels
    idx = pk_sampling.pk_indices(scan.labels, 4, 4, 50, seed=1).reshape(50, 4, 4)
    for block in idx.reshape(-1, 4):
        n = sizes[scan.class_names[scan.labels[block[0]]]]
        assert len(set(block)) == min(n, 4)                      # all of a small class's images
        assert list(block) == [block[i % min(n, 4)] for i in range(4)]
    with pytest.raises(ValueError, match=r"k=4 examples per class, but 4 classes have fewer"):
        pk_sampling.PKSampler(scan.labels, 4, 4, small_classes="error")


# --------------------------------------------------------------------------- image folder faults


def _two_classes(root, n=2, size=(8, 8)):
    for name in ("a", "b"):
        for i in range(n):
            _write(root / name / f"{i}.png", 40 + 50 * i, size=size)


def _messages(caught) -> list[str]:
    return [str(w.message) for w in caught]


def test_a_truncated_jpeg_is_named_relative_to_the_folder_everywhere(tmp_path):
    root = tmp_path / "photos"
    _two_classes(root, n=3)
    noise = np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "JPEG")
    (root / "b" / "deep").mkdir()
    (root / "b" / "deep" / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    for load in (lambda: folders.scan_image_folder(root),
                 lambda: folders.load_image_folder(root, image_size=8)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = load()
        text = " ".join(_messages(caught))
        assert "skipped 1 file(s) in photos/: b/deep/cut.jpg (unreadable" in text
        assert str(tmp_path) not in text                 # no machine's folder names
        assert len(out.paths) == 6 and not any("cut.jpg" in p for p in out.paths)
    with pytest.raises(ValueError, match=r"image file .*b/deep/cut.jpg cannot be decoded"):
        folders.decode_image(root / "b" / "deep" / "cut.jpg", 8)


def _luma(rgb):
    """TensorFlow's (and ITU-R 601's) gray value of uint8 RGB pixels, in [0, 1]."""
    return (np.asarray(rgb, np.float64) @ [0.2989, 0.5870, 0.1140])[..., None] / 255


@pytest.mark.parametrize("fmt,suffix", [("GIF", ".gif"), ("BMP", ".bmp")])
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_gif_and_bmp_pixels_in_both_colour_modes(tmp_path, fmt, suffix, mode):
    """The pixels, not just the shapes: RGB mode gives the file's colours, grayscale their gray
    value (a GIF or BMP decoded to RGB then converted, not one channel of it)."""
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (6, 10) if mode == "L" else (6, 10, 3), dtype=np.uint8)
    paths = []
    for name in ("a", "b"):
        for i in range(2):
            path = tmp_path / "f" / name / f"{i}{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels, mode).save(path, fmt)
            paths.append(str(path))
    with Image.open(paths[0]) as im:
        rgb = np.asarray(im.convert("RGB"))             # what the file holds (GIF: its palette)
    for color_mode, expected in (("rgb", rgb / 255), ("grayscale", _luma(rgb))):
        one = folders.decode_image(paths[0], (6, 10), color_mode).numpy()
        np.testing.assert_allclose(one, expected, atol=1.01 / 255)
        loaded = folders.load_image_folder(tmp_path / "f", (6, 10), color_mode)
        np.testing.assert_allclose(loaded.images[0], expected, atol=1.01 / 255)
        cached = folders.cache_images(paths, (6, 10), color_mode, cache_dir=tmp_path / "c")
        np.testing.assert_allclose(cached[0] / 255, expected, atol=1.51 / 255)


def _with_exif_segment(jpeg: bytes, payload: bytes) -> bytes:
    """``jpeg`` with an APP1 (EXIF) segment holding ``payload`` right after its start marker."""
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


@pytest.mark.parametrize("tag", [0, 9, 255, 65535, "damaged"])
def test_an_invalid_exif_orientation_is_read_as_stored_and_said(tmp_path, tag):
    stored = np.random.default_rng(4).integers(0, 256, (6, 10, 3), dtype=np.uint8)
    root = tmp_path / "photos"
    _two_classes(root, size=(10, 6))                    # the same size as read upright
    if tag == "damaged":
        buf = io.BytesIO()
        Image.fromarray(stored).save(buf, "JPEG", quality=95)
        path = root / "a" / "odd.jpg"
        path.write_bytes(_with_exif_segment(buf.getvalue(), b"Exif\0\0II*\0" +
                                            struct.pack("<I", 99999)))  # IFD past the end
        expected = tf.io.decode_jpeg(buf.getvalue()).numpy() / 255
        said = r"a/odd.jpg \(damaged EXIF data \(.*\): orientation 1 used\)"
    else:
        exif = Image.Exif()
        exif[0x0112] = tag
        path = root / "a" / "odd.png"
        Image.fromarray(stored).save(path, exif=exif.tobytes())
        expected = stored / 255
        said = rf"a/odd.png \(EXIF orientation {tag} is not 1-8: read as stored\)"
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # PIL's own warnings stay inside
        np.testing.assert_allclose(folders.decode_image(path, (6, 10), "rgb"), expected,
                                   atol=1e-6)
        np.testing.assert_allclose(folders.read_images([str(path)], (6, 10), "rgb")[0],
                                   expected, atol=1e-6)
    for load in (lambda: folders.scan_image_folder(root),
                 lambda: folders.load_image_folder(root, image_size=(6, 10))):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = load()
        text = _messages(caught)
        exif_lines = [m for m in text if "EXIF" in m]
        assert len(exif_lines) == 1 and re.search(
            r"1 file\(s\) in photos/ have EXIF data that cannot be used as it is \(kept\): "
            + said, exif_lines[0]), text
        assert str(tmp_path) not in exif_lines[0] and str(path) in map(str, out.paths)
    assert out.images.shape == (5, 6, 10, 1)            # the odd file kept, as the others


def test_mixed_sizes_are_counted_after_the_exif_orientation(tmp_path):
    """A photo stored sideways (20 x 40 with orientation 6) is read 40 x 20, like the others:
    one size, so no mixed-size warning; without its tag it would be a second size."""
    for name in ("a", "b"):
        for i in range(2):
            _write(tmp_path / name / f"{i}.png", 60 * i, size=(40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("L", (40, 20), 90).save(tmp_path / "a" / "sideways.png", exif=exif.tobytes())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scan = folders.scan_image_folder(tmp_path)
        folders.load_image_folder(tmp_path, image_size=(40, 20))
    assert scan.sizes == {(40, 20): 5}
    Image.new("L", (40, 20), 90).save(tmp_path / "a" / "sideways.png")     # tag gone
    with pytest.warns(UserWarning, match=r"come in 2 sizes \(height x width: 40x20: 4, 20x40: 1"):
        scan = folders.scan_image_folder(tmp_path)
    assert scan.sizes == {(40, 20): 4, (20, 40): 1}


def test_class_folders_linked_inside_and_outside_the_tree(tmp_path):
    """A link into the tree (absolute, relative, or into another class's subfolder) is
    skipped and named; a link to a folder elsewhere is an ordinary class."""
    root, elsewhere = tmp_path / "photos", tmp_path / "elsewhere"
    _two_classes(root)
    _write(root / "b" / "sub" / "x.png", 10)
    _write(root / "b" / "sub" / "y.png", 20)
    for i in range(2):
        _write(elsewhere / f"{i}.png", 200 - i)
    (root / "c_outside").symlink_to(elsewhere, target_is_directory=True)
    (root / "d_relative").symlink_to("a", target_is_directory=True)
    (root / "e_nested").symlink_to(root / "b" / "sub", target_is_directory=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scan = folders.scan_image_folder(root)
    assert scan.class_names == ("a", "b", "c_outside") and len(scan.paths) == 8
    linked = [m for m in _messages(caught) if "symbolic links" in m]
    assert len(linked) == 1 and "skipped 2 class folder(s)" in linked[0]
    assert "d_relative (a link to a/ inside the folder)" in linked[0]
    assert "e_nested (a link to b/sub/ inside the folder)" in linked[0]
    assert str(tmp_path) not in linked[0]


def _cache_setup(tmp_path):
    paths = []
    for i in range(4):
        path = tmp_path / "img" / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((6, 6), 30 + 50 * i, np.uint8)).save(path)
        paths.append(str(path))
    first = np.array(folders.cache_images(paths, 6, cache_dir=tmp_path / "c"))
    (target,) = (tmp_path / "c").glob("images-*.npy")
    return paths, first, target


CACHE_DAMAGE = {
    "empty": (lambda raw: b"", "is empty"),
    "cut short": (lambda raw: raw[: len(raw) // 2], "is cut short"),
    "header only": (lambda raw: raw[:128], "is cut short"),
    "not an array": (lambda raw: b"\x80\x04K\x01." + b"x" * 200, "is not a NumPy array file"),
    "another shape": ("shape", r"holds uint8 \(3, 6, 6, 1\), not uint8 \(4, 6, 6, 1\)"),
    "another dtype": ("dtype", r"holds float32 \(4, 6, 6, 1\), not uint8 \(4, 6, 6, 1\)"),
}


@pytest.mark.parametrize("damage", list(CACHE_DAMAGE))
def test_a_damaged_cache_file_is_rebuilt_and_named(tmp_path, damage):
    paths, first, target = _cache_setup(tmp_path)
    make, said = CACHE_DAMAGE[damage]
    if make == "shape":
        np.save(target, first[:3])
    elif make == "dtype":
        np.save(target, first.astype(np.float32))
    else:
        target.write_bytes(make(target.read_bytes()))
    with pytest.warns(UserWarning, match=rf"image cache .*{target.name} {said}: rebuilding it"):
        again = folders.cache_images(paths, 6, cache_dir=tmp_path / "c")
    np.testing.assert_array_equal(again, first)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # repaired: reused without a word
        np.testing.assert_array_equal(folders.cache_images(paths, 6, cache_dir=tmp_path / "c"),
                                      first)
    assert [p.name for p in (tmp_path / "c").iterdir()] == [target.name]


def test_a_cache_still_damaged_after_rebuilding_is_an_error_naming_it(tmp_path, monkeypatch):
    paths, _, target = _cache_setup(tmp_path)
    target.write_bytes(b"")
    monkeypatch.setattr(np, "save", lambda file, arr: Path(file).write_bytes(b"\x93NUMPY"))
    with pytest.warns(UserWarning, match="is empty: rebuilding it"):
        with pytest.raises(ValueError, match=rf"image cache .*{target.name} is not a NumPy array "
                                             r"file right after it was written"):
            folders.cache_images(paths, 6, cache_dir=tmp_path / "c")


def test_a_stale_cache_is_not_reused_after_an_edit_that_hides_itself(tmp_path):
    """An image edited in place with its size kept and its modification time set back (as
    ``cp -p`` or a sync tool can do) still gets a new cache: the stale pixels never come back."""
    paths, first, _ = _cache_setup(tmp_path)
    edited = Path(paths[2])
    stat = edited.stat()
    raw = bytearray(edited.read_bytes())
    other = io.BytesIO()
    Image.fromarray(np.full((6, 6), 7, np.uint8)).save(other, "PNG")
    assert len(other.getvalue()) == len(raw)            # the same byte size
    edited.write_bytes(other.getvalue())
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert edited.stat().st_mtime_ns == stat.st_mtime_ns
    fresh = folders.cache_images(paths, 6, cache_dir=tmp_path / "c")
    assert (fresh[2] == 7).all() and not (first[2] == 7).any()
    np.testing.assert_array_equal(fresh[[0, 1, 3]], first[[0, 1, 3]])


BAD_ASPECTS = [("Crop", ValueError, r"aspect must be one of \('stretch', 'crop', 'pad'\), "
                                    r"got 'Crop'"),
               ("fill", ValueError, "aspect must be one of .* got 'fill'"),
               (None, TypeError, "aspect must be one of .* got NoneType"),
               (1, TypeError, "aspect must be one of .* got int")]


@pytest.mark.parametrize("aspect,error,message", BAD_ASPECTS)
def test_aspect_is_checked_before_any_file_is_read(tmp_path, aspect, error, message):
    _two_classes(tmp_path / "f")
    scan = folders.scan_image_folder(tmp_path / "f")
    missing = [str(tmp_path / "nowhere.png")]           # a file would fail if it were read
    calls = {
        "decode_image": lambda: folders.decode_image(missing[0], 8, aspect=aspect),
        "read_images": lambda: folders.read_images(missing, 8, aspect=aspect),
        "cache_images": lambda: folders.cache_images(missing, 8, aspect=aspect,
                                                     cache_dir=tmp_path / "c"),
        "load_image_folder": lambda: folders.load_image_folder(tmp_path / "f", 8, aspect=aspect),
        "path_pk_dataset": lambda: folders.path_pk_dataset(scan.paths, scan.labels, 2, 2,
                                                           image_size=8, aspect=aspect),
    }
    for _name, call in calls.items():
        with pytest.raises(error, match=message):
            call()
    assert not (tmp_path / "c").exists()
    with pytest.raises(error, match=message):       # an export fits queries as training did
        gallery.Preprocessing((8, 8), "grayscale", aspect=aspect)


def test_reading_exif_in_parallel_leaves_the_warning_filters_as_they_were(tmp_path):
    """tf.data reads orientations from several threads at once; the PIL warnings kept out
    must not leave a changed process-wide warning filter behind."""
    buf = io.BytesIO()
    Image.new("RGB", (10, 6), (10, 20, 30)).save(buf, "JPEG")
    data = _with_exif_segment(buf.getvalue(), b"Exif\0\0II*\0" + struct.pack("<I", 99999))
    paths = []
    for i in range(64):
        (tmp_path / f"{i}.jpg").write_bytes(data)
        paths.append(str(tmp_path / f"{i}.jpg"))
    before = list(warnings.filters)
    for _ in range(3):
        folders.read_images(paths, (6, 10), "rgb", batch_size=8)
    assert warnings.filters == before
