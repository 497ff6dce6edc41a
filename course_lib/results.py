"""Headline numbers of each notebook, gathered in ``build/results.json`` for the course table;
and the study files that the repository's scripts write for the notebooks to read.

Introduced in notebook 01.
"""

from __future__ import annotations

import json
from pathlib import Path

from course_lib.config import atomic_file, build_dir, fast_mode, repository_url

__all__ = ["STUDY_URL", "format_table", "main", "read_study", "record", "results_path"]

# Where the committed study files live online, for a notebook run without the repository (Colab).
STUDY_URL = repository_url("raw") + "notebooks/"


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

    A NaN or infinite number (Python's or NumPy's, alone or inside a list) is refused, not
    written: JSON has no such value, and ``null`` would read back as "no number" without a word.

    Raises:
        TypeError: ``notebook`` is not a str; a number that JSON cannot hold.
        ValueError: ``notebook`` is empty or a number is NaN/infinite (the message names it);
            the results file exists but is not a JSON object (the message names the file).
    """
    if not isinstance(notebook, str):
        raise TypeError(f"notebook must be a str, got {type(notebook).__name__} {notebook!r}")
    if not notebook:
        raise ValueError("notebook must be a non-empty string, got ''")
    for name, value in numbers.items():
        _json_value(name, value)
    path = results_path()
    table = _read_json(path) if path.exists() else {}
    if not isinstance(table, dict):
        raise ValueError(f"results file {path} holds a JSON {type(table).__name__}, not an "
                         "object of notebooks: move it away to start a new one")
    table[notebook] = {"fast_mode": fast_mode(), **numbers}
    text = json.dumps(table, indent=2, sort_keys=True, default=_plain, allow_nan=False)
    with atomic_file(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return table[notebook]


def _plain(value):
    """A NumPy scalar or array as the plain Python value JSON writes (``default=`` of dumps)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} {value!r} is not a JSON value")


def _json_value(name: str, value) -> str:
    """``value`` as JSON text; raises naming ``name`` when it is NaN/inf or not JSON at all."""
    try:
        return json.dumps(value, default=_plain, allow_nan=False)
    except ValueError as err:                       # NaN or inf somewhere inside
        raise ValueError(f"{name} must be finite (JSON has no NaN or inf), got {value!r}") \
            from err
    except TypeError as err:
        raise TypeError(f"{name} must be a number, string, bool or list of them, got "
                        f"{type(value).__name__} {value!r}") from err


def _read_json(path: Path):
    """The JSON in ``path``; a parse error names the file."""
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from err


def read_study(path, notebooks_dir=None) -> dict:
    """A JSON study file that a script of the repository wrote for a notebook (for example
    ``"results/06_selection.json"`` from ``scripts/select_06.py``): the local copy when there is
    one, else the committed copy online (a notebook opened on Colab has no repository around it).

    Args:
        path: the file's path relative to the ``notebooks/`` folder, a str or Path.
        notebooks_dir: where to look for it first; None: the current folder (where a notebook
            runs), then the ``notebooks/`` folder beside this package's source.

    Returns:
        The file's contents.

    Raises:
        TypeError: ``path`` neither a str nor a Path.
        ValueError: an absolute ``path`` or one that leaves the folder; a file that is not
            valid JSON (the message names it).
        OSError: no local copy and the download failed (the message names both places).
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    relative = Path(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"path must be relative to notebooks/, such as "
                         f"'results/06_selection.json', got {str(path)!r}")
    folders = ([Path(notebooks_dir)] if notebooks_dir is not None
               else [Path.cwd(), Path(__file__).resolve().parents[1] / "notebooks"])
    for folder in folders:
        if (folder / relative).is_file():
            return _read_json(folder / relative)
    import urllib.request

    url = STUDY_URL + relative.as_posix()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = response.read()
    except OSError as error:
        raise OSError(f"{relative} is in none of {[str(f) for f in folders]} and could not be "
                      f"downloaded from {url}: {error}") from error
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{url} is not valid JSON ({err})") from err


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
    print(format_table(_read_json(path)))


if __name__ == "__main__":
    main()
