"""One-shot time to accuracy: wall-clock training time for Koch et al.'s Siamese net (the
baseline of notebook 06) and for the notebook's recipe (4-block conv net without batch norm,
N-way comparison loss on 20-way episodes of one alphabet, rotations as new classes) to reach a validation 20-way
accuracy of 50%, 70% and 85%, over several seeds.

Validation: 400 20-way within-alphabet tasks of Early_Aramaic, held out of background_small1
(never Lake's runs), scored every ``--check-every`` steps. Only training time counts (the
scoring is not charged), after one untimed step that traces the model. The recipe here keeps
Adam's learning rate constant (the notebook decays it over a fixed schedule, which has no
meaning for an open-ended run). A threshold not reached within ``--max-seconds`` is reported as
"not reached".

Writes ``build/bench_oneshot.json`` and ``build/bench_oneshot.md`` and prints the table.
Tooling, not part of the installed package: ``make bench-oneshot`` (about 20 minutes on 2 CPU
cores) or ``make bench-oneshot BENCH_ARGS=--quick`` (one seed, shorter runs: about 5 minutes,
to check that it runs). No test asserts a timing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:                  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402
from benchmarks import oneshot_variants as ov  # noqa: E402
from course_lib.config import build_dir  # noqa: E402

THRESHOLDS = (0.5, 0.7, 0.85)
CONTENDERS = {"baseline (Koch et al.)": "koch", "recipe (notebook 06)": "no_bn"}


def reach_times(curve, thresholds=THRESHOLDS) -> dict:
    """Training seconds (and steps) at the first check at or above each threshold, else None."""
    out = {}
    for t in thresholds:
        hit = next(((s, n) for s, n, acc in curve if acc >= t), None)
        out[f"{t:.2f}"] = None if hit is None else {"seconds": hit[0], "steps": hit[1]}
    return out


def _cell(times) -> str:
    got = [t["seconds"] for t in times if t is not None]
    if len(got) < len(times):
        return f"not reached ({len(got)} of {len(times)} seeds)" if got else "not reached"
    return f"{np.median(got):.0f} s (range {min(got):.0f}-{max(got):.0f})"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=240.0)
    parser.add_argument("--check-every", type=int, default=100, help="steps between checks")
    parser.add_argument("--quick", action="store_true", help="1 seed, at most 90 s per run")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.max_seconds = 1, 90.0
    out = args.out or build_dir()
    start = time.perf_counter()
    runs = {}
    for label, variant in CONTENDERS.items():
        runs[label] = []
        for seed in range(args.seeds):
            r = ov.run(variant, seed, args.max_seconds, check_every=args.check_every,
                       stop_at=max(THRESHOLDS))
            r["reached"] = reach_times(r["curve"])
            runs[label].append(r)
            print(f"{label}, seed {seed}: best {max(a for *_, a in r['curve']):.3f} after "
                  f"{r['seconds']:.0f} s; {r['reached']}", flush=True)
    lines = ["| validation 20-way accuracy | " + " | ".join(CONTENDERS) + " | ratio |",
             "| --- | " + " | ".join("---" for _ in CONTENDERS) + " | --- |"]
    for t in THRESHOLDS:
        key = f"{t:.2f}"
        cells = [_cell([r["reached"][key] for r in runs[label]]) for label in CONTENDERS]
        base, recipe = ([r["reached"][key] for r in runs[label]] for label in CONTENDERS)
        if all(base) and all(recipe):
            b_med = np.median([b["seconds"] for b in base])
            ratio = f"{b_med / np.median([r['seconds'] for r in recipe]):.1f}x"
        elif all(recipe):
            ratio = f"> {args.max_seconds / np.median([r['seconds'] for r in recipe]):.1f}x"
        else:
            ratio = "n/a"
        lines.append(f"| {t:.0%} | " + " | ".join(cells) + f" | {ratio} |")
    about = common.machine()
    table = "\n".join(lines)
    text = (f"# One-shot time to accuracy\n\n{args.seeds} seed(s), at most {args.max_seconds:.0f}"
            f" s of training per run, checks every {args.check_every} steps; median over seeds "
            f"of the training seconds to the first check at or above the threshold. "
            f"{common.describe(about)}.\n\n{table}\n")
    report = {"thresholds": THRESHOLDS, "seeds": args.seeds, "max_seconds": args.max_seconds,
              "check_every": args.check_every, "quick": args.quick,
              "variants": CONTENDERS, "runs": runs, "table": table,
              "machine": about,
              "minutes": round((time.perf_counter() - start) / 60, 1),
              "date": time.strftime("%Y-%m-%d")}
    common.write_report(out, "bench_oneshot", report, text, indent=1)
    print("\n" + text)
    return report


if __name__ == "__main__":
    main()
