"""Notebook 09's hunt for why CosFace trailed the plain classifier: a small sweep on the
validation alphabet (never the test), 3 seeds per setting.

Each setting trains :func:`course_lib.unseen.train_embedding` on notebook 07's protocol for
``--steps`` steps of 16 x 3 images (the budget of a run of ``scripts/study_09.py``), in
``--chunks`` chunks, and records for each seed:

- the validation MAP@R and recall@1 at the end, and the validation MAP@R after each chunk
  (the number of steps: where a setting stands at half the budget, and whether it still
  climbs when the budget ends; a chunk boundary changes nothing in training);
- the training accuracy and loss of the last chunk (as ``fit`` computed them on the training
  batches: does the head fit the 360 training classes at all?).

The settings: the plain classifier (the baseline CosFace trailed), and CosFace at scales
16, 30 and 64 with margins 0 to 0.35, its class centres initialised at Keras's default length
or ten times shorter (under Adam a centre ten times shorter turns about ten times faster: the
centres' learning rate times ten; see :class:`course_lib.losses.CosineClassifier`). Every run
is read out twice: as trained (CosFace on the unit sphere, the classifier raw) and the other
way (CosFace before its unit-length layer, the classifier scaled to unit length).

The choice, on validation only: ``scripts/study_09.py`` trains the CosFace setting with a
margin > 0 of the highest mean validation MAP@R over the seeds (its row "CosFace"), and the
best setting of margin 0 (its row "normalised softmax"), each with its read-out.

Usage (heavy: wrap it in the machine lock; about 15 minutes on 2 idle CPU cores):
    flock /tmp/course_heavy.lock .venv/bin/python -m scripts.sweep_cosface_09
Writes notebooks/results/09_cosface_sweep.json through course_lib.results.write_study, as a
:class:`course_lib.results.LossStudy` whose "losses" are the settings with their read-out and
whose scores are validation scores; notebook 09 reads it with
``course_lib.results.read_losses("results/09_cosface_sweep.json")``. ``--resume`` skips the
runs kept in ``09_cosface_sweep.partial.json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import common
from scripts.study_cli import study_parser

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "results" / "09_cosface_sweep.json"

SETTINGS = {"split": "background_small1", "validation": ["Early_Aramaic"], "test": ["Greek"],
            "image_size": 28, "p": 16, "k": 3, "embedding_dim": 64, "learning_rate": 1e-3}
#: How much shorter than Keras's default (Glorot) the "centres x10" setting starts them.
FASTER_CENTRES = 10.0


@dataclass(frozen=True)
class Setting:
    """One setting of the sweep: the loss (``"CosFace"`` or ``"softmax classifier"``), its
    scale and margin (CosFace) and how much faster than by default the class centres learn."""

    loss: str
    scale: float | None = None
    margin: float | None = None
    centres: float = 1.0

    @property
    def name(self) -> str:
        """The setting's name in the file, e.g. ``"CosFace s=30 m=0.2, centres x10"``."""
        if self.loss != "CosFace":
            return self.loss
        return f"CosFace s={self.scale:g} m={self.margin:g}, centres x{self.centres:g}"


GRID = (
    Setting("softmax classifier"),
    Setting("CosFace", 16.0, 0.0, 1.0),      # 09's first choice: a normalised softmax
    Setting("CosFace", 16.0, 0.0, FASTER_CENTRES),
    Setting("CosFace", 16.0, 0.2, FASTER_CENTRES),
    Setting("CosFace", 30.0, 0.1, FASTER_CENTRES),
    Setting("CosFace", 30.0, 0.2, 1.0),
    Setting("CosFace", 30.0, 0.2, FASTER_CENTRES),
    Setting("CosFace", 30.0, 0.35, 1.0),
    Setting("CosFace", 30.0, 0.35, FASTER_CENTRES),
    Setting("CosFace", 64.0, 0.35, 1.0),     # the paper's s and m for faces
    Setting("CosFace", 64.0, 0.35, FASTER_CENTRES),
)
#: The second read-out of each loss, after the one it trains with.
OTHER_READOUT = {"CosFace": "raw", "softmax classifier": "unit length"}
TRAINED_READOUT = {"CosFace": "unit length", "softmax classifier": "raw"}


def row_name(setting: Setting, readout: str) -> str:
    """The file's name of a setting read out one way: ``"<setting>, read <readout>"``."""
    return f"{setting.name}, read {readout}"


def centres_initializer(factor: float):
    """Keras's Glorot-uniform initializer with every value divided by ``factor``."""
    import keras

    return keras.initializers.VarianceScaling(1.0 / factor ** 2, "fan_avg", "uniform")


def train(setting: Setting, seed: int, steps: int, chunks: int, protocol, on_chunk):
    """One run of ``setting`` (an :class:`course_lib.unseen.EmbeddingRun`), its training
    accuracy compiled as the metric ``"accuracy"``."""
    import keras

    from course_lib import losses, unseen

    c = protocol.num_train_classes
    # the head's initializer draws its seed when it is made: seed first (see study_09.train)
    keras.utils.set_random_seed(seed)
    if setting.loss == "CosFace":
        loss = losses.CosFaceLoss(setting.scale, setting.margin)
        head = losses.CosineClassifier(c, centres_initializer(setting.centres),
                                       name="class_centres")
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        head = keras.layers.Dense(c, name="classifier")
    s = SETTINGS
    return unseen.train_embedding(
        loss, protocol, steps=steps, seed=seed, sampler="pk", p=s["p"], k=s["k"], head=head,
        normalise=setting.loss == "CosFace", embedding_dim=s["embedding_dim"],
        learning_rate=s["learning_rate"], chunks=chunks, on_chunk=on_chunk,
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])


