"""Every Keras object course_lib registers survives ``get_config``/``from_config`` and a
``.keras`` file round trip. The objects are discovered from Keras's registry after importing
every module of the package, so a newly registered class is tested without editing this file."""

import importlib
import pkgutil

import keras
import numpy as np
import pytest

import course_lib
from course_lib.layers import PACKAGE

for _module in pkgutil.iter_modules(course_lib.__path__):
    importlib.import_module(f"course_lib.{_module.name}")

REGISTERED = sorted(
    (name, obj) for name, obj in keras.saving.get_custom_objects().items()
    if name.startswith(f"{PACKAGE}>"))
IDS = [name for name, _ in REGISTERED]


def test_discovery_finds_the_package_objects():
    names = {name.split(">", 1)[1] for name in IDS}
    assert {"EuclideanDistance", "WeightedL1Similarity", "ContrastiveLoss", "TripletLoss",
            "RandomAffine"} <= names


# Constructor arguments where the defaults do not fit the test models below (a batch of 4).
ARGUMENTS = {"ViewMean": dict(views=2)}


def _instance(cls):
    return cls(**ARGUMENTS.get(cls.__name__, {}))


@pytest.mark.parametrize("name,cls", REGISTERED, ids=IDS)
def test_config_round_trip(name, cls):
    obj = _instance(cls)
    clone = cls.from_config(obj.get_config())
    assert type(clone) is cls
    assert clone.get_config() == obj.get_config()
    # through Keras's generic (de)serialisation, which looks the class up by its registered name
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(obj))
    assert type(again) is cls and again.get_config() == obj.get_config()


def _layer_model(layer):
    """A model around ``layer``: one (4, 6, 6) input, or two (4, 5) inputs for a pair layer."""
    rng = np.random.default_rng(0)
    try:
        inputs = keras.Input((6, 6))
        model = keras.Model(inputs, layer(inputs))
        data = rng.random((4, 6, 6)).astype(np.float32)
    except (TypeError, ValueError):
        inputs = [keras.Input((5,)), keras.Input((5,))]
        model = keras.Model(inputs, layer(inputs))
        data = [rng.random((4, 5)).astype(np.float32) for _ in range(2)]
    return model, data


def _loss_model(loss):
    """``(model, y_true, x)`` fit for ``loss``: pair labels (4, 2) against softplus outputs for a
    pair loss, or class labels (6,) against 2-D embeddings for a loss that mines a batch."""
    rng = np.random.default_rng(0)
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softplus")(inputs))
    x = rng.random((6, 2)).astype(np.float32)
    y_pairs = np.array([[0, 1], [1, 0], [1, 1], [0, 0], [1, 0], [0, 1]], np.float32)
    try:
        loss(y_pairs, model.predict(x, verbose=0))
        return model, y_pairs, x
    except ValueError:
        return model, np.array([0, 0, 1, 1, 2, 2], np.int32), x


@pytest.mark.parametrize("name,cls", REGISTERED, ids=IDS)
def test_keras_file_round_trip(tmp_path, name, cls):
    obj = _instance(cls)
    path = tmp_path / "model.keras"
    if isinstance(obj, keras.layers.Layer):
        model, data = _layer_model(obj)
        before = model.predict(data, verbose=0)
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert any(type(layer) is cls for layer in loaded.layers)
        np.testing.assert_allclose(loaded.predict(data, verbose=0), before, rtol=1e-6)
    elif isinstance(obj, keras.losses.Loss):
        model, y_true, x = _loss_model(obj)
        model.compile(optimizer="sgd", loss=obj)
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded.loss) is cls and loaded.loss.get_config() == obj.get_config()
        y_pred = model.predict(x, verbose=0)
        np.testing.assert_allclose(float(loaded.loss(y_true, y_pred)),
                                   float(obj(y_true, y_pred)), rtol=1e-6)
    elif isinstance(obj, keras.metrics.Metric):
        from course_lib.mining import BatchAllTripletLoss

        model, y_true, x = _loss_model(BatchAllTripletLoss())
        model.compile(optimizer="sgd", loss=BatchAllTripletLoss(), metrics=[obj])
        before = model.evaluate(x, y_true, verbose=0, return_dict=True)
        model.save(path)
        loaded = keras.saving.load_model(path)
        after = loaded.evaluate(x, y_true, verbose=0, return_dict=True)
        assert set(after) == set(before)
        np.testing.assert_allclose(after[obj.name], before[obj.name], rtol=1e-6)
    else:
        pytest.fail(f"{name} is neither a Layer nor a Loss: add a round trip for its kind")
