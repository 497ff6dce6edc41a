"""Execute the course's notebooks headless (``make course``) and print the results table.

Each notebook's source is its jupytext percent-format script ``notebooks/NN_name.py``; the
``.ipynb`` beside it is that source plus the outputs of one run. Executed copies go to
``build/``; ``--store`` writes them to ``notebooks/NN_name.ipynb`` instead, which is how the
stored outputs (from a full-mode run) are made; it refuses to run in fast mode
(``COURSE_FAST=1``). Every file is written to a temporary name and renamed into place.

Tooling, not part of the installed ``course_lib`` package (it needs the dev extras nbclient,
nbformat and jupytext): run it from the repository root, ``python -m tools.runner``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from course_lib.config import atomic_file, build_dir, fast_mode, repo_root
from course_lib.results import format_table, results_path


def notebooks(names=()) -> list[Path]:
    """The course's notebook sources (``.py``) in reading order, or those whose file name starts
    with ``names``."""
    found = sorted((repo_root() / "notebooks").glob("[0-9][0-9]*_*.py"))
    if not names:
        return found
    chosen = [p for p in found if any(p.name.startswith(n) for n in names)]
    unknown = [n for n in names if not any(p.name.startswith(n) for p in found)]
    if unknown:
        raise SystemExit(f"no notebook matches {unknown}; available: {[p.name for p in found]}")
    return chosen


def refuse_fast_store(store: bool) -> None:
    """Stop a ``--store`` run in fast mode: stored notebooks come from a full-mode run.

    Args:
        store: whether the run writes into ``notebooks/``.

    Raises:
        SystemExit: ``store`` is set and ``COURSE_FAST`` asks for fast mode.
    """
    if store and fast_mode():
        raise SystemExit(
            "tools.runner --store (make store) refuses fast mode: the stored notebooks must "
            "come from one full-mode run, and their numbers are what the text quotes. Unset "
            f"COURSE_FAST (it is {os.environ.get('COURSE_FAST')!r}) and run again; to check a "
            "notebook in fast mode, run without --store (executed copies go to build/).")


def execute(path: Path, out: Path, timeout: int = 3600, failed_out: Path | None = None) -> float:
    """Run one notebook top to bottom in a fresh kernel, save it to ``out``; returns seconds.

    ``path`` is the notebook's source: a jupytext script (``.py``) or an ``.ipynb``; ``out`` is
    always written as an ``.ipynb``. If a cell fails (or the run is interrupted) the executed
    copy goes to ``failed_out`` when given, so that a failed ``--store`` run never overwrites
    the notebook it was running.
    """
    nb = jupytext.read(path) if path.suffix == ".py" else nbformat.read(path, as_version=4)
    nb.metadata.get("jupytext", {}).pop("text_representation", None)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    ok = False
    try:
        client.execute()
        ok = True
    finally:
        target = out if ok or failed_out is None else failed_out
        with atomic_file(target) as tmp:
            nbformat.write(nb, tmp)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="notebook name prefixes, e.g. 01 03 (default: all)")
    parser.add_argument("--store", action="store_true",
                        help="write executed notebooks back into notebooks/ (maintainers)")
    args = parser.parse_args(argv)
    refuse_fast_store(args.store)
    mode = "fast" if fast_mode() else "full"
    timings, failed = {}, []
    for path in notebooks(args.names):
        name = path.with_suffix(".ipynb").name
        out = path.with_suffix(".ipynb") if args.store else build_dir() / name
        failed_out = build_dir() / name
        print(f"[{mode}] {name} ...", flush=True)
        try:
            timings[name] = round(execute(path, out, failed_out=failed_out), 1)
            print(f"    done in {timings[name]} s -> {out}", flush=True)
        except CellExecutionError as err:
            failed.append(name)
            print(f"    FAILED (executed copy with the error: {failed_out})\n{str(err)[-2000:]}")
    timing_file = build_dir() / f"timings_{mode}.json"
    previous = json.loads(timing_file.read_text()) if timing_file.exists() else {}
    with atomic_file(timing_file) as tmp:
        tmp.write_text(json.dumps({**previous, **timings}, indent=2) + "\n", encoding="utf-8")
    if results_path().exists():
        print("\n" + format_table(json.loads(results_path().read_text())))
    if failed:
        print(f"\n{len(failed)} notebook(s) failed: {failed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
