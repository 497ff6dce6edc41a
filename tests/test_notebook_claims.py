"""The README's promise, checked: every claim a notebook makes is asserted, every number it
quotes comes from its stored run.

Two rules, applied to each stored notebook ``notebooks/NN_name.ipynb`` (its cells are the
source ``NN_name.py``'s, which ``test_notebook_sources.py`` checks, plus the outputs of one
full-mode run):

1. **A marked claim is asserted next.** A markdown cell with a line starting ``**Claim:**``
   must be followed *immediately* by a code cell with an ``assert`` statement (the simplest
   rule to read and to check: the claim and its test sit side by side). A line starting
   ``**Claim`` in any other spelling (``**Claims:**``, ``**Claim (...)**``) fails too, so that
   no claim escapes the rule by a typo.
2. **A quoted number is a measured number.** Every number quoted in markdown prose must appear
   in the notebook's stored outputs, rounded as quoted (the text's ``0.94`` matches an output
   ``0.9412``; ``94%`` matches ``0.9412`` or ``94.1``), or in the notebook's code (a parameter,
   a threshold an assert uses), or in the notebook's entry of ``PUBLISHED`` below: numbers
   from papers and other people's reports, each with its source.

What counts as "a number": decimals (``0.94``, ``2.5``), percentages (``85%``, ``1.5 %``) and
multipliers (``9x``). Integers are not checked: they are mostly years, notebook and section
numbers, sizes and counts the code states. Not checked either: LaTeX math (``$...$``; the
formulas' constants), inline and fenced code, link targets, and the exercise solutions inside
``<details>`` blocks (they describe runs the notebook does not make).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

STORED = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))

# Numbers a notebook quotes from published work (never from its own run), per notebook, each
# with its source. Keep this list short: a number that the run produces belongs in the outputs.
PUBLISHED: dict[str, dict[str, str]] = {
    "04_optimizers": {
        "80%": "tensorfreitas/Siamese-Networks-for-One-Shot-Learning README: about 80% one-shot "
               "accuracy with Adam",
        "70%": "the same README: about 70% with SGD with momentum",
    },
    "06_one_shot": {
        "92%": "Koch, Zemel and Salakhutdinov 2015, Table 2: convolutional Siamese net, 92.0% on "
               "Lake's 20 runs",
        "70.3%": "Koch et al. 2015, MNIST section: their Omniglot net on 10-way one-shot MNIST",
        "26.5%": "Koch et al. 2015, MNIST section: 1-nearest neighbour on 10-way one-shot MNIST",
    },
}

CLAIM_LINE = re.compile(r"^\*\*Claim", re.MULTILINE)
CLAIM_MARK = "**Claim:**"
ASSERT_LINE = re.compile(r"^\s*assert\b", re.MULTILINE)

# What is removed from markdown before numbers are read (see the module docstring).
_NOT_PROSE = [
    re.compile(r"<details>.*?</details>", re.DOTALL),
    re.compile(r"```.*?```", re.DOTALL),
    re.compile(r"\$\$.*?\$\$", re.DOTALL),
    re.compile(r"\$[^$]*\$"),
    re.compile(r"`[^`]*`"),
    re.compile(r"\]\([^)]*\)"),            # link targets (the badge's URL)
]
_QUOTED = re.compile(
    r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)?)\s?%"           # percentage: 85%, 1.5 %
    r"|(?<![\w.])(\d+(?:\.\d+)?)x(?![\w])"                # multiplier: 9x (not 28x28)
    r"|(?<![\w.])(\d+\.\d+)(?![\w.]*\d)")                 # decimal: 0.94 (not 2.21.0)
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def quoted_numbers(markdown: str) -> list[str]:
    """The numbers a markdown text quotes, as written (``'0.94'``, ``'85%'``, ``'9x'``)."""
    for pattern in _NOT_PROSE:
        markdown = pattern.sub(" ", markdown)
    found = []
    for percent, times, decimal in _QUOTED.findall(markdown):
        found.append(f"{percent}%" if percent else f"{times}x" if times else decimal)
    return found


def _values(text: str) -> set[float]:
    return {float(v) for v in _NUMBER.findall(text.replace(",", "")) if v not in {".", "+", "-"}}


def output_text(cell) -> str:
    """Everything a code cell printed or displayed as text (stream, text/plain, text/html)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        for mime in ("text/plain", "text/html"):
            value = out.get("data", {}).get(mime)
            if value:
                parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def matches(quoted: str, values: set[float]) -> bool:
    """Whether a value rounds to the quoted number (a percentage also from a fraction)."""
    number = quoted.rstrip("%x").replace(",", "")
    decimals = len(number.partition(".")[2])
    target = float(number)
    scales = (1.0, 100.0) if quoted.endswith("%") else (1.0,)
    tol = 0.5 * 10.0**-decimals + 1e-9
    return any(math.isfinite(v) and abs(v * s - target) <= tol for v in values for s in scales)


def _notebooks():
    return [pytest.param(p, id=p.stem) for p in STORED]


@pytest.mark.parametrize("path", _notebooks())
def test_every_marked_claim_is_followed_by_an_assert(path):
    cells = nbformat.read(path, as_version=4).cells
    problems = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        for line in CLAIM_LINE.finditer(cell.source):
            rest = cell.source[line.start():]
            if not rest.startswith(CLAIM_MARK):
                problems.append(f"cell {i}: claim marked {rest[:20]!r}, expected {CLAIM_MARK!r}")
        if CLAIM_LINE.search(cell.source):
            nxt = cells[i + 1] if i + 1 < len(cells) else None
            if nxt is None or nxt.cell_type != "code" or not ASSERT_LINE.search(nxt.source):
                problems.append(f"cell {i}: a {CLAIM_MARK} is not followed by a code cell with "
                                f"an assert")
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", _notebooks())
def test_every_quoted_number_is_in_the_stored_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    measured = _values("\n".join(output_text(c) for c in code))
    stated = _values("\n".join(c.source for c in code))
    published = PUBLISHED.get(path.stem, {})
    missing = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for number in quoted_numbers(cell.source):
            if number in published or matches(number, measured) or matches(number, stated):
                continue
            missing.append(f"cell {i}: {number}")
    assert not missing, (f"{path.name} quotes numbers that neither its stored outputs nor its "
                         f"code contain (add them to the outputs, or to PUBLISHED with a "
                         f"source): {missing}")


def test_quoted_numbers_reads_prose_only():
    text = ("About 0.94 (85% of pairs, 9x chance) on 28x28 images; $m = 0.5$, `lr=0.3`, "
            "[badge](https://x.org/v1.2)\n<details>0.77</details>\n```\n0.66\n```")
    assert quoted_numbers(text) == ["0.94", "85%", "9x"]


def test_matches_rounds_as_quoted():
    assert matches("0.94", {0.9412})
    assert not matches("0.94", {0.9462})
    assert matches("94%", {0.9412})
    assert matches("9x", {8.7})
    assert not matches("9x", {8.4})
    assert not matches("2.56", {float("nan")})
