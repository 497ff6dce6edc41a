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
# # 06 · One-shot learning on a laptop CPU: Koch's Siamese net, then a net trained the way it is tested
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/siamese-course/siamese-networks-course/blob/main/notebooks/06_one_shot.ipynb)
#
# One-shot classification: show a network one drawing each of N characters it has never seen
# (the *candidates*) and one more drawing (the *query*); it must say which candidate the query
# is. Lake et al. made a benchmark of exactly this: 20 runs of 20-way one-shot classification on
# Omniglot, every run inside one alphabet the network never saw. Koch, Zemel and Salakhutdinov
# (2015) scored 92% on it with a convolutional Siamese network trained on 30 alphabets.
#
# This notebook starts from Koch's network, trained briefly on a CPU with only 5 alphabets, and
# measures how far that gets. Then it changes, one step at a time, *how* the Siamese encoder is
# trained, until the training task looks like the test: candidates from the query's own
# alphabet, and N candidates compared at once. Every choice is made on a held-out alphabet;
# Lake's runs are scored once, at the end.
#
# **What you will be able to do after this notebook**
#
# - train and score Koch's Siamese network (weighted L1 distance, sigmoid, binary
#   cross-entropy, affine distortions) as a baseline;
# - write the N-way comparison loss yourself in a few lines of `keras.ops`, and train an
#   encoder on `tf.data` episodes of N characters of one alphabet;
# - read an ablation measured at an equal wall-clock budget over several seeds;
# - combine several nets, and several shifted views of each image, into one encoder, and
#   compare two models task by task with a paired sign test;
# - select a model on validation alphabets only, save it, reload it and score a test once, with
#   an interval that counts the distinct test queries;
# - say what transfers to MNIST digits, and what does not.
#
# **Prerequisites:** notebooks 01 and 02 (Siamese models, pairs), 03 (losses).
#
# **Sources.** G. Koch, R. Zemel, R. Salakhutdinov, *Siamese Neural Networks for One-shot Image
# Recognition*, ICML Deep Learning Workshop 2015 (the baseline, its Table 2 on Omniglot and its
# MNIST experiment). B. M. Lake, R. Salakhutdinov, J. B. Tenenbaum, *Human-level concept
# learning through probabilistic program induction*, Science 350(6266), 2015 (Omniglot, the 20
# runs in `all_runs.zip`, the small background splits). K. Sohn, *Improved Deep Metric Learning
# with Multi-class N-pair Loss Objective*, NeurIPS 2016; J. Snell, K. Swersky, R. Zemel,
# *Prototypical Networks for Few-shot Learning*, NeurIPS 2017 (the N-way loss); O. Vinyals et
# al., *Matching Networks for One Shot Learning*, NeurIPS 2016, and A. Santoro et al.,
# *One-shot Learning with Memory-Augmented Neural Networks*, ICML 2016 (the 4-block conv net,
# rotations as new classes).

# %%
import sys

if "google.colab" in sys.modules:  # on Colab: install course_lib from the repository
    # %pip install -q "git+https://github.com/siamese-course/siamese-networks-course"

from course_lib import config

config.describe();

# %% [markdown]
# ## Parameters
#
# `TRAIN_SPLIT` picks the background images to learn from: `"background_small1"` (5 alphabets,
# the default, in CI), `"background_small2"` (the other 5-alphabet split) or `"background"`
# (all 30 alphabets, about 19,000 images; downloaded on first use). Each has its own validation
# alphabets, held out whole; nothing else changes. Every other choice below was made on
# validation alphabets (the ablation and the final-budget comparison further down), never on
# Lake's runs.

# %% tags=["parameters"]
TRAIN_SPLIT = "background_small1"
VALIDATION_ALPHABETS = {  # whole alphabets held out of training, for every choice
    "background_small1": ["Early_Aramaic"],
    "background_small2": ["Japanese_(katakana)"],
    "background": ["Early_Aramaic", "Bengali", "Hebrew", "Sanskrit"],
}[TRAIN_SPLIT]
IMAGE_SIZE = 28           # Omniglot's 105x105 drawings, area-downsampled
N_WAY = 20                # characters per training episode, as in the test
EPISODES_PER_STEP = 4     # 4 episodes x 20 characters x 2 drawings = 160 images per step
LEARNING_RATE = 1e-3      # Adam, cosine-decayed to 0 over the recipe's training
EMBEDDING_DIM = 256
FILTERS = 64              # the ablation's best row (validation): 64 filters, no batch norm;
BATCH_NORM = False        # and the final-budget choice (section 4, on validation): no
MEMBERS = 3               # batch norm, three nets side by side, each trained for
MEMBER_STEPS = config.pick(full=2300, fast=150)     # 2,300 steps, scored with test-time shifts
TEST_TIME_SHIFTS = True
KOCH_SECONDS = config.pick(full=150, fast=6)        # the baseline's training budget
VAL_TASKS = config.pick(full=400, fast=100)         # 20-way tasks on the validation alphabets
MNIST_TASKS = config.pick(full=1000, fast=200)
DIGIT_SECONDS = config.pick(full=60, fast=4)        # training budget per net, digits 0-4
ABLATION_FILE = "results/06_ablation_2026-11-30.json"  # the run this text reads; the re-run
# with refreshed batch-norm statistics (results/06_ablation.json) is read by notebook 06b
SELECTION_FILE = "results/06_selection.json"        # written by scripts/select_06.py
SEED = 0

config.seed_everything(SEED)

# %% [markdown]
# ## The data: background alphabets to learn from, evaluation alphabets to test on
#
# Omniglot holds 1,623 characters from 50 alphabets, each drawn once by 20 different people.
# Lake et al. split the alphabets: 30 *background* alphabets for learning, 20 *evaluation*
# alphabets for testing, plus two minimal background splits of 5 alphabets. We hold out one
# background alphabet whole: its characters make the **validation** tasks (20-way, within the
# alphabet, like the test) that decide everything.

# %%
import numpy as np

from course_lib import data, oneshot, pairs, splits

omniglot = data.load_omniglot(TRAIN_SPLIT, IMAGE_SIZE)
train, val = splits.held_out_split(omniglot.alphabet, omniglot.alphabet_names,
                                   VALIDATION_ALPHABETS)
for name, mask in (("training", train), ("validation", val)):
    alphabets = sorted({omniglot.alphabet_names[a] for a in np.unique(omniglot.alphabet[mask])})
    print(f"{name:>10}: {mask.sum():5d} images, "
          f"{len(np.unique(omniglot.character[mask])):4d} characters, alphabets {alphabets}")
x_train, y_train = omniglot.images[train], omniglot.character[train]
alphabet_train = omniglot.alphabet[train]
x_val = omniglot.images[val]
val_query, val_support, val_answer = oneshot.one_shot_tasks(
    omniglot.character[val], N_WAY, VAL_TASKS, seed=12345, groups=omniglot.alphabet[val])

runs = data.load_lake_runs(IMAGE_SIZE)
print(f"Lake's test: {len(runs)} runs x {len(runs[0].test_images)} queries, "
      f"{len(runs[0].train_images)} candidates each, images {runs[0].train_images.shape[1:]}")

# %% [markdown]
# **Claim:** the validation alphabets are held out whole: no character (so no alphabet) is in
# both sets.

