"""The exercises of ``course_lib.exercises``: every checker accepts its reference solution and
rejects typical wrong answers with the message that says what is wrong; a placeholder is "not
attempted" and never raises, except in strict mode (how CI runs the notebooks); and the
notebook cells tagged ``exercise`` are the ones the nbval hook fills with the solutions."""

import html
import importlib
import importlib.util
import os
import pkgutil
import textwrap
import types
from pathlib import Path

import nbformat
import pytest

import course_lib.exercises as exercises
from course_lib.exercises import (
    STRICT_ENV,
    Exercise,
    ExerciseFailed,
    Folded,
    Incorrect,
    with_solution,
)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
MODULES = {m.name: importlib.import_module(f"course_lib.exercises.{m.name}")
           for m in pkgutil.iter_modules(exercises.__path__) if m.name.startswith("nb")}
EXERCISES = {ex.label: ex for module in MODULES.values() for ex in vars(module).values()
             if isinstance(ex, Exercise)}


def _define(exercise, code):
    """What ``code`` (a learner's cell above the check line) defines as the answer."""
    namespace = {}
    exec(textwrap.dedent(code), namespace)
    return namespace[exercise.answer_name]


def _fill(template, **parts):
    for key, value in parts.items():
        template = template.replace("{" + key + "}", value)
    return template


# Typical wrong answers, each with (a fragment of) the message its checker must give.
_COSINE = """
from keras import ops

def cosine_distance(a, b):
    a_len = ops.sqrt(ops.sum(ops.square(a), axis=-1, keepdims=True) + 1e-6)
    b_len = ops.sqrt(ops.sum(ops.square(b), axis=-1, keepdims=True) + 1e-6)
    return {body}
"""
_PAIRS_WITH_SELF = """
import numpy as np

def sample_pairs(y, n, seed=0):                  # notebook 01's draw_pairs, seeded
    rng = np.random.default_rng(seed)
    by_class = {c: np.flatnonzero(y == c) for c in np.unique(y)}
    left = rng.integers(0, len(y), size=n)
    same = (np.arange(n) % 2 == 0).astype("float32")
    classes = np.unique(y)
    right = np.array([rng.choice(by_class[y[i]]) if s else
                      rng.choice(by_class[rng.choice(classes[classes != y[i]])])
                      for i, s in zip(left, same)])
    return left, right, {labels}
"""
_LAYER = """
import keras
from keras import ops

{decorator}
class PairDistance(keras.layers.Layer):
    def __init__(self, epsilon={default}, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, inputs):
        a, b = inputs
        return {distance}
{config}
"""
_REGISTER = '@keras.saving.register_keras_serializable(package="test_exercises")'
_SQRT_EPS = "ops.sqrt(ops.sum(ops.square(a - b), axis=-1, keepdims=True) + self.epsilon)"
_FULL_CONFIG = """
    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
"""
_SIAMESE = """
import keras
from course_lib import layers

def build_siamese(make_encoder):
    {encoders}
    left, right = keras.Input((3,)), keras.Input((3,))
    return keras.Model([left, right], layers.EuclideanDistance()([{branches}]))
"""

_PAIR_LOSS = """
from keras import ops

def pair_loss(a, b, labels, margin=1.0, epsilon=1e-6):
    d = {distance}
    labels = ops.cast(labels, d.dtype)
    return {loss}
"""
_ROOT_EPS = "ops.sqrt(ops.sum(ops.square(a - b), axis=-1) + epsilon)"
_HALF_LOSS = ("0.5 * (labels * ops.square(d) + (1 - labels) * ops.square(ops.relu(margin - d)))")
_GRADIENT = """
import tensorflow as tf
from course_lib import losses

def dissimilar_gradient(distance_fn, point, margin=1.0):
    a = tf.Variable([point], dtype="float32")
    b = tf.constant([point], dtype="float32")
    with tf.GradientTape() as tape:
        loss = losses.contrastive_loss(tf.{label}(1), distance_fn(a, b), margin=margin)
    return {result}
"""

