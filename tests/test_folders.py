"""Image folders: loading, reporting what is skipped, layout errors, decoding on the fly."""

import warnings

import keras
import numpy as np
import pytest
from PIL import Image

from course_lib import folders, losses, pk_sampling


def write(path, value, size=(12, 12), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 255 - value, 7)
    Image.new(mode, size[::-1], color).save(path)


@pytest.fixture
def messy(tmp_path):
    """3 good classes, one with a single image, one empty, a broken file, a text file."""
    root = tmp_path / "imgs"
    for c, name in enumerate(["apple", "banana", "cherry"]):
        for i in range(4):
            write(root / name / f"{i}.png", 40 * c + i)
    write(root / "banana" / "big.png", 99, size=(20, 16))          # another size
    write(root / "lonely" / "only.png", 200)
    (root / "empty").mkdir()
    (root / "cherry" / "broken.png").write_bytes(b"\x89PNG not really")
    (root / "cherry" / "notes.txt").write_text("hello")
    (root / "cherry" / ".hidden.png").write_bytes(b"")              # ignored: hidden
    return root


def test_load_reports_skips_and_resizes_once(messy):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = folders.load_image_folder(messy, image_size=(12, 12))
    text = [str(w.message) for w in caught]
    assert data.class_names == ("apple", "banana", "cherry")
    assert data.images.shape == (13, 12, 12, 1) and data.images.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(data.labels), [4, 5, 4])
    # Pixel values survive: apple's image i is 40*0 + i everywhere.
    first = data.images[data.labels == 0][:, :, :, 0]
    np.testing.assert_allclose(first.mean(axis=(1, 2)), np.arange(4) / 255, atol=1e-6)
    files = [t for t in text if t.startswith("skipped 2 file(s)")]
    assert len(files) == 1 and "broken.png (unreadable" in files[0] and "notes.txt" in files[0]
    classes = [t for t in text if "class folder(s)" in t]
    assert len(classes) == 1 and "lonely (1 usable image)" in classes[0]
    assert "empty (0 usable images)" in classes[0]
    sizes = [t for t in text if "sizes" in t]
    assert len(sizes) == 1 and "all resized to 12x12" in sizes[0]
    assert set(data.skipped_classes) == {"lonely", "empty"}
    assert any(k.endswith("broken.png") for k in data.skipped_files)


def test_rgb_and_size(messy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = folders.load_image_folder(messy, image_size=6, color_mode="rgb")
    assert data.images.shape[1:] == (6, 6, 3)
    assert 0.0 <= data.images.min() and data.images.max() <= 1.0


def test_rgb_channels_are_kept(tmp_path):
    for c in range(2):
        for i in range(2):
            write(tmp_path / f"c{c}" / f"{i}.png", 100 + c, mode="RGB")
    data = folders.load_image_folder(tmp_path, image_size=12, color_mode="rgb")
    np.testing.assert_allclose(data.images[0, 0, 0] * 255, [100, 155, 7], atol=1e-4)


def test_scan_checks_files_and_reports_sizes(messy):
    with pytest.warns(UserWarning, match="skipped 2 file"):
        scan = folders.scan_image_folder(messy)
    assert scan.class_names == ("apple", "banana", "cherry")
    assert len(scan.paths) == 13 and scan.sizes[(12, 12)] == 13 and scan.sizes[(20, 16)] == 1
    quick = folders.scan_image_folder(messy, check_files=False, warn=False)
    assert any(p.endswith("broken.png") for p in quick.paths)     # not opened: not caught


def test_layout_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        folders.load_image_folder(tmp_path / "nowhere")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(ValueError, match="is a file; expected a folder"):
        folders.scan_image_folder(tmp_path / "file.png")
    flat = tmp_path / "flat"
    write(flat / "a.png", 1)
    with pytest.raises(ValueError, match="no class subfolders .*holds 1 images directly"):
        folders.scan_image_folder(flat)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class subfolders"):
        folders.load_image_folder(tmp_path / "empty")
    one = tmp_path / "one"
    for i in range(3):
        write(one / "only_class" / f"{i}.png", i)
    with pytest.raises(ValueError, match="has 1 class.*needs at least 2 classes"):
        folders.scan_image_folder(one)
    with pytest.raises(TypeError, match="directory must be a path"):
        folders.scan_image_folder(3)
    write(one / "other" / "0.png", 9)
    write(one / "other" / "1.png", 9)
    with pytest.raises(ValueError, match="color_mode must be one of"):
        folders.load_image_folder(one, color_mode="rgba")
    with pytest.raises(ValueError, match=r"image_size\[1\] must be an int >= 1"):
        folders.load_image_folder(one, image_size=(8, 0))
    with pytest.raises(TypeError, match="image_size must be an int or a"):
        folders.load_image_folder(one, image_size="big")


@pytest.fixture(scope="module")
def many_pngs(tmp_path_factory):
    """2,000 small PNGs in 40 class folders."""
    root = tmp_path_factory.mktemp("many")
    rng = np.random.default_rng(0)
    for c in range(40):
        (root / f"class_{c:02d}").mkdir()
        for i in range(50):
            pixels = (rng.integers(0, 40, (8, 8)) + 5 * c).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"class_{c:02d}" / f"{i:03d}.png")
    return root


