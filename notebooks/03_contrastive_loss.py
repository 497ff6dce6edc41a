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
# notebook takes the loss apart and then breaks it, the three ways it is most often broken in
# practice: labels read the wrong way round, a margin loss applied to a sigmoid, and a gradient
# that turns into `NaN` the moment two embeddings coincide.
#
# **What you will be able to do after this notebook**
#
# - write the contrastive loss of Hadsell, Chopra and LeCun (2006) term by term and say what the
#   margin does;
# - recognise the symptoms of a label-convention mix-up and of a margin loss on a sigmoid output;
# - derive why $\partial d / \partial a$ is $0/0$ when $a = b$, show it with `tf.GradientTape`,
#   and reproduce the `NaN` in a training run;
# - fix it two ways, and know what each fix costs.
#
# **Prerequisites:** notebook 01 (pairs, the Siamese model, verification by a threshold).
#
# **Sources of the claims under test.**
#
# - The loss: R. Hadsell, S. Chopra, Y. LeCun, *Dimensionality Reduction by Learning an
#   Invariant Mapping*, CVPR 2006.
# - The label convention 1 = similar, the `NaN` gradient at $d = 0$ and its fix
#   $\sqrt{d^2 + \lambda}$: the course's source material, Lei Mao's blog post *Siamese Network on
#   MNIST Dataset* (2017) and its repository leimao/Siamese_Network_MNIST.
# - The label-convention and accuracy puzzles: keras-team/keras issues #1866 and #7119 (the old
#   MNIST Siamese example), and keras-team/keras-io PR #1050 (2022: keras.io's
#   `siamese_contrastive` example switches to the paper's convention).
# - The margin loss on a sigmoid: keras.io's `siamese_contrastive` example (distance, then
#   `BatchNormalization`, then `Dense(1, activation="sigmoid")`, trained with the contrastive
#   loss), questioned in keras-team/keras-io issue #2230 and changed by PR #2261 (January 2026).

# %%
import sys

if "google.colab" in sys.modules:  # on Colab: install course_lib from the repository
    # %pip install -q "git+https://github.com/siamese-course/siamese-networks-course"

from course_lib import config

config.describe();

# %% tags=["parameters"]
STEPS = config.pick(full=1200, fast=200)     # training steps of each model below
EPOCHS = 4                                   # the steps are logged in this many "epochs"
BATCH_SIZE = 128
HIDDEN = 256                                 # a smaller MLP than notebook 01: six models to train
MARGIN = 1.0
MARGINS = (0.5, 1.0, 2.0, 4.0)               # the margin study
EVAL_PAIRS = config.pick(full=10_000, fast=2_000)
NAN_STEPS = config.pick(full=100, fast=40)   # the deterministic NaN run
PLANT_STEP = config.pick(full=50, fast=20)   # the step whose batch holds the coinciding pair
SEED = 0

config.seed_everything(SEED)

# %% [markdown]
# ## The loss, term by term
#
# A pair of images goes through the shared encoder $f$ to embeddings $a = f(x_1)$ and
# $b = f(x_2)$ at distance $d = \lVert a - b \rVert_2$. With the label $y = 1$ for a similar
# (same-class) pair and $y = 0$ for a dissimilar one, and a margin $m > 0$:
#
# $$L(d, y) = \underbrace{\tfrac12\, y\, d^2}_{\text{pull similar pairs together}}
# \;+\; \underbrace{\tfrac12\,(1 - y)\,\max(m - d,\ 0)^2}_{\text{push dissimilar pairs to } m} .$$
#
# - A **similar** pair costs $\tfrac12 d^2$: zero only when the two embeddings coincide, and the
#   pull grows with the distance ($\partial L / \partial d = d$).
# - A **dissimilar** pair costs $\tfrac12 (m - d)^2$ while it is closer than $m$, and **nothing**
#   beyond. The margin is where pushing stops: without it, the cheapest way to lower the loss
#   would be to blow every distance up without bound.
#
# `course_lib.losses.contrastive_loss` is exactly this formula; here it is, drawn for three
# margins.

# %%
import matplotlib.pyplot as plt
import numpy as np

from course_lib import losses

d = np.linspace(0, 2.5, 501)
fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
ax.plot(d, losses.contrastive_loss(np.ones_like(d), d), lw=2, color="black",
        label="similar pair (y = 1)")
for m in (0.5, 1.0, 2.0):
    ax.plot(d, losses.contrastive_loss(np.zeros_like(d), d, margin=m), lw=2,
            label=f"dissimilar pair (y = 0), margin m = {m}")
