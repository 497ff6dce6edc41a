"""The checker behind ``tests/test_notebook_claims.py``: what a stored notebook must satisfy.

Every function here takes a notebook (an ``nbformat`` node, as ``nbformat.read`` returns it) and
returns a list of :class:`Problem`; an empty list means the notebook passes that rule. Nothing
here imports TensorFlow or runs a cell: the checks read the stored ``.ipynb`` only. The rules
(``notebooks/CONVENTIONS.md`` explains them to authors):

**Claims.** A markdown line starting ``**Claim:**`` opens a claim; the claim is that paragraph
(up to the next blank line). Any other spelling of the marker (``**Claims:**``,
``**Claim (...)**``, ``**claim:**``) is a problem, so that no claim escapes by a typo. The
claim's *assert cell* is the first following code cell that contains an assertion (an
``assert`` statement, or a call of a function named ``assert_*`` such as
``np.testing.assert_allclose``), with only code cells between the two; the claim's *own cells*
are the code cells from the claim to its assert cell inclusive.

- *Its numbers are printed by its own cells.* Every number the claim quotes (percentages,
  decimals, multipliers such as ``9x``, and integers) must appear, rounded as quoted, in the
  outputs of the claim's own cells: not elsewhere in the notebook, and never in code. Not
  numbers of a measurement, so not checked: link targets, integers in LaTeX math and inline
  code (a formula's or code's constants; decimals and percentages there are checked); integers in
  hyphenated compounds (``20-way``, ``5-shot``, ``top-3``, ``1-NN``), sizes (``28x28``), after
  ``@`` (``recall@1``), with a leading zero (``06``: notebook numbers), years in a citation
  (``Koch et al. 2015``, ``(2020)``), and the numbers after an index word (``notebook 06``,
  ``section 4``, ``exercise 1``, ``Table 2``, ``epoch 1``, ``seed 0`` ...).
- *Its assertions test a measured value, unconditionally.* An assertion fails the rule when
  its test uses only literals, builtins, modules (``np``, ``math`` ...) and UPPER_CASE
  parameters (``assert True``, ``assert 0.95 >= 0.9``, ``assert P * K == 48``); when it is
  reached only inside an ``if``, ``while``, ``try``, ``match``, a function or class body, or a
  ``for`` loop over anything but a non-empty literal (the stored run cannot show that such a
  branch was taken; a ``with`` block is always entered); or when its test mentions
  ``fast_mode`` (a guard in disguise).
- *The one allowed guard* is a top-level ``if not config.fast_mode():`` (no ``else``): the
  assertions under it are checked on the full run only. A claim with such assertions must say
  :data:`FULL_RUN_PHRASE` in its text, and a claim that says it must have one.

**Prose.** Outside claims (and outside ``<details>`` solution blocks), every decimal,
percentage and multiplier a markdown cell quotes must be in some stored output of the
notebook, or in its code (a parameter), or in the notebook's list of published numbers with
their citation. Integers are not checked in prose.

**One clean full-mode run.** The code cells' execution counts are exactly 1..n in order (none
null), no output is an error, the ``config.describe()`` output says ``fast_mode   False``, and
no code cell begins with a markdown heading or holds a commented one (``# ## ...``: a markdown
cell that jupytext merged into code).
"""

from __future__ import annotations

import ast
import builtins
import math
import re
from dataclasses import dataclass, field

__all__ = ["FULL_RUN_PHRASE", "GUARD", "Claim", "Problem", "check_claims", "check_notebook",
           "check_prose", "check_stored_run", "claim_numbers", "claims", "full_run_only",
           "matches",
           "output_text", "prose_numbers", "values_in"]

FULL_RUN_PHRASE = "(full run only)"
GUARD = "if not config.fast_mode():"
CLAIM_MARK = "**Claim:**"

_MARKER = re.compile(r"^\*\*claim", re.IGNORECASE | re.MULTILINE)

