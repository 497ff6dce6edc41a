"""Every Keras object course_lib registers survives ``get_config``/``from_config`` and a
``.keras`` file round trip, in this process and from one process to another after ``import
course_lib`` alone. The objects are discovered from Keras's registry after importing every
module of the package, so a newly registered class is tested without editing this file."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from serialization_worker import import_every_module, instance, layer_model, loss_model

import course_lib

import_every_module()

REGISTERED = sorted(
    (name, obj) for name, obj in keras.saving.get_custom_objects().items()
    if name.startswith(f"{course_lib.PACKAGE}>"))
IDS = [name for name, _ in REGISTERED]
WORKER = Path(__file__).with_name("serialization_worker.py")


def test_discovery_finds_the_package_objects():
    names = {name.split(">", 1)[1] for name in IDS}
    assert {"EuclideanDistance", "WeightedL1Similarity", "ContrastiveLoss", "TripletLoss",
            "BatchAllTripletLoss", "BatchHardTripletLoss", "SemiHardTripletLoss", "NWayLoss",
            "ActiveTripletFraction", "RandomAffine", "ShiftedViews", "ViewMean"} <= names


@pytest.mark.parametrize("name,cls", REGISTERED, ids=IDS)
def test_config_round_trip(name, cls):
    obj = instance(cls)
    clone = cls.from_config(obj.get_config())
    assert type(clone) is cls
    assert clone.get_config() == obj.get_config()
    # through Keras's generic (de)serialisation, which looks the class up by its registered name
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(obj))
    assert type(again) is cls and again.get_config() == obj.get_config()


@pytest.mark.parametrize("name,cls", REGISTERED, ids=IDS)
def test_keras_file_round_trip(tmp_path, name, cls):
    obj = instance(cls)
    path = tmp_path / "model.keras"
    if isinstance(obj, keras.layers.Layer):
        model, data = layer_model(obj)
        before = model.predict(data, verbose=0)
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert any(type(layer) is cls for layer in loaded.layers)
        np.testing.assert_allclose(loaded.predict(data, verbose=0), before, rtol=1e-6)
    elif isinstance(obj, keras.losses.Loss):
        model, y_true, x = loss_model(obj)
        model.compile(optimizer="sgd", loss=obj)
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded.loss) is cls and loaded.loss.get_config() == obj.get_config()
        y_pred = model.predict(x, verbose=0)
        np.testing.assert_allclose(float(loaded.loss(y_true, y_pred)),
                                   float(obj(y_true, y_pred)), rtol=1e-6)
    elif isinstance(obj, keras.metrics.Metric):
        mining_loss = course_lib.losses.BatchAllTripletLoss()
        model, y_true, x = loss_model(mining_loss)
        model.compile(optimizer="sgd", loss=mining_loss, metrics=[obj])
        before = model.evaluate(x, y_true, verbose=0, return_dict=True)
        model.save(path)
        loaded = keras.saving.load_model(path)
        after = loaded.evaluate(x, y_true, verbose=0, return_dict=True)
        assert set(after) == set(before)
        np.testing.assert_allclose(after[obj.name], before[obj.name], rtol=1e-6)
    else:
        pytest.fail(f"{name} is neither a Layer, a Loss nor a Metric: add a round trip for it")


def _worker(mode, folder):
    run = subprocess.run([sys.executable, str(WORKER), mode, str(folder)], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def test_import_course_lib_alone_loads_every_object_saved_by_another_process(tmp_path):
    _worker("save", tmp_path)
    saved = json.loads((tmp_path / "manifest.json").read_text())
    assert sorted(entry["name"] for entry in saved) == IDS
    result = json.loads(_worker("load", tmp_path).strip().splitlines()[-1])
    assert not result["failed"], result["failed"]
    assert sorted(result["ok"]) == IDS
    # after `import course_lib`, every object is registered, none of them left to a module the
    # loading process would have to import by itself
    assert sorted(result["registered"]) == IDS