ax.set(xlabel="distance d between the two embeddings", ylabel="loss L(d, y)",
       title="The contrastive loss: similar pairs pulled in, dissimilar pushed out to m",
       ylim=(0, 2.2))
ax.legend();

# %% [markdown]
# ## Data and a small training helper
#
# MNIST again, with 10,000 training images held out for validation (thresholds are chosen there,
# never on the test set). We will train six models in this notebook, each a Siamese MLP to 2-D as
# in notebook 01 but with a hidden width of 256, for `STEPS` steps from the same initial weights
# and the same stream of pairs; only the thing under study changes.

# %%
import keras

from course_lib import data, distribute, evaluate, layers, models, pairs

(x_train_all, y_train_all), (x_test, y_test) = data.load_mnist()
x_train, y_train = x_train_all[:50_000], y_train_all[:50_000]
x_val, y_val = x_train_all[50_000:], y_train_all[50_000:]
val_pairs = pairs.pair_indices(y_val, EVAL_PAIRS, seed=1)
test_pairs = pairs.pair_indices(y_test, EVAL_PAIRS, seed=2)
strategy = distribute.get_strategy()
batch = distribute.global_batch_size(BATCH_SIZE, strategy)


def train(loss, sigmoid_head=None):
    '''Build the Siamese MLP (seed-fixed weights), train it on the seed-fixed pair stream.

    sigmoid_head: None (the distance is the output), "dense" (Dense + sigmoid on the distance)
    or "batchnorm" (BatchNormalization, then Dense + sigmoid, as in keras.io's example).
    '''
    keras.utils.set_random_seed(SEED)
    with strategy.scope():
        encoder = models.mlp_encoder(embedding_dim=2, hidden=HIDDEN)
        model = models.siamese(encoder)
        if sigmoid_head:   # section 2: squash the distance through a sigmoid
            h = model.output
            if sigmoid_head == "batchnorm":
                h = keras.layers.BatchNormalization()(h)
            squashed = keras.layers.Dense(1, activation="sigmoid")(h)
            model = keras.Model(model.inputs, squashed)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    stream = pairs.pair_dataset(x_train, y_train, batch_size=batch, seed=SEED, repeat=True)
    history = model.fit(stream, steps_per_epoch=STEPS // EPOCHS, epochs=EPOCHS, verbose=2)
    return encoder, model, history.history["loss"]


def verify(encoder):
    '''Verification on test pairs by embedding distance, threshold chosen on validation pairs.'''
    emb_val = encoder.predict(x_val, batch_size=5000, verbose=0)
    emb_test = encoder.predict(x_test, batch_size=5000, verbose=0)
    return evaluate.verification_report(
        evaluate.pair_distances(emb_val, *val_pairs[:2]), val_pairs[2],
        evaluate.pair_distances(emb_test, *test_pairs[:2]), test_pairs[2])


# %% [markdown]
# ## 1. Two label conventions
#
# The loss above uses $y = 1$ for *similar*, as the course's source material and notebook 01 do.
# Hadsell et al. write it the other way round: $Y = 0$ for similar, $Y = 1$ for dissimilar. Both
# are fine; mixing them is not. The mix-up happens when the pairs are labelled with one convention
# and the loss (copied from elsewhere) assumes the other: keras.io's Siamese example switched to
# the paper's convention in 2022 (PR #1050), so code written against the older version and the
# newer one disagree.
#
# `ContrastiveLoss(similar_label=...)` makes the convention an explicit argument. First the
# right way (our pairs say 1 = same):

# %%
enc_matched, _, loss_matched = train(losses.ContrastiveLoss(margin=MARGIN, similar_label=1))
matched = verify(enc_matched)
print(f"matching convention: test accuracy {matched.accuracy:.3f}, ROC AUC {matched.roc_auc:.3f}, "
      f"mean distance same {matched.mean_distance_similar:.3f} / different "
      f"{matched.mean_distance_different:.3f}")

# %% [markdown]
# Now the same data with a loss that believes 0 means similar:

# %%
enc_mixed, _, loss_mixed = train(losses.ContrastiveLoss(margin=MARGIN, similar_label=0))
mixed = verify(enc_mixed)
print(f"mixed-up convention: test accuracy {mixed.accuracy:.3f}, ROC AUC {mixed.roc_auc:.3f}, "
      f"mean distance same {mixed.mean_distance_similar:.3f} / different "
      f"{mixed.mean_distance_different:.3f}")

# %% [markdown]
# Nothing crashes and the loss is finite, but the network learns nothing: it is now asked to pull
# every pair of *different* digits together (with ten classes, that pulls everything to one
# place) while pushing same-digit pairs out to the margin. The compromise is a blob in which
# same-digit and different-digit pairs sit at the same distance, and the ROC AUC is that of a
# coin. You might have expected an *inverted* embedding; the numbers say otherwise.
#
# **Claim:** with matching conventions verification is good (AUC at least 0.9); mixed up, the
# AUC is within 0.1 of chance and the two kinds of pair are within 10% of each other's distance.

# %%
assert matched.roc_auc >= 0.9, matched.roc_auc
assert abs(mixed.roc_auc - 0.5) < 0.1, mixed.roc_auc
assert abs(mixed.mean_distance_similar / mixed.mean_distance_different - 1) < 0.1

# %% [markdown]
# The other half of the convention bug lives in the *accuracy*. The old MNIST example in Keras
# computed `mean((distance < 0.5) == label)`: a fixed threshold of 0.5, correct only when 1 means
# similar. Read with the other convention, a good model reports its error rate as its accuracy
# (issue #1866 is a user puzzled by exactly that). Same distances, two readings:

# %%
emb_test = enc_matched.predict(x_test, batch_size=5000, verbose=0)
d_test = evaluate.pair_distances(emb_test, *test_pairs[:2])
same = test_pairs[2]
print(f"rule 'same if d < 0.5', labels 1 = same: accuracy {np.mean((d_test < 0.5) == same):.3f}")
print(f"same rule, labels read as 1 = different: accuracy "
      f"{np.mean((d_test < 0.5) == (1 - same)):.3f}")

# %% [markdown]
# The fixed 0.5 is the second trap: it is a sensible threshold only because the margin is 1. The
# margin study at the end of this notebook shows it failing at other margins; choosing the
# threshold on validation pairs, as `evaluate.verification_report` does, avoids both traps.
#
# ## 2. A margin loss on a sigmoid
#
# The second classic mistake puts a `Dense(1, activation="sigmoid")` after the distance and
# feeds its output $s \in (0, 1)$ to the contrastive loss as if it were a distance. keras.io's
# `siamese_contrastive` example did this, with a `BatchNormalization` layer between the distance
# and the sigmoid, until January 2026 (issue #2230, changed by PR #2261). What exactly is wrong
# with it?
#
# - It is **not a margin loss any more.** With $m = 1$ and $s < 1$, $\max(1 - s, 0) = 1 - s$,
#   so the loss is $\tfrac12 y\, s^2 + \tfrac12 (1 - y)(1 - s)^2 = \tfrac12\,(s - (1 - y))^2$:
#   the squared error of $s$ as a prediction of "different". The margin, the point beyond which
#   a dissimilar pair stops being pushed, can never be reached; the distance underneath is free
#   to take any scale.
# - It is **not unlearnable**: a squared error on a probability is a proper objective (the
#   Brier score), minimised by the true probability of "different". But it is a different
#   objective from the one the name promises, with no floor above 0 (the loss approaches 0 only
#   as the sigmoid saturates, where its gradient vanishes), reached through a gradient scaled by
#   $\sigma'(\cdot) \le 1/4$.
# - A **constant** answer $s = 0.5$ costs $\tfrac12 \cdot 0.25 = 0.125$ on balanced pairs, the
#   best any constant can do. To beat it, the Dense layer must use the distance, and the encoder
#   must make the distance worth using, at the same time.
#
# First the identity, checked with the library's loss:

# %%
s_grid = np.linspace(0.001, 0.999, 999)
for label in (0.0, 1.0):
    y = np.full_like(s_grid, label)
    gap = np.asarray(losses.contrastive_loss(y, s_grid, margin=1.0)) - 0.5 * (s_grid - (1 - y))**2
    print(f"label {label:.0f}: largest |contrastive loss - squared error| = {np.abs(gap).max():.1e}")

# %% [markdown]
# **Claim:** on outputs in $(0, 1)$ with $m = 1$, the contrastive loss equals
# $\tfrac12 (s - (1 - y))^2$ (to float32 rounding).

# %%
for label in (0.0, 1.0):
    y = np.full_like(s_grid, label)
    assert np.allclose(losses.contrastive_loss(y, s_grid, margin=1.0),
                       0.5 * (s_grid - (1 - y))**2, atol=1e-6)

# %% [markdown]
# Now both variants, trained like the correct model: same initial encoder weights, same pairs,
# same steps.

# %%
sigmoid_runs = {}
for head in ("dense", "batchnorm"):
    enc, model, curve = train(losses.ContrastiveLoss(margin=1.0), sigmoid_head=head)
    s_out = model.predict([x_test[test_pairs[0]], x_test[test_pairs[1]]],
                          batch_size=5000, verbose=0).ravel()
    sigmoid_runs[head] = {"loss": curve, "s": s_out, "report": verify(enc)}
    print(f"{head:>9} head: final training loss {curve[-1]:.4f}; sigmoid output mean "
          f"{s_out[same == 1].mean():.3f} on same pairs, {s_out[same == 0].mean():.3f} on "
          f"different pairs; embedding ROC AUC {sigmoid_runs[head]['report'].roc_auc:.3f} "
          f"(the correct model: {matched.roc_auc:.3f})")

# %% [markdown]
# What the runs show, and no more: in this run (this seed, `STEPS` steps of Adam at $10^{-3}$,
# our MLP encoder), **both variants settle on the constant answer**: the loss sits at $1/8$, the
# sigmoid says about 0.5 to every pair, and the embedding underneath separates nothing. Batch
# normalisation before the sigmoid, keras.io's version, does not change that here. This does not
# show that the objective cannot be learned (other seeds, encoders, optimizers or many more
# steps may leave the plateau; keras.io's example used a convolutional encoder and RMSprop,
# which we do not rerun); it shows that the constant answer is a trap this objective readily
# falls into, and that even a model that escapes it optimises a squared error on $s$, not the
# margin geometry the loss is named for.
#
# **Claim:** for both variants, the loss ends within 4% of 0.125 (in the stored run, within
# 0.1%; the shorter fast mode leaves the batch-norm variant about 3% above it), the outputs
# average 0.5 to within 0.05, and the embedding's ROC AUC is at least 0.2 below the correct
# model's.

# %%
for head, run in sigmoid_runs.items():
    assert abs(run["loss"][-1] - 0.125) < 0.005, (head, run["loss"][-1])
    assert abs(run["s"].mean() - 0.5) < 0.05, (head, run["s"].mean())
    assert run["report"].roc_auc < matched.roc_auc - 0.2, (head, run["report"].roc_auc)

# %% [markdown]
# ## 3. The NaN gradient
#
# ### The algebra
#
# Write the squared distance $s = \sum_j (a_j - b_j)^2$ and $d = \sqrt{s}$. By the chain rule
#
# $$\frac{\partial d}{\partial a_1} = \frac{1}{2\sqrt{s}} \cdot 2 (a_1 - b_1) = \frac{a_1 - b_1}{d},$$
#
# which is $0/0$ when $a = b$. For a **dissimilar** pair the loss is
# $L = \tfrac12 \max(m - d, 0)^2$, so
#
# $$\frac{\partial L}{\partial a_1} = -(m - d)\,\frac{a_1 - b_1}{d}
# \;\xrightarrow{\;a = b\;}\; -m \cdot \frac{0}{0}.$$
#
# Mathematically the limit does not even exist (it depends on the direction from which $a$
# approaches $b$). In floating point, back-propagation computes the pieces separately:
# $\partial d / \partial s = 1 / (2\sqrt{0}) = \infty$, multiplied by
# $\partial s / \partial a_1 = 0$, gives `NaN`. For a **similar** pair the incoming gradient
# $\partial L / \partial d = d$ is itself 0, and TensorFlow's square-root gradient returns 0 when
# the incoming gradient is 0, so that term stays finite.
#
# ### `tf.GradientTape` on a hand-made pair
#
# Two identical embeddings, through the naive distance (`EuclideanDistance(epsilon=0)`) and through
# the course's default ($\varepsilon = 10^{-6}$, explained below):

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

# %% [markdown]
# **Claim:** at $d = 0$ the naive gradient of a dissimilar pair is `NaN`; with $\varepsilon$ every
# gradient is finite.

# %%
assert np.isnan(grads[0.0, "dissimilar"]).all()
assert all(np.isfinite(g).all() for (eps, _), g in grads.items() if eps > 0)


# %% [markdown]
# ### A training run that turns NaN
#
# When do two embeddings coincide in practice? When the same image (or an exact duplicate) appears
# on both sides of a pair, which a careless sampler or a dataset with duplicates produces; and
# when the encoder collapses, or its last ReLU layer dies, so that many inputs map to one point.
# A single such dissimilar pair in one batch is enough. We plant one, deterministically: at step
# `PLANT_STEP`, the first pair of the batch becomes an image paired with itself, labelled
# dissimilar. Two models start from the same weights and see the same batches; one has the naive
# distance, the other the fixed one.

# %%
def model_with_distance(epsilon):
    '''The Siamese MLP with seed-fixed weights and the given epsilon in its distance layer.'''
    keras.utils.set_random_seed(SEED)
    with strategy.scope():
        encoder = models.mlp_encoder(embedding_dim=2, hidden=HIDDEN)
        model = models.siamese(encoder, head=layers.EuclideanDistance(epsilon=epsilon))
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=losses.ContrastiveLoss(MARGIN))
    return model


