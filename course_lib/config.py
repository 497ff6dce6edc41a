"""Run settings shared by every notebook: fast mode, where data lives, seeding, a system report;
and :func:`atomic_file`, through which every file the library writes is written.

Introduced in notebook 01.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import secrets
import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from course_lib import checks

__all__ = ["REPOSITORY", "atomic_file", "atomic_folder", "build_dir", "data_dir", "describe", "fast_mode", "pick",
           "repo_root", "repository_url", "seed_everything", "shown_path"]

#: The course's GitHub repository, ``owner/name``: the one place the slug is written. The Colab
#: badges and install cells of the notebooks, the README, the docs and the study-file URL of
#: :mod:`course_lib.results` use it (``tests/test_config_results.py`` checks that they agree).
REPOSITORY = "siamese-course/siamese-networks-course"

_REPO_ROOT = Path(__file__).resolve().parent.parent
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def fast_mode() -> bool:
    """Whether ``COURSE_FAST`` asks for the shrunken sizes CI uses (``1``/``true``/``yes``).

    Returns:
        True in fast mode, False otherwise (variable unset, empty, ``0``/``false``/``no``).

    Raises:
        ValueError: ``COURSE_FAST`` holds something else.
    """
    value = os.environ.get("COURSE_FAST", "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"COURSE_FAST must be one of 0/1/true/false/yes/no, got {value!r}")


def pick(full, fast):
    """One line per notebook parameter: ``NAME = config.pick(full=..., fast=...)``.

    Args:
        full: the value of a normal (full-mode) run, the one the text quotes.
        fast: the value in fast mode (``COURSE_FAST=1``, CI).

    Returns:
        ``fast`` in fast mode, else ``full``.
    """
    return fast if fast_mode() else full


def repo_root() -> Path:
    """The checkout that holds ``course_lib`` (meaningful for an editable install).

    Returns:
        The folder above the package.
    """
    return _REPO_ROOT


def repository_url(kind: str = "github") -> str:
    """An address built from :data:`REPOSITORY`.

    Args:
        kind: ``"github"`` (the repository's page, what ``pip install git+...`` takes),
            ``"raw"`` (the folder of raw files of branch ``main``, ending in ``/``) or
            ``"colab"`` (Colab's prefix for opening a notebook of branch ``main``: append
            ``notebooks/NN_name.ipynb``).

    Returns:
        The address, a string.

    Raises:
        TypeError: ``kind`` is not a string. ValueError: it is none of the three.
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a string, got {type(kind).__name__}")
    urls = {
        "github": f"https://github.com/{REPOSITORY}",
        "raw": f"https://raw.githubusercontent.com/{REPOSITORY}/main/",
        "colab": f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/",
    }
    if kind not in urls:
        raise ValueError(f"kind must be one of {sorted(urls)}, got {kind!r}")
    return urls[kind]


def data_dir() -> Path:
    """Where datasets are cached.

    ``COURSE_DATA_DIR`` when set, else the repository's ``data/`` when course_lib runs from a
    checkout, else ``~/.keras/datasets/course_lib`` (a pip install on Colab).

    Returns:
        The folder, created if missing.
    """
    env = os.environ.get("COURSE_DATA_DIR")
    if env:
        path = Path(env).expanduser()
    elif (_REPO_ROOT / "data" / "mnist").is_dir():
        path = _REPO_ROOT / "data"
    else:
        path = Path.home() / ".keras" / "datasets" / "course_lib"
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_dir() -> Path:
    """Where runs write their outputs (results.json, figures).

    Returns:
        ``COURSE_BUILD_DIR`` when set, else the checkout's ``build/`` (``./build`` outside a
        checkout); created if missing.
    """
    env = os.environ.get("COURSE_BUILD_DIR")
    if env:
        path = Path(env).expanduser()
    elif (_REPO_ROOT / "pyproject.toml").is_file():
        path = _REPO_ROOT / "build"
    else:
        path = Path.cwd() / "build"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_file(path) -> Iterator[Path]:
    """A temporary name to write ``path`` under; renamed onto ``path`` when the block ends.

    Every file the library writes goes through here: the writer writes the temporary file
    (``.<stem>.<random>.tmp<suffix>`` in the same folder, so the suffix still names the format
    and the rename stays on one file system), and ``os.replace`` puts it in place in one step.
    An interrupted or failing write leaves the previous file as it was and deletes the
    temporary one::

        with config.atomic_file(path) as tmp:
            fig.savefig(tmp)

    Args:
        path: the file to write (str or Path); its folder is created if missing.

    Returns:
        A context manager giving the temporary ``Path`` (nothing exists there yet).

    Raises:
        TypeError: ``path`` is not a str or Path. ValueError: an empty string. Whatever the
        writer raises (after the temporary file is deleted).
    """
    path = checks.path(path, "path")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_folder(path, names) -> Iterator[Path]:
    """A fresh folder to write a *set* of files into; the set takes ``path``'s place at the end.

    For files that must agree with each other (an encoder and its gallery index, the
    projector's vectors, metadata, sprite and config): the writer writes them all into the
    fresh folder, and only once the block ends without error do they replace the set in
    ``path``, so a reader sees the old set or the new one, never a mix::

        with config.atomic_folder(folder, ("a.tsv", "b.tsv")) as tmp:
            (tmp / "a.tsv").write_text(...)

    When ``path`` does not exist, or is a folder holding nothing but files of ``names``, the
    fresh folder (``.<name>.<random>.tmp`` beside ``path``) is renamed to ``path`` in one
    step; the old folder is first renamed aside (``.<name>.<random>.old``), and its files
    (all of ``names``) are deleted only once the new folder is in place; a failure in between
    renames it back. When ``path`` holds other files too, is a symbolic link, or is (or holds)
    the current working folder, nothing else in it is moved or deleted: the fresh folder is
    made inside it and the new files are renamed in one by one, in the order of ``names``
    (put last the file that names the others), then files of ``names`` the writer did not
    write this time are deleted (an earlier set's, by their names). The fresh folder is always
    removed if anything fails; nothing outside ``names`` is ever deleted.

    Args:
        path: the folder the set lives in (str or Path); its parent is created if missing.
        names: the file names of the set (a non-empty list of str, no folders).

    Returns:
        A context manager giving the fresh folder (empty).

    Raises:
        TypeError: ``path`` not a path, ``names`` not a list of str. ValueError: ``path`` is a
        file; a name with a folder part. Whatever the writer raises (after cleaning up).
    """
    place = Path(os.path.abspath(checks.path(path, "path")))          # "." and ".." resolved
    names = checks.name_list(list(names) if isinstance(names, tuple) else names, "names",
                             "file")
    if any(Path(n).name != n or n in ("", ".", "..") for n in names):
        raise ValueError(f"names must be plain file names, got {names!r}")
    if place.exists() and not place.is_dir():
        raise ValueError(f"{place} is a file; expected a folder for the files {names}")
    here = Path.cwd()
    whole = not place.exists() or (not place.is_symlink() and place != here
                                   and place not in here.parents
                                   and all(p.name in names and p.is_file()
                                           for p in place.iterdir()))
    token = secrets.token_hex(4)
    home = place.parent if whole else place
    home.mkdir(parents=True, exist_ok=True)
    staging = home / f".{place.name}.{token}.tmp"
    aside = place.parent / f".{place.name}.{token}.old"
    staging.mkdir()
    try:
        yield staging
        written = [n for n in names if (staging / n).exists()]
        if not whole:
            for name in written:
                os.replace(staging / name, place / name)
            for name in set(names) - set(written):
                (place / name).unlink(missing_ok=True)   # an earlier set's file of ours
        elif place.exists():
            os.rename(place, aside)
            os.rename(staging, place)
            for name in names:
                (aside / name).unlink(missing_ok=True)
            aside.rmdir()
        else:
            os.rename(staging, place)
    except BaseException:
        if aside.is_dir() and not place.exists():
            os.rename(aside, place)                      # the old set back in place
        raise
    finally:
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)   # a folder this call made


