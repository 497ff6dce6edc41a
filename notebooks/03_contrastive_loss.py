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
# # 03 · The contrastive loss, and the NaN in its gradient
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/siamese-course/siamese-networks-course/blob/main/notebooks/03_contrastive_loss.ipynb)
#
# Notebook 01 trained a Siamese network with the contrastive loss and it simply worked. This
# notebook takes the loss apart: first what each term and the margin do, then the three ways
# it is most often broken in practice (labels read the wrong way round, a margin loss applied to
# a sigmoid, a gradient that turns into `NaN` when two embeddings coincide) and two fixes for
# the last one.
#
# **What you will be able to do after this notebook**
#
# - write the contrastive loss of Hadsell, Chopra and LeCun (2006) term by term and say what
#   the margin does, as a force on each pair;
# - recognise the symptoms of a label-convention mix-up and of a margin loss on a sigmoid;
# - derive why $\partial d / \partial a$ is $0/0$ when $a = b$, see it with `tf.GradientTape`
#   and reproduce the `NaN` in a training run;
# - fix it two ways, and say what each fix costs and what it does not fix.
#
# **Prerequisites:** notebook 01 (pairs, the Siamese model, verification by a threshold).
#
# **Sources.** The loss and its spring picture: Hadsell, Chopra and LeCun 2006, Sections 2.1
# and 2.2. The label convention 1 = similar and the fix $\sqrt{d^2 + \varepsilon}$ (the
# `epsilon` of the course's distance layer; Lei Mao writes it $\lambda$): Lei Mao's blog
# post *Siamese Network on MNIST Dataset* (2017) and its repository leimao/Siamese_Network_MNIST.
# The accuracy puzzle: keras-team/keras issue #1866, and the label switch: keras-team/keras-io
# PR #1050 (2022: keras.io's `siamese_contrastive` example switches to the paper's convention).
# The margin loss on a sigmoid: that keras.io example (distance, `BatchNormalization`,
# `Dense(1, activation="sigmoid")`, trained with the contrastive loss), questioned in
# keras-team/keras-io issue #2230 and changed by PR #2261 (January 2026).

# %%
import sys

if "google.colab" in sys.modules:  # on Colab: install course_lib from the repository
    # %pip install -q "git+https://github.com/siamese-course/siamese-networks-course"

from course_lib import config

config.describe();

# %% tags=["parameters"]
STEPS = config.pick(full=1200, fast=200)     # training steps of each model below
CHUNKS = 4                                   # the steps are logged in this many chunks
                                             # (Keras prints each chunk as "Epoch k/CHUNKS")
BATCH_SIZE = 128
HIDDEN = 256                                 # the MLP encoder's hidden width
MARGIN = 1.0
MARGINS = (0.5, 1.0, 2.0, 4.0)               # the margin study
DIFF_BAND = config.pick(full=(1.1, 1.3), fast=(0.8, 1.3))         # mean d diff / m
THRESHOLD_BAND = config.pick(full=(0.43, 0.55), fast=(0.4, 0.55))  # chosen threshold / m
ACC_05 = config.pick(full=0.9, fast=0.8)     # margin 1: accuracy of the fixed threshold 0.5
EVAL_PAIRS = config.pick(full=10_000, fast=2_000)
NAN_STEPS = config.pick(full=100, fast=40)   # the step-by-step NaN run
PLANT_STEP = config.pick(full=50, fast=20)   # the step whose batch holds the planted pair
KERASIO_STEPS = config.pick(full=3000, fast=600)  # keras.io's recipe, batches of 16
KIO_GAP = config.pick(full=0.3, fast=0.02)   # the gap seed 1's sigmoid must show (section 5)
KIO_SEEDS = (0, 1)                           # section 5: seed 0 stalls, seed 1 learns
SEED = 0

config.seed_everything(SEED)

# %% [markdown]
# ## 1. The loss, term by term
#
# A pair of images goes through the shared encoder $f$ to embeddings $a = f(x_1)$ and
# $b = f(x_2)$ at distance $d = \lVert a - b \rVert_2$. With the label $y = 1$ for a similar
# (same-class) pair, $y = 0$ for a dissimilar one, and a **margin** $m > 0$:
#
# $$L(d, y) = \underbrace{\tfrac12\, y\, d^2}_{\text{pull similar pairs together}}
# \;+\; \underbrace{\tfrac12\,(1 - y)\,\max(m - d,\ 0)^2}_{\text{push dissimilar pairs out to } m} .$$
#
# Hadsell et al. (2006, Section 2.2) read it as springs between the two points. The **force**
# on a pair is $-\partial L / \partial d$: negative pulls the points together, positive pushes
# them apart. A similar pair hangs on a spring of rest length 0 (force $-d$: the further apart,
# the harder the pull). A dissimilar pair has a spring that only pushes, and only while the
# points are closer than $m$ (force $m - d$); beyond the margin it goes slack. Why a margin?
# Drop it, and the push term $\max(-d, 0)^2$ is 0 for every pair: only the pull is left, and
# the cheapest solution is **collapse**, every image mapped to one point. A push without a
# bound, such as $-d^2$, fails the other way: the loss falls for ever as distances blow up.
# The margin keeps the push and bounds it, so that pairs beyond $m$ cost nothing (Hadsell et
# al. 2006, Section 2). In plain `keras.ops` the loss of each pair from its distance is four
# lines; `course_lib.losses.contrastive_loss` is the same formula (plus a check that the labels
# are 0 or 1), and the rest of the notebook uses it.
#
# **Claim:** on 256 random pairs, the four lines and the library's loss agree to float32
# rounding (largest difference printed, checked below 1e-6).

# %%
import numpy as np
from keras import ops

from course_lib import losses, plots


def contrastive(labels, d, margin=1.0):
    '''The contrastive loss of each pair from its distance d, label 1 = similar.'''
    pull = labels * ops.square(d)                           # similar pairs: d^2
    push = (1 - labels) * ops.square(ops.relu(margin - d))  # dissimilar: max(m - d, 0)^2
    return 0.5 * (pull + push)


rng = np.random.default_rng(SEED)
y_batch = rng.integers(0, 2, 256).astype("float32")
d_batch = rng.uniform(0, 2, 256).astype("float32")
diff = np.abs(np.asarray(contrastive(y_batch, d_batch))
              - np.asarray(losses.contrastive_loss(y_batch, d_batch))).max()
print(f"{len(y_batch)} pairs: largest |four lines - library| = {diff:.1e} (check: below 1e-6)")
assert diff < 1e-6, diff

d = np.linspace(0, 2.5, 501)
pull = np.asarray(losses.contrastive_loss(np.ones_like(d), d, margin=MARGIN))
push = {m: np.asarray(losses.contrastive_loss(np.zeros_like(d), d, margin=m))
        for m in (0.5, 1.0, 2.0)}
