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
# # 01 · Introduction: what a Siamese network is
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/siamese-course/siamese-networks-course/blob/main/notebooks/01_introduction.ipynb)
#
# A **Siamese network** answers one question: *do these two inputs belong together?* It does so
# without a classifier. One encoder turns each input into a point in a small space, the
# *embedding*, and the **distance** between the two points is the answer: small for "same",
# large for "different". "Siamese" because the two branches are twins: the same network, with the
# same weights, applied to each input.
#
# **What you will be able to do after this notebook**
#
# - explain the parts of a Siamese network: pairs, a shared encoder, a distance, a pair loss;
# - build and train one on MNIST digit pairs with Keras 3 and `course_lib`;
# - read a 2-D embedding before and after training;
# - turn distances into same/different decisions with a threshold chosen on validation pairs,
#   and measure them (accuracy, ROC curve, AUC).
#
# **Prerequisites:** Python and NumPy; what a dense layer, a loss and gradient descent are.

# %% [markdown]
# ## What Siamese networks are for
#
# The idea goes back to Bromley et al. (1993), who verified signatures on a pen tablet: is this
# signature by the same person as the one on file? That question has the typical shape:
#
# - **Verification**: same person, same signature, same face? (a distance and a threshold)
# - **One-shot learning**: recognise a class from a single example, by comparing with it
#   (notebook 06);
# - **Retrieval**: find the items closest to a query in embedding space;
# - **Dimensionality reduction**: the embedding is a learned map of the data, which we will
#   plot in 2-D throughout the course (Hadsell, Chopra and LeCun 2006).
#
# What makes it work is that the network learns a *metric*, not a fixed set of classes: a new
# class needs no retraining, only examples to compare against.

# %%
import sys

if "google.colab" in sys.modules:  # on Colab: install course_lib from the repository
    # %pip install -q "git+https://github.com/siamese-course/siamese-networks-course"

from course_lib import config

config.describe();

# %% [markdown]
# ## Parameters
#
# Every size lives in this one cell. `config.pick(full=..., fast=...)` returns the small value
# when the environment variable `COURSE_FAST=1` is set (that is how CI runs every notebook in
# about a minute) and the full value otherwise.

# %% tags=["parameters"]
EPOCHS = config.pick(full=8, fast=2)
STEPS_PER_EPOCH = config.pick(full=250, fast=100)
BATCH_SIZE = 128          # pairs per step (half same-class, half different-class)
MARGIN = 1.0              # distance beyond which different-class pairs stop being pushed apart
LEARNING_RATE = 1e-3
EVAL_PAIRS = config.pick(full=10_000, fast=2_000)
SEED = 0

config.seed_everything(SEED)

# %% [markdown]
# ## Data: pairs of digits
#
# We use MNIST (LeCun, Cortes and Burges): 70,000 handwritten digits of 28x28 pixels, shipped in
# `data/mnist/` and checked against its published checksums. The last 10,000 training images are
# held out as a **validation** set: we will choose the decision threshold there, and only then
# look at the test set.

# %%
from course_lib import data

(x_train_all, y_train_all), (x_test, y_test) = data.load_mnist()
x_train, y_train = x_train_all[:50_000], y_train_all[:50_000]
x_val, y_val = x_train_all[50_000:], y_train_all[50_000:]
print("train", x_train.shape, "validation", x_val.shape, "test", x_test.shape)

# %% [markdown]
# A Siamese network is trained on **pairs** with a label: 1 if the two images show the same
# digit, 0 if not. `course_lib.pairs.pair_dataset` draws them on the fly as a `tf.data`
# pipeline: every batch is new, exactly half of it same-class, and batch *k* of a given seed is
# always the same. No list of all pairs is ever built (with 50,000 images there would be
# $50{,}000^2 = 2.5 \times 10^9$).

# %%
from course_lib import pairs, plots

train_pairs = pairs.pair_dataset(x_train, y_train, batch_size=BATCH_SIZE, seed=SEED)
(left, right), same = next(iter(train_pairs))
print("left", left.shape, "right", right.shape, "labels", same.shape,
      "fraction same:", float(same.numpy().mean()))
plots.show_pairs(left.numpy()[::16], right.numpy()[::16], same.numpy()[::16],
                 title="Training pairs: same digit (1) or different (0)");

