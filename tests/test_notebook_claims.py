"""The README's promise, checked: every claim a notebook makes is asserted on a value its own
cells print, every number it quotes comes from its stored run, and that run was one clean
full-mode run.

The rules live in ``tests/claimcheck.py`` (its docstring states them; ``notebooks/
CONVENTIONS.md`` explains them to authors). Each stored notebook must pass them, except for
the problems listed in ``tests/claims_known_defects.toml``: those are expected failures, each
with its reason, and an entry that no longer fails makes the test fail, so the list can only
shrink. The tests below also build notebooks that break each rule (small synthetic ones, and
notebook 08 doctored as a reviewer would) and show that the checker reports them.

No TensorFlow here: the tests read ``.ipynb`` files only.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import claimcheck as cc
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
STORED = sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb"))
KNOWN_DEFECTS = Path(__file__).with_name("claims_known_defects.toml")

# How many entries tests/claims_known_defects.toml holds. Written here so that growing the list
# takes an edit to this line, which a reviewer sees: lower it when you fix a defect.
KNOWN_DEFECT_COUNT = 0

# Numbers a notebook quotes from published work (never from its own run), per notebook, each
# with its source. Keep this list short: a number that the run produces belongs in the outputs.
# (Prose only: a number in a claim must be printed by the claim's own cells.)
PUBLISHED: dict[str, dict[str, str]] = {
    "04_optimizers": {
        "80%": "tensorfreitas/Siamese-Networks-for-One-Shot-Learning README: about 80% one-shot "
               "accuracy with Adam",
        "70%": "the same README: about 70% with SGD with momentum",
    },
    "06_one_shot": {
        "92%": "Koch, Zemel and Salakhutdinov 2015, Table 2: convolutional Siamese net, 92.0% on "
               "Lake's 20 runs",
        "70.3%": "Koch et al. 2015, section 4.4, Table 3: their Omniglot net on 10-way one-shot "
                 "MNIST",
        "26.5%": "Koch et al. 2015, section 4.4, Table 3: 1-nearest neighbour on 10-way one-shot "
                 "MNIST",
        "96.0%": "Snell, Swersky and Zemel 2017, Table 1: prototypical networks, 20-way 1-shot "
                 "Omniglot (random-character tasks, Vinyals et al.'s split)",
        "93.8%": "Vinyals et al. 2016, Table 1: matching networks, 20-way 1-shot Omniglot",
        "10.7%": "jvlmdr/omniglot-eval README: the same net's 20-way error on random-character "
                 "tasks",
        "24.2%": "jvlmdr/omniglot-eval README: the same net's 20-way error within alphabets",
    },
}

# The claims checked on the full run only (some assertion under `if not config.fast_mode():`),
# as (notebook, the start of the claim): CI, in fast mode, never checks these. The test fails
# when this list and the notebooks disagree, so that the count is always known.
FULL_RUN_ONLY: list[tuple[str, str]] = [
    ("04_optimizers", "(full run only) the first chunk does not catch everything"),
    ("04_optimizers", "(full run only) the per-digit picture is mixed: Adam has the highest"),
    ("04_optimizers", "(full run only) the point estimates lean the source's way: mean"),
    ("06_one_shot", "(full run only) the Koch-style net is detectably above 1-NN"),
    ("06_one_shot", "(full run only) the file's one net is the net you just trained"),
    ("07_triplet_loss", "(full run only) with margin 1.0, batch-hard from a cold start"),
    ("07_triplet_loss", "(full run only) the live run gives the file's MAP@R"),
    ("08_your_own_images", "the training loss falls, and the encoder ends with the best"),
    ("08_your_own_images", "(full run only) on the test classes, at the verify threshold"),
    ("08_your_own_images", "(full run only) identify answers every test query as the hand"),
    ("08_your_own_images", "(full run only) known queries pay little for the strictness"),
    ("09_beyond_pairs", "(full run only) the live run gives the file's MAP@R"),
]

CHECKS = {"claim-spelling", "claim-no-assert", "claim-unchecked", "claim-number",
          "assert-syntax", "assert-literal", "assert-branch", "assert-fast-mode",
          "full-run-phrase", "full-run-phrase-unused", "prose-number", "execution-count",
          "error-output", "code-heading", "describe-fast-mode"}
# Found by reading, not by a rule: a sentence stating a measured fact that is not a claim, or
# that its run contradicts. The entry holds while its snippet is still in the notebook.
REVIEWED = "prose-fact"


def _defects() -> list[dict]:
    return tomllib.loads(KNOWN_DEFECTS.read_text(encoding="utf-8")).get("defect", [])


def _matches(entry: dict, problem: cc.Problem) -> bool:
    return (entry["notebook"] == problem.notebook and entry["check"] == problem.check
            and entry["snippet"] in problem.subject
            and tuple(entry.get("items", ())) == problem.items)


def _problems(path: Path) -> list[cc.Problem]:
    nb = nbformat.read(path, as_version=4)
    return cc.check_notebook(nb, path.stem, PUBLISHED.get(path.stem, {}))


# --- the stored notebooks ---------------------------------------------------------------------

@pytest.mark.parametrize("path", STORED, ids=lambda p: p.stem)
def test_stored_notebook_breaks_no_rule_but_its_known_defects(path):
    problems = _problems(path)
    listed = [e for e in _defects() if e["notebook"] == path.stem and e["check"] != REVIEWED]
    new = [p for p in problems if not any(_matches(e, p) for e in listed)]
    fixed = [e for e in listed if not any(_matches(e, p) for p in problems)]
    message = []
    if new:
        message.append("problems not in tests/claims_known_defects.toml (fix them; the list "
                       "may only shrink):\n  " + "\n  ".join(map(str, new)))
    if fixed:
        message.append("entries of tests/claims_known_defects.toml that no longer fail (remove "
                       "them and lower KNOWN_DEFECT_COUNT):\n  "
                       + "\n  ".join(f"[{e['check']}] {e['snippet']!r} {e.get('items', [])}"
                                     for e in fixed))
    assert not message, f"{path.name}:\n" + "\n".join(message)


def test_known_defects_are_well_formed_and_only_shrink():
    entries = _defects()
    names = {p.stem for p in STORED}
    for e in entries:
        assert e["notebook"] in names, e
        assert e["check"] in CHECKS | {REVIEWED}, e
        assert e["snippet"].strip() and e["reason"].strip(), e
        assert set(e) <= {"notebook", "check", "snippet", "items", "reason"}, e
    assert len(entries) == KNOWN_DEFECT_COUNT, (
        f"tests/claims_known_defects.toml has {len(entries)} entries, KNOWN_DEFECT_COUNT says "
        f"{KNOWN_DEFECT_COUNT}: the list may only shrink (lower the count when you fix one)")


def test_reviewed_prose_facts_are_still_there():
    stale = []
    for e in (e for e in _defects() if e["check"] == REVIEWED):
        nb = nbformat.read(NOTEBOOKS / f"{e['notebook']}.ipynb", as_version=4)
        prose = [" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown"]
        if not any(e["snippet"] in text for text in prose):
            stale.append(f"{e['notebook']}: {e['snippet']!r}")
    assert not stale, ("reviewed prose facts no longer in their notebook (fixed? remove the "
                       f"entries and lower KNOWN_DEFECT_COUNT): {stale}")


def test_full_run_only_claims_are_counted_and_listed():
    found = []
    for path in STORED:
        for claim in cc.full_run_only(nbformat.read(path, as_version=4)):
            found.append((path.stem, claim.cell, claim.text.removeprefix(cc.CLAIM_MARK).strip()))
    listed = [next((f for f in found if f[0] == nb and f[2].startswith(start)), None)
              for nb, start in FULL_RUN_ONLY]
    shown = "\n  ".join(f"{nb} cell {cell}: {text[:60]!r}" for nb, cell, text in found)
    assert None not in listed and sorted(listed) == sorted(found), (
        f"FULL_RUN_ONLY lists {len(FULL_RUN_ONLY)} claims; the notebooks have {len(found)} "
        f"checked on the full run only:\n  {shown}")


# --- the doctored notebook ------------------------------------------------------------------

INVENTED = "**Claim:** 95% recall, FAR of 0.1% at 0.2 margin, 10x better, p < 0.001."


def _doctored_08():
    """Notebook 08 as a reviewer doctored it: every claim's assert cell replaced by ``assert
    True``, and an invented claim (inserted after the FAR claim, with ``make sync``'s null
    execution count) whose numbers all occur in the notebook's code and outputs."""
    nb = nbformat.read(NOTEBOOKS / "08_your_own_images.ipynb", as_version=4)
    found, _ = cc.claims(nb)
    for claim in found:
        nb.cells[claim.assert_cell].source = "assert True"
    far = next(c for c in found if "verify threshold chosen for a FAR" in c.text)
    at = far.assert_cell + 1
    nb.cells[at:at] = [new_markdown_cell(INVENTED), new_code_cell("assert True")]
    return nb, found, at


