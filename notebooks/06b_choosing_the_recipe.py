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
# # 06b · Choosing the recipe: ablations, held-out alphabets and honest comparisons
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/siamese-course/siamese-networks-course/blob/main/notebooks/06b_choosing_the_recipe.ipynb)
#
# Notebook 06 trains one recipe for one-shot Omniglot. This appendix shows how that recipe was
# chosen, from study files that `scripts/ablation_06.py`, `scripts/select_06.py`,
# `scripts/confirm_06.py`, `scripts/scoring_06.py` and `scripts/recipe_06.py` wrote, and what
# those studies can and cannot tell. It trains nothing: it reads the files through typed
# readers and does the statistics. Its one question: how do you choose settings on
# validation data so that the choice means something, and what goes wrong when you do not?
#
# Names used below. In the ablation of section 2, "the recipe" is a row: one net with batch
# norm, as the recipe stood then. From section 3 on, **the recipe** (`ensemble3`, later
# called **the earlier recipe**) is three nets without batch norm, four 20-way episodes per
# step, the whole 105x105 drawings scaled down to 28x28 (section 3's figure also says
# "recipe" for its single nets, with or without batch norm). Section 5 tests changes to it;
# the one that passed, **the adopted recipe** (`ensemble3_box20_way80`: every drawing fitted
# to a 20x20 box, one 80-way episode per step, and each character's rotations kept in its
# own alphabet), is notebook 06's recipe. It passed its first
# test narrowly (p = 0.043; not after Holm's correction over the four tests made), and a
# second test, with new candidate nets against the earlier recipe's reused (and weakest)
# seed-0 nets on the same validation tasks, passed again (p = 0.0011; with the folds as
# units not detectably).
#
# **What you will be able to do after this notebook**
#
# - build validation tasks the way Lake et al. built their test runs, and say why it matters;
# - read an equal-time ablation, and spot a row scored with stale batch-norm statistics;
# - compare two models task by task, with the uncertainty measured between characters, not
#   between tasks, and correct a family of comparisons (Holm);
# - choose between models by accuracy *and* cost, and say what a test score means when the
#   test was looked at during development.
#
# **Prerequisites:** notebook 06 (the one-shot task, the N-way loss, ensembles and test-time
# shifts). Lake's runs: Lake, Salakhutdinov and Tenenbaum 2015 (the 20 within-alphabet runs,
# supplementary material). Holm's method: Holm 1979.

# %%
import sys

if "google.colab" in sys.modules:  # on Colab: install course_lib from the repository
    # %pip install -q "git+https://github.com/siamese-course/siamese-networks-course"

from course_lib import config

config.describe();

# %% [markdown]
# ## Parameters
#
# The study files, and the number of validation tasks drawn in section 1 (as many as the
# studies use). Nothing here trains, so fast mode changes nothing here.

# %% tags=["parameters"]
ABLATION_FILE = "results/06_ablation.json"              # scripts/ablation_06.py, this version
OLD_ABLATION_FILE = "results/06_ablation_2026-11-30.json"   # the same script before its fixes
SELECTION_FILE = "results/06_selection.json"            # scripts/select_06.py
LAKE_SELECTION_FILE = "results/06_selection_lake.json"  # the same, five folds, Lake-style tasks
LATER_FILES = {"ensemble3_box20": "results/06_selection_box.json",    # scripts/confirm_06.py
               "ensemble3_way80": "results/06_selection_way.json"}
COMBINED_FILE = "results/06_selection_combined.json"    # the same, both at once, seed 2
REPLICATION_FILE = "results/06_selection_combined_seed0.json"  # both at once again, seed 0
SCORING_FILE = "results/06_scoring.json"                # scripts/scoring_06.py
# scripts/recipe_06.py's file from before the recipe took section 5's last candidate
ENSEMBLE3_RECIPE_FILE = "results/06_recipe_ensemble3.json"
RECIPE_35_FILE = "results/06_recipe_35px.json"          # the same, trained at 35x35
VAL_TASKS = config.pick(full=400, fast=400)
HELD_OUT = "Early_Aramaic"                              # the ablation's validation alphabet
ALPHA = 0.05
SEED = 0
config.seed_everything(SEED)

# %% [markdown]
# ## 1. Validation tasks built like the test
#
# Lake's 20 runs are not random 20-way tasks. In each run the 20 candidates were all drawn by
# one person and the 20 queries by another, and every query is a different drawing. A
# validation set should ask the same question. The older study runs drew tasks with
# `oneshot.one_shot_tasks` from any drawers: then a distractor may be by the query's own
# drawer (a cue of pen and style that has nothing to do with the character), and a query may
# come back in several tasks. Count both, by hand, on the held-out alphabet:

# %%
import numpy as np

from course_lib import data, oneshot, splits

omniglot = data.load_omniglot("background_small1", 28)
_, val = splits.held_out_split(omniglot.alphabet, omniglot.alphabet_names, [HELD_OUT],
                               what="alphabet")
who, character = omniglot.drawer[val], omniglot.character[val]


def drawer_cues(query, support, answer):
    """Share of tasks with a distractor by the query's drawer, and distinct queries.

    query (tasks,), support (tasks, 20) and answer (tasks,): image indices, and the column of
    support that holds the query's character (what `one_shot_tasks` returns)."""
    distractor = np.arange(support.shape[1]) != answer[:, None]
    same = (who[support] == who[query][:, None]) & distractor
    return float(same.any(axis=1).mean()), int(np.unique(query).size)


older = oneshot.one_shot_tasks(character, 20, VAL_TASKS, seed=12345, groups=omniglot.alphabet[val])
lake_like = oneshot.one_shot_tasks(character, 20, VAL_TASKS, seed=12345,
                                   groups=omniglot.alphabet[val], drawers=who)
print(f"{VAL_TASKS} tasks; older: {drawer_cues(*older)}; like Lake's runs: "
      f"{drawer_cues(*lake_like)}  (share with a distractor by the query's drawer, distinct "
      "queries)")

# %% [markdown]
# **Claim:** 64% of the older validation tasks have a distractor by the query's own drawer,
# and their 400 tasks hold 264 distinct queries; built with `drawers=`, no task has one and
# all 400 queries differ.

# %%
cue_old, distinct_old = drawer_cues(*older)
cue_new, distinct_new = drawer_cues(*lake_like)
print(f"older tasks: {cue_old:.0%} with a distractor by the query's drawer, {distinct_old} "
      f"distinct queries in {VAL_TASKS}; with drawers=: {cue_new:.0%}, {distinct_new} distinct")
assert 0.5 < cue_old < 0.8 and distinct_old < 0.8 * VAL_TASKS, (cue_old, distinct_old)
assert cue_new == 0.0 and distinct_new == VAL_TASKS, (cue_new, distinct_new)

# %% [markdown]
# The fixed studies use the Lake-style tasks (`oneshot_variants.TASKS = "lake"`). The
# ablation below was re-run with them; the leave-one-alphabet-out runs of sections 3 and 4 are
# older and still use the older tasks (each run in the file records which).
#
# ## 2. The ablation at equal time, re-run with its fixes
#
# `scripts/ablation_06.py` gives each setting the same 30 seconds of training on the
# training alphabets (3 seeds) and scores the 400 validation tasks. Each row changes one
# thing from the row above (the last three: from the recipe). Three flaws of the first
# version are fixed: the pair rows took 160 pairs (320 images) per step against the 160
# images of an episode step (now 80 pairs); the `n_way` row also swapped Koch's affine
# distortions for shifts (now its own row, `shifts`); and batch-norm rows were scored with
# their moving statistics, which after a short run still hold much of their initial values
# (momentum 0.99: $0.99^{136} \approx 0.25$ after the 136 steps of the old `conv4_bn` row).
# Now every net's batch-norm statistics are re-estimated from a batch of training images
# before it is scored (`models.refresh_batch_norm`), and the stale score is kept beside it.

# %%
import pandas as pd

from course_lib import evaluate, plots, results

ablation = results.read_ablation(ABLATION_FILE)
old = results.read_ablation(OLD_ABLATION_FILE)
# new row: the old file's row with the same settings. The old file did not record the
# augmentation; its `rotations` row already used shifts (the script at commit e029eac), so
# it is the new `shifts` row; the other rows changed between the files.
SAME_AS_OLD = {"shifts": "rotations", "width32": "width32", "size35": "size35", "no_bn": "no_bn"}
assert all({k: v for k, v in ablation.row(new).settings.items() if k != "augment"}
           == old.row(was).settings for new, was in SAME_AS_OLD.items())
slowdown = {new: np.mean(old.row(was).steps) / np.mean(ablation.row(new).steps)
            for new, was in SAME_AS_OLD.items()}