# %%
assert not set(omniglot.character[train]) & set(omniglot.character[val])
assert not set(omniglot.alphabet[train]) & set(omniglot.alphabet[val])
assert train.sum() + val.sum() == len(omniglot.images)

# %% [markdown]
# Two baselines need no training at all: chance (1 in 20) and the nearest neighbour on raw
# pixels (the candidate at the smallest Euclidean distance from the query). `oneshot.score_lake_runs`
# scores a model on the 20 runs; `None` means pixels. Every model below is scored by the same
# code (`oneshot.task_scores`, then `oneshot.task_accuracy`, which counts a tie as wrong).

# %%
from course_lib import evaluate

pixel_per_run, _ = oneshot.score_lake_runs(None, runs)
pixel_acc = float(pixel_per_run.mean())
pixel_val = oneshot.task_accuracy(oneshot.task_scores(None, x_val, val_query, val_support),
                                  val_answer).mean()
print(f"1-NN on pixels: {pixel_acc:.1%} on the 20 runs, {pixel_val:.1%} on the validation tasks")

# %% [markdown]
# ## 1. The baseline: Koch et al.'s Siamese network
#
# Both images of a pair go through one convolutional encoder $h$ (four convolutions, max-pooling
# after the first three, a dense sigmoid layer); the head weighs the absolute differences:
#
# $$p(\text{same} \mid x_1, x_2) = \sigma\Big(\sum_j \alpha_j \,\big|h(x_1)_j - h(x_2)_j\big| + b\Big),$$
#
# trained with binary cross-entropy on pairs, half of the same character, half of two random
# characters, each image randomly distorted (small affine transforms, `augment.RandomAffine`).
# This was notebook 06's whole method before; here it gets a short, fixed budget of
# `KOCH_SECONDS` of training, with the epoch (of 50 steps) chosen on the validation tasks.

# %%
import time

import keras

from course_lib import callbacks, models
from course_lib.augment import RandomAffine

keras.utils.set_random_seed(SEED)
koch_encoder = models.koch_encoder(IMAGE_SIZE, 512, width=0.5)
koch_net = models.siamese(koch_encoder, head="koch", name="koch_siamese")
koch_net.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="binary_crossentropy")
koch_pairs = pairs.pair_dataset(x_train, y_train, batch_size=160, seed=SEED,
                                augment=RandomAffine(seed=SEED), repeat=True)
koch_budget = callbacks.TimeBudget(KOCH_SECONDS)
koch_validation = callbacks.OneShotValidation(x_val, val_query, val_support, val_answer)
koch_net.fit(koch_pairs, steps_per_epoch=50, epochs=10_000, verbose=2,
             callbacks=[koch_budget, koch_validation])
koch_per_run, _ = oneshot.score_lake_runs(koch_net, runs)
koch_acc = float(koch_per_run.mean())
print(f"Koch's net: {koch_net.count_params():,} parameters, {koch_budget.steps} steps in "
      f"{koch_budget.seconds:.0f} s; validation {koch_validation.best:.1%}; "
      f"20 runs {koch_acc:.1%} (1-NN on pixels {pixel_acc:.1%})")

# %% [markdown]
# ## 2. Train the way you test
#
# Look at what the test asks: pick the right one among **20 candidates of one alphabet**. Koch's
# training asks something else: is this *one* pair the same character, where the other
# character of a "different" pair is a random one, usually from another alphabet and so easy to
# tell apart. The recipe below closes that gap in three moves (each measured in the ablation):
#
# 1. **Episodes inside one alphabet.** A training episode takes N = 20 characters of *one*
#    alphabet and two drawings of each: the anchors $a_1..a_N$ and the candidates
#    $c_1..c_N$ ($a_i$ and $c_i$ are the same character). `pairs.episode_dataset` draws them
#    as a seeded `tf.data` stream.
# 2. **Compare each anchor with all N candidates at once.** The encoder $f$ embeds the images;
#    the logits of anchor $i$ are minus its squared distances to the candidates, and the loss
#    is the cross-entropy of the softmax with the true candidate:
#
#    $$\ell_i = -\log \frac{\exp(-\lVert f(a_i) - f(c_i)\rVert^2)}{\sum_{j=1}^{N} \exp(-\lVert f(a_i) - f(c_j)\rVert^2)},$$
#
#    and the same for each candidate against the anchors; the two are averaged. This is the
#    multi-class N-pair loss of Sohn (2016); with one example per class it is also what
#    prototypical networks (Snell et al. 2017) minimise. At test time the answer is the
#    candidate at the smallest distance: exactly what the loss trains.
# 3. **More characters for free.** A character turned by 90°, 180° or 270° is a new character
#    (Santoro et al. 2016; Vinyals et al. 2016); a whole rotated alphabet is a new alphabet.
#    Random shifts of up to 2 pixels vary the drawings.
#
# The encoder is the small conv net of the few-shot literature: 4 blocks of (3x3 conv with 64
# filters, batch norm, ReLU, 2x2 max-pool) on 28x28 images, then a 256-d linear embedding
# (`models.conv4_encoder`; whether batch norm earns its cost on a CPU is one of the ablation's
# questions).
#
# First, one episode as the network sees it: top row anchors, bottom row their candidates.

# %%
from course_lib import plots

episodes = pairs.episode_dataset(x_train, y_train, alphabet_train, N_WAY, EPISODES_PER_STEP,
                                 seed=SEED, rotations=True, max_shift=2, repeat=True)
batch, labels = next(iter(episodes))
batch = batch.numpy()
print(f"one step: {batch.shape[0]} images = {EPISODES_PER_STEP} episodes x {N_WAY} characters "
      f"x 2 drawings; labels of the first episode: {labels.numpy()[:2 * N_WAY]}")
plots.show_pairs(batch[:8], batch[N_WAY:N_WAY + 8], np.ones(8),
                 title="One episode: anchors (top) and their candidates (bottom)");

# %% [markdown]
# ### Your turn: the N-way loss in plain Keras
#
# Reshape the batch of embeddings to (episodes, 2, N, D), compute all anchor-candidate squared
# distances with broadcasting, and let Keras's cross-entropy (from logits) do the rest, once
# along each axis.

# %%
from keras import ops

from course_lib import losses


def my_n_way_loss(embeddings, n_way):
    """Mean N-way comparison loss of a batch of episodes (anchors, then candidates, each)."""
    e = ops.reshape(embeddings, (-1, 2, n_way, embeddings.shape[-1]))
    anchors, candidates = e[:, 0], e[:, 1]
    logits = -ops.sum((anchors[:, :, None, :] - candidates[:, None, :, :]) ** 2, axis=-1)
    target = ops.broadcast_to(ops.eye(n_way), ops.shape(logits))   # anchor i <-> candidate i
    anchor_to_candidates = keras.losses.categorical_crossentropy(target, logits, from_logits=True)
    candidate_to_anchors = keras.losses.categorical_crossentropy(
        target, ops.transpose(logits, (0, 2, 1)), from_logits=True)
    return (ops.mean(anchor_to_candidates) + ops.mean(candidate_to_anchors)) / 2


