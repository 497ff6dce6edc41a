"""Headline numbers of each notebook, gathered in ``build/results.json`` for the course table;
and the study files that the repository's scripts write for the notebooks to read.

Introduced in notebook 01.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from course_lib.config import atomic_file, build_dir, fast_mode, repository_url
from course_lib.distances import METRICS

__all__ = ["CENTRES", "RECIPE_SCORES", "STUDY_URL", "AblationRow", "AblationStudy", "CurvePoint",
           "LossRun", "LossStudy", "MnistTransferStudy", "RecipeScore", "RecipeStudy",
           "ScoredTasks", "ScoringChoice", "ScoringStudy", "SelectionRun", "SelectionStudy",
           "StudyProgress", "format_table", "main", "outcome_text", "read_ablation",
           "read_losses", "read_mnist_transfer", "read_recipe", "read_scoring",
           "read_selection", "read_study", "record", "results_path", "choose_scoring",
           "write_study"]

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


# --------------------------------------------------------------------------- typed study files
#
# The study files keep each run's task outcomes as one compact string of "0" and "1" (a task
# per character); the readers below turn them into boolean arrays, check every field, and name
# the file and the field in every error. ``to_json`` gives back exactly what was read, so the
# scripts write through the same classes (``write_study``) and a test checks the two agree.


def outcome_text(outcomes) -> str:
    """Task outcomes (booleans or 0/1, one per task) as the study files store them: "0101...".

    Args:
        outcomes: a 1-D sequence of booleans or 0/1.

    Returns:
        One character per task, "1" for right.

    Raises:
        TypeError: non-numeric outcomes. ValueError: values other than 0/1, or not 1-D.
    """
    from course_lib import checks

    arr = checks.binary_labels(outcomes, "outcomes", "booleans (or 0/1)")
    if arr.ndim != 1:
        raise ValueError(f"outcomes must be 1-D, got shape {arr.shape}")
    return "".join("1" if v else "0" for v in arr)


class _Reader:
    """Field access on one JSON object of a study file, with errors naming file and field."""

    def __init__(self, obj, source: str, where: str):
        self.source, self.where = source, where
        if not isinstance(obj, dict):
            self.fail(f"must be a JSON object, got {type(obj).__name__}")
        self.obj = obj

    def fail(self, message: str):
        raise ValueError(f"{self.source}: {self.where or 'the file'} {message}")

    def get(self, key: str, kinds, default=...):
        if key not in self.obj:
            if default is ...:
                self.fail(f"has no {key!r}")
            return default
        value = self.obj[key]
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            self.fail(f"field {key!r} must be {names}, got {type(value).__name__} {value!r:.60}")
        return value

    def numbers(self, key: str, kind=(int, float), default=...) -> tuple:
        values = self.get(key, list, default)
        if values is None:
            return None
        if not all(isinstance(v, kind) and not isinstance(v, bool) for v in values):
            self.fail(f"field {key!r} must be a list of numbers, got {values!r:.80}")
        return tuple(values)

    def inner(self, key: str, obj=None) -> _Reader:
        return _Reader(self.obj[key] if obj is None else obj, self.source,
                       f"{self.where}.{key}" if self.where else key)


def _outcomes(text, reader: _Reader, key: str) -> np.ndarray:
    if not isinstance(text, str) or not text or set(text) - {"0", "1"}:
        reader.fail(f"field {key!r} must be a non-empty string of task outcomes '0'/'1', got "
                    f"{text!r:.40}")
    return np.frombuffer(text.encode("ascii"), np.uint8) == ord("1")


def _put(out: dict, key: str, value) -> None:
    """Set ``key`` unless ``value`` is None (an optional field the file did not have)."""
    if value is not None:
        out[key] = value


@dataclass(frozen=True, eq=False)
class AblationRow:
    """One row of ``06_ablation.json``: a setting trained with several seeds for one budget.

    Attributes:
        variant: the row's short name (``"no_bn"``).
        label: what the row changes.
        settings: its settings (encoder, head, sampling, ...) as the script wrote them.
        accuracies: validation 20-way accuracy of each seed (batch-norm statistics re-estimated
            in files from ``task_construction="lake"`` on).
        steps: training steps each seed made in the budget.
        mean: the mean of ``accuracies``. std: their sample standard deviation.
        ms_per_step: milliseconds of training per step.
        accuracies_stale: each seed scored with the batch-norm statistics as training left
            them, or None (older files).
        tasks: each seed's outcome on each validation task (booleans), or None (older files).
    """

    variant: str
    label: str
    settings: dict
    accuracies: tuple
    steps: tuple
    mean: float
    std: float
    ms_per_step: float
    accuracies_stale: tuple | None = None
    tasks: tuple | None = None

    @classmethod
    def from_json(cls, obj, source: str, where: str) -> AblationRow:
        r = _Reader(obj, source, where)
        acc, steps = r.numbers("accuracies"), r.numbers("steps", int)
        if len(acc) != len(steps) or len(acc) < 2:
            r.fail(f"needs one accuracy and one step count per seed (at least 2), got "
                   f"{len(acc)} and {len(steps)}")
        if not all(0.0 <= a <= 1.0 for a in acc):
            r.fail(f"accuracies must lie in [0, 1], got {acc}")
        mean = float(r.get("mean", (int, float)))
        if abs(mean - float(np.mean(acc))) > 1e-9:
            r.fail(f"mean {mean} is not the mean of its accuracies {acc}")
        stale = r.numbers("accuracies_stale", default=None)
        if stale is not None and len(stale) != len(acc):
            r.fail(f"has {len(stale)} stale accuracies for {len(acc)} seeds")
        texts = r.get("tasks", list, None)
        tasks = None
        if texts is not None:
            tasks = tuple(_outcomes(t, r, "tasks") for t in texts)
            if len(tasks) != len(acc) or len({t.size for t in tasks}) != 1:
                r.fail(f"needs one outcome string per seed, all as long, got "
                       f"{[t.size for t in tasks]}")
            if not np.allclose([t.mean() for t in tasks], acc, atol=1e-9):
                r.fail("tasks do not give its accuracies")
        return cls(r.get("variant", str), r.get("label", str), r.get("settings", dict), acc,
                   steps, mean, float(r.get("std", (int, float))),
                   float(r.get("ms_per_step", (int, float))), stale, tasks)

    def to_json(self) -> dict:
        out = {"variant": self.variant, "label": self.label, "settings": self.settings,
               "mean": self.mean, "std": self.std, "accuracies": list(self.accuracies),
               "steps": list(self.steps), "ms_per_step": self.ms_per_step}
        _put(out, "accuracies_stale", None if self.accuracies_stale is None
             else list(self.accuracies_stale))
        _put(out, "tasks", None if self.tasks is None else [outcome_text(t) for t in self.tasks])
        return out


def _machine(r: _Reader) -> dict:
    machine = r.get("machine", dict)
    m = r.inner("machine", machine)
    m.get("cpus", int)
    m.numbers("load_average")
    return machine


@dataclass(frozen=True, eq=False)
class AblationStudy:
    """``notebooks/results/06_ablation.json`` (``scripts/ablation_06.py``), typed.

    Attributes:
        rows: the rows, in the file's order (:class:`AblationRow`).
        split, validation_alphabets, n_way, episodes_per_step, pairs_per_step,
        learning_rate, seconds_per_run, seeds: the study's settings.
        machine: cpus, processor and load average when it ran. total_minutes, date: its run.
        what: the file's own description.
        task_construction: how the validation tasks were built (``"lake"``), or None for the
            older files (``"random"`` drawers).
        task_characters: the character of each validation task's query, or None.
    """

    what: str
    split: str
    validation_alphabets: tuple
    n_way: int
    episodes_per_step: int
    pairs_per_step: int
    learning_rate: float
    seconds_per_run: float
    seeds: int
    rows: tuple
    machine: dict
    total_minutes: float
    date: str
    task_construction: str | None = None
    task_characters: tuple | None = None
    source: str = field(default="", compare=False)

    @classmethod
    def from_json(cls, obj, source: str = "06_ablation.json") -> AblationStudy:
        """The study from the file's parsed JSON; ``source`` names the file in errors.

        Raises:
            ValueError: a missing or mistyped field, rows that disagree with the settings
                (the message names the file and the field).
        """
        r = _Reader(obj, source, "")
        rows = tuple(AblationRow.from_json(row, source, f"rows[{i}]")
                     for i, row in enumerate(r.get("rows", list)))
        seeds = r.get("seeds", int)
        names = [row.variant for row in rows]
        if not rows or len(set(names)) != len(names):
            r.fail(f"must hold rows with distinct variants, got {names}")
        bad = [row.variant for row in rows if len(row.accuracies) != seeds]
        if bad:
            r.fail(f"says seeds={seeds} but rows {bad} have another number of seeds")
        chars = r.get("task_characters", list, None)
        if chars is not None:
            sizes = {t.size for row in rows if row.tasks for t in row.tasks}
            if sizes and sizes != {len(chars)}:
                r.fail(f"has {len(chars)} task characters for tasks of {sorted(sizes)}")
        return cls(r.get("what", str), r.get("split", str),
                   tuple(r.get("validation_alphabets", list)), r.get("n_way", int),
                   r.get("episodes_per_step", int), r.get("pairs_per_step", int),
                   float(r.get("learning_rate", (int, float))),
                   float(r.get("seconds_per_run", (int, float))), seeds, rows, _machine(r),
                   float(r.get("total_minutes", (int, float))), r.get("date", str),
                   r.get("task_construction", str, None),
                   None if chars is None else tuple(chars), source)

    def to_json(self) -> dict:
        """The study as the file holds it (what :meth:`from_json` read)."""
        out = {"what": self.what, "split": self.split,
               "validation_alphabets": list(self.validation_alphabets), "n_way": self.n_way,
               "episodes_per_step": self.episodes_per_step,
               "pairs_per_step": self.pairs_per_step, "learning_rate": self.learning_rate,
               "seconds_per_run": self.seconds_per_run, "seeds": self.seeds,
               "rows": [row.to_json() for row in self.rows], "machine": self.machine,
               "total_minutes": self.total_minutes, "date": self.date}
        _put(out, "task_construction", self.task_construction)
        _put(out, "task_characters", None if self.task_characters is None
             else list(self.task_characters))
        return out

    def row(self, variant: str) -> AblationRow:
        """The row named ``variant``.

        Raises:
            KeyError: no such row (the message lists the rows).
        """
        for row in self.rows:
            if row.variant == variant:
                return row
        raise KeyError(f"{self.source}: no row {variant!r}; rows: {[r.variant for r in self.rows]}")


@dataclass(frozen=True)
class CurvePoint:
    """One check along a run.

    Attributes:
        steps: training steps so far. seconds: training time so far.
        accuracy: validation 20-way accuracy at that point.
    """

    steps: int
    seconds: float
    accuracy: float


@dataclass(frozen=True, eq=False)
class ScoredTasks:
    """A trained model's outcome on each validation task.

    Attributes:
        accuracy: the share of tasks right, as recorded.
        outcomes: right (True) or wrong on each task, a boolean array.
    """

    accuracy: float
    outcomes: np.ndarray

    @classmethod
    def from_json(cls, s: _Reader) -> ScoredTasks:
        """From ``{"accuracy", "correct", "tasks"}`` read by ``s`` (which names file and field
        in errors); refuses a count or accuracy its tasks do not give."""
        outcomes = _outcomes(s.get("tasks", str), s, "tasks")
        accuracy = float(s.get("accuracy", (int, float)))
        if s.get("correct", int) != int(outcomes.sum()) or abs(accuracy - outcomes.mean()) > 1e-9:
            s.fail("has a 'correct' or 'accuracy' that its tasks do not give")
        return cls(accuracy, outcomes)

    def to_json(self) -> dict:
        return {"accuracy": self.accuracy, "correct": self.correct,
                "tasks": outcome_text(self.outcomes)}

    @property
    def correct(self) -> int:
        """How many tasks were right."""
        return int(self.outcomes.sum())


@dataclass(frozen=True, eq=False)
class SelectionRun:
    """One run of ``06_selection.json``: a candidate, a seed, a held-out alphabet.

    Attributes:
        candidate, seed, held_out: which run.
        steps: its schedule's steps (per net, for an ensemble); members: nets (1: one net).
        curve: the checks along the schedule (:class:`CurvePoint`).
        final: the end of the schedule in each scoring (``"plain"``, ``"shifts"``,
            ``"member_0"``...) with its task outcomes; empty for runs scored before tasks were
            recorded.
        tasks: how its validation tasks were built (``"random"`` or ``"lake"``).
        saved: where the trained model was saved, or None.
    """

    candidate: str
    seed: int
    held_out: str
    steps: int
    members: int
    curve: tuple
    final: dict
    tasks: str
    saved: str | None = None
    _members_written: bool = field(default=False, repr=False)
    _tasks_written: bool = field(default=False, repr=False)

    @classmethod
    def from_json(cls, obj, source: str, where: str) -> SelectionRun:
        r = _Reader(obj, source, where)
        curve = []
        for i, point in enumerate(r.get("curve", list)):
            if (not isinstance(point, list) or len(point) != 3
                    or not all(isinstance(v, (int, float)) for v in point)):
                r.fail(f"curve[{i}] must be [steps, seconds, accuracy], got {point!r}")
            curve.append(CurvePoint(int(point[0]), float(point[1]), float(point[2])))
        if not curve:
            r.fail("has an empty curve")
        final = {}
        for scoring, scored in r.get("final", dict, {}).items():
            final[scoring] = ScoredTasks.from_json(r.inner(f"final.{scoring}", scored))
        members = r.get("members", int, None)
        tasks = r.get("tasks", str, None)
        return cls(r.get("candidate", str), r.get("seed", int), r.get("held_out", str),
                   r.get("steps", int), members or 1, tuple(curve), final, tasks or "random",
                   r.get("saved", str, None), members is not None, tasks is not None)

    def to_json(self) -> dict:
        out = {"candidate": self.candidate, "seed": self.seed, "held_out": self.held_out,
               "steps": self.steps}
        if self._members_written:
            out["members"] = self.members
        out["curve"] = [[p.steps, p.seconds, p.accuracy] for p in self.curve]
        if self.final:
            out["final"] = {k: v.to_json() for k, v in self.final.items()}
        if self._tasks_written:
            out["tasks"] = self.tasks
        _put(out, "saved", self.saved)
        return out

    @property
    def end(self) -> float:
        """Validation accuracy at the end of the schedule (the weights one would keep)."""
        return self.curve[-1].accuracy

    @property
    def total_steps(self) -> int:
        """Training steps of all its nets together."""
        return self.steps * self.members


@dataclass(frozen=True, eq=False)
class SelectionStudy:
    """``notebooks/results/06_selection.json`` (``scripts/select_06.py``), typed.

    Attributes:
        runs: every run (:class:`SelectionRun`), in the file's order.
        candidates: each candidate's settings (label, batch_norm, steps, members, affine).
        split, n_way, val_tasks, episodes_per_step, learning_rate: the study's settings.
        machine, total_minutes, date: the last invocation; earlier: the ones before it.
        task_characters: ``{construction: {held_out: (query character of each task, ...)}}``,
            for comparisons clustered by character; empty when the file has none.
        what: the file's own description.
    """

    what: str
    split: str
    n_way: int
    val_tasks: int
    episodes_per_step: int
    learning_rate: float
    candidates: dict
    runs: tuple
    machine: dict
    total_minutes: float
    date: str
    earlier: tuple = ()
    task_characters: dict = field(default_factory=dict)
    source: str = ""
    _earlier_written: bool = field(default=False, repr=False)

    @classmethod
    def from_json(cls, obj, source: str = "06_selection.json") -> SelectionStudy:
        """The study from the file's parsed JSON; ``source`` names the file in errors.

        Raises:
            ValueError: a missing or mistyped field, a run of an unknown candidate, two runs
                with one key, task outcomes of another length than ``val_tasks`` (the message
                names the file and the field).
        """
        r = _Reader(obj, source, "")
        val_tasks = r.get("val_tasks", int)
        candidates = r.get("candidates", dict)
        for name, c in candidates.items():
            c_r = r.inner(f"candidates.{name}", c)
            c_r.get("label", str), c_r.get("batch_norm", bool), c_r.get("steps", int)
        runs = tuple(SelectionRun.from_json(run, source, f"runs[{i}]")
                     for i, run in enumerate(r.get("runs", list)))
        keys = [(x.candidate, x.seed, x.held_out) for x in runs]
        if len(set(keys)) != len(keys):
            r.fail("holds two runs of one candidate, seed and held-out alphabet")
        for i, run in enumerate(runs):
            if run.candidate not in candidates:
                r.fail(f"runs[{i}] is of candidate {run.candidate!r}, not among "
                       f"{sorted(candidates)}")
            bad = [k for k, v in run.final.items() if v.outcomes.size != val_tasks]
            if bad:
                r.fail(f"runs[{i}] has outcomes of {bad} not for val_tasks={val_tasks} tasks")
        chars = r.get("task_characters", dict, {})
        for construction, folds in chars.items():
            f_r = r.inner(f"task_characters.{construction}", folds)
            for held_out, names in folds.items():
                if not isinstance(names, list) or len(names) != val_tasks:
                    f_r.fail(f"{held_out!r} must list {val_tasks} characters")
        earlier = r.get("earlier", list, None)
        return cls(r.get("what", str), r.get("split", str), r.get("n_way", int), val_tasks,
                   r.get("episodes_per_step", int), float(r.get("learning_rate", (int, float))),
                   candidates, runs, _machine(r), float(r.get("total_minutes", (int, float))),
                   r.get("date", str), tuple(earlier or ()),
                   {k: {h: tuple(n) for h, n in v.items()} for k, v in chars.items()}, source,
                   earlier is not None)

    def to_json(self) -> dict:
        """The study as the file holds it (what :meth:`from_json` read)."""
        out = {"what": self.what, "split": self.split, "n_way": self.n_way,
               "val_tasks": self.val_tasks, "episodes_per_step": self.episodes_per_step,
               "learning_rate": self.learning_rate, "candidates": self.candidates,
               "runs": [run.to_json() for run in self.runs], "machine": self.machine,
               "total_minutes": self.total_minutes, "date": self.date}
        if self._earlier_written:
            out["earlier"] = list(self.earlier)
        if self.task_characters:
            out["task_characters"] = {k: {h: list(n) for h, n in v.items()}
                                      for k, v in self.task_characters.items()}
        return out

    def run(self, candidate: str, held_out: str, seed: int = 0) -> SelectionRun:
        """The run of ``candidate`` with ``seed`` on ``held_out``.

        Raises:
            KeyError: no such run (the message says which runs there are).
        """
        for run in self.runs:
            if (run.candidate, run.held_out, run.seed) == (candidate, held_out, seed):
                return run
        raise KeyError(f"{self.source}: no run of {candidate!r} seed {seed} on {held_out!r}; "
                       f"runs: {[(x.candidate, x.seed, x.held_out) for x in self.runs]}")

    def folds(self, candidates, scoring: str | None = "plain", seed: int = 0) -> list[str]:
        """The held-out alphabets on which every one of ``candidates`` has ``scoring``, sorted.

        Args:
            candidates: candidate names (a list of str).
            scoring: a scoring of ``final`` every run must have, or None: any run (its curve).
            seed: the seed of the runs.

        Returns:
            The alphabets, sorted by name.
        """
        have = [{x.held_out for x in self.runs if x.candidate == c and x.seed == seed
                 and (scoring is None or scoring in x.final)} for c in candidates]
        return sorted(set.intersection(*have)) if have else []

    def outcomes(self, candidate: str, scoring: str, folds, seed: int = 0) -> np.ndarray:
        """Right (True) or wrong on every task of ``folds``, pooled in that order.

        Raises:
            KeyError: a missing run or scoring (the message names it).
            ValueError: runs of one pool built on different task constructions.
        """
        runs = [self.run(candidate, h, seed) for h in folds]
        if len({x.tasks for x in runs}) > 1:
            raise ValueError(f"{self.source}: runs of {candidate!r} on {list(folds)} were "
                             "scored on tasks built differently; they cannot be pooled")
        missing = [x.held_out for x in runs if scoring not in x.final]
        if missing:
            raise KeyError(f"{self.source}: runs of {candidate!r} on {missing} have no "
                           f"{scoring!r} scoring")
        return np.concatenate([x.final[scoring].outcomes for x in runs])

    def characters(self, folds, construction: str = "random") -> np.ndarray:
        """The character of each pooled task's query (as :meth:`outcomes` pools them): the
        clusters of a comparison by character.

        Raises:
            KeyError: the file has no characters for a fold.
        """
        table = self.task_characters.get(construction, {})
        missing = [h for h in folds if h not in table]
        if missing:
            raise KeyError(f"{self.source}: no task characters of {missing} ({construction!r} "
                           "tasks): run scripts/select_06.py --annotate")
        return np.concatenate([np.array(table[h]) for h in folds])

    def joined(self, other: SelectionStudy) -> SelectionStudy:
        """This study with the runs (and candidates) of ``other`` added: so that a candidate
        tested in a file of its own compares with :meth:`compare` against a baseline of this
        one, on the same tasks. The machine, minutes and date stay this study's.

        Args:
            other: a study of the same split and validation tasks.

        Returns:
            A new :class:`SelectionStudy` (``source`` names both files).

        Raises:
            TypeError: ``other`` is not a :class:`SelectionStudy`.
            ValueError: another split or number of tasks, a run in both, or task characters of
                one fold that differ (the tasks are then not the same).
        """
        if not isinstance(other, SelectionStudy):
            raise TypeError(f"other must be a SelectionStudy, got {type(other).__name__}")
        source = f"{self.source} + {other.source}"
        if (self.split, self.val_tasks) != (other.split, other.val_tasks):
            raise ValueError(f"{source}: split and val_tasks differ: {self.split!r}, "
                             f"{self.val_tasks} and {other.split!r}, {other.val_tasks}")
        keys = {(x.candidate, x.seed, x.held_out) for x in self.runs}
        both = sorted(keys & {(x.candidate, x.seed, x.held_out) for x in other.runs})
        if both:
            raise ValueError(f"{source}: runs {both} are in both files")
        chars = {k: dict(v) for k, v in self.task_characters.items()}
        for construction, folds in other.task_characters.items():
            mine = chars.setdefault(construction, {})
            for held_out, names in folds.items():
                if mine.setdefault(held_out, names) != names:
                    raise ValueError(f"{source}: the {construction!r} tasks of {held_out!r} "
                                     "have other query characters: not the same tasks")
        return replace(self, candidates={**self.candidates, **other.candidates},
                       runs=self.runs + other.runs, task_characters=chars, source=source)

    def compare(self, first: str, second: str, folds, scoring: str = "plain",
                seeds=(0,), construction: str = "lake", label: str | None = None,
                alpha: float = 0.05):
        """``first`` minus ``second`` on the tasks of ``folds`` (and of every seed in ``seeds``,
        pooled), paired task by task and clustered by the query's character: the course's rule,
        :func:`course_lib.evaluate.compare`.

        Args:
            first, second: candidate names. folds: held-out alphabets. scoring: e.g. ``"plain"``.
            seeds: the seeds to pool (a character is one cluster across them).
            construction: how the folds' tasks were built (``"lake"`` or ``"random"``).
            label: the comparison's name; default ``"first - second"``.
            alpha: the test's level.

        Returns:
            The :class:`course_lib.evaluate.Comparison`.

        Raises:
            KeyError: a missing run, scoring or fold (the message names it).
            ValueError: no seeds given.
        """
        from course_lib import evaluate

        seeds = list(seeds)
        if not seeds:
            raise ValueError(f"{self.source}: seeds must name at least one seed")
        chars = self.characters(folds, construction)
        return evaluate.compare(
            np.concatenate([self.outcomes(first, scoring, folds, s) for s in seeds]),
            np.concatenate([self.outcomes(second, scoring, folds, s) for s in seeds]),
            paired=True, clusters=np.concatenate([chars] * len(seeds)), alpha=alpha,
            label=label or f"{first} - {second}")


@dataclass(frozen=True, eq=False)
class LossRun:
    """One run of ``07_losses.json``: one loss, one seed, trained and scored once.

    Attributes:
        loss: the loss's name (``"batch-hard"``). seed: the seed of its weights and batches.
        margin: the margin it trained with (chosen on validation), or None (no margin); for a
            loss whose one setting is another number (a temperature), that number, named in
            the study's ``parameters``.
        scores: its test scores (``"map@r"``, ``"recall@1"``, ``"one-shot 20-way"``, ...).
        seconds: seconds of training (machine-dependent; reports only).
        active: the share of active triplets of each chunk's training batches (measured
            inside ``fit``), or None for a loss without that log.
        active_steps: the step at the end of each chunk of ``active`` (empty without it).
    """

    loss: str
    seed: int
    margin: float | None
    scores: dict
    seconds: float
    active: tuple | None = None
    active_steps: tuple = ()

    @classmethod
    def from_json(cls, obj, source: str, where: str) -> LossRun:
        r = _Reader(obj, source, where)
        scores = r.get("scores", dict)
        if not scores or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                 for v in scores.values()):
            r.fail(f"field 'scores' must map metric names to numbers, got {scores!r:.80}")
        margin = r.get("margin", (int, float, type(None)))
        active = r.numbers("active", default=None)
        steps = r.numbers("active_steps", int, default=None) or ()
        if (active is None) != (not steps) or active is not None and len(active) != len(steps):
            r.fail("needs one active fraction per step of 'active_steps', or neither")
        if active is not None and not all(0.0 <= a <= 1.0 for a in active):
            r.fail(f"active fractions must lie in [0, 1], got {active}")
        return cls(r.get("loss", str), r.get("seed", int),
                   None if margin is None else float(margin),
                   {k: float(v) for k, v in scores.items()},
                   float(r.get("seconds", (int, float))), active, steps)

    def to_json(self) -> dict:
        out = {"loss": self.loss, "seed": self.seed, "margin": self.margin,
               "scores": self.scores, "seconds": self.seconds}
        if self.active is not None:
            out["active"] = list(self.active)
            out["active_steps"] = list(self.active_steps)
        return out


@dataclass(frozen=True, eq=False)
class LossStudy:
    """``notebooks/results/07_losses.json`` (``scripts/study_07.py``) or ``09_losses.json``
    (``scripts/study_09.py``), typed: every loss of the notebook, its margin (or temperature)
    chosen on the validation alphabet, then trained with each seed and scored once on the test
    alphabet and Lake's runs.

    Attributes:
        what: the file's own description.
        settings: the protocol and training settings (split, alphabets, P, K, learning rate...).
        steps: training steps of each run. sweep_steps: steps of each margin-choice run.
        seeds: the seeds, each run by every loss.
        sweep: one dict per margin-choice run: ``loss``, ``margin``, ``validation map@r``.
        margins: the margin chosen for each loss (None: a loss without margin).
        runs: every run (:class:`LossRun`), in the file's order.
        pixels: the scores of nearest neighbour on raw pixels, the baseline.
        machine, total_minutes, date: the run of the script.
        parameters: the name of each loss's chosen number (``"margin"``, ``"temperature"``);
            a loss missing here with a number has a margin.
    """

    what: str
    settings: dict
    steps: int
    sweep_steps: int
    seeds: tuple
    sweep: tuple
    margins: dict
    runs: tuple
    pixels: dict
    machine: dict
    total_minutes: float
    date: str
    source: str = field(default="", compare=False)
    parameters: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj, source: str = "07_losses.json") -> LossStudy:
        """The study from the file's parsed JSON; ``source`` names the file in errors.

        Raises:
            ValueError: a missing or mistyped field, a loss without a run for every seed, two
                runs of one loss and seed, a run whose margin is not its loss's chosen margin
                (the message names the file and the field).
        """
        r = _Reader(obj, source, "")
        seeds = r.numbers("seeds", int)
        runs = tuple(LossRun.from_json(x, source, f"runs[{i}]")
                     for i, x in enumerate(r.get("runs", list)))
        margins = r.get("margins", dict)
        keys = [(x.loss, x.seed) for x in runs]
        if not runs or len(set(keys)) != len(keys):
            r.fail("must hold runs, at most one per loss and seed")
        for name in dict.fromkeys(x.loss for x in runs):
            have = sorted(x.seed for x in runs if x.loss == name)
            if have != sorted(seeds):
                r.fail(f"has runs of {name!r} for seeds {have}, not for every seed {list(seeds)}")
            if name not in margins:
                r.fail(f"has no chosen margin for {name!r}")
        for i, x in enumerate(runs):
            if x.margin != margins[x.loss]:
                r.fail(f"runs[{i}] trained with margin {x.margin}, not the chosen "
                       f"{margins[x.loss]} of {x.loss!r}")
        sweep = []
        for i, point in enumerate(r.get("sweep", list)):
            p = r.inner(f"sweep[{i}]", point)
            sweep.append({"loss": p.get("loss", str),
                          "margin": float(p.get("margin", (int, float))),
                          "validation map@r": float(p.get("validation map@r", (int, float)))})
        pixels = r.get("pixels", dict)
        parameters = r.get("parameters", dict, {})
        if not all(isinstance(v, str) for v in parameters.values()) or set(parameters) - set(
                margins):
            r.fail(f"field 'parameters' must name a setting (a str) of losses it has margins "
                   f"for, got {parameters!r:.80}")
        return cls(r.get("what", str), r.get("settings", dict), r.get("steps", int),
                   r.get("sweep_steps", int), seeds, tuple(sweep), margins, runs,
                   {k: float(v) for k, v in pixels.items()}, _machine(r),
                   float(r.get("total_minutes", (int, float))), r.get("date", str), source,
                   dict(parameters))

    def to_json(self) -> dict:
        """The study as the file holds it (what :meth:`from_json` read)."""
        return {"what": self.what, "settings": self.settings, "steps": self.steps,
                "sweep_steps": self.sweep_steps, "seeds": list(self.seeds),
                "sweep": [dict(p) for p in self.sweep], "margins": self.margins,
                "runs": [x.to_json() for x in self.runs], "pixels": self.pixels,
                "machine": self.machine, "total_minutes": self.total_minutes,
                "date": self.date, **({"parameters": self.parameters} if self.parameters
                                      else {})}

    def parameter(self, loss: str) -> str | None:
        """The name of ``loss``'s chosen number (``"margin"``, ``"temperature"``), or None for
        a loss without one.

        Raises:
            KeyError: an unknown loss (the message lists the losses).
        """
        if loss not in self.margins:
            raise KeyError(f"{self.source}: no loss {loss!r}; losses {self.losses}")
        if self.margins[loss] is None:
            return None
        return self.parameters.get(loss, "margin")

    @property
    def losses(self) -> list[str]:
        """The losses, in the order of their first run."""
        return list(dict.fromkeys(x.loss for x in self.runs))

    def run(self, loss: str, seed: int) -> LossRun:
        """The run of ``loss`` with ``seed``.

        Raises:
            KeyError: no such run (the message lists the losses and seeds).
        """
        for x in self.runs:
            if (x.loss, x.seed) == (loss, seed):
                return x
        raise KeyError(f"{self.source}: no run of {loss!r} with seed {seed}; losses "
                       f"{self.losses}, seeds {list(self.seeds)}")

    def scores(self, loss: str, metric: str) -> np.ndarray:
        """``metric`` of each seed's run of ``loss``, in the order of ``seeds`` (paired across
        losses: the same seed gives the same initial weights).

        Raises:
            KeyError: an unknown loss or metric.
        """
        runs = [self.run(loss, s) for s in self.seeds]
        if any(metric not in x.scores for x in runs):
            raise KeyError(f"{self.source}: no metric {metric!r}; metrics "
                           f"{sorted(runs[0].scores)}")
        return np.array([x.scores[metric] for x in runs])

    def table(self):
        """One row per run: ``loss``, ``seed``, ``margin``, ``seconds`` and every score, as a
        pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame([{"loss": x.loss, "seed": x.seed, "margin": x.margin,
                              "seconds": x.seconds, **x.scores} for x in self.runs])

    def headline(self, metrics) -> dict:
        """The mean over seeds of each metric for each loss, keyed for :func:`record`.

        Args:
            metrics: score names every run has (``"map@r"``, ``"recall@1"``, ...).

        Returns:
            ``{"<metric>_<loss>": mean}`` with spaces as ``_``, ``@`` as ``_at_`` and commas
            dropped (``"map_at_r_batch-hard"``), plain floats.

        Raises:
            KeyError: a metric that a run does not have (as :meth:`scores`).
        """
        out = {}
        for name in self.losses:
            for metric in metrics:
                key = f"{metric}_{name}".replace(" ", "_").replace(",", "").replace("@", "_at_")
                out[key] = float(np.mean(self.scores(name, metric)))
        return out