@pytest.mark.slow
def test_path_pipeline_gives_the_in_memory_batches_and_trains(many_pngs):
    scan = folders.scan_image_folder(many_pngs)
    assert len(scan.paths) == 2000
    memory = folders.load_image_folder(many_pngs, image_size=8)
    from_files = folders.path_pk_dataset(scan.paths, scan.labels, p=8, k=4, image_size=8,
                                         seed=5, steps=3)
    in_memory = pk_sampling.pk_dataset(memory.images, memory.labels, p=8, k=4, seed=5, steps=3)
    for (xf, yf), (xm, ym) in zip(from_files, in_memory):
        assert xf.shape == (32, 8, 8, 1)
        np.testing.assert_array_equal(xf.numpy(), xm.numpy())
        np.testing.assert_array_equal(yf.numpy(), ym.numpy())

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(8)(keras.layers.Flatten()(x)))
    model.compile("adam", loss=losses.BatchHardTripletLoss(margin=0.2))
    hist = model.fit(folders.path_pk_dataset(scan.paths, scan.labels, 8, 4, image_size=8,
                                             seed=0), steps_per_epoch=4, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0])


def test_path_pipeline_reads_files_when_batches_are_drawn(many_pngs, tmp_path):
    # Only paths are held: changing a file after building the dataset changes the batch.
    copy = tmp_path / "copy"
    for c in range(2):
        for i in range(2):
            write(copy / f"c{c}" / f"{i}.png", 10, size=(4, 4))
    scan = folders.scan_image_folder(copy)
    ds = folders.path_pk_dataset(scan.paths, scan.labels, 2, 2, image_size=4, steps=1)
    for path in scan.paths:
        write(type(copy)(path), 250, size=(4, 4))
    x, _ = next(iter(ds))
    np.testing.assert_allclose(x.numpy(), 250 / 255, atol=1e-6)


def test_path_pipeline_bad_input(many_pngs):
    scan = folders.scan_image_folder(many_pngs)
    with pytest.raises(TypeError, match="paths must be a 1-D array of file paths"):
        folders.path_pk_dataset(np.arange(2000), scan.labels, 2, 2)
    with pytest.raises(ValueError, match="paths has 10 entries but y has 2000"):
        folders.path_pk_dataset(scan.paths[:10], scan.labels, 2, 2)
    with pytest.raises(TypeError, match="augment must be callable"):
        folders.path_pk_dataset(scan.paths, scan.labels, 2, 2, augment="flip")


@pytest.mark.slow
def test_path_pipeline_holds_paths_not_pixels(many_pngs):
    # Memory bounded by construction: the dataset's graph (everything it keeps between batches)
    # holds the file paths and the sampler's index tables, not the images; the in-memory
    # pipeline embeds every image as one constant.
    scan = folders.scan_image_folder(many_pngs)
    memory = folders.load_image_folder(many_pngs, image_size=8)
    path_bytes = sum(len(p) for p in scan.paths)
    from_files = folders.path_pk_dataset(scan.paths, scan.labels, 8, 4, image_size=64,
                                         repeat=True)
    in_memory = pk_sampling.pk_dataset(memory.images, memory.labels, 8, 4, repeat=True)
    files_graph = len(from_files._as_serialized_graph().numpy())
    memory_graph = len(in_memory._as_serialized_graph().numpy())
    assert memory_graph > memory.images.nbytes
    # Decoded at 64x64 the images would take 2000 * 64 * 64 * 4 bytes = 32 MB; the graph stays
    # within the paths plus a fixed overhead (index tables: 8 bytes per example, ops).
    assert files_graph < path_bytes + 8 * 3 * len(scan.paths) + 100_000, files_graph


