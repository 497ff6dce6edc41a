"""The library's public surface: every module lists its public names in ``__all__``."""

import importlib
import inspect
import pkgutil

import pytest

import course_lib

MODULES = sorted(m.name for m in pkgutil.iter_modules(course_lib.__path__)
                 if not m.name.startswith("_"))


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_its_public_names(name):
    module = importlib.import_module(f"course_lib.{name}")
    assert isinstance(module.__all__, list) and module.__all__, f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"course_lib.{name}.__all__ lists undefined names {missing}"
    defined_here = sorted(
        n for n, obj in vars(module).items()
        if not n.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module.__name__)
    unlisted = [n for n in defined_here if n not in module.__all__]
    assert not unlisted, f"course_lib.{name} defines public {unlisted} missing from __all__"
