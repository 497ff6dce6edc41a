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
# # 06 · One-shot learning on Omniglot: train the way you test
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/siamese-course/siamese-networks-course/blob/main/notebooks/06_one_shot.ipynb)
#
# *One-shot classification*: a network sees one drawing of each of N characters it has never
# seen (the *candidates*) and one more drawing (the *query*), and must say which candidate
# the query is. Lake, Salakhutdinov and Tenenbaum (2015) made a benchmark of it on Omniglot:
# 20 runs of 20-way one-shot classification, each inside one alphabet no model learned
# from. Koch, Zemel and Salakhutdinov (2015) report 92% on 400 trials built the same way,
# with a convolutional Siamese network trained on pairs.
#
# This lesson trains a small, CPU-sized version of Koch's pair-trained net, then a net
# trained on the test's own shape: N characters of one alphabet compared at once. Both are
# scored on Lake's runs, with intervals that respect how those runs were built.
#
# **What you will be able to do after this notebook**
#
# - describe Lake's 20 runs, and score any encoder on them against 1-NN on pixels;
# - train a Koch-style Siamese net (weighted L1 head, sigmoid, binary cross-entropy on pairs);
# - compute the N-way comparison of an episode in `keras.ops`, write its loss, and train an
#   encoder on `tf.data` episodes of N characters of one alphabet with one `course_lib` call;
# - compare two models query by query, with intervals that count alphabets, not queries;
# - say what transfers to MNIST digits.
#
# **Prerequisites:** notebooks 01 and 02 (Siamese models, pairs), 03 (losses), 04 (paired
# comparisons, p-values and the smallest detectable effect), 05 (softmax, logits and
# cross-entropy). How the recipe's settings were
# chosen on validation alphabets is the appendix notebook `06b_choosing_the_recipe`.
#
# **Sources.** G. Koch, R. Zemel, R. Salakhutdinov, *Siamese Neural Networks for One-shot
# Image Recognition*, ICML Deep Learning Workshop 2015 (the baseline; section 4 and Table 2;
# the MNIST experiment). B. M. Lake, R. Salakhutdinov, J. B. Tenenbaum, *Human-level concept
# learning through probabilistic program induction*, Science 350(6266), 2015 (Omniglot, the
# 20 runs, the small background splits). J. Snell, K. Swersky, R. Zemel, *Prototypical
# Networks for Few-shot Learning*, NeurIPS 2017 (the loss with one example per class); A.
# Santoro et al., *Meta-Learning with Memory-Augmented Neural Networks*, ICML 2016 (its
# arXiv preprint is titled *One-shot Learning with ...*; rotated characters as new classes). O. Vinyals
# et al., *Matching Networks for One Shot Learning*, NeurIPS 2016. Y. LeCun et al.,
# *Gradient-based learning applied to document recognition*, Proc. IEEE 86(11), 1998
# (MNIST). B. M. Lake, R. Salakhutdinov, J. B. Tenenbaum, *The Omniglot challenge: a 3-year
# progress report*, Current Opinion in Behavioral Sciences 29, 2019 (the minimal splits,
# also documented in the brendenlake/omniglot repository).

# %%
import sys

if "google.colab" in sys.modules:  # on Colab: install course_lib from the repository
    # %pip install -q "git+https://github.com/siamese-course/siamese-networks-course"

from course_lib import config

config.describe();

# %% [markdown]
# ## Parameters
#
# `TRAIN_SPLIT` is one of Lake's two minimal background splits (5 alphabets). Budgets are in training
# steps. `RECIPE_FILE` holds the saved results of a longer run (section 4).

# %% tags=["parameters"]
TRAIN_SPLIT = "background_small1"
IMAGE_SIZE = 28                 # the side of every image
BOX = 20                        # each drawing fitted to a 20x20 box in its 28x28 frame
N_WAY = 20                      # characters per task, as in the test
LESSON_STEPS = config.pick(full=1200, fast=200)    # the one net trained live
KOCH_STEPS = config.pick(full=3000, fast=300)      # the Koch-style baseline (cheaper steps)
STEPS_PER_EPOCH = 100           # one progress line per 100 steps
MNIST_TASKS = 400               # 10-way one-shot tasks on the MNIST test set
RECIPE_FILE = "results/06_recipe.json"
OTHER_SPLIT_FILE = "results/06_recipe_small2.json"   # the same recipe, Lake's other split
MORE_SEEDS = {1: {"background_small1": "results/06_recipe_seed1.json",   # more training
                  "background_small2": "results/06_recipe_small2_seed1.json"},  # runs of the
              2: {"background_small1": "results/06_recipe_seed2.json",   # recipe, seeds 1, 2
                  "background_small2": "results/06_recipe_small2_seed2.json"}}
MNIST_SCALE_FILE = "results/06_mnist.json"           # how digits are shown (section 6)
MNIST_EXPLORE_FILE = "results/06_mnist_explore.json"
MNIST_CONFIRM_FILE = "results/06_mnist_confirm.json"
SEED = 0

config.seed_everything(SEED)

# %% [markdown]
# ## The task and Lake's protocol
#
# Omniglot holds 1,623 characters of 50 alphabets, each drawn by 20 different people. Lake
# et al. split the alphabets into 30 *background* alphabets to learn from and 20
# *evaluation* alphabets to test on, and offer two minimal background splits of 5 alphabets;
# we learn from one of those. Their 20 test runs are 2 runs for each of 10 of the evaluation
# alphabets; a run is 20 characters of one alphabet, 20 candidates drawn by one person and 20
# queries by another. That is 400 queries, but only 10 alphabets.
#
# People draw a character larger or smaller and in different places of the frame. Every
# drawing here, for training and in Lake's runs, is cropped to its ink and scaled, keeping
# its proportions, into a `BOX` x `BOX` square centred in the frame (`data.fit_to_box`, from
# the 105x105 originals): the way MNIST's digits were normalised to 20x20 (LeCun et al.
# 1998, section III.A; they then centred each digit by its centre of mass). Alone it was not
# detectably better on validation; together with the wider episodes of section 3 it passed
# its test narrowly (not under Holm's correction over the four such tests made). Retrained on
# another seed and tested against the reused (and weakest) seed-0 nets of the recipe it
# replaced, on the same validation tasks, it passed again; with the 5 validation alphabets
# as the units it is not detectable (notebook 06b, section 5).
#
# The simplest model needs no training: the nearest neighbour on raw pixels (1-NN), which
# picks the candidate at the smallest Euclidean distance from the query.
# `oneshot.score_lake_queries` scores a model on every query of the 20 runs (`None` means
# pixels) and says which it got right, counting a tie as wrong; every model below is scored
# by that same code. Koch et al. (2015, Table 2) report 21.7% for 1-NN on the drawings
# as they are (at a resolution they do not state); ours on the area-resized drawings is
# close to it.
#
# **Claim:** fitting every drawing to one box more than doubles 1-NN's accuracy on Lake's
# runs, from 21.00% on the drawings area-resized to 28x28 to 47.75%: part of what a trained net must
# learn (ignore size and position) the fitting already does. Every Omniglot "1-NN on pixels"
# below is on the fitted drawings, the stronger baseline, unless labelled area-resized. Here is one query with 1-NN's pick:

# %%
import numpy as np

from course_lib import data, evaluate, oneshot, plots

omniglot = data.load_omniglot(TRAIN_SPLIT, IMAGE_SIZE, box=BOX)
runs = data.load_lake_runs(IMAGE_SIZE, box=BOX)
# the alphabet of each of the 400 queries, run by run (runs 1-2: Atlantean, 3-4: Ge_ez, ...)
query_alphabet = np.repeat(data.LAKE_RUN_ALPHABETS, len(runs[0].test_images))
print(f"training: {len(omniglot.images)} images of {len(np.unique(omniglot.character))} "
      f"characters from {len(omniglot.alphabet_names)} alphabets {omniglot.alphabet_names}")
