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
# # 05 · CNN classifier vs Siamese network: two ways to get a 2-D embedding
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/siamese-course/siamese-networks-course/blob/main/notebooks/05_cnn_vs_siamese.ipynb)
#
# A classifier learns an embedding too: whatever its last hidden layer computes. Squeeze that
# layer to two numbers and you can plot it, exactly like a Siamese embedding. This notebook
# trains a digit classifier with such a 2-D **bottleneck** (a layer much narrower than the ones
# around it) next to a Siamese network with the same convolutional trunk, watches both
# embeddings as they train, and asks what "a better embedding" means.
#
# **What you will be able to do after this notebook**
#
# - build a classifier with a 2-D linear bottleneck and a Siamese network on the same trunk, and
#   record their embeddings during training with a Keras callback;
# - explain why a softmax classifier spreads its 2-D features out as spokes from the origin,
#   and check the reason on a trained model;
# - read an embedding three ways: by Euclidean distance, by angle, and by a linear classifier;
# - compare two models fairly: the same test images, the same number of training images, and a
#   baseline trained until it stops improving;
# - explain why a step on pairs costs less than twice a step on single images.
#
# **Prerequisites:** notebook 01 (Siamese network, contrastive loss, balanced pairs). The
# spokes of a softmax embedding are described by Wen et al. 2016 (section 3.1, Figure 2) and
# explained by Wang et al. 2017 (NormFace, section 3.1, Proposition 1).

# %%
import sys

if "google.colab" in sys.modules:  # on Colab: install course_lib from the repository
    # %pip install -q "git+https://github.com/siamese-course/siamese-networks-course"

from course_lib import config

config.describe();

# %% [markdown]
# ## Parameters
#
# An **epoch** here is `STEPS_PER_EPOCH` steps of `BATCH_SIZE` examples, not a full pass over
# MNIST: single images for the classifier, *pairs* for the Siamese network. A pair holds two
# images, so the Siamese network sees twice the images per step. A third model, the
# **control**, is the same Siamese network fed `BATCH_SIZE // 2` pairs per step: exactly the
# classifier's number of images. `HOLDOUT` training images are kept out of training to tell
# when the classifier stops improving.

# %% tags=["parameters"]
EPOCHS = config.pick(full=12, fast=4)
SNAPSHOT_EPOCHS = config.pick(full=[0, 1, 3, 6, 12], fast=[0, 1, 4])
STEPS_PER_EPOCH = config.pick(full=150, fast=100)
BATCH_SIZE = 128            # images per step for the classifier, pairs per step for the Siamese
FILTERS = (16, 32)          # the shared conv trunk: two conv + pool blocks ...
DENSE = 64                  # ... one hidden dense layer, then the 2-D linear embedding
MARGIN = 1.0
LEARNING_RATE = 4e-3        # at 1e-3 the classifier needs about 24 epochs to level off
PROBE = config.pick(full=5_000, fast=2_000)   # train and test images embedded at each snapshot
HOLDOUT = 5_000             # training images never trained on: the classifier's validation set
TIMING_ROUNDS = 30          # interleaved training steps per model for the timing section
SEED = 0

config.seed_everything(SEED)

# %% [markdown]
# ## Data
#
# MNIST's 60,000 training images, minus the last `HOLDOUT`, are for training. At every
# snapshot we embed `PROBE` training images (the neighbours of the kNN reader and the training
# set of the linear one, both defined below) and the first `PROBE` test images (what we plot
# and score).

# %%
import numpy as np

from course_lib import data

(x_train, y_train), (x_test, y_test) = data.load_mnist()
x_fit, y_fit = x_train[:-HOLDOUT], y_train[:-HOLDOUT]
x_val, y_val = x_train[-HOLDOUT:], y_train[-HOLDOUT:]
x_probe = np.concatenate([x_train[:PROBE], x_test[:PROBE]])
train_lab, test_lab = y_train[:PROBE], y_test[:PROBE]
print("training", x_fit.shape, "held out", x_val.shape, "test", x_test.shape,
      "probe", x_probe.shape)

# %% [markdown]
# ## Three models, one trunk
#
# All three start from `models.small_cnn_encoder`: two blocks of 3x3 convolution and
# max-pooling, a dense ReLU layer, and a **linear** dense layer with 2 units, the embedding.
#
# - The **classifier** puts a 10-way **softmax** on the embedding $f$: ten scores
#   $z_j = w_j \cdot f + b_j$ (the *logits*), turned into probabilities
#   $p_j = e^{z_j} / \sum_k e^{z_k}$, trained with the **cross-entropy** $-\log p_y$ of the
#   true digit $y$.
# - The **Siamese network** runs its own trunk (same architecture, its own initial weights) on
#   both images of a pair and is trained with the contrastive loss on balanced pairs (half same
#   digit, half different), margin 1, as in notebook 01.
# - The **control** starts from the Siamese network's very weights and is fed half as many
#   pairs per step: as many images and as many optimizer steps as the classifier.
#
# All three use Adam at the same learning rate, and are built inside the distribution
# strategy's scope (`course_lib.distribute`), so the same code runs on several GPUs.