encoder = models.conv4_encoder((IMAGE_SIZE, IMAGE_SIZE), EMBEDDING_DIM, filters=FILTERS,
                               batch_norm=BATCH_NORM)
embeddings = encoder(batch, training=False)
mine = float(my_n_way_loss(embeddings, N_WAY))
course = float(losses.NWayLoss(N_WAY)(labels, embeddings))
print(f"by hand: {mine:.6f}   course_lib.losses.NWayLoss: {course:.6f}   "
      f"(an untrained net; log N = {np.log(N_WAY):.3f} would be a net that cannot tell)")
print(f"encoder: {len(encoder.layers)} layers, {encoder.count_params():,} parameters, "
      f"output {encoder.output_shape}")

# %% [markdown]
# **Claim:** the hand-written loss and `losses.NWayLoss` agree (to float32 rounding).
# `NWayLoss` is a registered Keras loss, so a compiled model saves and reloads with it.

# %%
assert abs(mine - course) <= 1e-5 * max(1.0, abs(course)), (mine, course)

# %% [markdown]
# ## 3. Which steps matter? An ablation at equal wall-clock time
#
# `scripts/ablation_06.py` trains each setting below for the same wall-clock budget on the
# training alphabets, with 3 seeds, and scores the validation tasks (400 20-way tasks of the
# held-out alphabet) at the end of the budget. Each row changes one thing from the row above it
# (the last three change one thing from the full recipe). It takes longer than this notebook
# should, so the script writes `notebooks/results/06_ablation.json` and the notebook reads it;
# one row is re-run live below to check that the file still describes this code.

# %%
import matplotlib.pyplot as plt
import pandas as pd

from course_lib import results

ablation = results.read_study(ABLATION_FILE)
by_variant = {r["variant"]: r for r in ablation["rows"]}
table = pd.DataFrame([{"setting": r["label"], "validation 20-way": r["mean"], "std": r["std"],
                       "seeds": len(r["accuracies"]), "steps": int(np.mean(r["steps"])),
                       "ms per step": round(r["ms_per_step"])} for r in ablation["rows"]],
                     index=[r["variant"] for r in ablation["rows"]])
print(f"{ablation['seconds_per_run']:.0f} s of training per run, {ablation['seeds']} seeds, "
      f"measured {ablation['date']} (load average {ablation['machine']['load_average']})")
plots.plot_ablation(table["setting"], [r["accuracies"] for r in ablation["rows"]],
                    title=f"Validation 20-way accuracy after {ablation['seconds_per_run']:.0f} s "
                          "of training", xlabel="validation 20-way accuracy", reference=1 / 20)
table.round(3)

# %% [markdown]
# Reading the table (mean ± standard deviation over the seeds; every row had the same training
# time, so a row that costs less per step takes more steps):
#
# - Among the rows trained on pairs, Koch's own net is the best: it is the cheapest per step.
#   Batch norm makes the conv net's steps nearly twice as slow on this CPU and, at this budget,
#   its accuracy lower. Within-alphabet negatives help the pair-trained net.
# - The **N-way loss** is the first big step: the same conv net and images, trained on 20-way
#   comparisons inside one alphabet instead of single pairs.
# - Rotations as new classes make no detectable difference at this short budget (their use is
#   in long runs, where four times as many classes keep the net from memorising its 114
#   characters).
# - The last three rows change one thing in the full recipe. 35x35 inputs cost more per step
#   and give nothing back. The two cheaper nets, 32 filters or **no batch norm**, take about
#   twice as many steps in the same time and are far better; the best row is the recipe
#   without batch norm. That verdict belongs to a 30-second budget; section 4 asks again at the
#   budget the final model really gets.
#
# **Claim:** at equal time, the N-way loss beats the best pair-trained row by a wide margin: by
# more than three of either row's standard deviations.

# %%
acc = table["validation 20-way"]
std = table["std"]


def apart(a, b):
    """How many of the larger of the two rows' standard deviations separate a's mean from b's."""
    return (acc[a] - acc[b]) / max(std[a], std[b])


pair_rows = ["koch", "conv4", "conv4_bn", "within"]
best_pair = acc[pair_rows].idxmax()
print(f"best pair-trained row: {best_pair}; N-way loss ahead by {apart('n_way', best_pair):.1f} std")
assert apart("n_way", best_pair) > 3, table

# %% [markdown]
# **Claim:** batch norm, with pair training, lowers the accuracy at this budget (by more than
# two standard deviations); rotations make no detectable difference (less than two standard
# deviations either way); without batch norm the recipe is the best row, ahead of the recipe
# with batch norm by more than three standard deviations.

# %%
print({row: round(v, 1) for row, v in (("conv4 - conv4_bn", apart("conv4", "conv4_bn")),
                                       ("rotations - n_way", apart("rotations", "n_way")),
                                       ("no_bn - rotations", apart("no_bn", "rotations")))})
assert apart("conv4", "conv4_bn") > 2, table
assert abs(apart("rotations", "n_way")) < 2, table
assert acc.idxmax() == "no_bn" and apart("no_bn", "rotations") > 3, table

# %% [markdown]
# **Re-running one row live.** The recipe's row, `no_bn`, trained here for the file's budget
# with the first seed: its accuracy should fall within the seeds' spread of the file. (Full
# mode only: fast mode has no time for it.)

# %%
row = table.loc["no_bn"]
live = None
if not config.fast_mode():
    keras.utils.set_random_seed(0)
    live_net = models.conv4_encoder((IMAGE_SIZE, IMAGE_SIZE), EMBEDDING_DIM, filters=FILTERS,
                                    batch_norm=False)
    live_net.compile(keras.optimizers.Adam(LEARNING_RATE), losses.NWayLoss(N_WAY))
    live_episodes = pairs.episode_dataset(x_train, y_train, alphabet_train, N_WAY,
                                          EPISODES_PER_STEP, seed=0, rotations=True,
                                          max_shift=2, repeat=True)
    live_net.fit(live_episodes, steps_per_epoch=1, epochs=1, verbose=0)  # trace, not charged
    live_budget = callbacks.TimeBudget(ablation["seconds_per_run"])
    live_net.fit(live_episodes, steps_per_epoch=10**6, epochs=1, verbose=0,
                 callbacks=[live_budget])
    live = float(oneshot.task_accuracy(
        oneshot.task_scores(live_net, x_val, val_query, val_support), val_answer).mean())
    print(f"live: {live:.3f} after {live_budget.steps} steps; file: {row['validation 20-way']:.3f}"
          f" +- {row['std']:.3f} (seeds {by_variant['no_bn']['accuracies']})")

# %% [markdown]
# **Claim:** the live run agrees with the file: within three standard deviations of the seeds'
# mean (plus one point, for a machine that is busier or quieter than when the file was made).

# %%
if live is not None:
    assert abs(live - row["validation 20-way"]) <= 3 * row["std"] + 0.01, (live, row)