RECIPE_SCORES = ("lake_plain", "lake_shifts", "mnist_plain", "mnist_shifts")


@dataclass(frozen=True, eq=False)
class RecipeScore:
    """One trained model of ``06_recipe.json`` and its outcome on every test task.

    Attributes:
        name: the run's short name (``"lesson"``, ``"recipe"``); label: what it is.
        members: nets side by side; steps: training steps of each net.
        seconds: each net's training time.
        scores: ``{"lake_plain", "lake_shifts", "mnist_plain", "mnist_shifts"}`` ->
            :class:`ScoredTasks`: Lake's 400 queries and the MNIST tasks, scored as the model
            is and averaged over shifted views.
    """

    name: str
    label: str
    members: int
    steps: int
    seconds: tuple
    scores: dict

    @classmethod
    def from_json(cls, obj, source: str, where: str) -> RecipeScore:
        r = _Reader(obj, source, where)
        raw = r.get("scores", dict)
        if sorted(raw) != sorted(RECIPE_SCORES):
            r.fail(f"field 'scores' must have exactly {list(RECIPE_SCORES)}, got {sorted(raw)}")
        scores = {}
        for key in RECIPE_SCORES:
            scores[key] = ScoredTasks.from_json(r.inner(f"scores.{key}", raw[key]))
        members, steps = r.get("members", int), r.get("steps", int)
        seconds = r.numbers("seconds")
        if members < 1 or steps < 1 or len(seconds) != members:
            r.fail(f"needs members >= 1, steps >= 1 and one time per net, got {members}, "
                   f"{steps}, {len(seconds)} times")
        return cls(r.get("name", str), r.get("label", str), members, steps,
                   tuple(float(v) for v in seconds), scores)

    def to_json(self) -> dict:
        return {"name": self.name, "label": self.label, "members": self.members,
                "steps": self.steps, "seconds": list(self.seconds),
                "scores": {k: v.to_json() for k, v in self.scores.items()}}

    @property
    def minutes(self) -> float:
        """Training time of all its nets, in minutes."""
        return sum(self.seconds) / 60


