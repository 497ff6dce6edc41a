"""scripts/study_09.py and the pieces it adds, without Omniglot: the prototypical loss against a
NumPy reference and as one direction of the N-way loss, k-shot tasks and their scoring, the
SimpleShot reading, and a study file that reads back (training and scoring stubbed)."""

from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from course_lib import losses, oneshot, results, unseen
from scripts import study_09

RNG = np.random.default_rng(0)


def np_prototypical(y, emb, shots):
    classes = list(dict.fromkeys(y.tolist()))
    protos = {c: emb[np.flatnonzero(y == c)[:shots]].mean(axis=0) for c in classes}
    out = []
    for i in range(len(y)):
        if np.sum(y[:i] == y[i]) < shots:
            out.append(0.0)
            continue
        logits = np.array([-np.sum((emb[i] - protos[c]) ** 2) for c in classes])
        logits -= logits.max()
        out.append(-(logits[classes.index(y[i])] - np.log(np.exp(logits).sum())))
    return np.array(out)


@pytest.mark.parametrize("shots", [1, 2])
def test_prototypical_loss_matches_numpy(shots):
    y = np.array([5, 2, 5, 9, 2, 9, 5, 2, 9])
    emb = RNG.normal(size=(9, 4)).astype("float32")
    got = keras.ops.convert_to_numpy(losses.prototypical_loss(y, emb, shots))
    np.testing.assert_allclose(got, np_prototypical(y, emb.astype("float64"), shots),
                               rtol=1e-4, atol=1e-5)


def test_one_shot_prototypes_are_one_direction_of_the_n_way_loss():
    emb = RNG.normal(size=(8, 3)).astype("float32")
    y = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    proto = keras.ops.convert_to_numpy(losses.prototypical_loss(y, emb, 1))
    n_way = keras.ops.convert_to_numpy(losses.n_way_loss(emb, 4))
    np.testing.assert_allclose(proto[4:], n_way[4:], rtol=1e-5)      # candidates -> anchors
    assert np.all(proto[:4] == 0)


def test_prototypical_loss_gradient_is_finite_at_equal_embeddings():
    import tensorflow as tf

    x = tf.Variable(np.ones((6, 3), "float32"))
    with tf.GradientTape() as tape:
        loss = keras.ops.mean(losses.prototypical_loss(np.repeat([0, 1], 3), x, 2))
    assert np.all(np.isfinite(tape.gradient(loss, x).numpy()))


def test_prototypical_loss_errors_name_the_problem():
    emb = np.zeros((4, 2), "float32")
    with pytest.raises(ValueError, match="no query"):
        losses.prototypical_loss([0, 0, 1, 1], emb, shots=2)
    with pytest.raises(ValueError, match="2 classes"):
        losses.prototypical_loss([0, 0, 0, 0], emb)
    with pytest.raises(ValueError, match="shots"):
        losses.PrototypicalLoss(0)
    loss = losses.get("prototypical", shots=3)
    assert keras.losses.deserialize(keras.losses.serialize(loss)).shots == 3


def test_k_shot_tasks_draw_disjoint_support_and_queries_within_a_group():
    y = np.repeat(np.arange(6), 5)
    groups = np.repeat([0, 0, 0, 1, 1, 1], 5)
    support, query = oneshot.k_shot_tasks(y, 3, 2, 40, seed=1, groups=groups, queries=2)
    assert support.shape == (40, 3, 2) and query.shape == (40, 3, 2)
    for t in range(40):
        assert len(set(groups[support[t].ravel()])) == 1
        for c in range(3):
            assert set(y[support[t, c]]) == set(y[query[t, c]]) and len(set(y[query[t, c]])) == 1
            assert not set(support[t, c]) & set(query[t, c])
    again = oneshot.k_shot_tasks(y, 3, 2, 40, seed=1, groups=groups, queries=2)
    np.testing.assert_array_equal(support, again[0])
    with pytest.raises(ValueError, match="k_shot=5"):
        oneshot.k_shot_tasks(y, 3, 5, 4)