def readouts(setting: Setting, embed):
    """``{read-out name: model}``: the embedding as trained, and the other read-out."""
    import keras

    if setting.loss == "CosFace":   # the unit-length layer is the model's last
        raw = keras.Model(embed.input, embed.get_layer("unit_sphere").input, name="raw")
        return {"unit length": embed, "raw": raw}
    inputs = keras.Input(embed.input_shape[1:])
    unit = keras.Model(inputs, keras.layers.UnitNormalization()(embed(inputs)), name="unit")
    return {"raw": embed, "unit length": unit}


def main(argv=None):
    parser = study_parser(__doc__, OUT)
    parser.add_argument("--chunks", type=int, default=6)
    args = parser.parse_args(argv)

    import numpy as np

    from course_lib import evaluate, results, unseen

    start = time.perf_counter()
    s = SETTINGS
    configs = {row_name(g, r): {"loss": g.loss, "scale": g.scale, "margin": g.margin,
                                "centres": g.centres, "readout": r}
               for g in GRID for r in (TRAINED_READOUT[g.loss], OTHER_READOUT[g.loss])}
    progress = results.StudyProgress(
        args.out, {"settings": s, "steps": args.steps, "chunks": args.chunks,
                   "configs": configs}, resume=args.resume)
    protocol = unseen.omniglot_protocol(s["split"], s["validation"], s["test"], s["image_size"])

    def validation(model) -> dict:
        e = np.asarray(model.predict(protocol.x_val, batch_size=512, verbose=0))
        return dict(evaluate.retrieval_scores(e, protocol.y_val, ks=(1,)))

    runs = []
    for seed in range(args.seeds):
        for g in GRID:
            names = [row_name(g, r) for r in (TRAINED_READOUT[g.loss], OTHER_READOUT[g.loss])]
            found = [progress.run(n, seed) for n in names]
            if all(found):
                runs += found
                continue
            run = train(g, seed, args.steps, args.chunks, protocol,
                        lambda embed: {"validation map@r": validation(embed)["map@r"]})
            last = run.log[-1]
            curve = {f"validation map@r, step {row['step']}": row["validation map@r"]
                     for row in run.log[1:-1]}
            for readout, model in readouts(g, run.embed).items():
                scored = validation(model)
                scores = {"validation map@r": float(scored["map@r"]),
                          "validation recall@1": float(scored["recall@1"]),
                          **(curve if readout == TRAINED_READOUT[g.loss] else {}),
                          "training accuracy": float(last["accuracy"]),
                          "training loss": float(last["loss"])}
                runs.append(progress.add_run(results.LossRun(
                    row_name(g, readout), seed, g.margin, scores, round(run.seconds, 2))))
                print(f"seed {seed} {row_name(g, readout):>52}: {run.seconds:5.1f} s, "
                      f"validation MAP@R {scores['validation map@r']:.4f}, training accuracy "
                      f"{scores['training accuracy']:.3f}", flush=True)
    mean = {n: float(np.mean([x.scores["validation map@r"] for x in runs if x.loss == n]))
            for n in configs}
    cosface = [n for n in configs if configs[n]["loss"] == "CosFace"]
    chosen = {"CosFace": max((n for n in cosface if configs[n]["margin"] > 0), key=mean.get),
              "normalised softmax": max((n for n in cosface if configs[n]["margin"] == 0),
                                        key=mean.get)}
    for row, n in chosen.items():
        print(f"chosen for {row}: {n} (mean validation MAP@R {mean[n]:.4f})")
    x_val = protocol.x_val.reshape(len(protocol.x_val), -1)
    pixels = {f"validation {k}": float(v) for k, v in
              evaluate.retrieval_scores(x_val, protocol.y_val, ks=(1,)).items()}
    study = results.LossStudy(
        what="notebook 09's CosFace hunt: each setting (loss, scale s, margin m, how fast the "
             "class centres learn, read-out) trained for steps steps of 48 images with each "
             "seed on notebook 07's protocol and scored on the validation alphabet only; "
             "settings['chosen'] names the settings scripts/study_09.py trains (highest mean "
             "validation MAP@R, with a margin > 0 and with margin 0)",
        settings={**s, "chunks": args.chunks, "faster_centres": FASTER_CENTRES,
                  "configs": configs, "chosen": chosen},
        steps=args.steps, sweep_steps=args.steps, seeds=tuple(range(args.seeds)), sweep=(),
        margins={n: configs[n]["margin"] for n in configs}, runs=tuple(runs), pixels=pixels,
        machine=common.study_machine(),
        total_minutes=round((time.perf_counter() - start) / 60, 1),
        date=time.strftime("%Y-%m-%d"),
        parameters={n: "margin" for n in configs if configs[n]["margin"] is not None})
    results.write_study(args.out, study)
    progress.finish()
    print(f"wrote {args.out} in {study.total_minutes} min")
    return study


if __name__ == "__main__":
    main()
