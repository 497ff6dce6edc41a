"""nbval runs every exercise cell with its reference solution in place of the learner's code.

A notebook cell tagged ``exercise`` starts with the learner's placeholder and ends with one
line ``nbNN.qK.check()``. Under ``pytest --nbval`` / ``--nbval-lax`` this hook replaces
everything above that line with the reference solution, ``course_lib.exercises.nbNN.qK``'s
``solution_code`` (the code ``qK.solution()`` prints), and sets ``COURSE_EXERCISES_STRICT=1``
for the notebook kernels, so that a check that does not pass raises and fails the cell. The
stored notebook keeps the placeholder (see notebooks/CONVENTIONS.md, "Exercises").
"""

import copy
import importlib
import os
import pkgutil

import pytest

EXERCISE_TAG = "exercise"


def _exercise_modules():
    import course_lib.exercises as exercises

    return {m.name: importlib.import_module(f"course_lib.exercises.{m.name}")
            for m in pkgutil.iter_modules(exercises.__path__) if m.name.startswith("nb")}


def pytest_collection_modifyitems(config, items):
    cells = [item for item in items if EXERCISE_TAG in
             getattr(getattr(item, "cell", None), "metadata", {}).get("tags", ())]
    if not cells:
        return
    from course_lib.exercises import STRICT_ENV, with_solution

    modules = _exercise_modules()
    for item in cells:
        cell = copy.deepcopy(item.cell)        # the notebook on disk is not touched
        try:
            cell.source = with_solution(cell.source, modules)
        except ValueError as err:
            raise pytest.UsageError(f"{item.nodeid}: {err}") from None
        item.cell = cell
        # its output differs from the stored one ("Correct" for "Not attempted yet"), even
        # under --nbval's output comparison
        item.options["check"] = False
    # The kernels start after collection and inherit the environment: every check is strict.
    os.environ[STRICT_ENV] = "1"