# %%
import keras
import tensorflow as tf

from course_lib import distribute, losses, models, pairs

strategy = distribute.get_strategy()
batch = distribute.global_batch_size(BATCH_SIZE, strategy)
with strategy.scope():
    trunks = {name: models.small_cnn_encoder(embedding_dim=2, filters=FILTERS, dense=DENSE,
                                             name=f"{name}_trunk")
              for name in ("classifier", "siamese", "control")}
    trunks["control"].set_weights(trunks["siamese"].get_weights())   # the same start
    digit = keras.layers.Dense(10, activation="softmax", name="digit")
    classifier = keras.Model(trunks["classifier"].input, digit(trunks["classifier"].output),
                             name="classifier")
    classifier.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                       loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    siamese = models.siamese(trunks["siamese"])
    control = models.siamese(trunks["control"], name="control")
    for model in (siamese, control):
        model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                      loss=losses.ContrastiveLoss(margin=MARGIN))

images = (tf.data.Dataset.from_tensor_slices((x_fit, y_fit))
          .shuffle(len(x_fit), seed=SEED).repeat().batch(batch)
          .prefetch(tf.data.AUTOTUNE))
pair_batches = pairs.pair_dataset(x_fit, y_fit, batch_size=batch, seed=SEED, repeat=True)
half_pair_batches = pairs.pair_dataset(x_fit, y_fit, batch_size=batch // 2, seed=SEED,
                                       repeat=True)
print(f"classifier: {classifier.count_params():,} parameters; siamese and control: "
      f"{siamese.count_params():,} each (one trunk, shared by both branches)")

# %% [markdown]
# ## Training, with snapshots
#
# Two callbacks from `course_lib.callbacks` watch the training: `EpochTimer` records the
# wall-clock time of each epoch, and `EmbeddingSnapshots` embeds the probe images with the
# trunk before training (epoch 0) and after each epoch in `SNAPSHOT_EPOCHS`. The timer is listed
# first, so it stops before the snapshot work starts. The classifier also reports its accuracy
# on the held-out images after every epoch (`val_accuracy`).

# %%
import os

from course_lib.callbacks import EmbeddingSnapshots, EpochTimer

timers, snapshots, histories = {}, {}, {}
for name, model, train_data, extra in [
        ("classifier", classifier, images, {"validation_data": (x_val, y_val)}),
        ("siamese", siamese, pair_batches, {}),
        ("control", control, half_pair_batches, {})]:
    print(f"--- {name}")
    timers[name] = EpochTimer()
    snapshots[name] = EmbeddingSnapshots(trunks[name], x_probe, epochs=SNAPSHOT_EPOCHS)
    histories[name] = model.fit(train_data, steps_per_epoch=STEPS_PER_EPOCH, epochs=EPOCHS,
                                verbose=2, callbacks=[timers[name], snapshots[name]], **extra)
print({name: f"{sum(t.times):.0f} s of training" for name, t in timers.items()},
      "; load average (1, 5, 15 min):", os.getloadavg())

# %% [markdown]
# Was the classifier trained long enough? A baseline that is still improving when we stop
# would make any model trained on the same budget look good. Its held-out accuracy changes by
# a few tenths of a point from one epoch to the next, so we compare the means of the last two
# thirds of training:
#
# **Claim:** all three models train (each one's loss is lower at the last epoch than at the
# first), and the classifier has nearly levelled off: its mean held-out accuracy over the last
# third of training (epochs 9-12, 0.9773) is less than one point above that over the middle
# third (epochs 5-8, 0.9709). It has not fully converged: its best held-out accuracy still rose
# from 0.9736 to 0.9810 in the last third, so the classifier's numbers below may be a few
# tenths of a point short of what longer training gives.

# %%
val_acc = np.array(histories["classifier"].history["val_accuracy"])
k = EPOCHS // 3                              # epochs per third of training
mid_acc, late_acc = val_acc[-2 * k:-k].mean(), val_acc[-k:].mean()
gain = late_acc - mid_acc
print(f"mean held-out accuracy, epochs {EPOCHS - 2 * k + 1}-{EPOCHS - k}: {mid_acc:.4f}; epochs "
      f"{EPOCHS - k + 1}-{EPOCHS}: {late_acc:.4f}; gain {gain:+.4f}")
print(f"best held-out accuracy up to epoch {EPOCHS - k}: {val_acc[:-k].max():.4f}; up to epoch "
      f"{EPOCHS}: {val_acc.max():.4f}")
all_losses = {name: (h.history["loss"][0], h.history["loss"][-1]) for name, h in histories.items()}
print("training loss, first and last epoch:",
      {name: tuple(round(v, 4) for v in pair) for name, pair in all_losses.items()})