def _gpu_present() -> bool:
    """Whether TensorFlow sees a physical GPU (this does not initialise the logical devices)."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def seed_everything(seed: int, deterministic: bool | None = None) -> None:
    """Seed Python, NumPy and TensorFlow; and, where it is cheap, make TF ops deterministic.

    Same seed, same machine, same versions: same numbers, which is what lets the notebooks
    assert on their results. Op determinism
    (``tf.config.experimental.enable_op_determinism``) costs little on a CPU, so it is on there
    by default. On a GPU it forces cuDNN's deterministic (often slower) kernels and runs some
    ops on the CPU or makes them raise, so there it is off by default and one line says so;
    numbers then vary a little from run to run.

    Args:
        seed: an int >= 0.
        deterministic: ``True`` turns op determinism on (for the rest of the process: it cannot
            be turned off again), ``False`` leaves it as it is, ``None`` (default) means on
            without a GPU and off with one.

    Raises:
        TypeError: ``seed`` is not an int, or ``deterministic`` is not a bool or None.
        ValueError: ``seed`` is negative.
    """
    seed = checks.seed(seed)
    if deterministic is not None:
        deterministic = checks.boolean(deterministic, "deterministic")
    import keras
    import tensorflow as tf

    random.seed(int(seed))
    np.random.seed(int(seed))
    keras.utils.set_random_seed(int(seed))
    if deterministic is None:
        deterministic = not _gpu_present()
        if not deterministic:
            print("seed_everything: a GPU is present, so op determinism stays off (it slows "
                  "cuDNN); for repeatable numbers call seed_everything(seed, deterministic=True)")
    if deterministic:
        tf.config.experimental.enable_op_determinism()


@contextlib.contextmanager
def _quiet_native_stderr():
    """Hide what C++ code writes to file descriptor 2 (Python exceptions still propagate)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def shown_path(path) -> str:
    """``path`` as printed in a notebook: relative to the repository when inside it (``data``),
    else with the home directory as ``~``, so stored outputs carry no machine's folder names.

    Args:
        path: a file or directory path (``str`` or ``Path``).

    Returns:
        The path as a string.
    """
    path = Path(path).expanduser().resolve()
    if path.is_relative_to(_REPO_ROOT.resolve()):
        return path.relative_to(_REPO_ROOT.resolve()).as_posix()   # "." for the root itself
    if path.is_relative_to(Path.home().resolve()):
        return "~/" + path.relative_to(Path.home().resolve()).as_posix()
    return str(path)


