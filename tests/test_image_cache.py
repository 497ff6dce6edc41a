"""folders.cache_images: decode once at the training size (EXIF orientation, crop/pad as decode_image), a cache
that notices edited files and is written atomically, errors that name the file."""

import os

import numpy as np
import pytest
from PIL import Image

from course_lib import folders


def _save(path, array, exif_orientation=None, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.asarray(array, np.uint8))
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation            # the Orientation tag
        kwargs["exif"] = exif.tobytes()
    img.save(path, format=fmt, **kwargs)
    return str(path)


def _top_white(h=20, w=40):
    a = np.zeros((h, w), np.uint8)
    a[: h // 2] = 255
    return a


def test_exif_orientation_is_applied(tmp_path):
    # Orientation 6: the viewer turns the stored picture 90 degrees clockwise, so the stored
    # top (white) ends up on the right.
    path = _save(tmp_path / "a" / "sideways.jpg", _top_white(), exif_orientation=6)
    out = folders.cache_images([path], image_size=(40, 20), cache_dir=tmp_path / "c")[0, ..., 0]
    assert out[:, 12:].mean() > 200 and out[:, :8].mean() < 50, (out[:, 12:].mean(),
                                                                   out[:, :8].mean())
    direct = folders.decode_image(path, image_size=(40, 20)).numpy()[..., 0]
    np.testing.assert_allclose(out / 255.0, direct, atol=0.5 / 255 + 1e-6)   # rounded to 1/255


def test_crop_pad_and_stretch(tmp_path):
    a = np.zeros((50, 100), np.uint8)
    a[:, :25] = 255                                  # the left quarter is white
    path = _save(tmp_path / "a" / "wide.png", a)
    kw = dict(image_size=(50, 50), cache_dir=tmp_path / "c")
    crop = folders.cache_images([path], aspect="crop", **kw)[0, ..., 0]
    pad = folders.cache_images([path], aspect="pad", **kw)[0, ..., 0]
    stretch = folders.cache_images([path], aspect="stretch", **kw)[0, ..., 0]
    assert crop.max() < 30                           # the centre square is all black
    assert pad[:10].max() < 30 and pad[20:30, :10].mean() > 200   # black bars top and bottom
    assert stretch[:, :10].mean() > 200 and stretch[:, 20:].max() < 30


def test_rgb_gif_bmp_and_grayscale(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 200
    paths = [_save(tmp_path / "a" / f"x.{ext}", rgb) for ext in ("png", "gif", "bmp")]
    color = folders.cache_images(paths, 8, "rgb", cache_dir=tmp_path / "c")
    gray = folders.cache_images(paths, 8, "grayscale", cache_dir=tmp_path / "c")
    assert color.shape == (3, 8, 8, 3) and gray.shape == (3, 8, 8, 1)
    assert np.all(np.abs(color[..., 0].astype(int) - 200) <= 3)
    assert np.all(gray < 80) and np.all(gray > 40)   # red 200 -> luma about 60


def test_cache_is_reused_and_rebuilt_when_a_file_changes(tmp_path):
    cache = tmp_path / "c"
    path = _save(tmp_path / "a" / "x.png", np.full((6, 6), 10))
    first = folders.cache_images([path], 6, cache_dir=cache)
    assert not first.flags.writeable and len(list(cache.glob("images-*.npy"))) == 1
    again = folders.cache_images([path], 6, cache_dir=cache)
    assert len(list(cache.glob("images-*.npy"))) == 1 and np.array_equal(first, again)
    _save(tmp_path / "a" / "x.png", np.full((6, 6), 240))
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    changed = folders.cache_images([path], 6, cache_dir=cache)
    assert len(list(cache.glob("images-*.npy"))) == 2 and changed.min() > 200


def test_interrupted_cache_write_leaves_nothing(tmp_path, monkeypatch):
    path = _save(tmp_path / "a" / "x.png", np.full((6, 6), 10))

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(folders.np, "save", fail)
    with pytest.raises(KeyboardInterrupt):
        folders.cache_images([path], 6, cache_dir=tmp_path / "c")
    assert list((tmp_path / "c").iterdir()) == []


def test_errors_name_the_file_and_argument(tmp_path):
    good = _save(tmp_path / "photos" / "my cat" / "ok.jpg", np.full((64, 64), 128))
    bad = tmp_path / "photos" / "my cat" / "truncated.jpg"
    bad.write_bytes(open(good, "rb").read()[:300])
    with pytest.raises(ValueError, match="my cat/truncated.jpg"):
        folders.cache_images([good, str(bad)], 16, cache_dir=tmp_path / "c")
    with pytest.raises(FileNotFoundError, match="my cat/missing.jpg"):
        folders.cache_images([str(tmp_path / "photos" / "my cat" / "missing.jpg")], 16,
                             cache_dir=tmp_path / "c")
    with pytest.raises(ValueError, match="aspect"):
        folders.cache_images([good], 16, aspect="squash", cache_dir=tmp_path / "c")
    with pytest.raises(TypeError, match="paths"):
        folders.cache_images([1, 2], 16, cache_dir=tmp_path / "c")
    with pytest.raises(ValueError, match="at least one"):
        folders.cache_images(np.array([], str), 16, cache_dir=tmp_path / "c")


def test_cached_batches_reads_rows_in_order_as_floats(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (7, 4, 5, 3)).astype(np.uint8)
    np.save(tmp_path / "c.npy", images)
    mapped = np.load(tmp_path / "c.npy", mmap_mode="r")
    batches = list(folders.cached_batches(mapped, rows=[5, 0, 3], batch_size=2).as_numpy_iterator())
    assert [len(b) for b in batches] == [2, 1] and batches[0].dtype == np.float32
    np.testing.assert_allclose(np.concatenate(batches), images[[5, 0, 3]] / 255.0, rtol=1e-6)
    mask = np.array([1, 0, 0, 1, 0, 0, 1], bool)
    got = np.concatenate(list(folders.cached_batches(mapped, rows=mask).as_numpy_iterator()))
    np.testing.assert_allclose(got, images[mask] / 255.0, rtol=1e-6)
    everything = np.concatenate(list(folders.cached_batches(images).as_numpy_iterator()))
    assert everything.shape == images.shape


@pytest.mark.parametrize("images, rows, error, match", [
    (np.zeros((3, 4, 4, 1), np.float32), None, TypeError, "uint8"),
    (np.zeros((3, 4, 4), np.uint8), None, ValueError, "height, width, channels"),
    (np.zeros((3, 4, 4, 1), np.uint8), [0.5], TypeError, "rows"),
    (np.zeros((3, 4, 4, 1), np.uint8), [3], ValueError, "rows must lie"),
    (np.zeros((3, 4, 4, 1), np.uint8), np.array([], int), ValueError, "at least one"),
    (np.zeros((3, 4, 4, 1), np.uint8), np.array([True, False]), ValueError, "rows"),
])
def test_cached_batches_refuses_bad_input(images, rows, error, match):
    with pytest.raises(error, match=match):
        folders.cached_batches(images, rows=rows)