@dataclass(frozen=True, eq=False)
class RecipeStudy:
    """``notebooks/results/06_recipe.json`` (``scripts/recipe_06.py``), typed.

    Attributes:
        split, image_size, seed: the training data and seed of every run.
        settings: the recipe's settings (``training.train_one_shot_recipe``'s keywords).
        box: the side of the square every drawing (training images and Lake's runs) was
            fitted to (``data.fit_to_box``), or None: area-resized from 105x105.
        mnist_tasks, mnist_seed: the 10-way one-shot MNIST tasks every run was scored on.
        runs: each trained model (:class:`RecipeScore`).
        machine, total_minutes, date: the invocation that wrote the file.
    """

    split: str
    image_size: int
    seed: int
    settings: dict
    mnist_tasks: int
    mnist_seed: int
    runs: tuple
    machine: dict
    total_minutes: float
    date: str
    box: int | None = None

    @classmethod
    def from_json(cls, obj, source: str = "06_recipe.json") -> RecipeStudy:
        """The study from the file's parsed JSON; ``source`` names the file in errors.

        Raises:
            ValueError: a missing or mistyped field, two runs of one name, Lake outcomes not
                for 400 queries or MNIST outcomes not for ``mnist_tasks`` tasks.
        """
        r = _Reader(obj, source, "")
        mnist_tasks = r.get("mnist_tasks", int)
        runs = tuple(RecipeScore.from_json(x, source, f"runs[{i}]")
                     for i, x in enumerate(r.get("runs", list)))
        names = [x.name for x in runs]
        if not runs or len(set(names)) != len(names):
            r.fail(f"must hold runs of distinct names, got {names}")
        for i, run in enumerate(runs):
            for key, s in run.scores.items():
                want = 400 if key.startswith("lake") else mnist_tasks
                if s.outcomes.size != want:
                    r.fail(f"runs[{i}].scores.{key} has {s.outcomes.size} outcomes, not {want}")
        return cls(r.get("split", str), r.get("image_size", int), r.get("seed", int),
                   r.get("settings", dict), mnist_tasks, r.get("mnist_seed", int), runs,
                   _machine(r), float(r.get("total_minutes", (int, float))), r.get("date", str),
                   r.get("box", (int, type(None)), None))

    def to_json(self) -> dict:
        """The study as the file holds it (what :meth:`from_json` read)."""
        return {"what": "models trained on every alphabet of the split and scored once on "
                        "Lake's 20 runs (400 queries) and on 10-way one-shot MNIST",
                "split": self.split, "image_size": self.image_size, "seed": self.seed,
                "settings": self.settings, "box": self.box, "mnist_tasks": self.mnist_tasks,
                "mnist_seed": self.mnist_seed, "runs": [x.to_json() for x in self.runs],
                "machine": self.machine, "total_minutes": self.total_minutes,
                "date": self.date}

    def run(self, name: str) -> RecipeScore:
        """The run called ``name``.

        Raises:
            KeyError: no such run (the message lists the runs).
        """
        for x in self.runs:
            if x.name == name:
                return x
        raise KeyError(f"06_recipe.json: no run {name!r}; runs: {[x.name for x in self.runs]}")