stream = list(pairs.pair_dataset(x_train, y_train, batch_size=BATCH_SIZE, seed=SEED,
                                 steps=NAN_STEPS).as_numpy_iterator())
(left, right), labels = stream[PLANT_STEP]
right, labels = right.copy(), labels.copy()
right[0], labels[0] = left[0], 0.0           # an image paired with itself, called "different"
stream[PLANT_STEP] = (left, right), labels

step_losses = {}
for name, epsilon in (("naive, epsilon = 0", 0.0), ("fixed, epsilon = 1e-6", 1e-6)):
    model = model_with_distance(epsilon)
    step_losses[name] = np.array([model.train_on_batch([a, b], y) for (a, b), y in stream])
    first_nan = np.flatnonzero(np.isnan(step_losses[name]))
    weights_ok = all(np.isfinite(w).all() for w in model.get_weights())
    print(f"{name:>22}: first NaN loss at step {first_nan[0] if first_nan.size else None}, "
          f"weights finite after training: {weights_ok}")

# %%
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for name, curve in step_losses.items():
    ax.plot(np.arange(NAN_STEPS), curve, lw=2, label=name)
ax.axvline(PLANT_STEP, color="gray", ls="--", label="batch with the coinciding pair")
ax.set(xlabel="training step", ylabel="batch loss (NaN is not drawn)", yscale="log",
       title="One coinciding dissimilar pair ends the naive run")
