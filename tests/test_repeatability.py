"""Repeatability: a notebook run twice in fast mode with the same seed records the same numbers.

The notebook is written here (a tiny one, so the test takes seconds): it trains a small
course_lib Siamese model for a few steps on scikit-learn's 8x8 digits, measures it, and calls
``results.record``, as every course notebook does. Each run gets its own build folder; the
two ``results.json`` files must hold identical numbers, to the last bit.
"""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

pytest.importorskip("nbclient")
from tools import runner  # noqa: E402

CELLS = [
    """
from course_lib import config, data, evaluate, losses, models, pairs, results

SEED = config.pick(full=0, fast=0)
STEPS = config.pick(full=200, fast=30)
config.seed_everything(SEED)
""",
    """
x, y = data.load_digits_8x8()
train, test = slice(0, 1400), slice(1400, None)
encoder = models.mlp_encoder(input_shape=(8, 8), embedding_dim=4, hidden=32)
model = models.siamese(encoder)
model.compile(optimizer="adam", loss=losses.ContrastiveLoss(margin=1.0))
history = model.fit(pairs.pair_dataset(x[train], y[train], batch_size=64, seed=SEED,
                                       steps=STEPS), epochs=2, verbose=0)
""",
    """
emb = encoder.predict(x[test], verbose=0)
val_l, val_r, val_labels = pairs.pair_indices(y[test], 200, seed=SEED)
test_l, test_r, test_labels = pairs.pair_indices(y[test], 200, seed=SEED + 1)
report = evaluate.verification_report(evaluate.pair_distances(emb, val_l, val_r), val_labels,
                                      evaluate.pair_distances(emb, test_l, test_r), test_labels)
results.record("99_repeatability", loss=float(history.history["loss"][-1]),
               accuracy=report.accuracy, auc=report.roc_auc,
               first_embedding=[float(v) for v in emb[0]])
""",
]


@pytest.mark.slow
def test_same_seed_same_recorded_numbers(tmp_path, monkeypatch):
    source = tmp_path / "99_repeatability.ipynb"
    nb = new_notebook(cells=[new_code_cell(c.strip()) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, source)
    monkeypatch.setenv("COURSE_FAST", "1")
    recorded = []
    for run in ("first", "second"):
        build = tmp_path / run
        monkeypatch.setenv("COURSE_BUILD_DIR", str(build))   # the kernel inherits it
        runner.execute(source, build / "executed.ipynb", timeout=300)
        recorded.append(json.loads((build / "results.json").read_text())["99_repeatability"])
    first, second = recorded
    assert first["fast_mode"] is True
    assert set(first) == {"fast_mode", "loss", "accuracy", "auc", "first_embedding"}
    assert 0.6 < first["auc"] <= 1.0       # it did learn something, so the numbers mean something
    assert first == second