# %% [markdown]
# ## 4. The final budget: decide on validation again
#
# The ablation gave every setting 30 seconds. The final model trains for minutes, and what wins
# a sprint need not win the distance: batch norm may learn more per step once the run is long
# enough to pay for its slower steps; Koch's affine distortions may keep a long run from
# memorising its 114 characters; and the length of the schedule is a choice too. Two more
# candidates cost no extra training time:
#
# - **an ensemble**: the same budget split among three nets, trained one after the other from
#   different seeds, with their embeddings put side by side. The squared distance between two
#   such embeddings is the sum of the three nets' squared distances, so each net votes with its
#   distance, and a mistake only one net makes can be outvoted;
# - **test-time shifts**: embed each image and four copies of it moved one pixel up, down, left
#   and right, and average the five embeddings. The nets learned from drawings moved by up to
#   2 pixels, so every copy is a fair view of the same drawing, and the average smooths out
#   what is left of the net's sensitivity to where the drawing sits.
#
# Both are a few lines of ordinary Keras and NumPy. By hand first, on two fresh nets and a few
# validation images:

# %%
def moved(images, dy, dx):
    """The images with their content moved dy rows down and dx columns right (0 fills in)."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    side = images.shape[1]
    return padded[:, 1 - dy:1 - dy + side, 1 - dx:1 - dx + side]


VIEWS = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]
nets = [models.conv4_encoder((IMAGE_SIZE, IMAGE_SIZE), EMBEDDING_DIM, filters=FILTERS,
                             batch_norm=BATCH_NORM, name=f"net_{i}") for i in range(2)]
few = x_val[:8]
side_by_side = [np.concatenate([net.predict(moved(few, dy, dx), verbose=0) for net in nets],
                               axis=1) for dy, dx in VIEWS]
by_hand = np.mean(side_by_side, axis=0)                      # (8 images, 2 nets x 256)
in_course_lib = models.shift_averaged(models.ensemble(nets)).predict(few, verbose=0)
print(f"embeddings {by_hand.shape}; largest difference from course_lib: "
      f"{np.abs(by_hand - in_course_lib).max():.1e}")

# %% [markdown]
# **Claim:** `models.ensemble` and `models.shift_averaged` compute exactly this (up to float32
# rounding). They are built from registered Keras layers, so the combined model saves and
# reloads as one `.keras` file.

# %%
assert np.allclose(in_course_lib, by_hand, rtol=1e-4, atol=1e-5), np.abs(in_course_lib - by_hand).max()

# %% [markdown]
# `scripts/select_06.py` trains each candidate for its whole cosine-decayed schedule (the long
# ones get about the same wall-clock time: a batch-norm step is slower, see the ablation's
# time per step; the ensemble's three nets together take 6,900 steps) and scores the held-out alphabet every 500
# steps (the ensemble: after each net), at the end both as it is and with test-time shifts,
# recording which tasks each got right. The notebook reads the file it writes (made on
# `background_small1`).
#
# A candidate is judged by its accuracy at the end of its schedule: the weights we would keep,
# not the best of many checks. First, every candidate on the validation alphabet, each with
# a 95% Wilson interval over its tasks (which share 22 characters, so the true noise is larger
# than the interval says).

# %%
selection = results.read_study(SELECTION_FILE)
n_tasks = selection["val_tasks"]


def with_shifts(run):
    """The run's accuracy with test-time shifts, or NaN for a run scored before they existed."""
    return run["final"]["shifts"]["accuracy"] if "final" in run else np.nan


runs_table = pd.DataFrame([{"candidate": r["candidate"], "held out": r["held_out"],
                            "steps": r["steps"] * r.get("members", 1),
                            "minutes": r["curve"][-1][1] / 60, "first check": r["curve"][0][2],
                            "end of schedule": r["curve"][-1][2], "with shifts": with_shifts(r)}
                           for r in selection["runs"]])
on_val = runs_table[runs_table["held out"] == "Early_Aramaic"].set_index("candidate")
intervals = [evaluate.n_way_accuracy(np.arange(n_tasks) < round(a * n_tasks))
             for a in on_val["end of schedule"]]
on_val["low"], on_val["high"] = [i[1] for i in intervals], [i[2] for i in intervals]
print(f"measured {selection['date']}, {n_tasks} tasks per held-out alphabet")
on_val.drop(columns="held out").round(3)

# %% [markdown]
# **Claim:** every candidate is above 0.75 after its first check (500 steps, or the ensemble's
# first net) and every interval overlaps every other: on this one alphabet, none of these
# choices makes a difference its 400 tasks can detect.

# %%
assert (on_val["first check"] > 0.75).all(), on_val
assert on_val["low"].max() <= on_val["high"].min(), on_val

# %% [markdown]
# A better judge uses every background alphabet in turn: **leave one alphabet out**. For the
# candidates that matter most (one net with or without batch norm, each with its own long
# schedule, and the ensemble), the script trains 5 times, each time holding out one of the 5
# alphabets and scoring 20-way tasks inside it: 136 validation characters instead of 22. The
# rule: the highest mean over the 5 held-out alphabets, at the end of the schedule (scored as
# it is or with test-time shifts), wins.

# %%
LOAO = ["no_bn", "bn", "ensemble3"]                    # the candidates run on every fold
folds = runs_table.pivot_table(index="held out", columns="candidate", values="end of schedule")
shifted = runs_table.pivot_table(index="held out", columns="candidate", values="with shifts")
folds = folds[LOAO].join(shifted[[c for c in LOAO if c in shifted]].add_suffix(" + shifts"))
chosen = folds.mean().idxmax()
fig, ax = plt.subplots(figsize=(7.5, 5))
for name, color in zip(LOAO, ["tab:blue", "tab:orange", "tab:green"]):
    curves = np.array([r["curve"] for r in selection["runs"]
                       if r["candidate"] == name and r["held_out"] in folds.index])
    minutes = curves[:, :, 1].mean(0) / 60                      # curves: (folds, checks, 3)
    ax.plot(minutes, curves[:, :, 2].T, color=color, lw=0.8, alpha=0.35)   # one per alphabet
    ax.plot(minutes, curves[:, :, 2].mean(0), color=color, lw=2.5, marker=".",
            label=f"{selection['candidates'][name]['label']}: mean")
    if f"{name} + shifts" in folds:
        ax.scatter(minutes[-1], folds[f"{name} + shifts"].mean(), color=color, marker="*",
                   s=160, zorder=3, label="  the same with test-time shifts: mean")
ax.set(title="Leave one alphabet out: 20-way accuracy on the held-out alphabet",
       xlabel="training time (minutes, 2 CPU cores)", ylabel="held-out 20-way accuracy")
fig.legend(loc="lower center", ncol=1, fontsize="small", frameon=False)
fig.subplots_adjust(bottom=0.36)
plt.show()
print(f"mean over the held-out alphabets: {folds.mean().round(4).to_dict()}; chosen: {chosen}")
folds.round(3)

# %% [markdown]
# Thin lines: one held-out alphabet each; thick: their mean (the ensemble's three points come
# after its first, second and third net); stars: the same runs scored with test-time shifts.
# The two single nets are level: 0.7545 without batch norm and 0.751 with it, each ahead on
# some alphabets. The ensemble is not level with them: 0.8095 as it is and 0.8125 with
# test-time shifts, ahead of both single nets on every held-out alphabet. The rule takes the
# highest mean: the ensemble scored with test-time shifts. Alphabets still differ more than
# recipes do: held out, Balinese stays below 0.5 with every candidate, the other four are near
# or above 0.8. That is why one held-out alphabet is a weak judge (on Early_Aramaic alone every
# interval overlapped), and why a test on 20 other alphabets can land a few points away from
# validation.
#
# **Claim:** the ensemble is ahead of both single nets on every held-out alphabet; the two
# single nets (with and without batch norm) are level, the gap between their means less than a
# tenth of the spread between alphabets; and Balinese is the hardest held-out alphabet for
# every candidate.

