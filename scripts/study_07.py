"""Notebook 07's comparison: every loss, its margin chosen on the validation alphabet, trained
with several seeds and scored once on the test alphabet and on Lake's one-shot runs.

The protocol is :func:`course_lib.unseen.omniglot_protocol` (Omniglot ``background_small1``:
three training alphabets with rotations, ``Early_Aramaic`` for validation, ``Greek`` for the
test). Every run trains :func:`course_lib.unseen.embedding_model` (the same initial weights for
a seed, whatever the loss) for the same number of steps of 48 images with Adam, through
:func:`course_lib.unseen.train_embedding`:

1. margin choice: each loss with a margin trains once per candidate margin (seed 0,
   ``--sweep-steps`` steps); the margin with the best MAP@R on the validation alphabet is kept;
2. the runs: each loss with its margin, for each seed, ``--steps`` steps, then
   :func:`course_lib.unseen.score_embedding` on the test alphabet (retrieval, and 20-way
   1-shot and 5-shot tasks by nearest prototype, the tasks of ``scripts/study_09.py``) and
   Lake's runs. The runs of
   random triplets and batch-all also log the share of active triplets of their training
   batches (measured inside ``fit``, :class:`course_lib.losses.ActiveTripletFraction`).

Usage (heavy: wrap it in the machine lock; about 30 minutes on 2 CPU cores):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.study_07
Writes notebooks/results/07_losses.json through course_lib.results.write_study (a temporary
name, then renamed); notebook 07 reads it with course_lib.results.read_losses. After every run
it also writes what is done so far to ``07_losses.partial.json`` beside it (atomically); with
``--resume`` a new invocation with the same settings skips the runs found there, so a killed
run loses at most one run. The partial file is removed once the study file is written.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks import common
from scripts.study_cli import study_parser

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "results" / "07_losses.json"

SETTINGS = {"split": "background_small1", "validation": ["Early_Aramaic"], "test": ["Greek"],
            "image_size": 28, "p": 16, "k": 3, "n_way": 24, "embedding_dim": 64,
            "learning_rate": 1e-3, "chunks": 12}
#: The k of the 20-way k-shot tasks every run is scored on (as notebook 09's rows are); the
#: stored 07_losses.json predates them, so its runs have no k-shot scores until it is re-run.
SHOTS = (1, 5)

# name: (sampler, candidate margins or None, normalise)
LOSSES = {
    "contrastive pairs": ("pairs", (0.5, 1.0), True),
    "contrastive, all pairs": ("pk", (0.5, 1.0), True),
    "contrastive, active pairs": ("pk", (0.5, 1.0), True),
    "random triplets": ("triplets", (0.1, 0.3), True),
    "batch-all": ("pk", (0.1, 0.3), True),
    "batch-hard": ("pk", (0.1, 0.3), True),
    "semi-hard": ("pk", (0.1, 0.3), True),
    "N-way": ("episodes", None, False),
}


def make_loss(name: str, margin):
    """The Keras loss of ``name`` with ``margin``, and the metrics its runs log.

    Args:
        name: a key of ``LOSSES``.
        margin: its margin (None for the N-way loss).

    Returns:
        ``(loss, metrics)``.
    """
    from course_lib import losses

    if name == "contrastive pairs":
        return losses.ContrastiveLoss(margin), []
    if name == "contrastive, all pairs":
        return losses.BatchContrastiveLoss(margin), []
    if name == "contrastive, active pairs":     # averaged over the non-zero terms only
        return losses.BatchContrastiveLoss(margin, average="active"), []
    if name == "random triplets":
        return losses.TripletLoss(margin), [losses.ActiveTripletFraction(margin,
                                                                         inputs="distances")]
    if name == "N-way":
        return losses.NWayLoss(SETTINGS["n_way"]), []
    key = {"batch-all": "batch_all", "batch-hard": "batch_hard", "semi-hard": "semi_hard"}[name]
    metrics = [losses.ActiveTripletFraction(margin)] if name == "batch-all" else []
    return losses.get(key, margin=margin), metrics


def train(name: str, margin, seed: int, steps: int, protocol, chunks: int = 1):
    """One run of ``name``: an :class:`course_lib.unseen.EmbeddingRun`."""
    from course_lib import unseen

    sampler, _, normalise = LOSSES[name]
    loss, metrics = make_loss(name, margin)
    s = SETTINGS
    return unseen.train_embedding(
        loss, protocol, steps=steps, seed=seed, sampler=sampler, p=s["p"], k=s["k"],
        n_way=s["n_way"], normalise=normalise, embedding_dim=s["embedding_dim"],
        learning_rate=s["learning_rate"], chunks=chunks, metrics=metrics)


def main(argv=None):
    parser = study_parser(__doc__, OUT)
    parser.add_argument("--sweep-steps", type=int, default=300)
    args = parser.parse_args(argv)

    import numpy as np

    from course_lib import evaluate, oneshot, results, unseen

    s = SETTINGS
    progress = results.StudyProgress(
        args.out, {"settings": s, "steps": args.steps, "sweep_steps": args.sweep_steps,
                   "losses": list(LOSSES)}, resume=args.resume)
    protocol = unseen.omniglot_protocol(s["split"], s["validation"], s["test"], s["image_size"])
    sweep, margins = [], {}
    for name, (_, candidates, _) in LOSSES.items():
        if candidates is None:
            margins[name] = None
            continue
        best = None
        for margin in candidates:
            score = progress.sweep_score(name, margin)
            if score is None:
                run = train(name, margin, 0, args.sweep_steps, protocol)
                e = np.asarray(run.embed.predict(protocol.x_val, batch_size=512, verbose=0))
                score = progress.add_sweep(name, margin,
                                           float(evaluate.map_at_r(e, protocol.y_val)))
            sweep.append({"loss": name, "margin": margin, "validation map@r": score})
            print(f"sweep {name:>22} margin {margin}: validation MAP@R {score:.4f}", flush=True)
            if best is None or score > best[1]:
                best = (margin, score)
        margins[name] = best[0]
    runs = []
    for seed in range(args.seeds):
        for name in LOSSES:
            old = progress.run(name, seed)
            if old is not None:
                runs.append(old)
                continue
            run = train(name, margins[name], seed, args.steps, protocol, s["chunks"])
            scores = unseen.score_embedding(run.embed, protocol, shots=SHOTS)
            active = [row["active_triplets"] for row in run.log[1:]
                      if "active_triplets" in row]
            runs.append(progress.add_run(results.LossRun(
                name, seed, margins[name], scores, round(run.seconds, 2),
                tuple(active) if active else None,
                tuple(row["step"] for row in run.log[1:]) if active else ())))
            print(f"seed {seed} {name:>22}: {run.seconds:5.1f} s, MAP@R {scores['map@r']:.3f}, "
                  f"recall@1 {scores['recall@1']:.3f}, one-shot {scores['one-shot 20-way']:.3f}",
                  flush=True)
    x_test = protocol.x_test.reshape(len(protocol.x_test), -1)
    pixels = dict(evaluate.retrieval_scores(x_test, protocol.y_test, ks=(1, 2, 4, 8)))
    pixels["one-shot 20-way"] = float(oneshot.score_lake_runs(None, protocol.runs)[0].mean())
    for k in SHOTS:
        support, query = oneshot.k_shot_tasks(protocol.y_test, 20, k, 200, seed=0, queries=5)
        pixels[f"{k}-shot 20-way, test alphabet"] = float(
            oneshot.k_shot_accuracy(x_test, support, query).mean())
    study = results.LossStudy(
        what="notebook 07: every loss, margin chosen on the validation alphabet (seed 0, "
             "sweep_steps steps), then each seed trained for steps steps of 48 images and "
             "scored once on the test alphabet (retrieval) and Lake's 20 runs (one-shot)",
        settings=dict(s), steps=args.steps, sweep_steps=args.sweep_steps,
        seeds=tuple(range(args.seeds)), sweep=tuple(sweep), margins=margins, runs=tuple(runs),
        pixels={k: float(v) for k, v in pixels.items()},
        machine=common.study_machine(),
        total_minutes=round(progress.minutes(), 1),
        date=time.strftime("%Y-%m-%d"))
    results.write_study(args.out, study)
    progress.finish()
    print(f"wrote {args.out} in {study.total_minutes} min")
    return study


if __name__ == "__main__":
    main()