WRONG = {
    "nb01.q1": [
        (_fill(_COSINE, body="1 - ops.sum(a * b, axis=-1) / (a_len * b_len)")
         .replace("keepdims=True", "keepdims=False"), "shape (6,)"),
        (_fill(_COSINE, body="ops.sum(a * b, axis=-1, keepdims=True) / (a_len * b_len)"),
         "cosine *similarity*"),
        (_fill(_COSINE, body="1 - ops.sum(a * b, axis=-1, keepdims=True)"),
         "point the same way"),
        (_fill(_COSINE, body="1 - ops.matmul(a, ops.transpose(b)) / (a_len * b_len)"),
         "(6, 6) matrix"),
        ("""
         import numpy as np

         def cosine_distance(a, b):
             a, b = np.asarray(a), np.asarray(b)
             cos = (a * b).sum(-1, keepdims=True) / (np.linalg.norm(a, axis=-1, keepdims=True)
                                                     * np.linalg.norm(b, axis=-1, keepdims=True))
             return 1 - cos
         """, "symbolic tensors (keras.Input)"),
        ("""
         from keras import ops

         def cosine_distance(a, b):
             a_len = ops.norm(a, axis=-1, keepdims=True)
             b_len = ops.norm(b, axis=-1, keepdims=True)
             return 1 - ops.sum(a * b, axis=-1, keepdims=True) / (a_len * b_len)
         """, "all-zero embedding gives [nan]"),
    ],
    "nb01.q2": [
        (_fill(_PAIRS_WITH_SELF, labels="same"), "with itself"),
        (_fill(_PAIRS_WITH_SELF, labels="1 - same"), "is labelled 0 but shows classes"),
        ("""
         import numpy as np

         def sample_pairs(y, n, seed=0):
             left = np.random.randint(0, len(y), size=n)
             right = (left + 2) % len(y)
             return left, right, (y[left] == y[right]).astype("float32")
         """, "'same': half of them should be"),
    ],
    "nb02.q1": [
        (_fill(_LAYER, decorator="", default="1e-6", distance=_SQRT_EPS, config=_FULL_CONFIG),
         "is not registered"),
        (_fill(_LAYER, decorator=_REGISTER, default="1e-6", distance=_SQRT_EPS, config="""
    def get_config(self):
        return super().get_config()
"""), "without epsilon = 0.25"),
        (_fill(_LAYER, decorator=_REGISTER, default="1e-6", distance=_SQRT_EPS, config="""
    def get_config(self):
        return {"epsilon": self.epsilon}
"""), "drops the base layer's settings"),
        (_fill(_LAYER, decorator=_REGISTER, default="0.0", distance=_SQRT_EPS,
                       config=_FULL_CONFIG), "identical inputs give distance 0 but a NaN"),
        (_fill(_LAYER, decorator=_REGISTER, default="1e-6", config=_FULL_CONFIG,
                       distance="ops.sqrt(ops.sum(ops.square(a - b), axis=-1, keepdims=True))"),
         "epsilon is ignored"),
    ],
    "nb02.q2": [
        (_fill(_SIAMESE, encoders="encoder_l, encoder_r = make_encoder(), make_encoder()",
                         branches="encoder_l(left), encoder_r(right)"),
         "calls make_encoder 2 times: each call builds a new encoder"),
        (_fill(_SIAMESE, encoders="encoder = make_encoder()",
                         branches="encoder(left), encoder(left)"),
         "both branches see the same input"),
        (_fill(_SIAMESE, encoders="encoder = make_encoder()",
                         branches="encoder(left), encoder(right)")
         .replace("layers.EuclideanDistance()([encoder(left), encoder(right)])",
                  "keras.layers.Dense(1)(layers.EuclideanDistance()"
                  "([encoder(left), encoder(right)]))"),
         "weight tensor(s) beyond the encoder's"),
    ],
    "nb03.q1": [
        (_fill(_PAIR_LOSS, distance=_ROOT_EPS, loss="2 * " + _HALF_LOSS), "twice the expected"),
        (_fill(_PAIR_LOSS, distance=_ROOT_EPS,
               loss="0.5 * ((1 - labels) * ops.square(d) + labels * ops.square(ops.relu(margin"
                    " - d)))"), "reads label 1 as *dissimilar*"),
        (_fill(_PAIR_LOSS, distance=_ROOT_EPS,
               loss="0.5 * (labels * ops.square(d) + (1 - labels) * ops.square(margin - d))"),
         "still pays (m - d)^2"),
        (_fill(_PAIR_LOSS, distance="ops.sqrt(ops.sum(ops.square(a - b), axis=-1)) + epsilon",
               loss=_HALF_LOSS), "epsilon goes *under* the square root"),
        (_fill(_PAIR_LOSS, distance="ops.sqrt(ops.sum(ops.square(a - b), axis=-1))",
               loss=_HALF_LOSS), "epsilon is ignored"),
        (_fill(_PAIR_LOSS, distance=_ROOT_EPS, loss="ops.mean(" + _HALF_LOSS + ")"),
         "expected (6,)"),
    ],
    "nb03.q2": [
        (_fill(_GRADIENT, label="ones", result="tape.gradient(loss, a).numpy().ravel()"),
         "*similar* pair's loss"),
        (_fill(_GRADIENT, label="zeros", result="tape.gradient(loss, b).numpy().ravel()")
         .replace("b = tf.constant(", "b = tf.Variable("), "not b"),
        (_fill(_GRADIENT, label="zeros", result="-tape.gradient(loss, a).numpy().ravel()"),
         "sign is flipped"),
        (_fill(_GRADIENT, label="zeros", result="loss.numpy()"), "not a gradient"),
    ],
}

