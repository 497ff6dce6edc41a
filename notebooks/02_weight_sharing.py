# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Weight sharing: one encoder, two inputs
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/siamese-course/siamese-networks-course/blob/main/notebooks/02_weight_sharing.ipynb)
#
# The two branches of a Siamese network are "twins" because they share their weights. In Keras
# that takes no special machinery: call one model on two inputs. This notebook proves that this
# really is one set of weights, shows what the gradient of a shared weight is, and then breaks the
# symmetry on purpose: two encoders with **distinct weights**, and finally two **different
# architectures** for two different kinds of input that must meet in one embedding space.
#
# **What you will be able to do after this notebook**
#
# - show from the variables themselves that a functional Siamese model shares its encoder;
# - explain why the gradient of a shared weight is the sum of the gradients of the two branches;
# - translate TensorFlow 1's `scope.reuse_variables()` idiom into Keras 3, and avoid its Keras 3
#   counterpart: an encoder-building function called once per branch makes two encoders;
# - build a *pseudo-siamese* network for two kinds of input and measure it by cross-domain
#   retrieval.
#
# **Prerequisites:** notebook 01.

# %%
import sys

if "google.colab" in sys.modules:  # on Colab: install course_lib from the repository
    # %pip install -q "git+https://github.com/siamese-course/siamese-networks-course"

from course_lib import config

config.describe();

# %% tags=["parameters"]
EPOCHS = config.pick(full=10, fast=2)
STEPS_PER_EPOCH = config.pick(full=200, fast=150)
BATCH_SIZE = 128
EMBEDDING_DIM = 2         # two dimensions, so that we can look at the shared space
MARGIN = 1.0
SEED = 0

config.seed_everything(SEED)

# %% [markdown]
# ## One encoder called twice is one set of weights
#
# A Keras `Model` is a layer like any other: calling it on a new input creates a new *node* in the
# model's graph (a record of that one call: which inputs went in, which outputs came out) but no
# new weights. `models.siamese(encoder)` does exactly this: two `Input`s, the same
# `encoder` object applied to each, and a distance layer (which has no weights). A small encoder
# keeps the printout short.

# %%
from course_lib import models

encoder = models.mlp_encoder(input_shape=(28, 28), embedding_dim=EMBEDDING_DIM, hidden=64)
siamese = models.siamese(encoder)
siamese.summary(print_fn=print)   # print_fn=print: plain text, no terminal colour codes

encoder_ids = {id(v) for v in encoder.trainable_variables}
siamese_ids = {id(v) for v in siamese.trainable_variables}
print(f"encoder: {len(encoder_ids)} variables, {encoder.count_params():,} parameters")
print(f"siamese: {len(siamese_ids)} variables, {siamese.count_params():,} parameters")
print("the very same Python objects:", encoder_ids == siamese_ids)

# %% [markdown]
# **Claim:** the Siamese model's trainable variables are exactly the encoder's, the same
# objects, so it has exactly as many parameters as one encoder.

# %%
assert siamese_ids == encoder_ids
assert siamese.count_params() == encoder.count_params()

# %% [markdown]
# ## The gradient of a shared weight is a sum
#
# If the loss is $L(f_W(a), f_W(b))$ with one weight $W$ used in both branches, the chain rule
# adds one term per use:
#
# $$\frac{\partial L}{\partial W} = \underbrace{\frac{\partial L}{\partial f(a)}\frac{\partial f_W(a)}{\partial W}}_{\text{left branch}} + \underbrace{\frac{\partial L}{\partial f(b)}\frac{\partial f_W(b)}{\partial W}}_{\text{right branch}} .$$
#
# We can check this with `tf.GradientTape` (notebook 01): it records the operations run inside
# its `with` block, and `tape.gradient(loss, variables)` returns the gradient of the loss with
# respect to each variable. `tf.stop_gradient(x)` passes `x` on unchanged but tells the tape to
# treat it as a constant. So we compute the gradient once through the whole model, then once
# per branch, with the other branch's embeddings frozen by `tf.stop_gradient`.

# %%
import numpy as np
import tensorflow as tf

from course_lib import data

(x_train, y_train), (x_test, y_test) = data.load_mnist()
a, b = x_train[:32], x_train[32:64]

with tf.GradientTape() as tape:
    loss = tf.reduce_mean(tf.square(siamese([a, b])))