def test_the_doctored_notebook_fails():
    original = nbformat.read(NOTEBOOKS / "08_your_own_images.ipynb", as_version=4)
    nb, found, at = _doctored_08()
    problems = cc.check_notebook(nb, "doctored")
    by = {(p.check, p.cell): p for p in problems}

    # every original claim now asserts nothing
    assert len(found) == 14
    for claim in found:
        shift = 2 if claim.assert_cell >= at else 0
        assert ("assert-literal", claim.assert_cell + shift) in by, claim.text[:60]
    # the invented claim: asserts nothing, and none of its numbers is printed by its cells...
    assert by["assert-literal", at + 1].items == ("assert True",)
    assert set(by["claim-number", at].items) == {"95%", "0.1%", "0.2", "10x", "0.001"}
    # ...although every one of them is somewhere in the notebook's code and outputs, which is
    # what the old rule accepted (MARGIN = 0.2, LEARNING_RATE / 10, "95% interval", 1e-3)
    code = cc.values_in("\n".join(c.source for c in original.cells if c.cell_type == "code"))
    assert all(cc.matches(n, code) for n in ("95%", "0.1%", "0.2", "10x", "0.001"))
    # and the cell added without a run breaks the numbering
    assert by["execution-count", at + 1].items[0] == f"cell {at + 1}: None"