plots.plot_pull_push(d, pull, push, title="The contrastive loss as springs (Hadsell et al. 2006)");

# %% [markdown]
# ## 2. Data, and one training recipe
#
# MNIST, with 10,000 training images held out for validation: thresholds are chosen there,
# never on the test set. Every model in this notebook is a Siamese MLP to 2-D (two hidden ReLU
# layers of `HIDDEN` units, a linear output), trained with Adam for `STEPS` steps by
# `course_lib.training.train_on_pairs`, which fixes the initial weights and the stream of
# pairs by the seed: two runs differ only in what we change on purpose. `score` measures
# **verification** on 10,000 test pairs: the threshold on the distance is chosen on validation
# pairs, and the **ROC AUC** (the probability that a random same-digit pair is closer than a
# random different-digit pair; 0.5 is a coin) needs no threshold at all.

# %%
import keras

from course_lib import data, evaluate, layers, models, pairs, training

(x_train_all, y_train_all), (x_test, y_test) = data.load_mnist()
x_train, y_train = x_train_all[:50_000], y_train_all[:50_000]
x_val, y_val = x_train_all[50_000:], y_train_all[50_000:]
val_pairs = pairs.pair_indices(y_val, EVAL_PAIRS, seed=1)
test_pairs = pairs.pair_indices(y_test, EVAL_PAIRS, seed=2)
same = test_pairs[2]                                    # 1 = same digit


def siamese_mlp(head="euclidean"):
    '''A fresh Siamese MLP: (encoder, model). train_on_pairs seeds it.'''
    encoder = models.mlp_encoder(embedding_dim=2, hidden=HIDDEN)
    return encoder, models.siamese(encoder, head=head)


def train(loss, build=siamese_mlp, **kwargs):
    return training.train_on_pairs(build, loss, x_train, y_train, steps=STEPS, seed=SEED,
                                   batch_size=BATCH_SIZE, chunks=CHUNKS, **kwargs)


def score(encoder):
    return training.verification_scores(encoder, (x_val, val_pairs), (x_test, test_pairs))


# %% [markdown]
# ## 3. What the margin does, measured
#
# The margin fixes how far dissimilar pairs are pushed. Does it change the *quality* of the
# embedding, or only its *scale*? We train four margins and measure, besides the distances:
#
# - the **ROC AUC** of verification (above);
# - the **silhouette** of the test embedding: for each point,
#   $(p_{\text{out}} - p_{\text{in}})/\max(p_{\text{in}}, p_{\text{out}})$, with $p_{\text{in}}$
#   its mean distance to the other points of its own digit and $p_{\text{out}}$ its mean
#   distance to the points of the nearest other digit (the digit with the smallest such mean),
#   averaged over the points; 1 means tight, well separated clusters, 0 overlapping ones;
# - the **kNN accuracy**: each test image gets the majority digit of its 5 nearest validation
#   embeddings.
#
# All three are unchanged when the whole embedding is scaled. So is the training loss divided
# by $m^2$: an embedding scaled by $m$ has $m^2$ times the loss.

# %%
margin_runs = {m: train(losses.ContrastiveLoss(margin=m)) for m in MARGINS}
rows = []
for m, run in margin_runs.items():
    report = score(run.encoder)
    emb_val, emb_test = training.encode(run.encoder, x_val), training.encode(run.encoder, x_test)
    d_test = evaluate.pair_distances(emb_test, *test_pairs[:2])
    rows.append({
        "margin": m,
        "mean d same / m": report.mean_distance_similar / m,
        "mean d diff / m": report.mean_distance_different / m,
        "threshold / m": report.threshold / m,
        "acc (chosen t)": report.accuracy,
        "acc (t = 0.5)": evaluate.threshold_accuracy(d_test, same, 0.5),
        "ROC AUC": report.roc_auc,
        "silhouette": evaluate.silhouette(emb_test, y_test, sample_size=5000, seed=SEED),
        "kNN acc": evaluate.knn_accuracy(emb_val, y_val, emb_test, y_test),
        "final loss / m^2": run.loss[-1] / m**2,
    })
print(f"{'':>17}" + "".join(f"{'m = ' + str(r['margin']):>9}" for r in rows))
for key in list(rows[0])[1:]:
    print(f"{key:>17}" + "".join(f"{r[key]:>9.3f}" for r in rows))

# %%
ax = None
for m, run in margin_runs.items():
    ax = plots.plot_with_spread(run.steps, run.loss[None] / m**2, ax=ax, label=f"margin m = {m}",
                                title="Four margins, on a common scale", xlabel="training step",
                                ylabel="training loss / m² (mean over the chunk)")

# %% [markdown]
# Read the table as a test of one idea: if the margin only set the scale, the distances and
# the threshold divided by $m$ would come out the same for every margin, and so would the
# scale-free measures and the normalised loss curves. The scaled distances and thresholds come
# close (first claim below); the scale-free measures spread a little more, and $m = 0.5$ scores
# lowest on both (second claim). Note that nothing stops different-digit pairs from ending
# *beyond* $m$: pairs past the margin cost nothing and stay where they are. A likely reason the
# margin acts as a scale is that the encoder's last layer is linear and unbounded, so any
# margin can be met by scaling it (embeddings normalised to unit length behave differently:
# More to try, 2). Which margin is *best* would need several seeds to say; this study trains
# one seed per margin, so we do not rank them. What does break is a threshold fixed in
# advance, as the 0.5 of the old Keras example (keras-team/keras, `examples/mnist_siamese.py`).
# At $m = 1$ that fixed 0.5 happens to sit close to the chosen threshold and
# can even score a little higher on the test pairs: the chosen threshold is the best one on
# the *validation* pairs, not necessarily on the test pairs.
#
# **Claim:** for every margin, different-digit pairs end on average between $1.1m$ and $1.3m$
# apart (measured: $1.200m$ to $1.213m$) and the threshold chosen on validation lies between
# $0.43m$ and $0.55m$ (measured: $0.469m$ to $0.506m$); the four ROC AUCs lie within 0.05 of
# each other; at $m = 4$ the fixed threshold 0.5 costs at least 15 points of accuracy against
# the chosen one, while at $m = 1$ it scores 0.938 against the chosen threshold's 0.934.
#
# **Claim:** the silhouette goes from 0.565 to 0.606 across the margins and the kNN accuracy
# from 0.924 to 0.937, both lowest at $m = 0.5$.

# %%
by_margin = {r["margin"]: r for r in rows}
spread = {key: (min(r[key] for r in rows), max(r[key] for r in rows))
          for key in ("mean d diff / m", "threshold / m", "ROC AUC", "silhouette", "kNN acc")}