grad_shared = tape.gradient(loss, encoder.trainable_variables)

emb_a, emb_b = encoder(a), encoder(b)
with tf.GradientTape() as tape:        # only the left branch may change
    loss_left = tf.reduce_mean(tf.reduce_sum(tf.square(encoder(a) - tf.stop_gradient(emb_b)), -1))
grad_left = tape.gradient(loss_left, encoder.trainable_variables)
with tf.GradientTape() as tape:        # only the right branch may change
    loss_right = tf.reduce_mean(tf.reduce_sum(tf.square(tf.stop_gradient(emb_a) - encoder(b)), -1))
grad_right = tape.gradient(loss_right, encoder.trainable_variables)

gaps = [float(tf.reduce_max(tf.abs(g - (gl + gr))))
        for g, gl, gr in zip(grad_shared, grad_left, grad_right)]
sizes = [float(tf.reduce_max(tf.abs(g))) for g in grad_shared]
print("largest |gradient| per variable:   ", np.round(sizes, 5))
print("largest |shared - (left + right)|: ", np.array(gaps))

# %% [markdown]
# (The loss here is the mean squared distance, so that both formulations have the same gradient:
# the distance layer returns $d = \sqrt{s + \varepsilon}$ with $s = \lVert f(a) - f(b) \rVert^2$,
# so $d^2 = s + \varepsilon$, and the constant $\varepsilon$ adds nothing to the gradient.)
#
# One gradient is exactly zero: the last variable's, the bias of the output layer. That is not
# a bug but a property of every distance computed from the difference $f(a) - f(b)$ (any norm)
# **when the embedding layer is linear**, so that its bias is added after the last
# nonlinearity: the bias adds the same vector $c$ to both embeddings, and
# $(f(a) + c) - (f(b) + c) = f(a) - f(b)$. The loss cannot change when $c$ does, so its
# gradient with respect to $c$ is zero: the left branch pulls the bias one way and the right
# branch pulls it exactly the other way. With such a distance and a linear embedding layer the
# output bias never learns. Notebook 06's encoder ends in a sigmoid layer instead: there the
# bias goes through the sigmoid before the difference is taken, no longer cancels, and gets a
# gradient. It does not hold for a distance that looks at each embedding's direction: the cosine
# distance, or any distance between L2-normalised embeddings (notebooks 05 and 07), changes when
# both embeddings move by the same $c$, and there the output bias gets a gradient.
#
# **Claim:** for every variable, the gradient through the Siamese model equals the sum of the two
# branch gradients, up to float32 rounding, and both branches contribute; for the output bias the
# two contributions cancel exactly and the gradient is zero.

# %%
branches = list(zip(grad_shared, grad_left, grad_right))
assert len(branches) == len(encoder.trainable_variables) == 6
assert all(np.allclose(g.numpy(), (gl + gr).numpy(), rtol=1e-4, atol=1e-6) for g, gl, gr in branches)
assert all(float(tf.reduce_max(tf.abs(gl))) > 0 and float(tf.reduce_max(tf.abs(gr))) > 0
           for _, gl, gr in branches)
assert encoder.trainable_variables[-1].path.endswith("embedding/bias")
assert np.all(grad_shared[-1].numpy() == 0)
np.testing.assert_allclose(grad_left[-1].numpy(), -grad_right[-1].numpy(), rtol=1e-6)

# %% [markdown]
# ## From TensorFlow 1 to the Keras 3 trap
#
# In TensorFlow 1's `tf.get_variable`/`tf.variable_scope` style, a layer did not own its
# weights: `tf.get_variable` looked them up by *name* in a global store, and the second branch was built inside `scope.reuse_variables()`; forgetting
# that call made `tf.get_variable` raise a `ValueError` (the variable already exists). In Keras 3
# the weights belong to the layer object, so *sharing is calling the same object*. The trap is
# now a silent one: a function that *builds* an encoder, called once per branch, makes two.
#
# **Claim:** calling an encoder-building function once per branch gives a model with twice the
# parameters of the Siamese model that calls one encoder twice, and no error.

# %%
import keras

from course_lib import layers


def make_encoder():
    # An encoder-building function: every call makes a new model with new weights.
    return keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                             keras.layers.Dense(64, activation="relu"),
                             keras.layers.Dense(EMBEDDING_DIM)])