@dataclass(frozen=True, eq=False)
class MnistTransferStudy:
    """``notebooks/results/06_mnist.json`` (``scripts/mnist_06.py``), typed: how MNIST digits
    are prepared for the Omniglot net, chosen on tasks of MNIST's training split and scored
    once on the test tasks of ``06_recipe.json``.

    Attributes:
        recipe: the model (label); split, image_size, seed: how it was trained.
        scales: ``{variant: zoom-out scale}`` (:func:`course_lib.data.zoom_out`; 1.0: as given).
        metrics: ``{variant: metric}`` the embeddings are compared with (one of
            :data:`course_lib.distances.METRICS`; a file without it means ``"euclidean"``).
        ink: ``{"omniglot" or variant: course_lib.data.ink_statistics(...)}``.
        val_tasks, val_seed: the 10-way one-shot validation tasks (MNIST training split).
        validation: ``{variant: ScoredTasks}`` on them.
        rule: how the variant was chosen; chosen: the variant chosen.
        test_tasks, test_seed: the MNIST test tasks (the same as ``06_recipe.json``'s).
        test: ``{variant: ScoredTasks}``, the variant as given and the one chosen only.
        machine, total_minutes, date: the invocation that wrote the file.
    """

    recipe: str
    split: str
    image_size: int
    seed: int
    scales: dict
    ink: dict
    val_tasks: int
    val_seed: int
    validation: dict
    rule: str
    chosen: str
    test_tasks: int
    test_seed: int
    test: dict
    machine: dict
    total_minutes: float
    date: str
    metrics: dict = field(default_factory=dict)

    def metric(self, variant: str) -> str:
        """The metric ``variant`` compares embeddings with (``"euclidean"`` unless the file
        says otherwise)."""
        return self.metrics.get(variant, "euclidean")

    def accuracy_table(self):
        """Validation accuracy as a pandas DataFrame: one row per zoom-out scale (1.0: as
        given), one column per metric; a pair no variant scored is NaN."""
        import pandas as pd

        rows = [(self.scales[k], self.metric(k), v.accuracy) for k, v in self.validation.items()]
        table = pd.DataFrame(rows, columns=["zoom-out scale (1.0: as given)", "distance",
                                            "accuracy"])
        return table.pivot(index=table.columns[0], columns="distance", values="accuracy")

    @classmethod
    def from_json(cls, obj, source: str = "06_mnist.json") -> MnistTransferStudy:
        """The study from the file's parsed JSON; ``source`` names the file in errors.

        Raises:
            ValueError: a missing or mistyped field, a scale outside (0, 1], validation or
                test outcomes of another length than their tasks, a variant scored that has
                no scale, a chosen variant without a test score.
        """
        r = _Reader(obj, source, "")
        scales = r.get("scales", dict)
        for name, scale in scales.items():
            if isinstance(scale, bool) or not isinstance(scale, (int, float)) \
                    or not 0 < scale <= 1:
                r.fail(f"scales.{name} must be a number in (0, 1], got {scale!r}")
        metrics = r.get("metrics", dict) if "metrics" in obj else {}
        for name, metric in metrics.items():
            if name not in scales or metric not in METRICS:
                r.fail(f"metrics.{name} must name a variant of scales ({sorted(scales)}) and "
                       f"one of {list(METRICS)}, got {metric!r}")
        val_tasks, test_tasks = r.get("val_tasks", int), r.get("test_tasks", int)
        scored = {}
        for part, n in (("validation", val_tasks), ("test", test_tasks)):
            raw = r.get(part, dict)
            scored[part] = {k: ScoredTasks.from_json(r.inner(f"{part}.{k}", v))
                            for k, v in raw.items()}
            for k, v in scored[part].items():
                if k not in scales:
                    r.fail(f"{part}.{k} is a variant with no scale; scales: {sorted(scales)}")
                if v.outcomes.size != n:
                    r.fail(f"{part}.{k} has {v.outcomes.size} outcomes, not {n}")
        chosen = r.get("chosen", str)
        if chosen not in scored["test"] or sorted(scored["validation"]) != sorted(scales):
            r.fail(f"needs validation scores of every variant and a test score of the chosen "
                   f"one ({chosen!r}); has validation {sorted(scored['validation'])}, test "
                   f"{sorted(scored['test'])}")
        ink = r.get("ink", dict)
        for k, v in ink.items():
            r.inner(f"ink.{k}", v).get("ink", (int, float))
        return cls(r.get("recipe", str), r.get("split", str), r.get("image_size", int),
                   r.get("seed", int), {k: float(v) for k, v in scales.items()}, ink,
                   val_tasks, r.get("val_seed", int), scored["validation"], r.get("rule", str),
                   chosen, test_tasks, r.get("test_seed", int), scored["test"], _machine(r),
                   float(r.get("total_minutes", (int, float))), r.get("date", str),
                   dict(metrics))

    def to_json(self) -> dict:
        """The study as the file holds it (what :meth:`from_json` read)."""
        return {"what": "how MNIST digits are prepared for the Omniglot net: chosen on 10-way "
                        "one-shot tasks of MNIST's training split, scored once on the test tasks",
                "recipe": self.recipe, "split": self.split, "image_size": self.image_size,
                "seed": self.seed, "scales": self.scales,
                **({"metrics": self.metrics} if self.metrics else {}), "ink": self.ink,
                "val_tasks": self.val_tasks, "val_seed": self.val_seed,
                "validation": {k: v.to_json() for k, v in self.validation.items()},
                "rule": self.rule, "chosen": self.chosen, "test_tasks": self.test_tasks,
                "test_seed": self.test_seed, "test": {k: v.to_json() for k, v in self.test.items()},
                "machine": self.machine, "total_minutes": self.total_minutes, "date": self.date}


