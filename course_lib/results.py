"""Headline numbers of each notebook, gathered in ``build/results.json`` for the course table."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from course_lib.config import build_dir, fast_mode

__all__ = ["format_table", "main", "record", "results_path"]


def results_path() -> Path:
    """The shared results file.

    Returns:
        ``results.json`` in :func:`course_lib.config.build_dir`.
    """
    return build_dir() / "results.json"


def record(notebook: str, **numbers) -> dict:
    """Store ``numbers`` (name=value, JSON-serialisable) under ``notebook``, keeping other notebooks'.

    The file is replaced atomically, so a crash never leaves it half written.

    Args:
        notebook: the notebook's name, e.g. ``"01_introduction"``.
        **numbers: its headline numbers (plain floats, ints, strings).

    Returns:
        The entry stored for ``notebook`` (with ``fast_mode`` added).

    Raises:
        TypeError: ``notebook`` is not a str.
        ValueError: ``notebook`` is empty or a number is NaN/infinite.
    """
    if not isinstance(notebook, str):
        raise TypeError(f"notebook must be a str, got {type(notebook).__name__} {notebook!r}")
    if not notebook:
        raise ValueError("notebook must be a non-empty string, got ''")
    for name, value in numbers.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    path = results_path()
    table = json.loads(path.read_text()) if path.exists() else {}
    table[notebook] = {"fast_mode": fast_mode(), **numbers}
    text = json.dumps(table, indent=2, sort_keys=True, default=float)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".json")
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)
    return table[notebook]


def format_table(table: dict) -> str:
    """A markdown table with one row per notebook headline number.

    Args:
        table: the contents of ``results.json``: ``{notebook: {quantity: value}}``.

    Returns:
        The table as markdown text.
    """
    rows = ["| notebook | quantity | value |", "| --- | --- | --- |"]
    for notebook in sorted(table):
        for name, value in table[notebook].items():
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            rows.append(f"| {notebook} | {name} | {shown} |")
    return "\n".join(rows)


def main() -> None:
    """Print the course's results table (``python -m course_lib.results``)."""
    path = results_path()
    if not path.exists():
        raise SystemExit(f"no results yet: {path} is missing (run `make course` first)")
    print(format_table(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
