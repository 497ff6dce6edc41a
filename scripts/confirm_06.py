"""Confirmatory tests of candidates for notebook 06's recipe, one per candidate, each on nets
that the exploratory look which chose it never trained.

The first two candidates were each chosen by an exploratory look (one net per fold, member
0's seed 0, on the same Lake-style validation tasks as ``06_selection_lake.json``; the looks
are not stored). Each test trains ``scripts/select_06``'s candidate on all five folds with a
seed no look trained and compares it with ``ensemble3`` of the same seed, on the same tasks
(seed 1: the runs in ``06_selection_lake.json``):

- ``ensemble3_box20``: every drawing fitted to a 20x20 square of the 28x28 frame
  (``data.fit_to_box``, as MNIST's digits were made). Its look: the single net higher on all
  five folds. Result file ``06_selection_box.json``.
- ``ensemble3_way80``: 80-way training episodes, one per step instead of four of 20-way (the
  same 160 images a step), a character's rotations kept in its own alphabet so that every
  alphabet offers enough characters (Snell et al. 2017 trained with more classes per episode
  than they tested with). Its look: 79.15% against member 0's 76.70% pooled, higher on all
  five folds. Result file ``06_selection_way.json``.
- ``ensemble3_box20_way80``: both of the above at once. Each alone was ahead of the recipe
  on seed 1 (+1.45 and +0.95 points), neither detectably; that is what chose it, so its test
  uses seed 2 (members 6, 7 and 8, which no look and no earlier test trained) and trains the
  baseline's seed 2 into the same file, ``06_selection_combined.json``. The validation tasks
  are the same as before: a pass says the gain holds on new training runs of these tasks.
- ``ensemble3_box20_way80_seed0``: the same candidate again, on seed 0 (members 0, 1 and 2:
  no look trained the combined candidate on seed 0; the looks trained ``ensemble3_box20`` and
  ``ensemble3_way80``), against ``ensemble3`` seed 0 of ``06_selection_lake.json``; a
  replication of the test that adopted it, run after the adoption. Result file
  ``06_selection_combined_seed0.json``; with ``--save-dir`` its nets are kept for
  ``scripts/scoring_06``, whose fold nets they are. Decided before its run: the recipe stays
  unless seeds 0 and 2 pooled put ``ensemble3`` ahead (an effect below 0), in which case
  notebook 06 goes back to ``ensemble3``.

Rule (committed with each candidate before its run, :func:`rule`): the candidate passes if it
is detectably better than ``ensemble3`` of its seed (plain scoring, paired, pooled over the
five folds' 2,000 tasks, clustered by the query's character, alpha 0.05, one comparison).
Nothing here scores Lake's runs: adopting a candidate into the recipe means re-running the
recipe and what was chosen for it.

Usage (heavy: wrap it in the machine lock; about 40 minutes on 2 cores, twice that when it
trains the baseline too):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.confirm_06 --test NAME
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.confirm_06 \
        --test ensemble3_box20_way80_seed0 --save-dir DIR      # keep the nets (scoring_06)
Writes the test's result file under notebooks/results/ atomically (``select_06``'s
format, read by ``course_lib.results.read_selection``) and prints the comparison.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NamedTuple

from course_lib import evaluate, results
from scripts import select_06

RESULTS = Path(__file__).resolve().parents[1] / "notebooks" / "results"


class Test(NamedTuple):
    """One confirmatory test: ``select_06``'s ``candidate`` trained on ``seed`` into ``file``
    (under notebooks/results), against the baseline's runs of that seed in ``baseline_file``
    (None: the test trains the baseline into ``file`` too)."""

    candidate: str
    file: str
    seed: int
    baseline_file: str | None


TESTS = {"ensemble3_box20": Test("ensemble3_box20", "06_selection_box.json", 1,
                                 "06_selection_lake.json"),
         "ensemble3_way80": Test("ensemble3_way80", "06_selection_way.json", 1,
                                 "06_selection_lake.json"),
         "ensemble3_box20_way80": Test("ensemble3_box20_way80", "06_selection_combined.json", 2,
                                       None),
         "ensemble3_box20_way80_seed0": Test("ensemble3_box20_way80",
                                             "06_selection_combined_seed0.json", 0,
                                             "06_selection_lake.json")}
BASELINE, SCORING = "ensemble3", "plain"
FOLDS = ("Balinese", "Early_Aramaic", "Greek", "Korean", "Latin")
ALPHA = 0.05


def rule(test: str) -> str:
    """The rule ``test`` is judged by."""
    t = TESTS[test]
    return (f"{t.candidate} passes if it is detectably better than {BASELINE} (seed {t.seed}, "
            f"{SCORING} scoring, paired over the five folds' pooled tasks, clustered by the "
            f"query's character, alpha {ALPHA}, one comparison)")


def compare(test: str, found: results.SelectionStudy,
            baseline: results.SelectionStudy | None = None) -> evaluate.Comparison:
    """:func:`rule`'s comparison of the test's candidate (in ``found``) with the baseline (in
    ``baseline``, or in ``found`` itself when None)."""
    t = TESTS[test]
    both = found if baseline is None else baseline.joined(found)
    return both.compare(t.candidate, BASELINE, FOLDS, SCORING, seeds=[t.seed],
                        label=f"{t.candidate} - {BASELINE}, seed {t.seed}", alpha=ALPHA)


def _read(path: Path) -> results.SelectionStudy:
    path = path.resolve()               # read_selection takes a path below a notebooks/ folder
    return results.read_selection(f"{path.parent.name}/{path.name}",
                                  notebooks_dir=path.parent.parent)


def main(argv=None) -> evaluate.Comparison:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test", required=True, choices=list(TESTS))
    parser.add_argument("--out", type=Path, default=None,
                        help="the result file (default: the test's under notebooks/results)")
    parser.add_argument("--compare-only", action="store_true",
                        help="compare the runs already in --out (no training)")
    parser.add_argument("--save-dir", type=Path, default=None,
                        help="also save every trained net there (select_06's names)")
    args = parser.parse_args(argv)
    t = TESTS[args.test]
    out = (args.out or RESULTS / t.file).resolve()
    if not args.compare_only:
        train = [t.candidate]
        if t.baseline_file is None:    # the baseline's runs of this seed, unless already there
            have = _read(out).folds([BASELINE], seed=t.seed) if out.exists() else []
            train = ([] if list(have) == sorted(FOLDS) else [BASELINE]) + train
        keep = [] if args.save_dir is None else ["--save-dir", str(args.save_dir)]
        for candidate in train:
            select_06.main(["--candidates", candidate, "--first-seed", str(t.seed), "--held-out",
                            *FOLDS, "--out", str(out), *keep])
    found = compare(args.test, _read(out),
                    None if t.baseline_file is None else _read(RESULTS / t.baseline_file))
    print(rule(args.test))
    print(found)
    print("passes" if found.detectable and found.effect > 0 else "does not pass")
    return found


if __name__ == "__main__":
    main()
