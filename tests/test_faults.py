"""Faults a real user meets: damaged or edited files, awkward folders, bad arguments.

One test per kind of fault (issue 24, "nothing lost, nothing misread"): each fault gives one
clear error naming the file or the argument and what is wrong, or is handled and said in one
line; none is accepted in silence.
"""

import io
import json
import warnings
import zipfile

import keras
import numpy as np
import pytest
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