# notebook 05
_EMBEDDING = """
import keras

def embedding_model(classifier):
    {body}
"""
_NEAREST = """
import numpy as np

def nearest_neighbour_accuracy(train_emb, train_y, test_emb, test_y):
    d2 = ((test_emb[:, None] - train_emb[None]) ** 2).sum(-1)
    return {result}
"""

WRONG.update({
    "nb05.q1": [
        (_fill(_EMBEDDING, body="return keras.Model(classifier.input, classifier.output)"),
         "the class probabilities"),
        (_fill(_EMBEDDING, body="return keras.Model(classifier.input, "
                                "classifier.layers[-3].output)"),
         "the hidden layer before the bottleneck"),
        (_fill(_EMBEDDING, body="return keras.Sequential([keras.Input((6,)), keras.layers.Dense("
                                "5, activation='relu'), keras.layers.Dense("
                                "classifier.layers[-2].units)])"),
         "new weights of its own"),
        (_fill(_EMBEDDING, body="copy = keras.models.clone_model(classifier)\n"
                                "    copy.set_weights(classifier.get_weights())\n"
                                "    return keras.Model(copy.input, copy.layers[-2].output)"),
         "a copy, which keeps the classifier's values"),
        (_fill(_EMBEDDING, body="return classifier"), "returns the classifier itself"),
    ],
    "nb05.q2": [
        (_fill(_NEAREST, result="int((train_y[d2.argmin(1)] == test_y).sum())"),
         "the number labelled right"),
        (_fill(_NEAREST, result="float(np.mean(train_y[d2.argmax(1)] == test_y))"),
         "the accuracy of the *farthest* training point"),
        (_fill(_NEAREST, result="float(np.mean(d2.argmin(1) == test_y))"),
         "Compare labels, not positions"),
        (_fill(_NEAREST, result="train_y[d2.argmin(1)] == test_y"),
         "expected one number"),
    ],
})


# notebook 06
_NWAY = """
import keras
from keras import ops

def n_way_loss_from_distances(d2):
    n_way = d2.shape[-1]
    logits = {logits}
    target = ops.broadcast_to(ops.eye(n_way), ops.shape(logits))
    rows = keras.losses.categorical_crossentropy(target, logits, from_logits=True)
    cols = keras.losses.categorical_crossentropy(
        target, ops.transpose(logits, (0, 2, 1)), from_logits=True)
    return {result}
"""
_ONE_SHOT = """
import numpy as np

def one_shot_accuracy(query_emb, candidate_emb, answers):
    q, c = np.asarray(query_emb, float), np.asarray(candidate_emb, float)
    d2 = ((q[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    unique = (d2 == d2.min(axis=1, keepdims=True)).sum(axis=1) == 1
    return {result}
"""

WRONG.update({
    "nb06.q1": [
        (_fill(_NWAY, logits="-d2", result="ops.mean(rows)"), "one direction only"),
        (_fill(_NWAY, logits="d2", result="(ops.mean(rows) + ops.mean(cols)) / 2"),
         "minus the distances"),
        (_fill(_NWAY, logits="-ops.sqrt(d2)", result="(ops.mean(rows) + ops.mean(cols)) / 2"),
         "losses.NWayLoss gives"),
        (_fill(_NWAY, logits="-d2", result="rows"), "expected one number"),
    ],
    "nb06.q2": [
        (_fill(_ONE_SHOT, result="float(np.mean(d2.argmax(1) == answers))"), "*smallest*"),
        (_fill(_ONE_SHOT, result="float(np.mean(d2.argmin(1) == answers))"), "counts as wrong"),
        (_fill(_ONE_SHOT, result="float(np.mean((d2.argmin(1) == answers) & unique)) + 0.1"),
         "oneshot.task_accuracy gives"),
        (_fill(_ONE_SHOT, result="(d2.argmin(1) == answers) & unique"), "expected one number"),
    ],
})


# notebook 06b
_CLUSTERED = """
import numpy as np

def clustered_difference(a, b, clusters):
    d = np.asarray(a, float) - np.asarray(b, float)
    ids = np.unique(np.asarray(clusters), return_inverse=True)[1]
    sums, sizes = np.bincount(ids, weights=d), np.bincount(ids)
    g, n, mean = sums.size, d.size, d.mean()
    return {result}
"""
_HOLM = """
import numpy as np

def holm(p_values):
    p = np.asarray(p_values, float)
    order = np.argsort(p)
    m = p.size
    {body}
"""

