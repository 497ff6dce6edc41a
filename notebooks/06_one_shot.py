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
# from. Koch, Zemel and Salakhutdinov (2015) scored 92% on it with a convolutional Siamese
# network trained on pairs.
#
# This lesson trains a small, CPU-sized version of Koch's pair-trained net, then a net
# trained on the test's own shape: N characters of one alphabet compared at once. Then it
# scores both on Lake's runs, once.
#
# **What you will be able to do after this notebook**
#
# - describe Lake's 20 runs, and score any encoder on them against 1-NN on pixels;
# - train a Koch-style Siamese net (weighted L1 head, sigmoid, binary cross-entropy on pairs);
# - write the N-way comparison loss in `keras.ops`, and train an encoder on `tf.data`
#   episodes of N characters of one alphabet with one `course_lib` call;
# - compare two models task by task, with intervals that count alphabets, not queries;
# - say what transfers to MNIST digits.
#
# **Prerequisites:** notebooks 01 and 02 (Siamese models, pairs), 03 (losses). How the
# recipe's settings were chosen, on validation alphabets only, is the appendix notebook
# `06b_choosing_the_recipe`.
#
# **Sources.** G. Koch, R. Zemel, R. Salakhutdinov, *Siamese Neural Networks for One-shot
# Image Recognition*, ICML Deep Learning Workshop 2015 (the baseline; Table 2; the MNIST
# experiment). B. M. Lake, R. Salakhutdinov, J. B. Tenenbaum, *Human-level concept learning
# through probabilistic program induction*, Science 350(6266), 2015 (Omniglot, the 20 runs,
# the small background splits). J. Snell, K. Swersky, R. Zemel, *Prototypical Networks for
# Few-shot Learning*, NeurIPS 2017 (the loss with one example per class); A. Santoro et al.,
# *One-shot Learning with Memory-Augmented Neural Networks*, ICML 2016 (rotated characters
# as new classes).

# %%
import sys

if "google.colab" in sys.modules:  # on Colab: install course_lib from the repository
    # %pip install -q "git+https://github.com/siamese-course/siamese-networks-course"

from course_lib import config

config.describe();

# %% [markdown]
# ## Parameters
#
# `TRAIN_SPLIT` is Lake's minimal background split of 5 alphabets (`"background_small1"`);
# the recipe's file (`RECIPE_FILE`, written by `scripts/recipe_06.py`) was trained on it.
# Budgets are in training steps, so the asserts hold on any hardware.

# %% tags=["parameters"]
TRAIN_SPLIT = "background_small1"
IMAGE_SIZE = 28                 # Omniglot's 105x105 drawings, area-downsampled
N_WAY = 20                      # characters per training episode, as in the test
LESSON_STEPS = config.pick(full=1200, fast=200)    # the one net trained live
KOCH_STEPS = config.pick(full=1200, fast=200)      # the Koch-style baseline, same steps
STEPS_PER_EPOCH = 100           # one progress line per 100 steps
MNIST_TASKS = 400               # 10-way one-shot tasks on the MNIST test set
RECIPE_FILE = "results/06_recipe.json"
SEED = 0

config.seed_everything(SEED)

# %% [markdown]
# ## The task and Lake's protocol
#
# Omniglot holds 1,623 characters of 50 alphabets, each drawn once by 20 people. Lake et al.
# split the alphabets into *background* alphabets to learn from and *evaluation* alphabets to
# test on. Their 20 runs are 2 runs for each of 10 evaluation alphabets; a run is 20
# characters of one alphabet, 20 candidates drawn by one person and 20 queries by another.
# That is 400 queries, but only 10 alphabets: queries of one alphabet share its difficulty,
# so intervals below are clustered by alphabet.

# %%
import numpy as np

from course_lib import data, evaluate, oneshot, plots

