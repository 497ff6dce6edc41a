"""Save, or load, one small ``.keras`` model per registered Keras object of course_lib, each in
a process of its own (run by tests/test_serialization.py).

``python serialization_worker.py save DIR`` imports every module of the package, and for each
registered object writes ``DIR/<name>.keras`` (a model using the layer, or compiled with the
loss or the metric), the inputs and the outputs to expect, and ``DIR/manifest.json``.
``python serialization_worker.py load DIR`` runs ``import course_lib`` and nothing else of the
package, loads every file with ``keras.models.load_model`` and prints one JSON line: which
files loaded with the right object and the same outputs.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import course_lib

# Constructor arguments where the defaults do not fit the test models below (a batch of 4).
ARGUMENTS = {"ViewMean": dict(views=2), "CosineClassifier": dict(num_classes=3)}


def registered() -> dict:
    """``{registered name: class}`` of every object course_lib has registered so far."""
    return {name: obj for name, obj in keras.saving.get_custom_objects().items()
            if name.startswith(f"{course_lib.PACKAGE}>")}


def import_every_module() -> None:
    for module in pkgutil.walk_packages(course_lib.__path__, prefix="course_lib."):
        importlib.import_module(module.name)


def instance(cls):
    return cls(**ARGUMENTS.get(cls.__name__, {}))


def layer_model(layer):
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


def loss_model(loss):
    """``(model, y_true, x)`` fit for ``loss``: pair labels (6, 2) against softplus outputs for a
    loss of pairs, triplets or episodes, or class labels (6,) for a loss that mines a batch."""
    rng = np.random.default_rng(0)
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softplus")(inputs))
    x = rng.random((6, 2)).astype(np.float32)
    y_pairs = np.array([[0, 1], [1, 0], [1, 1], [0, 0], [1, 0], [0, 1]], np.float32)
    try:
        loss(y_pairs, model.predict(x, verbose=0))
        return model, y_pairs, x
    except (ValueError, tf.errors.InvalidArgumentError):
        # class ids within the 2 outputs, so a loss over class logits (CosFace) fits too
        return model, np.array([0, 0, 1, 1, 0, 1], np.int32), x


def save(folder: Path) -> None:
    import_every_module()
    entries = []
    for name, cls in sorted(registered().items()):
        obj = instance(cls)
        stem = name.replace(">", "_")
        if isinstance(obj, keras.layers.Layer):
            model, data = layer_model(obj)
            inputs = data if isinstance(data, list) else [data]
            expected = {"prediction": model.predict(data, verbose=0)}
        elif isinstance(obj, keras.losses.Loss):
            model, y_true, x = loss_model(obj)
            model.compile(optimizer="sgd", loss=obj)
            inputs = [x]
            expected = {"loss": np.float32(obj(y_true, model.predict(x, verbose=0))),
                        "y_true": y_true}
        elif isinstance(obj, keras.metrics.Metric):
            mining_loss = course_lib.losses.BatchAllTripletLoss()
            model, y_true, x = loss_model(mining_loss)
            model.compile(optimizer="sgd", loss=mining_loss, metrics=[obj])
            inputs = [x]
            scores = model.evaluate(x, y_true, verbose=0, return_dict=True)
            expected = {"metric": np.float32(scores[obj.name]), "y_true": y_true}
        else:
            raise TypeError(f"{name} is neither a Layer, a Loss nor a Metric: add its kind")
        model.save(folder / f"{stem}.keras")
        np.savez(folder / f"{stem}.npz", *inputs, **expected)
        entries.append({"name": name, "stem": stem, "config": obj.get_config(),
                        "metric_name": getattr(obj, "name", None), "inputs": len(inputs)})
    (folder / "manifest.json").write_text(json.dumps(entries, default=str))


def load(folder: Path) -> dict:
    entries = json.loads((folder / "manifest.json").read_text())
    known = registered()
    out = {"registered": sorted(known), "ok": [], "failed": {}}
    for entry in entries:
        name, stem = entry["name"], entry["stem"]
        try:
            model = keras.models.load_model(folder / f"{stem}.keras")
            arrays = np.load(folder / f"{stem}.npz")
            inputs = [arrays[f"arr_{i}"] for i in range(entry["inputs"])]
            data = inputs if len(inputs) > 1 else inputs[0]
            cls = known[name]
            if "prediction" in arrays:
                assert any(type(layer) is cls for layer in model.layers), "layer not restored"
                np.testing.assert_allclose(model.predict(data, verbose=0), arrays["prediction"],
                                           rtol=1e-6)
            elif "loss" in arrays:
                assert type(model.loss) is cls, f"loss restored as {type(model.loss)}"
                got = float(model.loss(arrays["y_true"], model.predict(data, verbose=0)))
                np.testing.assert_allclose(got, float(arrays["loss"]), rtol=1e-6)
            else:
                scores = model.evaluate(data, arrays["y_true"], verbose=0, return_dict=True)
                np.testing.assert_allclose(scores[entry["metric_name"]], float(arrays["metric"]),
                                           rtol=1e-6)
            out["ok"].append(name)
        except Exception as error:  # reported to the test, which then fails
            out["failed"][name] = f"{type(error).__name__}: {error}"
    return out


if __name__ == "__main__":
    mode, folder = sys.argv[1], Path(sys.argv[2])
    if mode == "save":
        save(folder)
    else:
        loaded_modules = sorted(m for m in sys.modules if m.startswith("course_lib"))
        result = load(folder)
        result["modules"] = loaded_modules
        print(json.dumps(result))
