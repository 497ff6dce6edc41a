"""Notebook 06's final choice: candidate recipes (one net with or without batch norm, other
schedules, Koch's affine distortions, three shorter nets side by side), each trained for its
whole final schedule (about 8 minutes on 2 CPU cores), the validation alphabet scored every
``--check-every`` steps (an ensemble: after each net). At the end each run is scored as it is
and with test-time shifts (``models.shift_averaged``), recording which tasks it got right, so
that candidates can be compared task by task. The 30-second ablation (scripts/ablation_06.py)
asks which steps matter; this script asks the same question at the budget the notebook really
trains for. Only held-out background alphabets are scored (``--held-out``, one fold each),
never Lake's 20 runs.

Validation tasks are built like Lake's runs (``oneshot_variants.TASKS``; each run records its
construction, the older runs used ``"random"`` drawers), and the file keeps the character of
every task's query, so that comparisons can be clustered by character.

Usage (heavy: wrap it in the machine lock; about 8 minutes per candidate and seed):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.select_06
    .venv/bin/python -m scripts.select_06 --annotate   # only add the task characters (no training)
Writes notebooks/results/06_selection.json atomically (adding to the runs already there: a re-run
of the same candidate and seed replaces its old run), which notebooks 06 and 06b read through
``course_lib.results.read_selection``; prints a table.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import keras

from benchmarks import common
from benchmarks import oneshot_variants as ov
from course_lib import config, models, oneshot, results, training

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "results" / "06_selection.json"

# name: (label, batch norm, training steps). The step counts give each candidate about the same
# wall-clock time on 2 CPU cores (batch norm makes a step about 1.6x as slow, see the ablation).
CANDIDATES = {
    "no_bn": dict(label="recipe without batch norm", batch_norm=False, steps=7000),
    "bn": dict(label="recipe with batch norm", batch_norm=True, steps=4500),
    "no_bn_short": dict(label="recipe without batch norm, a shorter schedule",
                        batch_norm=False, steps=3500),
    "no_bn_affine": dict(label="recipe without batch norm, + Koch's affine distortions",
                         batch_norm=False, steps=7000, affine=True),
    # The same 7000-step budget split among three nets trained one after the other (seeds
    # 3s, 3s+1, 3s+2), whose embeddings are put side by side (models.ensemble).
    "ensemble3": dict(label="3 nets without batch norm, 2300 steps each, side by side",
                      batch_norm=False, steps=2300, members=3),
    # The same at Koch et al.'s MNIST input size (35x35; the validation tasks are the same
    # characters and drawers, so its outcomes pair with ensemble3's).
    "ensemble3_35px": dict(label="3 nets of 2300 steps side by side, 35x35 images",
                           batch_norm=False, steps=2300, members=3, size=35),
    # 35x35 within the lesson's 8-minute budget: a 35x35 step costs about 1.4x a 28x28 one
    # (93 vs 65 ms on 2 cores), so each net gets 1600 steps instead of 2300.
    "ensemble3_35px_short": dict(label="3 nets of 1600 steps side by side, 35x35 images",
                                 batch_norm=False, steps=1600, members=3, size=35),
    # Every drawing fitted to a 20x20 box in its 28x28 frame (data.fit_to_box), for training
    # and for the validation tasks alike; otherwise ensemble3 (scripts/confirm_06.py).
    "ensemble3_box20": dict(label="3 nets of 2300 steps side by side, characters fitted to 20x20",
                            batch_norm=False, steps=2300, members=3, box=20),
    # 80-way episodes, one per step (the same 160 images a step as 4 episodes of 20): a
    # character's rotations stay in its alphabet, so every training alphabet offers at least
    # 4 x 22 = 88 characters; otherwise ensemble3 (scripts/confirm_06.py).
    "ensemble3_way80": dict(label="3 nets of 2300 steps side by side, 80-way episodes",
                            batch_norm=False, steps=2300, members=3, n_way=80, episodes=1,
                            rotated_groups=False),
    # Both of the above at once (scripts/confirm_06.py, on seed 2).
    "ensemble3_box20_way80": dict(label="3 nets of 2300 steps side by side, characters fitted "
                                  "to 20x20, 80-way episodes", batch_norm=False, steps=2300,
                                  members=3, box=20, n_way=80, episodes=1, rotated_groups=False),
}
# How a trained encoder is scored at the end: as it is, and averaged over 5 shifted views of
# every image (models.shift_averaged, test-time augmentation).
SCORINGS = ("plain", "shifts")
EMBEDDING_DIM = 256
FILTERS = 64


class _Curve(keras.callbacks.Callback):
    """After each epoch: ``[steps, training seconds, validation accuracy]`` (scoring not timed)."""

    def __init__(self, d, label: str):
        super().__init__()
        self.d, self.label, self.points, self.seconds, self._start = d, label, [], 0.0, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds += time.perf_counter() - self._start
        done = (epoch + 1) * self.params["steps"]
        self.points.append([done, round(self.seconds, 1),
                            ov.validation_accuracy(self.model, self.d)])
        print(f"  {self.label}: step {done:5d}  {self.seconds:6.0f} s  "
              f"validation {self.points[-1][2]:.3f}", flush=True)


def _recipe(c: dict, seed: int, steps: int, d, steps_per_epoch: int, callbacks=None):
    """Candidate ``c`` trained by notebook 06's one recipe call on the training alphabets of
    ``d`` (:func:`course_lib.training.train_one_shot_recipe`)."""
    return training.train_one_shot_recipe(
        d.images, d.character, d.alphabet, steps=steps, members=c.get("members", 1), seed=seed,
        steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=0,
        n_way=c.get("n_way", ov.N_WAY), episodes=c.get("episodes", ov.EPISODES),
        embedding_dim=EMBEDDING_DIM, filters=FILTERS, batch_norm=c["batch_norm"],
        learning_rate=ov.LEARNING_RATE, affine=c.get("affine", False),
        rotated_groups=c.get("rotated_groups", True))


def train(name: str, seed: int, check_every: int, steps: int | None = None,
          held_out: str = ov.VALIDATION[0], save_dir: Path | None = None) -> dict:
    """Train candidate ``name`` with a cosine-decayed Adam over its steps on every alphabet of the
    split but ``held_out``; score 20-way tasks of ``held_out`` every ``check_every`` steps (the
    greatest common divisor of ``check_every`` and the steps, so that every epoch is whole).

    A candidate with ``members`` trains that many nets one after the other, each for its
    ``steps``, and scores the ensemble of the nets so far after each one.

    Returns ``{"candidate", "seed", "held_out", "steps", "curve": [[steps, seconds, accuracy],
    ...], "final": {scoring: {"accuracy", "correct", "tasks"}}}``: ``final`` scores the end of
    the schedule in each of :data:`SCORINGS` (and each of an ensemble's members alone),
    ``tasks`` says which validation tasks were right ("1") or wrong ("0"), for paired
    comparisons.
    """
    c = CANDIDATES[name]
    steps = steps or c["steps"]
    d = ov.setup(c.get("size", 28), validation=(held_out,), box=c.get("box"))
    if c.get("members", 1) > 1:
        return _train_ensemble(name, seed, steps, held_out, d, save_dir)
    curve = _Curve(d, f"{name} seed {seed} ({held_out} held out)")
    run = _recipe(c, seed, steps, d, math.gcd(steps, check_every), callbacks=lambda i: [curve])
    encoder = run.encoder
    return {"candidate": name, "seed": seed, "held_out": held_out, "steps": steps,
            "curve": curve.points, "final": _final_scores(encoder, d), "tasks": ov.TASKS} | _save(
                encoder, save_dir, name, seed, held_out)


def _save(encoder, save_dir: Path | None, name: str, seed: int, held_out: str) -> dict:
    """Save the trained encoder as ``save_dir/<name>_<seed>_<held_out>.keras`` (nothing when
    ``save_dir`` is None; an existing file is never overwritten). Returns ``{"saved": path}``."""
    if save_dir is None:
        return {}
    path = Path(save_dir) / f"{name}_{seed}_{held_out}.keras"
    if path.exists():
        raise FileExistsError(f"{path} exists: choose another --save-dir or remove it")
    with config.atomic_file(path) as tmp:      # a stopped run leaves no half-written net
        encoder.save(tmp)
    return {"saved": str(path)}


def _final_scores(encoder, d, members=()) -> dict:
    """``{scoring: {"accuracy", "correct", "tasks"}}`` of ``encoder`` (and of each member alone)
    on the validation tasks of ``d``."""
    scorers = {"plain": encoder, "shifts": models.shift_averaged(encoder)}
    for i, member in enumerate(members):
        scorers[f"member_{i}"] = member
    out = {}
    for scoring, model in scorers.items():
        right = oneshot.task_accuracy(
            oneshot.task_scores(model, d.val_images, d.val_query, d.val_support), d.val_answer)
        out[scoring] = {"accuracy": float(right.mean()), "correct": int(right.sum()),
                        "tasks": results.outcome_text(right)}
    return out


def _train_ensemble(name: str, seed: int, steps: int, held_out: str, d,
                    save_dir: Path | None) -> dict:
    c = CANDIDATES[name]
    run = _recipe(c, seed, steps, d, math.gcd(steps, 100))
    nets, curve = run.members, []
    for k in range(1, len(nets) + 1):
        scorer = nets[0] if k == 1 else models.ensemble(list(nets[:k]))
        curve.append([k * steps, round(sum(run.seconds[:k]), 1),
                      ov.validation_accuracy(scorer, d)])
        print(f"  {name} seed {seed} ({held_out} held out): {k} nets, {curve[-1][1]:6.0f} s  "
              f"validation {curve[-1][2]:.3f}", flush=True)
    return {"candidate": name, "seed": seed, "held_out": held_out, "steps": steps,
            "members": len(nets), "curve": curve,
            "final": _final_scores(scorer, d, members=nets), "tasks": ov.TASKS} | _save(
                scorer, save_dir, name, seed, held_out)


def _key(run: dict) -> tuple:
    return run["candidate"], run["seed"], run.get("held_out", ov.VALIDATION[0])


def save(out: Path, runs: list, candidates: list, started: float,
         earlier: dict | None = None) -> dict:
    """Write the report to ``out``: ``runs``, plus the runs of ``earlier`` (the file as it was
    before this invocation) that ``runs`` do not redo."""
    report = {
        "what": "validation 20-way one-shot accuracy (within-alphabet tasks of a held-out "
                "alphabet) along each candidate's full cosine-decayed schedule; one run per "
                "candidate, seed and held-out alphabet",
        "split": ov.SPLIT, "n_way": ov.N_WAY,
        "val_tasks": int(ov.setup(28).val_answer.size),
        "episodes_per_step": ov.EPISODES, "learning_rate": ov.LEARNING_RATE,
        "candidates": {k: CANDIDATES[k] for k in candidates}, "runs": runs,
        "machine": common.study_machine(),
        "total_minutes": round((time.perf_counter() - started) / 60, 1),
        "date": time.strftime("%Y-%m-%d"),
    }
    if earlier is not None:  # keep the runs of other candidates, seeds and folds
        fresh = {_key(r) for r in runs}
        report["runs"] = [r for r in earlier["runs"] if _key(r) not in fresh] + runs
        report["candidates"] = {**earlier["candidates"], **report["candidates"]}
        report["earlier"] = [*earlier.get("earlier", []),
                             {k: earlier[k] for k in ("machine", "total_minutes", "date")}]
    report["task_characters"] = task_characters(report["runs"],
                                                (earlier or {}).get("task_characters", {}))
    results.write_study(out, results.SelectionStudy.from_json(report, str(out)))
    return report


def task_characters(runs: list, known: dict) -> dict:
    """``{construction: {held_out: [query character of each task]}}`` for every fold of
    ``runs`` (a run without ``"tasks"`` used the older ``"random"`` tasks); ``known``: what
    the file already had (kept, not recomputed)."""
    table = {k: dict(v) for k, v in known.items()}
    for run in runs:
        construction = run.get("tasks", "random")
        folds = table.setdefault(construction, {})
        if run["held_out"] not in folds:
            setup = ov.setup(28, validation=(run["held_out"],), tasks=construction)
            folds[run["held_out"]] = list(setup.val_character)
    return table


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", nargs="*", default=list(CANDIDATES))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="train seeds first-seed .. first-seed + seeds - 1 (the file keeps "
                             "the runs of other seeds)")
    parser.add_argument("--held-out", nargs="*", default=list(ov.VALIDATION),
                        help="alphabets of the split, each held out in turn (one fold each)")
    parser.add_argument("--check-every", type=int, default=500)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--save-dir", type=Path, default=None,
                        help="save each run's trained encoder here (for later scoring)")
    parser.add_argument("--annotate", action="store_true",
                        help="train nothing: add the task characters of every fold to --out")
    args = parser.parse_args(argv)
    if args.annotate:
        study = json.loads(args.out.read_text())
        study["task_characters"] = task_characters(study["runs"],
                                                   study.get("task_characters", {}))
        results.write_study(args.out, results.SelectionStudy.from_json(study, str(args.out)))
        print(f"wrote the task characters of {sorted(study['task_characters'])} to {args.out}")
        return study
    if args.seeds < 1 or args.first_seed < 0:
        parser.error(f"--seeds must be >= 1 and --first-seed >= 0, got {args.seeds} and "
                     f"{args.first_seed}")
    unknown = set(args.candidates) - set(CANDIDATES)
    if unknown:
        parser.error(f"--candidates: unknown {sorted(unknown)}; expected some of {list(CANDIDATES)}")
    started = time.perf_counter()
    earlier = json.loads(args.out.read_text()) if args.out.exists() else None
    runs, report = [], None
    for held_out in args.held_out:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for name in args.candidates:
                runs.append(train(name, seed, args.check_every, held_out=held_out,
                                  save_dir=args.save_dir))
                report = save(args.out, runs, args.candidates, started, earlier)  # each run
    for r in runs:
        best = max(r["curve"], key=lambda p: p[2])
        print(f"{r['candidate']:>12} seed {r['seed']} {r['held_out']:>14}: best validation "
              f"{best[2]:.3f} at step {best[0]} ({best[1]:.0f} s); final {r['curve'][-1][2]:.3f} "
              f"after {r['curve'][-1][1]:.0f} s")
    print(f"wrote {args.out} ({len(report['runs'])} runs) in {report['total_minutes']} min")
    return report


if __name__ == "__main__":
    main()