assert all(last < first for first, last in all_losses.values()) and len(all_losses) == 3
plateau = config.pick(full=0.01, fast=0.15)   # fast mode stops long before a plateau
print(f"gain of the last third over the middle one {gain:+.4f}, check: below {plateau} in "
      "size")
assert abs(gain) < plateau, gain

# %% [markdown]
# ## The embeddings, epoch by epoch
#
# One row per snapshot, one column per model (test images, coloured by digit). Each panel has
# its own scale: the classifier's points reach much further out than the Siamese ones (the
# distances are printed further down).

# %%
from course_lib import plots

n = PROBE                                    # x_probe = PROBE training, then PROBE test images
grid = {f"epoch {e}": {name: (snapshots[name].snapshots[e][n:], test_lab) for name in snapshots}
        for e in SNAPSHOT_EPOCHS}
plots.plot_embedding_grid(grid, title="2-D test embeddings during training");

# %% [markdown]
# ## Why the classifier draws spokes
#
# The classifier spreads the digits out like **spokes of a wheel** from a common centre; the
# Siamese network forms **blobs**, since its loss speaks only of distances: same-digit pairs
# pulled together, different digits pushed at least the margin apart.
#
# The spokes come from the softmax. Multiply an embedding by a factor $s > 1$: every logit gap
# $z_y - z_j = (w_y - w_j)\cdot f + (b_y - b_j)$ grows in its $f$ part by the factor $s$. For a
# correctly classified point those gaps are positive, so without the biases $p_y$ can only grow
# and the loss only fall (Wang et al. 2017, section 3.1, Proposition 1). The cross-entropy thus
# keeps rewarding a point for moving **outwards along its direction**, long after it is
# classified correctly. Our layer has biases, so we check it on the trained classifier: scale
# its final test embeddings by $s$ and recompute the loss with its own softmax weights.
#
# **Claim:** doubling the final embeddings lowers the loss of more than 90% of the correctly
# classified test points (90.9% of them), while the misclassified points' mean loss rises with
# the scale (both printed below).

# %%
from scipy.special import log_softmax

W, b = digit.get_weights()                                   # (2, 10) and (10,)
emb_final = {name: snapshots[name].snapshots[EPOCHS] for name in snapshots}
f_test = emb_final["classifier"][n:]
right = (f_test @ W + b).argmax(axis=1) == test_lab
SCALES = [0.25, 0.5, 1, 2, 4]


def point_loss(f):
    """The classifier's cross-entropy of each test point with embedding f."""
    return -log_softmax(f @ W + b, axis=1)[np.arange(len(f)), test_lab]


loss_at = {s: point_loss(s * f_test) for s in SCALES}
falls = float(np.mean(loss_at[2][right] < loss_at[1][right]))
print(f"{right.mean():.4f} of the test points are classified correctly; doubling their "
      f"embedding lowers the loss of {falls:.4f} of them")
plots.plot_metric_curves(
    SCALES, {"mean cross-entropy": {"correctly classified": [loss_at[s][right].mean()
                                                             for s in SCALES],
                                    "misclassified": [loss_at[s][~right].mean()
                                                      for s in SCALES]}},
    title="The classifier's loss when its test embeddings are scaled by s",
    xlabel="scale factor s (1 = the trained embedding)",
    ylabels={"mean cross-entropy": "mean cross-entropy (nats)"})
wrong_curve = [loss_at[s][~right].mean() for s in SCALES]
at_least = config.pick(full=0.9, fast=0.8)
print("misclassified points' mean loss by scale:", [round(float(v), 3) for v in wrong_curve],
      f"; fraction lowered {falls:.1%}, check: above {at_least:.0%}")
assert falls > at_least, falls
assert np.all(np.diff(wrong_curve) > 0), wrong_curve

# %% [markdown]
# Not every point gains: a likely reason is the biases, which can favour another digit once a
# point moves far enough out. The mechanism still holds for the great majority, so each digit's
# points drift outwards, roughly along the direction in which its own score grows fastest, its
# weight vector $w_y$. Drawn as arrows on the final embedding:
#
# **Claim:** for 8 of the 10 digits, the weight vector nearest in angle to the digit's mean
# direction is the digit's own, and every digit's mean direction is less than 30 degrees from
# its own weight vector (the largest angle is 25; all printed below, in degrees).
#
# For the other two digits, a neighbouring digit's weight vector is nearer still: a likely
# reason is that the softmax decides by the *differences* of the logits, biases included, so a
# spoke only needs to be where its own score beats its neighbours', not on its own arrow.

# %%
mean_dir = np.array([f_test[test_lab == c].mean(axis=0) for c in range(10)])
cosines = ((mean_dir / np.linalg.norm(mean_dir, axis=1, keepdims=True))
           @ (W / np.linalg.norm(W, axis=0)))          # [digit, class]
nearest = cosines.argmax(axis=1)
angle = np.degrees(np.arccos(np.clip(np.diag(cosines), -1, 1)))
print("weight vector nearest in angle to each digit's mean direction:", nearest.tolist())
print("angle between each digit's mean direction and its own weight vector (degrees):",
      np.round(angle).astype(int).tolist())