left_in, right_in = keras.Input((28, 28)), keras.Input((28, 28))
one = make_encoder()
twins = keras.Model([left_in, right_in], layers.EuclideanDistance()([one(left_in), one(right_in)]))
two = keras.Model([left_in, right_in],
                  layers.EuclideanDistance()([make_encoder()(left_in), make_encoder()(right_in)]))
print(f"one encoder called twice: {twins.count_params():,} parameters; "
      f"the function called twice: {two.count_params():,}")
assert two.count_params() == 2 * twins.count_params()

# %% [markdown]
# ## Distinct weights: a pseudo-siamese network
#
# Sometimes two encoders are what we want: the two inputs should **not** be encoded the same
# way (a question and an answer, a sketch and a photo, a query and a document). Then each branch
# gets its own encoder: the model `two` above, built by accident, is such a network, and
# `models.pseudo_siamese(encoder_a, encoder_b)` builds one on purpose from two encoders (the
# diagram: two towers $f$ and $g$, each with its own weights). Even with identical
# architectures, that doubles the parameters, and it gives up a property we got for free: a
# shared encoder makes the distance **symmetric**, $d(a, b) = d(b, a)$.

# %%
from course_lib import plots

plots.plot_siamese_architecture(shared=False);

# %%
left_encoder = models.mlp_encoder(embedding_dim=EMBEDDING_DIM, hidden=64, name="left_encoder")
right_encoder = models.mlp_encoder(embedding_dim=EMBEDDING_DIM, hidden=64, name="right_encoder")
distinct = models.pseudo_siamese(left_encoder, right_encoder)
print(f"shared weights:   {siamese.count_params():,} parameters")
print(f"distinct weights: {distinct.count_params():,} parameters")

def asymmetry(model):
    # Largest |d(a, b) - d(b, a)| over a batch of pairs.
    return float(np.max(np.abs(model.predict([a, b], verbose=0) - model.predict([b, a], verbose=0))))

print(f"asymmetry, shared: {asymmetry(siamese):.2e}   distinct: {asymmetry(distinct):.2e}")

# %% [markdown]
# **Claim:** distinct weights mean twice the parameters, and the distance is no longer symmetric
# (a shared encoder gives exactly $d(a,b) = d(b,a)$).

# %%
assert distinct.count_params() == 2 * siamese.count_params()
assert {id(v) for v in left_encoder.trainable_variables}.isdisjoint(
    {id(v) for v in right_encoder.trainable_variables})
assert asymmetry(siamese) == 0.0
assert asymmetry(distinct) > 1e-3

# %% [markdown]
# ## Two kinds of input: 28x28 digits meet 8x8 digits
#
# Now a case where sharing is impossible: the inputs do not even have the same shape. MNIST
# digits are 28x28 grey images; scikit-learn's `load_digits` (a copy of the test part of the UCI
# "Optical Recognition of Handwritten Digits" data, Alpaydin and Kaynak 1998) are 8x8 images
# with 17 grey levels, written by other people and scanned another way. We give each kind its
# own encoder, with its own architecture: a small convolutional network (CNN) for the 28x28
# images, `models.small_cnn_encoder` (two blocks of 3x3 convolutions and max-pooling, then a
# dense layer), and a small perceptron for the 8x8 ones, both ending in the same 2-D space. Training pairs are *cross-domain*: one MNIST digit and one 8x8 digit, labelled 1 if
# they show the same number (`pairs.cross_pair_dataset`). Of the 8x8 digits, 500 are held out
# as retrieval queries.
#
# The lines with `strategy` prepare for several GPUs, and change nothing here. A `tf.distribute`
# strategy decides on which devices a model's variables live and how each batch is split
# between them: `distribute.get_strategy()` returns one that uses every GPU present, and on
# this CPU TensorFlow's default strategy, one device. Models built inside `strategy.scope()`
# get their variables placed by it, and with several devices each step takes a **global
# batch**, `BATCH_SIZE` pairs per device, which `distribute.global_batch_size` computes
# (docs/scaling.md).

# %%
from course_lib import distribute, pairs, plots