ax.legend();

# %% [markdown]
# Even the planted batch's loss is finite: the forward pass only computes $d = 0$ and a loss of
# $m^2/2$ for that pair, nothing alarming. The `NaN` is in the *gradient*. The optimizer writes it
# into every weight, and from the next step on every loss is `NaN`: one pair out of thousands
# ended the training, and the loss curve only shows it one step after the cause. The fixed model
# sails through the same batch.
#
# **Claim:** the naive run's loss is finite up to and including the planted step and `NaN` at
# every step after it; the fixed run never produces a `NaN`.

# %%
naive, fixed = step_losses["naive, epsilon = 0"], step_losses["fixed, epsilon = 1e-6"]
assert np.isfinite(naive[: PLANT_STEP + 1]).all()
assert np.isnan(naive[PLANT_STEP + 1 :]).all()
assert np.isfinite(fixed).all()

# %% [markdown]
# ## 4. Two fixes, and what they cost
#
# ### Fix 1: $d_\lambda = \sqrt{d^2 + \lambda}$
#
# This is the course's default (`EuclideanDistance(epsilon=1e-6)`). The square root never sees 0,
# so $\partial d_\lambda / \partial s = 1 / (2\sqrt{s + \lambda}) \le 1/(2\sqrt\lambda)$ is finite,
# and at $a = b$ the gradient is that finite number times 0: exactly 0. The price is a bias in the
# loss:
#
# - similar pairs pay $\tfrac12(d^2 + \lambda)$: a constant $\lambda/2$ more, which changes no
#   gradient;
# - dissimilar pairs are measured a little further apart than they are. The bias is largest at
#   $d = 0$, where it is $\tfrac12 m^2 - \tfrac12(m - \sqrt\lambda)^2 \approx m\sqrt{\lambda}$: it
#   grows with the **square root** of $\lambda$, so $\lambda = 10^{-6}$ shifts the loss by up to
#   $10^{-3}$, not $10^{-6}$.
#
# Measured on a fine grid of distances (in float64, with the library's own loss function):

