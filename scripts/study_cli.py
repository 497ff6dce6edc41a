"""The command line the loss studies share (``scripts/study_07.py``, ``scripts/study_09.py``,
``scripts/sweep_cosface_09.py``): how many steps and seeds, the output file, and resuming a
killed run from its partial file."""

from __future__ import annotations

import argparse
from pathlib import Path


def study_parser(doc: str, out: Path, steps: int = 600) -> argparse.ArgumentParser:
    """An argument parser with ``--steps``, ``--seeds``, ``--out`` and ``--resume``.

    Args:
        doc: the script's docstring; its first line describes the command.
        out: the default study file.
        steps: the default training steps of a run.

    Returns:
        The parser; a script adds its own options before parsing.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=out)
    parser.add_argument("--resume", action="store_true",
                        help="skip the runs of the partial file left by a run with the same "
                             "settings")
    return parser