omniglot = data.load_omniglot(TRAIN_SPLIT, IMAGE_SIZE)
runs = data.load_lake_runs(IMAGE_SIZE)
query_alphabet = np.repeat(data.LAKE_RUN_ALPHABETS, len(runs[0].test_images))
print(f"training: {len(omniglot.images)} images of {len(np.unique(omniglot.character))} "
      f"characters from {len(omniglot.alphabet_names)} alphabets {omniglot.alphabet_names}")
print(f"Lake's test: {len(runs)} runs x {len(runs[0].test_images)} queries, "
      f"{len(np.unique(query_alphabet))} alphabets, images {runs[0].train_images.shape[1:]}")

# %% [markdown]
# The simplest model needs no training: the nearest neighbour on raw pixels (1-NN), which
# picks the candidate at the smallest Euclidean distance from the query.
# `oneshot.score_lake_runs` scores a model on the 20 runs (`None` means pixels); every model
# below is scored by that same code, which counts a tie as wrong. Here is one query with
# 1-NN's pick:

# %%
def lake_outcomes(model):
    """Right or wrong on each of the 400 queries, run by run."""
    _, picks = oneshot.score_lake_runs(model, runs)
    return np.concatenate([picks[r] == run.answers for r, run in enumerate(runs)]), picks


pixel_right, pixel_picks = lake_outcomes(None)
print(f"1-NN on pixels: {pixel_right.mean():.1%} of Lake's 400 queries; chance {1 / N_WAY:.0%}")
plots.plot_one_shot_task(runs[0].test_images[0], runs[0].train_images, int(pixel_picks[0, 0]),
                         int(runs[0].answers[0]), title="Lake's run 1, query 1, 1-NN on pixels",
                         rows=2);

# %% [markdown]
# ## 1. A Koch-style baseline, scaled to a CPU
#
# Koch et al.'s network embeds both images of a pair with one convolutional encoder $h$ and
# weighs the absolute differences of the embeddings:
#
# $$p(\text{same} \mid x_1, x_2) = \sigma\Big(\sum_j \alpha_j \,\big|h(x_1)_j - h(x_2)_j\big| + b\Big),$$
#
# trained with binary cross-entropy on pairs, half of one character, half of two random
# characters, with small affine distortions of each image. Theirs worked on 105x105 images
# with a 4096-d embedding, trained with SGD and momentum on 30 alphabets. Ours is a
# *Koch-style* net scaled to a CPU: the same layers at half the width on 28x28 images
# (`models.koch_encoder(width=0.5)`), Adam, `KOCH_STEPS` steps of 80 pairs (160 images, as
# many as the recipe's steps below).

# %%
import keras

from course_lib import models, pairs
from course_lib.augment import RandomAffine

keras.utils.set_random_seed(SEED)
koch_net = models.siamese(models.koch_encoder(IMAGE_SIZE, 512, width=0.5), head="koch",
                          name="koch_style_siamese")
koch_net.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
koch_pairs = pairs.pair_dataset(omniglot.images, omniglot.character, batch_size=80, seed=SEED,
                                augment=RandomAffine(seed=SEED), repeat=True)
koch_net.fit(koch_pairs, steps_per_epoch=STEPS_PER_EPOCH, epochs=KOCH_STEPS // STEPS_PER_EPOCH,
             verbose=2)
koch_right, _ = lake_outcomes(koch_net)
full_size = models.siamese(models.koch_encoder(105, 4096), head="koch").count_params()
print(f"Koch-style net: {koch_net.count_params():,} weights (Koch et al.'s layers at full size: "
      f"{full_size:,}), {KOCH_STEPS} steps; Lake's runs {koch_right.mean():.1%} "
      f"(1-NN on pixels {pixel_right.mean():.1%})")

