"""Confirmatory tests of candidates for notebook 06's recipe, one per candidate, each on nets
that the exploratory look which chose it never trained.

Each candidate here was chosen by an exploratory look (one net per fold, member 0's seed 0,
on the same Lake-style validation tasks as ``06_selection_lake.json``; the looks are not
stored). Its test trains ``scripts/select_06``'s candidate with seed 1 (members 3, 4 and 5) on
all five folds and compares it with ``ensemble3`` of seed 1 in ``06_selection_lake.json``, on
the same tasks:

- ``ensemble3_box20``: every drawing fitted to a 20x20 square of the 28x28 frame
  (``data.fit_to_box``, as MNIST's digits were made). Its look: the single net higher on all
  five folds. Result file ``06_selection_box.json``.
- ``ensemble3_way80``: 80-way training episodes, one per step instead of four of 20-way (the
  same 160 images a step), a character's rotations kept in its own alphabet so that every
  alphabet offers enough characters (Snell et al. 2017 trained with more classes per episode
  than they tested with). Its look: 79.15% against member 0's 76.70% pooled, higher on all
  five folds. Result file ``06_selection_way.json``.

Rule (committed with each candidate before its run): the candidate passes if it is detectably
better than ``ensemble3`` (plain scoring, paired, pooled over the five folds' 2,000 tasks,
clustered by the query's character, alpha 0.05, one comparison). Nothing here scores Lake's
runs: adopting a candidate into the recipe means re-running the recipe and what was chosen
for it.

Usage (heavy: wrap it in the machine lock; about 35 minutes on 2 cores):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.confirm_06 --candidate NAME
Writes the candidate's result file under notebooks/results/ atomically (``select_06``'s
format, read by ``course_lib.results.read_selection``) and prints the comparison.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from course_lib import evaluate, results
from scripts import select_06

RESULTS = Path(__file__).resolve().parents[1] / "notebooks" / "results"
# candidate: its result file
CANDIDATES = {"ensemble3_box20": "06_selection_box.json",
              "ensemble3_way80": "06_selection_way.json"}
BASELINE, SEED, SCORING = "ensemble3", 1, "plain"
FOLDS = ("Balinese", "Early_Aramaic", "Greek", "Korean", "Latin")
ALPHA = 0.05


def rule(candidate: str) -> str:
    """The rule ``candidate`` is tested by."""
    return (f"{candidate} passes if it is detectably better than {BASELINE} (seed {SEED}, "
            f"{SCORING} scoring, paired over the five folds' pooled tasks, clustered by the "
            f"query's character, alpha {ALPHA}, one comparison)")


def compare(candidate: str, found: results.SelectionStudy,
            lake: results.SelectionStudy) -> evaluate.Comparison:
    """:func:`rule`'s comparison of ``candidate`` (in ``found``) with the baseline (in ``lake``)."""
    return lake.joined(found).compare(candidate, BASELINE, FOLDS, SCORING, seeds=[SEED],
                                      label=f"{candidate} - {BASELINE}, seed {SEED}", alpha=ALPHA)


def main(argv=None) -> evaluate.Comparison:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", required=True, choices=list(CANDIDATES))
    parser.add_argument("--out", type=Path, default=None,
                        help="the result file (default: the candidate's under notebooks/results)")
    parser.add_argument("--compare-only", action="store_true",
                        help="compare the runs already in --out (no training)")
    args = parser.parse_args(argv)
    out = (args.out or RESULTS / CANDIDATES[args.candidate]).resolve()
    if not args.compare_only:
        select_06.main(["--candidates", args.candidate, "--first-seed", str(SEED), "--held-out",
                        *FOLDS, "--out", str(out)])
    found = compare(args.candidate,     # read_selection takes a path below a notebooks/ folder
                    results.read_selection(f"{out.parent.name}/{out.name}",
                                           notebooks_dir=out.parent.parent),
                    results.read_selection("results/06_selection_lake.json"))
    print(rule(args.candidate))
    print(found)
    print("passes" if found.detectable and found.effect > 0 else "does not pass")
    return found


if __name__ == "__main__":
    main()
