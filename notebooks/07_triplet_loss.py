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
# # 07 · Triplet loss and online mining
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/siamese-course/siamese-networks-course/blob/main/notebooks/07_triplet_loss.ipynb)
#
# The contrastive loss of notebooks 01 and 03 looks at two images at a time and asks for an
# absolute distance: small for a same-class pair, at least a margin for a different-class pair.
# The **triplet loss** asks for a *relative* one: an anchor must be closer to a positive (same
# class) than to a negative (another class), by a margin. FaceNet (Schroff et al. 2015) trained
# face embeddings this way; later face-recognition work turned to classification losses with a
# margin on the sphere (SphereFace, Liu et al. 2017; CosFace, Wang et al. 2018; ArcFace, Deng
# et al. 2019), which notebook 09 covers. The triplet loss raises a question the contrastive loss hides: *which*
# triplets to train on. After a little training most random triplets are already satisfied
# and teach nothing; finding
# the useful ones inside each batch ("online mining") is cheap once the batch's distance
# matrix is computed.
#
# **What you will be able to do after this notebook**
#
# - write the triplet loss, batch-all and batch-hard mining on a P x K batch with `keras.ops`,
#   and check them against `course_lib.losses`;
# - say what putting embeddings on the unit sphere does to a margin, and what it did not change
#   here;
# - recognise two failures from numbers logged in training (collapse into a small region; easy
#   triplets that give no loss);
# - read a comparison of losses the way Musgrave et al. (2020) ask: the same budget, margins
#   chosen on validation classes, several seeds, paired differences, and an honest count of
#   how often the test classes were looked at.
#
# **Prerequisites:** notebooks 01 and 03 (Siamese networks, the contrastive loss), 04 (the
# course's rule for comparing runs: paired differences, detectable effects) and 06 (one-shot
# evaluation on Omniglot, Lake's 20 runs).
#
# **Sources.** F. Schroff, D. Kalenichenko, J. Philbin, *FaceNet*, CVPR 2015 (the triplet loss,
# section 3; semi-hard negatives and the collapse that hardest negatives can cause, section 3.2).
# A. Hermans, L. Beyer, B. Leibe, *In Defense of the Triplet Loss for Person Re-Identification*,
# arXiv, 2017 (P x K batches, batch-all and batch-hard, section 2). K. Musgrave,
# S. Belongie, S.-N. Lim, *A Metric Learning Reality Check*, ECCV 2020 (the protocol and MAP@R,
# section 3; the experiments, section 4). R. Hadsell, S. Chopra, Y. LeCun, CVPR 2006 (the contrastive loss). H. Wang et al.,
# *CosFace*, CVPR 2018; J. Deng et al., *ArcFace*, CVPR 2019. B. M. Lake et al., Science 2015
# (Omniglot and the 20 one-shot runs).

# %%
import sys

if "google.colab" in sys.modules:  # on Colab: install course_lib from the repository
    # %pip install -q "git+https://github.com/siamese-course/siamese-networks-course"

from course_lib import config

config.describe()

# %% tags=["parameters"]
# Every training run shows the encoder P x K = 48 images per step. The comparison of all losses
# (5 seeds each, margins chosen on validation) is longer than a lesson: scripts/study_07.py
# made its file and this notebook reads it; the runs below are the small, live part.
P, K = 16, 3                 # characters x drawings per batch: 48 images per step
LEARNING_RATE = 1e-3         # Adam
DEMO_STEPS = config.pick(full=300, fast=20)   # each demonstration run
DEMO_CHUNKS = config.pick(full=6, fast=2)     # ... logged after each of this many chunks
LIVE_STEPS = config.pick(full=600, fast=20)   # the live run of the comparison's protocol
LIVE_CHUNKS = config.pick(full=12, fast=1)    # ... in as many chunks as the study's runs
MARGIN_TOY = 0.2             # the hand-written losses on one batch
LARGE_MARGIN = 1.0           # the collapse demonstration: half the sphere's diameter
SEED = 0

config.seed_everything(SEED)

# %% [markdown]
# ## The data
#
# `unseen.omniglot_protocol` loads the protocol every loss is compared on: three of the five
# alphabets of Omniglot's `background_small1` split for training (each character rotated by
# 90°, 180° and 270° also counts as a new class, as in notebook 06), one whole alphabet for
# **validation** (every choice is made there) and one for the **test** of retrieval; the
# one-shot test uses Lake's 20 runs, whose alphabets the network never sees either.
#
# Retrieval is scored by **MAP@R** (Musgrave et al. 2020, section 3): each image is a query
# against all the others; if its class has $R$ other images, look at its $R$ nearest
# neighbours, take the precision at each rank that holds one of its class, sum them and divide
# by $R$; then average over the queries. It is 1 when every query's $R$ nearest are exactly its
# class, and it rewards ranking them first, where recall@1 only asks about the single nearest.

# %%
import numpy as np

from course_lib import unseen

protocol = unseen.omniglot_protocol()
for part, y in (("training", protocol.y_train), ("validation", protocol.y_val),
                ("test", protocol.y_test)):
    print(f"{part:>10}: {len(y):5d} images, {len(np.unique(y)):3d} classes, "
          f"{protocol.alphabets[part]}")
print(f"one-shot test: Lake's {len(protocol.runs)} runs of 20-way tasks")