cost = by_margin[4.0]["acc (chosen t)"] - by_margin[4.0]["acc (t = 0.5)"]
at_1 = by_margin[1.0]["acc (t = 0.5)"] - by_margin[1.0]["acc (chosen t)"]
print("mean d diff / m from {:.3f} to {:.3f}".format(*spread["mean d diff / m"]),
      "(check: within {} to {})".format(*DIFF_BAND))
print("threshold / m from {:.3f} to {:.3f}".format(*spread["threshold / m"]),
      "(check: within {} to {})".format(*THRESHOLD_BAND))
auc_range = spread["ROC AUC"][1] - spread["ROC AUC"][0]
print(f"ROC AUC range {auc_range:.3f} (check: below 0.05)")
print(f"m = 4: fixed threshold 0.5 costs {100 * cost:.1f} points (check: at least 15)")
print(f"m = 1: fixed threshold 0.5 {by_margin[1.0]['acc (t = 0.5)']:.3f}, chosen "
      f"{by_margin[1.0]['acc (chosen t)']:.3f} (check: difference within 0.01)")
lowest = {key: min(rows, key=lambda r: r[key])["margin"] for key in ("silhouette", "kNN acc")}
for key in ("silhouette", "kNN acc"):
    print("{} from {:.3f} to {:.3f}, lowest at m = {}".format(key, *spread[key], lowest[key]))
assert DIFF_BAND[0] <= spread["mean d diff / m"][0], spread
assert spread["mean d diff / m"][1] <= DIFF_BAND[1], spread
assert THRESHOLD_BAND[0] <= spread["threshold / m"][0], spread
assert spread["threshold / m"][1] <= THRESHOLD_BAND[1], spread
assert auc_range < 0.05, auc_range
assert cost >= 0.15, cost
assert abs(at_1) < 0.01, at_1
assert lowest["silhouette"] == lowest["kNN acc"] == 0.5, lowest

# %% [markdown]
# ## 4. Two label conventions
#
# The loss above uses $y = 1$ for *similar*, as Lei Mao's post and notebook 01 do. Hadsell et
# al. write it the other way round: $Y = 0$ for similar, $Y = 1$ for dissimilar. Both are fine;
# mixing them is not. The mix-up happens when pairs are labelled one way and the loss (copied
# from elsewhere) reads them the other: keras.io's example switched to the paper's convention
# in 2022 (PR #1050), so code written against its older and newer versions disagree.
# `ContrastiveLoss(similar_label=...)` makes the convention an argument. The margin-1 model
# above used the right one; here is the same training with a loss that believes 0 means similar:

# %%
matched = score(margin_runs[MARGIN].encoder)
mixed_run = train(losses.ContrastiveLoss(margin=MARGIN, similar_label=0))
mixed = score(mixed_run.encoder)
for name, r in (("matching", matched), ("mixed-up", mixed)):
    print(f"{name} convention: ROC AUC {r.roc_auc:.3f}, mean distance same "
          f"{r.mean_distance_similar:.3f} / different {r.mean_distance_different:.3f}")

# %%
embedded = {"matching convention": training.encode(margin_runs[MARGIN].encoder, x_test),
            "mixed-up convention": training.encode(mixed_run.encoder, x_test)}
fig = plots.plot_embedding_grid({"test images": {name: (emb, y_test)
                                                 for name, emb in embedded.items()}},
                                title="The same training, labels read both ways "
                                      "(both panels on one scale)")
low = min(emb.min() for emb in embedded.values())
high = max(emb.max() for emb in embedded.values())
pad = 0.05 * (high - low)
for ax in fig.axes[:2]:
    ax.set(xlim=(low - pad, high + pad), ylim=(low - pad, high + pad))

# %% [markdown]
# Nothing crashes, but the mixed-up network is asked to pull every pair of *different* digits
# together while pushing same-digit pairs out to the margin. Why not simply an inverted embedding? Because a distance obeys the **triangle
# inequality**, $d(x, z) \le d(x, w) + d(w, z)$: if every image is close to every image of
# the other nine digits, two images of one digit, both close to some third digit's image, are
# close to each other too. Different-digit pairs near and same-digit pairs far cannot both
# hold; the picture suggests the compromise the network found, one blob.
#
# **Claim:** with matching conventions the ROC AUC is at least 0.9; mixed up, it is within 0.1
# of a coin's 0.5, and the mean distances of the two kinds of pair are within 10% of each other.

# %%
ratio = mixed.mean_distance_similar / mixed.mean_distance_different
print(f"matching AUC {matched.roc_auc:.3f} (check: at least 0.9); mixed-up AUC "
      f"{mixed.roc_auc:.3f} (check: within 0.1 of 0.5); same / different distance {ratio:.3f} "
      f"(check: within 10% of 1)")
assert matched.roc_auc >= 0.9, matched.roc_auc
assert abs(mixed.roc_auc - 0.5) < 0.1, mixed.roc_auc
assert abs(ratio - 1) < 0.1, ratio

# %% [markdown]
# The convention also lives in the *accuracy*. The old MNIST example in Keras computed
# `mean((distance < 0.5) == label)`: a fixed threshold, and correct only when 1 means similar.
# Read with the other convention, a good model reports its error rate as its accuracy (issue
# #1866 is a user puzzled by exactly that). That part is arithmetic, not a measurement: with
# labels of 0 and 1, every pair the rule gets right under one reading it gets wrong under the
# other, so the two accuracies always add up to 1.
#
# **Claim:** on the margin-1 model's test distances, the rule "same if $d < 0.5$" scores
# $A = 0.938$ with labels read as 1 = same, and so $1 - A = 0.062$ read as 1 = different.

# %%
d_test = evaluate.pair_distances(training.encode(margin_runs[MARGIN].encoder, x_test),
                                 *test_pairs[:2])
right_way = np.mean((d_test < 0.5) == same)
wrong_way = np.mean((d_test < 0.5) == (1 - same))
print(f"rule 'same if d < 0.5': labels read as 1 = same, accuracy {right_way:.3f}; read as "
      f"1 = different, {wrong_way:.3f} (check: the first at least {ACC_05:.2f})")
assert right_way >= ACC_05, right_way