WRONG.update({
    "nb06b.q1": [
        (_fill(_CLUSTERED, result="float(mean), float(d.std(ddof=1) / np.sqrt(n))"),
         "the one of independent tasks"),
        (_fill(_CLUSTERED, result="float(mean), float(np.sqrt(np.sum((sums - mean * sizes) ** 2)"
                                  " / n**2))"),
         "lacks the small-sample factor"),
        (_fill(_CLUSTERED, result="float(-mean), 0.05"), "first minus second"),
        (_fill(_CLUSTERED, result="float(mean)"), "two numbers"),
    ],
    "nb06b.q2": [
        (_fill(_HOLM, body="return np.minimum(1, m * p)"), "Bonferroni"),
        (_fill(_HOLM, body="return np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * "
                           "p[order]))"), "in sorted order"),
        (_fill(_HOLM, body="out = np.empty(m)\n    out[order] = (m - np.arange(m)) * p[order]\n"
                           "    return out"), "at most 1"),
        (_fill(_HOLM, body="return p[:1]"), "one adjusted p-value per comparison"),
    ],
})
# notebook 04
_ADAM = """
import numpy as np

def adam_step(theta, grad, m, v, t, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * {square}
    m_hat, v_hat = {corrected}
    return theta {sign} lr * m_hat / ({root} + epsilon), m, v
"""
_ADAM_RIGHT = dict(square="grad ** 2", corrected="m / (1 - beta_1 ** t), v / (1 - beta_2 ** t)",
                   sign="-", root="np.sqrt(v_hat)")
_ANISOTROPY = """
import numpy as np

def anisotropy(points):
    {body}
"""

WRONG.update({
    "nb04.q1": [
        (_fill(_ADAM, **{**_ADAM_RIGHT, "sign": "+"}), "moves up the gradient"),
        (_fill(_ADAM, **{**_ADAM_RIGHT, "corrected": "m, v"}), "without the bias correction"),
        (_fill(_ADAM, **{**_ADAM_RIGHT, "root": "v_hat"}), "divides by v_hat itself"),
        (_fill(_ADAM, **{**_ADAM_RIGHT, "square": "np.abs(grad)"}), "not grad**2"),
        (_fill(_ADAM, **_ADAM_RIGHT).replace(", m, v\n", "\n"), "expected a tuple"),
    ],
    "nb04.q2": [
        (_fill(_ANISOTROPY, body="eig = np.linalg.eigvalsh(np.cov(points, rowvar=False))\n"
                                 "    return float(np.sqrt(eig[-1] / eig[0]))"),
         "ratio of the ellipse's axes"),
        (_fill(_ANISOTROPY, body="eig = np.linalg.eigvalsh(np.cov(points, rowvar=False))\n"
                                 "    return float(eig[0] / eig[-1])"), "not the other way round"),
        (_fill(_ANISOTROPY, body="sd = points.std(axis=0)\n"
                                 "    return float((sd.max() / sd.min()) ** 2)"),
         "tilted by 45 degrees"),
        (_fill(_ANISOTROPY, body="eig = np.linalg.eigvalsh(points.T @ points / len(points))\n"
                                 "    return float(eig[-1] / eig[0])"), "not centred"),
        (_fill(_ANISOTROPY, body="return np.linalg.eigvalsh(np.cov(points, rowvar=False))"),
         "expected one number"),
    ],
})


# notebook 08
_RECALL = """
import numpy as np

def recall_at_1(query_emb, query_y, gallery_emb, gallery_y):
    q, g = query_emb, gallery_emb
    d2 = ((q[:, None] - g[None]) ** 2).sum(-1)
    cos = 1 - (q @ g.T) / np.outer(np.linalg.norm(q, axis=1), np.linalg.norm(g, axis=1))
    return {result}
"""
_THRESHOLD = """
import numpy as np

def threshold_at_far(distances, same, far):
    d = np.asarray(distances, float)
    different = d[~np.asarray(same, bool)]
    best = -np.inf
    for t in np.sort(d):
        if {accept} <= far:
            best = t
            {stop}
    return {result}
"""
_THRESHOLD_RIGHT = dict(accept="np.mean(different <= t)", stop="", result="float(best)")
_IDENTIFY = """
import numpy as np

def identify_threshold(unknown_to_gallery, fpir):
    nearest = {nearest}
    best = -np.inf
    for t in np.sort(nearest):
        if {accept} <= fpir:
            best = t
            {stop}
    return {result}
"""
_IDENTIFY_RIGHT = dict(nearest="np.asarray(unknown_to_gallery, float).min(axis=1)",
                       accept="np.mean(nearest <= t)", stop="", result="float(best)")