# %% [markdown]
# ## 2. Train the way you test
#
# The test asks: which of **20 candidates of one alphabet** is the query? Pair training asks
# something easier: is this *one* pair the same character, where the other character of a
# "different" pair usually comes from another alphabet. Three changes close the gap:
#
# 1. **Episodes inside one alphabet.** An episode takes N = 20 characters of one alphabet and
#    two drawings of each: anchors $a_1..a_N$ and candidates $c_1..c_N$ ($a_i$ and $c_i$ are
#    the same character). `pairs.episode_dataset` draws them as a seeded `tf.data` stream.
# 2. **All N candidates at once.** The encoder $f$ embeds every image; anchor $i$'s logits are
#    minus its squared distances to the N candidates, and its loss is the cross-entropy with
#    the true candidate:
#
#    $$\ell_i = -\log \frac{\exp(-\lVert f(a_i) - f(c_i)\rVert^2)}{\sum_{j=1}^{N} \exp(-\lVert f(a_i) - f(c_j)\rVert^2)}.$$
#
#    Each candidate asks the same of the anchors, and the two directions are averaged (as
#    CLIP does). With one example per class this is the loss of prototypical networks (Snell
#    et al. 2017) with squared Euclidean logits; it is an N-pair-style objective. At test
#    time the pick is the nearest candidate: exactly what the loss trains.
# 3. **More characters.** A character turned by 90°, 180° or 270° becomes a new character
#    (Santoro et al. 2016); random shifts of up to 2 pixels vary the drawings.
#
# One step holds 4 episodes. Here is the start of one, as the network sees it:

# %%
batch, labels = next(iter(pairs.episode_dataset(
    omniglot.images, omniglot.character, omniglot.alphabet, N_WAY, episodes=4, seed=SEED,
    rotations=True, max_shift=2)))
batch = batch.numpy()
print(f"one step: {batch.shape[0]} images = 4 episodes x {N_WAY} characters x 2 drawings")
plots.show_pairs(batch[:8], batch[N_WAY:N_WAY + 8], np.ones(8),
                 title="One episode: anchors (image A) above their candidates (image B)");

# %% [markdown]
# The loss in plain Keras: reshape the embeddings to (episodes, 2, N, D), compute every
# anchor-candidate squared distance by broadcasting, and let Keras's cross-entropy (from
# logits) do the rest, once along each axis. Exercise 1 asks you to write it yourself.
#
# **Claim:** the hand-written loss and `losses.NWayLoss` agree to float32 rounding (a
# relative difference below 1e-5). `NWayLoss` is a registered Keras loss, so a compiled model
# saves and reloads with it.

# %%
from keras import ops

from course_lib import losses


def n_way_loss(embeddings, n_way):
    """Mean N-way comparison loss of a batch of episodes (anchors, then candidates)."""
    e = ops.reshape(embeddings, (-1, 2, n_way, embeddings.shape[-1]))
    d2 = ops.sum((e[:, 0, :, None, :] - e[:, 1, None, :, :]) ** 2, axis=-1)   # (E, N, N)
    target = ops.broadcast_to(ops.eye(n_way), ops.shape(d2))   # anchor i <-> candidate i
    rows = keras.losses.categorical_crossentropy(target, -d2, from_logits=True)
    cols = keras.losses.categorical_crossentropy(target, -ops.transpose(d2, (0, 2, 1)),
                                                 from_logits=True)
    return (ops.mean(rows) + ops.mean(cols)) / 2


encoder = models.conv4_encoder((IMAGE_SIZE, IMAGE_SIZE), 256, filters=64, batch_norm=False)
embeddings = encoder(batch, training=False)
by_hand, course = float(n_way_loss(embeddings, N_WAY)), float(losses.NWayLoss(N_WAY)(labels,
                                                                                 embeddings))
print(f"by hand {by_hand:.6f}, course_lib.losses.NWayLoss {course:.6f}; an untrained net "
      f"(log N = {np.log(N_WAY):.3f} would be a net that cannot tell)")
print(f"relative difference {abs(by_hand - course) / abs(course):.1e} (check: below 1e-5)")
assert abs(by_hand - course) <= 1e-5 * abs(course), (by_hand, course)

