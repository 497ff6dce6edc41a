"""The multi-replica path on CPU (two logical devices), and the strategy helpers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

from course_lib import distribute


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    out = tmp_path_factory.mktemp("mirrored") / "model.keras"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.run([sys.executable, str(Path(__file__).with_name("mirrored_worker.py")),
                          str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


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
