"""Exercises the learner does: each has ``check()``, ``hint()`` and ``solution()``.

One module per notebook, ``course_lib.exercises.nbNN``, holds that notebook's exercises as
``q1``, ``q2``, ... In the notebook the learner's cell starts with a placeholder and ends with
the check::

    from course_lib.exercises import nb01

    def cosine_distance(a, b):
        raise NotImplementedError("your code here")

    nb01.q1.check()

``check()`` finds the answer by its name (here ``cosine_distance``) in the notebook, runs it
on tiny inputs and prints one of three verdicts: *correct*, *incorrect* with what is wrong and where the notebook explains it, or *not attempted yet* (the
placeholder is still there). It never raises, so a notebook with unanswered exercises runs
top to bottom, unless the environment variable ``COURSE_EXERCISES_STRICT=1`` is set: then
anything but *correct* raises :class:`ExerciseFailed`. That is how CI runs the notebooks:
``notebooks/conftest.py`` puts each exercise's reference solution in place of the placeholder
(:func:`with_solution`) and sets the variable, so that a reference solution its checker
rejects fails the cell.

Each reference solution is written once, as the code string ``Exercise.solution_code``: it is
what ``solution()`` prints and what CI substitutes.

Introduced in notebook 01.
"""

from __future__ import annotations

import dataclasses
import html
import os
import re
import sys
import textwrap
from collections.abc import Callable

__all__ = ["NOT_ATTEMPTED", "STRICT_ENV", "Exercise", "ExerciseFailed", "Folded", "Incorrect",
           "Result", "with_solution"]

STRICT_ENV = "COURSE_EXERCISES_STRICT"
NOT_ATTEMPTED = "your code here"   # the message of a placeholder's NotImplementedError

# The line that ends an exercise cell: ``nb01.q1.check()``.
_CHECK_LINE = re.compile(r"^(nb\d\d[a-z]?)\.(q\d+)\.check\(.*\)\s*(#.*)?$")


_FROM_CELL = object()   # check()'s default: read the answer from the caller's namespace