# %% [markdown]
# ## 3. The recipe in one call
#
# `training.train_one_shot_recipe` builds this encoder (4 blocks of 3x3 convolutions with 64
# filters, ReLU and 2x2 max-pooling, then a 256-d linear embedding), compiles it with
# `NWayLoss` and Adam (its learning rate cosine-decayed to 0 over the steps), and
# trains it on the episode stream. Every setting was chosen on held-out background alphabets
# in notebook 06b. The lesson trains one net for `LESSON_STEPS` steps on all 5 alphabets:

# %%
from course_lib import training

RECIPE = dict(n_way=N_WAY, episodes=4, embedding_dim=256, filters=64, batch_norm=False,
              learning_rate=1e-3, rotations=True, max_shift=2)
lesson = training.train_one_shot_recipe(
    omniglot.images, omniglot.character, omniglot.alphabet, steps=LESSON_STEPS, seed=SEED,
    steps_per_epoch=STEPS_PER_EPOCH, **RECIPE)
lesson_right, lesson_picks = lake_outcomes(lesson.encoder)
print(f"one net: {lesson.members[0].count_params():,} weights, {lesson.total_steps} steps in "
      f"{lesson.minutes:.1f} min; Lake's runs {lesson_right.mean():.1%}")

# %% [markdown]
# Lake's runs, scored once for this net. The interval is clustered by alphabet: the
# t-interval of the 10 alphabets' accuracies, not a binomial interval over 400 queries as if
# they were independent. Two paired comparisons, clustered the same way, follow.
#
# **Claim:** on alphabets it has never seen, the net trained on episodes is at least 2.5x
# as accurate as 1-NN on pixels (4.0x), and it beats the Koch-style net trained for as many
# steps detectably, by 61 points (clustered by alphabet, p below 0.001). The Koch-style net
# is not detectably above 1-NN on pixels (the smallest effect this design could detect is
# printed beside it).

# %%
def on_lake(right):
    """Accuracy on the 400 queries and its 95% interval over the 10 alphabets."""
    return evaluate.mean_with_ci(right.astype(float), clusters=query_alphabet)


acc, low, high = on_lake(lesson_right)
vs_koch = evaluate.compare(lesson_right, koch_right, paired=True, clusters=query_alphabet,
                           label="one net - Koch-style")
vs_pixels = evaluate.compare(koch_right, pixel_right, paired=True, clusters=query_alphabet,
                             label="Koch-style - pixels")
print(f"one net: {acc:.1%} (95% CI over alphabets {low:.1%} to {high:.1%}), "
      f"{acc / pixel_right.mean():.1f}x 1-NN on pixels")
print(vs_koch)
print(vs_pixels)
print(f"ratio to pixels {acc / pixel_right.mean():.1f}x (check: at least 2.5x); "
      f"gain over Koch-style {100 * vs_koch.effect:.0f} points, p = {vs_koch.p_value:.2g} "
      f"(check: below 0.001)")
assert acc >= 2.5 * pixel_right.mean(), (acc, pixel_right.mean())
assert vs_koch.p_value < 0.001 and vs_koch.effect > 0, vs_koch
assert not (vs_pixels.detectable and vs_pixels.effect > 0), vs_pixels

# %% [markdown]
# The Koch-style net is a weak baseline here, and the comparison says nothing about Koch et
# al.'s own net: ours is far smaller, sees 160 images a step for a short budget, and is
# scored without their validation-tuned schedule. What it does show is that a pair-trained
# net, given the same steps on a CPU, is nowhere near the episode-trained one: after this
# budget it has not learned to beat pixel matching.
#
# ## 4. The full recipe, from its file
#
# Notebook 06b chose the recipe on validation alphabets: **three such nets** trained one
# after the other (2,300 steps each, different seeds), their embeddings put side by side
# (`models.ensemble`). It chose them without test-time shifts (averaging each embedding over
# shifted copies of the image), which multiply inference by 5 for no detectable gain on
# validation. Training it takes longer than a lesson should, so `scripts/recipe_06.py`
# trained it, with the same call, on the same data, and saved which Lake queries it got
# right; it also saved the lesson's one net. We read the file.
#
# **Claim:** (full run only) the net trained above is the file's one net: they agree on at
# least 390 of the 400 queries (the same seed and call; two machines may round differently).

