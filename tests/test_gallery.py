"""Gallery index: verify / identify (open set), export and reload in a fresh process, mismatches;
TensorBoard projector files."""

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from course_lib import gallery, projector

SHAPE = (4, 4, 1)


def make_encoder(seed=0, shape=SHAPE, dim=3):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape)
    x = keras.layers.Dense(8, activation="tanh")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Dense(dim)(x))


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    centers = rng.random((3, *SHAPE))
    labels = np.repeat([0, 1, 2], 5)
    images = np.clip(centers[labels] + 0.05 * rng.normal(size=(15, *SHAPE)), 0, 1)
    encoder = make_encoder()
    emb = encoder.predict(images, verbose=0)
    same = [np.linalg.norm(emb[i] - emb[j]) for i in range(15) for j in range(15)
            if i < j and labels[i] == labels[j]]
    threshold = float(np.max(same)) * 1.01
    index = gallery.build_index(encoder, images, labels, ["ann", "bob", "cy"], threshold)
    queries = np.clip(centers[[2, 0]] + 0.05 * rng.normal(size=(2, *SHAPE)), 0, 1)
    return encoder, index, images, labels, queries


def test_identify_matches_brute_force(setup):
    encoder, index, images, labels, queries = setup
    g = gallery.Gallery(encoder, index)
    emb, q = encoder.predict(images, verbose=0), encoder.predict(queries, verbose=0)
    d = np.linalg.norm(q[:, None] - emb[None], axis=2)
    per_class = np.stack([d[:, labels == c].min(1) for c in range(3)], axis=1)
    result = g.identify(queries, k=3)
    for row, ident in zip(per_class, result):
        order = np.argsort(row)
        assert [name for name, _ in ident.candidates] == [index.class_names[c] for c in order]
        np.testing.assert_allclose([dist for _, dist in ident.candidates], row[order], rtol=1e-5)
    assert [r.answer for r in result] == ["cy", "ann"]
    single = g.identify(queries[0], k=1)
    assert isinstance(single, gallery.Identification) and len(single.candidates) == 1
    assert single.answer == "cy" and single.distance == pytest.approx(per_class[0].min(), 1e-5)


def test_unknown_above_the_threshold(setup):
    encoder, index, *_ = setup
    # no preprocessing: raw encoder inputs, so a value far outside [0, 1] is allowed
    g = gallery.Gallery(encoder, dataclasses.replace(index, preprocessing=None))
    stranger = np.full(SHAPE, 40.0)                  # far outside the gallery's images
    ident = g.identify(stranger, k=2)
    assert ident.distance > g.threshold and ident.answer == gallery.UNKNOWN
    assert ident.candidates[0][0] in index.class_names       # the nearest is still reported


def test_open_set_scores(setup):
    encoder, index, images, labels, queries = setup
    g = gallery.Gallery(encoder, dataclasses.replace(index, preprocessing=None))
    strangers = np.full((2, *SHAPE), 40.0)
    batch = np.concatenate([queries, strangers])
    scores = g.open_set_scores(batch, ["cy", "ann", "unknown", "unknown"])
    assert scores == {"accuracy": 1.0, "known_accuracy": 1.0, "unknown_rejection": 1.0}
    scores = g.open_set_scores(batch, ["ann", "ann", "unknown", "cy"])
    # answers: cy, ann, unknown, unknown -> known queries right 1 of 3, the unknown one right
    assert scores["known_accuracy"] == pytest.approx(1 / 3) and scores["unknown_rejection"] == 1.0
    assert scores["accuracy"] == 0.5
    assert np.isnan(g.open_set_scores(queries, ["cy", "ann"])["unknown_rejection"])
    with pytest.raises(ValueError, match=r"truth names classes \['zed'\]"):
        g.open_set_scores(queries, ["cy", "zed"])
    with pytest.raises(ValueError, match="truth has 1 entries but queries has 2"):
        g.open_set_scores(queries, ["cy"])


def test_verify(setup):
    encoder, index, images, labels, _ = setup
    g = gallery.Gallery(encoder, index)
    same, dist = g.verify(images[0], images[1])
    emb = encoder.predict(images[:2], verbose=0)
    assert same is True and dist == pytest.approx(np.linalg.norm(emb[0] - emb[1]), rel=1e-5)
    same, dist = g.verify(images[:5], images[5:10])
    assert same.shape == (5,) and dist.shape == (5,)
    np.testing.assert_array_equal(same, dist <= g.threshold)