own = int((nearest == np.arange(10)).sum())
enough = config.pick(full=8, fast=5)
print(f"{own} of 10 digits point along their own weight vector, check: at least {enough}")
widest = config.pick(full=30, fast=45)
print(f"largest angle to the own weight vector: {angle.max():.0f} degrees, check: below {widest}")
assert own >= enough, nearest
assert angle.max() < widest, angle
plots.plot_class_directions(f_test, test_lab, W.T,
                            title=f"classifier, epoch {EPOCHS}: test points and the softmax's "
                                  "weight vectors");

# %% [markdown]
# ## Three ways to read an embedding
#
# We score every snapshot with three readers, all on the probe test images:
#
# - **silhouette** (-1 to 1): for each point, $a$ is its mean distance to the other points of
#   its digit and $b$ its mean distance to the points of the nearest other digit; the point
#   scores $(b - a) / \max(a, b)$, and the silhouette is the mean score. Near 1: tight groups far
#   apart.
# - **kNN accuracy**: label each test point by a majority vote of its k = 5 nearest probe
#   training points; the fraction labelled right. Does the neighbourhood carry the digit?
# - **linear probe**: a logistic regression (a linear classifier) trained on the probe
#   training embeddings and scored on the test embeddings. Are the digits separated by straight
#   lines?
#
# The first two need a distance. Besides the Euclidean one we use the **cosine distance**
# $1 - \cos\angle(u, v)$, which sees only directions from the origin: the geometry a softmax
# decides by, so the fair one for the classifier. `evaluate.silhouette` and
# `evaluate.knn_accuracy` take `metric="cosine"`; by hand, the cosine kNN is the Euclidean kNN of
# the embeddings scaled to length 1:

# %%
from course_lib import evaluate

unit = emb_final["classifier"] / np.linalg.norm(emb_final["classifier"], axis=1, keepdims=True)
by_hand = evaluate.knn_accuracy(unit[:n], train_lab, unit[n:], test_lab)
packaged = evaluate.knn_accuracy(emb_final["classifier"][:n], train_lab,
                                 emb_final["classifier"][n:], test_lab, metric="cosine")
print(f"classifier, epoch {EPOCHS}: cosine kNN by hand {by_hand:.4f}, "
      f"evaluate.knn_accuracy(metric='cosine') {packaged:.4f}")
assert by_hand == packaged

# %%
import pandas as pd

rows = []
for name, snap in snapshots.items():
    for epoch, emb in sorted(snap.snapshots.items()):
        tr, te = emb[:n], emb[n:]
        rows.append({
            "model": name, "epoch": epoch,
            "silhouette": evaluate.silhouette(te, test_lab),
            "silhouette_cos": evaluate.silhouette(te, test_lab, metric="cosine"),
            "knn": evaluate.knn_accuracy(tr, train_lab, te, test_lab),
            "knn_cos": evaluate.knn_accuracy(tr, train_lab, te, test_lab, metric="cosine"),
            "linear_probe": evaluate.linear_probe_accuracy(tr, train_lab, te, test_lab),
        })
metrics = pd.DataFrame(rows)
VIEWS = ["silhouette", "silhouette_cos", "knn", "knn_cos", "linear_probe"]
pd.set_option("display.width", 160)
by_epoch = metrics.pivot(index="epoch", columns="model", values=VIEWS)
by_epoch.round(3)

# %%
curves = {name: metrics[metrics["model"] == name].sort_values("epoch") for name in snapshots}
plots.plot_metric_curves(
    SNAPSHOT_EPOCHS,
    {"silhouette": {m: {"Euclidean": c["silhouette"], "cosine": c["silhouette_cos"]}
                    for m, c in curves.items()},
     "kNN accuracy": {m: {"Euclidean": c["knn"], "cosine": c["knn_cos"]}
                      for m, c in curves.items()},
     "linear probe accuracy": {m: c["linear_probe"] for m, c in curves.items()}},
    title="Test embeddings scored at each snapshot");

# %% [markdown]
# The linear probe's decision regions on the final embeddings: straight boundaries through the
# plane, wedges for the spokes, polygons around the blobs.

# %%
import matplotlib.pyplot as plt

final = metrics[metrics["epoch"] == EPOCHS].set_index("model")
fig, axes = plt.subplots(1, 3, figsize=(18, 5.6), layout="constrained")
for ax, name in zip(axes, snapshots, strict=True):
    probe = evaluate.fit_linear_probe(emb_final[name][:n], train_lab)
    plots.plot_decision_regions(probe, emb_final[name][n:], test_lab, ax=ax,
                                title=f"{name}, epoch {EPOCHS}: linear probe "
                                      f"{final.loc[name, 'linear_probe']:.3f}")