# %% [markdown]
# ## 5. A margin loss on a sigmoid
#
# The second classic mistake puts a `Dense(1, activation="sigmoid")` after the distance and
# feeds its output $s \in (0, 1)$ to the contrastive loss as if it were a distance. keras.io's
# `siamese_contrastive` example did this, with `BatchNormalization` between the distance and
# the sigmoid, until January 2026 (issue #2230, PR #2261). With $m = 1$ and $s < 1$,
# $\max(1 - s, 0) = 1 - s$, so
#
# $$L = \tfrac12\, y\, s^2 + \tfrac12 (1 - y)(1 - s)^2 = \tfrac12\,\bigl(s - (1 - y)\bigr)^2 :$$
#
# the squared error of $s$ as a prediction of "different", half the **Brier score** (the mean
# squared error of a predicted probability). That is a proper objective, minimised by the true
# probability, so it *can* be learned. But it is not a margin loss any more: no pair is ever
# past the margin, and the distance underneath may take any scale. A **constant** $s = 0.5$
# costs $\tfrac18$ on balanced pairs, the best any constant can do.
#
# **Claim:** for outputs in $(0, 1)$ and $m = 1$, the library's contrastive loss equals
# $\tfrac12 (s - (1 - y))^2$ to float32 rounding (largest gap printed, checked below 1e-6).

# %%
s_grid = np.linspace(0.001, 0.999, 999)
gaps = [np.abs(np.asarray(losses.contrastive_loss(np.full_like(s_grid, y), s_grid, margin=1.0))
               - 0.5 * (s_grid - (1 - y)) ** 2).max() for y in (0.0, 1.0)]
print(f"largest |contrastive loss - squared error|: {max(gaps):.1e} (check: below 1e-6)")
assert max(gaps) < 1e-6, gaps

# %% [markdown]
# So can it be learned? We train keras.io's own model (`models.kerasio_sigmoid_siamese`: a tanh
# CNN to 10-D with batch norm, the distance, batch norm, the sigmoid) with its optimizer
# (RMSprop) and batch size (16) in this notebook's pipeline, from two seeds, and read $s$ on the test pairs. A model that learned
# something gives different-digit pairs a higher $s$ than same-digit pairs; a constant answer
# gives both the same. (The mean of $s$ over *all* pairs cannot tell: on balanced pairs it is
# 0.5 for a constant answer and for a perfect one alike.)
#
# **Claim:** trained from seed 1, keras.io's recipe separates the pairs: the mean $s$ on
# different-digit pairs exceeds that on same-digit pairs by at least 0.3. From seed 0 it gives
# both kinds of pair the same answer (gap below 0.05) at the constant's loss, within 0.005 of
# 0.125. The head's weight on the distance starts negative from both seeds, at -0.534 from
# seed 0 and at -0.046 from seed 1: a negative start alone does not stall the training.

# %%
from course_lib import results


def s_gap(model):
    '''Mean sigmoid output on different-digit test pairs minus that on same-digit pairs.'''
    s = model.predict([x_test[test_pairs[0]], x_test[test_pairs[1]]], batch_size=5000,
                      verbose=0).ravel()
    return s[same == 0].mean() - s[same == 1].mean()


sigmoid_runs, gap, head_start = {}, {}, {}
for seed in KIO_SEEDS:
    keras.utils.set_random_seed(seed)            # the head's weight as train_on_pairs starts it
    head = models.kerasio_sigmoid_siamese()[1].layers[-1]
    head_start[seed] = float(np.asarray(head.kernel).ravel()[0])
    sigmoid_runs[seed] = training.train_on_pairs(
        models.kerasio_sigmoid_siamese, losses.ContrastiveLoss(margin=1.0), x_train, y_train,
        steps=KERASIO_STEPS, seed=seed, batch_size=16, chunks=CHUNKS, optimizer="rmsprop")
    gap[seed] = s_gap(sigmoid_runs[seed].model)

for seed in KIO_SEEDS:
    print(f"seed {seed}: head weight at start {head_start[seed]:+.3f}, final training loss "
          f"{sigmoid_runs[seed].loss[-1]:.4f}, mean s on different minus same pairs "
          f"{gap[seed]:+.3f}")
print(f"check: seed 1 gap at least {KIO_GAP}; seed 0 gap below 0.05, loss within 0.005 of "
      f"0.125; both head weights below 0")
assert gap[1] >= KIO_GAP, gap
assert abs(gap[0]) < 0.05 and abs(sigmoid_runs[0].loss[-1] - 0.125) < 0.005, sigmoid_runs[0]
assert head_start[0] < 0 and head_start[1] < 0, head_start

# %% [markdown]
# So the objective can be learned, but not reliably, and what is learned is a squared error on
# $s$, not a margin. Seed 0 sits on the plateau of the constant answer. A likely reading: with
# $s$ near 0.5 for every pair and a head weight far from 0 on the wrong side, the gradient asks
# the encoder to make distances *less* informative while the head turns round, and the two
# cancel; seed 1's head starts near 0 and has little to turn.
#
# Which ingredient decides? A study script in the course repository,
# `scripts/sigmoid_head_03.py`, trains this recipe from seeds 0, 1 and 2 in seven variants and
# scores each on validation pairs; the table below is its results file. Three variants each
# take one ingredient from keras.io's 2021 example: raw 0–255 pixels, pairs fixed up front (one
# same-digit and one different-digit partner per image), and its labels; a fourth, "keras.io
# pixels, pairs, labels", takes all three. Still left out there: keras.io's distance
# `sqrt(maximum(s, epsilon()))`, its split of 30,000 training images, and its 37,500 steps
# (ten epochs of batches of 16) against the 3000 here. Two variants are controls, not
# keras.io ingredients: Adam instead of RMSprop (keras.io's optimizer, already the notebook's),
# and the head's starting weight negated.
#
# keras.io's 2021 labels are section 4's mix-up: pairs labelled 1 = same, fed to a loss that
# reads 1 as dissimilar, so the loss asks for a *high* $s$ on same-digit pairs. For the two rows
# with those labels the table's gap is therefore computed on $1 - s$ (mean $s$ on same-digit
# pairs minus different-digit pairs); for the other rows it is the gap defined above. Either
# way, a positive gap means the model learned what its loss asks for. And the mix-up learns:
# the sigmoid head can take a negative weight, so that $s$ *falls* as the distance grows.
# Section 4's mix-up learns nothing only because there the output is the distance itself.
#
# **Claim:** in that table, raw pixels and Adam leave seed 0 at the constant answer (gap below
# 0.05); seeds 1 and 2 reach a gap of at least 0.5 in every variant; seed 0 reaches at least
# 0.5 with its head's sign flipped, and keras.io's labels reach at least 0.5 from all 3 seeds.
# A negative start does not stall training by itself: seed 2 with its head flipped starts at
# -0.407 and reaches 0.687.

# %%
study = results.read_study("results/03_sigmoid_head.json")
rows_by = {row["variant"]: [r["gap"] for r in row["runs"]] for row in study["rows"]}
starts = {row["variant"]: [r["head_weight_at_start"] for r in row["runs"]]
          for row in study["rows"]}
print(f"gap on {study['validation_pairs']} validation pairs after {study['base']['steps']} "
      f"steps, seeds 0, 1, 2 ({study['seeds']} seeds)")
