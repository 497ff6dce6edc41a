"""The module map in ``course_lib``'s package docstring is the only one, and it is true: it lists
exactly the package's modules, and each module's own docstring names the notebook the map gives."""

import importlib
import pkgutil
import re
from pathlib import Path

import course_lib

_ROW = re.compile(r"^(?P<module>[a-z_]+)\s{2,}(?P<job>.+?)\s{2,}(?P<notebook>\d\d|\(all\))\s*$")


def module_map() -> dict[str, str]:
    """The map's rows: module name -> the notebook column (``"01"`` ... or ``"(all)"``)."""
    rows = {}
    for line in (course_lib.__doc__ or "").splitlines():
        row = _ROW.match(line.strip())
        if row and row.group("module") != "module":
            rows[row.group("module")] = row.group("notebook")
    return rows


def test_the_map_lists_exactly_the_modules_of_the_package():
    modules = {m.name for m in pkgutil.iter_modules(course_lib.__path__)
               if not m.name.startswith("_")}
    listed = set(module_map())
    assert listed, "no module map found in course_lib's package docstring"
    assert not modules - listed, f"modules missing from the map: {sorted(modules - listed)}"
    assert not listed - modules, f"the map lists modules that do not exist: {sorted(listed - modules)}"


def test_each_module_docstring_names_the_notebook_of_its_row():
    wrong = []
    for name, notebook in module_map().items():
        doc = importlib.import_module(f"course_lib.{name}").__doc__ or ""
        said = "Used by every module." if notebook == "(all)" else f"Introduced in notebook {notebook}."
        if said not in " ".join(doc.split()):
            wrong.append(f"{name} (expected {said!r})")
    assert not wrong, f"module docstrings that do not say where the map says: {wrong}"


def test_the_readme_keeps_no_second_copy_of_the_map():
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text(encoding="utf-8")
    copies = [m for m in module_map() if re.search(rf"^\|\s*`{m}`\s*\|", text, re.MULTILINE)]
    assert len(copies) < 3, f"README.md has its own module table ({copies}); link the package docs"