def test_omniglot_folder_copies_the_zip_as_class_folders(tmp_path, monkeypatch):
    from course_lib import data

    zpath = tmp_path / "fake.zip"
    png = {}
    import io
    import zipfile
    with zipfile.ZipFile(zpath, "w") as z:
        for alphabet in ("Greek", "Latin"):
            for char in ("character01", "character02"):
                for drawer in (1, 2):
                    buf = io.BytesIO()
                    Image.new("L", (5, 5), 17 * drawer).save(buf, format="PNG")
                    name = f"images_background/{alphabet}/{char}/0001_{drawer:02d}.png"
                    png[name] = buf.getvalue()
                    z.writestr(name, png[name])
    monkeypatch.setattr(data, "omniglot_file", lambda split: zpath)
    out = folders.omniglot_folder(tmp_path / "images")
    scan = folders.scan_image_folder(out)
    assert scan.class_names == ("Greek_character01", "Greek_character02", "Latin_character01",
                                "Latin_character02")
    np.testing.assert_array_equal(np.bincount(scan.labels), [2, 2, 2, 2])
    copied = (out / "Latin_character02" / "0001_02.png").read_bytes()
    assert copied == png["images_background/Latin/character02/0001_02.png"]
    assert not (tmp_path / "images.part").exists()
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        folders.omniglot_folder(out)
    (out / "extra").mkdir()
    folders.omniglot_folder(out, overwrite=True)
    assert not (out / "extra").exists()
    with pytest.raises(ValueError, match="split 'runs'"):
        folders.omniglot_folder(tmp_path / "x", split="runs")
    with pytest.raises(TypeError, match="directory must be a path"):
        folders.omniglot_folder(None)


@pytest.mark.slow
def test_read_images_in_order(many_pngs):
    scan = folders.scan_image_folder(many_pngs)
    pick = scan.paths[[1999, 0, 77]]
    images = folders.read_images(pick, image_size=8, batch_size=2)
    memory = folders.load_image_folder(many_pngs, image_size=8)
    np.testing.assert_array_equal(images, memory.images[[1999, 0, 77]])
    assert folders.read_images(pick[:1], image_size=(4, 5), color_mode="rgb").shape == (1, 4, 5, 3)
    with pytest.raises(ValueError, match="at least one file path"):
        folders.read_images(pick[:0])
    with pytest.raises(TypeError, match="paths must be a 1-D array of file paths"):
        folders.read_images([1, 2])


def test_warnings_name_files_relative_to_the_folder(messy):
    with pytest.warns(UserWarning) as caught:
        folders.scan_image_folder(messy)
    text = " ".join(str(w.message) for w in caught)
    assert "cherry/broken.png (unreadable" in text and str(messy) not in text


# --------------------------------------------------------------------------- EXIF, aspect, demo


def _asymmetric(h=6, w=10):
    """An RGB image with no symmetry, so every orientation gives different pixels."""
    rng = np.random.default_rng(3)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied_like_pil(tmp_path, orientation):
    from PIL import ImageOps
    image = _asymmetric()
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "photo.png"                      # PNG: lossless, so pixels compare exactly
    image.save(path, exif=exif.tobytes())
    with Image.open(path) as stored:
        assert stored.getexif().get(0x0112) == orientation
        expected = np.asarray(ImageOps.exif_transpose(stored).convert("RGB"), np.float32) / 255
    size = expected.shape[:2]
    eager = folders.decode_image(path, size, "rgb").numpy()
    np.testing.assert_allclose(eager, expected, atol=1e-6)
    in_graph = folders.read_images([str(path)], size, "rgb")[0]     # inside tf.data
    np.testing.assert_allclose(in_graph, expected, atol=1e-6)


def test_aspect_crop_and_pad(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :10] = 255                                # a white band on the left quarter
    pixels[:, 10:30] = 128                              # grey centre
    path = tmp_path / "wide.png"
    Image.fromarray(pixels).save(path)
    crop = folders.decode_image(path, (10, 10), "rgb", aspect="crop").numpy()
    np.testing.assert_allclose(crop, 128 / 255, atol=1e-3)          # only the centre is kept
    pad = folders.decode_image(path, (20, 20), "rgb", aspect="pad").numpy()
    assert np.all(pad[:5] == 0) and np.all(pad[-5:] == 0)           # black bands above, below
    assert pad[10, 2].min() > 0.9 and abs(pad[10, 10].mean() - 128 / 255) < 0.02
    stretch = folders.decode_image(path, (20, 20), "rgb").numpy()
    assert stretch[:5, :4].min() > 0.9                  # squashed: no black band above
    with pytest.raises(ValueError, match="aspect"):
        folders.decode_image(path, (10, 10), aspect="squash")
    with pytest.raises(TypeError, match="aspect"):
        folders.read_images([str(path)], (10, 10), aspect=1)