WRONG.update({
    "nb08.q1": [
        (_fill(_RECALL, result="float(np.mean(gallery_y[cos.argmin(1)] == query_y))"),
         "the cosine distance"),
        (_fill(_RECALL, result="float(np.mean(gallery_y[d2.argmax(1)] == query_y))"),
         "the recall of the *farthest* gallery item"),
        (_fill(_RECALL, result="float(np.mean(gallery_y[(q @ g.T).argmax(1)] == query_y))"),
         "the largest dot product"),
        (_fill(_RECALL, result="int((gallery_y[d2.argmin(1)] == query_y).sum())"),
         "the number answered right"),
        (_fill(_RECALL, result="float(np.mean(d2.argmin(1) == query_y))"),
         "Compare classes, not positions"),
        (_fill(_RECALL, result="gallery_y[d2.argmin(1)] == query_y"), "expected one number"),
    ],
    "nb08.q2": [
        (_fill(_THRESHOLD, **{**_THRESHOLD_RIGHT,
                              "accept": "np.mean(d[np.asarray(same, bool)] <= t)"}),
         "*same*-class pairs accepted"),
        (_fill(_THRESHOLD, **{**_THRESHOLD_RIGHT, "accept": "np.mean(different < t)"}),
         "test FAR with <=, not <"),
        (_fill(_THRESHOLD, **{**_THRESHOLD_RIGHT, "stop": "break"}),
         "Take the *largest* threshold"),
        (_fill(_THRESHOLD, **{**_THRESHOLD_RIGHT, "accept": "np.mean(d <= t)"}),
         "share of *all* pairs accepted"),
        (_fill(_THRESHOLD, **{**_THRESHOLD_RIGHT, "result": "best, far"}),
         "expected one number"),
    ],
    "nb08.q3": [
        (_fill(_IDENTIFY, **{**_IDENTIFY_RIGHT,
                             "nearest": "np.asarray(unknown_to_gallery, float).ravel()"}),
         "query-item *pairs*"),
        (_fill(_IDENTIFY, **{**_IDENTIFY_RIGHT,
                             "nearest": "np.asarray(unknown_to_gallery, float).min(axis=0)"}),
         "minimum over axis 0"),
        (_fill(_IDENTIFY, **{**_IDENTIFY_RIGHT,
                             "nearest": "np.asarray(unknown_to_gallery, float).mean(axis=1)"}),
         "*mean* distance"),
        (_fill(_IDENTIFY, **{**_IDENTIFY_RIGHT, "accept": "np.mean(nearest < t)"}),
         "count with <=, not <"),
        (_fill(_IDENTIFY, **{**_IDENTIFY_RIGHT, "stop": "break"}),
         "Take the *largest* threshold"),
        (_fill(_IDENTIFY, **{**_IDENTIFY_RIGHT, "result": "nearest"}),
         "expected one number"),
    ],
})


# notebook 07
_HARDEST = """
import numpy as np

def hardest_pairs(dist, labels):
    same = labels[:, None] == labels[None, :]
    positive = {positive}
    negative = {negative}
    hp = {hp}
    hn = {hn}
    return {result}
"""
_HARDEST_RIGHT = dict(positive="same & ~np.eye(len(labels), dtype=bool)", negative="~same",
                      hp="np.where(positive, dist, -np.inf).max(axis=1)",
                      hn="np.where(negative, dist, np.inf).min(axis=1)", result="hp, hn")
_ACTIVE = """
import numpy as np

def active_fraction(dist, labels, margin):
    same = labels[:, None] == labels[None, :]
    positive = {positive}
    valid = positive[:, :, None] & ~same[:, None, :]
    active = {active}
    return {result}
"""
_ACTIVE_RIGHT = dict(positive="same & ~np.eye(len(labels), dtype=bool)",
                     active="dist[:, :, None] - dist[:, None, :] + margin > 0",
                     result="float((active & valid).sum() / valid.sum())")