# %%
from course_lib import results

recipe_file = results.read_recipe(RECIPE_FILE)
file_lesson, file_recipe = recipe_file.run("lesson"), recipe_file.run("recipe")
recipe_right = file_recipe.scores["lake_plain"].outcomes
for run in recipe_file.runs:
    print(f"{run.label}: {run.members} x {run.steps} steps, {run.minutes:.1f} min; Lake "
          f"{run.scores['lake_plain'].accuracy:.2%} plain, "
          f"{run.scores['lake_shifts'].accuracy:.2%} with shifts")
same_queries = int((file_lesson.scores["lake_plain"].outcomes == lesson_right).sum())
print(f"the live net and the file's one net agree on {same_queries} of 400 queries "
      f"(check, full run: at least 390)")
if not config.fast_mode():
    assert same_queries >= 390, same_queries

# %% [markdown]
# Both runs face the same 400 queries, so they can be compared query by query, clustered by
# alphabet. The comparison is confounded: the full recipe has three nets *and* 5.75 times the
# training steps, so it does not say which of the two helped (exercise 3 asks).
#
# **Claim:** the full recipe beats the one net detectably (clustered by alphabet), and
# test-time shifts on top of it make no detectable difference, with a smallest detectable
# effect printed beside it.

# %%
recipe_acc, recipe_low, recipe_high = on_lake(recipe_right)
gain = evaluate.compare(recipe_right, file_lesson.scores["lake_plain"].outcomes, paired=True,
                        clusters=query_alphabet, label="three nets - one net")
shifts = evaluate.compare(file_recipe.scores["lake_shifts"].outcomes, recipe_right,
                          paired=True, clusters=query_alphabet, label="shifts - plain")
print(f"the full recipe: {recipe_acc:.2%} (95% CI over alphabets {recipe_low:.1%} to "
      f"{recipe_high:.1%}); {file_recipe.members * file_recipe.steps / file_lesson.steps:.2f} "
      f"times the one net's steps")
print(gain)
print(shifts)
print(f"three nets - one net: {gain.effect:+.4f}, detectable {gain.detectable}; shifts: "
      f"{shifts.effect:+.4f}, detectable {shifts.detectable}, smallest detectable "
      f"{shifts.smallest_detectable:.3f}")
assert gain.detectable and gain.effect > 0, gain
assert not shifts.detectable, shifts

# %% [markdown]
# **Beside Koch et al.'s 92%.** Their number comes from 30 background alphabets, 105x105
# images and a far larger net (its weights at full size are printed in section 1); ours
# from 5 alphabets at 28x28 on a CPU. Their 92% is one score on the same 400 queries, so a
# fair question is whether it lies inside our alphabet-clustered interval.
#
# **Claim:** Koch et al.'s 92% lies inside the full recipe's 95% interval over alphabets:
# with 10 alphabets, these runs cannot tell the two apart.

# %%
koch_paper = 0.92     # Koch et al. 2015, Table 2
print(f"the full recipe {recipe_acc:.2%}, 95% CI over {len(np.unique(query_alphabet))} "
      f"alphabets {recipe_low:.1%} to {recipe_high:.1%}; Koch et al. {koch_paper:.0%}")
assert recipe_low <= koch_paper <= recipe_high, (recipe_low, recipe_high)

# %% [markdown]
# Read it with its limits: the interval counts only 10 alphabets and one training seed, and
# Lake's runs were looked at more than once while the course was developed (notebook 06b,
# section 6, lists every look), so this number is not an untouched estimate.
#
# One query the live net got wrong, as the network saw it (red: its pick, green: the
# truth). Mistakes teach more than successes:

# %%
wrong = np.flatnonzero(~lesson_right)
r, i = divmod(int(wrong[0]), len(runs[0].answers))
plots.plot_one_shot_task(runs[r].test_images[i], runs[r].train_images,
                         int(lesson_picks[r, i]), int(runs[r].answers[i]),
                         title=f"Lake's run {r + 1} ({data.LAKE_RUN_ALPHABETS[r]}), query {i + 1}",
                         rows=2);

# %% [markdown]
# ## 5. Accuracy against N
#
# The same 400 queries make easier tasks: for each query, its true character and N - 1
# others of the same run (`oneshot.lake_n_way_tasks`; at N = 20 these are the official
# tasks). Wilson 95% intervals over the 400 tasks (not clustered: a picture, not a test).
#
# **Claim:** for every model, accuracy falls as N grows, and the episode-trained net stays
# above 1-NN on pixels at every N, outside its interval.

# %%
import pandas as pd

ns = np.array([2, 5, 10, 20])
contenders = {"one net (episodes)": lesson.encoder, "Koch-style net": koch_net,
              "1-NN on pixels": None}
curves = {name: [] for name in contenders}
errors = {name: ([], []) for name in contenders}
for n in ns:
    images, q, s, a, _ = oneshot.lake_n_way_tasks(runs, int(n), seed=SEED + int(n))
    for name, model in contenders.items():
        mean, lo, hi = evaluate.n_way_accuracy(
            oneshot.task_accuracy(oneshot.task_scores(model, images, q, s), a))
        curves[name].append(mean)
        errors[name][0].append(lo)
        errors[name][1].append(hi)
plots.plot_accuracy_vs_n(ns, curves, errors, title="One-shot accuracy on Lake's runs against N")
by_n = pd.DataFrame({**curves, "chance": 1 / ns}, index=pd.Index(ns, name="N"))
print(by_n.round(3))
print(f"falls with N: {bool((np.diff(by_n.drop(columns='chance').to_numpy(), axis=0) < 0).all())}")
assert (np.diff(by_n.drop(columns="chance").to_numpy(), axis=0) < 0).all(), by_n
assert np.all(np.array(errors["one net (episodes)"][0]) > by_n["1-NN on pixels"].to_numpy()), by_n

# %% [markdown]
# ## 6. MNIST: the Omniglot net on digits
#
# Koch et al. applied their Omniglot net, with no training on digits, to 10-way one-shot
# MNIST: one example of each digit, one query. We score the live net and 1-NN on pixels on
# `MNIST_TASKS` such tasks of the MNIST test set, and read the full recipe's score on the
# same tasks from its file. The digits go in as they are: 28x28, white ink on black like our
# Omniglot images, though MNIST strokes are thicker and its digits fill less of the frame.
#
# **Claim:** on 10-way one-shot MNIST the full recipe is at least 15 points above 1-NN on
# pixels, even at the low end of the paired interval.

# %%
_, (x_mnist, y_mnist) = data.load_mnist()
q, s, a = oneshot.one_shot_tasks(y_mnist, 10, MNIST_TASKS, seed=recipe_file.mnist_seed)
mnist = {name: oneshot.task_accuracy(oneshot.task_scores(model, x_mnist, q, s), a)
         for name, model in (("one net", lesson.encoder), ("1-NN on pixels", None))}
mnist["the full recipe (file)"] = file_recipe.scores["mnist_plain"].outcomes
for name, right in mnist.items():
    mean, lo, hi = evaluate.n_way_accuracy(right)
    print(f"10-way one-shot MNIST, {name}: {mean:.1%} (95% CI {lo:.1%} to {hi:.1%})")
over_pixels = evaluate.compare(mnist["the full recipe (file)"], mnist["1-NN on pixels"],
                               paired=True, label="full recipe - pixels")
print(over_pixels)
print(f"gain {100 * over_pixels.effect:.1f} points, interval low end "
      f"{100 * over_pixels.low:.1f} (check: at least 15)")
assert over_pixels.low >= 0.15, over_pixels