for row in study["rows"]:
    print(f"{row['variant']:>30}: " + "  ".join(f"{r['gap']:+.3f}" for r in row["runs"])
          + "   head weight at start " + " ".join(f"{r['head_weight_at_start']:+.3f}"
                                                  for r in row["runs"]))
print("check: seed 0 below 0.05 with raw pixels and Adam; seeds 1 and 2 at least 0.5 "
      "everywhere; seed 0 at least 0.5 flipped; keras.io labels at least 0.5 on every seed")
assert len(rows_by) == 7 and all(len(g) == 3 for g in rows_by.values()), rows_by
assert all(abs(rows_by[v][0]) < 0.05 for v in ("notebook", "raw pixels", "adam")), rows_by
assert all(min(g[1:]) >= 0.5 for g in rows_by.values()), rows_by
assert rows_by["head sign flipped"][0] >= 0.5 and min(rows_by["keras.io labels"]) >= 0.5, rows_by
assert starts["head sign flipped"][2] < 0 < rows_by["head sign flipped"][2], starts

# %% [markdown]
# ## 6. The NaN gradient
#
# ### The algebra
#
# Write the squared distance $s = \sum_j (a_j - b_j)^2$ and $d = \sqrt{s}$. By the chain rule
#
# $$\frac{\partial d}{\partial a_1} = \frac{1}{2\sqrt{s}} \cdot 2 (a_1 - b_1) = \frac{a_1 - b_1}{d},$$
#
# which is $0/0$ when $a = b$. For a **dissimilar** pair, $L = \tfrac12 \max(m - d, 0)^2$ and
#
# $$\frac{\partial L}{\partial a_1} = -(m - d)\,\frac{a_1 - b_1}{d}
# \;\xrightarrow{\;a = b\;}\; -m \cdot \frac{0}{0}.$$
#
# The limit does not even exist: near $b$ the gradient has length about $m$ and points
# *towards* $b$ (so a descent step, along minus the gradient, moves $a$ away from $b$), from
# whichever direction $a$ lies. In floating point, back-propagation computes the
# pieces separately: $\partial d / \partial s = 1 / (2\sqrt{0}) = \infty$, times
# $\partial s / \partial a_1 = 0$, gives `NaN`. For a **similar** pair the incoming gradient
# $\partial L / \partial d = d$ is itself 0, and TensorFlow's square-root gradient returns 0
# when its incoming gradient is 0, so that pair stays finite in TensorFlow (not necessarily in
# other frameworks).
#
# ### `tf.GradientTape` on a hand-made pair
#
# Two identical embeddings, through the naive distance (`EuclideanDistance(epsilon=0)`) and
# through the course's default ($\varepsilon = 10^{-6}$, section 7).
#
# **Claim:** at $d = 0$, in TensorFlow, the naive gradient of a dissimilar pair is `NaN` and
# that of a similar pair is exactly zero; with $\varepsilon$ every gradient is finite.

# %%
import tensorflow as tf

a = tf.Variable([[0.3, -0.2]])
b = tf.constant([[0.3, -0.2]])       # the same point: d = 0
grads = {}
for epsilon in (0.0, 1e-6):
    for label, kind in ((0.0, "dissimilar"), (1.0, "similar")):
        with tf.GradientTape() as tape:
            distance = layers.EuclideanDistance(epsilon=epsilon)([a, b])
            loss = losses.contrastive_loss(tf.constant([label]), distance, margin=MARGIN)
        grads[epsilon, kind] = tape.gradient(loss, a).numpy().ravel()
        print(f"epsilon={epsilon:<6g} {kind:>10} pair: loss {float(loss[0]):.6f}, "
              f"dL/da = {grads[epsilon, kind]}")

assert np.isnan(grads[0.0, "dissimilar"]).all()
assert np.array_equal(grads[0.0, "similar"], np.zeros(2)), grads[0.0, "similar"]
assert np.isfinite(np.stack([grads[1e-6, "dissimilar"], grads[1e-6, "similar"]])).all()

# %% [markdown]
# The whole field at once: the arrows show where one gradient step moves $a$, for a dissimilar
# pair, with $b$ at the centre. Inside the margin every arrow pushes $a$ straight away from
# $b$ with a force of about $m - d$, so arrows on opposite sides of $b$ point in opposite
# directions: no single value at $b$ itself could continue them. The grid includes $a = b$.

# %%
import matplotlib.pyplot as plt

ticks = np.linspace(-1.5, 1.5, 13)                      # contains 0: one point is a == b
grid = np.array([[u, v] for u in ticks for v in ticks], dtype=np.float32)


def dissimilar_gradients(distance_layer):
    '''dL/da at every grid point a, for a dissimilar pair with b at the origin.'''
    a_var = tf.Variable(grid)
    with tf.GradientTape() as tape:
        dist = distance_layer([a_var, tf.zeros_like(grid)])
        loss = tf.reduce_sum(losses.contrastive_loss(tf.zeros(len(grid)), dist, margin=MARGIN))
    return tape.gradient(loss, a_var).numpy()


fig, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
field = {}
for ax, (name, eps) in zip(axes, (("naive, epsilon = 0", 0.0), ("fixed, epsilon = 1e-6", 1e-6))):
    field[name] = dissimilar_gradients(layers.EuclideanDistance(epsilon=eps))
    plots.plot_gradient_field(grid, field[name], (0.0, 0.0), ax=ax, radius=MARGIN,
                              title=f"Dissimilar pair, {name}")
    ax.set_aspect("equal", adjustable="box")          # frame the grid, not the empty margins
    ax.set(xlim=(-1.7, 1.7), ylim=(-1.7, 1.7))
print({name: int((~np.isfinite(g).all(axis=1)).sum()) for name, g in field.items()},
      "grid points with a NaN gradient")

# %% [markdown]
# ### A training run that turns NaN
#
# When do two embeddings coincide in practice? When the same image (or an exact duplicate)
# sits on both sides of a pair, which a careless sampler or a dataset with duplicates produces;
# and when the encoder collapses, or its last hidden ReLU layer dies (every unit outputs 0 for
# every input, so no gradient flows through it any more), so that the linear output layer maps
# every input to one point, its bias. We plant one such pair, deterministically: at step `PLANT_STEP` the first pair of the
# batch becomes an image paired with *itself*, labelled dissimilar. Note what that pair is:
# **label noise**, a pair that says an image is unlike itself. Two models start from the same
# weights and see the same batches; one has the naive distance, the other the fixed one.

# %%
def model_with_distance(epsilon):
    '''The Siamese MLP with seed-fixed weights and the given epsilon in its distance layer.'''
    keras.utils.set_random_seed(SEED)
    encoder, model = siamese_mlp(head=layers.EuclideanDistance(epsilon=epsilon))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=losses.ContrastiveLoss(MARGIN))
    return encoder, model


