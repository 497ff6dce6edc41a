"""The library's public surface: every module (those of subpackages such as ``losses``
included) lists its public names in ``__all__``, every public function and class documents
each of its arguments in its ``Args:`` section, and ``import course_lib`` defines the
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
    # The exercises are the learner's code (registered under the learner's own package name).
    sources = {str(path.relative_to(root)): path.read_text() for path in sorted(root.rglob("*.py"))
               if path.parent.name != "exercises"}
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


_SECTION = re.compile(r"^(Args|Arguments|Attributes|Returns|Yields|Raises|Notes?|Examples?):\s*$")
_ENTRY = re.compile(r"^(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?:\([^)]*\))?\s*:(?:\s|$)")


def documented_names(doc: str, section: str = "Args") -> list[str]:
    """The names a Google-style docstring documents in one section, in order.

    An entry is a line at the section's first indentation that reads ``name: text``,
    ``name (type): text`` or ``a, b: text`` (several names sharing one description); deeper
    indented lines continue the entry above them, so a name mentioned in another entry's text
    is not documented by it.
    """
    lines = doc.splitlines()
    names: list[str] = []
    inside, indent = False, None
    for line in lines:
        stripped = line.strip()
        if not inside:
            inside = stripped == f"{section}:"
            continue
        if not stripped:
            continue
        here = len(line) - len(line.lstrip())
        if _SECTION.match(stripped) and (indent is None or here < indent):
            break
        if indent is None:
            indent = here
        if here < indent:
            break
        if here == indent:
            entry = _ENTRY.match(stripped)
            if entry:
                names += [n.strip().lstrip("*") for n in entry.group("names").split(",")]
    return names


def test_documented_names_reads_entries_not_mentions():
    doc = """Summary.

    Args:
        query_emb: (Q, D) embeddings. query_y: (Q,) integer labels.
        gallery_emb, gallery_y: the reference set; k: not an entry, only text.
        metric (str): ``"euclidean"``
            or ``"cosine"``; x: still text.
        **kwargs: passed on.

    Returns:
        k: not an argument.
    """
    assert documented_names(inspect.cleandoc(doc)) == [
        "query_emb", "gallery_emb", "gallery_y", "metric", "kwargs"]
    assert documented_names("No sections here.") == []


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
        if init is not None and inspect.getdoc(init) and "Args:" in inspect.getdoc(init):
            doc = doc + "\n\n" + inspect.getdoc(init)
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
        listed = documented_names(doc)
        missing = [p for p in params if p not in listed]
        assert not missing, (f"{qualname}: arguments {missing} have no entry of their own in "
                             f"its Args section (it lists {listed})")
    if wants_returns:
        assert "Returns:" in doc, f"{qualname} documents no Returns"