CENTRES = (None, "support", "training mean")
SCORING_ALPHA = 0.05


def choose_scoring(validation, clusters=None):
    """The rule of ``scripts/scoring_06.py``: :func:`course_lib.evaluate.choose_cheapest` over
    the scorings in their order, all at cost 1 (an earlier scoring stays unless a later one
    beats it detectably), paired, Holm-corrected, at level :data:`SCORING_ALPHA`.

    Args:
        validation: ``{scoring: outcomes}`` (booleans on the same tasks), baseline first.
        clusters: the cluster of each task, or None.

    Returns:
        The :class:`course_lib.evaluate.CostChoice`.

    Raises:
        TypeError, ValueError: as :func:`course_lib.evaluate.choose_cheapest`.
    """
    from course_lib import evaluate

    return evaluate.choose_cheapest(validation, {k: 1 for k in validation}, paired=True,
                                    clusters=clusters, alpha=SCORING_ALPHA)


@dataclass(frozen=True, eq=False)
class ScoringChoice:
    """One task family of ``06_scoring.json``: every scoring on its validation tasks, the one
    chosen, and the test tasks scored once afterwards.

    Attributes:
        tasks: what the validation tasks are, in words.
        validation: ``{scoring: ScoredTasks}``, every scoring on the same tasks.
        clusters: the cluster of each validation task, or None (the comparisons are then not
            clustered); ``"group/cluster"`` names a cluster inside a group (Lake-style tasks:
            ``"held-out alphabet/query character"``).
        chosen: the scoring the rule chose.
        test: ``{scoring: ScoredTasks}`` on the test tasks: the study's first scoring (the
            baseline) and the chosen one only.
    """

    tasks: str
    validation: dict
    clusters: tuple | None
    chosen: str
    test: dict

    @classmethod
    def from_json(cls, r: _Reader, scorings) -> ScoringChoice:
        validation = {k: ScoredTasks.from_json(r.inner(f"validation.{k}", v))
                      for k, v in r.get("validation", dict).items()}
        test = {k: ScoredTasks.from_json(r.inner(f"test.{k}", v))
                for k, v in r.get("test", dict).items()}
        if list(validation) != list(scorings):
            r.fail(f"validation must score every scoring {list(scorings)}, got {list(validation)}")
        sizes = {v.outcomes.size for v in validation.values()}
        test_sizes = {v.outcomes.size for v in test.values()}
        clusters = r.get("clusters", (list, type(None)))
        if len(sizes) != 1 or len(test_sizes) != 1 or (
                clusters is not None and len(clusters) != sizes.pop()):
            r.fail("every scoring must face the same tasks, and clusters name each task's")
        chosen = r.get("chosen", str)
        baseline = next(iter(scorings))
        if chosen not in validation or set(test) != {baseline, chosen}:
            r.fail(f"test must score the baseline {baseline!r} and the chosen {chosen!r} only, "
                   f"got {sorted(test)}")
        return cls(r.get("tasks", str), validation,
                   None if clusters is None else tuple(str(c) for c in clusters), chosen, test)

    def groups(self) -> np.ndarray:
        """The group of each validation task: its cluster's name up to the first ``"/"``.

        Raises:
            ValueError: a family without clusters.
        """
        if self.clusters is None:
            raise ValueError(f"{self.tasks!r} has no clusters, so no groups")
        return np.array([c.split("/", 1)[0] for c in self.clusters])

    def accuracy_by_group(self) -> dict:
        """``{scoring: {group: validation accuracy}}``, groups in the order they first appear.

        Raises:
            ValueError: a family without clusters.
        """
        groups = self.groups()
        names = list(dict.fromkeys(groups))
        return {k: {g: float(v.outcomes[groups == g].mean()) for g in names}
                for k, v in self.validation.items()}

    def choice(self):
        """The rule's choice on :attr:`validation` (:func:`choose_scoring`), recomputed."""
        return choose_scoring({k: v.outcomes for k, v in self.validation.items()},
                              None if self.clusters is None else np.array(self.clusters))

    def to_json(self) -> dict:
        return {"tasks": self.tasks,
                "validation": {k: v.to_json() for k, v in self.validation.items()},
                "clusters": None if self.clusters is None else list(self.clusters),
                "chosen": self.chosen, "test": {k: v.to_json() for k, v in self.test.items()}}