stream = list(pairs.pair_dataset(x_train, y_train, batch_size=BATCH_SIZE, seed=SEED,
                                 steps=NAN_STEPS).as_numpy_iterator())
(left, right), labels = stream[PLANT_STEP]
right, labels = right.copy(), labels.copy()
right[0], labels[0] = left[0], 0.0           # an image paired with itself, called "different"
stream[PLANT_STEP] = (left, right), labels
planted = left[:1]

step_losses, nan_models = {}, {}
for name, epsilon in (("naive, epsilon = 0", 0.0), ("fixed, epsilon = 1e-6", 1e-6)):
    nan_models[name] = model_with_distance(epsilon)
    step_losses[name] = training.step_losses(nan_models[name][1], stream)
    first_nan = np.flatnonzero(np.isnan(step_losses[name]))
    print(f"{name:>22}: first NaN loss at step {first_nan[0] if first_nan.size else None}")

# %%
from matplotlib import ticker

ax = plots.plot_step_losses(step_losses, mark_step=PLANT_STEP,
                            mark_label="batch with the planted pair",
                            title="One image paired with itself, called different, ends the "
                                  "naive run")
ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))     # 0.05, 0.07, 0.1, ...
ax.yaxis.set_minor_formatter(ticker.NullFormatter())

# %% [markdown]
# The planted batch's own loss is finite: the forward pass computes $d = 0$ and a loss of
# $m^2/2$ for that pair, nothing alarming. The `NaN` is in the *gradient*; the optimizer writes
# it into every weight, and from the next step on every loss is `NaN`: one pair out of
# thousands ended the training, and the loss curve shows it one step after the cause.
#
# **Claim:** the naive run's loss is finite up to and including the planted step and `NaN` at
# every step after it; the fixed run never produces a `NaN`.

# %%
naive, fixed = step_losses["naive, epsilon = 0"], step_losses["fixed, epsilon = 1e-6"]
print(f"naive: finite steps {int(np.isfinite(naive).sum())}, NaN steps "
      f"{int(np.isnan(naive).sum())}; fixed: NaN steps {int(np.isnan(fixed).sum())}")
assert np.isfinite(naive[: PLANT_STEP + 1]).all()
assert np.isnan(naive[PLANT_STEP + 1 :]).all()
assert np.isfinite(fixed).all()

# %% [markdown]
# What did the fix do for the planted pair? Its two sides are the *same image* through the
# *same encoder*, so they land on the same point under every weight update: $d$ stays
# $\sqrt\varepsilon$ and its loss $\tfrac12(m - \sqrt\varepsilon)^2$, the largest a dissimilar pair can
# have, forever. And its gradient is exactly zero (the direction $(a - b)/d_\varepsilon$ is
# $0/\sqrt\varepsilon$): the pair is **inert**. The fix does not make this pair learnable, and no
# fix could; it makes a piece of label noise harmless instead of fatal.
#
# **Claim:** after the fixed run, the planted pair's distance is still $\sqrt\varepsilon$ and the
# gradient of its loss with respect to every weight is exactly zero.

# %%
enc_fixed, model_fixed = nan_models["fixed, epsilon = 1e-6"]
with tf.GradientTape() as tape:
    d_planted = model_fixed([planted, planted])
    loss_planted = losses.contrastive_loss(tf.zeros(1), d_planted, margin=MARGIN)
weight_grads = tape.gradient(loss_planted, model_fixed.trainable_weights)
largest = max(float(tf.reduce_max(tf.abs(g))) for g in weight_grads)
print(f"planted pair: d = {float(d_planted[0, 0]):.6f} (sqrt(epsilon) = {np.sqrt(1e-6):.6f}), "
      f"loss {float(loss_planted[0]):.6f}, largest |dL/dw| over {len(weight_grads)} weight "
      f"tensors: {largest}")
assert np.isclose(float(d_planted[0, 0]), np.sqrt(1e-6), rtol=1e-3), d_planted
assert len(weight_grads) == len(model_fixed.trainable_weights) > 0 and largest == 0.0, largest

# %% [markdown]
# ## 7. Two fixes, and what they cost
#
# ### Fix 1: $d_\varepsilon = \sqrt{d^2 + \varepsilon}$
#
# This is the course's default (`EuclideanDistance(epsilon=1e-6)`). The square root never sees
# 0, so $\partial d_\varepsilon / \partial s = 1 / (2\sqrt{s + \varepsilon}) \le 1/(2\sqrt\varepsilon)$ is
# finite, and at $a = b$ the gradient is that finite number times 0: exactly 0. The price is a
# bias in the loss:
#
# - similar pairs pay $\tfrac12(d^2 + \varepsilon)$: a constant $\varepsilon/2$ more, which changes no
#   gradient;
# - dissimilar pairs are measured a little further apart than they are. The bias is largest at
#   $d = 0$, where it is $\tfrac12 m^2 - \tfrac12(m - \sqrt\varepsilon)^2 \approx m\sqrt{\varepsilon}$:
#   it grows with the **square root** of $\varepsilon$, so $\varepsilon = 10^{-6}$ shifts the loss by
#   up to about $10^{-3}$, not $10^{-6}$.
#
# **Claim:** measured on a fine grid of distances in float64 with the library's loss, the
# largest bias at $\varepsilon = 10^{-6}$ is $\varepsilon/2$ for similar pairs and $m\sqrt\varepsilon$ to
# within 1% for dissimilar pairs.

# %%
d = np.linspace(0, 2 * MARGIN, 20_001)          # float64
print(f"{'epsilon':>8} {'similar':>10} {'dissimilar':>11} {'m sqrt(epsilon)':>15}")
worst = {}
for lam in (1e-8, 1e-6, 1e-4, 1e-2):
    d_fixed = np.sqrt(d**2 + lam)
    worst[lam] = [np.abs(np.asarray(losses.contrastive_loss(np.full_like(d, y), d_fixed, MARGIN))
                         - np.asarray(losses.contrastive_loss(np.full_like(d, y), d, MARGIN))
                         ).max() for y in (1.0, 0.0)]
    print(f"{lam:>8.0e} {worst[lam][0]:>10.2e} {worst[lam][1]:>11.3e} "
          f"{MARGIN * np.sqrt(lam):>15.3e}")
rel = worst[1e-6][1] / (MARGIN * np.sqrt(1e-6)) - 1
print(f"at 1e-6: dissimilar bias / (m sqrt(epsilon)) - 1 = {rel:.4f} (check: within 1%)")
assert np.isclose(worst[1e-6][0], 1e-6 / 2, rtol=1e-6, atol=0), worst[1e-6]
assert abs(rel) < 0.01, rel