# %% [markdown]
# ## The triplet loss, by hand
#
# For an anchor $a$, a positive $p$ (same class) and a negative $n$ (another class), with $d$
# the Euclidean distance between embeddings and a margin $m > 0$ (FaceNet, Schroff et al. 2015,
# eq. 2, writes it with *squared* distances; this notebook follows Hermans et al. 2017, section
# 2, who use the plain distance):
#
# $$L(a, p, n) = \max\big(d(a, p) - d(a, n) + m,\ 0\big).$$
#
# It is zero once the negative is farther than the positive by at least $m$. FaceNet names
# hard and semi-hard negatives, and later work calls the rest easy, so there are three kinds:
# **easy** ($d(a,n) \ge d(a,p) + m$, loss 0), **semi-hard** (the negative is farther than the
# positive, but within the margin) and **hard** (the negative is closer than the positive).
# Three 2-D toy triplets, one of each kind:

# %%
from keras import ops


def triplet_loss_by_hand(anchor, positive, negative, margin):
    d_ap = ops.sqrt(ops.sum(ops.square(anchor - positive), axis=-1) + 1e-6)
    d_an = ops.sqrt(ops.sum(ops.square(anchor - negative), axis=-1) + 1e-6)
    return ops.relu(d_ap - d_an + margin)


anchor = np.zeros((3, 2), "float32")
positive = np.array([[0.3, 0.0]] * 3, "float32")
negative = np.array([[1.0, 0.0], [0.0, 0.4], [-0.1, 0.0]], "float32")   # easy, semi-hard, hard
toy = ops.convert_to_numpy(triplet_loss_by_hand(anchor, positive, negative, MARGIN_TOY))
for kind, value in zip(["easy", "semi-hard", "hard"], toy):
    print(f"{kind:>9} triplet: loss {value:.3f}")

# %% [markdown]
# `course_lib.losses.triplet_loss` takes the two distances of each triplet.
#
# **Claim:** the hand-written loss and `losses.triplet_loss` agree; the easy triplet costs
# nothing, the semi-hard one less than the margin, the hard one more.

# %%
from course_lib import losses

d = lambda u, v: np.sqrt(((u - v) ** 2).sum(1) + 1e-6)  # noqa: E731
packaged = ops.convert_to_numpy(losses.triplet_loss(d(anchor, positive), d(anchor, negative),
                                                    MARGIN_TOY))
print(f"largest difference: {np.abs(toy - packaged).max():.1e}")
assert np.allclose(toy, packaged, atol=1e-6)
assert toy[0] == 0 and 0 < toy[1] < MARGIN_TOY < toy[2]

# %% [markdown]
# ## Online mining on a P x K batch, by hand
#
# Once training has begun, triplets sampled one by one are mostly easy ones. Hermans et al. (2017) draw batches of
# **P classes x K examples** and form the triplets inside the batch: each of the $PK$ anchors
# has $K - 1$ positives and $(P - 1)K$ negatives there, all read off one $PK \times PK$ matrix
# of distances. All pairwise distances come from one matrix product, $\|e_i - e_j\|^2 =
# \|e_i\|^2 + \|e_j\|^2 - 2 e_i \cdot e_j$ (rounding can make it slightly negative, hence the
# clip; the small constant under the root keeps the gradient finite, notebook 03), and two
# masks say which pairs are positives (same class, not the anchor itself) and which negatives.
# The encoder, `unseen.embedding_model`, is notebook 06's four-block conv net on the unit
# sphere; untrained, its embeddings are arbitrary, which is all a check needs.

# %%
from course_lib import pk_sampling

images, labels = next(iter(pk_sampling.pk_dataset(protocol.x_train, protocol.y_train, P, K,
                                                  seed=SEED, repeat=True)))
emb = unseen.embedding_model(protocol.image_shape, seed=SEED)(images, training=False)


