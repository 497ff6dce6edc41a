"""Exercises of notebook 05 (CNN classifier vs Siamese network).

- ``q1``: ``embedding_model(classifier)``: the classifier's penultimate layer as an embedding
  model that shares the classifier's weights (functional API).
- ``q2``: ``nearest_neighbour_accuracy``: 1-NN accuracy of an embedding in NumPy, checked
  against ``course_lib.evaluate.knn_accuracy(k=1)``.
"""

from __future__ import annotations

import warnings

import numpy as np

from course_lib.exercises import Exercise, Incorrect
from course_lib.exercises._probe import as_numpy, clustered_points, fmt

__all__ = ["q1", "q2"]


# ---------------------------------------------------------------------------------------------
# q1: a classifier's penultimate layer as an embedding model

_Q1_SOLUTION = '''
import keras


def embedding_model(classifier):
    """The classifier's penultimate layer as a model: same input, same weights, the
    embedding (the input of the last layer) as output."""
    penultimate = classifier.layers[-2]
    return keras.Model(classifier.input, penultimate.output, name="embedding")
'''

_Q1_HINT = """
A functional Keras model is a graph of layers, and every layer's output is a symbolic tensor
you can reach: classifier.layers[-1] is the softmax layer, classifier.layers[-2] the layer
before it (the bottleneck), and classifier.layers[-2].output its output inside the graph.
keras.Model(classifier.input, that_output) is a new model over the same graph: no layer is
copied, so it uses the classifier's trained weights, and training the classifier further
changes it too.
"""


def _tiny_classifier(width: int, name: str):
    """A small functional classifier 6 -> 5 (ReLU) -> ``width`` (linear) -> 3 (softmax)."""
    import keras

    inputs = keras.Input((6,), name=f"{name}_pixels")
    hidden = keras.layers.Dense(5, activation="relu", name=f"{name}_hidden")(inputs)
    bottleneck = keras.layers.Dense(width, name=f"{name}_bottleneck")(hidden)
    digit = keras.layers.Dense(3, activation="softmax", name=f"{name}_digit")(bottleneck)
    return keras.Model(inputs, digit, name=name)


def _check_embedding_model(fn) -> str:
    import keras

    if not callable(fn):
        raise Incorrect(f"embedding_model must be a function of a classifier, got "
                        f"{type(fn).__name__}")
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    for width in (2, 3):                     # two bottleneck widths: nothing hard-coded
        keras.utils.set_random_seed(width)
        classifier = _tiny_classifier(width, f"check_classifier_{width}")
        hidden, bottleneck = classifier.layers[1], classifier.layers[2]
        want = as_numpy(bottleneck(hidden(x)), "the bottleneck")
        model = fn(classifier)
        if not isinstance(model, keras.Model):
            raise Incorrect(f"embedding_model should return a keras.Model, got "
                            f"{type(model).__name__}")
        if model is classifier:
            raise Incorrect("embedding_model returns the classifier itself: build a new "
                            "keras.Model whose output is the penultimate layer's output.")
        with warnings.catch_warnings():      # a model built on .inputs (a list) warns here
            warnings.simplefilter("ignore", UserWarning)
            got = as_numpy(model(x), "the embedding model")
        if got.shape != want.shape:
            what = {3: "the class probabilities (the softmax layer's output)",
                    5: "the hidden layer before the bottleneck"}.get(got.shape[-1], "")
            raise Incorrect(f"for a classifier with a {width}-D bottleneck and 3 classes, the "
                            f"model returns shape {got.shape}, expected {want.shape}"
                            f"{': ' + what if what else ''}. The embedding is the output of "
                            f"classifier.layers[-2], the input of the last layer.")
        classifier_ids = {id(v) for v in classifier.trainable_variables}
        model_ids = {id(v) for v in model.trainable_variables}
        if not np.allclose(got, want, atol=1e-5):
            if not model_ids & classifier_ids:
                raise Incorrect(f"the model returns {fmt(got[0])} for the first input where "
                                f"the classifier's bottleneck gives {fmt(want[0])}: it has new "
                                f"weights of its own. Use the classifier's layers (its graph), "
                                f"not layers built anew.")
            raise Incorrect(f"the model returns {fmt(got[0])} for the first input, expected "
                            f"the bottleneck's output {fmt(want[0])}.")
        if not model_ids <= classifier_ids:
            copies = len(model_ids - classifier_ids)
            raise Incorrect(f"the model gives the right numbers with {copies} "
                            f"weight tensor(s) that are not the classifier's: a copy, which "
                            f"keeps the classifier's values of today but not what further "
                            f"training changes. Build it on the classifier's own layers: "
                            f"keras.Model(classifier.input, classifier.layers[-2].output).")
    return ("embedding_model returns the output of the classifier's penultimate layer, for a "
            "2-D and a 3-D bottleneck, with the classifier's own weights (no copy).")