# %%
d = np.linspace(0, 2 * MARGIN, 20_001)          # float64
lambdas = np.logspace(-12, -1, 23)
worst = {"similar pairs": [], "dissimilar pairs": []}
for lam in lambdas:
    d_fixed = np.sqrt(d**2 + lam)
    for kind, label in (("similar pairs", 1.0), ("dissimilar pairs", 0.0)):
        y = np.full_like(d, label)
        bias = np.asarray(losses.contrastive_loss(y, d_fixed, MARGIN)) - np.asarray(
            losses.contrastive_loss(y, d, MARGIN))
        worst[kind].append(np.abs(bias).max())

fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
for kind, values in worst.items():
    ax.loglog(lambdas, values, "o-", label=f"{kind} (measured)")
ax.loglog(lambdas, MARGIN * np.sqrt(lambdas), "k:", label=r"$m\sqrt{\lambda}$")
ax.axvline(1e-6, color="gray", ls="--", label=r"course default $\lambda = 10^{-6}$")
ax.set(xlabel=r"$\lambda$", ylabel="largest |change of the loss| over d in [0, 2m]",
       title=r"Bias of $\sqrt{d^2 + \lambda}$ on the contrastive loss")
ax.legend();

# %% [markdown]
# **Claim:** at $\lambda = 10^{-6}$ the similar-pair bias is $\lambda/2$ and the dissimilar-pair
# bias is $m\sqrt\lambda$ to within 1%.