print(f"Lake's test: {len(runs)} runs x {len(runs[0].test_images)} queries, "
      f"{len(np.unique(query_alphabet))} alphabets, images {runs[0].train_images.shape[1:]}")

pixel_right, pixel_picks = oneshot.score_lake_queries(None, runs)
resized_pixel_right, _ = oneshot.score_lake_queries(None, data.load_lake_runs(IMAGE_SIZE))
print(f"1-NN on pixels: fitted to {BOX}x{BOX} {pixel_right.mean():.2%} of Lake's 400 queries, "
      f"area-resized {resized_pixel_right.mean():.2%} "
      f"({pixel_right.mean() / resized_pixel_right.mean():.2f}x); chance {1 / N_WAY:.0%}")
assert pixel_right.mean() > 2 * resized_pixel_right.mean(), pixel_right.mean()
assert round(resized_pixel_right.mean(), 4) == 0.21, resized_pixel_right.mean()
plots.plot_one_shot_task(runs[0].test_images[0], runs[0].train_images, int(pixel_picks[0, 0]),
                         int(runs[0].answers[0]), title="1-NN on fitted pixels, Lake's run 1, "
                                                        "query 1", rows=2);

# %% [markdown]
# ## 1. A Koch-style baseline, scaled to a CPU
#
# Koch et al.'s network embeds both images of a pair with one convolutional encoder $f$ and
# weighs the absolute differences of the embeddings:
#
# $$p(\text{same} \mid x_1, x_2) = \sigma\Big(\sum_j \alpha_j \,\big|f(x_1)_j - f(x_2)_j\big| + b\Big),$$
#
# trained with binary cross-entropy on pairs: half the pairs show one character twice, half
# show two different characters; every image gets a small affine distortion. To answer a
# one-shot task, the net scores the query against each candidate and picks the highest
# $p(\text{same})$. Koch et al. (section 4) trained on 105x105 images of 30 alphabets, drawn by
# 12 of the 20 drawers, with 8 affine copies of each pair, layer-wise learning rates and
# momentum, and picked their hyper-parameters on one-shot tasks of 10 further alphabets. Ours
# is a *Koch-style* net scaled to a CPU: the same pattern of four convolutions with the
# kernels scaled to 28x28 images, half the filters and a 512-d sigmoid embedding instead of
# 4096-d (`models.koch_encoder(width=0.5)`, with an L2 penalty of 2e-4 on every encoder layer), Adam
# at a constant learning rate, `KOCH_STEPS` steps of 80 pairs: 160 images a step, as many as
# an episode step below. Its steps are cheaper than the episode net's, so it gets more of
# them: about the same training time (both are printed). Do not be surprised if it scores
# below 1-NN on the fitted pixels: section 3 tests that gap and says what it means.

# %%
import time

import keras

from course_lib import models, pairs
from course_lib.augment import RandomAffine

keras.utils.set_random_seed(SEED)
koch_net = models.siamese(models.koch_encoder(IMAGE_SIZE, 512, width=0.5), head="koch",
                          name="koch_style_siamese")
koch_net.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
koch_pairs = pairs.pair_dataset(omniglot.images, omniglot.character, batch_size=80, seed=SEED,
                                augment=RandomAffine(seed=SEED), repeat=True)
