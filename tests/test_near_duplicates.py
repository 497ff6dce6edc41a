"""folders.near_duplicates: burst-like near-identical images are flagged (within a class when
labels are given), distinct ones are not, groups link bursts of three, arguments are checked."""

import numpy as np
import pytest
from PIL import Image

from course_lib import folders


def _photos(n, seed=0, size=128):
    """``n`` distinct smooth colour photos, uint8 (n, size, size, 3)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        field = Image.fromarray(rng.uniform(0, 255, (6, 6, 3)).astype(np.uint8))
        out.append(np.asarray(field.resize((size, size), Image.Resampling.BICUBIC)))
    return np.stack(out)


def _burst_twin(image, seed):
    """The next shot of a burst: moved right by one pixel (0.8% of the width; the edge column
    repeated), exposure 1% brighter, sensor noise."""
    rng = np.random.default_rng(seed)
    moved = np.concatenate([image[:, :1], image[:, :-1]], axis=1).astype(np.float64)
    moved = moved * 1.01 + rng.normal(0, 2, image.shape)
    return np.clip(np.round(moved), 0, 255).astype(np.uint8)


def test_burst_shots_are_flagged_and_distinct_photos_are_not():
    photos = _photos(12)
    twins = np.stack([_burst_twin(photos[i], i) for i in (2, 7)])
    third = _burst_twin(twins[0], 99)                      # a burst of three: 2, 12, 14
    images = np.concatenate([photos, twins, third[None]])
    names = [f"img_{i:02d}.jpg" for i in range(len(images))]
    found = folders.near_duplicates(images, names=names)
    pairs = {tuple(p) for p in found.pairs.tolist()}
    assert {(2, 12), (7, 13), (12, 14)} <= pairs
    assert all(i in (2, 7, 12, 13, 14) and j in (2, 7, 12, 13, 14) for i, j in pairs)
    assert np.all(np.diff(found.distances) >= 0) and np.all(found.distances <= 0.08)
    assert [g.tolist() for g in found.groups] == [[2, 12, 14], [7, 13]]
    text = str(found)
    assert text.startswith(f"{len(pairs)} near-duplicate pair(s)") and "img_02.jpg" in text
    # the same as float pixels in [0, 1]
    floats = folders.near_duplicates(images / 255.0)
    np.testing.assert_array_equal(floats.pairs, found.pairs)
    # a stricter threshold flags fewer; labels restrict the comparison to one class
    assert len(folders.near_duplicates(images, threshold=0.0).pairs) == 0
    labels = np.zeros(len(images), int)
    labels[13] = 1                                         # 7's twin filed in another class
    within = {tuple(p) for p in folders.near_duplicates(images, labels).pairs.tolist()}
    assert (7, 13) not in within and (2, 12) in within


def test_flat_images_of_different_colours_are_not_duplicates():
    flat = np.zeros((3, 32, 32, 3), np.uint8)
    flat[1] = 200
    flat[2, ..., 0] = 200
    found = folders.near_duplicates(np.concatenate([flat, flat[:1]]))
    assert found.pairs.tolist() == [[0, 3]] and found.distances[0] == 0


def test_it_reads_a_memory_map_in_blocks(tmp_path):
    images = np.concatenate([_photos(5, seed=3), _burst_twin(_photos(5, seed=3)[4], 1)[None]])
    np.save(tmp_path / "c.npy", images)
    mapped = np.load(tmp_path / "c.npy", mmap_mode="r")
    found = folders.near_duplicates(mapped, batch_size=2)
    assert found.pairs.tolist() == [[4, 5]]
    assert str(folders.near_duplicates(mapped[:4])).startswith("0 near-duplicate pair(s)")


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(images=np.zeros((0, 8, 8, 3), np.uint8)), ValueError, "N >= 1"),
    (dict(images=np.zeros((2, 8, 8), np.uint8)), ValueError, "height, width, channels"),
    (dict(images=np.full((2, 8, 8, 1), 2.0)), ValueError, r"\[0, 1\]"),
    (dict(images=np.full((2, 8, 8, 1), np.nan)), ValueError, "finite"),
    (dict(images=np.array([[[["a"]]]])), TypeError, "uint8 or float"),
    (dict(labels=[0]), ValueError, "labels"),
    (dict(names=["a"]), ValueError, "names"),
    (dict(threshold=-0.1), ValueError, "threshold"),
    (dict(threshold="big"), TypeError, "threshold"),
    (dict(batch_size=0), ValueError, "batch_size"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    args = {"images": np.zeros((2, 8, 8, 1), np.uint8), **kwargs}
    with pytest.raises(error, match=match):
        folders.near_duplicates(**args)