# %% [markdown]
# ## The model: one encoder, two inputs
#
# The **encoder** is the three-layer perceptron of the classic MNIST Siamese tutorial: flatten
# the image, two ReLU layers of 1,024 units, and a linear layer to a **2-D embedding**, so that we
# can look at it. The **Siamese model** has two inputs; *the same encoder object* is called on
# both, so the two branches share every weight (notebook 02 proves it). On top sits the Euclidean
# distance of the two embeddings,
#
# $$d(a, b) = \sqrt{\textstyle\sum_j (f(a)_j - f(b)_j)^2 + \varepsilon},$$
#
# where the tiny $\varepsilon = 10^{-6}$ keeps the gradient finite when two embeddings coincide
# (notebook 03 shows what happens without it).

# %%
import keras

from course_lib import distribute, losses, models

strategy = distribute.get_strategy()      # a TPU, several GPUs, or this one device
with strategy.scope():
    encoder = models.mlp_encoder(input_shape=(28, 28), embedding_dim=2)
    siamese = models.siamese(encoder, head="euclidean")
    siamese.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                    loss=losses.ContrastiveLoss(margin=MARGIN))
siamese.summary()

# %% [markdown]
# The loss is the **contrastive loss** of Hadsell, Chopra and LeCun (2006). With label $y = 1$
# for a same-class pair and margin $m$:
#
# $$L(d, y) = \tfrac{1}{2}\, y\, d^2 + \tfrac{1}{2}\,(1 - y)\, \max(m - d,\ 0)^2 .$$
#
# Same-class pairs are pulled together (their loss grows with $d^2$); different-class pairs are
# pushed apart, but only until they are $m$ apart: after that they cost nothing. Notebook 03
# takes it apart term by term.
#
# ## Before training
#
# An untrained encoder already maps the images somewhere. Here is the test set in its 2-D
# embedding, coloured by digit:

# %%
import matplotlib.pyplot as plt

embed_before = encoder.predict(x_test, batch_size=2048, verbose=0)
fig, axes = plt.subplots(1, 2, figsize=(12, 5.5), layout="constrained")
plots.plot_embedding(embed_before, y_test, ax=axes[0], title="Test set, before training");

# %% [markdown]
# ## Training
#
# `fit` pulls `STEPS_PER_EPOCH` fresh batches of pairs per epoch from the endless pipeline.

# %%
import time

batch = distribute.global_batch_size(BATCH_SIZE, strategy)
train_pairs = pairs.pair_dataset(x_train, y_train, batch_size=batch, seed=SEED)
start = time.perf_counter()
history = siamese.fit(train_pairs, steps_per_epoch=STEPS_PER_EPOCH, epochs=EPOCHS, verbose=2)
train_seconds = time.perf_counter() - start
print(f"trained {EPOCHS * STEPS_PER_EPOCH * batch:,} pairs in {train_seconds:.0f} s")

# %%
embed_after = encoder.predict(x_test, batch_size=2048, verbose=0)
plots.plot_embedding(embed_after, y_test, ax=axes[1], title="Test set, after training")
fig

# %% [markdown]
# Before training the digits lie on top of each other; after training each digit has its own
# region, and the network never saw a class label, only "same" or "different". Let us measure
# what the picture suggests.
#
# ## Distances: same-class pairs against different-class pairs
#
# We draw a fixed set of test pairs (half same-class), embed every test image once, and compare
# the distances of the two kinds of pair.

# %%
from course_lib import evaluate

test_left, test_right, test_same = pairs.pair_indices(y_test, EVAL_PAIRS, seed=1)
val_left, val_right, val_same = pairs.pair_indices(y_val, EVAL_PAIRS, seed=2)
embed_val = encoder.predict(x_val, batch_size=2048, verbose=0)

test_d = evaluate.pair_distances(embed_after, test_left, test_right)
val_d = evaluate.pair_distances(embed_val, val_left, val_right)
before_d = evaluate.pair_distances(embed_before, test_left, test_right)

for name, d in [("before training", before_d), ("after training", test_d)]:
    print(f"{name:>15}: mean distance same = {d[test_same == 1].mean():.3f}, "
          f"different = {d[test_same == 0].mean():.3f}, "
          f"ratio = {d[test_same == 1].mean() / d[test_same == 0].mean():.2f}")

# %% [markdown]
# **Claim:** after training, same-class test pairs are far closer than different-class pairs
# (we check: less than a third of the distance on average), while before training the two were
# of the same order.