start = time.perf_counter()
koch_net.fit(koch_pairs, steps_per_epoch=3 * STEPS_PER_EPOCH,
             epochs=KOCH_STEPS // (3 * STEPS_PER_EPOCH), verbose=2)
koch_minutes = (time.perf_counter() - start) / 60
koch_right, _ = oneshot.score_lake_queries(koch_net, runs)
full_size = models.siamese(models.koch_encoder(105, 4096), head="koch").count_params()
print(f"Koch-style net: {koch_net.count_params():,} weights (Koch et al.'s layers at full size: "
      f"{full_size:,}), {KOCH_STEPS} steps in {koch_minutes:.1f} min; Lake's runs "
      f"{koch_right.mean():.1%} "
      f"(1-NN on pixels {pixel_right.mean():.1%})")

# %% [markdown]
# ## 2. Train the way you test
#
# The test asks: which of **20 candidates of one alphabet** is the query? Pair training asks
# something easier: is this *one* pair the same character, where the other character of a
# "different" pair usually comes from another alphabet. Training on the test's question:
#
# 1. **Episodes inside one alphabet.** An episode takes N = 20 characters of one alphabet and
#    two drawings of each: anchors $a_1..a_N$ and candidates $c_1..c_N$ ($a_i$ and $c_i$ are
#    the same character). An anchor is a training-time query: each anchor is tested against
#    all N candidates. `pairs.episode_dataset` draws episodes as a seeded `tf.data` stream.
# 2. **All N candidates at once.** The encoder $f$ embeds every image; anchor $i$'s logits are
#    minus its squared distances to the N candidates, and its loss is the cross-entropy with
#    its own candidate:
#
#    $$\ell_i = -\log \frac{\exp(-\lVert f(a_i) - f(c_i)\rVert^2)}{\sum_{j=1}^{N} \exp(-\lVert f(a_i) - f(c_j)\rVert^2)}.$$
#
#    The loss also turns the question round, each candidate picking among the anchors, and
#    averages the two directions. One direction alone is the loss of a prototypical network
#    (Snell et al. 2017, eq. 2) with one drawing per class. At test time the pick is the
#    nearest candidate: exactly what the loss trains.
# 3. **More characters.** A character turned by 90°, 180° or 270° becomes a new character
#    (as in Santoro et al. 2016), which here stays in its own alphabet; random shifts of up to 2 pixels vary the
#    drawings.
#
# This illustration uses the test's size, 4 episodes of N = 20 in a step; the recipe of
# section 3 trains one 80-way episode per step instead. The start of one episode, as the
# network sees it (`rotated_groups=False`: a rotated character stays in its own alphabet's
# episodes; images pair up by position: each episode's first N rows are the anchors, the
# next N their candidates in the same order, and `NWayLoss` ignores `labels`):

# %%
batch, labels = next(iter(pairs.episode_dataset(
    omniglot.images, omniglot.character, omniglot.alphabet, N_WAY, episodes=4, seed=SEED,
    rotations=True, max_shift=2, rotated_groups=False)))
batch = batch.numpy()
print(f"one step: {batch.shape[0]} images = 4 episodes x {N_WAY} characters x 2 drawings")
plots.show_pairs(batch[:8], batch[N_WAY:N_WAY + 8], np.ones(8), row_labels=("anchor", "candidate"),
                 captions=[f"character {i + 1}" for i in range(8)],
                 title="The first 8 of an episode's 20 characters, all of one alphabet "
                       "(rotated characters belong to it too)");

# %% [markdown]
# The new idea in code is the comparison of every anchor with every candidate. With the
# embeddings reshaped to (episodes, 2, N, D), broadcasting gives all the squared distances
# at once, shape (episodes, N, N): row $i$ holds anchor $i$'s distances to the N
# candidates, and the right answers sit on the diagonal. Exercise 1 turns this matrix into
# the loss; here `losses.NWayLoss` computes it.
#
# **Claim:** a freshly initialised encoder starts at an N-way loss within 0.1 of $\log N$,
# the loss of a softmax that gives every candidate the same probability, because all its
# squared distances are small (below 1, the check; the largest is printed), which makes the
# softmax nearly flat. That is not the same as being unable to rank: its nearest candidate
# is already right more often than chance (printed; the p-value is approximate, as anchors
# of one episode share their candidates).

# %%
from keras import ops
from scipy import stats

from course_lib import losses

encoder = models.conv4_encoder((IMAGE_SIZE, IMAGE_SIZE), 256, filters=64, batch_norm=False)
e = ops.reshape(encoder(batch, training=False), (-1, 2, N_WAY, 256))
d2 = ops.sum((e[:, 0, :, None, :] - e[:, 1, None, :, :]) ** 2, axis=-1)   # (4, 20, 20)
untrained = float(losses.NWayLoss(N_WAY)(labels, ops.reshape(e, (-1, 256))))
d2_np = ops.convert_to_numpy(d2)
nearest_right = int((d2_np.argmin(axis=2) == np.arange(N_WAY)).sum())
print(f"distances of the step: shape {d2_np.shape}, largest {d2_np.max():.3f} (check: below "
      f"1); untrained loss {untrained:.3f}, log N = {np.log(N_WAY):.3f}, gap "
      f"{abs(untrained - np.log(N_WAY)):.3f} (check: below 0.1)")
above_chance = stats.binomtest(nearest_right, d2_np.shape[0] * N_WAY, 1 / N_WAY,
                               alternative="greater").pvalue
print(f"nearest candidate right for {nearest_right} of {d2_np.shape[0] * N_WAY} anchors "
      f"(chance: {d2_np.shape[0]}); one-sided binomial p = {above_chance:.1g} (check: below 0.01)")
assert abs(untrained - np.log(N_WAY)) < 0.1 and d2_np.max() < 1, (untrained, d2_np.max())
assert above_chance < 0.01, (nearest_right, above_chance)

# %% [markdown]
# ## 3. The recipe in one call
#
# `training.train_one_shot_recipe` builds the encoder (4 blocks of 3x3 convolutions with 64
# filters, ReLU and 2x2 max-pooling, then a 256-d linear embedding), compiles it with
# `NWayLoss` and Adam (its learning rate lowered along half a cosine wave, from 1e-3 at the
# first step to 0 at the last), and trains it on the episode stream. Its episodes are wider
# than the test: one step is **one episode of 80 characters** of one alphabet, two drawings
# each (160 images, as many as four 20-way episodes). None of our alphabets has 80
# characters, but with each character's rotations counted in its own alphabet every one has
# at least 88 (printed below), so most characters meet their own rotations as distractors.
# Snell et al. (2017, section 3.1) also trained with more classes per episode (60) than
# they tested with, drawn from all training classes rather than one alphabet.
#
# Notebook 06b chose these settings on held-out background alphabets and lists which were
# compared on their own (batch norm, schedule lengths, Koch's distortions, one net or three,
# the N-way loss, rotations, shifts, input size) and which only together: the 80-way
# episodes and the box were found by exploring and adopted as one bundle, then tested by a
# rule fixed in advance: a narrow pass on validation, then a second pass with new nets
# against the earlier recipe's reused seed-0 nets, on the same validation tasks (06b,
# section 5: Holm's correction over all five such tests keeps only the second pass, and
# with the 5 validation alphabets as the units it is not detectable); the learning rate, embedding size and
# shift range were not compared on their own. The
# lesson trains one net for `LESSON_STEPS` steps on all 5 alphabets:

# %%
from course_lib import training

RECIPE = dict(n_way=80, episodes=1, embedding_dim=256, filters=64, batch_norm=False,
              learning_rate=1e-3, rotations=True, max_shift=2, rotated_groups=False)
with_rotations = {name: 4 * len(np.unique(omniglot.character[omniglot.alphabet == a]))
                  for a, name in enumerate(omniglot.alphabet_names)}
print("characters per alphabet, with rotations: "
      + ", ".join(f"{k} {v}" for k, v in with_rotations.items()))
assert min(with_rotations.values()) >= 88 >= RECIPE["n_way"], with_rotations
lesson = training.train_one_shot_recipe(
    omniglot.images, omniglot.character, omniglot.alphabet, steps=LESSON_STEPS, seed=SEED,
    steps_per_epoch=STEPS_PER_EPOCH, **RECIPE)
one_net = lesson.encoder
one_net_right, one_net_picks = oneshot.score_lake_queries(one_net, runs)
print(f"one net: {one_net.count_params():,} weights, {lesson.total_steps} steps in "
      f"{lesson.minutes:.1f} min; Lake's runs {one_net_right.mean():.1%}")

# %% [markdown]
# The same episode as above, seen by the trained net: row $i$ is anchor $i$'s softmax over
# the 20 candidates. The loss pushed the diagonal up. These are training images, so the
# picture shows what the loss fitted; how well it generalises is what Lake's runs measure:

# %%
trained = ops.reshape(one_net(batch, training=False), (-1, 2, N_WAY, 256))
d2_trained = ops.sum((trained[0, 0, :, None, :] - trained[0, 1, None, :, :]) ** 2, axis=-1)
plots.plot_episode_matrix(ops.convert_to_numpy(d2_trained),
                          title="The trained net on the episode above");

# %% [markdown]
# **How to read the comparisons below.** Two models scored on the same 400 queries are
# *paired*: only the queries one gets right and the other wrong tell them apart. The queries
# are not independent: those of one alphabet share its difficulty. So every interval and
# test here is *clustered by alphabet*: in effect it averages within each of the 10
# alphabets first and counts 10 pieces of evidence, not 400 (`evaluate.compare(...,
# clusters=...)`, a cluster-robust t test with 9 degrees of freedom). *Detectable* means
# p < 0.05; the *smallest detectable effect* is the difference this design would detect 80%
# of the time (notebook 04), printed beside every "not detectable". `compare` picks the test
# from the design and names it in its printout: for paired right/wrong outcomes without
# clusters, McNemar's exact sign test on the queries only one model got right; for two
# independent samples, Fisher's exact test with a Newcombe interval; a Wilson interval is the
# interval of one share (accuracy) of independent trials.
#
# **Claim:** on alphabets it never learned from, the net trained on episodes is 1.8x as
# accurate as 1-NN on the fitted pixels, its fair baseline (4.2x 1-NN on the area-resized
# drawings, which are not fitted and score close to the published figure; check: at least
# 2.5x); it beats the Koch-style
# net, trained for about as long, by 45.5 points (p below 0.001).

# %%
def on_lake(right):
    """Accuracy on the 400 queries and its 95% interval over the 10 alphabets."""
    return evaluate.mean_with_ci(right.astype(float), clusters=query_alphabet)


acc, low, high = on_lake(one_net_right)
vs_koch = evaluate.compare(one_net_right, koch_right, paired=True, clusters=query_alphabet,
                           label="one net - Koch-style")
vs_pixels = evaluate.compare(koch_right, pixel_right, paired=True, clusters=query_alphabet,
                             label="Koch-style - fitted pixels")
print(f"one net: {acc:.1%} (95% CI over alphabets {low:.1%} to {high:.1%}), "
      f"{acc / pixel_right.mean():.1f}x 1-NN on the fitted pixels, "
      f"{acc / resized_pixel_right.mean():.1f}x 1-NN on the area-resized pixels (check: at least "
      f"2.5x)")
print(vs_koch)
print(vs_pixels)
print(f"gain over Koch-style {100 * vs_koch.effect:.1f} points, p = {vs_koch.p_value:.2g} "
      f"(check: below 0.001)")
assert acc >= 2.5 * resized_pixel_right.mean(), (acc, resized_pixel_right.mean())
assert vs_koch.p_value < 0.001 and vs_koch.effect > 0, vs_koch

# %% [markdown]
# **Claim:** (full run only) the Koch-style net is detectably above 1-NN on the
# area-resized pixels, but not detectably different from 1-NN on the fitted pixels (the
# smallest difference the design could detect is printed): after this budget, this design
# cannot tell whether the pair-trained net learned anything beyond matching the fitted
# pixels. (Its training loss, a binary cross-entropy per pair plus the L2 penalty, and the
# N-way loss per anchor are on different scales: do not compare the two printed losses.)

# %%
vs_resized = evaluate.compare(koch_right, resized_pixel_right, paired=True,
                              clusters=query_alphabet, label="Koch-style - area-resized pixels")
print(vs_resized)
print(f"Koch-style over fitted pixels: {100 * vs_pixels.effect:+.2f} points, smallest "
      f"detectable {100 * vs_pixels.smallest_detectable:.1f}; over area-resized pixels "
      f"{100 * vs_resized.effect:+.2f}")
if not config.fast_mode():
    assert vs_resized.detectable and vs_resized.effect > 0, vs_resized
    assert not vs_pixels.detectable, vs_pixels

# %% [markdown]
# This is a comparison of two whole recipes, not of two losses: besides the loss and the
# task, they differ in the encoder (Koch's kernels and a sigmoid embedding, against 3x3
# convolutions and a linear one), the head (weighted L1 against squared Euclidean), the data
# (rotations give the episode net four times the characters), the distortions (affine against
# shifts), the weight penalty and the schedule (constant against cosine), each with one
# seed; and the Koch-style net's printed loss suggests it had not finished learning. So it
# shows that this pair-trained net, after this budget, is far behind the episode-trained
# one; it cannot say which change mattered. Notebook 06b's equal-time ablation changes one thing per row: there the N-way
# loss on episodes is the largest single step, in a 30-second sprint of few steps on one
# validation alphabet with 3 seeds and no test of that step, which *hints* that training on
# the test's question matters most; 06b lists that study's limits.
# Exercise 3 gives the Koch-style net a longer run.
#
# ## 4. The full recipe, from its file
#
# The full recipe is **three such nets** of 2,300 steps each, trained one after the other, with their embeddings put side by side (`models.ensemble`): the squared distance
# between two such embeddings is the sum of the three nets' squared distances, so each net
# votes through its distances. It is the call above with `members=3, steps=2300`; member 0
# has seed 0, like the one net (it starts from the same weights and episodes), members 1
# and 2 seeds 1 and 2. For the earlier recipe (four 20-way episodes per step on the
# drawings area-resized) 06b chose three nets; it left out *test-time shifts* (each image
# embedded as the mean of 5 views: itself and copies moved 1 pixel up, down, left and
# right), since they multiply inference by 5 for no detectable gain on validation (06b,
# sections 4 and 5); and it ranks by the Euclidean distance its loss trains rather than by
# cosine or by embeddings first centred on a mean (06b, section 5, chosen again with the
# adopted recipe's nets). The adopted recipe kept three nets and no shifts without
# comparing either again on validation (the comparisons below make both on Lake's runs,
# after the choice; on three against one net, more training steps come with the nets). Training it takes 5.75 times
# the one net's steps, so `scripts/recipe_06.py` trained it with the same call on the same
# data, together with the one net, and saved which Lake queries each got right.
#
# **Claim:** (full run only) the file's one net is the net you just trained: the two get the
# same queries right and wrong, at least 390 of the 400 (the same seed and call; two machines may round
# differently). So the comparisons below, which use the file's two runs, are about the net
# trained above.

# %%
from course_lib import results

recipe_file = results.read_recipe(RECIPE_FILE)
file_one_net, file_recipe = recipe_file.run("lesson"), recipe_file.run("recipe")
recipe_right = file_recipe.scores["lake_plain"].outcomes
for saved in recipe_file.runs:
    print(f"{saved.label}: {saved.members} x {saved.steps:,} steps, {saved.minutes:.1f} min; "
          f"Lake {saved.scores['lake_plain'].accuracy:.2%} plain, "
          f"{saved.scores['lake_shifts'].accuracy:.2%} with shifts")
same_queries = int((file_one_net.scores["lake_plain"].outcomes == one_net_right).sum())
print(f"the file's one net and the net trained above agree on {same_queries} of 400 queries "
      f"(check, full run: at least 390)")
if not config.fast_mode():
    assert same_queries >= 390, same_queries

# %% [markdown]
# Both runs faced the same 400 queries. The comparison is confounded: the full recipe has
# three nets *and* 5.75 times the training steps, so it cannot say which of the two helped
# (exercise 3 asks).
#
# **Claim:** the full recipe scores 92.50% on Lake's runs. It beats the one net detectably,
# and test-time shifts make no detectable difference, on top of it nor on the one net (on
# the one net they raise the score, not detectably), with the smallest detectable effects
# printed beside them.

# %%
recipe_acc, recipe_low, recipe_high = on_lake(recipe_right)
gain = evaluate.compare(recipe_right, file_one_net.scores["lake_plain"].outcomes, paired=True,
                        clusters=query_alphabet, label="three nets - one net")
shifts = evaluate.compare(file_recipe.scores["lake_shifts"].outcomes, recipe_right,
                          paired=True, clusters=query_alphabet, label="shifts - plain")
one_net_shifts = evaluate.compare(file_one_net.scores["lake_shifts"].outcomes,
                                  file_one_net.scores["lake_plain"].outcomes, paired=True,
                                  clusters=query_alphabet, label="one net: shifts - plain")
print(f"the full recipe: {recipe_acc:.2%} (95% CI over alphabets {recipe_low:.1%} to "
      f"{recipe_high:.1%}); {file_recipe.members * file_recipe.steps / file_one_net.steps:.2f} "
      f"times the one net's steps")
print(gain)
print(shifts)
print(one_net_shifts)
assert round(recipe_acc, 4) == 0.925 and gain.detectable and gain.effect > 0, gain
assert not shifts.detectable and not one_net_shifts.detectable, (shifts, one_net_shifts)
assert one_net_shifts.effect > 0, one_net_shifts

# %% [markdown]
# On validation, for the earlier recipe (notebook 06b, section 4), shifts helped a single
# long net detectably and the ensemble not; *one likely reason* is that three nets already average
# out some of what the shifts average out.
#
# **Beside Koch et al.'s 92%.** Their number comes from 30 background alphabets, 105x105
# images and a far larger net, on 400 trials built as Lake's runs are (Koch et al. section
# 4.3), not necessarily the same queries; ours from 5 alphabets at 28x28 on a CPU. Treating
# their 92% as a fixed value, a one-sample t test over our 10 alphabets asks whether our
# accuracy differs from it (`evaluate.compare` on the alphabets' accuracies against 92%,
# `kind="scores"`; its printout calls the 10 alphabets "seeds").
#
# **Claim:** the full recipe is not detectably different from the published 92%; the
# smallest difference the 10 alphabets could detect is printed beside it. The test ignores
# the sampling noise of Koch et al.'s own 400 trials, so the real smallest detectable
# difference is larger. The course's goal was this same 92% on these runs, and work on the
# recipe stopped when this recipe reached it (06b, section 6), so this test describes our
# score; it does not replicate Koch et al.'s.

# %%
koch_paper = 0.92     # Koch et al. 2015, Table 2
by_alphabet = {a: recipe_right[query_alphabet == a].mean() for a in np.unique(query_alphabet)}
vs_paper = evaluate.compare(np.array(list(by_alphabet.values())),
                            np.full(len(by_alphabet), koch_paper), paired=True, kind="scores",
                            label=f"full recipe - Koch et al. {koch_paper:.0%}")
print(vs_paper)
print("(the published value is treated as exact: the sampling noise of its 400 trials is left out)")
assert not vs_paper.detectable, vs_paper

# %% [markdown]
# Read it with its limits: one training seed per model in these comparisons (section 7
# below reports two more runs of the full recipe on each split, which scored Lake's runs and
# MNIST, plain and with shifts), and Lake's runs were looked at more
# than once while the course was developed, including when the final rule (no shifts) was
# chosen and for earlier recipes, one of which this recipe replaced after it fell short of a
# goal on these runs (`docs/looks_06.md` lists every look; notebook 06b, section 6, says
# what they mean). So
# this is not an untouched estimate; on these runs the adopted recipe cannot be told from
# the earlier one (06b, section 6). Each comparison on Lake's runs in this notebook is made
# on its own at level 0.05 (section 6's scale stage is Holm-corrected); held to Holm's
# correction over this notebook's tests on Lake's runs, its results with p from 0.019 to
# 0.029 (here and in section 7) would not pass. Notebook 06b shows how to correct a family of comparisons together.
#
# One query the trained net got wrong (red: its pick, green: the truth), and whether 1-NN on
# pixels got the same query right. Mistakes teach more than successes:

# %%
wrong = np.flatnonzero(~one_net_right)
r, i = divmod(int(wrong[0]), len(runs[0].answers))
print(f"{wrong.size} of 400 queries wrong; this one, 1-NN on pixels got "
      f"{'right' if pixel_right[wrong[0]] else 'wrong'}")
plots.plot_one_shot_task(runs[r].test_images[i], runs[r].train_images,
                         int(one_net_picks[r, i]), int(runs[r].answers[i]),
                         title=f"The trained net, Lake's run {r + 1} "
                               f"({data.LAKE_RUN_ALPHABETS[r]}), query {i + 1}", rows=2);

# %% [markdown]
# ## 5. Accuracy against N
#
# The same 400 queries make easier tasks: for each query, its true character and N - 1
# others of the same run (`oneshot.lake_accuracy_against_n`, on `oneshot.lake_n_way_tasks`;
# at N = 20 these are the official tasks). Wilson 95% intervals over the 400 tasks (not clustered: a picture, not a test;
# section 3 tested the 20-way column).

# %%
import pandas as pd

ns = np.array([2, 5, 10, 20])
contenders = {"one net (episodes)": one_net, "Koch-style net": koch_net,
              "1-NN on fitted pixels": None}
curves, errors = oneshot.lake_accuracy_against_n(contenders, runs, ns, seed=SEED)
plots.plot_accuracy_vs_n(ns, curves, errors, title="One-shot accuracy on Lake's runs against N "
                                                   "(Wilson 95% intervals, not clustered)")
pd.DataFrame({**curves, "chance": 1 / ns}, index=pd.Index(ns, name="N")).round(3)

# %% [markdown]
# ## 6. MNIST: the Omniglot net on digits
#
# Koch et al. (2015, section 4.4, Table 3) trained a reduced version of their net on 35x35
# Omniglot images, then applied it to 10-way one-shot MNIST with no training on digits: one
# example of each digit, one query; 70.3% on 400 trials, and 26.5% for their 1-NN on pixels.
# We score the one net and 1-NN on pixels on `MNIST_TASKS` such tasks of the MNIST test set,
# and read the full recipe's score on the same tasks from its file. The digits go in as
# they are: 28x28, white ink on black, and already scaled into a 20x20 box by MNIST's makers
# (though centred by their centre of mass, not their box), much as our drawings are; their
# strokes are another matter (below). We count tasks here,
# not classes: Lake's 10 alphabets are a sample of the world's alphabets, and the question is
# how a model does on new ones, so section 3 counts alphabets; MNIST's 10 digits are all the
# digits there are, and each task is an independent random draw from the same test set, so
# comparisons are paired over tasks, not clustered. The intervals cover the choice of tasks
# from this test set, not new writers (MNIST records no writer, so that cannot be
# clustered), and tasks share some images: 400 tasks make 4,400 image draws, some repeated,
# from 10,000. The one net trained live above is printed for reference;
# the rest of the section uses the full recipe.
#
# **Claim:** on 10-way one-shot MNIST the full recipe is detectably above 1-NN on pixels, by
# 31.0 points (the paired interval's low end, 26.4, is printed; one training run, so the
# interval counts tasks, not training runs); it is 5.5
# points above Koch et al.'s 70.3% (taken as 281 of 400 trials), not detectably by an
# unpaired test that treats their 400 trials as a sample (smallest detectable 9.0 points).
# The same unpaired test finds our 1-NN on pixels detectably above their 26.5%: the two
# protocols differ even for the simplest method, so comparing with 70.3% says little more
# than that sampling noise cannot tell the numbers apart.

# %%
assert MNIST_TASKS == recipe_file.mnist_tasks, (MNIST_TASKS, recipe_file.mnist_tasks)
_, (x_mnist, y_mnist) = data.load_mnist()
query, candidates, answer = oneshot.one_shot_tasks(y_mnist, 10, MNIST_TASKS,
                                                   seed=recipe_file.mnist_seed)
mnist = {name: oneshot.task_accuracy(oneshot.task_scores(model, x_mnist, query, candidates),
                                     answer)
         for name, model in (("one net", one_net), ("1-NN on pixels", None))}
mnist["the full recipe (file)"] = file_recipe.scores["mnist_plain"].outcomes
for name, right in mnist.items():
    mean, lo, hi = evaluate.n_way_accuracy(right)
    print(f"10-way one-shot MNIST, {name}: {mean:.2%} (95% CI {lo:.1%} to {hi:.1%})")
over_pixels = evaluate.compare(mnist["the full recipe (file)"], mnist["1-NN on pixels"],
                               paired=True, label="full recipe - pixels")
print(over_pixels)
print(f"gain {100 * over_pixels.effect:.1f} points, interval low end "
      f"{100 * over_pixels.low:.1f}")
koch_mnist_paper, koch_mnist_pixels = 0.703, 0.265     # Koch et al. 2015, section 4.4, Table 3
koch_mnist = np.arange(400) < round(koch_mnist_paper * 400)   # as 400 trials: 281 right
vs_koch_mnist = evaluate.compare(mnist["the full recipe (file)"], koch_mnist, paired=False,
                                 label="full recipe - Koch et al.")
print(f"Koch et al. {koch_mnist_paper:.1%}, as {koch_mnist.sum()} of {koch_mnist.size} trials")
print(vs_koch_mnist)
print(f"difference {100 * vs_koch_mnist.effect:+.1f} points, smallest detectable "
      f"{100 * vs_koch_mnist.smallest_detectable:.1f}")
koch_pixels = np.arange(400) < round(koch_mnist_pixels * 400)   # 106 of 400 trials
pixels_vs_koch = evaluate.compare(mnist["1-NN on pixels"], koch_pixels, paired=False,
                                  label="our 1-NN on pixels - theirs")
print(f"1-NN on pixels: ours {mnist['1-NN on pixels'].mean():.1%}, Koch et al.'s "
      f"{koch_mnist_pixels:.1%}")
print(pixels_vs_koch)
assert over_pixels.detectable and round(100 * over_pixels.effect, 1) == 31.0, over_pixels
assert round(100 * over_pixels.low, 1) == 26.4, over_pixels
assert round(100 * vs_koch_mnist.effect, 1) == 5.5 and not vs_koch_mnist.detectable
assert round(100 * vs_koch_mnist.smallest_detectable, 1) == 9.0, vs_koch_mnist
assert pixels_vs_koch.detectable and pixels_vs_koch.effect > 0, pixels_vs_koch

# %% [markdown]
# **Should the digits be prepared?** Digits are drawn differently from Omniglot's
# characters. `data.ink_statistics` counts a pixel above 0.5 as ink and reports the share of
# pixels inked and the rows and columns that hold ink, averaged over images (here the 2,720
# fitted Omniglot training images and 1,000 tasks' digits); shrinking a digit about its
# centre (`data.zoom_out`) makes it smaller and its strokes thinner at once ("80%" shrinks
# the whole 28x28 image to 22x22, centred in the frame, so the digit is about 15 rows tall). The choice is made on MNIST's *training* split, which the
# net never sees, so the test tasks (MNIST's test split) stay out of it; Koch et al.
# (section 4.4) report no fine-tuning on MNIST's training set. `scripts/mnist_06.py` scores
# the full recipe in three stages, each on its own 10-way tasks of the training split, and
# only then the test tasks, always with the digits as given (which must reproduce the
# recipe file's outcomes, asserted) and with the stage's choice if it made one:
#
# | stage | tasks | seed | rule, fixed before the stage ran |
# |---|---|---|---|
# | scale | 1,000 | 1 | the best of 90%, 80%, 70% if it beats "as given" detectably (Holm over 3) |
# | explore | 1,000 | 2 | none: every scale with Euclidean and cosine distance, a look |
# | confirm | 2,000 | 3 | digits zoomed out to 80% and compared by cosine, if detectably better than as given (one test) |
#
# The confirm stage's digits are used by no other stage; its candidate was picked on an
# earlier recipe's explore stage, before this recipe's nets existed. Holm's correction keeps
# the chance of any false "detectable" among the three scales at 0.05; intervals and
# smallest detectable effects are at the Bonferroni level, 0.05/3, so printed as 98.3% CIs
# (06b, section 4, and its Exercise 2 show Holm's method).
#
# **Claim:** at 28x28 MNIST digits ink a larger share of their frame than the fitted
# Omniglot characters (consistent with thicker strokes, which were not measured), and are
# taller and narrower; zoomed out to 90%,
# their ink share is within 0.01 of Omniglot's and their height within 1 row, while their
# width falls more than 2 columns short. Even so, no scale beats the digits as given
# detectably (the smallest gain the design could detect is printed), no variant of the
# exploring grid is more than 1 point above them, and the confirm stage's candidate is 0.65
# points ahead, not detectably (smallest detectable 2.3): the digits stay as given, and the
# test tasks were scored with nothing else for this recipe (like Lake's runs, they were
# scored for earlier recipes too; 06b, section 6).

# %%
shape = results.read_mnist_transfer(MNIST_SCALE_FILE)
ink = pd.DataFrame(shape.ink).T
print(ink.round(3))
om, at_90 = ink.loc["omniglot"], ink.loc["zoomed out to 90%"]
print(f"zoomed out to 90% minus Omniglot: ink share {at_90['ink'] - om['ink']:+.4f} (check: "
      f"within 0.01), height {at_90['height'] - om['height']:+.1f} rows (check: within 1), "
      f"width {at_90['width'] - om['width']:+.1f} columns (check: more than 2 short)")
assert ink.loc["as given", "ink"] > 1.3 * om["ink"], ink
assert ink.loc["as given", "height"] > om["height"] + 1.5, ink
assert ink.loc["as given", "width"] < om["width"] - 1, ink
assert abs(at_90["ink"] - om["ink"]) < 0.01 and abs(at_90["height"] - om["height"]) < 1
assert at_90["width"] < om["width"] - 2, ink

scales = evaluate.compare_many({k: v.outcomes for k, v in shape.validation.items()},
                               [(k, "as given") for k in shape.scales if k != "as given"],
                               paired=True)
best = max(scales.values(), key=lambda c: c.effect)
print(f"scale stage ({shape.val_tasks} tasks): " + ", ".join(
    f"{k} {v.accuracy:.1%}" for k, v in shape.validation.items()) + f"; chosen: {shape.chosen}")
print(best)
print(f"best gain {100 * best.effect:+.1f} points, smallest detectable "
      f"{100 * best.smallest_detectable:.1f}")
explore = results.read_mnist_transfer(MNIST_EXPLORE_FILE)
confirm = results.read_mnist_transfer(MNIST_CONFIRM_FILE)
print(f"explore stage ({explore.val_tasks} tasks, a look):")
print(explore.accuracy_table().round(3))
top_gain = max(v.accuracy for v in explore.validation.values()) - \
    explore.validation["as given"].accuracy
print(f"best variant {100 * top_gain:+.1f} points above the digits as given")
candidate = next(k for k in confirm.validation if k != "as given")
confirmed = evaluate.compare(confirm.validation[candidate].outcomes,
                             confirm.validation["as given"].outcomes, paired=True,
                             label=f"confirming tasks: {candidate} - as given")
print(f"confirm stage ({confirm.val_tasks} tasks): " + ", ".join(
    f"{k} {v.accuracy:.2%}" for k, v in confirm.validation.items()) + f"; chosen: {confirm.chosen}")
print(f"gain {100 * confirmed.effect:+.2f} points, smallest detectable "
      f"{100 * confirmed.smallest_detectable:.1f}")
assert len(scales) == 3 and shape.chosen == "as given"
assert not any(c.detectable for c in scales.values()), scales
assert len(explore.validation) == 8 and top_gain < 0.01, top_gain
assert candidate == "zoomed out to 80%, cosine" and confirm.chosen == "as given"
assert not confirmed.detectable and round(100 * confirmed.effect, 2) == 0.65, confirmed
assert round(100 * confirmed.smallest_detectable, 1) == 2.3
for stage in (shape, explore, confirm):    # every stage re-scored the digits as given alone
    assert set(stage.test) == {"as given"}
    assert np.array_equal(stage.test["as given"].outcomes, mnist["the full recipe (file)"])

# %% [markdown]
# ## 7. Our numbers beside the literature
#
# Every Omniglot row below is 20-way within-alphabet one-shot classification on Lake's runs
# or on trials built the same way. Most published rows trained on 30 alphabets (Koch et al.
# on 30 of their own 40 background alphabets); ours used Lake's minimal split of 5. Lake, Salakhutdinov and Tenenbaum (2019,
# "The Omniglot challenge: a 3-year progress report") discuss results on that split; we
# could not check their numbers offline, so none is in the table below (unverified). Famous 20-way numbers (prototypical networks
# 96.0%, Snell et al. 2017, Table 1; matching networks 93.8%, Vinyals et al. 2016, Table 1)
# are on Vinyals et al.'s split: about 4,800 training classes (1,200 characters, each in 4
# rotations) from background and evaluation alphabets, and test tasks of random characters
# pooled across the held-out ones.
# Random-character tasks are easier: jvlmdr/omniglot-eval measured one small conv net
# (trained 5-way, with batch norm and cosine distance) at 10.7% error on random-character
# trials against 24.2% on within-alphabet trials. Do not compare those numbers with this
# table. Our rows were scored on runs that were looked at during development (section 4),
# and each row is one training run (seed 0; two more runs of the full recipe on each
# split are below): so do not read the other split's 96.75% as beating
# humans (95.5%) or Bayesian Program Learning (96.7%); 10 alphabets cannot resolve
# differences that small.
#
# **The other minimal split.** Lake et al. offer two background splits of 5 alphabets.
# `scripts/recipe_06.py --split background_small2` trained the same full recipe, with the same
# call and seed, on the other one (Greek, Japanese katakana, Latin, Sanskrit and Tagalog;
# Greek and Latin are in both), after the recipe had been fixed. In the official
# `images_background_small2.zip` those alphabets hold 24, 47, 26, 42 and 17 characters
# (`tests/test_data.py` checks the counts wherever the zip is cached).
# Note: Tagalog has too few characters for 80-way episodes (17, 68 with their rotations), so
# this run never trains on it (the library warns when an alphabet is skipped) and learns
# from the other 4 alphabets' 139 characters. Like `06_recipe.json`, the file scores both of its models (the one net and
# the full recipe) on Lake's runs and on MNIST, plain and with shifts; we report the plain
# full recipe, the row that answers the question.
#
# **Claim:** trained on `background_small2`, the full recipe scores 96.75%, 4.25 points above
# the `background_small1` run on the same 400 queries, detectably (clustered by alphabet;
# the design could detect 4.7 points). That interval leaves out how much another training
# run on the same split would differ: it says these two *trained models* differ. So the
# recipe was trained twice more on each split (seeds 1 and 2, after the numbers above were
# seen; a run with seed s trains its three nets from seeds 3s, 3s + 1 and 3s + 2, so no two
# runs share a net; their plain scores on Lake's runs are all reported here, and their files also hold
# MNIST and test-time-shift scores, not used here): 92.25% and 92.50% on
# `background_small1`, 94.75% and 95.50% on `background_small2`. Over the three seeds
# `background_small2` is 3.25 points ahead (95% CI 0.81 to 5.69, Welch's interval over the
# runs: a two-sample t interval that allows each split its own spread, wide with 3 runs a
# side; `compare(..., paired=False, kind="scores")`; pairing the runs by seed number, which
# they share only for their starting weights, gives 1.01 to 5.49). The number of seeds was
# fixed before seed 2 ran, after seed 1 had been seen, and both intervals were chosen after
# all the runs, so read them as descriptions. These two intervals count only the variation
# from run to run: all six runs answered the same 400 queries. The seed-0 interval above
# counts only which test alphabets were drawn. Neither counts both, so the real uncertainty
# is wider.
# The seeds of one split differ by at most 0.25 points on `background_small1` and 2.00 on
# `background_small2`. Why `background_small2` scored higher was not tested; one guess is
# its two large alphabets, which give the 80-way episodes more characters to choose from
# (an interpretation).

# %%
other = results.read_recipe(OTHER_SPLIT_FILE)
other_right = other.run("recipe").scores["lake_plain"].outcomes
other_split = evaluate.compare(other_right, recipe_right, paired=True, clusters=query_alphabet,
                               label=f"{other.split} - {TRAIN_SPLIT}")
print(f"the full recipe trained on {other.split}: {other_right.mean():.2%}; on {TRAIN_SPLIT}: "
      f"{recipe_acc:.2%}")
print(other_split)
print(f"difference {100 * other_split.effect:+.2f} points, smallest detectable "
      f"{100 * other_split.smallest_detectable:.1f}")
more = {seed: {split: results.read_recipe(f) for split, f in files.items()}
        for seed, files in MORE_SEEDS.items()}
both_splits = [TRAIN_SPLIT, other.split]
seed_scores = pd.DataFrame(
    {"seed 0": [recipe_acc, other_right.mean()],
     **{f"seed {seed}": [files[k].run("recipe").scores["lake_plain"].accuracy
                         for k in both_splits] for seed, files in more.items()}},
    index=both_splits)
print(seed_scores.round(4))
over_seeds = evaluate.compare(seed_scores.loc[other.split].to_numpy(),
                              seed_scores.loc[TRAIN_SPLIT].to_numpy(), paired=True,
                              kind="scores", label=f"{other.split} - {TRAIN_SPLIT}, by seed")
unpaired = evaluate.compare(seed_scores.loc[other.split].to_numpy(),
                            seed_scores.loc[TRAIN_SPLIT].to_numpy(), paired=False,
                            kind="scores", label="the same, unpaired (Welch)")
seed_spread = seed_scores.max(axis=1) - seed_scores.min(axis=1)
print(f"paired by seed number: {over_seeds}\n  gap over {seed_scores.shape[1]} seeds {100 * over_seeds.effect:+.2f} "
      f"points (95% CI {100 * over_seeds.low:.2f} to {100 * over_seeds.high:.2f}); the seeds "
      "of one split differ by at most " + ", ".join(f"{k} {100 * v:.2f}"
                                                     for k, v in seed_spread.items()))
assert all(f.seed == seed and f.split == k for seed, files in more.items()
           for k, f in files.items())
assert [round(v, 4) for v in seed_scores.iloc[:, 1:].to_numpy().T.ravel()] == [
    0.9225, 0.9475, 0.925, 0.955], seed_scores
assert f"{100 * over_seeds.effect:+.2f}" == "+3.25" and over_seeds.detectable, over_seeds
assert unpaired.detectable and np.isclose(unpaired.effect, over_seeds.effect), unpaired
assert [f"{100 * over_seeds.low:.2f}", f"{100 * over_seeds.high:.2f}"] == ["1.01", "5.49"]
print(f"{unpaired}\n  unpaired 95% CI {100 * unpaired.low:.2f} to {100 * unpaired.high:.2f}")
assert [f"{100 * unpaired.low:.2f}", f"{100 * unpaired.high:.2f}"] == ["0.81", "5.69"], unpaired
assert [f"{100 * v:.2f}" for v in seed_spread] == ["0.25", "2.00"], seed_spread
assert other.split != TRAIN_SPLIT, (other.split, TRAIN_SPLIT)
assert round(other_right.mean(), 4) == 0.9675 and round(100 * other_split.effect, 2) == 4.25
assert other_split.detectable and round(100 * other_split.smallest_detectable, 1) == 4.7

fitted = f"{IMAGE_SIZE}x{IMAGE_SIZE}, fitted to {BOX}x{BOX}"
rows = [
    ("Humans", "Lake et al. 2015; Koch et al. 2015, Table 2", "", 0.955, ""),
    ("Bayesian Program Learning", "Lake et al. 2015", "30 alphabets (strokes)", 0.967, ""),
    ("Hierarchical Bayesian Program Learning", "Koch et al. 2015, Table 2",
     "30 alphabets (strokes)", 0.952, ""),
    ("Convolutional Siamese net", "Koch et al. 2015, Table 2",
     "30 alphabets, 12 drawers, 105x105", 0.920, ""),
    ("1-NN on pixels", "Koch et al. 2015, Table 2", "none", 0.217, ""),
    ("the full recipe: 3 nets (ours)", "scripts/recipe_06.py", f"{TRAIN_SPLIT}, {fitted}",
     recipe_acc, f"{recipe_low:.1%} to {recipe_high:.1%}"),
    ("the full recipe, the other split (ours)", "scripts/recipe_06.py",
     f"{other.split} (4 alphabets; Tagalog skipped), {fitted}", other_right.mean(),
     "{:.1%} to {:.1%}".format(*on_lake(other_right)[1:])),
    ("one net, episodes (ours)", "this notebook", f"{TRAIN_SPLIT}, {fitted}", acc,
     f"{low:.1%} to {high:.1%}"),
    ("Koch-style net, CPU-scaled (ours)", "this notebook", f"{TRAIN_SPLIT}, {fitted}",
     koch_right.mean(), "{:.1%} to {:.1%}".format(*on_lake(koch_right)[1:])),
    ("1-NN on pixels (ours)", "this notebook", f"none, {fitted}", pixel_right.mean(), ""),
    ("1-NN on pixels (ours)", "this notebook", "none, 28x28 area-resized",
     resized_pixel_right.mean(), ""),
]
table = pd.DataFrame(rows, columns=["method", "source", "training data", "accuracy",
                                    "95% CI over alphabets"])
table["accuracy"] = table["accuracy"].map("{:.1%}".format)
# saves these numbers for the course's summary table (`make course`); you can ignore it
results.record("06_one_shot", lake_one_net=acc, lake_one_net_ci=[low, high],
               lake_full_recipe=recipe_acc, lake_full_recipe_ci=[recipe_low, recipe_high],
               lake_full_recipe_shifts=file_recipe.scores["lake_shifts"].accuracy,
               lake_full_recipe_other_split=float(other_right.mean()),
               lake_koch_style=float(koch_right.mean()), lake_pixels=float(pixel_right.mean()),
               lake_pixels_area_resized=float(resized_pixel_right.mean()),
               mnist_full_recipe=float(mnist["the full recipe (file)"].mean()),
               mnist_one_net=float(mnist["one net"].mean()),
               mnist_pixels=float(mnist["1-NN on pixels"].mean()),
               lesson_steps=LESSON_STEPS, train_split=TRAIN_SPLIT)
table

# %% [markdown]
# ## Summary
#
# - Lake's 20 runs are 400 queries from 10 evaluation alphabets: count alphabets, not
#   queries, when you put an interval on a score.
# - A Siamese net trained on pairs answers "same or different?"; the test asks "which of
#   these 20 characters of one alphabet?". The recipe that trains on that question (wide
#   episodes of one alphabet compared at once, a softmax over minus squared distances,
#   rotations, shifts, a cosine schedule) beat our pair-trained net by a wide margin; this
#   lesson's comparison cannot say which of its parts mattered, and 06b's short ablation
#   hints at the N-way loss on episodes (not tested).
# - Fitting every drawing to one box is preprocessing that does real work: it more than
#   doubles 1-NN on pixels, so compare a trained net with the baseline on the same input.
# - The recipe is one call, `training.train_one_shot_recipe`. Three nets side by side beat
#   one net on these queries, with 5.75 times the training steps and 3 times the inference,
#   one seed each: ensembling and training length are confounded. Trained on Lake's other
#   minimal split, the same recipe scored 4.25 points higher, detectably on these queries;
#   over three training runs on each split it is 3.25 points ahead, on the same 400 queries
#   (Welch 95% CI 0.81 to 5.69 over the runs, not over alphabets; section 7).
# - Test-time shifts cost 5 forward passes per image and made no detectable difference on
#   top of the three nets (the smallest detectable effect is printed in section 4).
# - The full recipe learned on Omniglot transfers to MNIST digits well above pixel
#   matching, with the digits as given; neither a smaller scale nor the one candidate tested
#   on confirming tasks (80%, cosine) beat that detectably on MNIST's training split (both
#   were slightly ahead, within noise; section 6). Its test score is within sampling noise of
#   Koch et al.'s 70.3%, in a setting that differs from theirs even for 1-NN on pixels.
#
# ## Further reading
#
# - Koch, Zemel and Salakhutdinov 2015, sections 3-4: the pair-trained net and its search.
# - Snell, Swersky and Zemel 2017: prototypical networks; section 3.1 trains Omniglot with
#   more classes per episode than the test has.
# - Lake, Salakhutdinov and Tenenbaum 2019: what the Omniglot benchmark asks, the splits
#   papers changed, and results on the minimal split.
# - jvlmdr/omniglot-eval (GitHub): within-alphabet against random-character tasks, measured.
# - Notebook 06b: how each compared setting of the recipe was chosen on validation alphabets.
#
# ## Exercises
#
# In these exercises you write the code, and a check tells you whether it is right. Each
# exercise cell starts with a placeholder, `raise NotImplementedError("your code here")`:
# replace it with your code and run the cell. `nb06.qK.check()` finds what you defined by
# its name and prints *Correct*, or what is wrong and where the course explains it.
# `nb06.qK.hint()` and `nb06.qK.solution()` print a hint and one way to do it, folded: open
# them only when you are stuck.

# %%
from course_lib.exercises import nb06

# %% [markdown]
# ### Exercise 1: the N-way loss from the distance matrix
#
# Write `n_way_loss_from_distances(d2)` in `keras.ops`: `d2` is a tensor of shape
# (episodes, N, N) whose entry `[e, i, j]` is the squared distance between anchor `i` and
# candidate `j` of episode `e` (section 2's `d2`). N is not passed: read it from
# `d2.shape[-1]` (the check uses N = 5, 4 and 7). Return one number, the mean N-way loss of
# section 2: each anchor against its candidates, each candidate against its anchors, the two
# directions averaged. The check compares it with `losses.NWayLoss`.

# %% tags=["exercise"]
def n_way_loss_from_distances(d2):
    """Mean N-way loss of episodes given d2[e, i, j] = ||f(anchor i) - f(candidate j)||^2."""
    raise NotImplementedError("your code here")


# Stuck? These open folded: a hint, then one way to do it.
nb06.q1.hint()
nb06.q1.solution()
nb06.q1.check()

# %% [markdown]
# ### Exercise 2: score a run the way Lake does
#
# Write `one_shot_accuracy(query_emb, candidate_emb, answers)` in NumPy: the embeddings of a
# run's queries (Q, D) and of its candidates (N, D), and `answers`, an int array (Q,) giving
# each query's true candidate as a row index in [0, N). Return the share of queries whose
# nearest candidate (Euclidean distance; squared or not, the nearest is the same) is the
# answer. A tie (two or more candidates exactly as near as the nearest) counts as wrong, as
# `oneshot.task_accuracy` (which `oneshot.score_lake_queries` uses) counts it.

# %% tags=["exercise"]
def one_shot_accuracy(query_emb, candidate_emb, answers):
    """Share of queries whose nearest candidate (Euclidean) is the answer; a tie is wrong."""
    raise NotImplementedError("your code here")


# Stuck? These open folded: a hint, then one way to do it.
nb06.q2.hint()
nb06.q2.solution()
nb06.q2.check()

# %% [markdown]
# ### Exercise 3 (open): a fairer chance for pairs, and more steps or more nets?
#
# (a) Train the Koch-style net again with `models.koch_encoder(IMAGE_SIZE, 512, width=0.5,
# l2=0.0)` and 3 times the steps. How far does it get? Make the comparison on a held-out
# background alphabet (notebook 06b shows how), not on Lake's runs, if you want to choose
# its settings. (b) Train one episode net for 6,900 steps (`steps=6900`), the full recipe's
# total, and compare it query by query with the full recipe, with `evaluate.compare(...,
# paired=True, clusters=query_alphabet)`. This looks at the test set again: say so when you
# report it.
#
# <details><summary>Solution 3</summary>
#
# ```python
# long = training.train_one_shot_recipe(omniglot.images, omniglot.character,
#                                       omniglot.alphabet, steps=6900, seed=SEED, **RECIPE)
# long_right, _ = oneshot.score_lake_queries(long.encoder, runs)
# print(evaluate.compare(recipe_right, long_right, paired=True, clusters=query_alphabet,
#                        label="three nets - one long net"))
# ```
# For (a), score it on validation tasks every few hundred steps and watch the accuracy follow
# the falling loss; Koch et al. trained theirs for up to 200 epochs of up to 150,000 pairs. For (b), both use the same training steps in all. Notebook 06b made a similar
# comparison on validation alphabets for the earlier recipe (three nets of 2,300 steps
# against one net of 7,000): the three nets won by 5.5 points, p = 0.016 clustered over 5 alphabets (few clusters for a
# trustworthy p-value, 06b warns), one seed per fold, on validation tasks built without Lake's
# drawer rule (06b, section 1).
# </details>