def test_k_shot_accuracy_is_nearest_prototype():
    y = np.repeat(np.arange(4), 6)
    emb = np.eye(4)[y] * 3 + RNG.normal(size=(24, 4)) * 0.1
    support, query = oneshot.k_shot_tasks(y, 4, 3, 10, seed=0, queries=3)
    assert np.all(oneshot.k_shot_accuracy(emb, support, query) == 1.0)
    # a query put on another class's prototype is answered with that class
    emb2 = emb.copy()
    emb2[query[0, 0, 0]] = emb[support[0, 1]].mean(axis=0)
    assert oneshot.k_shot_accuracy(emb2, support, query)[0] == pytest.approx(11 / 12)
    with pytest.raises(ValueError, match="support"):
        oneshot.k_shot_accuracy(emb, support[:, :2], query)


def test_simpleshot_model_centres_and_normalises():
    x = RNG.random((10, 6, 6)).astype("float32")
    inputs = keras.Input((6, 6))
    embed = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs)))
    out = unseen.simpleshot_model(embed, x).predict(x, verbose=0)
    raw = embed.predict(x, verbose=0)
    centred = raw - raw.mean(axis=0)
    np.testing.assert_allclose(out, centred / np.linalg.norm(centred, axis=1, keepdims=True),
                               rtol=1e-4, atol=1e-5)


class _Embed:
    def predict(self, x, batch_size=None, verbose=0):
        return np.random.default_rng(len(x)).normal(size=(len(x), 4)).astype("float32")


COSFACE = {row: {"setting": f"CosFace s=30 m={m}, centres x10, read raw", "loss": "CosFace",
                 "scale": 30.0, "margin": m, "centres": 10.0, "readout": "raw"}
           for row, m in (("CosFace", 0.2), ("normalised softmax", 0.0))}