# --- the rules, on small notebooks --------------------------------------------------------------

DESCRIBE = "python      3.11.7\nfast_mode   False\ndata_dir    data\n"


def _nb(*cells, describe=DESCRIBE):
    """A stored notebook: ``"md: text"`` is markdown, a tuple ``(source, printed)`` or a string
    is a code cell (numbered in order); the first code cell prints ``describe``."""
    nb = new_notebook()
    setup = new_code_cell("from course_lib import config\n\nconfig.describe();")
    setup.outputs = [new_output("stream", name="stdout", text=describe)] if describe else []
    nb.cells.append(setup)
    for cell in cells:
        if isinstance(cell, str) and cell.startswith("md: "):
            nb.cells.append(new_markdown_cell(cell[4:]))
            continue
        source, printed = cell if isinstance(cell, tuple) else (cell, "")
        code = new_code_cell(source)
        if printed:
            code.outputs = [new_output("stream", name="stdout", text=printed)]
        nb.cells.append(code)
    for n, c in enumerate((c for c in nb.cells if c.cell_type == "code"), 1):
        c.execution_count = n
    return nb


def _checks(nb):
    return sorted({p.check for p in cc.check_notebook(nb, "t")})


def test_a_sound_claim_passes():
    nb = _nb("acc = 0.9412",
             "md: **Claim:** accuracy is about 94% (we check at least 90%).",
             ("print(f'accuracy {acc:.1%}, check: at least 90%')\nassert acc >= 0.9, acc",
              "accuracy 94.1%, check: at least 90%\n"))
    assert cc.check_notebook(nb, "t") == []


def test_misspelled_claim_markers_fail():
    for marker in ("**Claims:**", "**Claim (full run):**", "**claim:**", "**Claim**:"):
        nb = _nb("x = 1", f"md: {marker} x is one.", "assert x == 1")
        assert "claim-spelling" in _checks(nb), marker


def test_the_assert_is_the_next_code_cell_with_an_assert_and_no_markdown_between():
    ok = _nb("md: **Claim:** x is positive.", "x = 2", "y = x", "assert y > 0")
    assert _checks(ok) == []
    broken = _nb("md: **Claim:** x is positive.", "x = 2", "md: Some text.", "assert x > 0")
    assert _checks(broken) == ["claim-no-assert"]
    assert _checks(_nb("x = 1", "md: **Claim:** x is one.")) == ["claim-no-assert"]


