"""pyproject.toml and environment.yml name the same packages; the repo ships MNIST."""

import ast
import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the tests run on 3.11

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["dev"]}
    text = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    items = [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ")]
    listed = {_name(i) for i in items if not i.endswith(":") and not i.startswith("-e")}
    listed -= {"python", "pip"}
    assert wanted == listed


def test_constraints_pin_every_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = {_name(line) for line in (ROOT / "constraints.txt").read_text().splitlines()
              if "==" in line}
    deps = project["dependencies"] + project["optional-dependencies"]["dev"]
    assert {_name(r) for r in deps} <= pinned


def test_mnist_is_shipped():
    names = {p.name for p in (ROOT / "data" / "mnist").glob("*.gz")}
    assert names == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                     "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}


def _imports(path: Path) -> set[str]:
    """Top-level module names a Python file imports (absolute imports only). In a notebook's
    jupytext source, a magic such as ``%pip`` is commented out: it becomes a ``pass``."""
    text = re.sub(r"^(\s*)# %.*$", r"\1pass", path.read_text(), flags=re.MULTILINE)
    tree = ast.parse(text)
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module and not n.level}
    return {n.split(".")[0] for n in names}


def test_installed_package_holds_no_tooling():
    # The benchmark and the notebook runner live beside the package (benchmarks/, tools/):
    # nothing a learner imports needs the dev-only notebook machinery.
    package = ROOT / "course_lib"
    assert not (package / "bench.py").exists() and not (package / "runner.py").exists()
    used = set().union(*(_imports(p) for p in package.rglob("*.py")))
    assert not used & {"nbclient", "nbformat", "jupytext", "nbval", "pytest"}
    assert {"nbclient", "nbformat", "jupytext"} <= _imports(ROOT / "tools" / "runner.py")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["packages"] == ["course_lib", "course_lib.exercises"]


_IMPORT_NAMES = {"scikit-learn": "sklearn", "pillow": "PIL"}


def test_runtime_dependencies_are_exactly_what_the_course_imports():
    # What course_lib and the notebook sources import must be declared, and every declared
    # runtime dependency must be imported somewhere (no tqdm-style leftovers).
    import sys

    files = list((ROOT / "course_lib").rglob("*.py")) + list(
        (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    imported = set().union(*(_imports(p) for p in files))
    third_party = {m for m in imported
                   if m not in sys.stdlib_module_names and m not in {"course_lib", "__future__"}}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_IMPORT_NAMES.get(_name(r), _name(r)) for r in project["dependencies"]}
    assert third_party - declared == set(), "imported but not declared"
    assert declared - third_party == set(), "declared but never imported"