class Incorrect(Exception):
    """Raised by a checker: the answer is wrong, and the message says how.

    Args:
        message: what is wrong, precisely enough to fix it, with where the notebook explains it.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ExerciseFailed(AssertionError):
    """Raised by :meth:`Exercise.check` in strict mode when the answer is not correct.

    Args:
        result: the :class:`Result` of the check.
    """

    def __init__(self, result: Result):
        super().__init__(str(result))
        self.result = result


@dataclasses.dataclass(frozen=True)
class Result:
    """The verdict of one check.

    Attributes:
        label: the exercise, e.g. ``"nb01.q1"``.
        status: ``"correct"``, ``"incorrect"`` or ``"not attempted"``.
        message: what was checked (correct), what is wrong (incorrect), or what to do.
    """

    label: str
    status: str
    message: str

    @property
    def correct(self) -> bool:
        """Whether the answer passed every check."""
        return self.status == "correct"

    def __str__(self) -> str:
        heading = {"correct": "Correct", "incorrect": "Incorrect",
                   "not attempted": "Not attempted yet"}[self.status]
        return f"{self.label} · {heading}: {self.message}"


def _is_placeholder_error(err: BaseException) -> bool:
    return isinstance(err, NotImplementedError) and NOT_ATTEMPTED in str(err)


class Exercise:
    """One exercise: a checker, a hint and a reference solution.

    Args:
        label: how the notebook names it, ``"nbNN.qK"``.
        answer_name: the name the learner's cell defines (a function, a class or a value);
            the reference solution defines the same name.
        checker: called with the learner's answer; raises :class:`Incorrect` with a precise
            message when it is wrong and returns a short description of what was verified
            when it is right. A ``NotImplementedError("your code here")`` raised from the
            learner's placeholder means "not attempted".
        hint: printed by :meth:`hint`.
        solution_code: the reference solution, Python source that defines ``answer_name``
            and imports what it uses; printed by :meth:`solution`, substituted by CI.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: ``label`` is not of the form ``nbNN.qK``, or ``solution_code`` is empty.
    """

    def __init__(self, label: str, answer_name: str, checker: Callable, hint: str,
                 solution_code: str):
        for value, name in [(label, "label"), (answer_name, "answer_name"), (hint, "hint"),
                            (solution_code, "solution_code")]:
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__}")
        if not re.fullmatch(r"nb\d\d[a-z]?\.q\d+", label):
            raise ValueError(f"label must look like 'nb01.q1', got {label!r}")
        if not callable(checker):
            raise TypeError(f"checker must be callable, got {type(checker).__name__}")
        if not solution_code.strip():
            raise ValueError("solution_code must not be empty")
        self.label = label
        self.answer_name = answer_name
        self._checker = checker
        # one paragraph per blank-line-separated block, refilled for printing
        self._hint = "\n\n".join(textwrap.fill(" ".join(block.split()), width=92)
                                 for block in hint.strip().split("\n\n"))
        self.solution_code = textwrap.dedent(solution_code).strip() + "\n"

    def __repr__(self) -> str:
        return f"<Exercise {self.label}: define {self.answer_name}, then check(), hint(), solution()>"

    def evaluate(self, answer) -> Result:
        """Check ``answer`` and return the verdict, without printing or raising.

        Args:
            answer: what the learner's cell defined (see ``answer_name``); ``...`` or None
                count as not attempted.

        Returns:
            A :class:`Result`.
        """
        waiting = (f"replace the placeholder (raise NotImplementedError(\"{NOT_ATTEMPTED}\")) "
                   f"with your code and run the cell again; {self.label}.hint() helps, "
                   f"{self.label}.solution() shows one answer.")
        if answer is None or answer is Ellipsis:
            return Result(self.label, "not attempted", waiting)
        try:
            verified = self._checker(answer)
        except Incorrect as err:
            return Result(self.label, "incorrect", err.message)
        except Exception as err:   # the learner's code raised: report it, don't crash the cell
            if _is_placeholder_error(err):
                return Result(self.label, "not attempted", waiting)
            return Result(self.label, "incorrect",
                          f"{self.answer_name} raised {type(err).__name__}: {err}")
        return Result(self.label, "correct", verified or f"{self.answer_name} passes every check.")

    def check(self, answer=_FROM_CELL) -> None:
        """Check the learner's answer and print the verdict.

        Called with no argument, as the notebooks do (``nb01.q1.check()``), it checks the object
        the learner's cell defined under ``answer_name``, looked up in the namespace of the code
        that calls it (the notebook's); the way Kaggle Learn's ``q1.check()`` works. An answer
        can also be passed explicitly.

        Args:
            answer: what the learner's cell defined; by default the caller's global (or local)
                variable named ``answer_name``. If that name is not defined, the exercise is
                *not attempted yet*.

        Raises:
            ExerciseFailed: only in strict mode (``COURSE_EXERCISES_STRICT=1``, how CI runs
                the notebooks with the reference solutions), when the answer is not correct.
        """
        if answer is _FROM_CELL:
            caller = sys._getframe(1)
            answer = caller.f_locals.get(self.answer_name,
                                         caller.f_globals.get(self.answer_name))
        result = self.evaluate(answer)
        print(result)
        if not result.correct and os.environ.get(STRICT_ENV) == "1":
            raise ExerciseFailed(result)

    def hint(self) -> None:
        """Show the hint: folded (click to open) in Jupyter, printed elsewhere."""
        _show(Folded(f"{self.label} · Hint", self._hint))

    def solution(self) -> None:
        """Show the reference solution's code (the code CI runs in place of the placeholder):
        folded (click to open) in Jupyter, printed elsewhere."""
        _show(Folded(f"{self.label} · Solution", self.solution_code, code=True))


@dataclasses.dataclass(frozen=True)
class Folded:
    """A text that Jupyter shows folded under its title, to open with a click.

    A stored notebook can then call ``hint()`` and ``solution()`` in plain view without
    showing the answer to a reader who has not opened it. Outside Jupyter it prints as
    ``title: text``.

    Attributes:
        title: the line shown while folded.
        text: what opening it shows.
        code: whether ``text`` is code (shown in a monospaced block).
    """

    title: str
    text: str
    code: bool = False

    def __str__(self) -> str:
        return f"{self.title}:\n\n{self.text}" if self.code else f"{self.title}: {self.text}"

    def _repr_html_(self) -> str:
        body = html.escape(self.text)
        body = (f"<pre>{body}</pre>" if self.code else
                "".join(f"<p>{part}</p>" for part in body.split("\n\n")))
        return (f"<details><summary>{html.escape(self.title)} (click to open)</summary>"
                f"{body}</details>")


def _show(folded: Folded) -> None:
    """Display ``folded`` as HTML in a notebook kernel, print it anywhere else."""
    # A notebook kernel has IPython loaded already; course_lib does not depend on it.
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        shell.display_pub.publish({"text/plain": str(folded),
                                   "text/html": folded._repr_html_()})
    else:
        print(folded)


def with_solution(source: str, exercises: dict[str, object]) -> str:
    """An exercise cell's source with its placeholder replaced by the reference solution.

    The cell must end with one line ``nbNN.qK.check()`` (or ``check(answer)``); every line before it (the
    placeholder) is replaced by ``nbNN.qK``'s ``solution_code``, and the check line is kept.

    Args:
        source: the code of a cell tagged ``exercise``.
        exercises: the exercise modules by name, e.g. ``{"nb01": course_lib.exercises.nb01}``.

    Returns:
        The source to run instead.

    Raises:
        TypeError: ``source`` is not a str.
        ValueError: the cell does not end with a check line, checks more than one exercise,
            or names an exercise that does not exist.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    lines = source.rstrip().splitlines()
    checks = [i for i, line in enumerate(lines) if _CHECK_LINE.match(line)]
    if not checks or checks[-1] != len(lines) - 1:
        raise ValueError("an exercise cell must end with one line 'nbNN.qK.check()'; "
                         f"this one ends with {lines[-1] if lines else ''!r}")
    if len(checks) > 1:
        raise ValueError(f"an exercise cell checks one exercise, this one has {len(checks)} "
                         "check lines")
    module_name, question = _CHECK_LINE.match(lines[-1]).group(1, 2)
    exercise = getattr(exercises.get(module_name), question, None)
    if not isinstance(exercise, Exercise):
        raise ValueError(f"the cell checks {module_name}.{question}, which is not an exercise "
                         f"of course_lib.exercises")
    return (f"# {exercise.label}: the reference solution, in place of the learner's code "
            f"(notebooks/conftest.py)\n{exercise.solution_code}\n\n{lines[-1]}\n")