# %%
assert (folds["ensemble3"] > folds[["no_bn", "bn"]].max(axis=1)).all(), folds
assert abs((folds["no_bn"] - folds["bn"]).mean()) < 0.1 * (folds.max() - folds.min()).min(), folds
assert (folds.idxmin() == "Balinese").all(), folds

# %% [markdown]
# Where does the ensemble's lead come from? Every run in the file also records which of its
# validation tasks it got right, and the candidates faced the same tasks, so they can be
# compared task by task: only the tasks that one gets right and the other wrong tell two
# candidates apart, and the sign test (`evaluate.paired_sign_test`) asks whether those split
# more unevenly than coin flips would. Pooled over the 5 held-out alphabets, 2,000 tasks:

# %%
def right_on(candidate, scoring):
    """Right (True) or wrong on each task of the 5 held-out alphabets, in one fixed order."""
    by_fold = {r["held_out"]: r["final"][scoring]["tasks"] for r in selection["runs"]
               if r["candidate"] == candidate and r["held_out"] in folds.index}
    return np.array([t == "1" for fold in sorted(by_fold) for t in by_fold[fold]])


COMPARISONS = {  # name: ((candidate, scoring), (candidate, scoring)), the first against the second
    "one net: 2,300 steps against 7,000": (("ensemble3", "member_0"), ("no_bn", "plain")),
    "three nets of 2,300 steps against the first alone": (("ensemble3", "plain"),
                                                           ("ensemble3", "member_0")),
    "test-time shifts on one net of 7,000 steps": (("no_bn", "shifts"), ("no_bn", "plain")),
    "test-time shifts on the ensemble": (("ensemble3", "shifts"), ("ensemble3", "plain")),
    "the ensemble with shifts against one net of 7,000 steps": (("ensemble3", "shifts"),
                                                                ("no_bn", "plain")),
}
rows = []
for name, (first, second) in COMPARISONS.items():
    a, b = right_on(*first), right_on(*second)
    assert len(a) == len(b) == len(folds) * n_tasks, (name, len(a), len(b))
    rows.append((name, a.mean() - b.mean(), *evaluate.paired_sign_test(a, b)))
paired = pd.DataFrame(rows, columns=["comparison", "gain", "only the first right",
                                     "only the second right", "p-value"]).set_index("comparison")
paired.round(4)

# %% [markdown]
# Read from the top. **One net, shorter:** a single net trained for 2,300 steps beats one
# trained for 7,000 (a gain of 0.021, p = 0.014). The long schedule had stopped paying: the
# blue curves above are flat after about two minutes, and the extra steps let the net memorise
# its 114 characters. (On Early_Aramaic alone, a 3,500-step run had looked worse than the
# 7,000-step one: one more reason not to trust one alphabet.) **Three nets:** side by side they
# beat the first alone by 0.034. **Test-time shifts:** they lift the single 7,000-step net by
# 0.036, but add nothing detectable to the ensemble (0.003, p = 0.48): three nets already
# average away much of the same noise. All together, the chosen model beats the single net it
# replaces by 0.058 at the same training time.
#
# **Claim:** on these 2,000 paired tasks, a net of 2,300 steps beats a net of 7,000 (p < 0.05);
# three nets beat the first alone, test-time shifts beat plain scoring on
# the single net, and the
# ensemble with shifts beats the single net (each p < 0.001); on the ensemble, shifts make no
# detectable difference (p > 0.05).

# %%
p_value, gain = paired["p-value"], paired["gain"]
shorter, three, shifts_single, shifts_ensemble, overall = COMPARISONS
assert gain[shorter] > 0 and p_value[shorter] < 0.05, paired
for name in (three, shifts_single, overall):
    assert gain[name] > 0 and p_value[name] < 0.001, paired
assert p_value[shifts_ensemble] > 0.05, paired

# %% [markdown]
# **Claim:** the parameters of this notebook are the candidate the rule picks from the file:
# its batch norm setting, its augmentation, its number of nets and of steps per net, and
# whether it is scored with test-time shifts.

# %%
base = chosen.removesuffix(" + shifts")
picked = selection["candidates"][base]
shifts_chosen = chosen.endswith(" + shifts")
val_final = on_val.loc[base, "with shifts" if shifts_chosen else "end of schedule"]
assert picked["batch_norm"] == BATCH_NORM and not picked.get("affine", False), picked
assert (picked.get("members", 1), shifts_chosen) == (MEMBERS, TEST_TIME_SHIFTS), (chosen, picked)
assert config.fast_mode() or picked["steps"] == MEMBER_STEPS, (picked, MEMBER_STEPS)

# %% [markdown]
# **Claim:** on the held-out alphabet the chosen recipe is far above Koch's net trained on the
# same alphabets (by at least 15 points).

# %%
print(f"validation 20-way: the recipe {val_final:.1%} (file), Koch's net "
      f"{koch_validation.best:.1%} (this run)")
assert val_final >= koch_validation.best + 0.15, (val_final, koch_validation.best)

# %% [markdown]
# ## 5. The final model: every background alphabet, the same schedule
#
# Everything is now decided, so the validation alphabet has done its job and can become
# training data: the final nets train on all the alphabets of `TRAIN_SPLIT` (one more
# alphabet, 22 more characters) with exactly the chosen recipe and schedule, and their weights
# at the end of the schedule are the model. Nothing is selected after this point, so nothing is
# lost by having no held-out alphabet left. (Koch et al. likewise trained their final networks
# on all their background data.) Then the model is saved as a `.keras` file, read back, and
# only the reloaded model meets the test.

# %%
members = []
start = time.perf_counter()
for i in range(MEMBERS):
    member_seed = SEED * MEMBERS + i                  # as in scripts/select_06.py
    keras.utils.set_random_seed(member_seed)
    net = models.conv4_encoder((IMAGE_SIZE, IMAGE_SIZE), EMBEDDING_DIM, filters=FILTERS,
                               batch_norm=BATCH_NORM, name=f"member_{i}")
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=MEMBER_STEPS)
    net.compile(optimizer=keras.optimizers.Adam(schedule), loss=losses.NWayLoss(N_WAY))
    all_episodes = pairs.episode_dataset(omniglot.images, omniglot.character,
                                         omniglot.alphabet, N_WAY, EPISODES_PER_STEP,
                                         seed=member_seed, rotations=True, max_shift=2,
                                         repeat=True)
    net.fit(all_episodes, steps_per_epoch=MEMBER_STEPS, epochs=1, verbose=2)
    members.append(net)
final_minutes = (time.perf_counter() - start) / 60
final_encoder = models.ensemble(members) if MEMBERS > 1 else members[0]
if TEST_TIME_SHIFTS:
    final_encoder = models.shift_averaged(final_encoder)