x_small, y_small = data.load_digits_8x8()
n_queries = 500                                    # held-out 8x8 digits, for retrieval
order = np.random.default_rng(SEED).permutation(len(y_small))
small_train, small_test = order[:len(y_small) - n_queries], order[len(y_small) - n_queries:]
print(f"MNIST {x_train.shape}; {len(y_small):,} 8x8 digits: train {small_train.shape}, "
      f"test {small_test.shape}")

strategy = distribute.get_strategy()
cross_pairs = pairs.cross_pair_dataset(x_train, y_train, x_small[small_train],
                                       y_small[small_train], seed=SEED, repeat=True,
                                       batch_size=distribute.global_batch_size(BATCH_SIZE,
                                                                               strategy))
(big, small), same = next(iter(cross_pairs))
# the first half of a batch is its same-class pairs: show 4 of each half, chosen at random
half = BATCH_SIZE // 2
shown = np.sort(np.random.default_rng(SEED).choice(half, 4, replace=False))
shown = np.concatenate([shown, half + shown])
plots.show_pairs(big.numpy()[shown], small.numpy()[shown], same.numpy()[shown],
                 title="Cross-domain pairs: a 28x28 MNIST digit and an 8x8 digit");

# %%
from course_lib import losses

keras.utils.set_random_seed(SEED)     # the same untrained encoders, whatever ran above
with strategy.scope():
    mnist_encoder = models.small_cnn_encoder((28, 28), embedding_dim=EMBEDDING_DIM,
                                             name="mnist_encoder")
    small_encoder = models.mlp_encoder((8, 8), embedding_dim=EMBEDDING_DIM, hidden=128,
                                       name="digits8x8_encoder")
    cross = models.pseudo_siamese(mnist_encoder, small_encoder)
    cross.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=losses.ContrastiveLoss(margin=MARGIN))
print(f"28x28 encoder: {mnist_encoder.count_params():,} parameters, "
      f"8x8 encoder: {small_encoder.count_params():,}")

# %% [markdown]
# We measure the result by **cross-domain retrieval**: for each held-out 8x8 digit, find the
# nearest MNIST test digit in the shared space; is it the same number? The share of queries for
# which it is, is **recall@1** (`evaluate.recall_at_k` with `k=1`: recall@k asks whether a
# same-class item is among the k nearest). Chance is the share of the query's class among the
# MNIST test digits, about 10%. First the untrained pair of encoders:

# %%
from course_lib import evaluate


def cross_retrieval():
    # For each held-out 8x8 digit: is its nearest MNIST test embedding the same digit?
    queries = small_encoder.predict(x_small[small_test], verbose=0)
    gallery = mnist_encoder.predict(x_test, batch_size=2048, verbose=0)
    return evaluate.recall_at_k(queries, y_small[small_test], gallery, y_test, k=1), queries, gallery

chance = float(np.mean([np.mean(y_test == c) for c in y_small[small_test]]))
retrieval_before, queries_before, gallery_before = cross_retrieval()
print(f"chance {chance:.3f}, untrained encoders {retrieval_before:.3f}")

nearest = np.argmin(((queries_before[:, None, :] - gallery_before[None]) ** 2).sum(-1), axis=1)
answers = np.bincount(y_test[nearest], minlength=10)
print(f"untrained: {len(np.unique(nearest))} distinct MNIST images are the nearest neighbour of "
      f"all {len(nearest)} queries; answers per digit: {answers.tolist()}")
print("centre of the queries:", queries_before.mean(0).round(2),
      " centre of the MNIST digits:", gallery_before.mean(0).round(2),
      " their spread:", gallery_before.std(0).round(2))

# %% [markdown]
# The untrained score is not a measurement of anything. The two untrained encoders place their
# digits in unrelated regions of the plane: the queries sit to one side of the MNIST cloud, so
# the MNIST images on the edge facing them are the nearest neighbours of most queries. The 500
# answers are not 500 independent guesses but mostly the same digit repeated. If the answer
# has nothing to do with the query's digit, the expected score is
# $\sum_c p_{\text{answer}}(c)\, p_{\text{query}}(c)$, with $p_{\text{answer}}(c)$ the share of
# answers that are digit $c$ and $p_{\text{query}}(c)$ the share of queries that are: below 10%
# or above it by the luck of which digits the answers are.
#
# **Claim:** untrained, one digit answers more than half of the queries, and the untrained score
# is what answers unrelated to the query's digit would give: within 3 binomial standard
# deviations of $\sum_c p_{\text{answer}}(c)\, p_{\text{query}}(c)$.