# %% [markdown]
# ## Compare on the same test images
#
# Before we compare these numbers with the classifier's own accuracy, a warning about *which*
# test images. MNIST's test set is not shuffled, and it holds 5,000 digits from each of two
# NIST collections written by different people (LeCun et al. 1998, section III.A), so its two
# halves need not be alike. One fixed reader, 5-NN on raw pixels with our 5,000 probe training
# images as neighbours, tells:
#
# **Claim:** 5-NN on pixels is more than 3 points less accurate on the first half of the test
# set than on the second (printed below), so a number measured on the first 5,000 test images
# must be compared only with numbers measured on the same images.

# %%
half = len(x_test) // 2
pixels = x_train[:PROBE].reshape(PROBE, -1)
pixel_knn = {part: evaluate.knn_accuracy(pixels, train_lab,
                                         x_test[sl].reshape(len(x_test[sl]), -1), y_test[sl])
             for part, sl in [("first half", slice(0, half)), ("second half", slice(half, None))]}
print({part: round(acc, 4) for part, acc in pixel_knn.items()})
pixel_gap = pixel_knn["second half"] - pixel_knn["first half"]
print(f"gap {pixel_gap:.4f} ({100 * pixel_gap:.1f} points), check: above 3 points; compared on "
      f"{half:,} test images each")
assert pixel_gap > 0.03, pixel_gap

# %% [markdown]
# Our probe test images are the first half. The classifier's own reader of its embedding is its
# softmax layer, itself a linear classifier on the two numbers; its accuracy on exactly those
# images, and how far from the origin each model puts them:

# %%
_, softmax_accuracy = classifier.evaluate(x_test[:PROBE], y_test[:PROBE], batch_size=1024,
                                          verbose=0)
print(f"classifier's softmax on the {PROBE:,} probe test images: {softmax_accuracy:.4f}")
norms = pd.DataFrame({name: np.linalg.norm(emb_final[name][n:], axis=1)
                      for name in snapshots}).describe(percentiles=[0.5, 0.99]).T
norms[["mean", "50%", "99%", "max"]].round(2).rename_axis("distance from the origin")

# %% [markdown]
# ## Which embedding is better?
#
# It depends on who reads it.
#
# **Read by Euclidean distances** through the silhouette, the Siamese embedding wins from
# epoch 3 on; at epoch 1 the two are close, and the classifier is slightly ahead (0.307
# against 0.298 in the table). The classifier's spokes are long and meet near the origin:
# there, points of different digits are close together, while the
# two ends of one spoke are far apart, exactly what a Euclidean silhouette punishes. The
# contrastive loss optimised distances directly, so it is no surprise that it wins on distances.
#
# **Claim:** from epoch 3 on, the Siamese network's Euclidean silhouette is above the
# classifier's at every snapshot (smallest lead 0.220; at the end 0.733 against 0.433), and the
# classifier's test points reach more than 10 times further from the origin than the Siamese
# network's (129.55 against 1.80, 72x).

# %%
reach = norms["max"]["classifier"] / norms["max"]["siamese"]
trained = by_epoch[by_epoch.index >= 3]
lead_every = (trained["silhouette", "siamese"] - trained["silhouette", "classifier"]).min()
print("final Euclidean silhouette:", final["silhouette"].round(3).to_dict())
print(f"smallest Siamese lead on silhouette from epoch 3 on: {lead_every:.3f}")
print(f"furthest test point from the origin: classifier {norms['max']['classifier']:.2f}, "
      f"Siamese {norms['max']['siamese']:.2f}, ratio {reach:.0f}x")
least = config.pick(full=10, fast=3)
print(f"ratio of the furthest points {reach:.1f}, check: above {least}")
assert lead_every > 0, lead_every
assert reach > least, reach

# %% [markdown]
# **Read by angle** (cosine distance), the classifier's spokes become tight groups: the
# softmax's own geometry. Each model is then most compact in the geometry its loss speaks
# of.
#
# **Claim:** at the final snapshot, the classifier's cosine silhouette (0.696) is above its
# Euclidean silhouette (0.433) and above the Siamese network's cosine silhouette (0.444), but
# below the Siamese network's Euclidean silhouette (0.733).

# %%
cmp = final[["silhouette", "silhouette_cos", "knn", "knn_cos"]].round(3)
print(cmp.to_string())
clf, sia = final.loc["classifier"], final.loc["siamese"]
print(f"classifier: cosine {clf['silhouette_cos']:.3f} vs Euclidean {clf['silhouette']:.3f}; "
      f"Siamese: cosine {sia['silhouette_cos']:.3f}, Euclidean {sia['silhouette']:.3f}")
assert clf["silhouette_cos"] > clf["silhouette"], clf
assert sia["silhouette_cos"] < clf["silhouette_cos"] < sia["silhouette"], (clf, sia)

# %% [markdown]
# **Read by a linear classifier**, the models are much closer. The fair comparison for the
# classifier's softmax is the control: trained on as many images, scored on the same 5,000
# test images.
#
# **Claim:** for each of the three models, the final linear probe and the Euclidean kNN agree
# within 2 points (the largest gap is 0.0088), and on the same 5,000 test images the
# classifier's softmax (0.9710) and the control's better reader (0.9508, its linear probe)
# are less than 3 points apart (2.0 points). By both readers the classifier's embedding is
# ahead of the control's (kNN 0.9708 against 0.9442), although the control's silhouette is
# far higher: a neighbourhood can carry the digit along a spoke too.

