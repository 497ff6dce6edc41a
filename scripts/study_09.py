"""Notebook 09's comparison: the losses that replaced pairs (SupCon, prototypes trained 1-shot and
5-shot, CosFace with a margin and at margin 0, a plain softmax classifier read raw and through
SimpleShot), on notebook 07's protocol, encoder, budget and seeds, so that their rows extend
07's table.

The protocol is :func:`course_lib.unseen.omniglot_protocol` (Omniglot ``background_small1``:
three training alphabets with rotations, ``Early_Aramaic`` for validation, ``Greek`` for the
test). Every run trains :func:`course_lib.unseen.embedding_model` (the same initial weights for
a seed, whatever the loss) for ``--steps`` steps with Adam, through
:func:`course_lib.unseen.train_embedding`, on batches of 48 images, except the 5-shot
prototypes: 20-way episodes of 5 supports and 5 queries per class drawn within one alphabet
(200 images per step). That row is trained twice: for the same steps (4.2 times the images of
the others), and as "prototypes, 5-shot, same images" for proportionally fewer steps
(:func:`steps_of`), the same images as the others.

1. choices on the validation alphabet only: SupCon's temperature, one run per candidate (seed
   0, ``--sweep-steps`` steps), the best validation MAP@R kept; CosFace's scale, margin, centre
   learning rate and read-out from the 3-seed validation sweep of
   ``scripts/sweep_cosface_09.py`` (its file, ``results/09_cosface_sweep.json``, must exist:
   its best setting with a margin is the row "CosFace", its best at margin 0 the row
   "normalised softmax");
2. the runs: each loss, each seed, then :func:`course_lib.unseen.score_embedding` on the test
   alphabet (retrieval; 20-way 1-shot and 5-shot by nearest prototype) and on Lake's 20 runs.
   The classifier's run is scored twice: its embedding as it is, and through
   :func:`course_lib.unseen.simpleshot_model`. Batch-hard, 07's best loss, is trained again
   with 07's margin so that every row has the k-shot scores.

Usage (heavy: wrap it in the machine lock; about 30 minutes on 2 CPU cores):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.study_09
``--only NAME ...`` trains only those losses and keeps every other loss's choice, sweep and
runs from the existing file. Writes notebooks/results/09_losses.json through
course_lib.results.write_study; notebook 09 reads it with
``course_lib.results.read_losses("results/09_losses.json")``. Progress is kept in
``09_losses.partial.json`` (:class:`course_lib.results.StudyProgress`); ``--resume`` skips the
runs found there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import common
from scripts.study_cli import study_parser

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "results" / "09_losses.json"

SETTINGS = {"split": "background_small1", "validation": ["Early_Aramaic"], "test": ["Greek"],
            "image_size": 28, "images_per_step": 48, "embedding_dim": 64,
            "learning_rate": 1e-3, "shots": [1, 5],
            "batch_hard_margin": 0.1, "cosface_sweep": "results/09_cosface_sweep.json"}


@dataclass(frozen=True)
class Spec:
    """How one loss of the study trains: P x K, its candidates, the encoder's last layer, the
    support rows of a prototypical episode, whether a batch's classes share one alphabet, and
    whether its setting comes from the CosFace sweep's file."""

    p: int
    k: int
    parameter: str | None = None
    candidates: tuple = ()
    normalise: bool = True
    shots: int | None = None
    within_alphabet: bool = False
    from_sweep: bool = False
    same_images: bool = False


LOSSES = {
    "batch-hard": Spec(16, 3, "margin", (SETTINGS["batch_hard_margin"],)),
    "SupCon": Spec(16, 3, "temperature", (0.01, 0.02, 0.05, 0.1, 0.3)),
    "prototypes, 1-shot": Spec(24, 2, normalise=False, shots=1),
    # 20-way 5-shot episodes within one alphabet, as the test's tasks, 5 queries per class
    "prototypes, 5-shot": Spec(20, 10, normalise=False, shots=5, within_alphabet=True),
    "prototypes, 5-shot, same images": Spec(20, 10, normalise=False, shots=5,
                                            within_alphabet=True, same_images=True),
    "CosFace": Spec(16, 3, "margin", from_sweep=True),
    "normalised softmax": Spec(16, 3, "margin", from_sweep=True),
    "softmax classifier": Spec(16, 3, normalise=False),
}
# Rows scored from another loss's runs: name -> (the loss trained, how its encoder is read).
READOUTS = {"softmax classifier, SimpleShot": "softmax classifier"}