@dataclass(frozen=True, eq=False)
class ScoringStudy:
    """``notebooks/results/06_scoring.json`` (``scripts/scoring_06.py``), typed: how the
    recipe's embeddings are compared (the metric, and the origin they are centred on), chosen
    on validation tasks, for Lake-style tasks and for MNIST.

    Attributes:
        recipe: the model (label); split, image_size, seed: how it was trained.
        scorings: ``{name: {"metric": one of distances.METRICS, "centre": one of CENTRES}}``,
            in the order the rule takes them (the first is the baseline).
        rule: how a scoring was chosen.
        lake: the :class:`ScoringChoice` of Lake-style tasks (validation: held-out background
            alphabets; test: Lake's 20 runs).
        mnist: the :class:`ScoringChoice` of 10-way one-shot MNIST (validation: MNIST's
            training split; test: the tasks of ``06_recipe.json``).
        machine, total_minutes, date: the invocation that wrote the file.
    """

    recipe: str
    split: str
    image_size: int
    seed: int
    scorings: dict
    rule: str
    lake: ScoringChoice
    mnist: ScoringChoice
    machine: dict
    total_minutes: float
    date: str

    @classmethod
    def from_json(cls, obj, source: str = "06_scoring.json") -> ScoringStudy:
        """The study from the file's parsed JSON; ``source`` names the file in errors.

        Raises:
            ValueError: a missing or mistyped field, an unknown metric or centre, a family
                that does not score every scoring on the same tasks, a test that scores more
                than the baseline and the chosen scoring.
        """
        from course_lib import distances

        r = _Reader(obj, source, "")
        scorings = r.get("scorings", dict)
        for name, how in scorings.items():
            how_r = r.inner(f"scorings.{name}", how)
            if how_r.get("metric", str) not in distances.METRICS or \
                    how_r.get("centre", (str, type(None))) not in CENTRES:
                r.fail(f"scorings.{name} needs a metric of {distances.METRICS} and a centre of "
                       f"{CENTRES}, got {how!r}")
        if not scorings:
            r.fail("scorings must name at least one scoring")
        families = {k: ScoringChoice.from_json(r.inner(k, r.get(k, dict)), scorings)
                    for k in ("lake", "mnist")}
        return cls(r.get("recipe", str), r.get("split", str), r.get("image_size", int),
                   r.get("seed", int), {k: dict(v) for k, v in scorings.items()},
                   r.get("rule", str), families["lake"], families["mnist"], _machine(r),
                   float(r.get("total_minutes", (int, float))), r.get("date", str))

    def to_json(self) -> dict:
        """The study as the file holds it (what :meth:`from_json` read)."""
        return {"what": "how the recipe's embeddings are compared, chosen on validation tasks "
                        "and scored once on the test tasks",
                "recipe": self.recipe, "split": self.split, "image_size": self.image_size,
                "seed": self.seed, "scorings": {k: dict(v) for k, v in self.scorings.items()},
                "rule": self.rule,
                "lake": self.lake.to_json(), "mnist": self.mnist.to_json(),
                "machine": self.machine, "total_minutes": self.total_minutes, "date": self.date}


