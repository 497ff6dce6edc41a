"""Should notebook 06's recipe fit every character to one size first? A confirmatory test.

People draw a character larger or smaller and anywhere in the frame; ``data.fit_to_box``
crops each drawing to its ink and scales it into a 20x20 square of the 28x28 frame (as MNIST's
digits were made). An exploratory look (one net per fold, member 0's seed 0, on the same
Lake-style validation tasks as ``06_selection_lake.json``; the look is not stored) found the
single net higher on every one of the five folds. That look chose the candidate, so this
script tests it on other nets: ``scripts/select_06``'s ``ensemble3_box20`` with seed 1 (members
3, 4 and 5, which the look never trained) on all five folds, against ``ensemble3`` of seed 1 in
``06_selection_lake.json``, on the same tasks.

Rule (committed with this script before it was run): the candidate passes if it is detectably
better than ``ensemble3`` (plain scoring, paired, pooled over the five folds' 2,000 tasks,
clustered by the query's character, alpha 0.05, one comparison). Nothing here scores Lake's
runs: adopting it into the recipe means re-running the recipe and what was chosen for it.

Usage (heavy: wrap it in the machine lock; about 35 minutes on 2 cores):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.box_06
Writes notebooks/results/06_selection_box.json atomically (``select_06``'s format, read by
``course_lib.results.read_selection``) and prints the comparison.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from course_lib import evaluate, results
from scripts import select_06

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "results" / "06_selection_box.json"
CANDIDATE, BASELINE, SEED, SCORING = "ensemble3_box20", "ensemble3", 1, "plain"
FOLDS = ("Balinese", "Early_Aramaic", "Greek", "Korean", "Latin")
ALPHA = 0.05
RULE = (f"{CANDIDATE} passes if it is detectably better than {BASELINE} (seed {SEED}, "
        f"{SCORING} scoring, paired over the five folds' pooled tasks, clustered by the "
        f"query's character, alpha {ALPHA}, one comparison)")


def compare(box: results.SelectionStudy, lake: results.SelectionStudy) -> evaluate.Comparison:
    """:data:`RULE`'s comparison of the candidate (in ``box``) with the baseline (in ``lake``)."""
    return evaluate.compare(box.outcomes(CANDIDATE, SCORING, FOLDS, seed=SEED),
                            lake.outcomes(BASELINE, SCORING, FOLDS, seed=SEED), paired=True,
                            clusters=lake.characters(FOLDS, "lake"), alpha=ALPHA,
                            label=f"{CANDIDATE} - {BASELINE}, seed {SEED}")


def main(argv=None) -> evaluate.Comparison:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--compare-only", action="store_true",
                        help="compare the runs already in --out (no training)")
    args = parser.parse_args(argv)
    if not args.compare_only:
        select_06.main(["--candidates", CANDIDATE, "--first-seed", str(SEED), "--held-out",
                        *FOLDS, "--out", str(args.out)])
    out = args.out.resolve()       # read_selection takes a path below a notebooks/ folder
    found = compare(results.read_selection(f"{out.parent.name}/{out.name}",
                                           notebooks_dir=out.parent.parent),
                    results.read_selection("results/06_selection_lake.json"))
    print(RULE)
    print(found)
    print("passes" if found.detectable and found.effect > 0 else "does not pass")
    return found


if __name__ == "__main__":
    main()