WRONG.update({
    "nb07.q1": [
        (_fill(_HARDEST, **{**_HARDEST_RIGHT, "result": "hn, hp"}), "swapped"),
        (_fill(_HARDEST, **{**_HARDEST_RIGHT,
                            "hp": "np.where(positive, dist, np.inf).min(axis=1)"}),
         "*nearest* positive"),
        (_fill(_HARDEST, **{**_HARDEST_RIGHT, "positive": "same",
                            "hp": "np.where(positive, dist, np.inf).min(axis=1)"}),
         "hardest_positive is 0 for every anchor"),
        (_fill(_HARDEST, **{**_HARDEST_RIGHT, "hp": "dist.max(axis=1)"}), "over *every* other"),
        (_fill(_HARDEST, **{**_HARDEST_RIGHT,
                            "hn": "np.where(negative, dist, -np.inf).max(axis=1)"}),
         "*farthest* negative"),
        (_fill(_HARDEST, **{**_HARDEST_RIGHT, "hn": "np.where(negative, dist, 0).min(axis=1)"}),
         "Fill them with np.inf"),
        (_fill(_HARDEST, **{**_HARDEST_RIGHT, "negative": "~np.eye(len(labels), dtype=bool)"}),
         "nearest *other image*"),
        (_fill(_HARDEST, **{**_HARDEST_RIGHT, "result": "np.stack([hp, hn])"}),
         "must return two arrays"),
        (_fill(_HARDEST, **{**_HARDEST_RIGHT, "result": "hp[:, None], hn[:, None]"}),
         "one distance per anchor"),
    ],
    "nb07.q2": [
        (_fill(_ACTIVE, **{**_ACTIVE_RIGHT, "result": "int((active & valid).sum())"}),
         "the number of active triplets"),
        (_fill(_ACTIVE, **{**_ACTIVE_RIGHT,
                           "active": "dist[:, :, None] - dist[:, None, :] + margin >= 0"}),
         "Active means loss > 0, strictly"),
        (_fill(_ACTIVE, **{**_ACTIVE_RIGHT,
                           "active": "dist[:, None, :] - dist[:, :, None] + margin > 0"}),
         "the sign is flipped"),
        (_fill(_ACTIVE, **{**_ACTIVE_RIGHT, "positive": "same"}), "its own positive"),
        (_fill(_ACTIVE, **{**_ACTIVE_RIGHT,
                           "result": "float((active & valid).sum() / len(labels) ** 3)"}),
         "divide by the number of *valid* triplets"),
        (_fill(_ACTIVE, **{**_ACTIVE_RIGHT, "result": "(active & valid).mean(axis=(1, 2))"}),
         "expected one number"),
    ],
})


_PROTO = """
import numpy as np


def nearest_prototype_answers(support, queries):
    prototypes = {prototypes}
    d2 = {d2}
    return {result}
"""
_PROTO_RIGHT = dict(prototypes="support.mean(axis=1)",
                    d2="((queries[:, None, :] - prototypes[None, :, :]) ** 2).sum(-1)",
                    result="d2.argmin(axis=1)")

_SIMPLE = """
import numpy as np


def simpleshot(features, reference):
    centred = {centred}
    return {result}
"""
_SIMPLE_RIGHT = dict(centred="features - reference.mean(axis=0)",
                     result="centred / np.linalg.norm(centred, axis=1, keepdims=True)")

WRONG.update({
    "nb09.q1": [
        (_fill(_PROTO, **{**_PROTO_RIGHT, "result": "d2.argmax(axis=1)"}), "*farthest* prototype"),
        (_fill(_PROTO, **{**_PROTO_RIGHT, "prototypes": "support",
                          "d2": "((queries[:, None, None, :] - support[None]) ** 2).sum(-1).min(-1)"}),
         "nearest *support"),
        (_fill(_PROTO, **{**_PROTO_RIGHT, "result": "d2.min(axis=1)"}), "integer class indices"),
        (_fill(_PROTO, **{**_PROTO_RIGHT, "result": "d2"}), "one class index per query"),
    ],
    "nb09.q2": [
        (_fill(_SIMPLE, **{**_SIMPLE_RIGHT, "centred": "features - features.mean(axis=0)"}),
         "mean of the features themselves"),
        (_fill(_SIMPLE, **{**_SIMPLE_RIGHT, "centred": "features"}), "does not centre"),
        (_fill(_SIMPLE, **{**_SIMPLE_RIGHT, "result": "centred"}), "does not scale the rows"),
        (_fill(_SIMPLE, **{**_SIMPLE_RIGHT,
                           "centred": "(features - reference.mean(axis=0)) / reference.std(axis=0)"}),
         "standard deviation"),
    ],
})


def test_every_notebook_module_has_exercises():
    assert {"nb01", "nb02", "nb03"} <= set(MODULES)
    for name, module in MODULES.items():
        found = [ex.label for ex in vars(module).values() if isinstance(ex, Exercise)]
        assert len(found) >= 2, f"{name} has {found}"
        assert sorted(module.__all__) == sorted(label.split(".")[1] for label in found)


@pytest.mark.parametrize("label", sorted(EXERCISES))
def test_reference_solution_passes(label, monkeypatch):
    exercise = EXERCISES[label]
    result = exercise.evaluate(_define(exercise, exercise.solution_code))
    assert result.correct, str(result)
    monkeypatch.setenv(STRICT_ENV, "1")
    exercise.check(_define(exercise, exercise.solution_code))       # strict: must not raise


def test_a_registered_layer_without_get_config_is_accepted():
    # Keras 3 records plain __init__ arguments (epsilon) by itself: notebook 02's text says
    # registering is what a loadable layer needs, and the check must agree.
    code = _fill(_LAYER, decorator=_REGISTER.replace("test_exercises", "test_no_config"),
                 default="1e-6", distance=_SQRT_EPS, config="")
    result = EXERCISES["nb02.q1"].evaluate(_define(EXERCISES["nb02.q1"], code))
    assert result.correct, str(result)