# %% [markdown]
# Koch et al. report 70.3% on this task and 26.5% for their 1-NN. Their MNIST net was not
# their Omniglot net as such: they trained a reduced version of it on 35x35 images and
# evaluated 400 trials. Their number is itself a sample of 400 tasks, so we compare the two
# samples unpaired.
#
# **Claim:** the full recipe is not detectably below Koch et al.'s 70.3% on MNIST; the
# smallest difference this design could detect is printed beside it.

# %%
koch_mnist_paper = 0.703                               # Koch et al. 2015, MNIST section
koch_mnist = np.arange(400) < round(koch_mnist_paper * 400)   # as 400 trials: 281 right
below = evaluate.compare(mnist["the full recipe (file)"], koch_mnist, paired=False,
                         label="full recipe - Koch et al.")
print(f"Koch et al. {koch_mnist_paper:.1%}, as {koch_mnist.sum()} of {koch_mnist.size} trials")
print(below)
assert not below.detectable, below

# %% [markdown]
# Not detectable is not the same as equal: 400 tasks a side cannot see a gap smaller than
# the smallest detectable effect printed above. Our 1-NN on pixels is also far above their
# 26.5%, and their paper does not describe that baseline in enough detail to say why; compare
# each method with the 1-NN of its own protocol.
#
# ## 7. Our numbers beside the literature
#
# Every Omniglot row is Lake's 20 runs of 20-way within-alphabet one-shot classification.
# Most published rows trained on the 30 background alphabets; ours used Lake's minimal split
# of 5. Lake, Salakhutdinov and Tenenbaum (2019, "The Omniglot challenge: a 3-year progress
# report") also tabulate results on the minimal split; we could not check that table here,
# so we quote none of its numbers. Famous 20-way numbers (prototypical networks 96.0%, Snell
# et al. 2017, Table 1; matching networks 93.8%, Vinyals et al. 2016, Table 1) are on tasks
# of random characters from all alphabets, which are easier than tasks inside one alphabet
# (jvlmdr/omniglot-eval measures the same simple net at 10.7% error on random-character tasks
# against 24.2% within alphabets): do not compare them with this table.

# %%
rows = [
    ("Humans", "Lake et al. 2015", "people", 0.955),
    ("Bayesian Program Learning", "Lake et al. 2015", "30 alphabets (strokes)", 0.967),
    ("Hierarchical Bayesian Program Learning", "Koch et al. 2015, Table 2",
     "30 alphabets (strokes)", 0.952),
    ("Convolutional Siamese net", "Koch et al. 2015, Table 2", "30 alphabets, 105x105", 0.920),
    ("1-NN on pixels", "Koch et al. 2015, Table 2", "none", 0.217),
    ("the full recipe: 3 nets (ours)", "scripts/recipe_06.py", f"{TRAIN_SPLIT}, 28x28",
     recipe_acc),
    ("one net, episodes (ours, live)", "this notebook", f"{TRAIN_SPLIT}, 28x28", acc),
    ("Koch-style net, CPU-scaled (ours, live)", "this notebook", f"{TRAIN_SPLIT}, 28x28",
     koch_right.mean()),
    ("1-NN on pixels (ours)", "this notebook", "none, 28x28", pixel_right.mean()),
]
table = pd.DataFrame(rows, columns=["method", "source", "training data", "accuracy"])
table["accuracy"] = table["accuracy"].map("{:.1%}".format)
table

# %%
results.record("06_one_shot", lake_one_net=acc, lake_one_net_ci=[low, high],
               lake_full_recipe=recipe_acc, lake_full_recipe_ci=[recipe_low, recipe_high],
               lake_full_recipe_shifts=file_recipe.scores["lake_shifts"].accuracy,
               lake_koch_style=float(koch_right.mean()), lake_pixels=float(pixel_right.mean()),
               mnist_full_recipe=float(mnist["the full recipe (file)"].mean()),
               mnist_one_net=float(mnist["one net"].mean()),
               mnist_pixels=float(mnist["1-NN on pixels"].mean()),
               lesson_steps=LESSON_STEPS, train_split=TRAIN_SPLIT)