def test_the_study_file_reads_back_and_resumes(tmp_path, monkeypatch):
    calls = []
    y = np.repeat(np.arange(4), 12)
    x = RNG.random((48, 8, 8)).astype("float32")
    protocol = unseen.Protocol(x, y, y // 2, x, y, x, y, [], {})

    def train(name, value, seed, steps, protocol, setting=None):
        calls.append((name, seed, steps, value, setting))
        return SimpleNamespace(embed=_Embed(), seconds=1.0)

    monkeypatch.setattr(study_09, "train", train)
    monkeypatch.setattr(study_09, "cosface_settings", lambda: COSFACE)
    monkeypatch.setattr(study_09, "readouts",
                        lambda name, embed, protocol, setting=None: {name: embed, **(
                            {"softmax classifier, SimpleShot": embed}
                            if name == "softmax classifier" else {})})
    monkeypatch.setattr(unseen, "omniglot_protocol", lambda *a, **k: protocol)
    monkeypatch.setattr(unseen, "score_embedding", lambda model, protocol, shots: {
        "map@r": 0.5, "recall@1": 0.6, "one-shot 20-way": 0.7,
        "5-shot 20-way, test alphabet": 0.8})
    monkeypatch.setattr(oneshot, "score_lake_runs", lambda model, runs: (np.array([0.2]), None))
    monkeypatch.setattr(oneshot, "k_shot_tasks",           # 4 classes: no 20-way task
                        lambda *a, **k: (np.zeros((2, 2, 1), int), np.ones((2, 2, 1), int)))
    out = tmp_path / "09_losses.json"
    args = ["--steps", "100", "--sweep-steps", "50", "--seeds", "2", "--out", str(out)]
    study = study_09.main(args)
    # one sweep run per candidate of a loss with several; CosFace's rows come from its sweep
    n_sweep = sum(len(s.candidates) for s in study_09.LOSSES.values() if len(s.candidates) > 1)
    assert len(calls) == n_sweep + 2 * len(study_09.LOSSES)
    again = results.read_losses("09_losses.json", notebooks_dir=tmp_path)
    assert again.to_json() == study.to_json()
    assert again.parameter("SupCon") == "temperature" and again.parameter("CosFace") == "margin"
    assert again.parameter("softmax classifier, SimpleShot") is None
    assert again.margins["CosFace"] == 0.2 and again.margins["normalised softmax"] == 0.0
    assert again.settings["cosface"] == COSFACE
    assert len(again.losses) == len(study_09.LOSSES) + len(study_09.READOUTS)
    # the same steps for every loss, but the same images (24 steps of 20 x 10) where marked
    steps = {name: st for name, seed, st, *_ in calls[n_sweep:]}
    assert steps["prototypes, 5-shot"] == steps["batch-hard"] == 100
    assert steps["prototypes, 5-shot, same images"] == 24
    assert again.settings["steps_by_loss"] == steps
    assert {name: setting for name, _, _, _, setting in calls if setting} == {
        "CosFace": COSFACE["CosFace"], "normalised softmax": COSFACE["normalised softmax"]}
    assert not out.with_suffix(".partial.json").exists()
    # --only trains those losses and keeps the others' runs and choices from the file
    calls.clear()
    kept = study_09.main(args + ["--only", "CosFace"])
    assert {name for name, *_ in calls} == {"CosFace"} and len(calls) == 2
    assert [x.to_json() for x in kept.runs if x.loss != "CosFace"] == [
        x.to_json() for x in again.runs if x.loss != "CosFace"]
    assert kept.sweep == again.sweep and kept.margins == again.margins
    with pytest.raises(SystemExit, match="steps 100"):
        study_09.main(["--steps", "50", "--sweep-steps", "50", "--seeds", "2", "--out",
                       str(out), "--only", "CosFace"])
    # a partial file of the same settings is resumed: nothing is trained again
    progress = results.StudyProgress(out, {"k": 1})
    progress.add_run(again.runs[0])
    assert results.StudyProgress(out, {"k": 1}, resume=True).run(
        again.runs[0].loss, again.runs[0].seed).to_json() == again.runs[0].to_json()
    assert results.StudyProgress(out, {"k": 2}, resume=True).run(
        again.runs[0].loss, again.runs[0].seed) is None


def test_the_cosface_sweep_file_reads_back_and_names_its_choices(tmp_path, monkeypatch):
    from scripts import sweep_cosface_09 as sweep

    y = np.repeat(np.arange(4), 12)
    x = RNG.random((48, 8, 8)).astype("float32")
    protocol = unseen.Protocol(x, y, y // 2, x, y, x, y, [], {})
    trained = []

    class Scored:          # each setting's embedding its own draw: the choice is not a tie
        def __init__(self, seed):
            self.seed = seed

        def predict(self, x, batch_size=None, verbose=0):
            return np.random.default_rng(self.seed).normal(size=(len(x), 4)).astype("float32")

    def train(setting, seed, steps, chunks, protocol, on_chunk):
        trained.append((setting.name, seed))
        embed = Scored(len(trained))
        log = [{"step": 0, **on_chunk(embed)}]
        log += [{"step": steps * (i + 1) // chunks, **on_chunk(embed), "accuracy": 0.5,
                 "loss": 1.0} for i in range(chunks)]
        return SimpleNamespace(embed=embed, seconds=1.0, log=log)

    monkeypatch.setattr(sweep, "train", train)
    monkeypatch.setattr(sweep, "readouts", lambda setting, embed: {
        sweep.TRAINED_READOUT[setting.loss]: embed,
        sweep.OTHER_READOUT[setting.loss]: Scored(embed.seed + 1000)})
    monkeypatch.setattr(unseen, "omniglot_protocol", lambda *a, **k: protocol)
    out = tmp_path / "09_cosface_sweep.json"
    study = sweep.main(["--steps", "6", "--chunks", "3", "--seeds", "2", "--out", str(out)])
    assert len(trained) == 2 * len(sweep.GRID)
    again = results.read_losses("09_cosface_sweep.json", notebooks_dir=tmp_path)
    assert again.to_json() == study.to_json() and len(again.losses) == 2 * len(sweep.GRID)
    configs, chosen = again.settings["configs"], again.settings["chosen"]
    mean = {n: again.scores(n, "validation map@r").mean() for n in again.losses}
    with_margin = [n for n in configs if configs[n]["loss"] == "CosFace" and configs[n]["margin"]]
    at_zero = [n for n in configs if configs[n]["loss"] == "CosFace" and configs[n]["margin"] == 0]
    assert chosen == {"CosFace": max(with_margin, key=mean.get),
                      "normalised softmax": max(at_zero, key=mean.get)}
    run = again.run(chosen["CosFace"], 0).scores
    assert {"validation map@r", "training accuracy", "training loss"} <= set(run)
    trained_way = [n for n in again.losses if n.endswith(", read unit length")
                   and n.startswith("CosFace")]
    assert all("validation map@r, step 2" in again.run(n, 1).scores for n in trained_way)
    assert not out.with_suffix(".partial.json").exists()
