"""Quiet by default: TensorFlow's C++ start-up lines are kept off stderr; GENRECRNN_VERBOSE=1 lets them through.

This TensorFlow build writes its oneDNN and CPU-feature notices through absl *before* absl's log
level is set up ("All log messages before absl::InitializeLog() is called are written to STDERR"),
so TF_CPP_MIN_LOG_LEVEL alone does not silence them (measured: TF 2.21, tensorflow-cpu wheel);
TF_ENABLE_ONEDNN_OPTS=0 would, but it changes the numbers. So the first import of tensorflow runs
with file descriptor 2 redirected to a temporary file, and every captured line that is not one of
the known start-up notices is written back to stderr: real warnings and errors still show.
TF_CPP_MIN_LOG_LEVEL=2 is set as well, for the C++ INFO/WARNING lines written after start-up.

:func:`install` puts a one-shot import hook in place; it acts when tensorflow is first imported, by keras
or directly. Importing the package installs nothing: the CLI's main, ``genrecrnn.pipeline.stages`` (the notebooks'
entry) and the benchmarks call it, before anything imports tensorflow.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

VERBOSE_ENV = "GENRECRNN_VERBOSE"  # "1": show TensorFlow's start-up logging (`genrecrnn -v` sets it)
# Lines TensorFlow writes at import that say nothing about this run's results.
STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|oneDNN custom operations are on"
    r"|cpu_feature_guard\.cc"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions: .*rebuild TensorFlow"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation placer already registered"
    r"|Could not find cuda drivers"
)
# Lines libsndfile's mp3 decoder (mpg123) writes straight to fd 2 when a file's bytes are not MPEG audio;
# the file's AudioError says what is wrong with it.
DECODER_NOISE = re.compile(r"^Note: (Illegal Audio-MPEG-Header|Trying to resync|Hit end of \(available\) data)")
# fd 2 is one per process: two threads redirecting it at once would leave it on a closed temporary file.
_FD2_LOCK = threading.RLock()


def verbose() -> bool:
    """True when the user asked for TensorFlow's start-up logging (GENRECRNN_VERBOSE set and not 0)."""
    return os.environ.get(VERBOSE_ENV, "0") not in ("", "0")


def filter_startup_noise(text: str) -> str:
    """`text` without the known TensorFlow start-up lines (each kept line keeps its newline)."""
    return without_lines(text, STARTUP_NOISE)


def without_lines(text: str, noise: re.Pattern) -> str:
    """`text` without the lines `noise` matches (each kept line keeps its newline)."""
    return "".join(line for line in text.splitlines(keepends=True) if not noise.search(line))


@contextmanager
def stderr_fd_captured() -> Iterator[list[str]]:
    """Redirect file descriptor 2 (C/C++ writes included) to a temporary file; yields a list that gets its text.

    One thread at a time: another thread's writes to stderr meanwhile land in the capture.
    """
    with _FD2_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        captured: list[str] = []
        with tempfile.TemporaryFile(mode="w+b") as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                yield captured
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                captured.append(tmp.read().decode("utf-8", "replace"))


@contextmanager
def stderr_noise_filtered(noise: re.Pattern) -> Iterator[None]:
    """Run the block with fd 2 captured, then write back to stderr every captured line `noise` does not match."""
    captured: list[str] = []
    try:
        with stderr_fd_captured() as captured:
            yield
    finally:  # also when the block raises: what it wrote besides the noise still shows
        rest = without_lines("".join(captured), noise)
        if rest.strip():
            sys.stderr.write(rest)
            sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """Wraps tensorflow's own loader: runs its module code with fd 2 captured, then replays what is not noise."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with stderr_noise_filtered(STARTUP_NOISE):
            self._loader.exec_module(module)

    def __getattr__(self, name: str):  # get_resource_reader, is_package, ...: the real loader's
        return getattr(self._loader, name)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """One-shot hook: finds tensorflow with the normal machinery and wraps its loader in _QuietLoader."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or verbose():
            return spec
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read by TF's C++ side when it loads
        spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Silence TensorFlow's start-up logging for its first import in this process (no-op if already imported)."""
    if "tensorflow" in sys.modules or any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietTensorFlowFinder())