def _typed_reader(reader: str, cls, default: str, also: str = ""):
    """The reader called ``reader`` of one kind of study file: ``(path=default,
    notebooks_dir=None) -> cls``; one function for every kind, its docstring written here."""
    name = default.rsplit("/", 1)[-1]

    def read(path=default, notebooks_dir=None):
        return cls.from_json(read_study(path, notebooks_dir), str(path))

    read.__doc__ = f"""``{name}``{also} as a :class:`{cls.__name__}` (found as :func:`read_study`
    finds it).

    Args:
        path: the file, relative to ``notebooks/``.
        notebooks_dir: as in :func:`read_study`.

    Returns:
        The typed study.

    Raises:
        ValueError: content that is not such a study (the message names the file and field),
            and as :func:`read_study`.
    """
    read.__annotations__ = {"return": cls}
    read.__name__ = read.__qualname__ = reader
    return read


read_ablation = _typed_reader("read_ablation", AblationStudy, "results/06_ablation.json")
read_selection = _typed_reader("read_selection", SelectionStudy, "results/06_selection.json")
read_losses = _typed_reader("read_losses", LossStudy, "results/07_losses.json",
                            ' (or 09\'s, ``path="results/09_losses.json"``)')
read_recipe = _typed_reader("read_recipe", RecipeStudy, "results/06_recipe.json")
read_mnist_transfer = _typed_reader("read_mnist_transfer", MnistTransferStudy,
                                   "results/06_mnist.json")
