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
    # Every subpackage on disk is listed, or a wheel install (Colab) would leave it out.
    on_disk = ["course_lib"] + sorted(f"course_lib.{d.name}" for d in package.iterdir()
                                      if (d / "__init__.py").is_file())
    assert project["tool"]["setuptools"]["packages"] == on_disk


_IMPORT_NAMES = {"scikit-learn": "sklearn", "pillow": "PIL"}


def test_runtime_dependencies_are_exactly_what_the_course_imports():
    # What course_lib and the notebook sources import must be declared, and every declared
    # runtime dependency must be imported somewhere (no tqdm-style leftovers).
    import sys

    files = list((ROOT / "course_lib").rglob("*.py")) + list(
        (ROOT / "notebooks").glob("[0-9][0-9]*_*.py"))
    imported = set().union(*(_imports(p) for p in files))
    third_party = {m for m in imported
                   if m not in sys.stdlib_module_names and m not in {"course_lib", "__future__"}}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_IMPORT_NAMES.get(_name(r), _name(r)) for r in project["dependencies"]}
    # faiss: gallery.FaissSearch imports it only when asked for, and says how to install it
    # when it is missing; the README names it as optional. Not a dependency.
    optional = {"faiss"}
    assert third_party - declared - optional == set(), "imported but not declared"
    assert declared - third_party == set(), "declared but never imported"


def _floor(requirement: str) -> str:
    """The version after ``>=`` in a requirement ("keras>=3.8" -> "3.8"); the test fails without one."""
    match = re.search(r">=\s*([0-9][0-9a-z.]*)", requirement)
    assert match, f"{requirement!r} has no lower bound"
    return match.group(1)


def _release(version: str) -> tuple:
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def test_floor_constraints_are_the_lowest_versions_pyproject_allows():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["dev"]
    pins = dict(line.split("==") for line in (ROOT / "constraints-floor.txt").read_text()
                .splitlines() if "==" in line and not line.startswith("#"))
    assert {_name(p) for p in pins} == {_name(r) for r in deps}
    for requirement in deps:
        pin = pins[next(p for p in pins if _name(p) == _name(requirement))]
        assert _release(pin) == _release(_floor(requirement)), (requirement, pin)


def test_ranges_say_what_was_tested():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = meta["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
    assert project["license"] == "MIT"                 # an SPDX expression, not a table
    setuptools_req = next(r for r in meta["build-system"]["requires"] if _name(r) == "setuptools")
    assert _release(_floor(setuptools_req)) >= (77, 0, 0)   # the first to read SPDX strings
    floors = {_name(r): _release(_floor(r)) for r in project["dependencies"]}
    assert floors["keras"] >= (3, 8, 0) and floors["tensorflow"] >= (2, 16, 1)
    assert floors["pillow"] >= (9, 1, 0) and floors["matplotlib"] >= (3, 8, 0)
    readme = (ROOT / "README.md").read_text()
    assert "Python 3.11, 3.12 or 3.13" in readme and "3.10+" not in readme


def test_environment_yml_has_the_same_floors_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    text = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    items = [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ")]
    listed = {_name(i): i for i in items if ">=" in i}
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert _floor(listed[_name(requirement)]) == _floor(requirement), requirement
    python = next(i for i in items if i.startswith("python="))
    assert python.split("=")[1] in {"3.11", "3.12", "3.13"}


def _make(*args, **env):
    import os
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)


def test_make_lab_allows_root_and_passes_lab_args(tmp_path):
    import os

    venv = tmp_path / "venv"          # a venv that looks installed, so make -n shows only lab
    (venv / "bin").mkdir(parents=True)
    (venv / ".installed").touch()
    os.utime(venv / ".installed", (2**31, 2**31))
    run = _make("lab", f"VENV={venv}", "LAB_ARGS=--no-browser --port=8899")
    assert run.returncode == 0, run.stderr
    command = run.stdout
    assert "jupyter lab" in command and "--no-browser --port=8899" in command
    assert ("--allow-root" in command) == (os.getuid() == 0)
    assert "'jupyterlab_jupytext': False" in command and "[0-9][0-9]*_*.py" in command


def test_make_stops_on_an_unsupported_python(tmp_path):
    import subprocess
    import sys

    fake = tmp_path / "python3.10"    # answers like a Python 3.10 for the version check
    fake.write_text(f"#!{sys.executable}\nimport sys\n"
                    "sys.version_info = (3, 10, 13, 'final', 0)\n"
                    "assert sys.argv[1] == '-c'\n"
                    "exec(sys.argv[2])\n")
    fake.chmod(0o755)
    run = subprocess.run(["make", f"PYTHON={fake}", f"VENV={tmp_path / 'venv'}", "lint"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "needs Python 3.11 to 3.13" in run.stderr and "is Python 3.10" in run.stderr
    assert not (tmp_path / "venv").exists()