# What is removed from markdown before numbers are read.
_NOT_PROSE = [
    re.compile(r"<details>.*?</details>", re.DOTALL),
    re.compile(r"```.*?```", re.DOTALL),
    re.compile(r"\$\$.*?\$\$", re.DOTALL),
    re.compile(r"\$[^$]*\$"),
    re.compile(r"`[^`]*`"),
    re.compile(r"\]\([^)]*\)"),            # link targets (the badge's URL)
]
# Index words: the integers after them number things (notebook 06, section 4), they measure
# nothing. Lists and ranges after one word are covered too (notebooks 04, 06 and 07; 01-05).
_INDEX_WORDS = ("notebook", "section", "exercise", "table", "figure", "fig.", "chapter", "part",
                "lesson", "issue", "item", "question", "failure", "step", "epoch", "chunk",
                "seed", "cell", "row", "line", "version", "python", "digit", "class",
                "§")
_INDEXED = re.compile(
    r"(?:(?<![\w])(?:" + "|".join(re.escape(w) + ("" if w.endswith((".", "§")) else "(?:e?s)?")
                                  for w in _INDEX_WORDS) + r")\s*)"
    r"\d+(?:\.\d+)*(?:\s*(?:,|and|or|to|–|-)\s*\d+(?:\.\d+)*)*",
    re.IGNORECASE)
# A year in a citation: after "et al." (Koch et al. 2015), or after a name or an opening
# parenthesis when a comma, semicolon or parenthesis closes it (Koch 2015, Table 2; (2020)).
_YEAR = re.compile(r"(?<![\w.])(?:19|20)\d\d(?![\w%])")
_ET_AL = re.compile(r"et al\.?[\s,(]*$")
_NAMED = re.compile(r"(?:\b[A-Z][a-z][\w'’-]*,?\s+\(?|\()$")


def _cited_year(text: str, m: re.Match) -> bool:
    before, after = text[max(0, m.start() - 40):m.start()], text[m.end():m.end() + 1]
    return bool(_ET_AL.search(before)
                or (_NAMED.search(before) and after in {"", ")", ",", ";", ":"}))

# One token: a number, then what follows it decides its kind.
_TOKEN = re.compile(
    r"(?<![\w.@/])(?<![A-Za-z]-)(?P<num>\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?P<frac>\.\d+)?"
    r"(?P<tail>\s?%|x(?!\w)|x\d+|-[A-Za-z]\w*|[A-Za-z_]\w*|\.\d[\d.]*|)")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Problem:
    """One rule broken by one notebook.

    ``check`` names the rule, ``cell`` is the index of the cell concerned, ``subject`` the text
    it is about (the claim, the markdown cell, the code line) with whitespace collapsed, and
    ``items`` the offending pieces (numbers, assert lines), sorted; ``detail`` says what is
    wrong in words.
    """

    notebook: str
    check: str
    cell: int
    subject: str
    items: tuple[str, ...] = ()
    detail: str = ""

    def __str__(self) -> str:
        items = f" {list(self.items)}" if self.items else ""
        return (f"{self.notebook} cell {self.cell} [{self.check}]{items}: {self.detail} "
                f"({self.subject[:70]!r})")


@dataclass
class Claim:
    """A ``**Claim:**`` paragraph, where it stands and where its assert is."""

    cell: int                       # the markdown cell holding the claim
    text: str                       # the paragraph, whitespace collapsed
    assert_cell: int | None = None  # the first following code cell with an assertion
    own_cells: list[int] = field(default_factory=list)  # code cells claim .. assert_cell
    full_run_only: bool = False     # has assertions under the allowed guard


def _squash(text: str) -> str:
    return " ".join(text.split())


def _strip(markdown: str) -> str:
    for pattern in _NOT_PROSE:
        markdown = pattern.sub(" ", markdown)
    return markdown


_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.DOTALL)
_MATH_NUMBER = re.compile(r"(?<![\w.^{_])(\d+\.\d+|\d+(?:\.\d+)?(?=\s*\\?%))(\s*\\?%)?")


def _math_numbers(markdown: str) -> list[str]:
    """The decimals and percentages inside LaTeX math (``$0.7m$``, ``$95\\%$``) and inline code
    (a claim cannot hide ``0.95`` in backticks); integers there are a formula's constants or
    code's (``float32``)."""
    found = []
    code = re.findall(r"`[^`]*`", markdown)
    for math_text in _MATH.findall(re.sub(r"`[^`]*`", " ", markdown)) + code:
        for number, percent in _MATH_NUMBER.findall(math_text):
            found.append(number + ("%" if percent else ""))
    return found