def test_demo_photo_folder_looks_like_own_photos(tmp_path):
    root = folders.make_demo_photo_folder(tmp_path / "photos", n_classes=40, max_side=48)
    classes = sorted(p for p in root.iterdir() if p.name != folders.DEMO_MARKER)
    assert len(classes) == 40 and not any(p.name.startswith(".") for p in tmp_path.iterdir())
    assert folders.is_demo_folder(root) and not folders.is_demo_folder(tmp_path)
    assert all(" " in p.name for p in classes)
    assert any(not p.name.isascii() for p in classes)
    counts = [len(list(p.iterdir())) for p in classes]
    assert min(counts) == 1 and sum(c <= 3 for c in counts) >= 3 and max(counts) >= 20
    files = sorted(root.glob("*/*"))
    assert {f.suffix for f in files} == {".jpg", ".png"}
    shapes, sideways = set(), []
    for f in files:
        with Image.open(f) as im:
            assert im.mode == "RGB"
            shapes.add(im.size)
            if im.getexif().get(0x0112) == 6:
                sideways.append(f)
    assert len(shapes) > 10 and len({round(w / h, 1) for w, h in shapes}) >= 4
    assert len(sideways) == 6
    for f in sideways:                                  # decoded upright: taller than stored
        with Image.open(f) as im:
            w, h = im.size
        stored = np.asarray(Image.open(f).convert("RGB"), np.float32) / 255
        upright = folders.decode_image(f, (w, h), "rgb").numpy()   # (height, width) = (w, h)
        # JPEG: PIL's and TensorFlow's decoders differ slightly, so compare mean errors
        right = np.abs(upright - np.rot90(stored, 3)).mean()
        assert right < 0.02 and right < np.abs(upright - np.rot90(stored, 1)).mean() / 3
    again = folders.make_demo_photo_folder(tmp_path / "again", n_classes=40, max_side=48)
    assert [f.read_bytes() for f in files] == [f.read_bytes() for f in sorted(again.glob("*/*"))]
    with pytest.raises(FileExistsError):
        folders.make_demo_photo_folder(root, n_classes=40, max_side=48)
    with pytest.raises(ValueError, match="n_classes"):
        folders.make_demo_photo_folder(tmp_path / "x", n_classes=1)


