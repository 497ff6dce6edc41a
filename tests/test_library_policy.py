"""The library's house rules that no single module's tests see: calls to ``checks`` are not
hidden behind aliases, flags go through ``checks.boolean``, a wrong type is a TypeError, one
call path checks its labels once, the Keras objects follow Keras's idioms, the mining losses
document their options once, comments carry no issue numbers, and the toy data of the tests has
one home (the root ``conftest.py``)."""

import ast
import re
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import course_lib
from course_lib import (
    checks,
    config,
    distances,
    distribute,
    evaluate,
    folders,
    layers,
    losses,
    pk_sampling,
    projector,
    splits,
)

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted(Path(course_lib.__file__).parent.rglob("*.py"))
# oneshot.py is being rewritten on its own branch, which removes its aliases there.
_ELSEWHERE = {"oneshot.py"}


def _module_level_aliases(path: Path) -> list[str]:
    """``_name = checks.something`` (or any ``module.function``) at a module's top level."""
    aliases = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id.startswith("_")
                and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "checks"):
            aliases.append(f"{path.name}:{node.lineno} {node.targets[0].id}")
    return aliases


def test_no_module_hides_a_check_behind_an_alias():
    found = [a for p in LIBRARY if p.name not in _ELSEWHERE for a in _module_level_aliases(p)]
    assert not found, f"call checks.* directly, so that grep finds every call: {found}"


def test_the_differentiable_distance_has_one_name():
    assert not hasattr(losses, "pairwise_distances")
    assert "pairwise_distances" not in losses.__all__
    used = [p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]*_*.py")
            if "losses.pairwise_distances" in p.read_text(encoding="utf-8")]
    assert not used, f"notebooks still call losses.pairwise_distances: {used}"


_E = np.random.default_rng(0).random((6, 2)).astype(np.float32)
_L = np.array([0, 0, 1, 1, 2, 2])

# (argument name, call given that argument's value)
FLAGS = [
    ("squared", lambda v: losses.batch_all_triplet_loss(_L, _E, squared=v)),
    ("squared", lambda v: losses.BatchHardTripletLoss(squared=v)),
    ("squared", lambda v: losses.ActiveTripletFraction(squared=v)),
    ("squared", lambda v: layers.EuclideanDistance(squared=v)),
    ("squared", lambda v: distances.keras_pairwise(_E, squared=v)),
    ("check_labels", lambda v: losses.contrastive_loss([1.0], [0.5], check_labels=v)),
    ("check_labels", lambda v: losses.ContrastiveLoss(check_labels=v)),
    ("enabled", lambda v: distribute.set_mixed_precision(v)),
    ("refresh", lambda v: distribute.get_strategy(refresh=v)),
    ("deterministic", lambda v: config.seed_everything(0, deterministic=v)),
    ("check_files", lambda v: folders.scan_image_folder(".", check_files=v)),
    ("warn", lambda v: folders.scan_image_folder(".", warn=v)),
    ("include_curve", lambda v: evaluate.verification_report(
        [0.1, 0.9], [1, 0], [0.2, 0.8], [1, 0]).as_dict(include_curve=v)),
    ("exclude_self", lambda v: distances.nearest(_E, _E, exclude_self=v)),
    ("overwrite", lambda v: projector.write_projector("run", _E, _L, overwrite=v)),
]


@pytest.mark.parametrize("name,call", FLAGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FLAGS)])
def test_flags_go_through_checks_boolean(name, call):
    with pytest.raises(TypeError, match=f"{name} must be a bool, got str 'yes'"):
        call("yes")
    with pytest.raises(TypeError, match=f"{name} must be a bool, got int 1"):
        call(1)


WRONG_TYPES = [
    ("offsets", lambda: layers.ShiftedViews(5)),
    (r"offsets\[1\]", lambda: layers.ShiftedViews([(0, 0), 5])),
    ("held_out", lambda: splits.held_out_split([0, 1, 2], ["a", "b", "c"], 3)),
    ("group_names", lambda: splits.held_out_split([0, 1, 2], 3, ["a"])),
    ("group_names", lambda: splits.held_out_split([0, 1, 2], "abc", ["a"])),
    (r"pairs\[0\]", lambda: evaluate.compare_many({"p": [0.5, 0.6], "q": [0.4, 0.5]}, ["pq"],
                                                  paired=True)),
]


@pytest.mark.parametrize("name,call", WRONG_TYPES, ids=[n for n, _ in WRONG_TYPES])
def test_a_wrong_type_is_a_type_error_naming_the_argument(name, call):
    with pytest.raises(TypeError, match=name):
        call()


def test_right_types_with_wrong_values_stay_value_errors():
    with pytest.raises(ValueError, match="non-empty"):
        layers.ShiftedViews([])
    with pytest.raises(ValueError, match=r"offsets\[0\] must be a \(dy, dx\) pair"):
        layers.ShiftedViews([(0, 0, 0)])