table = pd.DataFrame([{"setting": r.label, "accuracy": r.mean, "std": r.std,
                       "stale": np.mean(r.accuracies_stale or np.nan), "steps": int(np.mean(r.steps)),
                       "ms/step": round(r.ms_per_step),
                       "old file, same settings": old.row(SAME_AS_OLD[r.variant]).mean
                       if r.variant in SAME_AS_OLD else np.nan}
                      for r in ablation.rows], index=[r.variant for r in ablation.rows])
print(f"{ablation.seconds_per_run:.0f} s per run, {ablation.seeds} seeds, "
      f"{ablation.task_construction} tasks, measured {ablation.date} (load average "
      f"{ablation.machine['load_average']}); the old file: load {old.machine['load_average']}")
print(f"images per step: an episode step {2 * ablation.n_way * ablation.episodes_per_step}, a "
      f"pair step now {ablation.pairs_per_step} pairs ({2 * ablation.pairs_per_step} images), "
      f"in the old file {old.pairs_per_step} pairs ({2 * old.pairs_per_step} images)")
print("the old file made this many times as many steps per run, same settings: "
      + ", ".join(f"{v} {x:.1f}x" for v, x in slowdown.items()))
same_name = [r.variant for r in ablation.rows if r.variant in {o.variant for o in old.rows}]
by_name = [np.mean(old.row(v).steps) / np.mean(ablation.row(v).steps) for v in same_name]
print(f"rows of the same name, settings changed or not: {min(by_name):.1f}x to "
      f"{max(by_name):.1f}x")
# each row's change: against the row above, the last three against the recipe (`shifts`)
names = [r.variant for r in ablation.rows]
reference = {v: ("shifts" if v in ("width32", "size35", "no_bn") else names[i - 1])
             for i, v in enumerate(names) if i > 0}
change = {v: ablation.row(v).mean - ablation.row(ref).mean for v, ref in reference.items()}
largest = sorted(change, key=change.get)[::-1][:2]
print("largest changes: " + ", ".join(f"{v} {change[v]:+.3f} (against {reference[v]})"
                                      for v in largest))
assert (round(min(slowdown.values()), 1), round(max(slowdown.values()), 1)) == (3.6, 6.0)
assert largest == ["n_way", "no_bn"] and [round(change[v], 3) for v in largest] == [0.242, 0.188]
plots.plot_ablation(table["setting"], [r.accuracies for r in ablation.rows],
                    title=f"Validation 20-way accuracy after {ablation.seconds_per_run:.0f} s",
                    xlabel="validation 20-way accuracy", reference=1 / 20)
table.round(3)

# %% [markdown]
# Columns: mean and sample std of the seeds (refreshed statistics), the mean scored with
# stale statistics, the steps made in the budget, and the mean in the old file of the row
# with the same settings (the old `rotations` row already used shifts, so it is the new
# `shifts` row; the rows left blank changed between the files). Read the steps first: every
# row made several times fewer steps than in the old file (both ranges printed above the
# figure). The settings found in both files made 3.6x to 6.0x fewer, unequally; the other
# rows changed as well (fewer pairs per step, Koch's affine distortions
# instead of shifts), so their step counts do not compare. Why every row was slower we did
# not establish; other jobs on the machine are the likely cause (an interpretation: the
# recorded 5- and 15-minute load averages, about one process higher than the old file's,
# show some extra load, not how much it slowed each row).
# A wall-clock budget on a shared CPU measures the other jobs as well as the setting: the
# new numbers are a shorter sprint than the old ones, not a re-measurement of the same one.
#
# Within the table, the largest single change is the N-way comparison loss on episodes
# (`n_way`, +0.242 over the row above, from the unrounded means), then dropping batch norm (`no_bn`, +0.188 over the
# recipe); each row has its own steps, so read them as "in 30 seconds", not "per step".
# A **budget in steps** does not have this flaw; an ablation at equal step counts is the next
# fix (not done here). What the new file can answer is below.
#
# **Stale statistics.** For every run of a batch-norm row the file holds both scores. The
# difference, refreshed minus stale, is paired by run (a t test over the runs, `compare` with
# `kind="scores"`).
#
# **Claim:** re-estimating the batch-norm statistics raises the accuracy of the batch-norm
# runs by 0.15 on average (paired over the 21 runs, p < 0.001). Scored with stale statistics
# the `conv4_bn` row was below chance (1.8% against 5%). An interpretation: the old file's
# verdict on batch norm mixed its stale statistics with the effect of batch norm itself.

# %%
bn_rows = [r for r in ablation.rows if r.settings.get("bn")]
refreshed = np.concatenate([r.accuracies for r in bn_rows])
stale = np.concatenate([r.accuracies_stale for r in bn_rows])
print(f"initial statistics' weight after 136 steps: 0.99**136 = {0.99**136:.2f}")
refresh = evaluate.compare(refreshed, stale, paired=True, kind="scores",
                           label="refreshed - stale")
print(f"{len(bn_rows)} batch-norm rows, {refreshed.size} runs: {refresh}")
stale_conv4_bn = np.mean(ablation.row("conv4_bn").accuracies_stale)
print(f"conv4_bn scored with stale statistics: {stale_conv4_bn:.1%}; chance {1 / ablation.n_way:.0%}")
assert refresh.detectable and refresh.effect > 0.05, refresh
assert stale_conv4_bn < 1 / ablation.n_way < ablation.row("conv4_bn").mean, stale_conv4_bn

# %% [markdown]
# **Batch norm, decided again.** The recipe (`shifts`) and the recipe without batch norm
# (`no_bn`) faced the same 400 tasks with 3 seeds each. Pairing seed *k* of one with seed *k*
# of the other, task by task, gives 1,200 paired tasks; they ask about 22 characters, so the
# comparison is clustered by character.
#
# **Claim:** with refreshed statistics and at equal time, the recipe without batch norm still
# beats the recipe with it, by 0.188 (clustered by character, p < 0.001); it made 2.7x as
# many steps, against 1.6x for the same two settings in the old file. The two rows were
# slowed unequally (above), so the ratio carries the machine's load as well as the cost of
# a batch-norm step, and this equal-time verdict is not clean; section 3 decides again at
# the final budget.

# %%
task_chars = np.tile(np.array(ablation.task_characters), ablation.seeds)
with_bn = np.concatenate(ablation.row("shifts").tasks)
without_bn = np.concatenate(ablation.row("no_bn").tasks)
print(f"{with_bn.size:,} paired tasks, {np.unique(task_chars).size} characters")
bn_verdict = evaluate.compare(without_bn, with_bn, paired=True, clusters=task_chars,
                              label="no batch norm - batch norm")
step_ratio = np.mean(ablation.row("no_bn").steps) / np.mean(ablation.row("shifts").steps)
old_ratio = np.mean(old.row("no_bn").steps) / np.mean(old.row(SAME_AS_OLD["shifts"]).steps)
print(f"steps without batch norm / with it: {step_ratio:.1f}x; in the old file, same "
      f"settings: {old_ratio:.1f}x")
print(bn_verdict)
assert bn_verdict.detectable and bn_verdict.effect > 0.05, bn_verdict
assert (round(step_ratio, 1), round(old_ratio, 1)) == (2.7, 1.6), (step_ratio, old_ratio)

# %% [markdown]
# ## 3. Leave one alphabet out, at the final budget
#
# The ablation asked which steps matter in a sprint. `scripts/select_06.py` asks again at the
# budget the final model gets (minutes); batch norm stays out of the recipe at equal time (an
# interpretation: on this CPU its slower steps cost more than it gives in a short run; whether
# it learns more *per step* the ablation does not answer). It compares one net without batch norm (7,000 steps), one
# with it (4,500 steps, about the same time) and an ensemble of three nets of 2,300 steps: each
# is trained 5 times, each time holding out one of the 5 background alphabets and scoring 400
# 20-way tasks inside it. These runs predate the fixes above: older tasks, and the batch-norm
# net scored with its moving statistics after 4,500 steps ($0.99^{4500}$ is negligible, so
# its statistics are not stale, but they still trail the weights of the last ~100 steps).

# %%
selection = results.read_selection(SELECTION_FILE)
LOAO = ["no_bn", "bn", "ensemble3"]
folds = selection.folds(LOAO, scoring=None)              # every fold with a run of each
by_fold = {name: [selection.run(name, h).end for h in folds] for name in LOAO}
plots.plot_by_fold({selection.candidates[n]["label"]: v for n, v in by_fold.items()}, folds,
                   title="Leave one alphabet out: 20-way accuracy at the end of the schedule",
                   ylabel="held-out 20-way accuracy")
