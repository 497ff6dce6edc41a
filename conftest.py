"""Shared pytest setup for tests/, benchmarks/ and tools/: quiet TensorFlow, outputs into a
temporary build folder, the toy data several test files use, and the ``slow`` mark
(``pytest -m "not slow"`` skips the tests that train or start subprocesses)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: trains a model, runs a subprocess or a notebook (over ~5 s on 2 cores)")


@pytest.fixture(autouse=True)
def _isolated_build_dir(tmp_path, monkeypatch):
    """Tests never write into the repository's build/ folder."""
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))


@pytest.fixture
def class_coded_images():
    """A factory of toy labelled images whose pixels tell their class.

    ``make(n, n_classes, shape, seed)`` returns ``(x, y)``: ``y`` has ``n`` labels drawn
    uniformly from ``0..n_classes-1`` and ``x[i]`` is ``y[i]`` plus noise in [0, 1), float32, of
    the given shape, so ``floor(x[i, 0, ...])`` recovers the class of any sampled example.
    """
    def make(n: int = 500, n_classes: int = 7, shape: tuple = (4, 4), seed: int = 0):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, n_classes, n)
        x = (y.reshape((n,) + (1,) * len(shape)) + rng.random((n, *shape))).astype(np.float32)
        return x, y
    return make
