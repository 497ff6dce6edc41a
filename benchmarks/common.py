"""What every benchmark shares: the machine snapshot a report records, the fresh-process
worker that runs one measurement (its own peak memory, no state left by the previous one), and
the writing of a report's two files.

Each was written once per benchmark before; the benchmarks now call these.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]


def write_report(folder, stem: str, report: dict, text: str, indent: int = 2) -> Path:
    """Write ``<stem>.json`` (the report) and ``<stem>.md`` (its table) into ``folder``, each
    through a temporary file renamed into place (``course_lib.config.atomic_file``).

    Args:
        folder: the output folder (created if missing).
        stem: the file name without suffix, e.g. ``"bench"``.
        report: the JSON-ready report.
        text: the Markdown text.
        indent: the JSON indentation.

    Returns:
        The JSON file's path.
    """
    from course_lib.config import atomic_file

    folder = Path(folder)
    for suffix, content in ((".json", json.dumps(report, indent=indent) + "\n"), (".md", text)):
        with atomic_file(folder / f"{stem}{suffix}") as tmp:
            tmp.write_text(content, encoding="utf-8")
    return folder / f"{stem}.json"


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages, rounded to 0.01 (the machine is shared).

    Returns:
        Three floats.
    """
    return [round(x, 2) for x in os.getloadavg()]



#: The packages whose versions a study file records: a change of any of them can move a
#: trained number (other float rounding, another random stream), so a re-run that does not
#: reproduce its file can be traced to the software as well as to the code.
STUDY_PACKAGES = ("tensorflow", "keras", "numpy")


def study_machine() -> dict:
    """The machine as a study file records it: ``{"cpus", "processor", "load_average",
    "versions", "code", "started", "written"}``.

    Returns:
        The CPU count, the CPU's model name (``/proc/cpuinfo``, else ``platform``),
        :func:`load_average`, the installed version of each of :data:`STUDY_PACKAGES`
        (``"not installed"`` for a missing one), the code that ran (:func:`code_version`
        when this process imported this module, before any training: a commit made while
        a study runs does not change it), when the process started and when this record was
        made (UTC, ISO 8601), so that "the rule was committed before the run" can be
        checked against the repository's history.
    """
    versions = {}
    for name in STUDY_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return {"cpus": os.cpu_count(), "processor": _cpu_name(), "load_average": load_average(),
            "versions": versions, "code": _CODE_AT_START, "started": _STARTED,
            "written": _utc_now()}


def code_version() -> dict:
    """``{"commit": the checkout's HEAD, "uncommitted_changes": bool}``, or ``{"commit":
    "unknown"}`` outside a git checkout (or without git)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=True)
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain"],
                                capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown"}
    return {"commit": head.stdout.strip(), "uncommitted_changes": bool(status.stdout.strip())}


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# What a study file records as the code that ran: read once, when a script imports this module.
_CODE_AT_START, _STARTED = code_version(), _utc_now()


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine(gpu: bool | None = None) -> dict:
    """What the figures were measured on, now: one snapshot for every report.

    Args:
        gpu: whether a GPU is visible, when the caller has asked (None: not recorded).

    Returns:
        ``cpu`` (model name), ``cores`` (usable by this process), ``memory_gb``, ``python``,
        ``platform``, the ``tensorflow`` / ``keras`` / ``numpy`` versions ("?" when absent),
        ``load_average`` (see :func:`load_average`) and, when given, ``gpu``.
    """
    try:
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory = float("nan")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = {}
    for name in ("tensorflow", "keras", "numpy"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "?"
    out = {"cpu": _cpu_name(), "cores": cores, "memory_gb": memory,
           "python": platform.python_version(), "platform": platform.platform(), **versions,
           "load_average": load_average()}
    if gpu is not None:
        out["gpu"] = bool(gpu)
    return out


def describe(snapshot: dict) -> str:
    """One line for a report's text, e.g. ``"Intel Xeon, 2 cores, load average [1.2, ...]"``.

    Args:
        snapshot: a :func:`machine` dict.

    Returns:
        The line.
    """
    return (f"{snapshot['cpu']}, {snapshot['cores']} cores, NumPy {snapshot['numpy']}, "
            f"load average {snapshot['load_average']}")


def run_worker(module: str, cfg: dict, mark: str, timeout: float = 1800,
               tf_log_level: str = "2") -> dict:
    """Run ``python -m <module> --worker <json cfg>`` from the repository root, in a fresh
    process, and read the result it prints on its last line starting with ``mark``.

    Args:
        module: the benchmark module, e.g. ``"benchmarks.bench"``; its ``--worker`` option
            must print ``mark + json.dumps(result)``.
        cfg: the measurement's configuration (JSON-serialisable).
        mark: the prefix of the result line.
        timeout: seconds before the process is killed.
        tf_log_level: ``TF_CPP_MIN_LOG_LEVEL`` for the child (its stderr is kept on failure).

    Returns:
        ``{"result": dict or None, "error": str or None, "seconds": wall time of the process,
        "load": [1-minute load average before, after]}``; exactly one of result and error is
        None.
    """
    cmd = [sys.executable, "-m", module, "--worker", json.dumps(cfg)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": tf_log_level}
    load_before, start = os.getloadavg()[0], time.perf_counter()
    result, error = None, None
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=_REPO)
    except subprocess.TimeoutExpired:
        error = f"timed out after {timeout} s"
    else:
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(mark)]
        if proc.returncode != 0 or not lines:
            error = proc.stderr[-2000:] or f"exit code {proc.returncode}"
        else:
            result = json.loads(lines[-1][len(mark):])
    return {"result": result, "error": error, "seconds": time.perf_counter() - start,
            "load": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
