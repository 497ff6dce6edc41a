"""The multi-replica path on CPU (two logical devices), and the strategy helpers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import distribute, layers, losses, models


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    out = tmp_path_factory.mktemp("mirrored") / "model.keras"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.run([sys.executable, str(Path(__file__).with_name("mirrored_worker.py")),
                          str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_two_replicas_train_and_loss_falls(mirrored):
    assert mirrored["replicas"] == 2
    assert mirrored["losses"][-1] < 0.7 * mirrored["losses"][0]


def test_global_batch_loss_equals_single_device_loss(mirrored):
    assert mirrored["global_loss"] == pytest.approx(mirrored["single_loss"], rel=1e-5)
    assert mirrored["step_change"] > 1e-3, "the SGD step did not move the weights"
    assert mirrored["step_gap"] < 1e-5, "one SGD step differs between 2 replicas and 1 device"


def test_replicas_stay_in_sync_and_model_reloads(mirrored):
    assert mirrored["replica_gap"] == 0.0
    assert mirrored["reload_gap"] < 1e-5


def test_default_strategy_on_this_machine():
    strategy = distribute.get_strategy()
    assert strategy.num_replicas_in_sync == len(tf.config.list_logical_devices("GPU")) or \
        strategy.num_replicas_in_sync == 1
    assert distribute.global_batch_size(16, strategy) == 16 * strategy.num_replicas_in_sync


def test_bad_arguments():
    with pytest.raises(ValueError, match="per_replica"):
        distribute.global_batch_size(0)
    with pytest.raises(ValueError, match="n must"):
        distribute.split_cpu(0)


def test_mixed_precision_switch():
    try:
        assert distribute.set_mixed_precision(True) == "mixed_float16"
    finally:
        assert distribute.set_mixed_precision(False) == "float32"


@pytest.fixture
def mixed_policy():
    """The mixed_float16 global policy for one test, float32 restored whatever happens."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_siamese_under_mixed_precision_has_float32_head_and_loss(mixed_policy):
    model = models.siamese(models.small_cnn_encoder((8, 8), embedding_dim=4, filters=(4,),
                                                    dense=8))
    encoder = model.get_layer("small_cnn_encoder")
    assert encoder.output.dtype == "float16"                  # the policy is in force ...
    assert model.output.dtype == "float32"                    # ... but the distance is float32
    model.compile(optimizer="adam", loss=losses.ContrastiveLoss())
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 16, 8, 8), dtype=np.float32)
    labels = np.tile([1.0, 0.0], 8).astype(np.float32)
    loss = model.train_on_batch([a, b], labels)
    assert np.isfinite(loss)
    assert losses.ContrastiveLoss()(labels, model.predict([a, b], verbose=0)).dtype == "float32"


def test_distance_and_loss_do_not_overflow_float16(mixed_policy):
    # 16 coordinates 600 apart: d^2 = 5.76e6 and d = 2400, far past float16's 65,504.
    a = keras.ops.full((2, 16), 300.0, dtype="float16")
    distance = layers.EuclideanDistance()([a, -a])
    assert distance.dtype == "float32"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(distance), 2400.0, rtol=1e-3)
    per_pair = losses.contrastive_loss(np.ones(2), keras.ops.full((2, 1), 300.0, "float16"))
    assert per_pair.dtype == "float32"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(per_pair), 0.5 * 300.0**2)
    unit = keras.layers.UnitNormalization(dtype="float32")(
        keras.ops.full((1, 16), 1e-4, dtype="float16"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.sum(unit**2)), 1.0,
                               rtol=1e-3)
    similarity = layers.WeightedL1Similarity()([a, -a])
    assert similarity.dtype == "float32"


@pytest.mark.parametrize("environ, expected", [
    ({}, None),
    ({"COLAB_TPU_ADDR": "10.0.0.2:8470"}, "grpc://10.0.0.2:8470"),
    ({"TPU_NAME": "my-tpu"}, ""),
])
def test_tpu_address_from_the_environment(environ, expected):
    assert distribute._tpu_address(environ) == expected