def distance_matrix(e):
    sq = ops.sum(ops.square(e), axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * ops.matmul(e, ops.transpose(e))
    return ops.sqrt(ops.maximum(d2, 0.0) + 1e-6)


def masks(y):
    same = ops.equal(y[:, None], y[None, :])
    not_self = ops.logical_not(ops.eye(ops.shape(y)[0], dtype="bool"))
    return ops.logical_and(same, not_self), ops.logical_not(same)


is_pos, is_neg = masks(labels)
print(f"batch: {images.shape[0]} images of {len(np.unique(labels))} classes; embeddings "
      f"{tuple(emb.shape)}; {int(ops.sum(is_pos))} positive and {int(ops.sum(is_neg))} "
      f"negative (anchor, other) pairs")

# %% [markdown]
# **Batch-all** uses every valid triplet: broadcasting the matrix against itself gives a
# $PK \times PK \times PK$ tensor whose entry $(a, p, n)$ is $d(a,p) - d(a,n) + m$; keep the
# valid ones and average over those whose loss is still positive (Hermans et al.'s "BA≠0":
# averaging over all of them would let the many easy zeros dilute the few useful ones).
# **Batch-hard** keeps one triplet per anchor, its farthest positive against its nearest
# negative, and averages over the anchors. Before the max over positives the code fills the
# other entries with 0, which can never win because distances are at least 0 (the exercise's
# hint uses $-\infty$, which works for any values); before the min over negatives it fills
# with $+\infty$.

# %%
def batch_all_by_hand(y, e, margin):
    dd = distance_matrix(e)
    pos, neg = masks(y)
    per_triplet = ops.relu(dd[:, :, None] - dd[:, None, :] + margin)
    valid = ops.logical_and(pos[:, :, None], neg[:, None, :])
    per_triplet = ops.where(valid, per_triplet, 0.0)
    active = ops.sum(ops.cast(per_triplet > 0, "float32"))
    return ops.sum(per_triplet) / ops.maximum(active, 1.0)


def batch_hard_by_hand(y, e, margin):
    dd = distance_matrix(e)
    pos, neg = masks(y)
    hardest_positive = ops.max(ops.where(pos, dd, 0.0), axis=1)
    hardest_negative = ops.min(ops.where(neg, dd, np.inf), axis=1)
    return ops.mean(ops.relu(hardest_positive - hardest_negative + margin))


# %% [markdown]
# `course_lib.losses` holds both as registered Keras losses (`BatchAllTripletLoss`,
# `BatchHardTripletLoss`, tested against a loop over every triplet), plus a third: **semi-hard**
# mining (Schroff et al. 2015, section 3.2, state the semi-hard condition, on squared
# distances): `course_lib` pairs each anchor-positive pair with its nearest negative that is
# still *farther* than the positive, the rule of TensorFlow Addons. When an anchor-positive
# pair has no such negative, `SemiHardTripletLoss` falls back to its farthest negative, as TensorFlow Addons'
# `TripletSemiHardLoss` does (FaceNet itself does not say). `losses.active_triplet_fraction` is
# the share of a batch's valid triplets whose loss is positive.
#
# **Claim:** on the same batch, each hand-written loss equals its `course_lib.losses` version.

# %%
by_hand = {"batch_all": batch_all_by_hand, "batch_hard": batch_hard_by_hand}
agree = {name: (float(fn(labels, emb, MARGIN_TOY)),
                float(losses.get(name, margin=MARGIN_TOY)(labels, emb)))
         for name, fn in by_hand.items()}
for name, (mine, lib) in agree.items():
    print(f"{name:>10}: by hand {mine:.6f}, course_lib {lib:.6f}")
print(f"untrained encoder: {float(losses.active_triplet_fraction(labels, emb, MARGIN_TOY)):.1%}"
      f" of the batch's triplets are active")
assert len(agree) == 2 and all(np.isclose(m, lib, rtol=1e-5, atol=1e-6)
                               for m, lib in agree.values())

# %% [markdown]
# ## The unit sphere and what a margin means
#
# Untrained, almost every triplet of the batch is active (the share printed above); failure 2
# below shows how that share falls as training goes on.
#
# Multiply every embedding by a constant $c$ and every distance is multiplied by $c$, so
#
# $$L(ca, cp, cn;\ m) = c\,L(a, p, n;\ m / c).$$
#
# On raw embeddings a margin has no scale of its own: the network can meet any margin by
# blowing the embeddings up. On the unit sphere ($\|e\| = 1$, so $d \in [0, 2]$ and
# $d^2 = 2 - 2\cos$) the scale is fixed, and a margin of 0.2 is a tenth of the sphere's
# diameter. FaceNet puts its embeddings on the sphere too (section 3); its margin (set to 0.2,
# section 3.3) applies to squared distances, which lie in $[0, 4]$.
#
# **Claim:** on raw embeddings, each mining loss of $10e$ with margin 1 equals 10 times its loss
# of $e$ with margin 0.1 (to float rounding). The cell sets the loss's `epsilon` to zero: the
# small constant under the square root, $\sqrt{d^2 + \epsilon}$, would not scale with the
# embeddings.

# %%
raw = unseen.embedding_model(protocol.image_shape, seed=SEED, normalise=False)(images,
                                                                               training=False)
scaling = {name: (float(losses.get(name, margin=1.0, epsilon=0.0)(labels, 10.0 * raw)),
                  10 * float(losses.get(name, margin=0.1, epsilon=0.0)(labels, raw)))
           for name in ("batch_all", "batch_hard", "semi_hard")}
for name, (scaled, small) in scaling.items():
    print(f"{name:>10}: L(10 e; m=1) = {scaled:.5f}, 10 L(e; m=0.1) = {small:.5f}")
assert len(scaling) == 3 and all(np.isclose(a, b, rtol=1e-4) for a, b in scaling.values())

# %% [markdown]
# What that does in training: batch-all (margin 0.2) from the same start, with and without the
# unit sphere, `DEMO_STEPS` steps each. Before training and after each chunk we log, on the
# validation alphabet, the embeddings' mean norm, their spread (`evaluate.embedding_spread`, the
# root-mean-square distance to their centroid: 0 when they all coincide; on the unit sphere,
# embeddings scattered evenly in every direction have a spread near 1) and the margin as a share
# of their mean distance. These demonstrations use the encoder without batch normalisation
# (`batch_norm=False`): it then computes the same embeddings in training and at inference, so
# the log shows the embeddings being trained.

# %%
import pandas as pd

from course_lib import evaluate


def stats(margin):
    def on_chunk(model):
        e = np.asarray(model(protocol.x_val, training=False))
        dist = np.sqrt(((e[:, None] - e[None]) ** 2).sum(-1))
        return {"norm": float(np.linalg.norm(e, axis=1).mean()),
                "spread": evaluate.embedding_spread(e),
                "margin / mean distance": margin / float(dist[dist > 0].mean())}
    return on_chunk


def demo(loss_name, margin, **kwargs):
    run = unseen.train_embedding(losses.get(loss_name, margin=margin), protocol,
                                 steps=kwargs.pop("steps", DEMO_STEPS), seed=SEED, p=P, k=K,
                                 learning_rate=LEARNING_RATE, batch_norm=False,
                                 chunks=kwargs.pop("chunks", DEMO_CHUNKS),
                                 on_chunk=stats(margin), **kwargs)
    return run, pd.DataFrame(run.log).set_index("step")


sphere, sphere_log = demo("batch_all", 0.2)
flat, flat_log = demo("batch_all", 0.2, normalise=False)
cols = ["norm", "spread", "margin / mean distance"]
print(pd.concat({"unit sphere": sphere_log[cols], "raw": flat_log[cols]}, axis=1).round(3))

# %% [markdown]
# **Claim:** without normalisation the embeddings grow during training, and the margin ends a
# smaller share of the mean distance than on the unit sphere (where it falls too, from its
# start).
#
# The validation MAP@R of the two runs is printed too. It is one run each (one seed, no batch
# normalisation, no interval), so it cannot tell whether normalising changes how well the
# embeddings rank. Our reading, not a measurement: what the sphere buys is a margin that cannot
# shrink without bound while the network trains.

# %%
growth = flat_log["norm"].iloc[-1] / flat_log["norm"].iloc[0]
ratio = {"raw": flat_log["margin / mean distance"].iloc[-1],
         "sphere": sphere_log["margin / mean distance"].iloc[-1]}
val_map = {name: evaluate.map_at_r(np.asarray(run.embed(protocol.x_val, training=False)),
                                   protocol.y_val) for name, run in (("sphere", sphere),
                                                                     ("raw", flat))}
print(f"raw embeddings: mean norm x{growth:.1f}; margin / mean distance at the end: "
      f"{ratio['raw']:.3f} raw, {ratio['sphere']:.3f} on the sphere (at the start "
      f"{sphere_log['margin / mean distance'].iloc[0]:.3f})")
print(f"validation MAP@R: {val_map['sphere']:.3f} on the sphere, {val_map['raw']:.3f} raw")
assert growth > config.pick(full=1.5, fast=1.0)
assert ratio["raw"] < ratio["sphere"]
assert ratio["sphere"] < sphere_log["margin / mean distance"].iloc[0]

# %% [markdown]
# ## Failure 1: hardest triplets from a cold start can collapse
#
# Schroff et al. (2015, section 3.2) report that selecting the hardest negatives can lead to bad
# local minima early in training, a *collapsed* model that maps every image to the same point.
# Then $d(a,p) = d(a,n)$ for all triplets, every triplet costs exactly the margin, and the
# gradient that would separate the classes vanishes. We train batch-hard with margin 1.0 (half
# the sphere's diameter) from random weights, then the same start with two changes, one at a
# time: **semi-hard** mining with the same margin, and a **warm start** (batch-all for half the
# steps, then batch-hard).

# %%
cold, cold_log = demo("batch_hard", LARGE_MARGIN)
semi, semi_log = demo("semi_hard", LARGE_MARGIN)
half = dict(steps=DEMO_STEPS // 2, chunks=max(1, DEMO_CHUNKS // 2))
warm, warm_log_1 = demo("batch_all", LARGE_MARGIN, **half)
warm, warm_log_2 = demo("batch_hard", LARGE_MARGIN, model=warm.embed, **half)
warm_log_2.index += DEMO_STEPS // 2
spread = pd.DataFrame({"batch-hard, cold": cold_log["spread"],
                       "semi-hard": semi_log["spread"],
                       "batch-all, then batch-hard": pd.concat(
                           [warm_log_1["spread"], warm_log_2["spread"].iloc[1:]])})
print(spread.round(3))

# %% [markdown]
# **Claim:** (full run only) with margin 1.0, batch-hard from a cold start collapses: after the
# first chunk of steps the spread of its embeddings is below 0.05 (every character in a small
# cap of the sphere) for at least half of the chunks, while with semi-hard mining or the warm
# start it stays above 0.4 after the first chunk (0.4: a line far above the collapsed values
# and, in this run, below every value of the two fixes; it was drawn after seeing the table).
# By the last chunk the cold run has begun to spread out again (its last row above).

# %%
trained = spread.iloc[1:]                      # after each chunk of training
collapsed = trained["batch-hard, cold"] < 0.05
fixes = trained[["semi-hard", "batch-all, then batch-hard"]]
cold_spread = trained["batch-hard, cold"]
print(f"margin {LARGE_MARGIN}; batch-hard, cold: spread below 0.05 after {collapsed.sum()} of "
      f"{len(collapsed)} chunks, lowest {cold_spread.min():.3f}, last {cold_spread.iloc[-1]:.3f}"
      f"; lowest spread of the two fixes: {fixes.min().min():.3f} (check: above 0.4)")
if not config.fast_mode():       # fast-mode runs are too short for the fixes to spread out
    assert collapsed.iloc[0] and collapsed.sum() >= len(collapsed) / 2
    assert (fixes > 0.4).all().all() and cold_spread.iloc[-1] > cold_spread.min()

# %% [markdown]
# ## The comparison: every loss on characters never seen
#
# Musgrave et al. (2020, abstract and section 4) found that many reported gains of newer
# metric-learning losses shrink to "marginal at best" when losses are compared fairly: the same
# network and embedding size, the same batches and budget, hyper-parameters chosen on validation
# classes, several runs; the contrastive (2006) and triplet (2015) losses then held their own.
# Our version, at a small scale, eight rows at 48 images per step:
#
# | loss | batch | what it compares |
# | --- | --- | --- |
# | contrastive pairs (Hadsell et al. 2006) | 24 random pairs, half same-class | 24 pair distances |
# | contrastive, all pairs | P x K = 16 x 3 | every pair of the batch, each kind averaged over all its pairs |
# | contrastive, active pairs | P x K | the same, each kind averaged over its pairs with loss > 0 |
# | random triplets | 16 random triplets | one triplet per anchor |
# | batch-all | P x K | every valid triplet, active ones averaged |
# | batch-hard | P x K | each anchor's hardest positive vs hardest negative |
# | semi-hard | P x K | each positive pair vs its nearest farther negative |
# | N-way (notebook 06) | one episode of 24 classes x 2 | softmax over 24 candidates |
#
# Rows 2 and 3 feed the contrastive loss (`BatchContrastiveLoss`) the same P x K batches as
# the mining losses, so that the batch and the formula can be told apart; row 3 averages the
# way batch-all does, so that the many different-class pairs already beyond the margin do not
# dilute the rest (pytorch-metric-learning's `ContrastiveLoss`, from the authors of Musgrave et
# al.'s benchmark, also averages its non-zero pair losses by default, per its documentation;
# its hinges are not squared, unlike Hadsell et al.'s and ours). All but the N-way loss train on the unit sphere;
# the N-way loss trains on raw embeddings as in notebook 06, without notebook 06's one-alphabet
# episodes, pixel shifts and longer schedule, so its row measures the loss, not that recipe.
# Every run uses the encoder with batch normalisation, and a seed draws the same initial
# weights for every loss.
#
# `scripts/study_07.py` made the file read below (`flock /tmp/course_heavy.lock python -m
# scripts.study_07`): each loss's margin chosen among two candidates by MAP@R on the validation
# alphabet (seed 0, `study.sweep_steps` steps each, printed), then 5 seeds x 8 losses trained
# and scored on the test alphabet (retrieval, each image a query against all others) and on
# Lake's 20 runs. `results.read_losses` reads it and checks every field. This tuning is far
# thinner than Musgrave et al.'s (cross-validation and Bayesian search over many trials): two
# margins per loss, one seed, a short run; with two candidates the best margin may lie outside
# the pair, and the comparison below holds at these margins. The sweep's scores compare the
# margins of one loss with each other, not the losses: its short runs on another alphabet rank
# the losses differently from the full runs on the test alphabet.
#
# **How often the test alphabet was looked at.** It was scored in three studies of this
# protocol: two earlier versions of this comparison (six, then eight losses, 3 seeds each) and
# this file. The family of comparisons below was revised after an earlier study's test
# results, and this file's first 3 seeds were scored before seeds 3 and 4 were added (with
# those 3 seeds, one of the six comparisons was detectable). Adding seeds after a look, and
# revising the family, are choices the Holm correction does not cover: the p values below are
# not confirmatory. Only a fresh test alphabet would give confirmatory ones.

# %%
from course_lib import results

study = results.read_losses()
print(f"{study.date}: {study.steps} steps per run, seeds {list(study.seeds)}, "
      f"{study.total_minutes} min on {study.machine['cpus']} CPUs "
      f"(load {study.machine['load_average']})")
print(f"margin sweep: {study.sweep_steps} steps per run, seed 0, validation alphabet")
print(pd.DataFrame(study.sweep).round(4).to_string(index=False))
print("chosen margins:", study.margins)

# %% [markdown]
# Mean ± std over the 5 seeds, and nearest neighbour on raw pixels, the baseline every loss
# must beat (the dashed line in the figure, which shows every run). The `seconds` column is training time on the machine
# that ran the script, building each model included; other jobs shared its 2 cores while it
# ran, so the column cannot say what mining costs in time, and no claim is made about it.

# %%
from course_lib import plots

METRICS = ["recall@1", "map@r", "one-shot 20-way"]
table = study.table()
summary = table.groupby("loss", sort=False)[METRICS + ["seconds"]].agg(["mean", "std"])
shown = pd.DataFrame({m: [f"{a:.{d}f} ± {b:.{d}f}" for a, b in summary[m].to_numpy()]
                      for m, d in zip(METRICS + ["seconds"], [3, 3, 3, 1])}, index=summary.index)
shown.loc["1-NN on pixels"] = [f"{study.pixels[m]:.3f}" for m in METRICS] + ["-"]
print(shown.to_string())
plots.plot_metrics_by_group(
    table, METRICS, by="loss",
    title=f"Unseen characters: {len(study.seeds)} seeds, {study.steps} steps of {P * K} images",
    labels={"map@r": "MAP@R (test alphabet)", "recall@1": "recall@1 (test alphabet)",
            "one-shot 20-way": "20-way one-shot (Lake's runs)", "loss": "loss"},
    baselines={m: study.pixels[m] for m in METRICS}, baseline_label="1-NN on pixels");

# %% [markdown]
# **Claim:** every loss beats nearest neighbour on pixels on all three metrics, in every seed.
# And batch-hard, trained here with batch normalisation and the margin chosen on validation
# (0.1), does not collapse: the spread of its test embeddings stays far above failure 1's 0.05
# in every seed.

# %%
margins_over_pixels = {m: float((table[m] - study.pixels[m]).min()) for m in METRICS}
print("smallest lead over pixels:", {m: round(v, 3) for m, v in margins_over_pixels.items()})
print(f"{len(table)} runs: {len(study.losses)} losses x {len(study.seeds)} seeds")
hard_spread = np.array([study.run("batch-hard", s).scores["spread"] for s in study.seeds])
print(f"batch-hard (margin {study.margins['batch-hard']}): test-embedding spread per seed "
      f"{np.round(hard_spread, 3)} (check: all above {0.05})")
assert len(table) == len(study.losses) * len(study.seeds)
assert all(v > 0 for v in margins_over_pixels.values())
assert (hard_spread > 0.05).all()

# %% [markdown]
# ### Which differences are detectable
#
# Seeds share the initial weights across losses, so the comparison is **paired**: for each
# seed, the difference between two losses, then a t test on the per-seed differences (5 here)
# (`evaluate.compare_many`, the course's one rule, notebook 04). Holm's correction keeps the
# chance of any false alarm in the whole family at 5%: it tests the smallest p value at
# 0.05/6, the next at 0.05/5, and so on, and reports each p value multiplied accordingly (the
# "Holm-adjusted p"); the "99.2% CI" printed is the interval at level $1 - 0.05/6$. Comparing mean ± std intervals instead
# would ignore the pairing and has no fixed error rate. The family, on MAP@R: each mining loss
# against contrastive pairs; then one change at a time from contrastive pairs to batch-hard:
# contrastive on all pairs of a P x K batch against contrastive pairs (the batch: both average
# over all their pairs), contrastive on the active pairs against on all pairs (the averaging,
# on the same batches), and batch-hard against contrastive on the active pairs (the formula).
#
# Two things to read the printout right. The **smallest detectable effect** is the difference
# this design would detect with the power of notebook 04's rule (four times in five). The
# intervals and smallest detectable effects are printed at Holm's strictest level (the level
# divided by the number of comparisons), while Holm tests the later comparisons at looser
# levels, so a comparison can be detectable although its printed interval crosses 0.

# %%
FAMILY = [("batch-all", "contrastive pairs"), ("batch-hard", "contrastive pairs"),
          ("semi-hard", "contrastive pairs"), ("contrastive, all pairs", "contrastive pairs"),
          ("contrastive, active pairs", "contrastive, all pairs"),
          ("batch-hard", "contrastive, active pairs")]
map_at_r = {name: study.scores(name, "map@r") for name in study.losses}
found = evaluate.compare_many(map_at_r, FAMILY, paired=True)
for c in found.values():
    print(c)
plots.plot_comparisons(found, title=f"MAP@R, paired over {len(study.seeds)} seeds (Holm-corrected family)",
                       xlabel="MAP@R difference (first minus second)");

# %% [markdown]
# **Claim:** on MAP@R, each of the three mining losses beats contrastive pairs detectably, and
# in every one of the 5 seeds (paired, Holm-adjusted p): batch-all +0.110 (p = 0.005),
# batch-hard +0.158 (p = 0.005), semi-hard +0.127 (p < 0.001).

# %%
def described(first, second):
    c = found[(first, second)]
    p = "p < 0.001" if c.p_value < 0.001 else f"p = {c.p_value:.3f}"
    return f"{c.effect:+.3f}, {p}, smallest detectable {c.smallest_detectable:.3f}"


mining = [("batch-all", "contrastive pairs"), ("batch-hard", "contrastive pairs"),
          ("semi-hard", "contrastive pairs")]
for first, second in mining:
    print(f"{first} - {second}: {described(first, second)}")
print(f"ahead in every one of the {len(study.seeds)} seeds:",
      {a: bool((map_at_r[a] > map_at_r[b]).all()) for a, b in mining})
assert all(found[pair].detectable and found[pair].effect > 0 for pair in mining)
assert all((map_at_r[a] > map_at_r[b]).all() for a, b in mining)

# %% [markdown]
# The other three comparisons go from contrastive pairs to batch-hard in three steps: the
# batch, the averaging, and the formula (the triplet formula with batch-hard's mining). Each
# step changes more than its name:
#
# - the margin is chosen again at every step (1.0 for contrastive pairs and for all pairs of a
#   P x K batch, 0.5 for its active pairs, 0.1 for batch-hard: printed with the file above);
# - the averaging step touches only the different-class pairs (every same-class pair has a
#   positive loss, so both averages keep all of them);
# - the formula step also goes from every active pair to one hardest triplet per anchor;
# - with batch normalisation in training mode, random-pair and P x K batches give different
#   batch statistics.
#
# **Claim:** the averaging and the formula matter, the batch alone does not detectably: on the
# same P x K batches, the contrastive loss averaged over its active pairs beats the one averaged
# over all pairs (+0.064, p = 0.005), and batch-hard beats contrastive on the active pairs
# (+0.080, p = 0.007), both detectable. The batch alone (all pairs of a P x K batch against the
# usual random pairs, both averaged over all pairs: +0.013, p = 0.506) is not detectable with
# 5 seeds; an effect up to 0.113 (at Holm's strictest level, from the sd of 5 differences, itself
# uncertain) could have been missed.
#
# **Claim:** the triplet formula alone does not carry the gain: random triplets, the formula
# without mining, are behind contrastive pairs on MAP@R (-0.075; outside the family, so
# exploratory, its p value not adjusted).

# %%
rest = [("contrastive, active pairs", "contrastive, all pairs"),
        ("contrastive, all pairs", "contrastive pairs"),
        ("batch-hard", "contrastive, active pairs")]
print(f"paired over {len(study.seeds)} seeds:")
for first, second in rest:
    print(f"{first} - {second}: {described(first, second)}")
assert all(found[rest[i]].detectable and found[rest[i]].effect > 0 for i in (0, 2))
assert not found[rest[1]].detectable and found[rest[1]].smallest_detectable > 0.1
random_vs_pairs = evaluate.compare(map_at_r["random triplets"], map_at_r["contrastive pairs"],
                                   paired=True, label="random triplets - contrastive pairs")
print(f"exploratory, unadjusted: random triplets - contrastive pairs "
      f"{random_vs_pairs.effect:+.3f}\n{random_vs_pairs}")
assert random_vs_pairs.effect < 0

# %% [markdown]
# One reading of these rows, an interpretation rather than a measurement: of batch-hard's +0.158
# over contrastive pairs, the point estimates put +0.013 on the P x K batch by itself, +0.064 on
# averaging over the active pairs and +0.080 on the triplet formula with its mining (they add up
# because each step starts where the last one ended); the last two are detectable, the first is
# not, and "not detectable" is not "no effect". The split depends on the order of the steps,
# ignores their interactions, and each step also changes the margin. Musgrave et al. (2020)
# tuned every loss far more, on larger benchmarks, and found the older losses close to the
# newer ones; with two margins per loss this comparison cannot say whether better tuning would
# close the contrastive loss's gap here.

# %% [markdown]
# ### One run, live
#
# The file's numbers are not re-trained here; one of its runs is: batch-hard, seed 0, with the
# margin chosen on validation, through the same `unseen.train_embedding` and
# `unseen.score_embedding` the script calls (`LIVE_STEPS` steps; the study's runs had
# `study.steps`; `LIVE_CHUNKS` as the study's chunks, so that the two runs are built the same
# way). Scoring it looks at the test alphabet once more, to check the reproduction only:
# nothing is chosen from it.
#
# **Claim:** (full run only) the live run gives the file's MAP@R for that run to within 0.02.

# %%
live = unseen.train_embedding(losses.get("batch_hard", margin=study.margins["batch-hard"]),
                              protocol, steps=LIVE_STEPS, seed=0, p=P, k=K,
                              learning_rate=LEARNING_RATE, chunks=LIVE_CHUNKS)
live_scores = unseen.score_embedding(live.embed, protocol)
filed = study.run("batch-hard", 0).scores
print(f"live, {LIVE_STEPS} steps: MAP@R {live_scores['map@r']:.3f}, recall@1 "
      f"{live_scores['recall@1']:.3f}, one-shot {live_scores['one-shot 20-way']:.3f}")
print(f"file, {study.steps} steps: MAP@R {filed['map@r']:.3f}, recall@1 {filed['recall@1']:.3f}"
      f", one-shot {filed['one-shot 20-way']:.3f}; MAP@R difference "
      f"{abs(live_scores['map@r'] - filed['map@r']):.3f}")
TOLERANCE = 0.02
print(f"(full run only) the check: a difference below {TOLERANCE}")
if not config.fast_mode():
    assert abs(live_scores["map@r"] - filed["map@r"]) < TOLERANCE

# %% [markdown]
# ## Failure 2: easy triplets give zero loss
#
# The study's runs of random triplets and of batch-all logged, for each chunk of 50 steps, the
# share of active triplets (loss > 0) in their *training* batches, computed inside `fit` by
# `losses.ActiveTripletFraction` (`inputs="distances"` for the random triplets): the triplets
# the gradient saw, with batch normalisation on the batch's own statistics, at each loss's
# chosen margin (0.1 for both; a larger margin keeps more triplets active). A triplet that is
# not active contributes an exact zero to the mean loss. Each point is the mean over a chunk of
# 50 steps, drawn at the chunk's last step.

# %%
curves = {name: np.array([study.run(name, s).active for s in study.seeds])
          for name in ("random triplets", "batch-all")}
steps = np.array(study.run("random triplets", 0).active_steps)
ax = None
for name, values in curves.items():
    print(f"{name:>16}: " + " ".join(f"{v:.3f}" for v in values.mean(0)))
    ax = plots.plot_with_spread(steps, values, ax=ax, label=name,
                                xlabel="training step (end of each 50-step chunk)",
                                ylabel="share of the batch's triplets with loss > 0",
                                title=f"Active triplets in the training batches ({len(study.seeds)} seeds)")

# %% [markdown]
# **Claim:** random triplets become easy: in every seed, the share of active triplets in the
# last chunk of training is below half its share in the first chunk (mean over the seeds
# 0.349, then 0.087). Batch-all's share falls too, in every seed (0.190, then 0.021).
#
# **Claim:** the two shares have different denominators, and in the last chunk batch-all still
# has far more active triplets per batch: a random-triplet batch holds 16 triplets, a P x K
# batch 4,320 valid ones (48 anchors x 2 positives x 45 negatives), so about 1.4 against about
# 92 active triplets per batch. Batch-all's loss averages over its active triplets only, so,
# we expect, the fall does not shrink its gradient (not measured here).

# %%
first, last = curves["random triplets"][:, 0], curves["random triplets"][:, -1]
print(f"random triplets: first chunk {first.mean():.3f}, last {last.mean():.3f}; per seed "
      f"last / first {np.round(last / first, 3)}")
print(f"batch-all: first chunk {curves['batch-all'][:, 0].mean():.3f}, last "
      f"{curves['batch-all'][:, -1].mean():.3f}")
random_batch = P * K // 3                      # 48 images: 16 (anchor, positive, negative)
pk_valid = P * K * (K - 1) * (P - 1) * K       # anchors x positives x negatives
active_per_batch = {"random triplets": last.mean() * random_batch,
                    "batch-all": curves["batch-all"][:, -1].mean() * pk_valid}
print(f"triplets per batch: random {random_batch}, P x K valid {pk_valid:,} ({P * K} anchors x "
      f"{K - 1} positives x {(P - 1) * K} negatives); active in the last chunk: random "
      f"triplets {active_per_batch['random triplets']:.1f}, batch-all "
      f"{active_per_batch['batch-all']:.0f}")
assert len(first) == 5 and (last < 0.5 * first).all()
assert (curves["batch-all"][:, -1] < curves["batch-all"][:, 0]).all()
assert active_per_batch["batch-all"] > 10 * active_per_batch["random triplets"]
# the course's results table (`make course` prints it) keeps this notebook's headline numbers
results.record("07_triplet_loss", **study.headline(METRICS),
               live_map_at_r=live_scores["map@r"], steps=study.steps, seeds=len(study.seeds))

# %% [markdown]
# ## Summary
#
# - The triplet loss asks for a relative distance: the positive closer than the negative by a
#   margin. Online mining reads every triplet of a P x K batch off one distance matrix in a few
#   lines of `keras.ops`; `course_lib.losses` has batch-all, batch-hard and semi-hard, and
#   `course_lib.unseen` trains and scores any of them on unseen characters.
# - A margin only means something at a fixed scale: raw embeddings can grow without bound, so a
#   fixed margin can shrink relative to their distances without bound; on the unit sphere
#   distances are at most 2, so the margin is always at least $m/2$ of any distance
#   ($m/d \ge m/2$). One run each cannot say whether it changed how well the embeddings
#   ranked.
# - Batch-hard with a large margin (1.0, one seed, no batch normalisation) from a cold start
#   collapsed into a small cap of the sphere for most of its run (it had begun to spread out
#   again by the end); semi-hard mining or a batch-all warm start avoided it. Random triplets
#   become easy, so most of a random batch stops carrying a gradient.
# - The comparison says which differences its 5 paired seeds can detect and how large a
#   difference they could have missed; it is one protocol at a small scale, its test alphabet
#   looked at more than once, not a ranking of the losses in general.
#
# ## Further reading
#
# - Hermans, Beyer and Leibe 2017, *In Defense of the Triplet Loss for Person
#   Re-Identification*, section 2: P x K batches, batch-all and batch-hard, and why averaging
#   over the active triplets matters.
# - Schroff, Kalenichenko and Philbin 2015, *FaceNet*, sections 3.1–3.2: triplet selection,
#   semi-hard negatives and the collapse hardest negatives can cause.
# - Musgrave, Belongie and Lim 2020, *A Metric Learning Reality Check*: how to compare losses
#   fairly, and MAP@R; the pytorch-metric-learning documentation for its losses, miners and
#   reducers.
# - Notebook 09: the losses that replaced pairs and triplets (InfoNCE and SupCon, prototypes,
#   margin softmax, a plain classifier), on this notebook's protocol.
#
# ## Exercises
#
# Each exercise cell starts with a placeholder, `raise NotImplementedError("your code here")`:
# replace it with your code and run the cell; the check says *Correct*, or what is wrong and
# where this notebook explains it. `nb07.qK.hint()` and `nb07.qK.solution()` show folded, to
# open if you want them. Both are NumPy only; a check takes well under a second.

# %%
from course_lib.exercises import nb07

# %% [markdown]
# **Exercise 1.** Write `hardest_pairs(dist, labels)` in NumPy: given a batch's (N, N) distance
# matrix and its N class ids, return two arrays of N distances, each anchor's distance to its
# *farthest positive* and to its *nearest negative* (batch-hard's mining rule). The check runs
# it on tiny batches and compares with `losses.batch_hard_triplet_loss`.

# %% tags=["exercise"]
def hardest_pairs(dist, labels):
    raise NotImplementedError("your code here")


nb07.q1.hint()
nb07.q1.solution()
nb07.q1.check()

# %% [markdown]
# **Exercise 2.** Write `active_fraction(dist, labels, margin)` in NumPy: the share of the
# batch's valid triplets $(a, p, n)$ whose loss $d(a,p) - d(a,n) + m$ is still positive, as
# one float (what `losses.active_triplet_fraction` measures, and what failure 2 logged for
# batch-all).

# %% tags=["exercise"]
def active_fraction(dist, labels, margin):
    raise NotImplementedError("your code here")


nb07.q2.hint()
nb07.q2.solution()
nb07.q2.check()
