"""Exercises of notebook 02 (weight sharing).

- ``q1``: a ``PairDistance`` layer that survives a ``.keras`` file (registered, with its
  ``epsilon`` in its config).
- ``q2``: ``build_siamese(make_encoder)``: two inputs, one encoder, whatever function builds it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from course_lib.exercises import Exercise, Incorrect
from course_lib.exercises._probe import as_numpy, fmt, gradient_at_coinciding

__all__ = ["q1", "q2"]


# ---------------------------------------------------------------------------------------------
# q1: a serializable distance layer

_Q1_SOLUTION = '''
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="my_siamese")
class PairDistance(keras.layers.Layer):
    """Euclidean distance sqrt(sum((a - b)^2) + epsilon) of two embeddings, shape (batch, 1)."""

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)          # name, dtype, trainable: the base layer's settings
        self.epsilon = epsilon

    def call(self, inputs):
        a, b = inputs
        squared = ops.sum(ops.square(a - b), axis=-1, keepdims=True)
        return ops.sqrt(squared + self.epsilon)

    def get_config(self):
        # What from_config needs to rebuild this layer: the base settings plus our argument.
        # Keras 3 would record a plain argument like epsilon by itself; writing it out is
        # explicit, and needed for arguments that are not str, int, float, bool or None.
        return {**super().get_config(), "epsilon": self.epsilon}
'''

_Q1_HINT = """
Start from notebook 01's PairDistance. Two things make a layer loadable from a .keras file:
Keras must find the class by name, which the decorator
@keras.saving.register_keras_serializable(package="my_siamese") arranges, and the layer's
config must hold every argument of __init__, here epsilon: Keras then calls
PairDistance(**config) when it loads the file. Keras 3 records plain arguments (str, int,
float, bool, None) by itself; if you write get_config(), return the base layer's config
(super().get_config(): name, dtype, ...) plus epsilon.
"""


def _check_pair_distance(cls) -> str:
    import keras

    if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
        raise Incorrect(f"PairDistance must be a class derived from keras.layers.Layer, got "
                        f"{cls!r}")
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 3)).astype("float32")
    b = rng.normal(size=(5, 3)).astype("float32")
    try:
        layer = cls(epsilon=0.25, name="pair_distance_check")
    except TypeError as err:
        if "epsilon" not in str(err) and "name" not in str(err):
            raise
        raise Incorrect(f"PairDistance(epsilon=0.25, name=...) fails ({err}): take epsilon as "
                        f"an argument and pass **kwargs on to super().__init__.") from None
    d = as_numpy(layer([a, b]), "PairDistance()([a, b])")
    squared = ((a - b) ** 2).sum(axis=-1, keepdims=True)
    want = np.sqrt(squared + 0.25)
    if d.shape != (5, 1):
        raise Incorrect(f"for a batch of 5 pairs it returns shape {d.shape}, expected (5, 1): "
                        f"sum over the last axis with keepdims=True.")
    if np.allclose(d, np.sqrt(squared), atol=1e-4):
        raise Incorrect("with epsilon=0.25 it returns sqrt(sum((a - b)^2)): epsilon is ignored; "
                        "add it under the square root.")
    if np.allclose(d, np.sqrt(squared) + 0.25, atol=1e-4):
        raise Incorrect("with epsilon=0.25 it returns sqrt(sum((a - b)^2)) + epsilon: epsilon "
                        "goes under the square root, where it keeps the gradient finite.")
    if not np.allclose(d, want, atol=1e-4, rtol=1e-4):
        raise Incorrect(f"with epsilon=0.25, for a = {fmt(a[0])} and b = {fmt(b[0])} it returns "
                        f"{d[0, 0]:.4f}, expected sqrt(sum((a - b)^2) + epsilon) = "
                        f"{want[0, 0]:.4f}.")
    gradient_at_coinciding(lambda u, v: cls()([u, v]), a, "call()",
                           "with the default epsilon, identical inputs give distance 0 but a NaN "
                           "gradient: the default must be a small epsilon > 0, such as 1e-6 "
                           "(notebook 01, 'The model, by hand').")
    registered = keras.saving.get_registered_name(cls)
    if ">" not in registered:
        raise Incorrect("PairDistance is not registered, so Keras cannot find the class when it "
                        "loads a file (notebook 01's reload failed this way): decorate it with "
                        "@keras.saving.register_keras_serializable(package=...).")
    if keras.saving.get_registered_object(registered) is not cls:
        raise Incorrect(f"another class is registered as {registered!r}: run the cell that "
                        f"defines PairDistance again.")
    config = layer.get_config()
    if config.get("epsilon") != 0.25:
        raise Incorrect(f"PairDistance(epsilon=0.25).get_config() gives {config!r}, without "
                        f"epsilon = 0.25: a reloaded layer would come back with the default. "
                        f"Add 'epsilon': self.epsilon to the config.")
    if config.get("name") != "pair_distance_check":
        raise Incorrect("get_config() drops the base layer's settings (its name is missing): "
                        "start from super().get_config() and add epsilon to it.")
    left, right = keras.Input((3,)), keras.Input((3,))
    model = keras.Model([left, right], layer([left, right]))
    with tempfile.TemporaryDirectory() as folder:     # removed with its file afterwards
        path = Path(folder) / "pair_distance.keras"
        model.save(path)
        try:
            reloaded = keras.models.load_model(path)
        except Exception as err:
            raise Incorrect(f"a model with PairDistance is saved, but loading the file fails: "
                            f"{type(err).__name__}: {str(err)[:300]}") from None
    again = reloaded.get_layer("pair_distance_check")
    if type(again) is not cls:
        raise Incorrect(f"the reloaded layer is a {type(again).__name__}, not your class.")
    d_again = as_numpy(reloaded([a, b]), "the reloaded model")
    if not np.allclose(d_again, d, atol=1e-6):
        raise Incorrect(f"the reloaded model gives {fmt(d_again[:2, 0])}... instead of "
                        f"{fmt(d[:2, 0])}...: its epsilon did not survive the file.")
    return ("PairDistance computes sqrt(sum((a - b)^2) + epsilon), keeps the gradient finite "
            "for identical inputs, and a model using it reloads from a .keras file with the "
            "same class, epsilon and distances.")


q1 = Exercise("nb02.q1", "PairDistance", _check_pair_distance, _Q1_HINT, _Q1_SOLUTION)


# ---------------------------------------------------------------------------------------------
# q2: one encoder, however it is built

_Q2_SOLUTION = '''
import keras

from course_lib import layers


def build_siamese(make_encoder):
    """A two-input model: one encoder from make_encoder(), applied to both inputs, and the
    Euclidean distance of the two embeddings."""
    encoder = make_encoder()                    # called once: one set of weights
    shape = encoder.input_shape[1:]
    left, right = keras.Input(shape=shape), keras.Input(shape=shape)
    distance = layers.EuclideanDistance()([encoder(left), encoder(right)])
    return keras.Model([left, right], distance)
'''

_Q2_HINT = """
make_encoder is a function like models.mlp_encoder: each call builds a new encoder with new
weights. Call it once, keep the encoder, and call that one encoder on both keras.Inputs (the
inputs take the encoder's shape: encoder.input_shape[1:]). Put a distance on top, e.g.
layers.EuclideanDistance()([embedding_left, embedding_right]), and return
keras.Model([left, right], distance).
"""


def _check_build_siamese(fn) -> str:
    import keras

    if not callable(fn):
        raise Incorrect(f"build_siamese must be a function of make_encoder, got "
                        f"{type(fn).__name__}")
    built = []

    def make_encoder():
        encoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                                    keras.layers.Dense(2)], name=f"check_encoder_{len(built)}")
        built.append(encoder)
        return encoder

    model = fn(make_encoder)
    if not isinstance(model, keras.Model):
        raise Incorrect(f"build_siamese should return a keras.Model, got "
                        f"{type(model).__name__}")
    if not built:
        raise Incorrect("build_siamese never calls make_encoder: the encoder must come from it "
                        "(encoder = make_encoder()).")
    if len(built) > 1:
        raise Incorrect(f"build_siamese calls make_encoder {len(built)} times: each call builds "
                        f"a new encoder with its own weights, so the branches are not twins "
                        f"(the model has {len(model.trainable_variables)} weight tensors instead "
                        f"of {len(built[0].trainable_variables)}). Call it once and apply that "
                        f"one encoder to both inputs.")
    encoder = built[0]
    if len(model.inputs) != 2:
        raise Incorrect(f"the model has {len(model.inputs)} input(s); a Siamese model takes "
                        f"two, [left, right].")
    model_ids = {id(v) for v in model.trainable_variables}
    encoder_ids = {id(v) for v in encoder.trainable_variables}
    if not encoder_ids <= model_ids:
        raise Incorrect("the model does not use the encoder that make_encoder() returned.")
    if model_ids != encoder_ids:
        raise Incorrect(f"the model has {len(model_ids - encoder_ids)} weight tensor(s) beyond "
                        f"the encoder's: the distance on top needs none.")
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 3)).astype("float32")
    b = rng.normal(size=(5, 3)).astype("float32")
    d = as_numpy(model([a, b]), "the model")
    if d.shape != (5, 1):
        raise Incorrect(f"for a batch of 5 pairs the model returns shape {d.shape}, expected "
                        f"(5, 1): one distance per pair.")
    ea, eb = (np.asarray(keras.ops.convert_to_numpy(encoder(x)), np.float64) for x in (a, b))
    want = np.linalg.norm(ea - eb, axis=-1, keepdims=True)
    if np.all(d < 2e-3) and np.all(want > 1e-2):
        raise Incorrect("the distance of two different inputs is 0: both branches see the same "
                        "input. Call the encoder on left and on right.")
    # compared squared: a distance with a small epsilon (sqrt(1e-6) = 0.001 for two equal
    # embeddings) passes
    if not np.allclose(d ** 2, want ** 2, atol=1e-4, rtol=1e-3):
        raise Incorrect(f"the model gives {fmt(d[:3, 0])}... but the Euclidean distances of "
                        f"the encoder's embeddings are {fmt(want[:3, 0])}...")
    swapped = as_numpy(model([b, a]), "the model")
    if not np.array_equal(swapped, d):
        raise Incorrect("d(a, b) differs from d(b, a); one shared encoder makes the distance "
                        "symmetric.")
    return ("build_siamese calls make_encoder once and applies that one encoder to both "
            "inputs: the model's weights are exactly the encoder's, and it returns the "
            "Euclidean distance of the two embeddings.")


q2 = Exercise("nb02.q2", "build_siamese", _check_build_siamese, _Q2_HINT, _Q2_SOLUTION)
