"""The notebook runner: executed copies land where asked, and a failed run never overwrites."""

from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook

from tools import runner


def _notebook(path, *sources):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path.read_text()


def test_execute_writes_outputs(tmp_path):
    src = tmp_path / "ok.ipynb"
    _notebook(src, "print(6 * 7)")
    out = tmp_path / "build" / "ok.ipynb"
    runner.execute(src, out)
    cell = nbformat.read(out, as_version=4).cells[0]
    assert cell.execution_count == 1
    assert cell.outputs[0]["text"].strip() == "42"


def test_failed_store_run_keeps_the_source_notebook(tmp_path):
    src = tmp_path / "bad.ipynb"
    before = _notebook(src, "x = 1", "raise RuntimeError('boom')")
    failed = tmp_path / "build" / "bad.ipynb"
    with pytest.raises(CellExecutionError):
        runner.execute(src, src, failed_out=failed)
    assert src.read_text() == before
    outputs = nbformat.read(failed, as_version=4).cells[1].outputs
    assert outputs[0]["ename"] == "RuntimeError"


def test_unknown_notebook_prefix_is_refused():
    with pytest.raises(SystemExit, match="no notebook matches"):
        runner.notebooks(["99"])


def test_execute_runs_a_jupytext_source(tmp_path):
    src = tmp_path / "nb.py"
    src.write_text("# %% [markdown]\n# A title\n\n# %% tags=[\"parameters\"]\nN = 6\n\n"
                   "# %%\nprint(N * 7)\n")
    out = tmp_path / "nb.ipynb"
    runner.execute(src, out)
    nb = nbformat.read(out, as_version=4)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"]
    assert nb.cells[1].metadata["tags"] == ["parameters"]
    assert nb.cells[2].outputs[0]["text"].strip() == "42"


def test_notebooks_lists_the_sources_in_reading_order():
    found = runner.notebooks()
    assert found, "no notebook sources found"
    assert all(p.suffix == ".py" for p in found)
    assert [p.name for p in found] == sorted(p.name for p in found)


def test_store_refuses_fast_mode(monkeypatch):
    stored = sorted((runner.repo_root() / "notebooks").glob("[0-9][0-9]*_*.ipynb"))[0]
    before = stored.read_bytes()
    monkeypatch.setenv("COURSE_FAST", "1")
    with pytest.raises(SystemExit, match="--store .*refuses fast mode.*Unset COURSE_FAST"):
        runner.main(["--store", stored.name[:2]])
    assert stored.read_bytes() == before


def test_store_is_allowed_in_full_mode_and_fast_runs_without_store(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "0")
    runner.refuse_fast_store(True)
    monkeypatch.setenv("COURSE_FAST", "1")
    runner.refuse_fast_store(False)


def test_an_interrupted_notebook_write_keeps_the_old_file(tmp_path, monkeypatch):
    """execute() writes the executed notebook through config.atomic_file."""
    target = tmp_path / "nb.ipynb"
    target.write_text("old")
    source = tmp_path / "src.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), source)

    def half(nb, fp, **kwargs):
        Path(fp).write_text("half-written")
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.NotebookClient, "execute", lambda self: None)
    monkeypatch.setattr(runner.nbformat, "write", half)
    with pytest.raises(KeyboardInterrupt):
        runner.execute(source, target)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.ipynb", "src.ipynb"]
