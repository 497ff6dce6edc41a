"""Shared pytest setup: quiet TensorFlow, fast mode, outputs into a temporary build folder."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_build_dir(tmp_path, monkeypatch):
    """Tests never write into the repository's build/ folder."""
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))
