"""Notebook 09's comparison: the losses that replaced pairs (SupCon, prototypes trained 1-shot and
5-shot, CosFace, a plain softmax classifier read raw and through SimpleShot), on notebook 07's
protocol, encoder, budget and seeds, so that their rows extend 07's table.

The protocol is :func:`course_lib.unseen.omniglot_protocol` (Omniglot ``background_small1``:
three training alphabets with rotations, ``Early_Aramaic`` for validation, ``Greek`` for the
test). Every run trains :func:`course_lib.unseen.embedding_model` (the same initial weights for
a seed, whatever the loss) for the same number of steps of 48 images with Adam, through
:func:`course_lib.unseen.train_embedding`:

1. choice of the one number of a loss (SupCon's temperature, CosFace's margin): one run per
   candidate (seed 0, ``--sweep-steps`` steps), the best validation MAP@R kept;
2. the runs: each loss, each seed, ``--steps`` steps, then
   :func:`course_lib.unseen.score_embedding` on the test alphabet (retrieval; 20-way 1-shot and
   5-shot by nearest prototype) and on Lake's 20 runs. The classifier's run is scored twice:
   its embedding as it is, and through :func:`course_lib.unseen.simpleshot_model`. Batch-hard,
   07's best loss, is trained again with 07's margin so that every row has the k-shot scores.

Usage (heavy: wrap it in the machine lock; about 30 minutes on 2 CPU cores):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.study_09
Writes notebooks/results/09_losses.json through course_lib.results.write_study; notebook 09 reads
it with ``course_lib.results.read_losses("results/09_losses.json")``. Progress is kept in
``09_losses.partial.json`` (:class:`course_lib.results.StudyProgress`); ``--resume`` skips the
runs found there.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "results" / "09_losses.json"

SETTINGS = {"split": "background_small1", "validation": ["Early_Aramaic"], "test": ["Greek"],
            "image_size": 28, "images_per_step": 48, "embedding_dim": 64,
            "learning_rate": 1e-3, "shots": [1, 5],
            "batch_hard_margin": 0.1}


@dataclass(frozen=True)
class Spec:
    """How one loss of the study trains: P x K, its candidates, the encoder's last layer, and
    (CosFace) the candidates of its logit scale, chosen first at the first margin candidate."""

    p: int
    k: int
    parameter: str | None = None
    candidates: tuple = ()
    normalise: bool = True
    scales: tuple = ()


LOSSES = {
    "batch-hard": Spec(16, 3, "margin", (SETTINGS["batch_hard_margin"],)),
    "SupCon": Spec(16, 3, "temperature", (0.01, 0.02, 0.05, 0.1, 0.3)),
    "prototypes, 1-shot": Spec(24, 2, normalise=False),
    "prototypes, 5-shot": Spec(8, 6, normalise=False),
    "CosFace": Spec(16, 3, "margin", (0.0, 0.1, 0.35), scales=(8.0, 16.0, 32.0)),
    "softmax classifier": Spec(16, 3, normalise=False),
}
# The sweep's name of a loss's scale (its chosen value is kept in the study's margins too).
SCALE = "{} scale"
# Rows scored from another loss's runs: name -> (the loss trained, how its encoder is read).
READOUTS = {"softmax classifier, SimpleShot": "softmax classifier"}


def make_loss(name: str, value, protocol, scale: float | None = None):
    """The Keras loss of ``name`` (with its chosen number ``value``) and its trainable head.

    Args:
        name: a key of ``LOSSES``.
        value: its margin or temperature (None for a loss without one).
        protocol: the data (the head of a classifier has one output per training class).
        scale: CosFace's logit scale (a number > 0; not read by the other losses).

    Returns:
        ``(loss, head)``; ``head`` is None for a loss of the embeddings themselves.
    """
    import keras

    from course_lib import losses

    c = protocol.num_train_classes
    if name == "batch-hard":
        return losses.BatchHardTripletLoss(value), None
    if name == "SupCon":
        return losses.SupConLoss(value), None
    if name.startswith("prototypes"):
        return losses.PrototypicalLoss(LOSSES[name].k - 1), None
    if name == "CosFace":
        return (losses.CosFaceLoss(scale, value),
                losses.CosineClassifier(c, name="class_centres"))
    return (keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            keras.layers.Dense(c, name="classifier"))


def train(name: str, value, seed: int, steps: int, protocol, scale: float | None = None):
    """One run of ``name``: an :class:`course_lib.unseen.EmbeddingRun`."""
    from course_lib import unseen

    spec = LOSSES[name]
    loss, head = make_loss(name, value, protocol, scale)
    return unseen.train_embedding(
        loss, protocol, steps=steps, seed=seed, sampler="pk", p=spec.p, k=spec.k, head=head,
        normalise=spec.normalise, embedding_dim=SETTINGS["embedding_dim"],
        learning_rate=SETTINGS["learning_rate"])


def readouts(name: str, embed, protocol) -> dict:
    """The embedding models a run of ``name`` is scored through: ``{row name: model}``."""
    from course_lib import unseen

    out = {name: embed}
    for row, source in READOUTS.items():
        if source == name:
            out[row] = unseen.simpleshot_model(embed, protocol.x_train)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--sweep-steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--resume", action="store_true",
                        help="skip the runs of the partial file left by a run with the same "
                             "settings")
    args = parser.parse_args(argv)

    import numpy as np

    from course_lib import evaluate, oneshot, results, unseen

    start = time.perf_counter()
    s = SETTINGS
    progress = results.StudyProgress(
        args.out, {"settings": s, "steps": args.steps, "sweep_steps": args.sweep_steps,
                   "losses": {n: [v.p, v.k, v.candidates, v.scales]
                              for n, v in LOSSES.items()}},
        resume=args.resume)
    protocol = unseen.omniglot_protocol(s["split"], s["validation"], s["test"], s["image_size"])
    sweep, chosen = [], {}

    def validation_score(key, recorded, name, value, scale=None):
        """Validation MAP@R of one sweep run of ``name`` (seed 0), kept in the progress file
        as ``(key, recorded)``: the loss's name and its number, or the scale's sweep name and
        the scale."""
        score = progress.sweep_score(key, recorded)
        if score is None:
            run = train(name, value, 0, args.sweep_steps, protocol, scale)
            e = np.asarray(run.embed.predict(protocol.x_val, batch_size=512, verbose=0))
            score = progress.add_sweep(key, recorded, float(evaluate.map_at_r(e, protocol.y_val)))
        return score

    for name, spec in LOSSES.items():
        scale = None
        if spec.scales:   # the scale first, at the first margin candidate
            key = SCALE.format(name)
            scored = {}
            for candidate in spec.scales:
                scored[candidate] = validation_score(key, candidate, name, spec.candidates[0],
                                                     candidate)
                sweep.append({"loss": key, "margin": candidate,
                              "validation map@r": scored[candidate]})
                print(f"sweep {key:>20} {candidate}: validation MAP@R {scored[candidate]:.4f}",
                      flush=True)
            scale = max(spec.scales, key=lambda c: (scored[c], -spec.scales.index(c)))
            chosen[key] = scale
        best = None
        for value in spec.candidates:
            if len(spec.candidates) == 1:
                break
            if scale is not None and value == spec.candidates[0]:
                score = scored[scale]   # the same run as the chosen scale's (same seed, batches)
            else:
                score = validation_score(name, value, name, value, scale)
            sweep.append({"loss": name, "margin": value, "validation map@r": score})
            print(f"sweep {name:>20} {spec.parameter} {value}: validation MAP@R {score:.4f}",
                  flush=True)
            if best is None or score > best[1]:
                best = (value, score)
        chosen[name] = (spec.candidates[0] if len(spec.candidates) == 1
                        else best[0] if best else None)
    for row, source in READOUTS.items():
        chosen[row] = chosen[source]
    runs = []
    for seed in range(args.seeds):
        for name in LOSSES:
            rows = [name] + [r for r, src in READOUTS.items() if src == name]
            found = [progress.run(r, seed) for r in rows]
            if all(found):
                runs += found
                continue
            run = train(name, chosen[name], seed, args.steps, protocol,
                        chosen.get(SCALE.format(name)))
            for row, model in readouts(name, run.embed, protocol).items():
                scores = unseen.score_embedding(model, protocol, shots=s["shots"])
                runs.append(progress.add_run(results.LossRun(
                    row, seed, chosen[row], scores, round(run.seconds, 2))))
                print(f"seed {seed} {row:>31}: {run.seconds:5.1f} s, MAP@R "
                      f"{scores['map@r']:.3f}, recall@1 {scores['recall@1']:.3f}, one-shot "
                      f"{scores['one-shot 20-way']:.3f}, 5-shot "
                      f"{scores['5-shot 20-way, test alphabet']:.3f}", flush=True)
    x_test = protocol.x_test.reshape(len(protocol.x_test), -1)
    pixels = dict(evaluate.retrieval_scores(x_test, protocol.y_test, ks=(1, 2, 4, 8)))
    pixels["one-shot 20-way"] = float(oneshot.score_lake_runs(None, protocol.runs)[0].mean())
    for k in s["shots"]:
        support, query = oneshot.k_shot_tasks(protocol.y_test, 20, k, 200, seed=0, queries=5)
        pixels[f"{k}-shot 20-way, test alphabet"] = float(
            oneshot.k_shot_accuracy(x_test, support, query).mean())
    study = results.LossStudy(
        what="notebook 09: the losses that replaced pairs, on notebook 07's protocol; each "
             "loss's margin or temperature chosen on the validation alphabet (seed 0, "
             "sweep_steps steps), then each seed trained for steps steps of 48 images and "
             "scored once on the test alphabet (retrieval, 20-way k-shot by prototypes) and "
             "Lake's 20 runs (one-shot)",
        settings=dict(s), steps=args.steps, sweep_steps=args.sweep_steps,
        seeds=tuple(range(args.seeds)), sweep=tuple(sweep), margins=chosen, runs=tuple(runs),
        pixels={k: float(v) for k, v in pixels.items()},
        machine={"cpus": os.cpu_count(), "processor": platform.processor() or "unknown",
                 "load_average": [round(x, 2) for x in os.getloadavg()]},
        total_minutes=round((time.perf_counter() - start) / 60, 1),
        date=time.strftime("%Y-%m-%d"),
        parameters={**{n: v.parameter for n, v in LOSSES.items() if v.parameter},
                    **{SCALE.format(n): "scale" for n, v in LOSSES.items() if v.scales}})
    results.write_study(args.out, study)
    progress.finish()
    print(f"wrote {args.out} in {study.total_minutes} min")
    return study


if __name__ == "__main__":
    main()