# %%
i = int(np.argmin(np.abs(lambdas - 1e-6)))
assert np.isclose(worst["similar pairs"][i], lambdas[i] / 2, rtol=1e-6)
assert np.isclose(worst["dissimilar pairs"][i], MARGIN * np.sqrt(lambdas[i]), rtol=0.01)


# %% [markdown]
# ### Fix 2: no square root at zero (the "double `where`")
#
# The second formulation keeps the exact distance and sidesteps the square root only where
# $s = 0$, declaring the gradient there to be 0 (a valid choice: the distance is not
# differentiable at that point):
#
# $$d = \begin{cases} \sqrt{s} & s > 0 \\ 0 & s = 0 \end{cases}$$
#
# The trap is the backward pass: a `where` sends a zero gradient into the branch it did not
# choose, but that branch is still differentiated, and $0 \cdot \infty$ is `NaN`. JAX's FAQ
# documents this for `jnp.where`. The robust pattern uses a *second* `where` so that the square
# root never even receives a 0: `sqrt(where(s > 0, s, 1))`. It has no bias at all, and the same
# gradient as the naive distance wherever that one is defined:

# %%
def safe_distance(a, b):
    '''Exact Euclidean distance whose gradient is 0 (not NaN) where a == b.'''
    s = keras.ops.sum(keras.ops.square(a - b), axis=-1, keepdims=True)
    positive = s > 0
    return keras.ops.where(positive, keras.ops.sqrt(keras.ops.where(positive, s, 1.0)), 0.0)


def dissimilar_gradient(distance_fn, a_value, b_value):
    a_var = tf.Variable([a_value])
    with tf.GradientTape() as tape:
        loss = losses.contrastive_loss(tf.constant([0.0]), distance_fn(a_var, tf.constant([b_value])))
    return tape.gradient(loss, a_var).numpy().ravel()


naive_distance = layers.EuclideanDistance(epsilon=0.0)
at_zero = dissimilar_gradient(safe_distance, [0.3, -0.2], [0.3, -0.2])
elsewhere = (dissimilar_gradient(safe_distance, [0.3, -0.2], [0.1, 0.1]),
             dissimilar_gradient(lambda p, q: naive_distance([p, q]), [0.3, -0.2], [0.1, 0.1]))
print("double-where gradient at a == b:", at_zero)
print("at a != b, double-where vs naive:", *elsewhere)

# %% [markdown]
# **Claim:** the double-`where` gradient is finite at $a = b$ and equal to the naive gradient
# where that one is defined.

# %%
assert np.isfinite(at_zero).all()
assert np.allclose(*elsewhere, rtol=1e-6)

# %% [markdown]
# Both fixes share one property worth knowing: at $a = b$ their gradient is not just finite but
# **exactly zero**, for the dissimilar pair too. With $\sqrt{d^2 + \lambda}$ the direction
# $(a - b)/d_\lambda$ is $0/\sqrt\lambda = 0$; the double `where` declares it 0. So a dissimilar
# pair whose embeddings coincide exactly is **not pushed apart by its own loss term**, although
# its loss, $\tfrac12 m^2$, is the largest a dissimilar pair can have: the fixes stop the `NaN`,
# they do not make the pair learnable. (Any other pair in the batch that moves $a$ or $b$ breaks
# the tie, and from then on the push is at full strength: notebook 04 comes back to this.)
#
# **Claim:** at $a = b$, the dissimilar pair's gradient is exactly zero with either fix.