# %% [markdown]
# ### Fix 2: no square root at zero (the "double `where`")
#
# The second fix keeps the exact distance and sidesteps the square root only where $s = 0$,
# declaring the gradient there to be 0 (a valid choice: $d$ is not differentiable there):
# $d = \sqrt{s}$ for $s > 0$, and $0$ at $s = 0$. The obvious code is a single `where`,
# `where(s > 0, sqrt(s), 0)`. Its trap is the backward pass: a `where` sends a zero gradient
# into the branch it did not choose, but that branch is still differentiated, and there
# $\partial \sqrt{s} / \partial s = \infty$ at $s = 0$. In JAX and PyTorch the chain rule then
# computes $0 \cdot \infty$, which is `NaN` (the JAX FAQ, section "Gradients contain NaN where
# using `where`"). TensorFlow happens to return 0 there, as the similar pair of section 6
# showed: its square-root gradient is 0 whenever the incoming gradient is 0. Code that should
# run on every Keras backend cannot rely on that. The robust pattern uses a *second* `where` so
# that the square root never receives a 0: `sqrt(where(s > 0, s, 1))`. It has no bias at all.
#
# **Claim:** in TensorFlow the single-`where` gradient at $a = b$ is exactly zero (not `NaN`);
# the double-`where` gradient is exactly zero there too, and equal to the naive gradient where
# that one is defined.

# %%
def squared_distance(a, b):
    return keras.ops.sum(keras.ops.square(a - b), axis=-1, keepdims=True)


def single_where_distance(a, b):
    '''Exact distance, 0 where a == b; its gradient there is NaN in JAX, 0 in TensorFlow.'''
    s = squared_distance(a, b)
    return keras.ops.where(s > 0, keras.ops.sqrt(s), 0.0)


def safe_distance(a, b):
    '''Exact Euclidean distance whose gradient is 0 (not NaN) where a == b, in any backend.'''
    s = squared_distance(a, b)
    positive = s > 0
    return keras.ops.where(positive, keras.ops.sqrt(keras.ops.where(positive, s, 1.0)), 0.0)


def push_gradient(distance_fn, a_value, b_value):
    '''dL/da of the dissimilar pair (a_value, b_value) under the given distance function.'''
    a_var = tf.Variable([a_value])
    with tf.GradientTape() as tape:
        dist = distance_fn(a_var, tf.constant([b_value]))
        loss = losses.contrastive_loss(tf.constant([0.0]), dist)
    return tape.gradient(loss, a_var).numpy().ravel()


naive_distance = layers.EuclideanDistance(epsilon=0.0)
single_at_zero = push_gradient(single_where_distance, [0.3, -0.2], [0.3, -0.2])
at_zero = push_gradient(safe_distance, [0.3, -0.2], [0.3, -0.2])
elsewhere = (push_gradient(safe_distance, [0.3, -0.2], [0.1, 0.1]),
             push_gradient(lambda p, q: naive_distance([p, q]), [0.3, -0.2], [0.1, 0.1]))
print("single-where gradient at a == b (TensorFlow):", single_at_zero)
print("double-where gradient at a == b:", at_zero)
print("at a != b, double-where vs naive:", *elsewhere)

assert np.array_equal(single_at_zero, np.zeros(2)), single_at_zero
assert np.array_equal(at_zero, np.zeros(2)), at_zero
assert np.allclose(*elsewhere, rtol=1e-6), elsewhere

# %% [markdown]
# Both fixes give a dissimilar pair with $a = b$ a gradient of exactly zero: they stop the
# `NaN`, they do not push such a pair apart. For a pair of two *different* images that
# coincide only by chance, any other pair in the batch that moves $a$ or $b$ breaks the tie,
# and from then on the push is at full strength (notebook 04 comes back to this). Which fix to
# use? Fix 1 is one line, works in every framework, and its bias, about $m\sqrt\varepsilon$, is
# tiny at the default $\varepsilon$; it is the course's default. Fix 2 is exact, worth
# it when distances themselves are the product (a metric someone reads). A third option avoids
# the question: a loss on the squared distance $s$ (`EuclideanDistance(squared=True)`), whose
# gradient $2(a - b)$ is defined everywhere; that is a different loss with a different
# geometry, not the same one made safe.

# %%
results.record("03_contrastive_loss",
               auc_matching_convention=matched.roc_auc, auc_mixed_convention=mixed.roc_auc,
               **{f"sigmoid_gap_seed_{seed}": float(g) for seed, g in gap.items()},
               naive_first_nan_step=int(np.flatnonzero(np.isnan(naive))[0]),
               fixed_run_all_finite=bool(np.isfinite(fixed).all()),
               **{f"silhouette_margin_{m:g}": by_margin[m]["silhouette"] for m in MARGINS})

# %% [markdown]
# ## Summary
#
# - The contrastive loss pulls similar pairs together ($\tfrac12 d^2$, a spring of rest length
#   0) and pushes dissimilar ones out to the margin ($\tfrac12\max(m - d, 0)^2$, a spring that
#   goes slack at $m$). For an unbounded embedding the margin set the scale in our runs, and a
#   threshold must be chosen on validation pairs, not fixed.
# - Label conventions differ between papers and code. Mixed up, a model whose output is the
#   distance trains without complaint and learns nothing (the triangle inequality forbids the
#   inverted embedding); a sigmoid after the distance can flip its sign and learn anyway. An
#   accuracy read with the wrong convention reports the error rate.
# - A margin loss needs a distance. On a sigmoid output (with $m = 1$) it becomes a squared
#   error on $s$: learnable, but not a margin loss, and not reliably: seed 0 stays at the
#   constant answer (its head starts at a large negative weight), and learns when that
#   weight is negated; seed 1, with a small negative start, learns as it is.
# - $\partial \lVert a - b \rVert / \partial a$ is $0/0$ at $a = b$: in TensorFlow a coinciding
#   *dissimilar* pair gives a `NaN` that spreads into every weight. $\sqrt{d^2 + \varepsilon}$ fixes
#   it at a bias of about $m\sqrt\varepsilon$; the double-`where` distance fixes it exactly. Both
#   give such a pair a zero gradient: an image paired with itself and called different stays
#   inert, as label noise should.
#
# ## Further reading
#
# - J. Bromley, I. Guyon, Y. LeCun, E. Säckinger, R. Shah, *Signature Verification using a
#   "Siamese" Time Delay Neural Network*, NeurIPS 1993: the first Siamese network.
# - S. Chopra, R. Hadsell, Y. LeCun, *Learning a Similarity Metric Discriminatively, with
#   Application to Face Verification*, CVPR 2005: the energy-based pair loss before the margin
#   form.
# - R. Hadsell, S. Chopra, Y. LeCun, *Dimensionality Reduction by Learning an Invariant
#   Mapping*, CVPR 2006: the contrastive loss of this notebook (Section 2.1) and its spring
#   model (Section 2.2).
# - F. Schroff, D. Kalenichenko, J. Philbin, *FaceNet: A Unified Embedding for Face Recognition
#   and Clustering*, CVPR 2015: the triplet loss on unit-length embeddings (notebook 07).
# - K. Musgrave, S. Belongie, S.-N. Lim, *A Metric Learning Reality Check*, ECCV 2020: a careful
#   comparison of pair and triplet losses under one protocol, where the contrastive loss holds
#   its own.
# - A. C. Wilson, R. Roelofs, M. Stern, N. Srebro, B. Recht, *The Marginal Value of Adaptive
#   Gradient Methods in Machine Learning*, NeurIPS 2017: why the optimizer can change what is
#   learned, not only how fast (notebook 04).
#
# ## Exercises
#
# In these exercises you write the code, and a check tells you whether it is right. Each
# exercise cell starts with a placeholder, `raise NotImplementedError("your code here")`:
# replace it with your code and run the cell. `nb03.qK.check()` finds what you defined by its name and prints *Correct*, or
# what is wrong and where this notebook explains it. In each exercise cell, `nb03.qK.hint()` and
# `nb03.qK.solution()` show a hint and one way to do it, folded: click to open them when you
# want them.