# %%
probe_vs_knn = (final["linear_probe"] - final["knn"]).abs()
print("final linear probe:", final["linear_probe"].round(4).to_dict())
print("final Euclidean kNN:", final["knn"].round(4).to_dict())
print(f"largest |probe - kNN| over the three models: {probe_vs_knn.max():.4f}")
within = config.pick(full=0.02, fast=0.04)
print(f"largest gap {probe_vs_knn.max():.4f}, check: below {100 * within:.0f} points for all "
      f"{len(probe_vs_knn)} models")
assert len(probe_vs_knn) == 3 and probe_vs_knn.max() < within, probe_vs_knn
control_best = final.loc["control", ["knn", "linear_probe"]].max()
apart = abs(softmax_accuracy - control_best)
close = config.pick(full=0.03, fast=0.08)
print(f"on the same {PROBE:,} test images: classifier's softmax {softmax_accuracy:.4f}, the "
      f"control's better reader {control_best:.4f}: {100 * apart:.1f} points apart, check: below "
      f"{100 * close:.0f} points")
assert apart < close, apart
ahead = final.loc["classifier", ["knn", "linear_probe"]] - final.loc["control", ["knn",
                                                                             "linear_probe"]]
print("classifier minus control, final kNN and linear probe:", ahead.round(4).to_dict())
assert (ahead > 0).all() and len(ahead) == 2, ahead

# %% [markdown]
# ## Equal images: the control
#
# The Siamese network saw twice the classifier's images. Does its lead on distances come from
# there? The control saw as many images as the classifier, in as many steps.
#
# **Claim:** with the classifier's number of images, the Siamese network (the control) still
# ends with a Euclidean silhouette above the classifier's (0.632 against 0.433), by more than
# what halving the pairs cost it (a lead of 0.199 against a cost of 0.101).

# %%
cost_of_half = final.loc["siamese", "silhouette"] - final.loc["control", "silhouette"]
lead = final.loc["control", "silhouette"] - final.loc["classifier", "silhouette"]
print(f"Euclidean silhouette: siamese {final.loc['siamese', 'silhouette']:.3f}, control "
      f"{final.loc['control', 'silhouette']:.3f}, classifier "
      f"{final.loc['classifier', 'silhouette']:.3f}")
print(f"silhouette lost by halving the pairs: {cost_of_half:.3f}; the control's lead over the "
      f"classifier: {lead:.3f}")
share = config.pick(full=1.0, fast=0.8)    # fast mode's short runs: halving costs more there
print(f"lead / cost {lead / cost_of_half:.2f}, check: above {share}")
assert lead > share * cost_of_half, (lead, cost_of_half)
assert lead > 0, lead

# %% [markdown]
# ## What a step on pairs costs
#
# A Siamese step runs the trunk on **two** images per pair, forward and backward: `BATCH_SIZE`
# pairs are `2 * BATCH_SIZE` images through the conv layers, where the classifier's step
# pushes `BATCH_SIZE`. The heads (a distance, or one 2x10 dense layer) cost next to nothing,
# so a step on pairs should take up to twice as long. To measure it on a shared CPU, whose load
# changes from minute to minute, we take turns: each round times one training step of each
# model, so a change of load hits all three alike, and we keep the median of the rounds (the
# first step of each model, which builds its training function, is not timed).

# %%
import time

batches = {"classifier": iter(images), "siamese": iter(pair_batches),
           "control": iter(half_pair_batches)}
step_models = {"classifier": classifier, "siamese": siamese, "control": control}
step_time = {name: [] for name in step_models}
for round_ in range(TIMING_ROUNDS + 1):
    for name, model in step_models.items():
        x, y = next(batches[name])
        start = time.perf_counter()
        model.train_on_batch(x, y)
        if round_:
            step_time[name].append(time.perf_counter() - start)