# %%
assert np.array_equal(grads[1e-6, "dissimilar"], np.zeros(2)), grads[1e-6, "dissimilar"]
assert np.array_equal(at_zero, np.zeros(2)), at_zero

# %% [markdown]
# Which one to use? Fix 1 is one line, works in every framework and its bias ($10^{-3}$ at most
# for $m = 1$, measured above) is small next to the per-pair losses training reaches (the loss
# curves below end near $0.03\,m^2$); it is the course's default. Fix 2 is exact
# and worth it when distances themselves are the product (a metric someone reads). A third option
# avoids the question: a loss written on the squared distance $s$ only, such as a margin on $s$
# (`EuclideanDistance(squared=True)`), whose gradient $2(a - b)$ is defined everywhere; it is a
# different loss, with a different geometry, not the same one made safe.
#
# ## 5. What the margin does, measured
#
# The margin fixes the distance to which dissimilar pairs are pushed. Does it change the *quality*
# of the embedding, or only its *scale*? We train the same model with four margins and measure
# separation that does not depend on scale (silhouette, kNN accuracy, ROC AUC), the distances
# themselves, and the training loss divided by $m^2$ (the loss of an embedding scaled by $m$ is
# $m^2$ times larger, so this puts the curves on one footing).

# %%
margin_runs = {MARGIN: (enc_matched, loss_matched)}           # margin 1 was trained above
for m in MARGINS:
    if m not in margin_runs:
        encoder, _, curve = train(losses.ContrastiveLoss(margin=m))
        margin_runs[m] = (encoder, curve)

# %%
rows = []
for m in MARGINS:
    encoder, curve = margin_runs[m]
    report = verify(encoder)
    emb_train = encoder.predict(x_val, batch_size=5000, verbose=0)   # kNN reference set
    emb_test = encoder.predict(x_test, batch_size=5000, verbose=0)
    d_test = evaluate.pair_distances(emb_test, *test_pairs[:2])
    rows.append({
        "margin": m,
        "mean d same": report.mean_distance_similar,
        "mean d different": report.mean_distance_different,
        "different / m": report.mean_distance_different / m,
        "chosen threshold": report.threshold,
        "acc (chosen t)": report.accuracy,
        "acc (t = 0.5)": evaluate.threshold_accuracy(d_test, same, 0.5),
        "ROC AUC": report.roc_auc,
        "silhouette": evaluate.silhouette(emb_test, y_test, sample_size=5000, seed=SEED),
        "kNN acc": evaluate.knn_accuracy(emb_train, y_val, emb_test, y_test),
        "final loss / m^2": curve[-1] / m**2,
    })
print(f"{'':>18}" + "".join(f"{'m = ' + str(r['margin']):>10}" for r in rows))
for key in list(rows[0])[1:]:
    print(f"{key:>18}" + "".join(f"{r[key]:>10.3f}" for r in rows))