def test_every_exercise_has_wrong_answers():
    assert set(WRONG) == set(EXERCISES)


@pytest.mark.parametrize("label,index", [(label, i) for label, cases in sorted(WRONG.items())
                                         for i in range(len(cases))])
def test_typical_wrong_answer_is_rejected_with_its_message(label, index):
    code, message = WRONG[label][index]
    result = EXERCISES[label].evaluate(_define(EXERCISES[label], code))
    assert result.status == "incorrect", str(result)
    assert message in result.message, str(result)


@pytest.mark.parametrize("label", sorted(EXERCISES))
def test_placeholder_is_not_attempted_and_never_raises(label, monkeypatch, capsys):
    exercise = EXERCISES[label]
    monkeypatch.delenv(STRICT_ENV, raising=False)
    for placeholder in (..., None):
        exercise.check(placeholder)
        assert "Not attempted yet" in capsys.readouterr().out
    placeholder = _notebook_placeholder(label)
    result = exercise.evaluate(_define(exercise, placeholder))
    assert result.status == "not attempted", str(result)
    exercise.check(_define(exercise, placeholder))
    assert f"{label} · Not attempted yet" in capsys.readouterr().out
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(ExerciseFailed, match="Not attempted yet"):
        exercise.check(_define(exercise, placeholder))


def test_check_without_an_argument_reads_the_answer_by_name_from_the_caller(monkeypatch, capsys):
    exercise = EXERCISES["nb01.q2"]
    monkeypatch.delenv(STRICT_ENV, raising=False)
    namespace = {"nb01": MODULES["nb01"]}
    exec("nb01.q2.check()\n", namespace)                   # nothing defined yet
    assert "nb01.q2 · Not attempted yet" in capsys.readouterr().out
    exec(exercise.solution_code + "\nnb01.q2.check()\n", namespace)
    assert "nb01.q2 · Correct" in capsys.readouterr().out
    exec(WRONG["nb01.q2"][0][0] + "\nnb01.q2.check()\n", namespace)
    assert "nb01.q2 · Incorrect" in capsys.readouterr().out

    def inside_a_function():                              # a local of the caller counts too
        sample_pairs = _define(exercise, exercise.solution_code)
        assert callable(sample_pairs)
        exercise.check()

    inside_a_function()
    assert "nb01.q2 · Correct" in capsys.readouterr().out


def test_strict_mode_turns_a_wrong_answer_into_an_error(monkeypatch, capsys):
    exercise = EXERCISES["nb01.q2"]
    wrong = _define(exercise, WRONG["nb01.q2"][0][0])
    monkeypatch.delenv(STRICT_ENV, raising=False)
    exercise.check(wrong)                                   # a learner's run: printed only
    assert "nb01.q2 · Incorrect: pair" in capsys.readouterr().out
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(ExerciseFailed, match="with itself") as info:
        exercise.check(wrong)
    assert info.value.result.status == "incorrect"


def test_an_error_in_the_learners_code_is_reported_not_raised():
    def sample_pairs(y, n, seed=0):
        return y[n + 1000]                                  # IndexError
    result = EXERCISES["nb01.q2"].evaluate(sample_pairs)
    assert result.status == "incorrect"
    assert result.message.startswith("sample_pairs raised IndexError")


def test_hint_and_solution_print(capsys):
    exercise = EXERCISES["nb01.q1"]
    exercise.hint()
    assert capsys.readouterr().out.startswith("nb01.q1 · Hint: The cosine")
    exercise.solution()
    assert capsys.readouterr().out == f"nb01.q1 · Solution:\n\n{exercise.solution_code}\n"


def test_exercise_rejects_bad_arguments():
    with pytest.raises(ValueError, match="label must look like 'nb01.q1'"):
        Exercise("q1", "f", lambda f: "", "hint", "def f(): pass")
    with pytest.raises(TypeError, match="checker must be callable"):
        Exercise("nb01.q9", "f", "not a function", "hint", "def f(): pass")
    with pytest.raises(TypeError, match="hint must be a str"):
        Exercise("nb01.q9", "f", lambda f: "", None, "def f(): pass")
    with pytest.raises(ValueError, match="solution_code must not be empty"):
        Exercise("nb01.q9", "f", lambda f: "", "hint", " ")
    assert isinstance(Incorrect("x"), Exception)


# --- the nbval hook's substitution ------------------------------------------------------------

def test_with_solution_replaces_the_placeholder_and_keeps_the_check():
    cell = ('def sample_pairs(y, n, seed=0):\n'
            '    raise NotImplementedError("your code here")\n\n\n'
            'nb01.q2.check(sample_pairs)\n')
    out = with_solution(cell, MODULES)
    assert "your code here" not in out
    assert EXERCISES["nb01.q2"].solution_code in out
    assert out.rstrip().endswith("nb01.q2.check(sample_pairs)")


