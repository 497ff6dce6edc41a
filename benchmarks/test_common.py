"""The benchmarks' shared machine snapshot and fresh-process worker."""

import json
from pathlib import Path

import pytest

from benchmarks import common
from benchmarks.worker_echo import MARK


def test_machine_snapshot_has_every_field():
    m = common.machine()
    assert {"cpu", "cores", "memory_gb", "python", "platform", "tensorflow", "keras", "numpy",
            "load_average"} <= set(m) and "gpu" not in m
    assert isinstance(m["cores"], int) and m["cores"] >= 1 and len(m["load_average"]) == 3
    assert common.machine(gpu=False)["gpu"] is False
    json.dumps(m)                                              # reports store it as JSON
    line = common.describe(m)
    assert m["cpu"] in line and f"{m['cores']} cores" in line and "load average" in line


def test_run_worker_reads_the_result_line_or_reports_the_error():
    run = common.run_worker("benchmarks.worker_echo", {"a": 1}, MARK, timeout=60)
    assert run["error"] is None and run["result"] == {"echo": {"a": 1}}
    assert run["seconds"] > 0 and len(run["load"]) == 2
    failed = common.run_worker("benchmarks.worker_echo", {"fail": "boom"}, MARK, timeout=60)
    assert failed["result"] is None and "failing as asked: boom" in failed["error"]
    silent = common.run_worker("benchmarks.worker_echo", {"a": 1}, "OTHER_MARK ", timeout=60)
    assert silent["result"] is None and silent["error"] == "exit code 0"


def test_write_report_writes_both_files_through_temporary_names(tmp_path, monkeypatch):
    path = common.write_report(tmp_path / "out", "bench", {"a": 1}, "| a |\n")
    assert json.loads(path.read_text()) == {"a": 1}
    assert (tmp_path / "out" / "bench.md").read_text() == "| a |\n"
    before = {p.name: p.read_text() for p in (tmp_path / "out").iterdir()}

    def half(self, *args, **kwargs):
        Path.write_bytes(self, b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", half)
    with pytest.raises(KeyboardInterrupt):
        common.write_report(tmp_path / "out", "bench", {"a": 2}, "| b |\n")
    assert {p.name: p.read_text() for p in (tmp_path / "out").iterdir()} == before