def steps_of(name: str, steps: int) -> int:
    """The steps a run of ``name`` trains for: ``steps``, or for a loss marked
    ``same_images`` the images of ``steps`` steps of 48 in fewer, larger steps."""
    spec = LOSSES[name]
    if not spec.same_images:
        return steps
    return max(1, round(steps * SETTINGS["images_per_step"] / (spec.p * spec.k)))


def cosface_settings(path: str = SETTINGS["cosface_sweep"]) -> dict:
    """The settings of the rows trained as chosen in the CosFace sweep's file
    (``scripts/sweep_cosface_09.py``): ``{row: {"setting", "loss", "scale", "margin",
    "centres", "readout"}}`` for "CosFace" and "normalised softmax"."""
    from course_lib import results

    sweep = results.read_losses(path)
    return {row: {"setting": name, **sweep.settings["configs"][name]}
            for row, name in sweep.settings["chosen"].items()}


def make_loss(name: str, value, protocol, setting: dict | None = None):
    """The Keras loss of ``name`` (with its chosen number ``value``) and its trainable head.

    Args:
        name: a key of ``LOSSES``.
        value: its margin or temperature (None for a loss without one).
        protocol: the data (the head of a classifier has one output per training class).
        setting: for a row of the CosFace sweep, its setting (:func:`cosface_settings`).

    Returns:
        ``(loss, head)``; ``head`` is None for a loss of the embeddings themselves.
    """
    import keras

    from course_lib import losses
    from scripts.sweep_cosface_09 import centres_initializer

    c = protocol.num_train_classes
    if name == "batch-hard":
        return losses.BatchHardTripletLoss(value), None
    if name == "SupCon":
        return losses.SupConLoss(value), None
    if name.startswith("prototypes"):
        return losses.PrototypicalLoss(LOSSES[name].shots), None
    if LOSSES[name].from_sweep:
        return (losses.CosFaceLoss(setting["scale"], value),
                losses.CosineClassifier(c, centres_initializer(setting["centres"]),
                                        name="class_centres"))
    return (keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            keras.layers.Dense(c, name="classifier"))


def train(name: str, value, seed: int, steps: int, protocol, setting: dict | None = None):
    """One run of ``name``: an :class:`course_lib.unseen.EmbeddingRun`."""
    import keras

    from course_lib import unseen

    spec = LOSSES[name]
    # A head's initializer draws its seed from Python's random state when the head is made,
    # before train_embedding seeds everything: seed first, so the seed fixes the head too.
    keras.utils.set_random_seed(seed)
    loss, head = make_loss(name, value, protocol, setting)
    return unseen.train_embedding(
        loss, protocol, steps=steps, seed=seed, sampler="pk", p=spec.p, k=spec.k, head=head,
        normalise=spec.normalise, embedding_dim=SETTINGS["embedding_dim"],
        learning_rate=SETTINGS["learning_rate"], within_alphabet=spec.within_alphabet)


def readouts(name: str, embed, protocol, setting: dict | None = None) -> dict:
    """The embedding models a run of ``name`` is scored through: ``{row name: model}`` (a row
    of the CosFace sweep read out ``"raw"``: the embedding before its unit-length layer)."""
    import keras

    from course_lib import unseen

    if setting is not None and setting["readout"] == "raw":
        embed = keras.Model(embed.input, embed.get_layer("unit_sphere").input, name="raw")
    out = {name: embed}
    for row, source in READOUTS.items():
        if source == name:
            out[row] = unseen.simpleshot_model(embed, protocol.x_train)
    return out


