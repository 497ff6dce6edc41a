"""Notebook 04's pieces: optimizers, seeded contrastive runs and their diagnostics
(``training``), cluster-shape metrics (``evaluate``), the per-group plot (``plots``)."""

import keras
import matplotlib
import numpy as np
import pandas as pd
import pytest

from course_lib import evaluate, losses, models, pairs, plots, training
from course_lib.callbacks import EmbeddingSnapshots

matplotlib.use("Agg")


def _blobs(n_per_class=40, classes=3, seed=0):
    """Tiny 6x6 "images": each class a different bright pixel plus noise."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    x = rng.normal(0, 0.1, size=(len(y), 6, 6)).astype("float32")
    x[np.arange(len(y)), y, y] += 1.0
    return x, y


@pytest.mark.parametrize("name,kind,momentum", [
    ("adam", keras.optimizers.Adam, None), ("rmsprop", keras.optimizers.RMSprop, None),
    ("sgd", keras.optimizers.SGD, 0.0), ("momentum", keras.optimizers.SGD, 0.9)])
def test_make_optimizer_builds_the_named_optimizer(name, kind, momentum):
    opt = training.make_optimizer(name, 0.01)
    assert type(opt) is kind
    assert float(opt.learning_rate) == pytest.approx(0.01)
    if momentum is not None:
        assert float(opt.momentum) == pytest.approx(momentum)


@pytest.mark.parametrize("kwargs,error", [
    ({"name": "lion", "learning_rate": 0.1}, ValueError),
    ({"name": "sgd", "learning_rate": 0}, ValueError),
    ({"name": "sgd", "learning_rate": float("nan")}, ValueError),
    ({"name": "sgd", "learning_rate": True}, TypeError),
    ({"name": "momentum", "learning_rate": 0.1, "momentum": 1.0}, ValueError),
])
def test_make_optimizer_rejects_bad_input(kwargs, error):
    with pytest.raises(error):
        training.make_optimizer(**kwargs)


def test_embedding_spread_is_the_rms_distance_to_the_centroid():
    assert evaluate.embedding_spread([[1.0, 0.0], [-1.0, 0.0]]) == pytest.approx(1.0)
    assert evaluate.embedding_spread(np.ones((5, 2))) == 0.0
    assert np.isnan(evaluate.embedding_spread([[np.nan, 0.0]]))
    with pytest.raises(ValueError):
        evaluate.embedding_spread(np.zeros(3))


@pytest.mark.slow
def test_train_contrastive_is_seeded_and_records_one_value_per_chunk():
    x, y = _blobs()
    kwargs = {"steps": 12, "chunks": 4, "batch_size": 16, "hidden": 8, "probe": x[:30],
              "verbose": False}
    a = training.train_contrastive(x, y, "adam", 0.01, seed=1, **kwargs)
    b = training.train_contrastive(x, y, "adam", 0.01, seed=1, **kwargs)
    c = training.train_contrastive(x, y, "adam", 0.01, seed=2, **kwargs)
    assert a.loss.shape == (4,) and a.spread.shape == (5,)
    assert not a.diverged and list(a.steps) == [3, 6, 9, 12] and a.label == "adam lr=0.01 seed=1"
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-5)
    assert not np.allclose(a.loss, c.loss)
    assert a.encoder.output_shape == (None, 2)
    np.testing.assert_allclose(a.embed(x[:5]), a.encoder.predict(x[:5], verbose=0), rtol=1e-5)


def test_a_diverged_run_is_flagged_and_measured_as_nan():
    x, y = _blobs()
    run = training.train_contrastive(x, y, "sgd", 1e12, seed=0, steps=10, chunks=5,
                                     batch_size=16, hidden=8, verbose=False)
    assert run.diverged
    assert len(run.loss) < 5 or not np.isfinite(run.loss).all()
    val = (x, *pairs.pair_indices(y, 20, seed=0))
    row = training.run_metrics(run, (x, y), (x, y), val_pairs=val)
    assert np.isnan(row["anisotropy"]) and np.isnan(row["val_loss"])


@pytest.mark.parametrize("kwargs,error", [
    ({"steps": 10, "chunks": 3}, ValueError),
    ({"steps": 0, "chunks": 1}, ValueError),
    ({"steps": 10, "chunks": 0}, ValueError),
    ({"steps": 10.0, "chunks": 5}, TypeError),
    ({"seed": -1}, ValueError),
])
def test_train_contrastive_rejects_bad_sizes(kwargs, error):
    x, y = _blobs()
    args = {"steps": 10, "chunks": 5, "seed": 0, **kwargs}
    with pytest.raises(error):
        training.train_contrastive(x, y, "sgd", 0.1, verbose=False, **args)


def test_embedding_metrics_tell_round_from_elongated_clusters():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 300)
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    round_emb = centres[y] + rng.normal(size=(600, 2))
    long_emb = centres[y] + rng.normal(size=(600, 2)) * [3.0, 0.3]
    r = evaluate.embedding_metrics(round_emb, y, round_emb, y)
    e = evaluate.embedding_metrics(long_emb, y, long_emb, y)
    assert r["anisotropy"] < 1.5 < 50 < e["anisotropy"]
    assert set(r["anisotropy_per_class"]) == {0, 1}
    assert r["knn"] == pytest.approx(1.0) and 0.7 < r["silhouette"] <= 1


def test_run_metrics_gives_a_row_with_validation_numbers():
    x, y = _blobs()
    run = training.train_contrastive(x, y, "adam", 0.01, seed=0, steps=40, chunks=2,
                                     batch_size=32, hidden=16, verbose=False)
    val = (x, *pairs.pair_indices(y, 60, seed=0))
    row = training.run_metrics(run, (x, y), (x, y), val_pairs=val)
    assert row["optimizer"] == "adam" and row["seed"] == 0
    for key in ("anisotropy", "silhouette", "knn", "spread", "val_loss", "val_pair_accuracy"):
        assert np.isfinite(row[key]), key
    assert 0.5 <= row["val_pair_accuracy"] <= 1 and 0 <= row["knn"] <= 1
    with pytest.raises(TypeError):
        training.run_metrics("run", (x, y), (x, y))


def test_dead_units_counts_units_silent_on_every_input():
    encoder = models.mlp_encoder(input_shape=(6, 6), hidden=10)
    first = encoder.layers[2]
    kernel, bias = first.get_weights()
    bias[:4] = -1e3  # these four units can never fire
    first.set_weights([kernel, bias])
    x, _ = _blobs()
    dead = training.dead_units(encoder, x)
    assert list(dead.values())[0] == pytest.approx(0.4)
    with pytest.raises(TypeError):
        training.dead_units("encoder", x)
    linear = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError):
        training.dead_units(linear, np.zeros((2, 3)))


def test_plot_metrics_by_group_draws_one_panel_per_metric():
    table = pd.DataFrame({"optimizer": ["adam", "adam", "sgd", "sgd"],
                          "knn": [0.9, 0.8, 0.7, 0.75], "silhouette": [0.4, 0.5, 0.3, 0.2]})
    fig = plots.plot_metrics_by_group(table, ["knn", "silhouette"], title="t")
    axes = fig.get_axes()
    assert len(axes) == 2 and axes[0].get_ylabel() == "knn"
    with pytest.raises(ValueError):
        plots.plot_metrics_by_group(table, ["anisotropy"])
    matplotlib.pyplot.close(fig)
    fig = plots.plot_metrics_by_group(table, ["knn"], labels={"knn": "kNN accuracy"})
    assert fig.get_axes()[0].get_ylabel() == "kNN accuracy"
    assert fig.get_axes()[0].get_xlabel() == "optimizer"
    with pytest.raises(TypeError, match="labels"):
        plots.plot_metrics_by_group(table, ["knn"], labels=["kNN accuracy"])
    matplotlib.pyplot.close(fig)


def test_plot_metrics_by_group_gives_each_of_many_groups_its_own_colour():
    groups = [f"loss {i}" for i in range(16)]
    table = pd.DataFrame({"loss": np.repeat(groups, 2), "map": np.linspace(0.1, 0.9, 32)})
    fig = plots.plot_metrics_by_group(table, ["map"], by="loss")
    colours = {tuple(np.round(c.get_facecolor()[0][:3], 4))
               for c in fig.get_axes()[0].collections if len(c.get_offsets()) == 2}
    assert len(colours) == 16
    matplotlib.pyplot.close(fig)


def test_plot_metrics_by_group_draws_a_baseline_where_asked():
    table = pd.DataFrame({"loss": ["a", "a", "b", "b"], "map": [0.5, 0.6, 0.4, 0.45],
                          "r1": [0.8, 0.9, 0.7, 0.7]})
    fig = plots.plot_metrics_by_group(table, ["map", "r1"], by="loss", baselines={"r1": 0.3},
                                      baseline_label="pixels")
    first, second = fig.get_axes()
    dashed = [line for line in second.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_ydata()) == [0.3, 0.3]
    assert not [line for line in first.get_lines() if line.get_linestyle() == "--"
                and len(line.get_ydata())]
    assert "pixels" in [t.get_text() for t in first.get_legend().get_texts()]
    matplotlib.pyplot.close(fig)
    with pytest.raises(ValueError, match="not shown"):
        plots.plot_metrics_by_group(table, ["map"], by="loss", baselines={"r1": 0.3})
    with pytest.raises(ValueError, match="finite"):
        plots.plot_metrics_by_group(table, ["map"], by="loss", baselines={"map": float("nan")})
    with pytest.raises(TypeError, match="baselines"):
        plots.plot_metrics_by_group(table, ["map"], by="loss", baselines=[0.3])


def _fake_run(loss, spread):
    return training.PairRun(encoder=None, model=None, steps=10 * np.arange(1, len(loss) + 1),
                            loss=np.asarray(loss, float), spread=np.asarray(spread, float),
                            seconds=1.0, optimizer="sgd", learning_rate=0.1, seed=0)


@pytest.mark.parametrize("loss,spread,chunks,expected", [
    ([0.1, 0.05], [0.25, 0.6, 0.7], 1, None),
    ([0.1, np.nan], [0.25, 0.6, np.nan], 2, "diverged"),
    ([0.1, np.nan], [0.25, 0.6, np.nan], 1, None),       # not visible yet after one chunk
    ([0.24, 0.25], [0.25, 0.01, 0.0], 1, "collapsed"),
    ([30.0, 0.2], [0.25, 5.0, 0.6], 1, "exploded"),
])
def test_early_warning_names_the_failure_visible_so_far(loss, spread, chunks, expected):
    assert training.early_warning(_fake_run(loss, spread), chunks=chunks) == expected


def test_early_warning_rejects_bad_input():
    with pytest.raises(TypeError, match="PairRun with a tracked spread"):
        training.early_warning("run")
    untracked = training.PairRun(encoder=None, model=None, steps=np.array([10]),
                                 loss=np.array([0.1]))
    with pytest.raises(TypeError, match="PairRun with a tracked spread"):
        training.early_warning(untracked)
    with pytest.raises(ValueError):
        training.early_warning(_fake_run([0.1], [0.2, 0.3]), chunks=0)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer,learning_rate", [("momentum", 0.05), ("sgd", 1e12)])
def test_train_contrastive_gives_the_numbers_of_the_loop_written_out(optimizer, learning_rate):
    """train_contrastive runs through train_on_pairs; its numbers are those of the plain loop it
    replaced (seed, then build, then a finite stream of ``steps`` batches), a NaN run included."""
    x, y = _blobs()
    run = training.train_contrastive(x, y, optimizer, learning_rate, seed=3, steps=12,
                                     chunks=4, batch_size=16, hidden=8, verbose=False)
    keras.utils.set_random_seed(3)
    encoder = models.mlp_encoder(input_shape=(6, 6), embedding_dim=2, hidden=8)
    model = models.siamese(encoder)
    model.compile(optimizer=training.make_optimizer(optimizer, learning_rate),
                  loss=losses.ContrastiveLoss(margin=1.0))
    snaps = EmbeddingSnapshots(encoder, x[:500])
    history = model.fit(pairs.pair_dataset(x, y, batch_size=16, seed=3, steps=12),
                        steps_per_epoch=3, epochs=4, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN(), snaps])
    np.testing.assert_array_equal(run.loss, history.history["loss"])
    np.testing.assert_array_equal(
        run.spread, [evaluate.embedding_spread(snaps.snapshots[k]) for k in sorted(snaps.snapshots)])
    assert run.diverged == (learning_rate > 1)


def test_train_on_pairs_tracks_a_probe_and_takes_callbacks(class_coded_images):
    x, y = class_coded_images(n=200, n_classes=4, shape=(4, 4))

    def build():
        encoder = models.mlp_encoder(input_shape=(4, 4), embedding_dim=2, hidden=8)
        return encoder, models.siamese(encoder)

    run = training.train_on_pairs(build, losses.ContrastiveLoss(), x, y, steps=6, chunks=3,
                                  batch_size=8, verbose=0, probe=x[:20], optimizer="momentum",
                                  learning_rate=0.01, callbacks=[keras.callbacks.History()])
    assert run.spread.shape == (4,) and np.isfinite(run.spread).all() and run.seconds > 0
    assert run.label == "momentum lr=0.01 seed=0" and not run.diverged
    assert float(run.model.optimizer.momentum) == pytest.approx(0.9)
    with pytest.raises(TypeError, match="callbacks must be a list"):
        training.train_on_pairs(build, losses.ContrastiveLoss(), x, y, steps=1, chunks=1,
                                callbacks=["stop"])
    with pytest.raises(TypeError, match="verbose must be a bool"):
        training.train_contrastive(x, y, "sgd", 0.1, seed=0, steps=1, chunks=1, verbose=1)


@pytest.mark.parametrize("extra", [[], ["SupCon", "prototypes, 5-shot, same images", "CosFace",
                                        "normalised softmax", "softmax classifier",
                                        "softmax classifier, SimpleShot", "prototypes, 1-shot",
                                        "batch-hard (07)"]])
def test_plot_metrics_by_group_long_group_names_do_not_overlap(extra):
    import matplotlib.pyplot as plt
    import pandas as pd

    names = ["contrastive pairs", "contrastive, all pairs", "random triplets", "batch-all",
             "batch-hard", "semi-hard", "N-way"] + extra
    n = 3 * len(names)
    table = pd.DataFrame({"loss": np.repeat(names, 3), "map@r": np.arange(n) / n,
                          "recall@1": np.arange(n) / 30, "one-shot": np.arange(n) / 40})
    fig = plots.plot_metrics_by_group(table, ["recall@1", "map@r", "one-shot"], by="loss",
                                      title="t")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
        assert len(boxes) == len(names)
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    plt.close(fig)