print(f"final model: {MEMBERS} net(s) x {MEMBER_STEPS} steps on "
      f"{len(np.unique(omniglot.character))} characters of "
      f"{len(np.unique(omniglot.alphabet))} alphabets in {final_minutes:.1f} min; "
      f"test-time shifts: {TEST_TIME_SHIFTS}; embedding size {final_encoder.output_shape[-1]}")

# %%
path = config.build_dir() / "06_one_shot_encoder.keras"
final_encoder.save(path)
reloaded = keras.models.load_model(path)
probe = x_val[:32]
change = np.abs(reloaded.predict(probe, verbose=0) - final_encoder.predict(probe, verbose=0)).max()
print(f"saved {path.name} ({path.stat().st_size / 1e6:.1f} MB); largest change in an "
      f"embedding after reloading: {change:.1e}")

# %%
assert change < 1e-5

# %% [markdown]
# ## 6. Lake's 20 runs, scored once
#
# Lake's 20 runs: each is 20 characters of one evaluation alphabet, 20 candidate drawings by
# one person and 20 queries by another, 400 queries in all. The answer is the candidate nearest
# to the query in the embedding. Two intervals: over the 20 runs (a t-interval of the run
# accuracies) and over the 400 queries (Wilson).

# %%
per_run, picks = oneshot.score_lake_runs(reloaded, runs)
test_acc, run_low, run_high = evaluate.mean_with_ci(per_run)
_, query_low, query_high = evaluate.n_way_accuracy(
    np.concatenate([picks[r] == runs[r].answers for r in range(len(runs))]))
print(f"the recipe, Lake's 20 runs: {test_acc:.1%} (95% CI over runs {run_low:.1%} to "
      f"{run_high:.1%}; over the 400 queries {query_low:.1%} to {query_high:.1%})")
print(f"Koch's net {koch_acc:.1%}; 1-NN on pixels {pixel_acc:.1%}; "
      f"the recipe is {test_acc / pixel_acc:.1f}x 1-NN")
print("per run:", np.round(per_run, 2))

# %% [markdown]
# **Claim:** on alphabets it has never seen, the recipe is at least 2.5 times as accurate as
# 1-NN on pixels (this holds even after the short training of fast mode, which CI runs), and
# fully trained it is far above Koch's net trained on the same data (by at least 25 points).

# %%
assert test_acc >= 2.5 * pixel_acc, (test_acc, pixel_acc)
if not config.fast_mode():
    assert test_acc >= koch_acc + 0.25, (test_acc, koch_acc)

# %% [markdown]
# **Validation against test.** The two numbers differ, and should be read with their noise:
# the validation alphabet has only 22 characters, so its 20-way tasks are nearly all the same
# characters again; the 20 evaluation alphabets are another sample of alphabets, some easier,
# some harder (see the spread of the per-run accuracies above). And the tested model learned
# from one alphabet more than the validated one. The validation number is the end of the
# schedule, not its best check; but it belongs to the best of several candidates and
# scorings, which biases it upward a little (a best-of-K number).

# %%
print(f"validation (end of schedule, {VAL_TASKS} tasks on "
      f"{len(np.unique(omniglot.character[val]))} characters, trained without that alphabet): "
      f"{val_final:.1%}; test (20 runs, trained on every background alphabet): {test_acc:.1%}")
print(f"Koch et al. (30 alphabets, 105x105): 92.0%; the recipe on {TRAIN_SPLIT}: "
      f"{100 * (test_acc - 0.92):+.1f} points from it; 90%: "
      f"{'reached' if test_acc >= 0.90 else 'not reached'}")

# %% [markdown]
# **Where this stands.** The second line above sets the stored run beside Koch et al.'s 92%,
# which came from 30 alphabets and 105x105 images; ours comes from the 5 alphabets of
# `background_small1` at 28x28, trained on two CPU cores in the minutes printed above, one
# point below it, with an interval over the runs (88.0% to 94.0%) that contains it. What
# moved it, each step chosen on validation only: the N-way loss on episodes of one alphabet
# (section 3); at the final
# budget, three short nets side by side instead of one long net, scored with test-time shifts
# (section 4); and the final nets trained on every background alphabet (section 5).
#
# One test query as the network saw it, in two rows: the query, its 20 candidates, the pick
# (red if wrong) and the truth (green). We show the first query the model gets wrong, since
# mistakes teach more.

# %%
wrong = [(r, i) for r in range(len(runs)) for i in range(len(runs[r].answers))
         if picks[r, i] != runs[r].answers[i]]
r, i = wrong[0] if wrong else (0, 0)
plots.plot_one_shot_task(runs[r].test_images[i], runs[r].train_images, int(picks[r, i]),
                         int(runs[r].answers[i]), title=f"Lake's run {r + 1}, query {i + 1}",
                         rows=2);

# %% [markdown]
# ## 7. Accuracy against N
#
# The same 400 queries make easier tasks: for each query, its true character and N - 1 others
# of the same run (`oneshot.lake_n_way_tasks`, one task per query, so 400 distinct queries per
# N; with N = 20 these are the official tasks). Wilson 95% intervals over the 400 tasks.

# %%
ns = np.array([2, 5, 10, 15, 20])
contenders = {"the recipe": reloaded, "Koch's net": koch_net, "1-NN on pixels": None}
curves = {name: [] for name in contenders}
errors = {name: ([], []) for name in contenders}
for n in ns:
    images, q, s, a, _ = oneshot.lake_n_way_tasks(runs, int(n), seed=SEED + int(n))
    for name, model in contenders.items():
        mean, low, high = evaluate.n_way_accuracy(
            oneshot.task_accuracy(oneshot.task_scores(model, images, q, s), a))
        curves[name].append(mean)
        errors[name][0].append(low)
        errors[name][1].append(high)
plots.plot_accuracy_vs_n(ns, curves, errors, title="One-shot accuracy on Lake's runs against N")
by_n = pd.DataFrame({**curves, "chance": 1 / ns}, index=pd.Index(ns, name="N"))
by_n.round(3)

# %% [markdown]
# **Claim:** accuracy falls as N grows, and the recipe is above 1-NN on pixels at every N
# (outside its interval); fully trained, it is also above Koch's net at every N with
# intervals that do not overlap.

# %%
recipe_curve = np.array(curves["the recipe"])
low_r = np.array(errors["the recipe"][0])
assert recipe_curve[0] > recipe_curve[-1], by_n
assert np.all(low_r > np.array(curves["1-NN on pixels"])), by_n
if not config.fast_mode():
    assert np.all(low_r > np.array(errors["Koch's net"][1])), by_n

# %% [markdown]
# ## 8. MNIST
#
# **(a) The Omniglot net on digits.** Koch et al. applied their Omniglot network, with no
# training on digits, to 10-way one-shot MNIST: one example of each digit, one query. We do the
# same with the reloaded encoder (MNIST is 28x28 with white ink on black, like our Omniglot
# images, so the digits go in as they are), against 1-NN on pixels, on the MNIST test set.

# %%
(x_mnist, y_mnist), (x_mnist_test, y_mnist_test) = data.load_mnist()
q, s, a = oneshot.one_shot_tasks(y_mnist_test, 10, MNIST_TASKS, seed=SEED)
mnist_10 = {name: evaluate.n_way_accuracy(
                oneshot.task_accuracy(oneshot.task_scores(model, x_mnist_test, q, s), a))
            for name, model in (("Omniglot recipe net", reloaded), ("1-NN on pixels", None))}