def _numbers(markdown: str, integers: bool) -> list[str]:
    text = _strip(markdown)
    text = _INDEXED.sub(" ", text)
    text = _YEAR.sub(lambda m: " " if _cited_year(text, m) else m.group(), text)
    found = []
    for m in _TOKEN.finditer(text):
        number, frac, tail = m.group("num"), m.group("frac") or "", m.group("tail")
        if tail.strip() == "%":
            found.append(f"{number}{frac}%")
        elif tail == "x":
            found.append(f"{number}{frac}x")
        elif frac:
            if not re.match(r"\.\d|[eE][-+]?\d", tail):
                found.append(number + frac)          # not a version (2.21.0), not 1.5e3
        elif integers:
            if tail == "" or tail in {".", ","}:
                if not (len(number) > 1 and number.startswith("0")):
                    found.append(number)
            # else: 20-way, 28x28, 3rd, 2D, float32: a compound, not a measurement
    return found


def claim_numbers(text: str) -> list[str]:
    """The numbers a claim quotes, as written (``'0.94'``, ``'85%'``, ``'9x'``, ``'400'``).

    Args:
        text: the claim's markdown.

    Returns:
        The numbers in order, integers included (see the module docstring for what is left
        out), then the decimals and percentages written inside LaTeX math.
    """
    return _numbers(text, integers=True) + _math_numbers(text)


def prose_numbers(markdown: str) -> list[str]:
    """The decimals, percentages and multipliers a markdown text quotes (integers are not).

    Args:
        markdown: a markdown cell's source.

    Returns:
        The numbers in order, as written.
    """
    return _numbers(markdown, integers=False)


def output_text(cell) -> str:
    """Everything a code cell printed or displayed as text (stream, text/plain, text/html).

    Args:
        cell: an nbformat code cell.

    Returns:
        The texts joined by newlines, HTML tags removed.
    """
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            text = out.get("text", "")
            parts.append(text if isinstance(text, str) else "".join(text))
        for mime in ("text/plain", "text/html"):
            value = out.get("data", {}).get(mime)
            if value:
                value = value if isinstance(value, str) else "".join(value)
                parts.append(_TAG.sub(" ", value) if mime == "text/html" else value)
    return "\n".join(parts)


def values_in(text: str) -> set[float]:
    """The numbers in a printed text, as floats (``2,000`` is two thousand; signs dropped too).

    Args:
        text: printed output or code.

    Returns:
        Every number found, and its absolute value.
    """
    text = _THOUSANDS.sub("", text)
    found = set()
    for v in _NUMBER.findall(text):
        try:
            value = float(v)
        except ValueError:
            continue
        found.update({value, abs(value)})
    return found


def matches(quoted: str, values: set[float]) -> bool:
    """Whether a value rounds to the quoted number (a percentage also from a fraction).

    Args:
        quoted: a number as :func:`claim_numbers` returns it.
        values: the numbers printed (:func:`values_in`).

    Returns:
        True when some value, rounded to the quoted number's decimals, equals it.
    """
    number = quoted.rstrip("%x").replace(",", "")
    decimals = len(number.partition(".")[2])
    target = float(number)
    scales = (1.0, 100.0) if quoted.endswith("%") else (1.0,)
    tol = 0.5 * 10.0**-decimals + 1e-9
    return any(math.isfinite(v) and abs(v * s - target) <= tol for v in values for s in scales)


# --- claims and their asserts ---------------------------------------------------------------

