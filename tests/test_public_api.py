"""The library's public surface: every module (those of subpackages such as ``losses``
included) lists its public names in ``__all__``, and ``import course_lib`` defines the
registration package name once."""

import dataclasses
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import course_lib

MODULES = sorted(m.name.removeprefix("course_lib.")
                 for m in pkgutil.walk_packages(course_lib.__path__, prefix="course_lib.")
                 if not any(part.startswith("_") for part in m.name.split(".")))


def test_walk_reaches_the_subpackages():
    assert {"losses", "losses.mining", "losses.nway", "losses.pair", "losses.triplet"} <= set(MODULES)


def test_the_registration_package_is_defined_once():
    assert course_lib.PACKAGE == "course_lib"
    root = Path(course_lib.__file__).parent
    sources = {str(path.relative_to(root)): path.read_text() for path in sorted(root.rglob("*.py"))}
    defining = [name for name, text in sources.items() if re.search(r"^PACKAGE = ", text, re.M)]
    assert defining == ["__init__.py"], defining
    packages = {name: re.findall(r"register_keras_serializable\((.*?)\)", text)
                for name, text in sources.items()}
    other = {name: found for name, found in packages.items()
             if any(arg != "package=PACKAGE" for arg in found)}
    assert not other, f"register with package=PACKAGE, not {other}"
    assert sum(map(len, packages.values())) >= 13


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


def _public_objects():
    for name in MODULES:
        module = importlib.import_module(f"course_lib.{name}")
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{name}.{attr}", obj


def _is_record(obj) -> bool:
    return inspect.isclass(obj) and (dataclasses.is_dataclass(obj) or (
        issubclass(obj, tuple) and hasattr(obj, "_fields")))


@pytest.mark.parametrize("qualname,obj", list(_public_objects()),
                         ids=[q for q, _ in _public_objects()])
def test_public_docstrings_have_args_and_returns(qualname, obj):
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj):
        init = vars(obj).get("__init__")
        params = [] if init is None else [
            p for p in inspect.signature(init).parameters if p not in ("self", "args")]
        wants_returns = False
    else:
        signature = inspect.signature(obj)
        params = list(signature.parameters)
        wants_returns = signature.return_annotation not in (None, "None")
    if params and _is_record(obj):
        # A dataclass or NamedTuple documents its fields, as Attributes or as Args.
        assert "Attributes:" in doc or "Args:" in doc, f"{qualname} documents no fields"
    elif params:
        assert "Args:" in doc, f"{qualname} documents no Args"
        for p in params:
            documented = p in doc
            assert documented, f"{qualname}: argument {p!r} is not in its docstring"
    if wants_returns:
        assert "Returns:" in doc, f"{qualname} documents no Returns"