read_scoring = _typed_reader("read_scoring", ScoringStudy, "results/06_scoring.json")


class StudyProgress:
    """The partial file of a long study (``<out>.partial.json``): what is done so far, written
    atomically after every run, so a study killed part-way resumes without redoing them.

    Args:
        out: the study file the script will write; the partial file sits beside it.
        key: the study's settings (JSON values); a partial file of other settings is ignored.
        resume: read the partial file if it exists and has the same key; False starts afresh.
    """

    def __init__(self, out, key, resume: bool = False):
        self.path = Path(out).with_suffix(".partial.json")
        key = json.loads(json.dumps(key))                   # tuples as the file holds them
        self.done = {"key": key, "sweep": [], "runs": []}
        self._started = time.perf_counter()
        self._earlier_minutes = 0.0
        if resume and self.path.exists():
            found = _read_json(self.path)
            if isinstance(found, dict) and found.get("key") == key:
                self.done = found
                self._earlier_minutes = float(found.get("minutes", 0.0))
                print(f"resuming: {len(found['sweep'])} sweep runs and {len(found['runs'])} "
                      f"runs done in {self._earlier_minutes:.1f} min")

    def minutes(self) -> float:
        """Minutes spent on the study: this invocation's, plus those of the invocations it
        resumed (as their partial file recorded them)."""
        return self._earlier_minutes + (time.perf_counter() - self._started) / 60

    def _save(self) -> None:
        self.done["minutes"] = round(self.minutes(), 2)
        with atomic_file(self.path) as tmp:
            tmp.write_text(json.dumps(self.done, indent=1) + "\n")

    def sweep_score(self, loss: str, value) -> float | None:
        """The validation score of ``loss`` with ``value`` done earlier, or None."""
        for point in self.done["sweep"]:
            if (point["loss"], point["margin"]) == (loss, value):
                return float(point["validation map@r"])
        return None

    def add_sweep(self, loss: str, value, score: float) -> float:
        """Record one candidate's validation score; returns ``score``."""
        self.done["sweep"].append({"loss": loss, "margin": value, "validation map@r": score})
        self._save()
        return score

    def run(self, loss: str, seed: int) -> LossRun | None:
        """The :class:`LossRun` of ``loss`` and ``seed`` done earlier, or None."""
        for obj in self.done["runs"]:
            if (obj["loss"], obj["seed"]) == (loss, seed):
                return LossRun.from_json(obj, str(self.path), loss)
        return None

    def add_run(self, run: LossRun) -> LossRun:
        """Record one run; returns it."""
        self.done["runs"].append(run.to_json())
        self._save()
        return run

    def finish(self) -> None:
        """Remove the partial file (once the study file is written)."""
        self.path.unlink(missing_ok=True)


_STUDIES = (AblationStudy, SelectionStudy, LossStudy, RecipeStudy, MnistTransferStudy,
            ScoringStudy)


def write_study(path, study) -> Path:
    """Write a study (:class:`AblationStudy`, :class:`SelectionStudy`, :class:`LossStudy`,
    :class:`RecipeStudy` or :class:`MnistTransferStudy`) as its JSON file, atomically (:func:`course_lib.config.atomic_file`).

    Args:
        path: the file to write (str or Path).
        study: the study.

    Returns:
        The path written.

    Raises:
        TypeError: ``study`` is neither kind of study.
    """
    if not isinstance(study, _STUDIES):
        raise TypeError(f"study must be one of {[c.__name__ for c in _STUDIES]}, got "
                        f"{type(study).__name__}")
    path = Path(path)
    text = json.dumps(study.to_json(), indent=1, allow_nan=False)
    with atomic_file(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return path


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