def test_claim_numbers_must_be_printed_by_the_claims_own_cells():
    # printed before the claim, in the code, in a later cell: none of these count
    nb = _nb(("r = 0.83; print(r)", "0.83\n"),
             "md: **Claim:** recall is 0.83, at margin 0.2, on 400 tasks.",
             "MARGIN = 0.2\nassert r > 0.8, r",
             ("print(r, 400)", "0.83 400\n"))
    (problem,) = cc.check_notebook(nb, "t")
    assert problem.check == "claim-number" and problem.items == ("0.2", "0.83", "400")
    # printed by a code cell between claim and assert, or by the assert cell itself: counts
    nb = _nb("md: **Claim:** recall is 0.83 on 400 tasks.",
             ("r = 0.8312; print(f'recall {r:.2f}')", "recall 0.83\n"),
             ("assert r > 0.8; print(400, 'tasks')", "400 tasks\n"))
    assert cc.check_notebook(nb, "t") == []


def test_claim_numbers_round_as_quoted_and_percentages_match_fractions():
    nb = _nb("md: **Claim:** 94% of pairs, 9x chance, 2,000 tasks.",
             ("v = 1\nassert v", "0.9412 x8.7 2000\n"))
    assert _checks(nb) == []
    nb = _nb("md: **Claim:** 95% of pairs.", ("v = 1\nassert v", "0.9412\n"))
    assert cc.check_notebook(nb, "t")[0].items == ("95%",)


def test_literal_asserts_fail():
    for source in ("assert True", "assert 0.95 >= 0.9", "assert len([1, 2]) == 2",
                   "assert P * K == 48", "np.testing.assert_allclose(1.0, 1.0)",
                   "assert all(x > 0 for x in (1, 2))"):
        nb = _nb("md: **Claim:** it holds.", source)
        assert _checks(nb) == ["assert-literal"], source


def test_asserts_reached_only_in_a_branch_fail():
    for source in ("if acc:\n    assert acc > 0.5",
                   "for a in runs:\n    assert a > 0",
                   "while acc < 1:\n    assert acc > 0\n    break",
                   "try:\n    assert acc > 0\nexcept AssertionError:\n    pass",
                   "def f():\n    assert acc > 0",
                   "if not config.fast_mode():\n    pass\nelse:\n    assert acc > 0",
                   "if config.fast_mode():\n    pass\nelse:\n    assert acc > 0",
                   "if acc:\n    if not config.fast_mode():\n        assert acc > 0"):
        nb = _nb("acc = 0.9", "md: **Claim:** it holds.", source)
        assert _checks(nb) == ["assert-branch"], source
    # a loop over a non-empty literal surely runs; a with block is always entered
    for source in ("for gap in (0.5, 0.1):\n    assert acc > gap",
                   "for i in range(3):\n    assert acc > i / 10",
                   "with open(__file__):\n    assert acc > 0.5"):
        assert _checks(_nb("acc = 0.9", "md: **Claim:** it holds.", source)) == [], source
    assert _checks(_nb("acc = 0.9", "md: **Claim:** it holds.",
                       "for i in []:\n    assert acc > i")) == ["assert-branch"]


def test_the_fast_mode_guard_needs_the_phrase_and_is_counted():
    guarded = "assert acc > 0.5\nif not config.fast_mode():\n    assert acc > 0.8, acc"
    nb = _nb("acc = 0.9", "md: **Claim:** accuracy is high.", guarded)
    assert _checks(nb) == ["full-run-phrase"]
    nb = _nb("acc = 0.9", f"md: **Claim:** accuracy is high {cc.FULL_RUN_PHRASE}.", guarded)
    assert _checks(nb) == []
    assert [c.cell for c in cc.full_run_only(nb)] == [2]
    nb = _nb("acc = 0.9", f"md: **Claim:** accuracy is high {cc.FULL_RUN_PHRASE}.",
             "assert acc > 0.5")
    assert _checks(nb) == ["full-run-phrase-unused"]
    assert cc.full_run_only(nb) == []
    # the guard in disguise
    nb = _nb("acc = 0.9", "md: **Claim:** accuracy is high.",
             "assert config.fast_mode() or acc > 0.8")
    assert _checks(nb) == ["assert-fast-mode"]


def test_stored_run_must_be_one_clean_full_mode_run():
    assert _checks(_nb("x = 1", "y = 2")) == []
    nb = _nb("x = 1", "y = 2")
    nb.cells[2].execution_count = None                     # added by make sync
    assert _checks(nb) == ["execution-count"]
    nb = _nb("x = 1", "y = 2")
    nb.cells[1].execution_count, nb.cells[2].execution_count = 3, 2
    assert _checks(nb) == ["execution-count"]
    nb = _nb("x = 1")
    nb.cells[1].outputs = [new_output("error", ename="ValueError", evalue="bad", traceback=[])]
    assert _checks(nb) == ["error-output"]
    assert _checks(_nb("x = 1", describe=DESCRIBE.replace("False", "True"))) == [
        "describe-fast-mode"]
    assert _checks(_nb("x = 1", describe="")) == ["describe-fast-mode"]