# %%
from course_lib.exercises import nb03

# %% [markdown]
# ### Exercise 1: the contrastive loss, safe at $d = 0$
#
# Write `pair_loss(a, b, labels,
# margin=1.0, epsilon=1e-6)` in `keras.ops`: from two batches of embeddings `a` and `b`
# (batch, D) and labels (1 = same, as in this course), the distance
# $d = \sqrt{\sum_j (a_j - b_j)^2 + \varepsilon}$ and the loss of section 1, one value per pair,
# shape (batch,). The check compares it with the formula and with `losses.ContrastiveLoss`, and
# takes its gradient for a dissimilar pair with $a = b$, which it expects to be exactly zero
# (finite, as section 7's fix 1 promises, not `NaN`).

# %% tags=["exercise"]
def pair_loss(a, b, labels, margin=1.0, epsilon=1e-6):
    """Contrastive loss of each pair (label 1 = same), from embeddings a and b (batch, D)."""
    raise NotImplementedError("your code here")


# Stuck? These open folded: a hint, then one way to do it.
nb03.q1.hint()
nb03.q1.solution()
nb03.q1.check()

# %% [markdown]
# ### Exercise 2: the gradient where two embeddings coincide
#
# Write
# `dissimilar_gradient(distance_fn, point, margin=1.0)`: with `tf.GradientTape`, the gradient
# $\partial L / \partial a$ of a *dissimilar* pair's contrastive loss at $a = b =$ `point` (a
# list of D numbers), where `distance_fn(a, b)` maps two (1, D) batches to their (1, 1)
# distance. Return a NumPy array of shape (D,). Section 7 did this for the double-`where`
# distance; the check runs
# yours on the naive distance, on the fixed one, and on a test distance whose answer it knows.

# %% tags=["exercise"]
def dissimilar_gradient(distance_fn, point, margin=1.0):
    """dL/da of a dissimilar pair's contrastive loss at a = b = point, shape (D,)."""
    raise NotImplementedError("your code here")


# Stuck? These open folded: a hint, then one way to do it.
nb03.q2.hint()
nb03.q2.solution()
nb03.q2.check()

# %% [markdown]
# ### More to try
#
# 1. Replay the NaN run with `keras.callbacks.TerminateOnNaN()` in `fit`, or with
#    `tf.debugging.enable_check_numerics()`. Which one tells you *where* the NaN was born?
# 2. Put `keras.layers.UnitNormalization()` at the end of the encoder (embeddings on the unit
#    circle) and train with margins 1 and 4. What happens with $m = 4$, and why?
# 3. Find the largest $\varepsilon$ for which the margin-1 model's test ROC AUC stays within 0.01 of
#    the $\varepsilon = 10^{-6}$ model's.
#
# <details><summary>Solution 1</summary>
#
# ```python
# tf.debugging.enable_check_numerics()
# _, model = model_with_distance(0.0)
# for (a, b), y in stream:
#     model.train_on_batch([a, b], y)       # raises InvalidArgumentError at the planted step
# ```
# `TerminateOnNaN` stops training once a batch *loss* is NaN: one step after the cause, when the
# weights are already NaN, and it says nothing about where the NaN came from. `enable_check_numerics` raises at the first op
# that produces a NaN or Inf: here `SqrtGrad`, the gradient of the distance's square root, whose
# input is the `Sqrt` of `euclidean_distance`. It slows everything down, so switch it on only to debug
# (`tf.debugging.disable_check_numerics()`).
# </details>
#
# <details><summary>Solution 2</summary>
#
# ```python
# def unit_mlp():
#     base = models.mlp_encoder(embedding_dim=2, hidden=HIDDEN)
#     unit = keras.Model(base.input, keras.layers.UnitNormalization()(base.output))
#     return unit, models.siamese(unit)
#
# runs = {m: train(losses.ContrastiveLoss(margin=m), build=unit_mlp) for m in (1.0, 4.0)}
# ```
# (`train` draws an endless stream of pairs, so it never runs out of data; a plain
# `pair_dataset(...)` is one pass of 391 batches of 128.) On the unit circle no two points are
# more than 2 apart, so with $m = 4$ every dissimilar pair still pays at least
# $\tfrac12(4 - 2)^2 = 2$ and keeps pushing: the margin is no longer a stopping point, and the
# loss cannot fall below 1 on balanced pairs. Even $m = 1$ is more than the circle allows: ten
# digits spread evenly around it are only $2\sin(\pi/10) \approx 0.618$ from their neighbours,
# so some different-digit pairs can never get past a margin above that. With normalised
# embeddings the margin matters much more than in section 3.
# </details>
#
# <details><summary>Solution 3</summary>
#
# Train `train(losses.ContrastiveLoss(), build=lambda: siamese_mlp(head=layers.EuclideanDistance(epsilon=lam)))`
# for `lam in (1e-6, 1e-4, 1e-2, 1e-1)` and compare `score(run.encoder).roc_auc`. The bias
# formula predicts where to look: $m\sqrt\varepsilon$ is 0.01 at $\varepsilon = 10^{-4}$ and 0.1 (a tenth
# of the margin) at $10^{-2}$, where close dissimilar pairs are pushed noticeably less. Whether
# that moves the AUC by 0.01 is what the experiment tells you.
# </details>