@pytest.mark.parametrize("source,message", [
    ("x = 1\n", "must end with one line"),
    ("nb01.q1.check(f)\nx = 1\n", "must end with one line"),
    ("nb01.q1.check(f)\nnb01.q2.check(g)\n", "has 2 check lines"),
    ("nb01.q7.check(f)\n", "nb01.q7, which is not an exercise"),
    ("nb99.q1.check(f)\n", "nb99.q1, which is not an exercise"),
])
def test_with_solution_rejects_cells_it_cannot_fill(source, message):
    with pytest.raises(ValueError, match=message):
        with_solution(source, MODULES)
    with pytest.raises(TypeError, match="source must be a str"):
        with_solution(None, MODULES)


def _exercise_cells():
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", ()):
                yield path.stem, cell


def _notebook_placeholder(label):
    """The learner's cell for ``label`` in the stored notebook, without its check line and the
    ``hint()`` / ``solution()`` calls above it."""
    for _, cell in _exercise_cells():
        lines = cell.source.rstrip().splitlines()
        if lines[-1].startswith(f"{label}.check("):
            assert lines[-3:-1] == [f"{label}.hint()", f"{label}.solution()"], lines[-3:]
            return "\n".join(lines[:-3])
    raise AssertionError(f"no notebook cell is tagged 'exercise' and checks {label}")


def test_every_exercise_is_in_its_notebook_once_with_a_placeholder():
    seen = []
    for stem, cell in _exercise_cells():
        label = cell.source.rstrip().splitlines()[-1].split(".check(")[0]
        # the learner's cell checks by name, with no argument (what the course asks for)
        assert cell.source.rstrip().splitlines()[-1] == f"{label}.check()", (stem, label)
        assert label.startswith(f"nb{stem.split('_')[0]}."), f"{stem} checks {label}"
        assert 'raise NotImplementedError("your code here")' in cell.source, (stem, label)
        seen.append(label)
    assert sorted(seen) == sorted(EXERCISES)


@pytest.mark.parametrize("label", sorted(EXERCISES))
def test_the_substituted_notebook_cell_runs_and_passes(label, monkeypatch, capsys):
    # What nbval runs in CI: the stored cell with the solution in place of the placeholder.
    cell = _notebook_placeholder(label) + f"\n{label}.check(_)\n"
    for _, stored in _exercise_cells():
        if stored.source.rstrip().splitlines()[-1].startswith(f"{label}.check("):
            cell = stored.source
    monkeypatch.setenv(STRICT_ENV, "1")
    exec(with_solution(cell, MODULES), dict(MODULES))
    assert f"{label} · Correct" in capsys.readouterr().out


def test_the_nbval_hook_fills_exercise_cells_only(monkeypatch):
    spec = importlib.util.spec_from_file_location("notebooks_conftest", NOTEBOOKS / "conftest.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    placeholder = ('def sample_pairs(y, n, seed=0):\n'
                   '    raise NotImplementedError("your code here")\n\n\n'
                   'nb01.q2.check(sample_pairs)')
    tagged = nbformat.v4.new_code_cell(placeholder, metadata={"tags": ["exercise"]})
    plain = nbformat.v4.new_code_cell(placeholder)
    items = [types.SimpleNamespace(cell=c, options={"check": True}, nodeid=str(i))
             for i, c in enumerate([tagged, plain])] + [types.SimpleNamespace(nodeid="unit")]
    monkeypatch.delenv(STRICT_ENV, raising=False)
    hook.pytest_collection_modifyitems(None, items)
    assert items[0].cell.source == with_solution(placeholder, MODULES)
    assert items[0].options["check"] is False
    assert tagged.source == placeholder                     # the notebook's own cell is kept
    assert items[1].cell is plain and items[1].options["check"] is True
    assert os.environ[STRICT_ENV] == "1"
    monkeypatch.delenv(STRICT_ENV)

    broken = nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["exercise"]})
    with pytest.raises(pytest.UsageError, match="must end with one line"):
        hook.pytest_collection_modifyitems(
            None, [types.SimpleNamespace(cell=broken, options={}, nodeid="x")])


def test_hint_and_solution_fold_in_a_notebook():
    exercise = EXERCISES["nb01.q1"]
    folded = Folded("nb01.q1 · Solution", exercise.solution_code, code=True)
    page = folded._repr_html_()
    assert page.startswith("<details><summary>nb01.q1 · Solution (click to open)</summary><pre>")
    assert page.endswith("</pre></details>")
    assert html.escape(exercise.solution_code) in page          # the code, escaped, inside
    hint = Folded("nb01.q1 · Hint", "one <b>\n\ntwo")._repr_html_()
    assert "<p>one &lt;b&gt;</p><p>two</p>" in hint              # paragraphs, text escaped