def _count_label_checks(monkeypatch) -> list[str]:
    calls = []
    original = checks.class_labels

    def counted(y, name="y", ndim=1):
        calls.append(name)
        return original(y, name, ndim)

    monkeypatch.setattr(checks, "class_labels", counted)
    return calls


def test_pk_dataset_checks_y_once(monkeypatch):
    y = np.repeat(np.arange(4), 3)
    calls = _count_label_checks(monkeypatch)
    ds = pk_sampling.pk_dataset(np.zeros((12, 2), np.float32), y, p=2, k=2)
    assert calls == ["y"]
    assert len(list(ds)) == pk_sampling.epoch_batches(y, 2, 2)


def test_path_pk_dataset_checks_y_once(monkeypatch, tmp_path):
    y = np.repeat(np.arange(4), 3)
    paths = []
    for i, label in enumerate(y):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(np.full((4, 4), 20 * label, np.uint8)).save(paths[-1])
    calls = _count_label_checks(monkeypatch)
    ds = folders.path_pk_dataset([str(p) for p in paths], y, p=2, k=2, image_size=(4, 4))
    assert calls == ["y"]
    images, labels = next(iter(ds))                 # each image shows its label: 20 * label
    np.testing.assert_allclose(images.numpy()[:, 0, 0, 0] * 255, 20 * labels.numpy(), atol=0.5)
    with pytest.raises(ValueError, match="paths has 11 entries but y has 12"):
        folders.path_pk_dataset([str(p) for p in paths[:-1]], y, p=2, k=2)


def test_active_triplet_fraction_config_keeps_the_keras_entries():
    metric = losses.ActiveTripletFraction(margin=0.3, squared=True, name="act", dtype="float32")
    config_ = metric.get_config()
    assert {"name", "dtype"} <= set(config_)
    assert config_ == {**keras.metrics.Mean(name="act", dtype="float32").get_config(),
                       "margin": 0.3, "squared": True, "epsilon": 1e-6,
                       "inputs": "embeddings"}
    again = losses.ActiveTripletFraction.from_config(config_)
    assert (again.name, again.margin, again.squared) == ("act", 0.3, True)


def test_the_losses_call_no_tensorflow_assertions():
    sources = {p.name: p.read_text(encoding="utf-8")
               for p in (Path(losses.__file__).parent).glob("*.py")}
    found = [name for name, text in sources.items() if "tf.debugging" in text]
    assert not found, f"tf.debugging ties a loss to TensorFlow and XLA drops it: {found}"


def test_weighted_l1_similarity_builds_weights_and_no_sublayer():
    layer = layers.WeightedL1Similarity()
    layer([keras.ops.ones((2, 3)), keras.ops.zeros((2, 3))])
    assert not layer._flatten_layers(include_self=False)
    assert [w.path.split("/")[-1] for w in layer.weights] == ["alpha", "bias"]


def test_the_mining_losses_document_their_options_once():
    text = Path(losses.mining.__file__).read_text(encoding="utf-8")
    for entry in ("margin: the margin of the hinge", "reduction: how Keras reduces the shares",
                  "dtype: the dtype of the loss's computations"):
        assert text.count(entry) == 1, f"{entry!r} is written {text.count(entry)} times"
    for cls in (losses.BatchHardTripletLoss, losses.SemiHardTripletLoss):
        assert cls().name == cls._function.__name__


def test_library_comments_carry_no_issue_numbers():
    pattern = re.compile(r"\bissues?\s*#?\d+", re.IGNORECASE)
    found = [f"{p.name}:{i}" for p in LIBRARY
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(line)]
    assert not found, f"say what the code does, not which issue asked for it: {found}"


def test_module_docstrings_name_the_libraries_they_import():
    wrong = []
    for path in LIBRARY:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        doc = " ".join((ast.get_docstring(tree) or "").split())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.Import) for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom)}
        claim = re.search(r"([\w, -]+) only\b", doc)
        if claim and "scipy" in imported and "SciPy" not in claim.group(1):
            wrong.append(f"{path.name}: {claim.group(0)!r}")
    assert not wrong, f"docstrings that leave an imported library out of their 'only': {wrong}"


_TOY = re.compile(r"(None\]|\))\s*\+\s*rng\.random\(")     # labels broadcast + noise


def test_the_class_coded_toy_data_has_one_home():
    files = [p for d in ("tests", "benchmarks", "tools") for p in (ROOT / d).rglob("*.py")]
    copies = [f"{p.relative_to(ROOT)}:{i}" for p in files
              for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
              if _TOY.search(line)]
    assert not copies, f"use the class_coded_images fixture of conftest.py: {copies}"
    assert _TOY.search((ROOT / "conftest.py").read_text(encoding="utf-8"))

