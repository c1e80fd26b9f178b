"""The thread budget: how many cores TensorFlow, the batch loader and BLAS may use, from one setting.

TensorFlow's op pools, the loader threads that read batches (and draw their augmentation), and
numpy's BLAS pool all want every core; on a 2-core machine they then fight (a numpy product in a
loader thread took 50x longer while TensorFlow trained; numpy augmentation in the loader cost 12-22%
of the step time, so it now runs in TensorFlow's graph). The budget is the number of cores this process may run on
(`os.sched_getaffinity`, so a container's or `taskset`'s limit counts), or the environment variable
GENRECRNN_THREADS when set. TensorFlow gets the budget for its intra-op pool and at most 2 inter-op
threads; the loader gets 2 threads (it must keep one batch ahead of a step); BLAS gets 1 thread
while training (TensorFlow does not use it, and the loader's numpy code has no matrix products).
The loader's freed batch arrays stay in the process for the next batch (`reuse_freed_memory`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
from collections.abc import Iterator

from genrecrnn.util.errors import ConfigError

log = logging.getLogger(__name__)
ENV = "GENRECRNN_THREADS"
LOADER_THREADS = 2
# glibc mallopt parameters (malloc.h) and the value reuse_freed_memory gives both, bytes.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_KEEP_BYTES = 256 * 2**20


def thread_budget() -> int:
    """Cores this process may use: $GENRECRNN_THREADS if set (a positive integer), else its CPU affinity."""
    value = os.environ.get(ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(f"{ENV}={value!r}: must be a positive whole number of threads (or unset: all cores)")
        return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def configure_tensorflow(budget: int | None = None) -> tuple[int, int]:
    """Set TensorFlow's intra-op pool to the budget and its inter-op pool to min(2, budget); returns both.

    TensorFlow fixes its pools when it first runs an op; if that has happened, the pools are left as
    they are (and a log line says so), which changes speed, never results.
    """
    import tensorflow as tf

    budget = budget or thread_budget()
    intra, inter = budget, min(2, budget)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:  # the runtime is already initialised
        pools = tf.config.threading
        if (pools.get_intra_op_parallelism_threads(), pools.get_inter_op_parallelism_threads()) != (intra, inter):
            log.info("TensorFlow's thread pools were set before training; %s=%d not applied", ENV, budget)
    return intra, inter


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """numpy's BLAS (OpenBLAS) on one thread inside the block: its pool must not compete with TensorFlow's."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def reuse_freed_memory() -> bool:
    """Let freed numpy arrays up to 256 MB stay in the process for reuse (glibc); False where that is not glibc.

    Each augmented batch allocates a dozen arrays of a few MB. glibc serves such sizes with fresh
    mmap'd pages or trims them off the heap when freed, so every batch page-faults its memory back
    in: reading and cropping a 32-frame batch took 6 ms instead of 1.4 ms, CPU taken from the
    training step on a 2-core machine. Raising the mmap and trim thresholds keeps the pages; the
    process's memory grows by at most the loader's working set (a few batches). Speed only, never
    results.
    """
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):  # musl, macOS, Windows: no mallopt
        return False
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES))
