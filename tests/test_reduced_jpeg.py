"""Large JPEGs are decoded at reduced scale (libjpeg's 1/2, 1/4, 1/8) by every loader of
``folders`` when the target size is much smaller: the same shapes and nearly the same pixels
as a full decode, EXIF orientation still applied, a truncated JPEG still caught and named."""

import warnings

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from course_lib import folders


def _photo(path, h=768, w=1024, orientation=None, seed=0):
    """A smooth colour field with a white top half, saved as a JPEG of ``w x h``."""
    rng = np.random.default_rng(seed)
    field = Image.fromarray(rng.uniform(0, 255, (h // 32, w // 32, 3)).astype(np.uint8))
    a = np.asarray(field.resize((w, h), Image.Resampling.BILINEAR)).copy()
    a[: h // 2] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    Image.fromarray(a).save(path, quality=92, **kwargs)
    return str(path)


def _full_decode(path, size, channels=3):
    """The reference: the whole JPEG decoded at full size, then resized (no EXIF tag here)."""
    raw = tf.io.decode_jpeg(tf.io.read_file(path), channels=channels)
    return tf.image.resize(tf.cast(raw, tf.float32) / 255.0, size, antialias=True).numpy()


@pytest.mark.parametrize("size, ratio", [((32, 32), 8), ((64, 48), 4), ((100, 100), 2),
                                         ((200, 120), 1)])
def test_the_scale_down_leaves_twice_the_target_size(tmp_path, size, ratio):
    path = _photo(tmp_path / "a" / "big.jpg")          # 1024 x 768: shorter side 768
    index = folders._jpeg_ratio(tf.io.read_file(path), size)
    assert folders._JPEG_RATIOS[int(index)] == ratio
    assert -(-768 // ratio) >= folders._REDUCING_GAP * max(size)


@pytest.mark.parametrize("color_mode, channels", [("rgb", 3), ("grayscale", 1)])
def test_reduced_decode_gives_the_shape_and_nearly_the_pixels_of_a_full_decode(
        tmp_path, color_mode, channels):
    path = _photo(tmp_path / "a" / "big.jpg")
    ours = folders.decode_image(path, (32, 40), color_mode).numpy()
    assert ours.shape == (32, 40, channels) and ours.dtype == np.float32
    ref = _full_decode(path, (32, 40), channels)
    assert np.abs(ours - ref).mean() < 0.01 and np.abs(ours - ref).max() < 0.06
    # every loader decodes the same way: tf.data batches, the cache, the in-memory loader
    batch = next(iter(folders.path_batches([path], (32, 40), color_mode))).numpy()[0]
    np.testing.assert_allclose(batch, ours, atol=1e-6)
    cached = folders.cache_images([path], (32, 40), color_mode, cache_dir=tmp_path / "c")[0]
    np.testing.assert_allclose(cached / 255.0, ours, atol=0.5 / 255 + 1e-6)


def test_orientation_is_applied_on_the_reduced_path_and_sizes_come_from_the_header(tmp_path):
    # stored 1024 wide x 768 high with its white half on top; orientation 6 turns it 90
    # degrees clockwise for viewing: 768 wide x 1024 high, the white half on the right
    path = _photo(tmp_path / "a" / "sideways.jpg", orientation=6)
    _photo(tmp_path / "a" / "upright.jpg", seed=1)
    _photo(tmp_path / "b" / "one.jpg", seed=2)
    _photo(tmp_path / "b" / "two.jpg", seed=3)
    out = folders.decode_image(path, (40, 30), "grayscale").numpy()[..., 0]
    assert out[:, 20:].mean() > 0.95 and out[:, :10].mean() < 0.8, (out[:, 20:].mean(),
                                                                     out[:, :10].mean())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scan = folders.scan_image_folder(tmp_path)
        loaded = folders.load_image_folder(tmp_path, (40, 30), "grayscale")
    assert scan.sizes == {(1024, 768): 1, (768, 1024): 3}       # as viewed, full size
    assert any("2 sizes" in str(w.message) for w in caught)
    row = int(np.flatnonzero(loaded.paths == path)[0])
    np.testing.assert_allclose(loaded.images[row, ..., 0], out, atol=1e-6)


def test_a_truncated_large_jpeg_is_still_caught_and_named(tmp_path):
    root = tmp_path / "my photos"
    for c in ("cats", "dogs"):
        for i in range(2):
            _photo(root / c / f"IMG_{i}.jpg", seed=10 * len(c) + i)
    bad = root / "cats" / "IMG_1.jpg"
    data = bad.read_bytes()
    bad.write_bytes(data[: int(len(data) * 0.9)])        # the last tenth of the data lost
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scan = folders.scan_image_folder(root, min_per_class=1)
    assert str(bad) in scan.skipped_files and str(bad) not in scan.paths
    assert scan.skipped_files[str(bad)].startswith("unreadable")
    assert any("cats/IMG_1.jpg" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match=r"IMG_1\.jpg cannot be decoded"):
        folders.decode_image(bad, 32, "rgb")
    paths = np.array(sorted(str(p) for p in root.rglob("*.jpg")))
    with pytest.raises(ValueError, match=r"^image file cats/IMG_1\.jpg cannot be decoded"):
        folders.cache_images(paths, 32, "rgb", cache_dir=tmp_path / "c")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"image file cats/IMG_1\.jpg"):
        list(folders.path_batches(paths, 32, "rgb"))


def test_estimate_first_pass_times_a_sample_and_scales_it_to_the_folder(tmp_path):
    paths = [_photo(tmp_path / "a" / f"IMG_{i}.jpg", h=240, w=320, seed=i) for i in range(4)]
    (tmp_path / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a JPEG")
    paths.append(str(tmp_path / "a" / "broken.jpg"))
    estimate = folders.estimate_first_pass(paths * 250, 32, "rgb", sample=3)
    assert estimate.files == 1250 and estimate.sampled == 3
    assert estimate.check_per_s > 0 and estimate.cache_per_s > 0
    assert np.isclose(estimate.check_s, 1250 / estimate.check_per_s)
    assert np.isclose(estimate.cache_s, 1250 / estimate.cache_per_s)
    line = str(estimate)
    assert line.startswith("1,250 image files: the scan's check will take about ")
    assert "timed on 3 of them" in line and "\n" not in line
    one = folders.estimate_first_pass(paths[:1], 32, sample=20)
    assert one.files == 1 and one.sampled == 1
    for bad, error in [(dict(sample=0), ValueError), (dict(sample=2.5), TypeError),
                       (dict(color_mode="cmyk"), ValueError), (dict(aspect=3), TypeError)]:
        with pytest.raises(error):
            folders.estimate_first_pass(paths, 32, **{"color_mode": "rgb", **bad})
    with pytest.raises(ValueError, match="at least one"):
        folders.estimate_first_pass(np.array([], str), 32)