fold_table = pd.DataFrame(by_fold, index=folds)
print(f"{len(folds)} folds, {selection.val_tasks} tasks each, measured {selection.date}; "
      f"mean: {fold_table.mean().round(4).to_dict()}")
print("steps: " + ", ".join(f"{n} {selection.candidates[n]['steps']:,}"
                            + (f" x {selection.candidates[n].get('members', 1)} nets"
                               if selection.candidates[n].get("members", 1) > 1 else "")
                            for n in LOAO))
fold_table.round(3)

# %% [markdown]
# **Claim:** the ensemble is ahead of both single nets on every held-out alphabet, and
# Balinese is the hardest held-out alphabet for every candidate. Alphabets differ more than
# recipes do: the smallest spread between alphabets (0.443) is larger than the largest gap
# between two candidates' means (0.059).

# %%
assert (fold_table["ensemble3"] > fold_table[["no_bn", "bn"]].max(axis=1)).all(), fold_table
assert (fold_table.idxmin() == "Balinese").all(), fold_table
spread = (fold_table.max() - fold_table.min()).min()
print(f"smallest spread between alphabets: {spread:.3f}; largest gap between the means of "
      f"two candidates: {fold_table.mean().max() - fold_table.mean().min():.3f}")
assert spread > fold_table.mean().max() - fold_table.mean().min(), fold_table

# %% [markdown]
# ## 4. Paired tests, and what is independent
#
# Every run in the file records which of its tasks it got right (the typed reader gives
# booleans), and the candidates faced the same tasks, so they can be compared task by task.
# Pooled over the 5 folds that is 2,000 paired tasks. But 2,000 tasks are not 2,000
# independent pieces of evidence: they ask about 136 characters (a hard character makes
# every task it is in hard, for both candidates), and each fold is one training run. Try it
# by hand on one comparison, test-time shifts on the ensemble: first as if the tasks were
# independent, then with the spread measured between characters. With $d_i$ the difference
# on task $i$ (1, 0 or -1), $n$ tasks, $G$ characters, $S_g$ the sum of the differences of
# character $g$ and $n_g$ its number of tasks, the cluster-robust standard error of the mean
# difference $\bar d$ is
# $$\mathrm{SE} = \sqrt{\frac{G}{G-1}\,\frac{1}{n^2}\sum_{g=1}^{G}\left(S_g - \bar d\, n_g\right)^2}.$$

# %%
shifts_on = selection.outcomes("ensemble3", "shifts", folds)
shifts_off = selection.outcomes("ensemble3", "plain", folds)
chars = selection.characters(folds)                     # the query's character, per task
d = shifts_on.astype(float) - shifts_off.astype(float)
naive_se = d.std(ddof=1) / np.sqrt(d.size)
ids = np.unique(chars, return_inverse=True)[1]
sums, sizes = np.bincount(ids, weights=d), np.bincount(ids)
g = sums.size
clustered_se = np.sqrt(g / (g - 1) * np.sum((sums - d.mean() * sizes) ** 2) / d.size**2)
print(f"{d.size:,} tasks, {g} characters; gain {d.mean():+.4f}, standard error as if "
      f"independent {naive_se:.5f}, clustered by character {clustered_se:.5f}")

# %% [markdown]
# `evaluate.compare` is the course's one rule for such questions; given `clusters=`, it uses
# exactly this cluster-robust standard error (with G - 1 degrees of freedom). Its effect and
# interval should agree with the numbers by hand:

# %%
from scipy import stats

by_character = evaluate.compare(shifts_on, shifts_off, paired=True, clusters=chars,
                                label="ensemble: shifts - plain")
half_width = stats.t.ppf(1 - ALPHA / 2, g - 1) * clustered_se
print(by_character)
assert np.isclose(by_character.effect, d.mean())
assert np.isclose(by_character.high - by_character.effect, half_width, rtol=1e-6)

# %% [markdown]
# Clustering by character changes little here. The clustered standard error is even a little
# smaller than the independent one: it adds up each character's differences first, and
# within a character gains and losses partly cancel.
# The coarser clusters are the 5 alphabets, one training run each; with 5 clusters the test
# has 4 degrees of freedom, so it is much weaker (the docstring of `compare` asks for about
# 10 clusters before trusting its p-value). Both, and the sign test that treats tasks as
# independent, for the one comparison that decides about ensembles:

# %%
alphabets = np.array([c.split("/")[0] for c in chars])
one_net = selection.outcomes("no_bn", "plain", folds)
three_nets = selection.outcomes("ensemble3", "plain", folds)
views = {"tasks independent (sign test)": None, "clustered by character": chars,
         "clustered by alphabet": alphabets}
for view, clusters in views.items():
    found = evaluate.compare(three_nets, one_net, paired=True, clusters=clusters,
                             label="3 nets - 1 net")
    print(f"{view:>30}: {found}")

# %% [markdown]
# ### The five comparisons the recipe rests on
#
# Notebook 06's choices rest on five task-by-task comparisons. Made one at a time at level
# 0.05, five comparisons would find at least one "detectable" difference by chance far more
# often than 5% of the time; `evaluate.compare_many` corrects them together (Holm's method)
# and widens each interval to level $1 - 0.05/5$. Holm's adjusted p-values, for m tests:
# sort the p-values from smallest to largest, multiply the first by m, the second by m - 1,
# and so on down to 1, take the running maximum (an adjusted p never falls below the one
# before it) and cap it at 1; then return them in the original order (Exercise 2). For
# example [0.01, 0.04, 0.03] becomes [0.03, 0.06, 0.06].
#
# A *smallest detectable effect* is the true difference the design would find 80% of the
# time: z + 0.84 standard errors, where an observed difference of z standard errors is just
# detectable (z = 1.96 at level 0.05; `compare` uses the t distribution with G - 1 degrees
# of freedom, close to z for many clusters). So an observed difference a little below it can
# still be detectable: from about 0.7 times it at level 0.05, about 0.75 times at Holm's
# strictest step or with few clusters. Holm's later steps test at looser levels than the
# strictest one at which its detectable sizes are printed, so there a difference as small
# as about 0.57 times the printed size can pass (for these 5 comparisons, at the last step,
# which is reached only if the other four pass; printed).
# Clustered by character:

# %%
runs = {"1 net, 2,300 steps": selection.outcomes("ensemble3", "member_0", folds),
        "1 net, 7,000 steps": one_net,
        "3 nets": three_nets,
        "1 net, 7,000 steps + shifts": selection.outcomes("no_bn", "shifts", folds),
        "3 nets + shifts": shifts_on}
FIVE = [("1 net, 2,300 steps", "1 net, 7,000 steps"), ("3 nets", "1 net, 2,300 steps"),
        ("1 net, 7,000 steps + shifts", "1 net, 7,000 steps"), ("3 nets + shifts", "3 nets"),
        ("3 nets + shifts", "1 net, 7,000 steps")]
five = evaluate.compare_many(runs, FIVE, paired=True, clusters=chars, alpha=ALPHA)
m = len(FIVE)
last_step = (stats.norm.ppf(1 - ALPHA / 2)
             / (stats.norm.ppf(1 - ALPHA / (2 * m)) + stats.norm.ppf(0.8)))
print(f"at Holm's last step (level {ALPHA}) a difference {last_step:.2f} times the size "
      f"detectable at {ALPHA}/{m} can pass (normal approximation)")