def test_announced_tpu_that_cannot_start_falls_back_with_a_warning(monkeypatch):
    asked = []

    def no_tpu(tpu=None):
        asked.append(tpu)
        raise ValueError("no TPU here")

    monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", no_tpu)
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    try:
        with pytest.warns(UserWarning, match="could not start"):
            strategy = distribute.get_strategy(refresh=True)
        assert asked == ["grpc://10.0.0.2:8470"]
        assert not isinstance(strategy, tf.distribute.TPUStrategy)
    finally:
        monkeypatch.delenv("COLAB_TPU_ADDR")
        distribute.get_strategy(refresh=True)


@pytest.mark.slow
def test_pk_batches_from_files_on_two_replicas(tmp_path):
    # docs/scaling.md, "Training from image files": the global P x K batch is split
    # into consecutive slices, so with P a multiple of the replicas each holds whole classes.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.run([sys.executable, str(Path(__file__).with_name("mirrored_files_worker.py")),
                          str(tmp_path / "images")], capture_output=True, text=True, env=env,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2 and len(out["slices"]) == 3
    for replicas in out["slices"]:
        assert replicas == [[3, 3], [3, 3]]           # 2 classes x K = 3 on each replica
    assert all(np.isfinite(out["losses"]))


def test_tpu_runtime_signs(tmp_path):
    def no_libtpu(name):
        return None

    assert distribute._tpu_runtime_signs({}, dev_dir=tmp_path, find_spec=no_libtpu) == []
    (tmp_path / "accel0").touch()
    signs = distribute._tpu_runtime_signs({"TPU_ACCELERATOR_TYPE": "v5e-1", "TPU_NAME": ""},
                                          dev_dir=tmp_path,
                                          find_spec=lambda name: name == "libtpu" or None)
    assert signs == ["TPU_ACCELERATOR_TYPE", f"{tmp_path}/accel*", "the libtpu package"]


@pytest.fixture
def fresh_strategy(monkeypatch):
    """get_strategy chooses again in each test; the process's choice is restored afterwards."""
    monkeypatch.setattr(distribute, "_strategy", None)
    for name in ("COLAB_TPU_ADDR", "TPU_NAME"):
        monkeypatch.delenv(name, raising=False)


def test_get_strategy_warns_on_a_tpu_runtime_that_tensorflow_cannot_use(fresh_strategy,
                                                                        monkeypatch):
    # Colab's TPU runtime as it is: libtpu and the chips are there, TensorFlow sees no TPU.
    monkeypatch.setattr(distribute, "_tpu_runtime_signs",
                        lambda environ: ["TPU_ACCELERATOR_TYPE", "the libtpu package"])
    with pytest.warns(UserWarning, match=r"looks like a TPU runtime \(TPU_ACCELERATOR_TYPE, "
                                         r"the libtpu package\) but TensorFlow cannot use"):
        strategy = distribute.get_strategy()
    assert not isinstance(strategy, tf.distribute.TPUStrategy)
    assert strategy.num_replicas_in_sync >= 1


def test_get_strategy_is_silent_off_a_tpu_runtime(fresh_strategy, monkeypatch):
    import warnings

    monkeypatch.setattr(distribute, "_tpu_runtime_signs", lambda environ: [])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        distribute.get_strategy()


def test_describe_shows_the_tpu_warning_although_it_hides_native_stderr(fresh_strategy,
                                                                       monkeypatch, capsys):
    from course_lib import config

    monkeypatch.setattr(distribute, "_tpu_runtime_signs", lambda environ: ["the libtpu package"])
    with pytest.warns(UserWarning, match="TensorFlow cannot use its TPU"):
        config.describe()


def test_set_mixed_precision_rejects_a_non_bool():
    with pytest.raises(TypeError, match="enabled must be a bool, got str"):
        distribute.set_mixed_precision("yes")