# %% [markdown]
# ## Summary
#
# - Lake's 20 runs are 400 queries from 10 evaluation alphabets: count alphabets, not
#   queries, when you put an interval on a score.
# - A Siamese net trained on pairs answers "same or different?"; the test asks "which of
#   these 20 characters of one alphabet?". Training on that question, 20 characters of one
#   alphabet compared at once through a softmax over minus squared distances, is what made
#   the difference here.
# - The recipe is one call, `training.train_one_shot_recipe`; three nets side by side beat
#   one, detectably, for three times the training and inference.
# - Test-time shifts cost 5 forward passes per image and made no detectable difference on
#   top of the three nets.
# - The net learned on Omniglot transfers to MNIST digits well above pixel matching; 400
#   tasks cannot tell it from Koch et al.'s 70.3%.
#
# ## Further reading
#
# - Koch, Zemel and Salakhutdinov 2015, sections 3-4: the pair-trained net and its search.
# - Snell, Swersky and Zemel 2017: prototypical networks, and why training with more ways
#   than the test helps.
# - Lake, Salakhutdinov and Tenenbaum 2019: what the Omniglot benchmark asks, and the splits
#   papers changed.
# - jvlmdr/omniglot-eval (GitHub): within-alphabet against random-character tasks, measured.
# - Notebook 06b: how each setting of the recipe was chosen on validation alphabets.
#
# ## Exercises
#
# In these exercises you write the code, and a check tells you whether it is right. Each
# exercise cell starts with a placeholder, `raise NotImplementedError("your code here")`:
# replace it with your code and run the cell. `nb06.qK.check()` finds what you defined by
# its name and prints *Correct*, or what is wrong and where the course explains it;
# `nb06.qK.hint()` and `nb06.qK.solution()` show a hint and one way to do it, folded.

# %%
from course_lib.exercises import nb06

# %% [markdown]
# ### Exercise 1: the N-way loss from distances
#
# Write `n_way_loss_from_distances(d2)` in `keras.ops`: `d2[e, i, j]` is the squared
# distance between anchor `i` and candidate `j` of episode `e`, shape (episodes, N, N).
# Return the mean N-way loss of section 2, both directions averaged. The check compares it
# with `losses.NWayLoss` on three batches of episodes.

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
# run's queries (Q, D) and of its candidates (N, D), and the true candidate of each query.
# Return the share of queries whose nearest candidate (Euclidean) is the answer, counting a
# tie as wrong, as `oneshot.task_accuracy` does.

# %% tags=["exercise"]
def one_shot_accuracy(query_emb, candidate_emb, answers):
    """Share of queries whose nearest candidate (Euclidean) is the answer; a tie is wrong."""
    raise NotImplementedError("your code here")


# Stuck? These open folded: a hint, then one way to do it.
nb06.q2.hint()
nb06.q2.solution()
nb06.q2.check()

# %% [markdown]
# ### Exercise 3 (open): more steps or more nets?
#
# Train one net for 6,900 steps (`steps=6900`) and compare it query by query with the full
# recipe of three nets of 2,300 steps, on Lake's runs, with `evaluate.compare(...,
# paired=True, clusters=query_alphabet)`. This looks at the test set again: say so when you
# report it, or make the comparison on a held-out background alphabet as notebook 06b does.
#
# <details><summary>Solution 3</summary>
#
# ```python
# long = training.train_one_shot_recipe(omniglot.images, omniglot.character,
#                                       omniglot.alphabet, steps=6900, seed=SEED, **RECIPE)
# long_right, _ = lake_outcomes(long.encoder)
# print(evaluate.compare(recipe_right, long_right, paired=True, clusters=query_alphabet,
#                        label="three nets - one long net"))
# ```
# The same training steps in all; notebook 06b made this comparison on validation alphabets
# (its "1 net, 7,000 steps" against "3 nets"), where the three nets won.
# </details>