def _parse(source: str) -> ast.Module | None:
    """A code cell as Python: IPython magics and shell lines become ``pass``."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[: len(line) - len(stripped)] + "pass"
        lines.append(line)
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _is_assert_call(node) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name.startswith("assert_")


def _has_assertion(source: str) -> bool:
    tree = _parse(source)
    if tree is None:
        return bool(re.search(r"^\s*assert\b", source, re.MULTILINE))
    return any(isinstance(n, ast.Assert) or _is_assert_call(n) for n in ast.walk(tree))


def _paragraph(text: str) -> str:
    """The paragraph ``text`` starts with: up to a blank line or the next claim marker."""
    return re.split(r"\n\s*\n|\n(?=\*\*claim)", text, maxsplit=1, flags=re.IGNORECASE)[0]


def claims(nb) -> tuple[list[Claim], list[tuple[int, str]]]:
    """The notebook's claims, and its misspelled claim markers.

    Args:
        nb: an nbformat notebook.

    Returns:
        ``(claims, misspelled)``: the :class:`Claim` list in order (``assert_cell`` None when no
        code cell with an assertion follows before the next markdown cell), and
        ``(cell index, line)`` for each line that starts like a claim marker but is not
        ``**Claim:**``.
    """
    found, misspelled = [], []
    cells = nb.cells
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        for m in _MARKER.finditer(cell.source):
            rest = cell.source[m.start():]
            if not rest.startswith(CLAIM_MARK):
                misspelled.append((i, rest.splitlines()[0]))
                continue
            claim = Claim(cell=i, text=_squash(_paragraph(rest)))
            j = i + 1
            while j < len(cells) and cells[j].cell_type == "code":
                claim.own_cells.append(j)
                if _has_assertion(cells[j].source):
                    claim.assert_cell = j
                    break
                j += 1
            found.append(claim)
    return found, misspelled


_MODULES = {"np", "numpy", "math", "pd", "pandas", "tf", "ops", "keras", "scipy", "stats"}
_BUILTINS = set(dir(builtins))


def _measured_names(test: ast.AST) -> set[str]:
    """The names in an assertion's test that could hold a measured value."""
    bound = set()
    for node in ast.walk(test):
        if isinstance(node, ast.comprehension):
            bound |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Lambda):
            bound |= {a.arg for a in node.args.args}
    names = {n.id for n in ast.walk(test) if isinstance(n, ast.Name)}
    return {n for n in names - bound - _BUILTINS - _MODULES if not n.isupper()}