# %%
fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
steps_axis = np.arange(1, EPOCHS + 1) * (STEPS // EPOCHS)
for m in MARGINS:
    ax.plot(steps_axis, np.array(margin_runs[m][1]) / m**2, "o-", label=f"margin m = {m}")
ax.set(xlabel="training step", ylabel=r"training loss / $m^2$ (mean over the epoch)",
       title="Loss curves of four margins, on a common scale")
ax.legend();

# %% [markdown]
# In the stored run the margin acts almost purely as a **scale**: different-digit pairs end on
# average a little beyond $m$ (about $1.2m$: pairs already past the margin cost nothing and stay
# where they are), same-digit pairs at about $0.2m$, the threshold chosen on validation scales
# with $m$, and the scale-free measures (ROC AUC, silhouette, kNN accuracy) move little, as do the
# normalised loss curves. (Which margin is best on these measures would need several seeds to
# say: the differences are small and this study trains one seed per margin, so we do not rank
# them.) The encoder's last layer is linear and unbounded,
# so any margin can be met by scaling it. (It would be different for embeddings normalised to
# unit length, where no two points are more than 2 apart: see the exercises.) The fixed threshold
# 0.5 of the old Keras example, however, is only right for $m = 1$.
#
# **Claim:** for every margin, different-digit pairs end between $0.7m$ and $1.3m$ apart and the
# threshold chosen on validation lies between $0.35m$ and $0.65m$; the ROC AUC of all four margins
# lies within 0.05; a fixed threshold of 0.5 costs at least 15 points of accuracy at $m = 4$,
# compared with the threshold chosen on validation.

# %%
by_margin = {r["margin"]: r for r in rows}
assert all(0.7 <= r["different / m"] <= 1.3 for r in rows), [r["different / m"] for r in rows]
assert all(0.35 <= r["chosen threshold"] / r["margin"] <= 0.65 for r in rows)
aucs = [r["ROC AUC"] for r in rows]
assert max(aucs) - min(aucs) < 0.05, aucs
assert by_margin[4.0]["acc (t = 0.5)"] < by_margin[4.0]["acc (chosen t)"] - 0.15

# %%
from course_lib import results

results.record("03_contrastive_loss",
               auc_matching_convention=matched.roc_auc, auc_mixed_convention=mixed.roc_auc,
               sigmoid_head_final_loss=sigmoid_runs["dense"]["loss"][-1],
               auc_sigmoid_head=sigmoid_runs["dense"]["report"].roc_auc,
               auc_batchnorm_sigmoid_head=sigmoid_runs["batchnorm"]["report"].roc_auc,
               naive_first_nan_step=int(np.flatnonzero(np.isnan(naive))[0]),
               fixed_run_all_finite=bool(np.isfinite(fixed).all()),
               **{f"silhouette_margin_{m:g}": by_margin[m]["silhouette"] for m in MARGINS})

# %% [markdown]
# ## Summary
#
# - The contrastive loss pulls similar pairs together ($\tfrac12 d^2$) and pushes dissimilar ones
#   out to the margin ($\tfrac12\max(m - d, 0)^2$). For an unbounded embedding the margin mostly
#   sets the scale.
# - Label conventions differ between papers and code. Mixed up, training runs without complaint
#   and learns nothing; an accuracy read with the wrong convention reports the error rate. Make the
#   convention explicit, and choose thresholds on validation data.
# - A margin loss needs a distance. On a sigmoid output (with $m = 1$) it becomes a squared error
#   on $s$ whose margin can never be reached; in our runs, with or without batch normalisation,
#   it settled on the constant answer 0.5.
# - $\partial \lVert a - b \rVert / \partial a$ is $0/0$ at $a = b$; one coinciding dissimilar
#   pair turns the gradient, then every weight, into `NaN`. $\sqrt{d^2 + \lambda}$ fixes it at a
#   bias of about $m\sqrt\lambda$; the double-`where` distance fixes it exactly. Both give a
#   zero gradient at $a = b$: a coinciding dissimilar pair is not pushed apart by its own term.
#
# ## Exercises
#
# 1. Replay the NaN run with `keras.callbacks.TerminateOnNaN()` in `fit`, or with
#    `tf.debugging.enable_check_numerics()`. Which one tells you *where* the NaN was born?
# 2. Add `layers.L2Normalize()` at the end of the encoder (embeddings on the unit circle) and train
#    with margins 1 and 4. What happens with $m = 4$, and why?
# 3. Find the largest $\lambda$ for which the margin-1 model's test ROC AUC stays within 0.01 of
#    the $\lambda = 10^{-6}$ model's.
#
# <details><summary>Solution 1</summary>
#
# ```python
# tf.debugging.enable_check_numerics()
# model = model_with_distance(0.0)
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
# keras.utils.set_random_seed(SEED)
# base = models.mlp_encoder(embedding_dim=2, hidden=HIDDEN)
# unit = keras.Sequential([base, layers.L2Normalize()])
# model = models.siamese(unit)
# model.compile(optimizer="adam", loss=losses.ContrastiveLoss(margin=4.0))
# model.fit(pairs.pair_dataset(x_train, y_train, seed=SEED), steps_per_epoch=300, epochs=2)
# ```
# On the unit circle no two points are more than 2 apart, so with $m = 4$ every dissimilar pair
# still pays at least $\tfrac12(4 - 2)^2 = 2$ and keeps pushing: the margin is no longer a stopping
# point, and the loss cannot fall below 1 on balanced pairs. With normalised embeddings the margin
# must be below 2 (and it then matters much more than in section 5).
# </details>
#
# <details><summary>Solution 3</summary>
#
# Copy `train` with `head=layers.EuclideanDistance(epsilon=lam)` passed to `models.siamese`,
# train for `lam in (1e-6, 1e-4, 1e-2, 1e-1)` and compare `verify(encoder).roc_auc`. The bias
# formula predicts where to look: $m\sqrt\lambda$ is 0.01 at $\lambda = 10^{-4}$ and 0.1 (a tenth
# of the margin) at $10^{-2}$, where close dissimilar pairs are pushed noticeably less. Whether
# that moves the AUC by 0.01 is what the experiment tells you.
# </details>