assert round(last_step, 2) == 0.57, last_step
assert np.allclose(evaluate.holm_adjust([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
alone = evaluate.paired_sign_test(*[runs[name] for name in FIVE[0]])
print(f"2,300 against 7,000 steps: sign test alone p = {alone[2]:.3f}; clustered and "
      f"Holm-corrected p = {five[FIVE[0]].p_value:.3f}")
plots.plot_comparisons(five, title="Five paired comparisons, 2,000 tasks, clustered by "
                                   "character, Holm-corrected")
for c in five.values():
    print(c)

# %% [markdown]
# **Claim:** corrected for the five comparisons and clustered by character, three nets beat
# the first of them alone, shifts beat plain scoring on the 7,000-step net, and the ensemble
# with shifts beats the 7,000-step net (each Holm-adjusted p < 0.001); on the ensemble, shifts
# make no detectable difference (Holm-adjusted p = 0.33), with a smallest detectable effect of
# 0.011.

# %%
p_of = {pair: c.p_value for pair, c in five.items()}
print({f"{a} - {b}": round(p, 4) for (a, b), p in p_of.items()})
print("\n".join(str(five[pair]) for pair in (FIVE[1], FIVE[2], FIVE[4])))
print(f"shifts on the ensemble: smallest detectable effect "
      f"{five[FIVE[3]].smallest_detectable:.3f}")
assert all(p_of[pair] < 0.001 and five[pair].effect > 0 for pair in (FIVE[1], FIVE[2], FIVE[4]))
assert p_of[FIVE[3]] > ALPHA and five[FIVE[3]].smallest_detectable < 0.02, five[FIVE[3]]

# %% [markdown]
# The first comparison, a net of 2,300 steps against one of 7,000, was the reason for the
# shorter schedule. Alone, by the sign test, it looks detectable; corrected and clustered it
# sits on the edge (both printed above). It also rests on one seed per fold: one training run per net and alphabet, so the runs'
# own luck is not in any of these intervals. A second seed for the comparisons the recipe
# rests on is the next experiment to run (not done here).
#
# ## 5. Accuracy against cost
#
# An ensemble of three nets runs three forward passes per image; test-time shifts multiply
# that by five (the ensemble with shifts: fifteen passes per image, the costs printed below). The
# rule first used to choose the recipe took the highest mean, whatever it cost. A rule that
# weighs cost, `evaluate.choose_cheapest`, takes the cheapest model that no costlier model
# detectably beats (every costlier-cheaper pair compared, Holm-corrected together).
#
# **Claim:** weighing cost, the rule chooses the ensemble of three nets without test-time
# shifts: no costlier candidate beats it detectably, while it beats the single net.

# %%
CANDIDATES = ["1 net, 7,000 steps", "3 nets", "1 net, 7,000 steps + shifts", "3 nets + shifts"]
PASSES = {"1 net, 7,000 steps": 1, "3 nets": 3, "1 net, 7,000 steps + shifts": 5,
          "3 nets + shifts": 15}
choice = evaluate.choose_cheapest({name: runs[name] for name in CANDIDATES}, PASSES,
                                  paired=True, clusters=chars, alpha=ALPHA)
print(choice)
assert choice.chosen == "3 nets", choice
assert choice.beaten_by["3 nets"] == [] and "3 nets" in choice.beaten_by["1 net, 7,000 steps"]

# %% [markdown]
# ### Koch et al.'s input size: a gain after three looks
#
# **Section 1's Lake-style tasks, on all five folds.** With each validation alphabet held out
# in turn, the recipe was trained again and scored on Lake-style tasks beside a candidate at
# Koch et al.'s MNIST input size: three 35x35 nets with 1,600 steps each instead of 2,300, so
# that the training time stays about the same (a 35x35 step costs more: the per-step ratio is
# printed, and the ratio of training times is checked to be within 5% of 1). A 35x35 run of
# the recipe (3 nets of 2,300 steps, `results/06_recipe_35px.json`) had been scored on Lake's
# runs before this candidate was added, and scored higher there than the recipe (section 6):
# that is what made the candidate worth validating.
#
# The folds were run and looked at in three batches: Early_Aramaic first, then Balinese and
# Greek, then Korean and Latin; the comparison at each look is printed. The rule for
# switching (a candidate replaces the recipe only if it beats it detectably, clustered by
# character) was written down after the first look, and the last two folds were run after the
# second look had shown a large gain on Balinese.
#
# **Claim:** pooled over the five folds, the trained 35x35 ensembles scored higher than the
# trained recipe ensembles by 1.6 points (95% CI 0.1 to 3.1), detectable as one comparison at
# the 0.05 level, clustered by character, but not at the Bonferroni level for three looks
# (0.05 divided by the number of looks: 0.0167). A difference can be detectable and yet
# smaller than the printed smallest detectable effect: that effect is the true difference
# the design would detect 80% of the time, larger than the observed difference that is just
# detectable (section 4 gives the formula). Clustering by character
# counts the noise of
# which tasks were drawn, with each fold's trained nets held fixed: it says nothing of what
# another training run would give. The gain comes mostly from Balinese, the hardest fold here
# (+5.0 points; without it +0.8 points, not detectable: the design could detect 2.2). On the five per-fold
# differences alone, the same test as clustering by alphabet, it is not detectable, and that
# test could only have detected 3.5 points.
#
# **The confirmatory run.** Seed 1 of both candidates was trained on all five folds (its nets
# are seeded 3 to 5, so none is shared with seed 0), under a rule committed to the repository
# before the run: the 35x35 candidate replaces the recipe only if seed 1's pooled comparison,
# clustered by character, is detectable at 0.05 with the 35x35 ahead. The per-fold scores
# were visible in the training log as runs finished; the rule and the runs did not change.
#
# **Claim:** on seed 1 the 35x35 ensembles are ahead by 0.7 points, not detectably (the design
# could detect 2.0 points), so notebook 06 keeps the 28x28 recipe. Seeds 0 and 1 pooled give
# +1.1 points, not detectable either (smallest detectable 1.7; reported, not used to decide). On Balinese the gain
# shrinks from 5.0 points with seed 0 to 1.0 with seed 1, which suggests most of seed 0's gain
# there was the luck of one pair of runs (an interpretation).

# %%
lake_study = results.read_selection(LAKE_SELECTION_FILE)
PAIR = ("ensemble3", "ensemble3_35px_short")             # the recipe, the 35x35 candidate
lake_folds = lake_study.folds(PAIR)
lake_runs = {n: [lake_study.run(n, h) for h in lake_folds] for n in PAIR}
per_step = [np.mean([r.curve[-1].seconds / r.total_steps for r in lake_runs[n]]) for n in PAIR]
at_35 = lake_study.compare(PAIR[1], PAIR[0], lake_folds,
                           label="35x35, 3 x 1,600 - 28x28, 3 x 2,300")
print(pd.DataFrame({"recipe": [r.end for r in lake_runs[PAIR[0]]],
                    "35x35": [r.end for r in lake_runs[PAIR[1]]]}, index=lake_folds).round(4))
print(f"{len(lake_folds)} folds of Lake-style tasks, {lake_study.val_tasks} each; a 35x35 step "
      f"costs {per_step[1] / per_step[0]:.2f}x a 28x28 one")
print(at_35)
assert all(r.tasks == "lake" for runs_ in lake_runs.values() for r in runs_)
equal_time = (np.mean([r.curve[-1].seconds for r in lake_runs[PAIR[1]]])
              / np.mean([r.curve[-1].seconds for r in lake_runs[PAIR[0]]]))
print(f"training time, 35x35 over 28x28: {equal_time:.2f}")


looks = [["Early_Aramaic"], ["Early_Aramaic", "Balinese", "Greek"], lake_folds]
for i, folds in enumerate(looks, 1):
    c = lake_study.compare(PAIR[1], PAIR[0], folds)
    print(f"look {i}, {len(folds)} fold(s): {100 * c.effect:+.1f} points, p = {c.p_value:.2g}")
bonferroni = 0.05 / len(looks)
gain = pd.Series({h: b.end - a.end for h, a, b in zip(lake_folds, *lake_runs.values())})
recipe_scores = pd.Series({h: r.end for h, r in zip(lake_folds, lake_runs[PAIR[0]])})
without = lake_study.compare(PAIR[1], PAIR[0], [h for h in lake_folds if h != "Balinese"])
by_fold = evaluate.compare(*(np.array([r.end for r in lake_runs[n]]) for n in PAIR[::-1]),
                           paired=True, label="per fold, one number each ('seeds': folds)")
print(f"all five: {100 * at_35.effect:.1f} points (95% CI {100 * at_35.low:.1f} to "
      f"{100 * at_35.high:.1f}), p = {at_35.p_value:.3f}; Bonferroni level for "
      f"{len(looks)} looks {bonferroni:.4f}")
print(f"Balinese {100 * gain['Balinese']:+.1f} points; without it "
      f"{100 * without.effect:+.1f} points, p = {without.p_value:.2f}, smallest detectable "
      f"{100 * without.smallest_detectable:.1f}")
print(f"{by_fold}\nsmallest detectable per fold: {100 * by_fold.smallest_detectable:.1f} points")
assert abs(equal_time - 1) < 0.05 and len(lake_folds) == 5, equal_time
assert at_35.detectable and at_35.p_value > bonferroni and 0.01 < at_35.effect < 0.02, at_35
assert gain.idxmax() == "Balinese" == recipe_scores.idxmin() and not without.detectable
assert not by_fold.detectable and by_fold.smallest_detectable > 2 * by_fold.effect, by_fold

confirm = lake_study.compare(PAIR[1], PAIR[0], lake_folds, seeds=[1],
                             label="seed 1, the confirmatory run: 35x35 - 28x28")
seeds_0_1 = lake_study.compare(PAIR[1], PAIR[0], lake_folds, seeds=[0, 1],
                               label="seeds 0 and 1 pooled")
balinese_1 = (lake_study.run(PAIR[1], "Balinese", 1).end
              - lake_study.run(PAIR[0], "Balinese", 1).end)
print(pd.DataFrame({label: [lake_study.run(n, h, 1).end for h in lake_folds]
                    for n, label in zip(PAIR, ["recipe, seed 1", "35x35, seed 1"])},
                   index=lake_folds).round(4))
print(f"{confirm}\n  {100 * confirm.effect:+.1f} points, smallest detectable "
      f"{100 * confirm.smallest_detectable:.1f} points")
print(f"{seeds_0_1}\n  {100 * seeds_0_1.effect:+.1f} points, smallest detectable "
      f"{100 * seeds_0_1.smallest_detectable:.1f}")
print(f"Balinese: seed 0 {100 * gain['Balinese']:+.1f} points, seed 1 {100 * balinese_1:+.1f}")
assert lake_study.folds(PAIR, seed=1) == lake_folds
assert not confirm.detectable and 0 < confirm.effect < confirm.smallest_detectable, confirm
assert not seeds_0_1.detectable and seeds_0_1.effect > 0, seeds_0_1
assert balinese_1 < gain["Balinese"] / 2

# %% [markdown]
# What to make of it, an interpretation. Read literally (switch if and only if detectably
# better at 0.05, clustered by character), the rule would have chosen the 35x35 ensemble on
# seed 0; allowing for its three looks it would not, its evidence rested largely on one pair of
# training runs on one alphabet, and the confirmatory seed, compared once under a rule fixed
# first, does not detect the gain. The rule as written said switch; the decision not to
# switch on seed 0's result, and to run a confirmatory seed instead, was taken after that
# result had been seen. A small gain from 35x35 is not ruled out: seed 1 could only
# have detected about two points. Which input size suits MNIST is a separate question (that
# 35x35 run was worse there, a test result that cannot decide a choice), which would need
# MNIST validation tasks as in notebook 06's zoom study.
#
# Notebook 06 follows the cost-aware rule: its recipe is the three nets without shifts. On
# section 4's 2,000 tasks (drawn from any drawers, not Lake-style; section 1) the shifts
# add 0.003 to the ensemble for 5 times the inference. Both rules
# are defensible; what matters is to choose the rule *before* looking at the numbers. Here it
# was not: the highest-mean recipe, with shifts, had already been scored on Lake's runs when
# the cost-aware rule replaced it (section 6).

# %% [markdown]
# ### Later candidates: two changes, then both at once
#
# After the recipe was fixed, two more changes were tried, each in the same way. A quick
# exploratory look trained one net per fold, with the seed of the recipe's member 0, and
# compared it with that member on the Lake-style tasks of this section; each look tried
# only its one candidate and is not stored. Then a rule was committed to the repository,
# and after it a confirmatory run (the box test as `scripts/box_06.py`, since folded into
# `scripts/confirm_06.py`): train the candidate's ensemble
# with seed 1 on all five folds and compare it with the recipe's seed-1 ensembles in
# `06_selection_lake.json` (the baseline of the 35x35 confirmatory run above, now shared by
# three tests), paired and clustered by character. The candidate replaces the recipe only if
# it is detectably better at 0.05. The rules are commits 48468d9 and bf4396f, and the
# result files were committed after them (2ec51fd, f1e2762). Neither file records when its
# run started (the way file's record of the code was taken when it was written), so the
# order, rule first, rests on commit times. The nets are new; the tasks are the same
# 2,000 the look used (for the box, with their drawings fitted too), so a candidate that
# happened to suit these characters keeps that luck: a bias towards passing, which does not
# weaken a result that does not pass.
#
# - **One size for every character** (`ensemble3_box20`): each drawing is cropped to its
#   ink and scaled, keeping its proportions, into a 20x20 square centred in the 28x28 frame
#   (`data.fit_to_box`). MNIST's digits were sized the same way, but centred by their
#   centre of mass (LeCun et al. 1998, section III.A).
# - **Wider episodes** (`ensemble3_way80`), one joint change of three things: one 80-way
#   episode per step instead of four 20-way ones (the same 160 images), drawn within one
#   alphabet, with each character's three rotations kept in its own alphabet. An 80-way
#   episode needs 80 characters of one alphabet, more than any of ours has; counting
#   rotations as characters of the same alphabet gives each alphabet four times its
#   characters, enough for all five. Then 80 of at most 160 rotated characters fill an
#   episode, so most characters meet their own rotations as distractors. Snell et al.
#   (2017, section 3.1) trained Omniglot with 60 classes per episode for tests of 5 or 20,
#   drawn from all training classes; ours stay within one alphabet, so this is not their
#   setting, and the result bears on the bundle, not on the number of ways alone.
#
# `SelectionStudy.joined` puts a candidate's file beside `06_selection_lake.json` and
# refuses it when a fold's queries are not the same characters; the comparison is then the
# same `compare` as above.
#
# **Claim:** on seed 1, the box candidate is ahead of the recipe by 1.45 points (95% CI
# -0.27 to +3.17) and the wider episodes by 0.95 points (95% CI -0.45 to +2.35), neither
# detectably (with these nets, differences of 2.5 and 2.0 points would be detected with
# power 0.8 at 0.05), so neither replaced the recipe on its own. Both intervals hold zero and gains of
# two points or more. Intervals and detectable sizes count the noise of which tasks were
# drawn, not of another training run (per fold, with folds as the units, the 35x35 test
# above could detect only 3.5 points). The box candidate's gain comes
# mostly from Balinese (+5.0 points; the other folds +0.25 to +1.0; without Balinese +0.56
# points, p = 0.51), the same pattern as 35x35 on seed 0 (printed above). The three seed-1
# confirmatory tests (35x35 and these two) were each a separate decision at level 0.05
# against the same seed-1 recipe ensembles; none passes even unadjusted (the smallest p is
# 0.10), so a correction such as Holm's changes nothing. A rule for one candidate does not
# control a sequence of candidates tried until one passes: if no candidate helped and the
# tests were independent, the chance of some false pass in three would be about one in
# seven. These three share their baseline, so they are not independent; tests whose errors
# move together make some false pass somewhat less likely than that, by an amount we cannot
# compute here.

# %%
later = {name: lake_study.joined(results.read_selection(path))
         for name, path in LATER_FILES.items()}
confirmed = {name: study.compare(name, PAIR[0], lake_folds, seeds=[1],
                                 label=f"{name} - the recipe, seed 1")
             for name, study in later.items()}
gains = pd.DataFrame({name: [100 * (study.run(name, h, 1).end - study.run(PAIR[0], h, 1).end)
                             for h in lake_folds] for name, study in later.items()},
                     index=lake_folds)
print("points above the recipe, seed 1, per fold:")
print(gains.round(2))
for name, c in confirmed.items():
    print(f"{name}: {100 * c.effect:+.2f} points (95% CI {100 * c.low:+.2f} to "
          f"{100 * c.high:+.2f}), p = {c.p_value:.2f}, smallest detectable "
          f"{100 * c.smallest_detectable:.1f} points")
assert {n: round(100 * c.effect, 2) for n, c in confirmed.items()} == {
    "ensemble3_box20": 1.45, "ensemble3_way80": 0.95}
assert [f"{100 * c.smallest_detectable:.1f}" for c in confirmed.values()] == ["2.5", "2.0"]
assert not any(c.detectable for c in confirmed.values())
assert (gains > 0).sum().to_dict() == {"ensemble3_box20": 5, "ensemble3_way80": 4}
assert [[round(100 * c.low, 2), round(100 * c.high, 2)] for c in confirmed.values()] == [
    [-0.27, 3.17], [-0.45, 2.35]]
box_gains = gains["ensemble3_box20"].round(2)
others = box_gains.drop("Balinese")
assert box_gains.idxmax() == "Balinese" and box_gains.max() == 5.0
assert (others.min(), others.max()) == (0.25, 1.0), others
box_rest = later["ensemble3_box20"].compare("ensemble3_box20", PAIR[0],
                                            [h for h in lake_folds if h != "Balinese"],
                                            seeds=[1], label="box, without Balinese")
print(f"box without Balinese: {100 * box_rest.effect:+.2f} points, p = {box_rest.p_value:.2f}")
print(f"the 35x35 test per fold, folds as units: smallest detectable "
      f"{100 * by_fold.smallest_detectable:.1f} points")
three = {"35x35": confirm.p_value, **{n: c.p_value for n, c in confirmed.items()}}
print(f"p of the three confirmatory tests, each at level {ALPHA}: "
      + ", ".join(f"{n} {p:.2f}" for n, p in three.items()))
print(f"chance of some false pass in three independent tests: {1 - (1 - ALPHA) ** 3:.3f}")
assert round(100 * box_rest.effect, 2) == 0.56 and round(box_rest.p_value, 2) == 0.51
assert round(min(three.values()), 2) == 0.10 and confirm.effect > 0
assert round(100 * by_fold.smallest_detectable, 1) == 3.5

# %% [markdown]
# **Both at once, on a new seed.** Each candidate alone was ahead on seed 1, so the two
# together (`ensemble3_box20_way80`) became a third candidate: chosen *because* its parts
# looked good on these tasks, after both results were seen, so it is a post-hoc candidate.
# Its test had to use nets no earlier look or test had trained: seed 2 (members 6, 7 and 8),
# for the candidate and for the recipe, both written to one file, under the same rule as
# before, committed first (commit f3435b2, 17:37 UTC). The file records that the
# candidate's runs started at 18:30:38 UTC on commit 5912ead with no uncommitted changes.
# The recipe's seed-2 runs began at about 17:32 by the developers' record (the file records
# only the code at the time it was written); a baseline run does not depend on the rule.
#
# **Claim:** on seed 2 the combined candidate beats the recipe by 1.95 points (95% CI +0.06
# to +3.84, p = 0.043, smallest detectable 2.7), detectably at 0.05, so by its rule it
# replaces the recipe, and notebook 06's recipe file holds its settings (asserted). It is
# ahead on 4 of the 5 folds. The evidence is thin. With the five folds as the units the same
# gain is not detectable, nor without Balinese, which gives the largest share of the summed
# per-fold gains, though less than half (both printed). This
# was the fourth confirmatory test on the same 2,000 tasks, each at 0.05, and the sequence
# stopped at its first pass, the case the warning above describes: if nothing helped and
# the tests were independent, some false pass in four would come about one time in five
# (printed); Holm's correction over the four would not pass it (its adjusted p is printed).
# A candidate kept because it passed near 0.05 tends to have its gain overstated.
#
# What a stricter plan would have been: before the first test, fix a family of at most k
# tests and correct over it (Holm), or divide the 0.05 among the tests as they come (alpha
# spending). With Holm over these four, the recipe would not have changed. We applied the
# rule each test was committed with, so notebook 06 trains the combined candidate. In your
# own work, fix the family of tests in advance and correct over it: by that standard this
# adoption was premature, and a result that rests on one narrow pass needs a second test.

# %%
combined_study = lake_study.joined(results.read_selection(COMBINED_FILE))  # same tasks
NEW = "ensemble3_box20_way80"
combined = combined_study.compare(NEW, PAIR[0], lake_folds, seeds=[2],
                                  label=f"{NEW} - the recipe, seed 2")


def per_fold_table(study, seed):
    """The recipe's and the combined candidate's accuracy on each fold, for one seed."""
    return pd.DataFrame({f"{label}, seed {seed}": [study.run(n, h, seed).end for h in lake_folds]
                         for n, label in ((PAIR[0], "recipe"), (NEW, "combined"))},
                        index=lake_folds)


seed_2 = per_fold_table(combined_study, 2)
print(seed_2.round(4))
print(f"{combined}\n  {100 * combined.effect:+.2f} points (95% CI {100 * combined.low:+.2f} to "
      f"{100 * combined.high:+.2f}), p = {combined.p_value:.3f}, smallest detectable "
      f"{100 * combined.smallest_detectable:.1f}")
combined_by_fold = evaluate.compare(seed_2.iloc[:, 1].to_numpy(), seed_2.iloc[:, 0].to_numpy(),
                                    paired=True, label="per fold ('seeds': folds)")
combined_rest = combined_study.compare(NEW, PAIR[0], [h for h in lake_folds if h != "Balinese"],
                                       seeds=[2], label="combined, without Balinese")
print(f"folds as units: {100 * combined_by_fold.effect:+.2f} points, p = "
      f"{combined_by_fold.p_value:.3f}; without Balinese: {100 * combined_rest.effect:+.2f} "
      f"points, p = {combined_rest.p_value:.2f}")
false_pass_4 = 1 - (1 - ALPHA) ** 4
print(f"chance of some false pass in four independent tests: {false_pass_4:.3f}")
four = [confirm.p_value, *(c.p_value for c in confirmed.values()), combined.p_value]
holm_four = evaluate.holm_adjust(four)
print("Holm over the four confirmatory tests: " + ", ".join(
    f"{n} {p:.2f}" for n, p in zip(["35x35", *confirmed, NEW], holm_four)))
ahead = int((seed_2.iloc[:, 1] > seed_2.iloc[:, 0]).sum())
print(f"the combined candidate ahead on {ahead} of {len(lake_folds)} folds")
assert combined.detectable and round(100 * combined.effect, 2) == 1.95, combined
assert [round(100 * combined.low, 2), round(100 * combined.high, 2)] == [0.06, 3.84]
assert round(combined.p_value, 3) == 0.043 and f"{100 * combined.smallest_detectable:.1f}" == "2.7"
assert ahead == 4 and holm_four[-1] > ALPHA and round(false_pass_4, 3) == 0.185, holm_four
assert not combined_by_fold.detectable and not combined_rest.detectable
fold_gain = seed_2.iloc[:, 1] - seed_2.iloc[:, 0]
balinese_share = fold_gain["Balinese"] / fold_gain.sum()
print(f"Balinese's share of the fold-points gained: {balinese_share:.0%}")
assert fold_gain.idxmax() == "Balinese" and balinese_share < 0.5, fold_gain
adopted_file = results.read_recipe()
assert adopted_file.box == combined_study.candidates[NEW]["box"] == 20
assert all(adopted_file.settings[k] == combined_study.candidates[NEW][k]
           for k in ("n_way", "episodes", "rotated_groups"))
assert (adopted_file.run("recipe").members, adopted_file.run("recipe").steps) == (3, 2300)

# %% [markdown]
# **The same test again, on seed 0.** After the adoption, the test was run once more, with
# its rule and the decision it would take committed first (commit 11eef65, 01:43 UTC;
# `confirm_06 --test ensemble3_box20_way80_seed0`): the combined candidate trained on seed 0
# (members 0, 1 and 2; the exploratory looks had trained only the box and the way nets)
# against the earlier recipe's seed-0 ensembles of `06_selection_lake.json`, on the same
# tasks, by the same rule. The file records that the run started at 01:55:41 UTC on commit
# e5eff93 with uncommitted changes, not which; no script changed between the two commits. The decision
# fixed first: notebook 06 keeps the adopted recipe unless, pooled over seeds 0 and 2, the
# earlier recipe scores higher. On the same tasks the pooled effect is the mean of the two
# seeds' effects, so only a seed-0 result more than about 1.95 points in the earlier
# recipe's favour would have changed the recipe; merely not passing would not have. The baseline is not fresh: its
# member 0 is the net the exploratory looks compared the two parts against, and the earlier
# recipe's seed-0 ensembles are its weakest of the three seeds (printed). Against the mean
# of its seeds 1 and 2 the gain would be smaller (printed); an interpretation: both favour a
# larger gain here than a fresh baseline would give.
#
# **Claim:** on seed 0 the combined candidate is ahead by 2.85 points (95% CI +1.16 to +4.54,
# p = 0.0011, smallest detectable 2.4), on 4 of the 5 folds, so it passes its rule again;
# with seeds 0 and 2 pooled it is ahead by 2.40 points. Holm's correction over the five
# confirmatory tests (a family formed afterwards, not part of any committed rule) keeps this
# one (adjusted p 0.0057) and no other. With the folds as the
# units (per-fold numbers, 4 degrees of freedom) it is not detectable (p = 0.069). A pass with
# new candidate nets is what the rule asks for; it is not a pass on new tasks: the 2,000 tasks
# are those the candidate was chosen on, and a change that happens to suit these characters
# keeps that luck (an interpretation). The decision fixed first keeps notebook 06's recipe.

# %%
replication = combined_study.joined(results.read_selection(REPLICATION_FILE))  # same tasks
again = replication.compare(NEW, PAIR[0], lake_folds, seeds=[0],
                            label=f"{NEW} - the recipe, seed 0")
pooled_0_2 = replication.compare(NEW, PAIR[0], lake_folds, seeds=[0, 2],
                                 label="seeds 0 and 2 pooled")
seed_0 = per_fold_table(replication, 0)
print(seed_0.round(4))
print(f"{again}\n  {100 * again.effect:+.2f} points (95% CI {100 * again.low:+.2f} to "
      f"{100 * again.high:+.2f}), p = {again.p_value:.4f}, smallest detectable "
      f"{100 * again.smallest_detectable:.1f}")
print(f"{pooled_0_2}\n  {100 * pooled_0_2.effect:+.2f} points")
again_by_fold = evaluate.compare(seed_0.iloc[:, 1].to_numpy(), seed_0.iloc[:, 0].to_numpy(),
                                 paired=True, label="seed 0, per fold ('seeds': folds)")
print(f"folds as units: {100 * again_by_fold.effect:+.2f} points, p = "
      f"{again_by_fold.p_value:.3f}")
five_tests = [*four, again.p_value]
holm_five = evaluate.holm_adjust(five_tests)
print("Holm over the five confirmatory tests: " + ", ".join(
    f"{n} {p:.4f}" for n, p in zip(["35x35", *confirmed, NEW, f"{NEW}, seed 0"], holm_five)))
ahead_0 = int((seed_0.iloc[:, 1] > seed_0.iloc[:, 0]).sum())
print(f"the combined candidate ahead on {ahead_0} of {len(lake_folds)} folds")
baseline_by_seed = {seed: np.mean([replication.run(PAIR[0], h, seed).end for h in lake_folds])
                    for seed in (0, 1, 2)}
print("the earlier recipe's mean over the folds, by seed: "
      + ", ".join(f"seed {k} {v:.2%}" for k, v in baseline_by_seed.items()))
assert min(baseline_by_seed, key=baseline_by_seed.get) == 0, baseline_by_seed
candidate_0 = seed_0.iloc[:, 1].mean()
fresh_gain = candidate_0 - np.mean([baseline_by_seed[1], baseline_by_seed[2]])
print(f"the candidate's seed 0 against the mean of the earlier recipe's seeds 1 and 2: "
      f"{100 * fresh_gain:+.2f} points (against its seed 0: {100 * again.effect:+.2f})")
assert 0 < fresh_gain < again.effect, fresh_gain
assert again.detectable and round(100 * again.effect, 2) == 2.85, again
assert [round(100 * again.low, 2), round(100 * again.high, 2)] == [1.16, 4.54]
assert round(again.p_value, 4) == 0.0011 and f"{100 * again.smallest_detectable:.1f}" == "2.4"
assert round(100 * pooled_0_2.effect, 2) == 2.4 and pooled_0_2.effect > 0, pooled_0_2
assert ahead_0 == 4 and not again_by_fold.detectable
assert round(again_by_fold.p_value, 3) == 0.069, again_by_fold
assert round(holm_five[-1], 4) == 0.0057 and [p < ALPHA for p in holm_five] == [
    False] * 4 + [True], holm_five

# %% [markdown]
# ### How the embeddings are compared
#
# Notebook 06 ranks candidates by the Euclidean distance between embeddings, the distance its
# loss trains. Matching networks rank by the angle (cosine; Vinyals et al. 2016), and
# SimpleShot (Wang et al. 2019) first centres every embedding on the mean embedding of the
# training images, then scales it to unit length ("CL2N"); for MNIST that mean is the
# Omniglot training images' mean. A task's own candidates offer another origin, their mean,
# known before any query is seen (each query is still classified on its own).
# `oneshot.task_scores(..., metric="cosine", centre=...)` does each. `scripts/scoring_06.py`
# scored the four ways with the adopted recipe's nets on two validation sets: the 2,000
# Lake-style tasks of the five folds, with the seed-0 fold ensembles just compared (they
# reproduce that file's outcomes task for task, asserted below), and notebook 06's MNIST
# validation tasks (1,000 tasks from MNIST's training split) with the full recipe.
#
# Its rule was committed with the script (commit be9903a) before its first run, on the
# earlier recipe's nets (that run wrote no file; the stored re-run is commit c1a5df8, which
# also kept Euclidean ranking: on the Lake-style tasks both centred
# scorings were detectably worse, on MNIST cosine was ahead, not detectably), and is
# unchanged: `evaluate.choose_cheapest`
# with every scoring at cost 1 in the order printed, so Euclidean ranking stays unless
# another beats it detectably; all 6 pairs are compared, Holm-corrected together. The MNIST
# tasks are compared over tasks, not clustered, as in notebook 06, section 6: MNIST records
# no writer, and its 10 digits are all the classes there are. The smallest detectable effects
# below are at Holm's strictest step, 0.05/6 (z about 2.64 instead of 1.96; section 4).
#
# **Claim:** Euclidean ranking scores highest on the Lake-style validation tasks (82.05%; the
# other three 80.40% to 80.90%), but none of the 6 comparisons is detectable at the rule's
# level: against Euclidean, at Holm's strictest step, the design could detect 2.3 to 2.5
# points. On MNIST no way is detectably better than Euclidean ranking (the best, centred on
# the task's candidates, +0.20 points; smallest detectable 3.2). The rule keeps Euclidean
# ranking for both, so the test tasks were scored with it alone, and its outcomes are those
# of `06_recipe.json` (asserted).
#
# Nothing here shows that Euclidean ranking is better, only that no alternative was
# detectably better. For prototypical networks on miniImageNet, Snell et al. (2017, section
# 3.2) found
# squared Euclidean distance well ahead of cosine; SimpleShot's gains from centring were
# measured on the features of nets trained as classifiers, a different kind of embedding.

# %%
scoring = results.read_scoring(SCORING_FILE)
found = {}
for name, family in (("Lake-style", scoring.lake), ("MNIST", scoring.mnist)):
    found[name] = family.choice()
    print(f"{name} validation: " + ", ".join(f"{k} {v.accuracy:.2%}"
                                             for k, v in family.validation.items()))
    for (first, second), c in found[name].comparisons.items():
        print(f"  {first} - {second}: {100 * c.effect:+.2f} points, Holm p = "
              f"{c.p_value:.2g}, smallest detectable at 0.05/6: "
              f"{100 * c.smallest_detectable:.1f}" + (" (detectable)" if c.detectable else ""))
    print(f"  chosen: {found[name].chosen} ({len(found[name].comparisons)} comparisons, Holm); "
          f"scored on the test tasks: {sorted(family.test)}")
print(f"z at level 0.05: {stats.norm.ppf(1 - 0.05 / 2):.2f}, at 0.05/6: "
      f"{stats.norm.ppf(1 - 0.05 / 12):.2f}; power 0.8 adds {stats.norm.ppf(0.8):.2f}")
against = {name: {a: c for (a, b), c in f.comparisons.items() if b == "euclidean"}
           for name, f in found.items()}
lake_detectable = sorted(round(100 * c.smallest_detectable, 1)
                         for c in against["Lake-style"].values())
others = [v.accuracy for k, v in scoring.lake.validation.items() if k != "euclidean"]
best_mnist = max(against["MNIST"].values(), key=lambda c: c.effect)
assert not any(c.detectable for f in found.values() for c in f.comparisons.values())
assert round(scoring.lake.validation["euclidean"].accuracy, 4) == 0.8205 > max(others)
assert (round(min(others), 4), round(max(others), 4)) == (0.804, 0.809), others
assert (lake_detectable[0], lake_detectable[-1]) == (2.3, 2.5), lake_detectable
assert max(against["MNIST"], key=lambda k: against["MNIST"][k].effect) == (
    "centred on the task's candidates, cosine")
assert round(100 * best_mnist.effect, 2) == 0.2 and round(100 * best_mnist.smallest_detectable,
                                                           1) == 3.2, best_mnist
fold_of = scoring.lake.groups()                     # the held-out alphabet of each task
assert all(np.array_equal(scoring.lake.validation["euclidean"].outcomes[fold_of == f],
                          replication.outcomes(NEW, "plain", [f], seed=0)) for f in lake_folds)
assert found["Lake-style"].chosen == found["MNIST"].chosen == "euclidean"
assert set(scoring.lake.test) == set(scoring.mnist.test) == {"euclidean"}
recipe_file = results.read_recipe().run("recipe")
assert all(np.array_equal(family.test["euclidean"].outcomes,
                          recipe_file.scores[key].outcomes)
           for family, key in ((scoring.lake, "lake_plain"), (scoring.mnist, "mnist_plain")))

# %% [markdown]
# ## 6. What was looked at
#
# Every choice above was made on validation alphabets. But Lake's 20 test runs were not
# scored only once. During the development of notebook 06 they were scored after each
# iteration of the recipe, and work stopped when the score passed 90%. Then the recipe of
# sections 2 to 5 was trained again by `scripts/recipe_06.py` and scored (its file is
# kept), and so was a 35x35 run of it (section 5). The course's goal was then raised to at
# least 92% on these runs (Koch et al.'s figure), after both scores had been seen. The
# recipe missed it; the 35x35 run reached it, but it was not chosen on validation and its
# candidate failed its confirmatory test (section 5). So the work went on with section 5's
# later candidates, on validation alphabets only. The one that passed was adopted and
# trained by the same script, once on each of Lake's two 5-alphabet background splits (the
# "minimal" splits; notebook 06, section 7), scoring both its models (one net and the
# recipe) plain and with shifts; later two more seeds of each, the recipe only. The adopted
# recipe met the goal, and work on the recipe stopped there:

# %%
# Lake's 20 runs after each development iteration, from the developers' record (not files)
LAKE_SCORES_SEEN = [0.517, 0.850, 0.8725, 0.910]
STOP_AT = 0.90                                       # the target that ended that work
earlier = results.read_recipe(ENSEMBLE3_RECIPE_FILE).run("recipe")
adopted = results.read_recipe().run("recipe")
print("Lake's 20 runs, in the order they were seen: "
      + ", ".join(f"{s:.2%}" for s in LAKE_SCORES_SEEN) + f"; stopped once above {STOP_AT:.0%}")
at_35_run = results.read_recipe(RECIPE_35_FILE).run("recipe")
print(f"then the recipe of sections 2-5, trained again: "
      f"{earlier.scores['lake_plain'].accuracy:.2%}, and at 35x35: "
      f"{at_35_run.scores['lake_plain'].accuracy:.2%}; the adopted recipe: "
      f"{adopted.scores['lake_plain'].accuracy:.2%}")
query_alphabet = np.repeat(data.LAKE_RUN_ALPHABETS, 20)
adopted_vs_earlier = evaluate.compare(
    adopted.scores["lake_plain"].outcomes, earlier.scores["lake_plain"].outcomes,
    paired=True, clusters=query_alphabet, label="adopted - earlier recipe, Lake's runs")
print(f"{adopted_vs_earlier}\n  {100 * adopted_vs_earlier.effect:+.2f} points, smallest "
      f"detectable {100 * adopted_vs_earlier.smallest_detectable:.1f}")
assert not adopted_vs_earlier.detectable and adopted_vs_earlier.effect > 0, adopted_vs_earlier
# saves these numbers for the course's summary table (`make course`); you can ignore it
results.record(
    "06b_choosing_the_recipe",
    ensemble_gain_clustered=float(five[FIVE[4]].effect),
    shifts_on_ensemble_p_holm=float(p_of[FIVE[3]]),
    cost_aware_choice=choice.chosen,
    scoring_choice=found["Lake-style"].chosen,
    lake_cue_share_old_tasks=cue_old,
)

# %% [markdown]
# Notebook 06 scores each trained model on Lake's runs once; that describes the final runs,
# not the process. Stopping when a test score passes
# a target selects, among the versions tried, one whose test score is lucky as well as good;
# so the 91.0% of that highest-mean recipe is likely somewhat optimistic as an estimate of
# its accuracy on new runs of the same kind. The same holds for going on *because* a score
# missed a goal: the adopted recipe was chosen by a validation rule before its Lake score
# was seen, and that score would have been reported whatever it was, but a search that
# continues until a goal is met favours a lucky last score. On Lake's runs the adopted recipe
# and the earlier one cannot be told apart (printed above). The score of the earlier recipe
# trained at 35x35 (`results/06_recipe_35px.json`) was seen before any 35x35 candidate
# was validated (section 5); it was higher than the recipe's, which is why the 35x35
# candidate of section 5 was added. Every score on Lake's runs is also less certain than a
# binomial interval
# over its queries suggests: the runs come two by two from 10 evaluation alphabets, and
# queries of one alphabet share its difficulty, as the held-out alphabets above do; notebook
# 06's intervals are clustered by alphabet for that reason. An untouched estimate would need
# tasks never looked at: for example new runs built from Lake's other 10 evaluation
# alphabets, scored once.
#
# Later scripts scored the test tasks too: the MNIST stages, the scoring study of section 5,
# the other minimal split and the further training seeds of notebook 06, section 7. Each
# scored them after its own choice had been fixed on validation tasks, and none of those
# scores chose anything. The list, script by script, is in `docs/looks_06.md`.
#
# ## Summary
#
# - Validation tasks should be built like the test: Lake's runs take all candidates from one
#   drawer and the query from another, and never repeat a query; `one_shot_tasks(...,
#   drawers=...)` does so.
# - An equal-time ablation on a shared CPU measures the machine as much as the settings, and a
#   batch-norm net scored after a short run needs its statistics re-estimated
#   (`models.refresh_batch_norm`).
# - Leave one alphabet out: alphabets differ more than recipes, so one held-out alphabet is a
#   weak judge.
# - Paired comparisons remove each task's difficulty; clustering by character (or alphabet)
#   admits that tasks are not independent; Holm corrects a family of comparisons.
# - A rule that weighs cost can choose differently from "highest mean": here, the ensemble
#   without test-time shifts. Choose the rule before the numbers.
# - A gain that passes 0.05 after several looks needs confirming: 35x35 was +1.6 points on
#   seed 0 after three looks, mostly on one alphabet; a confirmatory seed under a rule fixed
#   first gave +0.7 (smallest detectable 2.0), and the recipe stays at 28x28.
# - Two later candidates, one size for every character and a bundle of wider episodes
#   (80-way, one episode per step, rotations kept in their alphabet), each had one
#   exploratory look, then one confirmatory test on seed 1 under a rule committed first;
#   neither passed alone (+1.45 and +0.95 points, smallest detectable 2.5 and 2.0). The two
#   together, a post-hoc candidate tested on a new seed, passed (+1.95 points, p = 0.043),
#   though not after Holm's correction over the four confirmatory tests; by its rule it is
#   notebook 06's recipe now. The same test on seed 0, with its rule fixed first, passed
#   again (+2.85 points, p = 0.0011): the gain was seen again with new candidate nets,
#   against the earlier recipe's existing (and weakest) seed-0 nets, on the same tasks (with
#   the folds as units not detectably), and on Lake's runs
#   the adopted recipe cannot be told from the earlier one (section 6).
# - With the adopted recipe's nets, Euclidean ranking (the distance its loss trains) scored
#   highest on the Lake-style validation tasks and no other way of comparing embeddings was
#   detectably better on either task set; cosine on smaller digits against Euclidean on the
#   digits as given is a different comparison, tested in notebook 06, section 6.
# - A test scored during development is no longer an untouched estimate.
#
# ## Further reading
#
# - Lake, Salakhutdinov and Tenenbaum 2015, "Human-level concept learning through
#   probabilistic program induction" (Science): the 20 within-alphabet runs and how they were
#   drawn.
# - Holm 1979, "A simple sequentially rejective multiple test procedure": the correction used
#   by `compare_many`.
# - Cameron and Miller 2015, "A practitioner's guide to cluster-robust inference": the
#   cluster-robust standard error and why few clusters are a problem.
# - Ioffe and Szegedy 2015, "Batch normalization": moving averages of the batch statistics
#   used at inference.
# - Wang, Chao, Weinberger and van der Maaten 2019, "SimpleShot: revisiting nearest-neighbor
#   classification for few-shot learning": centring and normalising embeddings (CL2N)
#   before nearest-neighbour classification.
#
# ## Exercises
#
# In these exercises you write the code, and a check tells you whether it is right. Each
# exercise cell starts with a placeholder, `raise NotImplementedError("your code here")`:
# replace it with your code and run the cell. `nb06b.qK.check()` finds what you defined by its name and prints *Correct*, or
# what is wrong and where the course explains it. In each exercise cell, `nb06b.qK.hint()` and
# `nb06b.qK.solution()` show a hint and one way to do it, folded: click to open them when you
# want them.

# %%
from course_lib.exercises import nb06b

# %% [markdown]
# ### Exercise 1: a paired difference clustered by character
#
# Write `clustered_difference(a, b, clusters)` in NumPy: `a` and `b` are two methods'
# outcomes (booleans) on the same tasks, `clusters` the character of each task. Return
# `(mean, standard_error)`: the mean of `a - b` and its cluster-robust standard error with
# the small-sample factor G/(G - 1), known as CR1, as section 4 computes it by hand. The check compares it with `evaluate.compare(a, b, paired=True,
# clusters=clusters)` on 60 tasks in 12 clusters.

# %% tags=["exercise"]
def clustered_difference(a, b, clusters):
    """Mean of a - b (booleans per task) and its cluster-robust standard error (CR1)."""
    raise NotImplementedError("your code here")


# Stuck? These open folded: a hint, then one way to do it.
nb06b.q1.hint()
nb06b.q1.solution()
nb06b.q1.check()

# %% [markdown]
# ### Exercise 2: Holm's adjusted p-values
#
# Write `holm(p_values)`: the Holm-adjusted p-value of each comparison, in the order given
# (section 4's correction). The check compares it with what `evaluate.compare_many` uses on
# four families of p-values.

# %% tags=["exercise"]
def holm(p_values):
    """Holm's step-down adjusted p-values, in the order given."""
    raise NotImplementedError("your code here")


# Stuck? These open folded: a hint, then one way to do it.
nb06b.q2.hint()
nb06b.q2.solution()
nb06b.q2.check()