# %%
p_answer = answers / len(nearest)
p_query = np.bincount(y_small[small_test], minlength=10) / len(small_test)
unrelated = float(np.sum(p_answer * p_query))
binomial_sd = float(np.sqrt(unrelated * (1 - unrelated) / len(nearest)))
print(f"the most frequent answer: {answers.max()} of {len(nearest)} queries")
print(f"untrained score {retrieval_before:.3f}; answers unrelated to the query's digit would give "
      f"{unrelated:.3f} (binomial standard deviation {binomial_sd:.3f}): "
      f"{abs(retrieval_before - unrelated) / binomial_sd:.1f} deviations apart, check: at most 3")
assert answers.max() > len(nearest) / 2, answers
assert abs(retrieval_before - unrelated) <= 3 * binomial_sd, (retrieval_before, unrelated)

# %%
import time

start = time.perf_counter()
cross.fit(cross_pairs, steps_per_epoch=STEPS_PER_EPOCH, epochs=EPOCHS, verbose=2)
train_seconds = time.perf_counter() - start
retrieval, queries, gallery = cross_retrieval()
print(f"cross-domain retrieval after training: {retrieval:.3f} (chance {chance:.3f})")

# %%
import matplotlib.pyplot as plt

# sharex, sharey: both panels on the same axes, so that positions compare
fig, axes = plt.subplots(1, 2, figsize=(12, 5.5), layout="constrained", sharex=True, sharey=True)
plots.plot_embedding(gallery, y_test, ax=axes[0], title="MNIST test digits (28x28 encoder)")
plots.plot_embedding(queries, y_small[small_test], ax=axes[1],
                     title="Held-out 8x8 digits (8x8 encoder)")
for ax in axes:
    ax.set_aspect("equal", adjustable="box")   # shared axes keep their limits; the box adapts
fig.suptitle("Two encoders, one embedding space");

# %% [markdown]
# Two networks that never share a weight put the same digit in the same place (both panels have
# the same axes), because the only thing they were trained on was the distance *between* their
# outputs.
#
# **Claim:** cross-domain retrieval is far above chance: 9.4x chance in the stored run, and we
# check at least 8x.

# %%
need = config.pick(full=8, fast=6)        # fast mode trains less, so it checks less
print(f"retrieval after training: {retrieval / chance:.1f}x chance; check: at least {need}x")
assert retrieval >= need * chance, (retrieval, chance)
assert retrieval > retrieval_before

# %%
from course_lib import results

results.record("02_weight_sharing", cross_domain_retrieval_at_1=retrieval,
               chance=chance, untrained_retrieval_at_1=retrieval_before,
               train_seconds=round(train_seconds, 1))

# %% [markdown]
# ## Summary
#
# - Calling one Keras model on two inputs shares every weight: same variable objects, one
#   parameter count. No scopes, no names, no `reuse_variables()`; but calling an
#   encoder-*building* function once per branch silently makes two encoders.
# - The gradient of a shared weight is the sum of what each branch contributes; for a distance
#   of $f(a) - f(b)$ and a linear embedding layer, the two contributions to the output bias
#   cancel exactly.
# - Distinct encoders (pseudo-siamese) cost twice the parameters and lose the symmetry
#   $d(a,b) = d(b,a)$, but they can read inputs of different kinds, even different shapes, and
#   still learn one common space.
#
# ## Further reading
#
# - Bromley, Guyon, LeCun, Säckinger and Shah (1993), *Signature verification using a "Siamese"
#   time delay neural network*: the two branches with shared weights, and the name.
# - Chopra, Hadsell and LeCun (2005), *Learning a similarity metric discriminatively, with
#   application to face verification*: a shared convolutional encoder trained on pairs.
# - Hadsell, Chopra and LeCun (2006), *Dimensionality reduction by learning an invariant
#   mapping*: the contrastive loss used here.
# - Zagoruyko and Komodakis (2015), *Learning to compare image patches via convolutional neural
#   networks*: shared ("siamese") against unshared ("pseudo-siamese") branches, compared.