def _literal_sequence(node: ast.AST) -> bool:
    """Whether a ``for`` loop's iterable is a non-empty literal (the loop surely runs)."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return bool(node.elts)
    if isinstance(node, ast.Dict):
        return bool(node.keys)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "range" and node.args
            and all(isinstance(a, ast.Constant) for a in node.args)):
        return len(range(*[a.value for a in node.args])) > 0
    return False


def _is_guard(node: ast.AST) -> bool:
    """``if not config.fast_mode():`` with no else branch."""
    return (isinstance(node, ast.If) and not node.orelse
            and ast.unparse(node.test) == "not config.fast_mode()")


def _assertions(tree: ast.Module):
    """Yield ``(node, test, blocked_by, guarded)`` for every assertion in a cell.

    ``blocked_by`` names the construct that makes the assertion conditional (None when it is
    reached whenever the cell runs, the allowed guard aside); ``guarded`` is True under the
    allowed guard, which counts only where nothing else blocks (top level, a ``with`` block or
    a ``for`` loop over a non-empty literal).
    """

    def visit(node, blocked, guarded):
        if isinstance(node, ast.Assert):
            yield node, node.test, blocked, guarded
            return
        if isinstance(node, ast.Expr) and _is_assert_call(node.value):
            call = node.value
            args = ast.Tuple(elts=[*call.args, *[k.value for k in call.keywords]], ctx=ast.Load())
            yield node, args, blocked, guarded
            return
        if isinstance(node, ast.If) and blocked is None and not guarded and _is_guard(node):
            for child in node.body:
                yield from visit(child, None, True)
            return
        if isinstance(node, ast.If):
            why = "an if"
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            why = (None if _literal_sequence(node.iter)
                   else f"a for loop over {ast.unparse(node.iter)[:40]}")
        elif isinstance(node, ast.While):
            why = "a while loop"
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            why = "a try block"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            why = "a function or class body"
        elif isinstance(node, ast.Match):
            why = "a match statement"
        else:                                   # Module, With: always entered
            why = None
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from visit(child, blocked or why, guarded)

    yield from visit(tree, None, False)


def _classify(source: str) -> list[tuple[str, str]] | None:
    """Each assertion of a cell as ``(line, verdict)``; None when the cell does not parse.

    The verdict is ``"ok"``, ``"guarded"`` (under the allowed guard), ``"fast-mode"`` (its test
    mentions fast_mode), ``"literal"`` (it tests no measured value) or ``"inside ..."`` (the
    construct that makes it conditional).
    """
    tree = _parse(source)
    if tree is None:
        return None
    found = []
    for node, test, blocked, guarded in _assertions(tree):
        line = _squash(ast.unparse(node))[:80]
        if "fast_mode" in ast.unparse(test):
            verdict = "fast-mode"
        elif blocked:
            verdict = f"inside {blocked}"
        elif not _measured_names(test):
            verdict = "literal"
        else:
            verdict = "guarded" if guarded else "ok"
        found.append((line, verdict))
    return found


def check_claims(nb, name: str) -> list[Problem]:
    """The claim rules (module docstring), for one notebook.

    Args:
        nb: an nbformat notebook with its stored outputs.
        name: the notebook's name for the report (``"08_your_own_images"``).

    Returns:
        The problems found, in cell order.
    """
    found, misspelled = claims(nb)
    problems = [Problem(name, "claim-spelling", i, _squash(line), (),
                        f"a claim marker must be written {CLAIM_MARK!r}")
                for i, line in misspelled]
    for claim in found:
        if claim.assert_cell is None:
            problems.append(Problem(name, "claim-no-assert", claim.cell, claim.text, (),
                                    "no code cell with an assertion follows the claim before "
                                    "the next markdown cell"))
            continue

        def report(check, cell, items, detail, claim=claim):
            problems.append(Problem(name, check, cell, claim.text, tuple(items), detail))

        verdicts = _classify(nb.cells[claim.assert_cell].source)
        if verdicts is None:
            report("assert-syntax", claim.assert_cell, (), "the assert cell does not parse")
            verdicts = []
        elif not verdicts:
            report("claim-unchecked", claim.assert_cell, (), "the assert cell's assertions "
                   "are not statements it runs (e.g. inside an expression)")
        literal = [line for line, v in verdicts if v == "literal"]
        branch = [f"{line} ({v})" for line, v in verdicts if v.startswith("inside ")]
        disguised = [line for line, v in verdicts if v == "fast-mode"]
        claim.full_run_only = any(v == "guarded" for _, v in verdicts)
        if literal:
            report("assert-literal", claim.assert_cell, literal, "these assertions test no "
                   "measured value (only literals, builtins, modules or UPPER_CASE parameters)")
        if branch:
            report("assert-branch", claim.assert_cell, branch, "these assertions are reached "
                   "only inside a branch the stored run need not take (the one allowed guard "
                   f"is a top-level {GUARD!r})")
        if disguised:
            report("assert-fast-mode", claim.assert_cell, disguised, "an assertion that "
                   f"mentions fast_mode is a guard in disguise: use {GUARD!r} and say "
                   f"{FULL_RUN_PHRASE!r}")
        says_full = FULL_RUN_PHRASE in claim.text
        if claim.full_run_only and not says_full:
            report("full-run-phrase", claim.cell, (), f"assertions under {GUARD!r} are checked "
                   f"on the full run only: the claim must say {FULL_RUN_PHRASE!r}")
        if says_full and not claim.full_run_only:
            report("full-run-phrase-unused", claim.cell, (), f"the claim says "
                   f"{FULL_RUN_PHRASE!r} but none of its assertions is under {GUARD!r}")
        printed = values_in("\n".join(output_text(nb.cells[j]) for j in claim.own_cells))
        missing = sorted({n for n in claim_numbers(claim.text) if not matches(n, printed)})
        if missing:
            report("claim-number", claim.cell, missing, "not printed by the claim's own cells "
                   f"{claim.own_cells[0]}..{claim.own_cells[-1]}")
    return problems


def full_run_only(nb) -> list[Claim]:
    """The claims whose assertions include some under the allowed guard.

    Args:
        nb: an nbformat notebook.

    Returns:
        Those claims, in order.
    """
    found, _ = claims(nb)
    out = []
    for claim in found:
        if claim.assert_cell is not None:
            verdicts = _classify(nb.cells[claim.assert_cell].source) or []
            claim.full_run_only = any(v == "guarded" for _, v in verdicts)
            if claim.full_run_only:
                out.append(claim)
    return out


def check_prose(nb, name: str, published=()) -> list[Problem]:
    """The prose rule (module docstring): numbers outside claims are measured or cited.

    Args:
        nb: an nbformat notebook with its stored outputs.
        name: the notebook's name for the report.
        published: the numbers this notebook quotes from the literature, as written (``"92%"``).

    Returns:
        One problem per markdown cell that quotes numbers found nowhere.
    """
    code = [c for c in nb.cells if c.cell_type == "code"]
    measured = values_in("\n".join(output_text(c) for c in code))
    stated = values_in("\n".join(c.source for c in code))
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        prose = cell.source
        for m in _MARKER.finditer(cell.source):       # claims are checked by their own rule
            prose = prose.replace(_paragraph(cell.source[m.start():]), " ")
        missing = sorted({n for n in prose_numbers(prose)
                          if n not in published and not matches(n, measured)
                          and not matches(n, stated)})
        if missing:
            problems.append(Problem(name, "prose-number", i, _squash(cell.source), tuple(missing),
                                    "quoted in prose but in no stored output, no code and no "
                                    "published entry"))
    return problems


_FAST_LINE = re.compile(r"^fast_mode\s+(\S+)\s*$", re.MULTILINE)
_HEADING_FIRST = re.compile(r"^(?:#{2,6}|#[ \t]+#{1,6})[ \t]+\S")
_HEADING_ANY = re.compile(r"^#[ \t]+#{1,6}[ \t]+\S.*$", re.MULTILINE)


def check_stored_run(nb, name: str) -> list[Problem]:
    """The stored outputs come from one clean full-mode run (module docstring).

    Args:
        nb: an nbformat notebook with its stored outputs.
        name: the notebook's name for the report.

    Returns:
        The problems found.
    """
    problems = []
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    wrong = [f"cell {i}: {c.get('execution_count')}" for n, (i, c) in enumerate(code, 1)
             if c.get("execution_count") != n]
    if wrong:
        first_wrong = next(i for n, (i, c) in enumerate(code, 1) if c.get("execution_count") != n)
        problems.append(Problem(name, "execution-count", first_wrong, "execution counts",
                                tuple(wrong), "code cells must be numbered 1..n in order by one "
                                "run (null: added without running, e.g. by make sync)"))
    for i, cell in code:
        errors = [f"{o.get('ename')}: {str(o.get('evalue'))[:60]}"
                  for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            problems.append(Problem(name, "error-output", i, _squash(cell.source)[:80],
                                    tuple(errors), "the stored run raised an error"))
        first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
        headings = sorted(set(_HEADING_ANY.findall(cell.source))
                          | ({first} if _HEADING_FIRST.match(first) else set()))
        if headings:
            problems.append(Problem(name, "code-heading", i, _squash(cell.source)[:80],
                                    tuple(headings), "a markdown heading inside a code cell (a "
                                    "jupytext slip: the markdown cell was merged into code)"))
    modes = [m.group(1) for _, c in code for m in _FAST_LINE.finditer(output_text(c))]
    if not modes:
        problems.append(Problem(name, "describe-fast-mode", 0, "config.describe()", (),
                                "no config.describe() output (a line 'fast_mode ...') is stored"))
    elif set(modes) != {"False"}:
        problems.append(Problem(name, "describe-fast-mode", 0, "config.describe()",
                                tuple(modes), "the stored run was not a full-mode run"))
    return problems


def check_notebook(nb, name: str, published=()) -> list[Problem]:
    """Every rule of this module, for one notebook.

    Args:
        nb: an nbformat notebook with its stored outputs.
        name: the notebook's name for the report.
        published: the numbers it quotes from the literature (:func:`check_prose`).

    Returns:
        :func:`check_stored_run`, :func:`check_claims` and :func:`check_prose`'s problems.
    """
    return (check_stored_run(nb, name) + check_claims(nb, name)
            + check_prose(nb, name, published))