ms = {name: 1e3 * float(np.median(t)) for name, t in step_time.items()}
images_per_step = {"classifier": batch, "siamese": 2 * batch, "control": 2 * (batch // 2)}
for name in ms:
    print(f"{name:<10} {images_per_step[name]:>4} images per step, median step {ms[name]:.1f} ms")
ratio = ms["siamese"] / ms["control"]
print(f"siamese / control: {ratio:.2f}; siamese / classifier: {ms['siamese'] / ms['classifier']:.2f}"
      "; load average (1, 5, 15 min):", os.getloadavg())

# %% [markdown]
# Write a step's time as a fixed part plus a part per image,
# $t = t_0 + N_{\text{images}} \cdot t_1$. Two step sizes give both parts. The Siamese network
# (256 images) against a 128-image reference gives $t_1$; the reference can be the control
# (the same network, the closest match) or the classifier (another head and input pipeline),
# and the two answers differ by how much the heads and pipelines differ:
#
# **Claim:** a Siamese step, with twice the control's images, took longer than the control's
# step but less than twice as long (the ratio is printed below): every step has a fixed cost
# besides its cost per image.

# %%
extra = images_per_step["siamese"] - batch
split = {}
for ref in ("control", "classifier"):
    per_image = (ms["siamese"] - ms[ref]) / extra
    split[ref] = (per_image, ms[ref] - batch * per_image)
    print(f"reference {ref:<10}: {split[ref][0]:.3f} ms per image, {split[ref][1]:.1f} ms per "
          "step besides")
lo, hi = sorted(v[0] for v in split.values())
print(f"per-image cost: {lo:.3f} to {hi:.3f} ms, the higher {hi / lo - 1:.0%} above the lower")
below = config.pick(full=2.0, fast=2.3)    # fast mode's short runs time noisier
print(f"siamese / control step time {ratio:.2f}, check: between 1 and {below}")
assert 1 < ratio < below, ratio

# %% [markdown]
# The fixed part covers launching the ops, updating the ~105,000 weights and the input
# pipeline. How far below 2 the ratio stays depends on the machine and on what else runs on it:
# on a faster or idle machine the fixed part weighs more, on a busy CPU the convolutions
# dominate and the ratio creeps towards 2. The timings are printed, never quoted: run the cells
# on your machine and look at the ratio.

# %%
from course_lib import results

results.record(
    "05_cnn_vs_siamese",
    **{f"{col}_{name}_final": float(final.loc[name, col]) for name in final.index
       for col in VIEWS},
    softmax_accuracy_probe=float(softmax_accuracy),
    classifier_val_gain_last_third=float(gain),
    **{f"ms_per_step_{name}": round(ms[name], 2) for name in ms},
    epochs=EPOCHS)

# %% [markdown]
# ## Summary
#
# - A classifier with a 2-D linear bottleneck learns an embedding too: digits fan out as spokes
#   from the origin, because the cross-entropy keeps lowering the loss of a correctly
#   classified point as it moves out along its weight vector. A Siamese network with the same
#   trunk and the contrastive loss forms compact blobs about a margin apart.
# - Which embedding is better depends on its reader. By the Euclidean silhouette, the Siamese
#   embedding is far ahead (0.733 against 0.433), even with the classifier's number of images
#   (the control, 0.632). By angle, the classifier's spokes are compact too (cosine silhouette
#   0.696). Nearest neighbours and linear readers put the models within a few points of each
#   other, and there the classifier is ahead of the control (its softmax 0.9710, the control's
#   linear probe 0.9508, on the same test images). When distances themselves matter, as for a
#   threshold on the distance of a pair, train for distances.
# - A fair comparison scores every model on the same test images (pixel 5-NN scores 0.906 on
#   MNIST's first test half and 0.959 on its second), gives them the same number of training
#   images, and trains the baseline until it stops improving, or says how far it was from it.
# - A step on pairs runs the trunk on twice the images but takes less than twice the time: every
#   step has a fixed cost besides its cost per image.
#
# ## Further reading
#
# - Bromley et al. 1993, "Signature verification using a Siamese time delay neural network":
#   the first Siamese network.
# - Chopra, Hadsell and LeCun 2005, "Learning a similarity metric discriminatively, with
#   application to face verification".
# - Hadsell, Chopra and LeCun 2006, "Dimensionality reduction by learning an invariant mapping":
#   the contrastive loss used here.
# - Wen, Zhang, Li and Qiao 2016, "A discriminative feature learning approach for deep face
#   recognition": the spokes of a softmax's 2-D MNIST features, and the centre loss that pulls
#   each spoke into a blob.
# - Wang, Xiang, Cheng and Yuille 2017, "NormFace: L2 hypersphere embedding for face
#   verification": why the softmax rewards long features, and training on normalised ones.
# - Schroff, Kalenichenko and Philbin 2015, "FaceNet": the triplet loss (notebook 07).
# - Musgrave, Belongie and Lim 2020, "A metric learning reality check": how to compare
#   embedding losses fairly, classification losses included.

# %% [markdown]
# ## Exercises
#
# In these exercises you write the code, and a check tells you whether it is right. Each
# exercise cell starts with a placeholder, `raise NotImplementedError("your code here")`:
# replace it with your code and run the cell. `nb05.qK.check(...)` then prints *Correct*, or
# what is wrong and where the course explains it. Below each exercise, `nb05.qK.hint()` and
# `nb05.qK.solution()` show a hint and one way to do it, folded: click to open them when you
# want them. A check runs your code on a few tiny inputs, in a second or two.

# %%
from course_lib.exercises import nb05

# %% [markdown]
# **Exercise 1: the embedding inside a classifier.** This notebook kept each trunk, so
# `trunks["classifier"]` gave the classifier's embedding directly. Often all you have is the
# trained classifier, loaded from a file. Write `embedding_model(classifier)`: it returns a
# `keras.Model` from the classifier's input to the output of its penultimate layer (here the
# 2-D bottleneck), built with the functional API on the classifier's own layers, so that it
# uses the trained weights and no copy of them. The check builds two tiny classifiers (6
# inputs, a 2-D or a 3-D bottleneck, 3 classes) and compares your model with their bottleneck.

# %% tags=["exercise"]
def embedding_model(classifier):
    """The classifier's penultimate layer as a model: the classifier's input, its weights,
    the embedding as output."""
    raise NotImplementedError("your code here")


nb05.q1.check(embedding_model)

# %%
nb05.q1.hint()
nb05.q1.solution()

# %% [markdown]
# **Exercise 2: nearest-neighbour accuracy by hand.** The kNN reader above is
# `evaluate.knn_accuracy`. Write its simplest case in NumPy:
# `nearest_neighbour_accuracy(train_emb, train_y, test_emb, test_y)` gives each test point the
# label of its nearest training point (Euclidean distance) and returns the fraction of test
# points labelled right, one float. The check compares it with
# `evaluate.knn_accuracy(..., k=1)` on three tiny 2-D data sets.

# %% tags=["exercise"]
def nearest_neighbour_accuracy(train_emb, train_y, test_emb, test_y):
    """Fraction of test points whose nearest training point (Euclidean) has their label."""
    raise NotImplementedError("your code here")


nb05.q2.check(nearest_neighbour_accuracy)

# %%
nb05.q2.hint()
nb05.q2.solution()

# %% [markdown]
# ### More to try
#
# 1. Put a ReLU on the classifier's bottleneck (`activation="relu"` on the 2-D layer). What
#    happens to the embedding, and to the accuracy? Why?
# 2. The control equalised the images by halving the pairs per step. Equalise them the other
#    way instead: the full 128 pairs per step, for half the steps per epoch (so also half the
#    optimizer steps). Which metrics suffer more than in the control?
# 3. Replace the logistic regression by an RBF-kernel SVM (`sklearn.svm.SVC`) on the final
#    embeddings. Does the gap between the two models on the "classifier view" change?
#
# <details><summary>Solution 1</summary>
#
# ```python
# inputs = keras.Input((28, 28))
# x = keras.layers.Reshape((28, 28, 1))(inputs)
# for f in FILTERS:
#     x = keras.layers.Conv2D(f, 3, padding="same", activation="relu")(x)
#     x = keras.layers.MaxPooling2D()(x)
# x = keras.layers.Dense(DENSE, activation="relu")(keras.layers.Flatten()(x))
# bottleneck = keras.layers.Dense(2, activation="relu")(x)
# relu_clf = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(bottleneck))
# relu_clf.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
#                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
# relu_clf.fit(images, steps_per_epoch=STEPS_PER_EPOCH, epochs=EPOCHS, verbose=2)
# ```
# All points are squeezed into the positive quadrant, and units that go negative for a digit
# output exactly 0: several digits pile up on the axes and at the origin, so accuracy drops.
# The spokes of the linear bottleneck need the whole plane.
# </details>
#
# <details><summary>Solution 2</summary>
#
# Save the start first: add `start_weights = trunks["siamese"].get_weights()` at the end of the
# models cell and run the notebook again. Then:
#
# ```python
# half_trunk = models.small_cnn_encoder(embedding_dim=2, filters=FILTERS, dense=DENSE)
# half_trunk.set_weights(start_weights)             # the Siamese net's and control's start
# half_steps = models.siamese(half_trunk, name="half_steps")
# half_steps.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
#                    loss=losses.ContrastiveLoss(margin=MARGIN))
# snap = EmbeddingSnapshots(half_trunk, x_probe, epochs=[EPOCHS])
# half_steps.fit(pairs.pair_dataset(x_fit, y_fit, batch_size=BATCH_SIZE, seed=SEED, repeat=True),
#                steps_per_epoch=STEPS_PER_EPOCH // 2, epochs=EPOCHS, verbose=2,
#                callbacks=[snap])
# emb = snap.snapshots[EPOCHS]
# print(evaluate.silhouette(emb[n:], test_lab),
#       evaluate.knn_accuracy(emb[:n], train_lab, emb[n:], test_lab))
# ```
# It sees the control's number of images in half the control's optimizer steps. Compare its
# silhouette and kNN accuracy with the control's and the classifier's at the same epoch: the
# difference from the control is what the number of updates (rather than the number of images)
# is worth here.
# </details>
#
# <details><summary>Solution 3</summary>
#
# ```python
# from sklearn.svm import SVC
#
# for name in snapshots:
#     emb = emb_final[name]
#     svm = SVC().fit(emb[:n], train_lab)
#     print(name, svm.score(emb[n:], test_lab))
# ```
# A nonlinear classifier can carve out blobs as easily as wedges, so the gap of the linear view
# shrinks: how good an embedding is depends on the reader you give it.
# </details>