def main(argv=None):
    parser = study_parser(__doc__, OUT)
    parser.add_argument("--sweep-steps", type=int, default=300)
    parser.add_argument("--only", nargs="+", choices=list(LOSSES), default=None,
                        help="train only these losses; every other loss's choice, sweep and "
                             "runs are kept from the existing --out file (same steps and "
                             "seeds)")
    args = parser.parse_args(argv)

    import json

    import numpy as np

    from course_lib import evaluate, oneshot, results, unseen

    start = time.perf_counter()
    s = SETTINGS
    cosface = cosface_settings()
    kept = None
    if args.only:
        kept = results.LossStudy.from_json(json.loads(args.out.read_text(encoding="utf-8")),
                                           str(args.out))
        if (kept.steps, kept.sweep_steps, list(kept.seeds)) != (
                args.steps, args.sweep_steps, list(range(args.seeds))):
            raise SystemExit(f"--only keeps the runs of {args.out}, which has steps "
                             f"{kept.steps}, sweep steps {kept.sweep_steps}, seeds "
                             f"{list(kept.seeds)}: run with those")
    trained = [n for n in LOSSES if kept is None or n in args.only]
    progress = results.StudyProgress(
        args.out, {"settings": s, "steps": args.steps, "sweep_steps": args.sweep_steps,
                   "losses": {n: [v.p, v.k, v.candidates, v.shots, v.within_alphabet]
                              for n, v in LOSSES.items()},
                   "cosface": cosface, "trained": trained},
        resume=args.resume)
    protocol = unseen.omniglot_protocol(s["split"], s["validation"], s["test"], s["image_size"])
    sweep, chosen = [], {}

    def validation_score(name, value):
        """Validation MAP@R of one sweep run of ``name`` (seed 0), kept in the progress file."""
        score = progress.sweep_score(name, value)
        if score is None:
            run = train(name, value, 0, steps_of(name, args.sweep_steps), protocol)
            e = np.asarray(run.embed.predict(protocol.x_val, batch_size=512, verbose=0))
            score = progress.add_sweep(name, value, float(evaluate.map_at_r(e, protocol.y_val)))
        return score

    for name, spec in LOSSES.items():
        if name not in trained:
            chosen[name] = kept.margins[name]
            sweep += [dict(p) for p in kept.sweep if p["loss"] == name]
            continue
        if spec.from_sweep:
            chosen[name] = cosface[name]["margin"]
            continue
        best = None
        for value in spec.candidates if len(spec.candidates) > 1 else ():
            score = validation_score(name, value)
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
            if name not in trained:
                runs += [kept.run(r, seed) for r in rows]
                continue
            found = [progress.run(r, seed) for r in rows]
            if all(found):
                runs += found
                continue
            setting = cosface.get(name) if LOSSES[name].from_sweep else None
            run = train(name, chosen[name], seed, steps_of(name, args.steps), protocol, setting)
            for row, model in readouts(name, run.embed, protocol, setting).items():
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
    minutes = (time.perf_counter() - start) / 60
    if kept is not None:   # the kept runs' time counts too
        minutes += kept.total_minutes
    study = results.LossStudy(
        what="notebook 09: the losses that replaced pairs, on notebook 07's protocol; SupCon's "
             "temperature chosen on the validation alphabet (seed 0, sweep_steps steps), "
             "CosFace's settings (with a margin, and at margin 0: the normalised softmax) by "
             "the validation sweep of scripts/sweep_cosface_09.py (settings['cosface']); each "
             "seed trained for steps steps (settings['steps_by_loss']; batches of 48 images "
             "but the 5-shot prototypes', settings['batches']) and scored once on the test alphabet "
             "(retrieval, 20-way k-shot by prototypes) and Lake's 20 runs (one-shot)",
        settings={**s, "steps_by_loss": {n: steps_of(n, args.steps) for n in LOSSES},
                  "batches": {n: [v.p, v.k] for n, v in LOSSES.items()},
                  "within_alphabet": [n for n, v in LOSSES.items() if v.within_alphabet],
                  "cosface": cosface,
                  "trained_last": trained},
        steps=args.steps, sweep_steps=args.sweep_steps,
        seeds=tuple(range(args.seeds)), sweep=tuple(sweep), margins=chosen, runs=tuple(runs),
        pixels={k: float(v) for k, v in pixels.items()},
        machine=common.study_machine(),
        total_minutes=round(minutes, 1),
        date=time.strftime("%Y-%m-%d"),
        parameters={n: v.parameter for n, v in LOSSES.items() if v.parameter})
    results.write_study(args.out, study)
    progress.finish()
    print(f"wrote {args.out} in {study.total_minutes} min")
    return study


if __name__ == "__main__":
    main()