# %%
ratio_after = test_d[test_same == 1].mean() / test_d[test_same == 0].mean()
ratio_before = before_d[test_same == 1].mean() / before_d[test_same == 0].mean()
assert ratio_after < 1 / 3, ratio_after
assert ratio_before > 0.5, ratio_before

# %% [markdown]
# ## Verification: a threshold on the distance
#
# To *decide* "same" or "different" we need a threshold $t$: same if $d \le t$. Choosing $t$ on
# the test set would flatter the result, so `evaluate.verification_report` picks the $t$ that
# maximises accuracy on the **validation** pairs and then reports the test accuracy at that $t$,
# plus two threshold-free measures: the area under the ROC curve (AUC; 0.5 is chance, 1 is
# perfect) and the equal error rate (EER, where false accepts equal false rejects).

# %%
report = evaluate.verification_report(val_d, val_same, test_d, test_same)
print(f"threshold (chosen on validation) = {report.threshold:.3f}")
print(f"test accuracy = {report.accuracy:.3f}   ROC AUC = {report.roc_auc:.3f}   "
      f"EER = {report.eer:.3f}")
plots.plot_roc(report.fpr, report.tpr, report.roc_auc, label="Siamese MLP, 2-D",
               title="Verification on MNIST test pairs");

# %% [markdown]
# **Claim:** verification is far better than chance (50% on balanced pairs): we check at least
# 85% accuracy and an AUC of at least 0.9. With only two numbers per image, that is a lot.

# %%
assert report.accuracy >= 0.85, report.accuracy
assert report.roc_auc >= 0.9, report.roc_auc

# %%
from course_lib import results

results.record("01_introduction", verification_accuracy=report.accuracy,
               roc_auc=report.roc_auc, eer=report.eer,
               distance_ratio_same_to_different=float(ratio_after),
               train_seconds=round(train_seconds, 1))

# %% [markdown]
# ## Summary
#
# - A Siamese network is one encoder applied to two inputs, and a distance between the two
#   embeddings. It learns from pairs labelled same/different, never from class names.
# - The contrastive loss pulls same-class pairs together and pushes different-class pairs apart
#   up to a margin.
# - Even a 2-D embedding separates the ten digits well enough to verify pairs far above chance,
#   with a threshold chosen on validation data and the result measured on test data.
#
# ## Exercises
#
# 1. Give the encoder an 8-dimensional embedding (`embedding_dim=8`). Does verification accuracy
#    improve? (You can no longer plot the embedding directly.)
# 2. Change `MARGIN` to 2.0. What happens to the mean distances, and to the chosen threshold?
# 3. Choose the threshold on the *test* pairs instead and compare the accuracy. Why is that
#    number not to be trusted?
#
# <details><summary>Solution 1</summary>
#
# ```python
# with strategy.scope():
#     encoder8 = models.mlp_encoder(embedding_dim=8)
#     siamese8 = models.siamese(encoder8)
#     siamese8.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
#                      loss=losses.ContrastiveLoss(margin=MARGIN))
# siamese8.fit(train_pairs, steps_per_epoch=STEPS_PER_EPOCH, epochs=EPOCHS, verbose=2)
# e_val = encoder8.predict(x_val, verbose=0)
# e_test = encoder8.predict(x_test, verbose=0)
# r8 = evaluate.verification_report(
#     evaluate.pair_distances(e_val, val_left, val_right), val_same,
#     evaluate.pair_distances(e_test, test_left, test_right), test_same)
# print(r8.accuracy, r8.roc_auc)
# ```
# More dimensions leave more room to separate ten classes: expect accuracy to go up by a few
# points.
# </details>
#
# <details><summary>Solution 2</summary>
#
# Rebuild and recompile with `losses.ContrastiveLoss(margin=2.0)` and train again. The whole
# embedding scales up: different-class pairs are pushed to about twice the distance, and the
# chosen threshold roughly doubles. The accuracy hardly changes: the margin sets the scale of
# the embedding more than its quality (notebook 03 measures this).
# </details>
#
# <details><summary>Solution 3</summary>
#
# ```python
# t = evaluate.choose_threshold(test_d, test_same)
# print(t, evaluate.threshold_accuracy(test_d, test_same, t))
# ```
# It is at least as high as the honest number, because the threshold was tuned on the very
# pairs it is scored on: that is fitting to the test set, so it overestimates what a new pair
# would get.
# </details>