# %% [markdown]
# ## Exercises
#
# In these exercises you write the code, and a check tells you whether it is right. Each
# exercise cell starts with a placeholder, `raise NotImplementedError("your code here")`:
# replace it with your code and run the cell. `nb02.qK.check()` finds what you defined by its name and prints *Correct*, or
# what is wrong and where the course explains it. In each exercise cell, `nb02.qK.hint()` and
# `nb02.qK.solution()` show a hint and one way to do it, folded: click to open them when you
# want them. A check runs your code on a few tiny inputs, in a second or two.

# %%
from course_lib.exercises import nb02

# %% [markdown]
# ### Exercise 1: a `PairDistance` that survives a file
#
# Notebook 01's hand-built
# `PairDistance` layer could not be loaded back from a `.keras` file: Keras stores a layer by
# the name of its class and rebuilds it from its config, and it did not know the class. Write
# `PairDistance` again, the Euclidean distance $\sqrt{\sum_j (a_j - b_j)^2 + \varepsilon}$ of
# two batches of embeddings, shape (batch, 1), with `epsilon` an argument, so that it loads:
# registered with Keras, and with `epsilon` in its config. Registering is the part you must
# add; Keras 3 records a plain argument such as `epsilon` in the config by itself, and writing
# `get_config` (as the solution does) is needed only for arguments that are not plain values.
# The check saves a small model that uses your layer to a temporary `.keras` file and loads it
# back.

# %% tags=["exercise"]
import keras


class PairDistance(keras.layers.Layer):
    """Euclidean distance sqrt(sum((a - b)^2) + epsilon) of two embeddings, shape (batch, 1)."""

    def __init__(self, epsilon=1e-6, **kwargs):
        raise NotImplementedError("your code here")


# Stuck? These open folded: a hint, then one way to do it.
nb02.q1.hint()
nb02.q1.solution()
nb02.q1.check()

# %% [markdown]
# ### Exercise 2: one encoder, however it is built
#
# `models.mlp_encoder` is an encoder-*building*
# function: every call makes a new encoder, with new weights. Calling it once for each branch
# gives two encoders, a pseudo-siamese network by accident; calling *one* encoder twice gives
# twins. Write `build_siamese(make_encoder)`, which takes such a function (called with no
# arguments) and returns a two-input model `[left, right]` -> distance whose branches share one
# encoder, with the Euclidean distance of the two embeddings on top
# (`layers.EuclideanDistance`, or your `PairDistance`). The two `keras.Input`s take the shape
# of one encoder input, `encoder.input_shape[1:]` (without the batch axis). The check hands it
# a function that builds a tiny encoder, and counts the calls.

# %% tags=["exercise"]
def build_siamese(make_encoder):
    """A Siamese model [left, right] -> distance whose two branches share one encoder built
    by make_encoder()."""
    raise NotImplementedError("your code here")


# Stuck? These open folded: a hint, then one way to do it.
nb02.q2.hint()
nb02.q2.solution()
nb02.q2.check()

# %% [markdown]
# ### More to try
#
# 1. Train the cross-domain model with an 8-D embedding (`EMBEDDING_DIM = 8`). How does retrieval
#    change?
# 2. Can the 8x8 digits use a *shared* encoder with MNIST? Upsample them to 28x28
#    (`tf.image.resize`) and try `models.siamese` on the mixed pairs.
#
# <details><summary>Solution 1</summary>
#
# Set `EMBEDDING_DIM = 8` in the parameters cell and rerun the notebook (the plot cell then
# needs a 2-D projection, e.g. scikit-learn's `PCA(2)`, or skip it). More dimensions give the
# ten classes more room, so one would expect retrieval to improve: measure it, over more than
# one seed.
# </details>
#
# <details><summary>Solution 2</summary>
#
# ```python
# small_up = tf.image.resize(x_small[..., None], (28, 28)).numpy()[..., 0]
# shared = models.siamese(models.small_cnn_encoder())
# shared.compile(optimizer="adam", loss=losses.ContrastiveLoss())
# shared.fit(pairs.cross_pair_dataset(x_train, y_train, small_up[small_train],
#                                     y_small[small_train], repeat=True),  # endless: 2,000 steps
#            steps_per_epoch=STEPS_PER_EPOCH, epochs=EPOCHS, verbose=2)
# ```
# It works once the shapes agree, but one encoder must now serve two different image styles:
# compare its retrieval with the two-encoder model.
# </details>