def test_a_code_cell_holding_a_markdown_heading_fails():
    for source in ("# ## 2 · Training\nx = 1", "## Training\nx = 1",
                   "x = 1\n\n# ### One threshold for the gallery\n#\n# Text."):
        assert _checks(_nb(source)) == ["code-heading"], source
    assert _checks(_nb("# a comment\nx = 1  # ## not at line start")) == []


def test_prose_numbers_come_from_outputs_code_or_the_literature():
    nb = _nb(("print(0.9412)", "0.9412\n"), "MARGIN = 0.25",
             "md: About 94% here, with margin 0.25; the paper says 92%.")
    (problem,) = cc.check_notebook(nb, "t")
    assert problem.check == "prose-number" and problem.items == ("92%",)
    assert cc.check_notebook(nb, "t", published={"92%"}) == []
    # a claim in the same cell is not prose: its numbers follow the claim rule, never the code
    nb = _nb("MARGIN = 0.25", "md: Some prose.\n\n**Claim:** the margin is 0.25.",
             "assert MARGIN > 0 and nb_ok", describe=DESCRIBE)
    checks = {p.check: p for p in cc.check_notebook(nb, "t")}
    assert checks["claim-number"].items == ("0.25",) and "prose-number" not in checks


# --- what counts as a number --------------------------------------------------------------------

def test_claim_numbers_include_integers_but_not_labels():
    text = ("95% recall, FAR of 0.1% at 0.2 margin, 10x better, p < 0.001, on 400 tasks and "
            "2,000 pairs, (88.0-94.0%)")
    assert cc.claim_numbers(text) == ["95%", "0.1%", "0.2", "10x", "0.001", "400", "2,000",
                                      "88.0", "94.0%"]
    not_measurements = ("20-way 5-shot 28x28 top-3 1-NN recall@1 float32 3rd 2D "
                        "Koch et al. 2015, Hadsell et al. (2006), Musgrave et al., 2020, (2020) Koch 2015, "
                        "notebook 06, notebooks 04, 06 and 07, section 4, exercise 1, Table 2, "
                        "epoch 1, seed 0, digits 0 and 1, notebooks 01–05, 06 "
                        "Python 3.11, TF 2.21.0, 1e-6, $m = 1$, $10^{-6}$, `epochs=3`, "
                        "[a](https://x/1.2)")
    assert cc.claim_numbers(not_measurements) == []
    # in LaTeX math, decimals and percentages are numbers too (integers are a formula's)
    assert cc.claim_numbers(r"between $0.7m$ and $1.3m$, recall $95\%$, $\tfrac12 x^2$") == [
        "0.7", "1.3", "95%"]
    assert cc.claim_numbers("`recall = 0.95`, `float32`, `top_k=3`") == ["0.95"]
    # a count is not a year because it has four digits
    assert cc.claim_numbers("About 2000 tasks on MNIST 1990 pairs (2000 tasks)") == [
        "2000", "1990", "2000"]


def test_prose_numbers_leave_integers_and_solutions_out():
    text = ("About 0.94 (85% of pairs, 9x chance) on 400 images; $m = 0.5$, `lr=0.3`, "
            "[badge](https://x.org/v1.2)\n<details>0.77</details>\n```\n0.66\n```")
    assert cc.prose_numbers(text) == ["0.94", "85%", "9x"]


def test_matches_rounds_as_quoted():
    assert cc.matches("0.94", {0.9412})
    assert not cc.matches("0.94", {0.9462})
    assert cc.matches("94%", {0.9412})
    assert cc.matches("9x", {8.7})
    assert not cc.matches("9x", {8.4})
    assert not cc.matches("2.56", {float("nan")})
    assert cc.matches("2,000", cc.values_in("2,000 tasks"))
    assert cc.values_in("(3,4)") >= {3.0, 4.0}


def test_the_checker_does_not_change_the_notebook():
    path = NOTEBOOKS / "08_your_own_images.ipynb"
    nb = nbformat.read(path, as_version=4)
    before = copy.deepcopy(nb)
    cc.check_notebook(nb, path.stem)
    assert nb == before
