"""Notebook 06's ablation: each step of the one-shot recipe trained for the same wall-clock
budget, several seeds, scored on 20-way within-alphabet tasks of the held-out validation alphabet
only (Early_Aramaic of background_small1; never on Lake's 20 runs).

Each row changes one thing from the row above it (the last three: from the recipe), with the
same images per step (an episode step's 160, or 80 pairs); batch-norm statistics are re-estimated
from training images before scoring (the stale ones are recorded too); the validation tasks are
built like Lake's runs (``oneshot_variants.TASKS``).

Usage (heavy: wrap it in the machine lock; about 17 minutes on 2 CPU cores with the defaults):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.ablation_06
Writes notebooks/results/06_ablation.json (atomically), which notebooks 06 and 06b read through
``course_lib.results.read_ablation``; prints a table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks import common
from benchmarks import oneshot_variants as ov
from course_lib import results

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "results" / "06_ablation.json"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="training budget per run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--variants", nargs="*", default=list(ov.VARIANTS))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = []
    for name in args.variants:
        runs = [ov.run(name, seed, args.seconds) for seed in range(args.seeds)]
        acc = np.array([r["accuracy"] for r in runs])
        steps = np.array([r["steps"] for r in runs])
        row = {"variant": name, "label": ov.VARIANTS[name]["label"],
               "settings": {k: v for k, v in ov.VARIANTS[name].items() if k != "label"},
               "mean": float(acc.mean()), "std": float(acc.std(ddof=1)),
               "accuracies": acc.tolist(), "steps": steps.tolist(),
               "accuracies_stale": [r["accuracy_stale"] for r in runs],
               "tasks": [results.outcome_text(r["outcomes"]) for r in runs],
               "ms_per_step": float(1000 * args.seconds / steps.mean())}
        rows.append(row)
        print(f"{name:>10}  {row['mean']:.3f} +- {row['std']:.3f}  {steps.mean():6.0f} steps  "
              f"{row['ms_per_step']:5.0f} ms/step  {row['label']}", flush=True)
    report = {
        "what": "validation 20-way one-shot accuracy (400 within-alphabet tasks of the held-out "
                "alphabet) after an equal wall-clock training budget; mean and sample std over "
                "seeds; batch-norm statistics re-estimated before scoring",
        "split": ov.SPLIT, "validation_alphabets": ov.VALIDATION, "n_way": ov.N_WAY,
        "task_construction": ov.TASKS,
        "task_characters": list(ov.setup(28).val_character),
        "episodes_per_step": ov.EPISODES, "pairs_per_step": ov.PAIR_BATCH,
        "learning_rate": ov.LEARNING_RATE, "seconds_per_run": args.seconds,
        "seeds": args.seeds, "rows": rows,
        "machine": common.study_machine(),
        "total_minutes": round((time.perf_counter() - start) / 60, 1),
        "date": time.strftime("%Y-%m-%d"),
    }
    results.write_study(args.out, results.AblationStudy.from_json(report, str(args.out)))
    print(f"wrote {args.out} in {report['total_minutes']} min")
    return report


if __name__ == "__main__":
    main()