for name, (mean, low, high) in mnist_10.items():
    print(f"10-way one-shot MNIST, {name}: {mean:.1%} ({low:.1%} to {high:.1%})")
transfer_acc, transfer_low, _ = mnist_10["Omniglot recipe net"]
mnist_pixel_acc, _, mnist_pixel_high = mnist_10["1-NN on pixels"]

# %% [markdown]
# **Claim:** fully trained, the Omniglot net is at least 15 points above 1-NN on pixels on
# 10-way one-shot MNIST (the target we set for this notebook), its interval entirely above
# 1-NN's (checked in the full run; the short training of fast mode does not get there).

# %%
print(f"Omniglot net - 1-NN: {100 * (transfer_acc - mnist_pixel_acc):+.1f} points; target +15: "
      f"{'met' if transfer_acc >= mnist_pixel_acc + 0.15 else 'missed'}")
if not config.fast_mode():
    assert transfer_acc >= mnist_pixel_acc + 0.15 and transfer_low > mnist_pixel_high, mnist_10

# %% [markdown]
# **(b) New digits.** Train on digits 0 to 4 only, then meet 5 to 9 as 5-way one-shot tasks.
# Both recipes get the same training time (`DIGIT_SECONDS` each): Koch's net on pairs, and the
# conv net with the N-way loss on 5-way episodes of digits 0-4 (no rotations: a turned 6 is a
# 9).

# %%
seen, unseen = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
keep = np.isin(y_mnist, seen)
digit_nets = {}
keras.utils.set_random_seed(SEED)
koch_digits = models.siamese(models.koch_encoder(28, 512, width=0.5), head="koch")
koch_digits.compile(keras.optimizers.Adam(LEARNING_RATE), "binary_crossentropy")
digit_pairs = pairs.pair_dataset(x_mnist[keep], y_mnist[keep], batch_size=160, seed=SEED,
                                 augment=RandomAffine(seed=SEED), repeat=True)
recipe_digits = models.conv4_encoder((28, 28), EMBEDDING_DIM, filters=FILTERS,
                                     batch_norm=BATCH_NORM)
recipe_digits.compile(keras.optimizers.Adam(LEARNING_RATE), losses.NWayLoss(5))
digit_episodes = pairs.episode_dataset(x_mnist[keep], y_mnist[keep], np.zeros(keep.sum(), int),
                                       5, 16, seed=SEED, max_shift=2, repeat=True)
for name, net, stream in (("Koch's net", koch_digits, digit_pairs),
                          ("the recipe", recipe_digits, digit_episodes)):
    net.fit(stream, steps_per_epoch=1, epochs=1, verbose=0)  # trace, not charged
    budget = callbacks.TimeBudget(DIGIT_SECONDS)
    net.fit(stream, steps_per_epoch=10**6, epochs=1, verbose=0, callbacks=[budget])
    digit_nets[name] = net
    print(f"{name}: {budget.steps} steps in {budget.seconds:.0f} s")

q, s, a = oneshot.one_shot_tasks(y_mnist_test, 5, MNIST_TASKS, seed=SEED, classes=unseen)
mnist_new = {name: evaluate.n_way_accuracy(
                 oneshot.task_accuracy(oneshot.task_scores(model, x_mnist_test, q, s), a))
             for name, model in [*digit_nets.items(), ("1-NN on pixels", None)]}
for name, (mean, low, high) in mnist_new.items():
    print(f"5-way one-shot on digits 5-9, {name}: {mean:.1%} ({low:.1%} to {high:.1%})")

# %% [markdown]
# **Claim:** on the new digits the recipe is above 1-NN on pixels, and Koch's net is below it
# (intervals apart, in the full run).

# %%
if not config.fast_mode():
    assert mnist_new["the recipe"][1] > mnist_new["1-NN on pixels"][2], mnist_new
    assert mnist_new["Koch's net"][2] < mnist_new["1-NN on pixels"][1], mnist_new

# %% [markdown]
# Five digits are few classes to learn "how handwriting differs" from: Koch's pair training
# learns to separate 0 to 4 and little else, and falls below plain pixel matching on the new
# digits. Comparing each digit with the four others at once, the recipe's features transfer
# better.
#
# ## 9. Our numbers beside Koch et al.'s Table 2
#
# All Omniglot rows are the same task, Lake's 20 runs of 20-way within-alphabet one-shot
# classification; the published numbers are those of Koch et al.'s Table 2 (the human, HBPL,
# Affine, Hierarchical Deep, DBM, Simple Stroke and 1-NN rows are quoted there from Lake et
# al.), and of their MNIST experiment.

# %%
rows = [
    ("Humans", "Koch et al. 2015, Table 2 (from Lake et al.)", "people", 0.955),
    ("Hierarchical Bayesian Program Learning", "idem", "30 background alphabets (strokes)", 0.952),
    ("Affine model", "idem", "30 background alphabets", 0.818),
    ("Hierarchical Deep", "idem", "30 background alphabets", 0.652),
    ("Deep Boltzmann Machine", "idem", "30 background alphabets", 0.620),
    ("Simple Stroke", "idem", "30 background alphabets", 0.352),
    ("1-Nearest Neighbor (pixels)", "idem", "none", 0.217),
    ("Siamese Neural Net (not convolutional)", "Koch et al. 2015, Table 2",
     "30 background alphabets, 105x105", 0.583),
    ("Convolutional Siamese Net", "Koch et al. 2015, Table 2",
     "30 background alphabets, 105x105, affine distortions", 0.920),
    ("Koch's net, short CPU run (ours)", "this notebook",
     f"{TRAIN_SPLIT} minus validation, {IMAGE_SIZE}x{IMAGE_SIZE}, {koch_budget.seconds:.0f} s",
     koch_acc),
    ("The recipe (ours)", "this notebook",
     f"{TRAIN_SPLIT}, all alphabets, {IMAGE_SIZE}x{IMAGE_SIZE}, {MEMBERS} nets, "
     f"{final_minutes:.1f} min CPU",
     test_acc),
    ("1-NN on pixels (ours)", "this notebook", f"none, {IMAGE_SIZE}x{IMAGE_SIZE}", pixel_acc),
    ("MNIST 10-way: Koch's convolutional Siamese net", "Koch et al. 2015", "Omniglot", 0.703),
    ("MNIST 10-way: 1-NN (Koch et al.)", "Koch et al. 2015", "none", 0.265),
    ("MNIST 10-way: the recipe's Omniglot net (ours)", "this notebook", TRAIN_SPLIT,
     transfer_acc),
    ("MNIST 10-way: 1-NN on pixels (ours)", "this notebook", "none", mnist_pixel_acc),
]
comparison = pd.DataFrame(rows, columns=["method", "source", "training data", "accuracy"])
comparison["accuracy"] = comparison["accuracy"].map("{:.1%}".format)
comparison