def describe() -> dict:
    """Print and return the versions, devices, distribution strategy and mode of this run.

    The data directory is shown relative to the repository when it lies inside it
    (:func:`shown_path`).

    TensorFlow starts up here, with its native start-up log (the search for CUDA on a machine
    without a GPU, a tf.data graph notice) hidden: the devices printed below say what it found.
    Python warnings raised meanwhile (e.g. :func:`course_lib.distribute.get_strategy`'s on a
    TPU runtime TensorFlow cannot use) are shown after it.

    Returns:
        A dict of the printed facts: python, tensorflow, keras, backend, devices, strategy,
        replicas, fast_mode, data_dir.
    """
    with _quiet_native_stderr():
        import keras
        import tensorflow as tf

        from course_lib.distribute import get_strategy

        with warnings.catch_warnings(record=True) as caught:   # fd 2 is hidden: keep them
            strategy = get_strategy()
        tf.data.Dataset.range(2).map(lambda v: v, num_parallel_calls=2).reduce(
            tf.constant(0, tf.int64), lambda a, v: a + v)
    for caught_warning in caught:
        warnings.warn_explicit(caught_warning.message, caught_warning.category,
                               caught_warning.filename, caught_warning.lineno)
    info = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "devices": [d.name for d in tf.config.list_logical_devices()],
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "fast_mode": fast_mode(),
        "data_dir": shown_path(data_dir()),
    }
    width = max(len(k) for k in info)
    for key, value in info.items():
        print(f"{key:<{width}}  {value}")
    return info