@pytest.mark.slow
def test_export_reloads_in_a_fresh_process(setup, tmp_path):
    encoder, index, images, _, queries = setup
    paths = gallery.export(encoder, index, tmp_path / "export")
    assert paths["encoder"].name == "encoder.keras" and paths["index"].name == "gallery.npz"
    g = gallery.Gallery(encoder, index)
    here = [(r.answer, r.distance, r.candidates) for r in g.identify(queries, k=2)]
    here_verify = g.verify(images[0], images[7])
    np.save(tmp_path / "queries.npy", queries)
    np.save(tmp_path / "pair.npy", images[[0, 7]])
    script = textwrap.dedent(f"""
        import json, numpy as np
        from course_lib import gallery
        g = gallery.load({str(tmp_path / "export")!r})
        q = np.load({str(tmp_path / "queries.npy")!r})
        a, b = np.load({str(tmp_path / "pair.npy")!r})
        out = [(r.answer, r.distance, r.candidates) for r in g.identify(q, k=2)]
        print(json.dumps({{"identify": out, "verify": g.verify(a, b), "t": g.threshold}}))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin"})
    assert run.returncode == 0, run.stderr[-2000:]
    there = json.loads(run.stdout.strip().splitlines()[-1])
    assert there["t"] == index.threshold
    assert [r[0] for r in there["identify"]] == [r[0] for r in here]
    for mine, theirs in zip(here, there["identify"]):
        assert [c[0] for c in theirs[2]] == [c[0] for c in mine[2]]
        np.testing.assert_allclose([c[1] for c in theirs[2]], [c[1] for c in mine[2]],
                                   rtol=1e-6)
    assert there["verify"][0] == here_verify[0]
    assert there["verify"][1] == pytest.approx(here_verify[1], rel=1e-6)


def test_never_overwrites_without_permission(setup, tmp_path):
    encoder, index, *_ = setup
    gallery.export(encoder, index, tmp_path)
    before = (tmp_path / "gallery.npz").read_bytes()
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        gallery.export(encoder, index, tmp_path)
    assert (tmp_path / "gallery.npz").read_bytes() == before
    gallery.export(encoder, index, tmp_path, overwrite=True)
    with pytest.raises(FileExistsError, match="exists"):
        gallery.save_index(index, tmp_path / "gallery.npz")
    loaded = gallery.load_index(tmp_path / "gallery.npz")
    np.testing.assert_array_equal(loaded.embeddings, index.embeddings)
    assert loaded.class_names == index.class_names and loaded.input_shape == SHAPE


def test_another_encoder_is_refused(setup, tmp_path):
    encoder, index, *_ = setup
    with pytest.raises(ValueError, match=r"built for inputs \(4, 4, 1\) .* takes \(5, 5, 1\)"):
        gallery.Gallery(make_encoder(shape=(5, 5, 1)), index)
    with pytest.raises(ValueError, match="another encoder \\(or other weights\\)"):
        gallery.Gallery(make_encoder(seed=1), index)
    with pytest.raises(ValueError, match="3-D embeddings but this encoder outputs 4-D"):
        gallery.Gallery(make_encoder(dim=4), index)
    # A gallery file paired with another encoder's export: the error names the file.
    gallery.export(encoder, index, tmp_path / "a")
    gallery.export(make_encoder(seed=1), gallery.build_index(
        make_encoder(seed=1), np.zeros((2, *SHAPE)), [0, 1], ["x", "y"], 1.0), tmp_path / "b")
    (tmp_path / "b" / "gallery.npz").write_bytes((tmp_path / "a" / "gallery.npz").read_bytes())
    with pytest.raises(ValueError, match=r"gallery index .*b/gallery.npz was built with another"):
        gallery.load(tmp_path / "b")


def test_bad_queries_and_inputs(setup, tmp_path):
    encoder, index, images, labels, _ = setup
    g = gallery.Gallery(encoder, index)
    with pytest.raises(ValueError, match=r"query must have 1 \(gray\), 3 \(RGB\) or 4"):
        g.identify(np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match=r"k must be an int >= 1 and <= 3"):
        g.identify(images[0], k=4)
    with pytest.raises(ValueError, match="b has 2 entries but a has 3"):
        g.verify(images[:3], images[:2])
    with pytest.raises(ValueError, match="non-finite"):
        g.verify(np.full(SHAPE, np.nan), images[0])
    with pytest.raises(ValueError, match="must not contain 'unknown'"):
        gallery.build_index(encoder, images, labels, ["ann", "unknown", "cy"], 1.0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        gallery.build_index(encoder, images, labels, ["ann", "bob"], 1.0)
    with pytest.raises(ValueError, match="threshold must be a finite number >= 0"):
        gallery.build_index(encoder, images, labels, ["a", "b", "c"], -1.0)
    with pytest.raises(TypeError, match="encoder must be a keras.Model"):
        gallery.build_index("model", images, labels, ["a", "b", "c"], 1.0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gallery.load(tmp_path / "nothing")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="is not a gallery index file"):
        gallery.load_index(tmp_path / "other.npz")


def test_projector_files(setup, tmp_path):
    encoder, index, images, labels, _ = setup
    out = projector.write_projector(tmp_path / "run", index.embeddings, index.labels,
                                    index.class_names, images=images)
    vectors = np.loadtxt(out["vectors"], delimiter="\t")
    np.testing.assert_allclose(vectors, index.embeddings, rtol=1e-6)
    meta = out["metadata"].read_text().splitlines()
    assert meta[0] == "index\tclass" and meta[1] == "0\tann" and len(meta) == 16
    from PIL import Image
    assert Image.open(out["sprite"]).size == (16, 16)               # 4 x 4 grid of 4 x 4
    config = out["config"].read_text()
    assert 'tensor_path: "vectors.tsv"' in config and "single_image_dim: 4" in config
    assert out["command"] == f"tensorboard --logdir {tmp_path / 'run' / 'projector'}"
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        projector.write_projector(tmp_path / "run", index.embeddings, index.labels)
    again = projector.write_projector(tmp_path / "run", index.embeddings, index.labels,
                                      overwrite=True)
    assert "sprite" not in again and not (tmp_path / "run" / "projector" / "sprite.png").exists()
    with pytest.raises(ValueError, match=r"images must lie in \[0, 1\]"):
        projector.write_projector(tmp_path / "r2", index.embeddings, labels, images=images * 9)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        projector.write_projector(tmp_path / "r2", index.embeddings, labels, ["a", "b"])
    with pytest.raises(ValueError, match=r"thumbnails of 9000x10 are larger than the "
                                         r"projector's 8192-pixel sprite"):
        projector.write_projector(tmp_path / "r2", np.zeros((5, 2)), [0, 1, 0, 1, 0],
                                  images=np.broadcast_to(np.zeros((1, 1, 1)), (5, 9000, 10)))
    with pytest.raises(ValueError, match="labels has 3 entries but embeddings has 15"):
        projector.write_projector(tmp_path / "r2", index.embeddings, labels[:3])
    with pytest.raises(ValueError, match="images has 2 entries but embeddings has 15"):
        projector.write_projector(tmp_path / "r2", index.embeddings, labels, images=images[:2])
    with pytest.raises(ValueError, match=r"images must have shape \(N, h, w\)"):
        projector.write_projector(tmp_path / "r2", index.embeddings, labels, images=labels)
    assert not (tmp_path / "r2").exists()                  # nothing written on bad input


def test_sprite_capacity():
    assert projector.sprite_capacity(128, 128) == 64 ** 2          # 8192 / 128 = 64 a side
    assert projector.sprite_capacity(100, 28) == 81 ** 2
    assert projector.sprite_capacity(8193, 1) == 0
    with pytest.raises(ValueError, match="h must be"):
        projector.sprite_capacity(0, 4)


def _written(out):
    """What the projector would show: (rows of vectors, metadata lines, sprite cells)."""
    from PIL import Image

    vectors = np.loadtxt(out["vectors"], delimiter="\t", ndmin=2)
    meta = out["metadata"].read_text().splitlines()
    sprite = np.asarray(Image.open(out["sprite"]))
    return vectors, meta, sprite


def test_projector_samples_points_to_fit_the_sprite(tmp_path, monkeypatch, capsys):
    """Past the sprite's size the vectors, metadata and sprite hold the same seeded sample, in
    order, and the n-th thumbnail is the n-th point's (what the projector assumes)."""
    monkeypatch.setattr(projector, "MAX_SPRITE_PIXELS", 12)          # 3 x 3 thumbnails of 4 px
    n = 20
    emb = np.arange(n * 2, dtype=float).reshape(n, 2)
    labels = np.arange(n) % 4
    images = np.repeat((np.arange(n) / (n - 1))[:, None, None], 4, 1).repeat(4, 2)
    out = projector.write_projector(tmp_path / "run", emb, labels, list("abcd"), images=images,
                                    seed=3)
    said = capsys.readouterr().out
    assert said == ("projector: 20 thumbnails of 4x4 do not fit one 12-pixel sprite; wrote a "
                    "random sample of 9 points (seed 3); the metadata's index column gives "
                    "their rows\n")
    points = out["points"]
    assert len(points) == 9 and len(set(points)) == 9 and list(points) == sorted(points)
    np.testing.assert_array_equal(points, projector.write_projector(
        tmp_path / "again", emb, labels, list("abcd"), images=images, seed=3)["points"])
    assert not np.array_equal(points, projector.write_projector(
        tmp_path / "other", emb, labels, list("abcd"), images=images, seed=4)["points"])
    vectors, meta, sprite = _written(out)
    np.testing.assert_array_equal(vectors, emb[points])
    assert meta[1:] == [f"{i}\t{'abcd'[i % 4]}" for i in points]
    assert sprite.shape == (12, 12)
    cells = sprite.reshape(3, 4, 3, 4).transpose(0, 2, 1, 3).reshape(9, 16)
    np.testing.assert_array_equal(cells.min(1), cells.max(1))      # each cell one thumbnail
    np.testing.assert_array_equal(cells[:, 0], np.round(images[points, 0, 0] * 255))
    config_text = out["config"].read_text()
    assert "tensor_shape: 9\n" in config_text and "single_image_dim: 4" in config_text


def test_projector_writes_every_point_when_they_fit(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(projector, "MAX_SPRITE_PIXELS", 12)
    images = np.random.default_rng(0).random((9, 4, 4, 3))
    out = projector.write_projector(tmp_path, np.eye(9), np.arange(9), images=images)
    assert capsys.readouterr().out == ""
    vectors, meta, sprite = _written(out)
    assert list(out["points"]) == list(range(9)) and len(meta) == 10
    np.testing.assert_array_equal(sprite[4:8, 8:12], np.round(images[5] * 255))
    with pytest.raises(ValueError, match=r"images must lie in \[0, 1\].* in images\[2\]"):
        projector.write_projector(tmp_path / "bad", np.eye(9), np.arange(9),
                                  images=np.where(np.arange(9)[:, None, None, None] == 2, 2.0,
                                                  images))
    with pytest.raises(ValueError, match="seed must be"):
        projector.write_projector(tmp_path / "bad", np.eye(9), np.arange(9), seed=-1)


def test_brute_force_search_in_chunks(monkeypatch):
    rng = np.random.default_rng(3)
    emb = rng.normal(size=(300, 5)).astype(np.float32)
    labels = rng.integers(0, 40, 300) * 3 + 7                  # ids need not be 0..C-1
    queries = rng.normal(size=(23, 5)).astype(np.float32)
    d = np.linalg.norm(queries[:, None].astype(float) - emb[None], axis=2)
    classes = np.unique(labels)
    want = np.stack([d[:, labels == c].min(1) for c in classes], axis=1)
    monkeypatch.setattr(gallery.BruteForceSearch, "_MAX_BYTES", 4000)   # 3 queries per block
    search = gallery.BruteForceSearch(emb, labels)
    np.testing.assert_allclose(search.class_distances(queries), want, rtol=1e-4, atol=1e-5)
    ids, dist = search.nearest_classes(queries, k=4)
    order = np.argsort(want, axis=1)[:, :4]
    np.testing.assert_array_equal(ids, classes[order])
    np.testing.assert_allclose(dist, np.take_along_axis(want, order, 1), rtol=1e-4, atol=1e-5)
    ids_all, _ = search.nearest_classes(queries, k=len(classes))
    np.testing.assert_array_equal(np.sort(ids_all, axis=1), np.tile(classes, (23, 1)))
    with pytest.raises(ValueError, match=r"queries must have shape \(n, 5\)"):
        search.class_distances(queries[:, :4])
    with pytest.raises(ValueError, match="k must be an int >= 1 and <= 40"):
        search.nearest_classes(queries, k=41)
    with pytest.raises(ValueError, match="non-finite"):
        gallery.BruteForceSearch(np.full((2, 2), np.inf), [0, 1])
    with pytest.raises(ValueError, match="labels has 1 entries but embeddings has 2"):
        gallery.BruteForceSearch(np.zeros((2, 2)), [0])


# --------------------------------------------------------------------------- the export a system uses


def test_queries_of_any_size_dtype_and_file_are_preprocessed(setup, tmp_path):
    import tensorflow as tf

    encoder, index, images, *_ = setup
    g = gallery.Gallery(encoder, index)
    assert index.preprocessing == gallery.Preprocessing((4, 4), "grayscale", "stretch")
    pixels = (images[0] * 255).round().astype(np.uint8)
    path = tmp_path / "q.png"
    path.write_bytes(tf.io.encode_png(pixels).numpy())
    from_file, from_uint8 = g.embed(str(path)), g.embed(pixels)
    np.testing.assert_allclose(from_file, from_uint8, atol=1e-6)
    np.testing.assert_allclose(from_uint8, g.embed(pixels.astype(np.float32) / 255), atol=1e-6)
    rgb = np.repeat(pixels, 3, axis=-1)                     # same gray picture in RGB, 2x larger
    big = np.repeat(np.repeat(rgb, 2, axis=0), 2, axis=1)
    assert g.embed(big).shape == (1, 3)
    np.testing.assert_allclose(g.embed(rgb), from_uint8, atol=1e-2)
    assert g.embed([str(path), big]).shape == (2, 3)
    with pytest.raises(ValueError, match=r"float images must lie in \[0, 1\].*as uint8"):
        g.embed(pixels.astype(np.float32))                 # 0-255 as floats: refused
    with pytest.raises(TypeError, match="must be uint8"):
        g.embed(pixels.astype(np.int64))


def test_identify_returns_items_and_gallery_grows_and_shrinks(setup, tmp_path):
    encoder, index, images, labels, queries = setup
    items = [f"img{i}.png" for i in range(15)]
    ix = gallery.build_index(encoder, images, labels, ["ann", "bob", "cy"], index.threshold,
                             items=items, identify_threshold=index.threshold / 2)
    g = gallery.Gallery(encoder, ix)
    emb = encoder.predict(images, verbose=0)
    q = encoder.predict(queries, verbose=0)
    ident = g.identify(queries[0], k=2)
    d = np.linalg.norm(emb - q[0], axis=1)
    assert ident.item == items[int(np.argmin(d))]
    assert ident.matches[0][2] == pytest.approx(d.min(), rel=1e-5)
    assert [m[1] for m in ident.matches] == [c[0] for c in ident.candidates]
    g.remove([ident.item])
    assert ident.item not in g.index.items and len(g.index.items) == 14
    np.testing.assert_array_equal(g.index.embeddings, np.delete(ix.embeddings, items.index(
        ident.item), 0))                                   # the rest not re-embedded
    # a new image (images[0] is still in the gallery as img0.png: a tie at distance 0, which
    # float rounding may break either way, depending on the batch it was embedded in)
    g.add(queries[1:2], ["dee"], items=["new.png"])
    assert g.index.class_names[-1] == "dee" and g.index.items[-1] == "new.png"
    assert g.identify(queries[1]).item == "new.png"
    with pytest.raises(ValueError, match="already in the gallery"):
        g.add(images[:1], ["dee"], items=["new.png"])
    with pytest.raises(ValueError, match="not in the gallery"):
        g.remove(["nope"])
    gallery.export(encoder, g.index, tmp_path / "ex")
    back = gallery.load(tmp_path / "ex")
    assert back.index.items == g.index.items and back.index.class_names == g.index.class_names
    assert back.threshold == ix.threshold and back.identify_threshold == ix.threshold / 2
    assert back.index.preprocessing == ix.preprocessing
    assert back.identify(queries[1]).item == "new.png"


def test_thresholds_chosen_at_a_target_far(setup):
    encoder, index, images, labels, queries = setup
    g = gallery.Gallery(encoder, index)
    a, b = images[[0, 1, 5, 0, 5, 10]], images[[2, 3, 6, 5, 10, 0]]
    same = np.array([1, 1, 1, 0, 0, 0])
    rng = np.random.default_rng(1)
    unknown = rng.random((20, *SHAPE))
    t = gallery.choose_thresholds(g, a, b, same, unknown, target_far=0.1)
    nearest = np.array([r.distance for r in g.identify(unknown)])
    assert np.mean(nearest <= t["identify"]) == 0.1        # 2 of 20 strangers accepted
    assert g.threshold == t["verify"] and g.identify_threshold == t["identify"]
    _, d = g.verify(a, b)
    assert np.mean(d[same == 0] <= t["verify"]) <= 0.1


def test_thresholds_on_all_pairs_of_validation_images(setup):
    encoder, index, images, labels, queries = setup
    g = gallery.Gallery(encoder, index)
    unknown = np.random.default_rng(1).random((20, *SHAPE))
    t = gallery.choose_thresholds(g, images=images, labels=labels, unknown_queries=unknown,
                                  target_far=0.1)
    i, j = np.triu_indices(len(images), 1)           # every pair, given one by one
    by_pairs = gallery.choose_thresholds(g, images[i], images[j],
                                         (labels[i] == labels[j]).astype(int), unknown,
                                         target_far=0.1)
    assert np.isclose(t["verify"], by_pairs["verify"], atol=1e-5)
    assert t["identify"] == by_pairs["identify"]
    with pytest.raises(ValueError, match="either pair_a"):
        gallery.choose_thresholds(g, images[i], images[j], labels, unknown, images=images,
                                  labels=labels)
    with pytest.raises(ValueError, match="either pair_a"):
        gallery.choose_thresholds(g, images=images, unknown_queries=unknown)
    with pytest.raises(ValueError, match="unknown_queries"):
        gallery.choose_thresholds(g, images=images, labels=labels)


def test_format_1_gallery_still_loads(setup, tmp_path):
    encoder, index, *_ = setup
    gallery.export(encoder, index, tmp_path)
    path = tmp_path / gallery.INDEX_FILE
    with np.load(path) as data:
        entries = {k: data[k] for k in data.files if k != "items"}
    meta = json.loads(str(entries["meta"]))
    meta = {k: meta[k] for k in ("threshold", "input_shape", "input_dtype", "class_names")}
    meta["format"] = 1
    entries["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **entries)
    old = gallery.load(tmp_path)
    assert old.index.items == tuple(str(i) for i in range(15))
    assert old.identify_threshold == old.threshold == index.threshold
    entries["meta"] = np.array(json.dumps({**meta, "format": 7}))
    with open(path, "wb") as f:
        np.savez(f, **entries)
    with pytest.raises(ValueError, match=r"gallery.npz has gallery format 7.*rebuild"):
        gallery.load_index(path)


class _FakeFaiss:
    """A stand-in for the faiss module: IndexFlatL2 by NumPy."""

    class IndexFlatL2:
        def __init__(self, dim):
            self.rows = np.zeros((0, dim), np.float32)

        def add(self, x):
            self.rows = np.concatenate([self.rows, x])

        def search(self, q, k):
            d = ((q[:, None, :] - self.rows[None]) ** 2).sum(-1)
            idx = np.argsort(d, axis=1, kind="stable")[:, :k]
            return np.take_along_axis(d, idx, 1), idx


def test_search_interface_with_fake_backends(setup, monkeypatch):
    encoder, index, images, labels, queries = setup
    calls = []

    class Recorder(gallery.BruteForceSearch):
        def nearest(self, q, k=1):
            calls.append(k)
            return super().nearest(q, k)

    brute = gallery.Gallery(encoder, index).identify(queries, k=3)
    assert [r.matches for r in gallery.Gallery(encoder, index, search=Recorder).identify(
        queries, k=3)] == [r.matches for r in brute] and calls == [3]
    monkeypatch.setitem(sys.modules, "faiss", _FakeFaiss)
    fake = gallery.Gallery(encoder, index, search="faiss").identify(queries, k=3)
    for x, y in zip(fake, brute):
        assert [m[:2] for m in x.matches] == [m[:2] for m in y.matches]
        np.testing.assert_allclose([m[2] for m in x.matches], [m[2] for m in y.matches],
                                   rtol=1e-5)


def test_faiss_absent_is_a_clear_error_and_present_agrees(setup, monkeypatch):
    encoder, index, images, labels, queries = setup
    try:
        import faiss  # noqa: F401
    except ImportError:
        monkeypatch.setitem(sys.modules, "faiss", None)
        with pytest.raises(ImportError, match="pip install faiss-cpu"):
            gallery.Gallery(encoder, index, search="faiss")
        pytest.skip("faiss is not installed (optional)")
    real = gallery.Gallery(encoder, index, search="faiss").identify(queries, k=2)
    brute = gallery.Gallery(encoder, index).identify(queries, k=2)
    assert [r.item for r in real] == [r.item for r in brute]


def test_open_set_threshold_and_far_frr_interval_over_classes():
    from course_lib import evaluate

    d = np.arange(10, dtype=float)
    assert evaluate.open_set_threshold_at_far(d, 0.2) == np.nextafter(2.0, -np.inf)
    rng = np.random.default_rng(0)
    classes = np.repeat(np.arange(30), 20)
    same = np.tile([1, 0], 300)
    dist = np.where(same == 1, rng.normal(1, 0.3, 600), rng.normal(2, 0.3, 600))
    out = evaluate.far_frr_interval(dist, same, 1.5, classes, n_boot=300)
    assert out["far_low"] <= out["far"] <= out["far_high"]
    assert out["frr_low"] <= out["frr"] <= out["frr_high"] and out["n_classes"] == 30
    assert out["far_high"] > out["far_low"]
    # one class whose impostor pairs are all accepted widens the FAR interval
    dist2 = dist.copy()
    dist2[(classes == 0) & (same == 0)] = 0.0
    wide = evaluate.far_frr_interval(dist2, same, 1.5, classes, n_boot=300)
    assert wide["far_high"] - wide["far_low"] > out["far_high"] - out["far_low"]
    with pytest.raises(ValueError, match="classes has 5 entries"):
        evaluate.far_frr_interval(dist, same, 1.5, classes[:5])


def test_command_line_answers_a_file_of_paths_as_identify_does(setup, tmp_path, capsys):
    import tensorflow as tf

    encoder, index, images, *_ = setup
    gallery.export(encoder, index, tmp_path / "ex")
    paths = []
    for i in (0, 6, 11, 14):
        paths.append(str(tmp_path / f"q {i}.png"))
        Path(paths[-1]).write_bytes(
            tf.io.encode_png((images[i] * 255).round().astype(np.uint8)).numpy())
    listing = tmp_path / "queries.txt"
    listing.write_text("\n".join(paths) + "\n\n", encoding="utf-8")
    gallery.main([str(tmp_path / "ex"), str(listing), "--batch", "3"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    want = gallery.load(tmp_path / "ex").identify(paths)
    assert [x["query"] for x in lines] == paths
    assert [(x["answer"], x["item"]) for x in lines] == [(r.answer, r.item) for r in want]
    np.testing.assert_allclose([x["distance"] for x in lines], [r.distance for r in want],
                               atol=1e-6)
    (tmp_path / "empty.txt").write_text("\n")
    for argv in ([str(tmp_path / "ex"), str(tmp_path / "missing.txt")],
                 [str(tmp_path / "ex"), str(tmp_path / "empty.txt")],
                 [str(tmp_path / "ex"), str(listing), "--batch", "0"]):
        with pytest.raises(SystemExit):
            gallery.main(argv)


# --------------------------------------------------------------------------- queries in chunks


def test_queries_in_chunks_give_the_unchunked_answers(setup, tmp_path, monkeypatch):
    import tensorflow as tf

    encoder, index, images, labels, queries = setup
    rng = np.random.default_rng(5)
    many = np.clip(images[rng.integers(0, 15, 23)] + 0.05 * rng.normal(size=(23, *SHAPE)), 0, 1)
    paths = []
    for i, img in enumerate(many[:7]):
        paths.append(str(tmp_path / f"q{i}.png"))
        Path(paths[-1]).write_bytes(tf.io.encode_png((img * 255).round().astype(np.uint8)).numpy())
    truth = [(*index.class_names, gallery.UNKNOWN)[c] for c in rng.integers(0, 4, 23)]
    whole = gallery.Gallery(encoder, index, chunk_size=1000)
    seen = {"embed": [], "search": []}
    real_embed = gallery._embed

    def spy_embed(enc, x, batch_size=256):
        seen["embed"].append(len(x))
        return real_embed(enc, x, batch_size)

    class Spy(gallery.BruteForceSearch):
        def nearest(self, q, k=1):
            seen["search"].append(len(q))
            return super().nearest(q, k)

    want = {"embed": whole.embed(many), "paths": whole.embed(paths),
            "identify": whole.identify(many, k=2), "scores": whole.open_set_scores(many, truth),
            "verify": whole.verify(many, many[::-1])[1]}
    monkeypatch.setattr(gallery, "_embed", spy_embed)
    small = gallery.Gallery(encoder, index, search=Spy, chunk_size=4)
    seen["embed"].clear()
    np.testing.assert_allclose(small.embed(many), want["embed"], atol=1e-6)
    np.testing.assert_allclose(small.embed(paths), want["paths"], atol=1e-6)
    got = small.identify(many, k=2)
    assert [r.matches[0][:2] for r in got] == [r.matches[0][:2] for r in want["identify"]]
    np.testing.assert_allclose([r.distance for r in got],
                               [r.distance for r in want["identify"]], atol=1e-5)
    assert small.open_set_scores(many, truth) == want["scores"]
    np.testing.assert_allclose(small.verify(many, many[::-1])[1], want["verify"], atol=1e-5)
    assert max(seen["embed"]) == 4 and max(seen["search"]) == 4 and len(seen["search"]) == 12
    # a memory map of uint8 pixels is read a chunk at a time too, as build_index's images are
    stored = np.lib.format.open_memmap(tmp_path / "px.npy", "w+", np.uint8, (23, 4, 4, 1))
    stored[:] = (many * 255).round().astype(np.uint8)
    seen["embed"].clear()
    np.testing.assert_allclose(small.embed(np.load(tmp_path / "px.npy", mmap_mode="r")),
                               whole.embed(stored), atol=1e-6)
    assert max(seen["embed"][:6]) == 4
    built = gallery.build_index(encoder, many, [0] * 23, ["ann"], 1.0, batch_size=5)
    np.testing.assert_allclose(built.embeddings, want["embed"], atol=1e-6)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="chunk_size must be an int >= 1"):
            gallery.Gallery(encoder, index, chunk_size=bad)
    with pytest.raises(TypeError, match="chunk_size must be an int"):
        gallery.Gallery(encoder, index, chunk_size=2.5)
    with pytest.raises(ValueError, match="truth has 3 entries but queries has 23"):
        small.open_set_scores(many, truth[:3])


def test_verify_threshold_on_all_pairs_is_exact_when_streamed(monkeypatch):
    from course_lib import distances, evaluate

    rng = np.random.default_rng(2)
    emb = rng.normal(size=(120, 3)).astype(np.float32)
    emb[60:70] = emb[0]                               # ties at one distance
    y = rng.integers(0, 9, 120) * 2 + 1
    left, right, d = distances.all_pairs(emb)
    same = (y[left] == y[right]).astype(int)
    for target in (0.0, 0.003, 0.01, 0.2, 0.999):
        want = evaluate.threshold_at_far(d, same, target) if target else None
        monkeypatch.setattr(gallery, "_SELECT_CAP", 10**9)
        gathered = gallery._all_pairs_threshold(emb, y, target, max_bytes=2000)
        monkeypatch.setattr(gallery, "_SELECT_CAP", 50)     # histogram passes, then gather
        monkeypatch.setattr(gallery, "_SELECT_BINS", 7)
        narrowed = gallery._all_pairs_threshold(emb, y, target, max_bytes=2000)
        if want is not None:
            assert gathered == narrowed == want, target
        else:
            assert gathered == narrowed < float(d[same == 0].min())
    with pytest.raises(ValueError, match="single class"):
        gallery._all_pairs_threshold(emb, np.zeros(120, int), 0.01)
    with pytest.raises(ValueError, match="target_far must be"):
        gallery._all_pairs_threshold(emb, y, 1.0)


def test_queries_from_tf_data_batches(setup, tmp_path):
    import tensorflow as tf

    from course_lib import folders

    encoder, index, images, labels, queries = setup
    g = gallery.Gallery(encoder, index, chunk_size=3)
    pixels = (images * 255).round().astype(np.uint8)
    batches = folders.cached_batches(pixels, batch_size=4)           # 15 rows in 4 batches
    np.testing.assert_allclose(g.embed(batches), g.embed(pixels), atol=1e-6)
    paths = []
    for i in range(5):
        paths.append(str(tmp_path / f"q{i}.png"))
        Path(paths[-1]).write_bytes(tf.io.encode_png(pixels[i]).numpy())
    from_files = folders.path_batches(np.array(paths), (4, 4), "grayscale", batch_size=2)
    np.testing.assert_allclose(np.concatenate(list(from_files.as_numpy_iterator())),
                               folders.read_images(np.array(paths), (4, 4)), atol=0)
    assert [r.item for r in g.identify(from_files)] == [r.item for r in g.identify(paths)]
    t = gallery.choose_thresholds(g, images=batches, labels=labels, target_far=0.1,
                                  unknown_queries=folders.cached_batches(pixels[:4]))
    want = gallery.choose_thresholds(g, images=pixels, labels=labels, target_far=0.1,
                                     unknown_queries=pixels[:4])
    assert t == want
    built = gallery.build_index(encoder, batches, labels, index.class_names, 1.0)
    np.testing.assert_allclose(built.embeddings, g.embed(pixels), atol=1e-6)
    with pytest.raises(ValueError, match="labels has 14 entries but images has 15"):
        gallery.build_index(encoder, batches, labels[:14], index.class_names, 1.0)
    with pytest.raises(ValueError, match="truth has 2 entries but queries has 15"):
        g.open_set_scores(batches, ["ann", "bob"])
    with pytest.raises(TypeError, match="must yield batches of images"):
        g.embed(tf.data.Dataset.from_tensor_slices(np.zeros((3, 2))))


def test_projector_files_are_replaced_as_one_set(tmp_path, monkeypatch):
    from PIL import Image

    images = np.random.default_rng(0).random((6, 4, 4))
    projector.write_projector(tmp_path, np.eye(6), np.arange(6) % 2, images=images)
    folder = tmp_path / "projector"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert set(before) == set(projector._FILES)

    def broken_save(self, *args, **kwargs):           # fails after vectors and metadata
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        projector.write_projector(tmp_path, 2 * np.eye(6), np.arange(6), images=images,
                                  overwrite=True)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before     # the old set
    assert sorted(p.name for p in tmp_path.iterdir()) == ["projector"]      # nothing left
    # a new set without a sprite replaces the whole set (no stale sprite beside it)
    projector.write_projector(tmp_path, 3 * np.eye(6), np.arange(6), overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted(set(projector._FILES)
                                                              - {"sprite.png"})
    assert np.loadtxt(folder / "vectors.tsv")[0, 0] == 3
    # a file of the user's in the folder is kept; the set is still replaced
    (folder / "notes.txt").write_text("mine")
    projector.write_projector(tmp_path, 4 * np.eye(6), np.arange(6), images=images,
                              overwrite=True)
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "sprite.png").exists()
    assert np.loadtxt(folder / "vectors.tsv")[0, 0] == 4
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    (tmp_path / "file_run").mkdir()
    (tmp_path / "file_run" / "projector").write_text("not a folder")
    with pytest.raises(ValueError, match="is a file"):
        projector.write_projector(tmp_path / "file_run", np.eye(2), [0, 1])


def test_load_takes_the_search_of_building(setup, tmp_path, monkeypatch):
    encoder, index, images, labels, queries = setup
    gallery.export(encoder, index, tmp_path / "ex")
    brute = gallery.load(tmp_path / "ex")
    assert isinstance(brute.search, gallery.BruteForceSearch) and brute.chunk_size == 256
    made = []

    class Mine(gallery.BruteForceSearch):
        def __init__(self, embeddings, labels):
            made.append(len(embeddings))
            super().__init__(embeddings, labels)

    mine = gallery.load(tmp_path / "ex", search=Mine, chunk_size=2)
    assert made == [15] and isinstance(mine.search, Mine) and mine.chunk_size == 2
    assert [r.item for r in mine.identify(queries)] == [r.item for r in brute.identify(queries)]
    monkeypatch.setitem(sys.modules, "faiss", _FakeFaiss)
    fake = gallery.load(tmp_path / "ex", search="faiss")
    assert isinstance(fake.search, gallery.FaissSearch)
    assert [r.item for r in fake.identify(queries)] == [r.item for r in brute.identify(queries)]
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(ImportError, match="pip install faiss-cpu"):
        gallery.load(tmp_path / "ex", search="faiss")
    with pytest.raises(ValueError, match=r"search must be one of \('brute', 'faiss'\), got 'hnsw'"):
        gallery.load(tmp_path / "missing", search="hnsw")          # before any file is read
    with pytest.raises(TypeError, match="search must be callable"):
        gallery.load(tmp_path / "ex", search=3)
    with pytest.raises(ValueError, match="chunk_size must be an int >= 1"):
        gallery.load(tmp_path / "ex", chunk_size=0)