# %% [markdown]
# ### How our setting differs from Koch et al.'s
#
# - **Data.** Koch et al. trained on the 30 background alphabets (964 characters), and only on
#   the drawings of 12 of the 20 drawers, with affine-distorted copies of each pair (their
#   largest training set: 150,000 pairs and 8 distortions of each). We choose on the 4
#   non-validation alphabets of `background_small1` (114 characters, all 20 drawers) and
#   train the final model on all 5 (136 characters; four times as many with the rotations),
#   with shifts and rotations drawn afresh at every step.
# - **Validation.** They validated on 10 alphabets taken from the *evaluation* set with 4 other
#   drawers, and searched their hyper-parameters (learning rates, momentum, L2 weights per
#   layer) with Bayesian optimisation. We validate on one *background* alphabet and made the
#   few choices above (ablation, final-budget candidates) on it; the test alphabets were never
#   seen before the single scoring.
# - **Network and images.** 105x105 images, four convolutions of 64 to 256 filters and a
#   4096-d sigmoid embedding (about 38 million weights) trained with SGD and momentum, up to
#   200 epochs; ours: 28x28 images, three 4-block 64-filter conv nets with 256-d embeddings
#   put side by side, Adam, 2,300 steps each, in minutes on 2 CPU cores, and every image
#   scored as the mean of 5 shifted views.
# - **Loss.** Theirs: binary cross-entropy on one pair at a time. Ours: the N-way comparison
#   of 20 characters of one alphabet at a time, the test's own shape.
#
# On MNIST, Koch et al. report 70.3% for their Omniglot network against 26.5% for 1-NN, on
# 10-way one-shot tasks with no training on digits. Our 1-NN on pixels is far above their
# 26.5% (their protocol for that baseline is not described in enough detail to say why), so
# compare each method with the 1-NN of the same protocol.

# %%
results.record("06_one_shot", lake_20_run_accuracy=test_acc, lake_20_run_ci_low=run_low,
               lake_20_run_ci_high=run_high, koch_baseline_20_runs=koch_acc,
               pixel_1nn_20_runs=pixel_acc, validation_20way=val_final,
               members=MEMBERS, member_steps=MEMBER_STEPS, test_time_shifts=TEST_TIME_SHIFTS,
               batch_norm=BATCH_NORM,
               train_minutes=round(final_minutes, 2),
               train_split=TRAIN_SPLIT, image_size=IMAGE_SIZE,
               accuracy_vs_n={int(n): round(float(v), 4) for n, v in zip(ns, recipe_curve)},
               mnist_10way_from_omniglot=transfer_acc, mnist_10way_pixels=mnist_pixel_acc,
               mnist_5way_new_digits={k: round(v[0], 4) for k, v in mnist_new.items()})

# %% [markdown]
# ## Summary
#
# - Koch's Siamese network learns "same or different?" on single pairs; trained briefly on a
#   CPU with 5 alphabets it is well above pixel matching on Lake's runs, but far from the
#   paper.
# - Training the way the test asks — 20 characters of one alphabet compared at once, a softmax
#   over negative squared distances (the N-way or N-pair loss), rotated characters as extra
#   classes — is what makes the difference; the ablation measures each step at equal
#   wall-clock time: the N-way loss is the first big step, and on a CPU a net that is cheap
#   per step (here: no batch norm) the second, in a 30-second sprint.
# - At the final budget, one held-out alphabet could not tell the candidates apart; every
#   background alphabet held out in turn, with the tasks compared one by one, could. Batch norm
#   still made no difference, a 7,000-step schedule was worse than a 2,300-step one, and the
#   same training time spent on three shorter nets put side by side (an ensemble) was clearly
#   better than one long net. Averaging each embedding over shifted copies of the image helped
#   a single net, not the ensemble.
# - Every choice was made on held-out background alphabets; then the final nets learned from
#   every background alphabet with exactly that recipe, and the combined model was saved,
#   reloaded and scored once on the 20 runs, with intervals over runs and over the 400 queries.
# - Accuracy falls with N for every method; the recipe stays above Koch's net and 1-NN at
#   every N.
# - On MNIST, the Omniglot net transfers to 10-way one-shot digits above 1-NN on pixels;
#   trained on digits 0 to 4 only, Koch's pair training falls below pixel matching on 5 to 9
#   while the N-way recipe stays above it.
#
# ## Exercises
#
# 1. The selection file has one seed per candidate and held-out alphabet. Add a candidate to
#    `scripts/select_06.py` with five nets of 1,400 steps (the same budget), run it on every
#    held-out alphabet and compare it task by task with the three-net ensemble.
# 2. Set `TRAIN_SPLIT = "background"` (30 alphabets, 4 validation alphabets) and re-run the
#    notebook on a Colab GPU. Which parameters would you change, and why?
# 3. Train with N = 5 episodes instead of 20 and score 20-way validation tasks. Is it better
#    to train with the test's N?
# 4. Why must the validation characters come from alphabets that are not in training, rather
#    than from held-out drawings of training characters?
#
# <details><summary>Solution 1</summary>
#
# Add `"ensemble5": dict(label="5 nets without batch norm, 1400 steps each, side by side",
# batch_norm=False, steps=1400, members=5)` to `CANDIDATES`, then run
# `flock /tmp/course_heavy.lock python -m scripts.select_06 --candidates ensemble5 --held-out
# Early_Aramaic Balinese Greek Korean Latin` (about 45 minutes on 2 CPU cores; on a GPU far
# less). Then, in section 4, `evaluate.paired_sign_test(right_on("ensemble5", "shifts"),
# right_on("ensemble3", "shifts"))` compares them task by task. Shorter nets are weaker alone, so the trade-off between more members and
# better members has an optimum somewhere; only a gap with a small p-value over the 2,000
# tasks is worth choosing by, and a new winner must then be checked with more seeds, since
# trying more candidates makes a lucky winner more likely.
# </details>
#
# <details><summary>Solution 2</summary>
#
# Nothing in the code: the parameters cell picks the split and its validation alphabets. On a
# GPU a step costs far less, so raise `MEMBER_STEPS` (or `MEMBERS`) (and maybe `IMAGE_SIZE`, then re-run the
# ablation script to check that the bigger input pays off). With 4 validation alphabets the
# selection is also less noisy than with one.
# </details>
#
# <details><summary>Solution 3</summary>
#
# ```python
# episodes5 = pairs.episode_dataset(x_train, y_train, alphabet_train, 5, 16, seed=SEED,
#                                   rotations=True, max_shift=2, repeat=True)
# net5 = models.conv4_encoder((IMAGE_SIZE, IMAGE_SIZE), EMBEDDING_DIM, batch_norm=BATCH_NORM)
# net5.compile(keras.optimizers.Adam(LEARNING_RATE), losses.NWayLoss(5))
# check5 = callbacks.OneShotValidation(x_val, val_query, val_support, val_answer)
# net5.fit(episodes5, steps_per_epoch=500, epochs=4, callbacks=[check5])
# ```
# The same number of images per step (5 x 2 x 16 = 160). Compare `check5.history` with the
# first 2,000 steps of the 20-way runs in section 4's file: easier 5-way episodes give a weaker signal for the
# 20-way test, as Snell et al. also found (they train with more ways than they test).
# </details>
#
# <details><summary>Solution 4</summary>
#
# The test asks about *new alphabets*: new stroke styles, not only new drawers. Validating on
# new drawings of known characters rewards memorising those characters and picks too late an
# epoch: the selection must face the same kind of novelty as the test.
# </details>