def test_demo_photo_folder_trains_in_rgb_with_k4(tmp_path):
    root = folders.make_demo_photo_folder(tmp_path / "photos", n_classes=30, max_side=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scanned = folders.scan_image_folder(root, min_per_class=1)
    assert len(scanned.class_names) == 30
    ds = folders.path_pk_dataset(scanned.paths, scanned.labels, p=4, k=4, image_size=64,
                                 color_mode="rgb", steps=2, aspect="crop")
    for x, y in ds:
        assert x.shape == (16, 64, 64, 3) and np.isfinite(x.numpy()).all()
        assert len(np.unique(y.numpy())) == 4


def test_assert_on_demo_raises_on_the_demo_folder_and_warns_on_another(tmp_path):
    demo = folders.make_demo_photo_folder(tmp_path / "demo", n_classes=4, max_side=24)
    own = tmp_path / "own"
    own.mkdir()
    assert folders.assert_on_demo(np.float64(0.7) >= 0.6, "recall at least 0.6", demo)
    with pytest.raises(AssertionError, match="recall at least 0.6"):
        folders.assert_on_demo(np.float64(0.5) >= 0.6, "recall at least 0.6", demo)
    with pytest.warns(UserWarning, match="own/, not the demo folder.*recall at least 0.6"):
        assert not folders.assert_on_demo(0.5 >= 0.6, "recall at least 0.6", own)
    with pytest.raises(TypeError, match="condition"):
        folders.assert_on_demo(0.5, "x", demo)
    assert len(folders.scan_image_folder(demo, warn=False).class_names) >= 2  # marker ignored


def test_webp_decodes_in_both_colour_modes_and_heic_is_named_with_advice(tmp_path):
    pixels = (np.random.default_rng(0).random((12, 18, 3)) * 255).astype(np.uint8)
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(2):
            Image.fromarray(pixels).save(tmp_path / c / f"{i}.webp", lossless=True)
    (tmp_path / "a" / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")
    with pytest.warns(UserWarning) as caught:
        scan = folders.scan_image_folder(tmp_path)
    report = " ".join(str(w.message) for w in caught)
    assert len(scan.paths) == 4 and "a/IMG_0001.HEIC" in report and "pillow-heif" in report
    rgb = folders.decode_image(scan.paths[0], (12, 18), "rgb").numpy()
    np.testing.assert_allclose(rgb, pixels / 255, atol=1e-6)
    gray = folders.decode_image(scan.paths[0], (12, 18), "grayscale").numpy()
    want = np.asarray(Image.fromarray(pixels).convert("L"), np.float32)[..., None] / 255
    assert gray.shape == (12, 18, 1) and np.abs(gray - want).max() < 2 / 255
    assert folders.read_images(scan.paths, (6, 6), "grayscale").shape == (4, 6, 6, 1)
    with pytest.raises(ValueError, match="IMG_0001.HEIC.*pip install pillow-heif"):
        folders.decode_image(tmp_path / "a" / "IMG_0001.HEIC", (8, 8))


def _truncated_jpeg_folder(root):
    """Two classes of JPEGs, ``cats/IMG_001.jpg`` cut in half (it passes no decoder)."""
    for c, name in enumerate(["cats", "dogs"]):
        for i in range(4):
            write(root / name / f"IMG_{i:03d}.jpg", 50 + 40 * c + i, size=(16, 16), mode="RGB")
    bad = root / "cats" / "IMG_001.jpg"
    bad.write_bytes(bad.read_bytes()[:len(bad.read_bytes()) // 2])
    return bad


def test_decode_errors_in_tf_data_name_the_file_relative_to_the_folder(tmp_path):
    import tensorflow as tf

    root = tmp_path / "my photos"
    bad = _truncated_jpeg_folder(root)
    scan = folders.scan_image_folder(root, check_files=False, warn=False)
    named = r"\[image file cats/IMG_001\.jpg cannot be read or decoded"
    # met while training: fit stops with the file's name, not jpeg::Uncompress failed alone
    ds = folders.path_pk_dataset(scan.paths, scan.labels, 2, 4, image_size=8,
                                 color_mode="rgb", steps=3, verbose=False)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(4), keras.layers.UnitNormalization()])
    model.compile(optimizer="adam", loss=losses.BatchHardTripletLoss(margin=0.2))
    with pytest.raises(tf.errors.InvalidArgumentError, match=named) as caught:
        model.fit(ds, epochs=1, verbose=0)
    assert str(tmp_path) not in str(caught.value).split("[[")[0]      # relative, not absolute
    # in order, whichever place the file has: first, middle, or last (the stream's end)
    paths = np.array([str(p) for p in sorted(root.rglob("*.jpg"))])
    where = int(np.flatnonzero(paths == str(bad))[0])
    for order in (np.r_[where, np.delete(np.arange(8), where)],
                  np.r_[np.delete(np.arange(8), where), where]):
        with pytest.raises(tf.errors.InvalidArgumentError, match=named):
            list(folders.path_batches(paths[order], 8, "rgb", batch_size=3))
    missing = np.array([paths[0], str(root / "dogs" / "gone.jpg"), paths[2]])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"file dogs/gone\.jpg cannot be"):
        list(folders.path_batches(missing, 8, "rgb"))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"file my photos/cats/IMG_001\.jpg"):
        list(folders.path_batches(paths, 8, "rgb", directory=tmp_path))
    # read_images and cache_images add the decoder's own message, the name still relative
    with pytest.raises(ValueError, match=r"^image file cats/IMG_001\.jpg cannot be decoded: "
                                         r".*(jpeg|JPEG)"):
        folders.read_images(paths, 8, "rgb")
    with pytest.raises(ValueError, match=r"^image file cats/IMG_001\.jpg cannot be decoded"):
        folders.cache_images(paths, 8, "rgb", cache_dir=tmp_path / "cache")
    good = np.delete(paths, where)
    np.testing.assert_array_equal(np.concatenate(list(folders.path_batches(good, 8, "rgb",
                                                                           batch_size=3))),
                                  folders.read_images(good, 8, "rgb"))
    with pytest.raises(ValueError, match="directory must be a path, got an empty string"):
        folders.path_batches(paths, 8, directory="")