q1 = Exercise("nb05.q1", "embedding_model", _check_embedding_model, _Q1_HINT, _Q1_SOLUTION)


# ---------------------------------------------------------------------------------------------
# q2: nearest-neighbour accuracy in NumPy

_Q2_SOLUTION = '''
import numpy as np


def nearest_neighbour_accuracy(train_emb, train_y, test_emb, test_y):
    """Fraction of test points whose nearest training point (Euclidean) has their label."""
    train_emb, test_emb = np.asarray(train_emb, float), np.asarray(test_emb, float)
    # squared distances (M, N) of every test point to every training point, by broadcasting
    d2 = ((test_emb[:, None, :] - train_emb[None, :, :]) ** 2).sum(axis=-1)
    nearest = d2.argmin(axis=1)             # the first of equally near points on a tie
    return float(np.mean(np.asarray(train_y)[nearest] == np.asarray(test_y)))
'''

_Q2_HINT = """
Compute every test-to-training distance at once: test_emb[:, None, :] - train_emb[None, :, :]
has shape (M, N, D); square it and sum over the last axis to get the (M, N) squared
distances (the square root changes no ranking). argmin over axis 1 gives each test point's
nearest training point, train_y of those is the prediction, and the accuracy is the mean of
prediction == test_y, a float between 0 and 1.
"""


def _tiny_embeddings(seed: int):
    """Three well-separated-ish 2-D classes: 12 training and 9 test points."""
    return clustered_points(seed, [[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]], repeats=4, tiles=3,
                            scale=0.9)


def _check_nearest_neighbour_accuracy(fn) -> str:
    from course_lib import evaluate

    if not callable(fn):
        raise Incorrect(f"nearest_neighbour_accuracy must be a function, got "
                        f"{type(fn).__name__}")
    for seed in (0, 1, 2):
        train, train_y, test, test_y = _tiny_embeddings(seed)
        want = evaluate.knn_accuracy(train, train_y, test, test_y, k=1)
        got = fn(train, train_y, test, test_y)
        if got is None:
            raise Incorrect("nearest_neighbour_accuracy returned None: did you forget the "
                            "`return`?")
        value = np.asarray(got, dtype=np.float64)
        if value.shape != ():
            raise Incorrect(f"it returns an array of shape {value.shape}, expected one number "
                            f"(the mean over the test points).")
        value = float(value)
        if np.isclose(value, want):
            continue
        order = np.random.default_rng(seed + 10).permutation(len(train))
        shuffled = fn(train[order], train_y[order], test, test_y)
        if not np.isclose(float(np.asarray(shuffled, dtype=np.float64)), value):
            raise Incorrect(f"it returns {value:.4f}, and {float(shuffled):.4f} for the same "
                            f"training points in another order: the answer depends on where a "
                            f"point sits in the array. Compare labels, not positions: the "
                            f"prediction is train_y[nearest], the label of the nearest point, "
                            f"not its index.")
        d2 = ((test[:, None, :] - train[None, :, :]) ** 2).sum(-1)
        farthest = float(np.mean(train_y[d2.argmax(1)] == test_y))
        if np.isclose(value, want * len(test)):
            raise Incorrect(f"with {len(test)} test points it returns {value:g}, the number "
                            f"labelled right; return the fraction ({want:.4f}), the mean.")
        if np.isclose(value, farthest) and not np.isclose(farthest, want):
            raise Incorrect(f"it returns {value:.4f}, the accuracy of the *farthest* training "
                            f"point: take argmin of the distances, not argmax.")
        raise Incorrect(f"on 12 training and 9 test points in 3 classes (seed {seed}) it returns "
                        f"{value:.4f}; evaluate.knn_accuracy(..., k=1) gives {want:.4f}. Each "
                        f"test point takes the label of its nearest training point.")
    return ("nearest_neighbour_accuracy agrees with evaluate.knn_accuracy(..., k=1) on 3 tiny "
            "data sets.")


q2 = Exercise("nb05.q2", "nearest_neighbour_accuracy", _check_nearest_neighbour_accuracy,
              _Q2_HINT, _Q2_SOLUTION)
